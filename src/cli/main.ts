#!/usr/bin/env node
// The `dataplane` command line. Each subcommand lives in its own module and is
// loaded lazily, so `dataplane --help` stays fast and a subcommand's heavy
// dependencies (the native addon, workers) load only when used.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';

/** package.json's version, found from dist/src/cli or src/cli alike. */
function packageVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'dataplane' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return 'unknown';
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got '${value}'`);
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('dataplane')
    .version(packageVersion())
    .description('A user-space IPv4 packet dataplane: decode, route, filter, translate and balance packets.')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('decode')
    .description('Print one line (or one JSON object) per frame of a pcap or pcapng capture, in the spirit of tcpdump -n.')
    .argument('<file>', 'capture file (pcap or pcapng; any byte order; Ethernet, raw IPv4, Linux SLL/SLL2)')
    .option('--json', 'one JSON object per frame instead of a text line')
    .option('-c, --count <n>', 'stop after N frames', positiveInt('--count'))
    .addHelpText(
      'after',
      `
Every frame gets a line: a frame that is not IPv4, or is cut short, says so
rather than being skipped. A corrupt or truncated file prints every good frame
first, then an error naming the byte offset, and exits with status 1.

Examples:
  dataplane decode capture.pcap
  dataplane decode --json --count 10 capture.pcapng | jq .ip`,
    )
    .action(async (file: string, opts: { json?: boolean; count?: number }) => {
      const { runDecode } = await import('../decode/command.js');
      process.exitCode = await runDecode(file, { json: opts.json === true, count: opts.count });
    });

  program
    .command('replay')
    .description('Run a capture through the forwarding pipeline and write what the router sends, one pcapng interface per port.')
    .argument('<in>', 'input capture (pcap or pcapng, Ethernet frames)')
    .requiredOption('--config <file>', 'router config (YAML): ports, routes, neighbors, ICMP rate limit')
    .requiredOption('--out <file>', 'output pcapng file (one interface per port, named after it)')
    .option('--in-port <name>', 'port every frame arrives on (required for a classic pcap when there are several ports)')
    .option('--json', 'print the summary as one JSON object')
    .addHelpText(
      'after',
      `
The input port of a frame is the pcapng interface whose name is a port name,
else the interface at the same position as a port. Time follows the capture's
timestamps (ARP timeouts, ICMP rate limit). At the end the command prints the
frames in and out per port and every non-zero counter, drops by node and
reason among them ("ip4-input/bad-checksum  3").

Exit status: 0 done, 1 unreadable or corrupt input, 2 bad config or options.

Example:
  dataplane replay in.pcapng --config router.yaml --out out.pcapng`,
    )
    .action(async (input: string, opts: { config: string; out: string; inPort?: string; json?: boolean }) => {
      const { runReplay } = await import('./replay-command.js');
      process.exitCode = await runReplay(input, { config: opts.config, out: opts.out, inPort: opts.inPort, json: opts.json === true });
    });

  const route = program.command('route').description('Inspect the routing table a config builds.');
  route
    .command('lookup')
    .description('Longest-prefix match for each address: "ADDR PREFIX via GW dev PORT", "ADDR PREFIX blackhole", "ADDR unreachable" (no route).')
    .argument('[addr...]', 'IPv4 addresses (read from stdin, whitespace-separated, when none are given)')
    .requiredOption('--config <file>', 'router config (YAML)')
    .action(async (addrs: string[], opts: { config: string }) => {
      const { runRouteLookup } = await import('./route-command.js');
      process.exitCode = await runRouteLookup(addrs, opts);
    });

  program
    .command('run')
    .description('Run the live dataplane: TAP and AF_PACKET ports, packet workers, a status line every few seconds.')
    .requiredOption('--config <file>', 'router config (YAML); each port\'s "io" says how it reaches the wire (default: a TAP named after the port)')
    .option('-w, --workers <n>', 'packet worker threads (default: one per core)', positiveInt('--workers'))
    .option('--json', 'log one JSON object per line')
    .option('--status-interval <seconds>', 'seconds between status lines', positiveInt('--status-interval'), 2)
    .option('--busy-poll', 'workers poll their ports without sleeping: lowest latency, one core each (like DPDK)')
    .addHelpText(
      'after',
      `
Ports (see the README's config section):
  io: { type: tap, ifname: NAME, netns: NS, peerAddress: A.B.C.D/LEN, peerName: eth1 }
      creates a TAP (one queue per worker); with netns, moves it there and, like
      a CNI plugin, gives the kernel side peerAddress and a default route via
      the port's address.
  io: { type: afpacket, interface: veth0 }
      an existing interface in this network namespace (a veth end, a
      container's eth1), one AF_PACKET socket per worker in a fanout group.

Needs CAP_NET_ADMIN (root). SIGINT/SIGTERM: stop, close the ports (the TAPs
it created disappear), print the counters and exit 0.

Example:
  sudo dataplane run --config router.yaml --workers 2`,
    )
    .action(async (opts: { config: string; workers?: number; json?: boolean; statusInterval: number; busyPoll?: boolean }) => {
      if (opts.workers === 0) {
        process.stderr.write('dataplane run: --workers must be at least 1\n');
        process.exitCode = 2;
        return;
      }
      const { runDataplane } = await import('./run-command.js');
      process.exitCode = await runDataplane({ config: opts.config, workers: opts.workers, json: opts.json === true, statusInterval: Math.max(1, opts.statusInterval), busyPoll: opts.busyPoll === true });
    });

  program
    .command('lab')
    .description('A network-namespace topology around one dataplane on this host (root): client -- dataplane -- server.')
    .argument('<action>', 'up, down or status')
    .option('--ports <kind>', 'how the dataplane attaches: tap (it creates TAPs and moves them) or afpacket (veth pairs)', 'tap')
    .option('-w, --workers <n>', 'packet worker threads of the dataplane', positiveInt('--workers'), 1)
    .option('--prefix <name>', 'namespace name prefix: <prefix>-router, <prefix>-client, <prefix>-server', 'dp-lab')
    .option('--engine <router>', 'who routes: dataplane, kernel (ip_forward in the router ns; needs --ports afpacket) or none', 'dataplane')
    .option('--wan-mtu <bytes>', "MTU of the router's server-side port", positiveInt('--wan-mtu'))
    .option('--offload', 'TCP crosses the dataplane in 64 KB super-packets (TAP offload; afpacket: veth offloads left on)')
    .option('--busy-poll', "the dataplane's workers poll without sleeping (lowest latency, a core each)")
    .addHelpText(
      'after',
      `
  [<prefix>-client] eth0 192.0.2.10/24 -- lan 192.0.2.1/24 [<prefix>-router] wan 198.51.100.1/24 -- eth0 198.51.100.10/24 [<prefix>-server]

"up" writes a router config and the dataplane's log to /run/dataplane-lab/<prefix>/,
starts \`dataplane run\` inside <prefix>-router in the background and waits (10 s at
most) until it answers pings from both sides. "down" stops it (SIGTERM, then
SIGKILL) and deletes the namespaces of that prefix. "status" shows what runs.

Examples:
  sudo dataplane lab up --ports afpacket --workers 2
  sudo ip netns exec dp-lab-client traceroute -n 198.51.100.10
  sudo dataplane lab down`,
    )
    .action(async (action: string, opts: { ports: string; workers: number; prefix: string; engine: string; wanMtu?: number; offload?: boolean; busyPoll?: boolean }) => {
      const { runLab } = await import('./lab-command.js');
      process.exitCode = await runLab(action, { ...opts, workers: Math.max(1, opts.workers) });
    });

  program
    .command('demo')
    .description('Show the dataplane at work: as root, a live lab with real ping/traceroute/curl/iperf3 through `dataplane run`; otherwise crafted traffic replayed offline.')
    .option('--keep', 'offline replay: keep the config and captures it writes (their directory is printed)')
    .option('--offline', 'the offline replay even when root')
    .action(async (opts: { keep?: boolean; offline?: boolean }) => {
      const { runDemo } = await import('./demo-command.js');
      process.exitCode = await runDemo({ keep: opts.keep === true, offline: opts.offline === true });
    });

  return program;
}

await buildProgram().parseAsync(process.argv);
