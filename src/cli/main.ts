#!/usr/bin/env node
// The `dataplane` command line. Each subcommand lives in its own module and is
// loaded lazily, so `dataplane --help` stays fast and a subcommand's heavy
// dependencies (the native addon, workers) load only when used.
import { packageVersion } from './package-version.js';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_TRACE_COUNT, MAX_TRACE_COUNT } from '../trace/limits.js';
import { NAT_MAX_CAPACITY, NAT_MIN_CAPACITY } from '../lab/lab-nat.js';
import { MAX_WORKERS as MAX_REPLAY_WORKERS } from '../replay/shardability.js';
import { registerCtl } from './ctl-program.js';
import { checkRequiredAfterUnknown } from './required-after-unknown.js';
import { helpFlagLast } from './help-flag-first.js';
import { refuseUnknownBeforeHelp } from './unknown-subcommand.js';
import { fileOption } from './file-option.js';
import { DEFAULT_SPIN_MAX_US } from '../runtime/spin-window.js';
import { DEFAULT_COALESCE_US, RING_BOUNDED_COALESCE_US } from '../runtime/rx-coalesce.js';
import { installStdoutGone } from '../host/stdout-gone.js';
import { parseCpuList, WorkerCpusError } from '../runtime/worker-cpus.js';

/** A whole-number option within [min, max]; anything else is a usage error naming the option and the range. */
function intInRange(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got '${value}'`);
    }
    return n;
  };
}

/**
 * replay's --workers, whose -w a tcpdump user reads as "write": a value that
 * is no number but looks like a file is refused with where the output goes.
 */
function replayWorkersOption(value: string): number {
  try {
    return intInRange('--workers', 1, MAX_REPLAY_WORKERS)(value);
  } catch (e) {
    if (e instanceof InvalidArgumentError && /[/.]|^[^\d]/.test(value.trim()) && !/^\d*\.\d+$/.test(value.trim())) {
      throw new InvalidArgumentError(`${e.message} (-w is --workers here, as in \`dataplane run\`; the output capture is --out FILE, or -o FILE)`);
    }
    throw e;
  }
}

/** A CPU list option (`--cpus 0,2-3`, worker-cpus.ts), refused at parse time in worker-cpus.ts's words. */
function cpuListOption(name: string) {
  return (value: string): number[] => {
    try {
      return parseCpuList(value, name);
    } catch (e) {
      if (e instanceof WorkerCpusError) throw new InvalidArgumentError(e.message);
      throw e;
    }
  };
}

const TRACE_FILTER_HELP = `
Trace filter (--trace-filter), in the spirit of tcpdump's:
  in PORT                       arrived on that port
  [src|dst] host ADDR           [src|dst] net A.B.C.D/LEN   [src|dst] ADDR[/LEN]
  [src|dst] port N              [src|dst] portrange N-M
  tcp  udp  icmp  ip  arp  proto N
  combined with and (&&), or (||), not (!) and parentheses ("and" binds tighter).
`;

interface TraceCliOptions {
  trace?: string;
  traceCount?: number;
  traceFilter?: string;
}

/** The trace request of a command's options; undefined when no --trace, null (after an error line, exit 2) when misused. */
function traceRequest(opts: TraceCliOptions, command: string): { file: string; count: number; filter: string } | undefined | null {
  if (opts.trace === undefined) {
    if (opts.traceCount !== undefined || opts.traceFilter !== undefined) {
      process.stderr.write(`dataplane ${command}: --trace-count and --trace-filter need --trace FILE\n`);
      process.exitCode = 2;
      return null;
    }
    return undefined;
  }
  return { file: opts.trace, count: opts.traceCount ?? DEFAULT_TRACE_COUNT, filter: opts.traceFilter ?? '' };
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('dataplane')
    .version(packageVersion())
    .description('A user-space IPv4 packet dataplane: routes, filters (VPC firewall, NetworkPolicy), translates (NAT with connection tracking) and load-balances (Maglev, direct server return) packets from TAP, AF_PACKET, AF_XDP and pcap; a control API (ctl), metrics, trace and explain.')
    .showHelpAfterError('(run with --help for usage)')
    // Usage errors exit 2, as the README says (commander's own default is 1); help and --version exit 0.
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    });
  // `dataplane capture --help` is an unknown command, not the main help (commander's way) with exit 0.
  refuseUnknownBeforeHelp(program);

  program
    .command('decode')
    .description('Print one line (or one JSON object) per frame of a pcap or pcapng capture, in the spirit of tcpdump -n.')
    .argument('<file>', 'capture file (pcap or pcapng; any byte order; Ethernet, raw IPv4, Linux SLL/SLL2)', fileOption('FILE'))
    .option('--json', 'one JSON object per frame instead of a text line')
    .option('-c, --count <n>', 'stop after N frames', intInRange('--count', 1, Number.MAX_SAFE_INTEGER))
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
    .argument('<in>', 'input capture (pcap or pcapng, Ethernet frames)', fileOption('IN'))
    .requiredOption('--config <file>', 'router config (YAML), the file `dataplane run` reads (docs/CONFIG.md)', fileOption('--config'))
    .requiredOption('-o, --out <file>', 'output pcapng file (one interface per port, named after it)', fileOption('--out'))
    .option('--in-port <name>', 'port every frame arrives on (required for a classic pcap when there are several ports)')
    .option('--promisc', "ports take frames for any destination MAC (a capture made on another host, whose MACs are not the ports')")
    .option('--json', 'print the summary as one JSON object')
    .option('-w, --workers <n>', 'shard the capture by flow across N worker threads (piscina) and merge the output; 1 replays on this thread', replayWorkersOption, 1)
    .option('--trace <file>', 'write a packet trace (pcapng): each traced packet in, out or dropped, node verdicts as packet comments', fileOption('--trace'))
    .option('--trace-count <n>', `packets to trace at most (default ${DEFAULT_TRACE_COUNT})`, intInRange('--trace-count', 1, MAX_TRACE_COUNT))
    .option('--trace-filter <expr>', "which packets to trace: e.g. 'src 192.0.2.0/24 and udp and dst port 53', 'in lan' (default: all)")
    .addHelpText(
      'after',
      `
With --workers N, frames are sharded by flow (the unordered address pair and
protocol, so both directions and every fragment stay together) and each
flow's packets keep their order in OUT. Configs that translate addresses
(nat:, a nat-mode VIP) and traces replay on one worker; a capture whose
replay used state shared between flows (ARP resolution, the ICMP rate limit,
flow timeouts) is replayed again on one worker. Both say why on stderr.

The input port of a frame is the pcapng interface whose name is a port name,
else the interface at the same position as a port. Time follows the capture's
timestamps (ARP timeouts, ICMP rate limit). At the end the command prints the
frames in and out per port and every non-zero counter, drops by node and
reason among them ("ip4-input/bad-checksum  3").

With --trace, the first packets that match --trace-filter (see below) are
followed through every node: the trace file has each one as it came in and
as it left or was dropped, with one comment per node verdict (the route, the
fields rewritten, the drop reason). Read it with
  tshark -r TRACE.pcapng -T fields -e frame.number -e frame.comment
${TRACE_FILTER_HELP}
Exit status: 0 done, 1 unreadable or corrupt input, 2 bad config or options.

Examples:
  dataplane replay in.pcapng --config router.yaml --out out.pcapng
  dataplane replay in.pcapng --config router.yaml --out out.pcapng --trace trace.pcapng --trace-filter 'udp and dst port 53'
  dataplane replay big.pcap --in-port lan --config router.yaml --out out.pcapng --workers 2`,
    )
    .action(async (input: string, opts: { config: string; out: string; inPort?: string; json?: boolean; promisc?: boolean; workers: number } & TraceCliOptions) => {
      const trace = traceRequest(opts, 'replay');
      if (trace === null) return;
      // The shards' threads boot and load their modules while this thread loads the replay command and the config
      // (a trace replays on one worker: no pool).
      const pool = opts.workers > 1 && trace === undefined ? (await import('../replay/shard-pool.js')).startShardPool(opts.workers) : undefined;
      const { runReplay } = await import('./replay-command.js');
      process.exitCode = await runReplay(input, { config: opts.config, out: opts.out, inPort: opts.inPort, json: opts.json === true, trace, promiscuous: opts.promisc === true, workers: opts.workers, pool });
    });

  const route = program.command('route').description('Inspect the routing table a config builds.');
  route
    .command('lookup')
    .description('Longest-prefix match for each address: "ADDR PREFIX via GW dev PORT", "ADDR PREFIX blackhole", "ADDR unreachable" (no route).')
    .argument('[addr...]', 'IPv4 addresses (read from stdin, whitespace-separated, when none are given)')
    .requiredOption('--config <file>', 'router config (YAML)', fileOption('--config'))
    .action(async (addrs: string[], opts: { config: string }) => {
      const { runRouteLookup } = await import('./route-command.js');
      process.exitCode = await runRouteLookup(addrs, opts);
    });

  program
    .command('firewall')
    .description('List the firewall a config compiles (VPC rules, NetworkPolicy) with the plan rules each became, or judge one packet.')
    .requiredOption('--config <file>', 'router config (YAML) with endpoints and firewall/networkPolicies', fileOption('--config'))
    .option('--json', 'one JSON object instead of text')
    .option('--judge <packet>', 'judge one first packet: "SRC[:PORT] -> DST[:PORT] PROTO", e.g. "198.51.100.10:40000 -> 198.51.100.11:80 tcp"')
    .addHelpText(
      'after',
      `
The listing has one line per user rule, in the order a packet meets them:
sections vpc-egress, policy-egress, vpc-ingress, policy-ingress; within one,
priority (lower first), deny/reject before allow. KIND is vpc (a rule of
firewall.rules), implied (deny all ingress, allow all egress, priority 65535),
policy (a NetworkPolicy's ingress or egress: NAMESPACE/NAME) or isolation
(the deny of every endpoint some policy selects). RULES is how many plan
rules it compiled to (0: it matches nothing, e.g. no endpoint has its labels).

--judge prints each section's verdict and the rule that decided it; the
packet passes only if no section denies it. tcp, udp and sctp need DST:PORT
(SRC's port defaults to 49152); other protocols take no ports. Ports are
1-65535: port 0 is reserved (RFC 6335). Traffic neither from nor to an
endpoint is not judged. Replies of an allowed connection are not judged
either (the firewall is stateful); --judge shows a first packet.

Exit status: 0 done, 2 bad config or options.

Examples:
  dataplane firewall --config router.yaml
  dataplane firewall --config router.yaml --judge "198.51.100.10:40000 -> 198.51.100.11:5432 tcp"`,
    )
    .action(async (opts: { config: string; json?: boolean; judge?: string }) => {
      const { runFirewall } = await import('./firewall-command.js');
      process.exitCode = runFirewall({ config: opts.config, json: opts.json === true, judge: opts.judge });
    });

  program
    .command('explain')
    .description('Run one packet through a router built from the config, node by node: route and next hop, the four firewall sections (as firewall --judge), NAT, backend and tunnel, ICMP or drop.')
    .argument('<packet>', "'PROTO SRC[:PORT] > DST[:PORT] in PORT [options]', e.g. 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan'")
    .requiredOption('--config <file>', 'router config (YAML)', fileOption('--config'))
    .option('--json', 'one JSON object instead of text')
    .addHelpText(
      'after',
      `
PROTO is tcp, udp, icmp (optionally followed by a type: echo, echo-reply,
timestamp, unreachable, time-exceeded...) or a number. Options after the
addresses: in PORT (required), ttl N, len N (IPv4 total length), flags
S|SA|A|FA|R|PA|none (tcp, default S), df, frag (more fragments), offset N
(a later fragment), type N, code N, id N (icmp), tos N. Nothing is sent and
nothing is kept: the router is built for this packet and thrown away.
See docs/CLI.md#explain.

Exit status: 0 done, 2 bad config or packet.

Examples:
  dataplane explain --config router.yaml 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan'
  dataplane explain --config router.yaml 'icmp echo 192.0.2.10 > 198.51.100.10 in lan len 1500 df' --json`,
    )
    .action(async (packet: string, opts: { config: string; json?: boolean }) => {
      const { runExplain } = await import('./explain-command.js');
      process.exitCode = runExplain(packet, { config: opts.config, json: opts.json === true });
    });

  const lb = program.command('lb').description('Load balancer tools.');
  lb.command('preview')
    .description('Per VIP, the share of Maglev table slots (and of a capture\'s flows) that would change backend if a new config replaced the current one.')
    .requiredOption('--config <file>', 'the config as it is (YAML)', fileOption('--config'))
    .requiredOption('--new <file>', 'the config as it would be (YAML, the same format)', fileOption('--new'))
    .option('--flows <capture>', 'a capture (pcap or pcapng) of the traffic: also the share of its flows that would move', fileOption('--flows'))
    .option('--json', 'one JSON object instead of text')
    .addHelpText(
      'after',
      `
VIPs are matched by name; a VIP only in the new config is reported as added,
one only in the current config as removed. For a VIP in both, both configs'
Maglev tables are built and compared slot by slot: the share of slots whose
backend changes is the share of new flows that would go elsewhere (when the
table size changes, it is estimated over 2^20 evenly spaced flow hashes).
Backends whose share of the table changes are listed with both shares.

With --flows, the unique TCP/UDP 5-tuples of the capture whose destination
address, protocol and port are the VIP's are hashed as the dataplane hashes
them (the VIP's hash setting, before and after); a flow the new VIP no longer
matches counts as moved. Fragments are left out (counted). With clientIP
affinity a client's flows go where its first flow in the capture goes (per
client address, under the affinity's sourcePrefixLength), as the dataplane
picks; the hashing: line says which way each config was counted.

Live flows stay pinned to their backend in the flow table: the figures are
what new flows would see. Every backend is taken as healthy.

Exit status: 0 done, 1 unreadable capture, 2 bad config or options.

Examples:
  dataplane lb preview --config router.yaml --new router-next.yaml
  dataplane lb preview --config router.yaml --new router-next.yaml --flows traffic.pcapng --json`,
    )
    .action(async (opts: { config: string; new: string; flows?: string; json?: boolean }) => {
      const { runLbPreview } = await import('./lb-command.js');
      process.exitCode = runLbPreview({ config: opts.config, new: opts.new, flows: opts.flows, json: opts.json === true });
    });

  program
    .command('run')
    .description('Run the live dataplane: TAP, AF_PACKET and AF_XDP ports, packet workers, a status line every few seconds.')
    .requiredOption('--config <file>', 'router config (YAML); each port\'s "io" says how it reaches the wire (default: a TAP named after the port)', fileOption('--config'))
    .option('-w, --workers <n>', 'packet worker threads (default: one per core)', intInRange('--workers', 1, 256))
    .option('--json', 'log one JSON object per line')
    .option('--status-interval <seconds>', 'seconds between status lines', intInRange('--status-interval', 1, 3600), 2)
    .option('--busy-poll', 'workers poll their ports without sleeping: lowest latency, one core each (like DPDK)')
    .option('--spin-us <us>', `after a frame, an idle worker polls on for an adaptive window of at most this many microseconds before it sleeps; 0: sleep at once (default ${DEFAULT_SPIN_MAX_US})`, intInRange('--spin-us', 0, 100_000))
    .option('--coalesce-us <us>', `once frames come faster than one per this many microseconds, a worker naps up to this long after each round and takes what collected in one round, instead of waking per frame (less CPU per packet at middle rates, up to this much more latency under load); 0: wake per frame (default ${DEFAULT_COALESCE_US}; ${RING_BOUNDED_COALESCE_US} for a worker whose ports are all AF_XDP, whose nap also ends before its fill rings run low)`, intInRange('--coalesce-us', 0, 100_000))
    .option('--realtime <priority>', 'workers run SCHED_FIFO at this priority (1-99): woken at once on a loaded machine, for the latency tail; needs CAP_SYS_NICE', intInRange('--realtime', 1, 99))
    .option('--cpus <list>', 'pin worker i to the i-th CPU of this list (1, 0,1, 2-5; like DPDK -l): a CPU per worker, so the scheduler cannot move it onto the CPU of what wakes it; --workers defaults to the list\'s length (default: not pinned)', cpuListOption('--cpus'))
    .option('--trace <file>', 'write a packet trace (pcapng): each traced packet in, out or dropped, node verdicts as packet comments', fileOption('--trace'))
    .option('--trace-count <n>', `packets to trace at most, all workers together (default ${DEFAULT_TRACE_COUNT})`, intInRange('--trace-count', 1, MAX_TRACE_COUNT))
    .option('--trace-filter <expr>', "which packets to trace: e.g. 'src 192.0.2.0/24 and udp and dst port 53', 'in lan' (default: all)")
    .addHelpText(
      'after',
      `
Ports (docs/CONFIG.md#ports says more):
  io: { type: tap, ifname: NAME, netns: NS, peerAddress: A.B.C.D/LEN, peerName: eth1 }
      creates a TAP (one queue per worker); with netns, moves it there and, like
      a CNI plugin, gives the kernel side peerAddress and a default route via
      the port's address.
  io: { type: afpacket, interface: veth0 }
      an existing interface in this network namespace (a veth end, a
      container's eth1), one AF_PACKET socket per worker in a fanout group.
  io: { type: afxdp, interface: veth0 }
      an existing interface in this network namespace, read and written with
      AF_XDP sockets (one per queue; queue q is served by worker q) through an
      XDP program the dataplane attaches; needs CAP_NET_ADMIN and CAP_BPF.

Needs CAP_NET_ADMIN (root). SIGINT/SIGTERM: stop, close the ports (the TAPs
it created disappear), print the counters and exit 0. SIGUSR1: print every
counter and go on. SIGHUP: re-read the config file and apply it while
packets flow, as \`dataplane ctl reload\` does (routes, neighbors, firewall,
ICMP limits, backends and weights), or say why not (a port change, NAT
rules, VIPs themselves need a restart).

The control API (\`dataplane ctl\`) listens on the config's control.socket
(default /run/dataplane/dataplane.sock; "" turns it off): routes, neighbors,
flows, firewall, backends, counters, trace, explain and reload while packets
flow. With \`metrics: { listen: 127.0.0.1:9469 }\`, Prometheus metrics too.

With --trace, the first packets that match --trace-filter are followed through
every node (see \`dataplane replay --help\`); the file is complete once the
dataplane stops.
${TRACE_FILTER_HELP}
Examples:
  sudo dataplane run --config router.yaml --workers 2
  sudo dataplane run --config router.yaml --trace trace.pcapng --trace-filter 'in lan and icmp'`,
    )
    .action(async (opts: { config: string; workers?: number; json?: boolean; statusInterval: number; busyPoll?: boolean; spinUs?: number; coalesceUs?: number; realtime?: number; cpus?: number[] } & TraceCliOptions) => {
      const trace = traceRequest(opts, 'run');
      if (trace === null) return;
      const { runDataplane } = await import('./run-command.js');
      process.exitCode = await runDataplane({ config: opts.config, workers: opts.workers, json: opts.json === true, statusInterval: opts.statusInterval, busyPoll: opts.busyPoll === true, spinMaxUs: opts.spinUs, coalesceMaxUs: opts.coalesceUs, realtimePriority: opts.realtime, cpus: opts.cpus, trace });
    });

  registerCtl(program);

  program
    .command('lab')
    .description('A network-namespace topology around one dataplane on this host (root): client -- dataplane -- server.')
    .argument('<action>', 'up, down or status')
    .option('--ports <kind>', 'how the dataplane attaches: tap (it creates TAPs and moves them), afpacket or afxdp (veth pairs)', 'tap')
    .option('-w, --workers <n>', 'packet worker threads of the dataplane', intInRange('--workers', 1, 256), 1)
    .option('--prefix <name>', 'namespace name prefix: <prefix>-router, <prefix>-client, <prefix>-server', 'dp-lab')
    .option('--engine <router>', 'who routes: dataplane, kernel (ip_forward in the router ns; needs --ports afpacket) or none', 'dataplane')
    .option('--wan-mtu <bytes>', "MTU of the router's server-side port", intInRange('--wan-mtu', 576, 65535))
    .option('--offload', 'TCP crosses the dataplane in 64 KB super-packets (TAP offload; afpacket: veth offloads left on; afxdp: veth checksum offload left on, partial checksums completed)')
    .option('--busy-poll', "the dataplane's workers poll without sleeping (lowest latency, a core each)")
    .option('--trace <file>', 'the dataplane writes a packet trace (pcapng) there, complete once the lab is down', fileOption('--trace'))
    .option('--trace-count <n>', `packets to trace at most (default ${DEFAULT_TRACE_COUNT})`, intInRange('--trace-count', 1, MAX_TRACE_COUNT))
    .option('--trace-filter <expr>', "which packets to trace (see `dataplane replay --help`), e.g. 'icmp and host 198.51.100.10'")
    .option('--nat', 'NAT mode: the router masquerades what leaves wan and forwards wan:8080/tcp to 192.0.2.10:80 and wan:5353/udp to 192.0.2.10:53; the server gets 198.51.100.11 too and no route to the client')
    .option('--nat-filtering <kind>', 'with --nat: endpoint-independent (default), address-dependent or address-and-port-dependent')
    .option('--conntrack-capacity <n>', `with --nat: flows the dataplane's table holds (default 65536; the kernel's limit is host-wide and left alone)`, intInRange('--conntrack-capacity', NAT_MIN_CAPACITY, NAT_MAX_CAPACITY))
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
  sudo dataplane lab down
  sudo dataplane lab up --nat --nat-filtering address-dependent --workers 2
  sudo dataplane lab up --nat --engine kernel --ports afpacket     # Linux (nftables) does the same NAT`,
    )
    .action(async (action: string, opts: { ports: string; workers: number; prefix: string; engine: string; wanMtu?: number; offload?: boolean; busyPoll?: boolean; nat?: boolean; natFiltering?: string; conntrackCapacity?: number } & TraceCliOptions) => {
      const { runLab } = await import('./lab-command.js');
      process.exitCode = await runLab(action, opts);
    });

  program
    .command('conformance')
    .description('Run the RFC 1812, 4787, 5382 and 5508 requirement cases through the pipeline and print what passed, with the packets in and out.')
    .option('--json', 'print the rows as a JSON array')
    .option('--rfc <number>', 'only this RFC (1812, 4787, 5382 or 5508); repeat or separate with commas', (v: string, all: string[] | undefined) => [...(all ?? []), v])
    .addHelpText(
      'after',
      `
Each requirement runs in a fresh dataplane of its own (memory ports, a
virtual clock: no root, no network, about a second for all of them). A row
is the requirement (RFC, REQ number or section, a line of what it asks),
pass or FAIL (with what was expected and what came), and the evidence: each
packet in and what the dataplane sent for it, by port.

Exit status: 0 every requirement passes, 1 one fails, 2 bad options.

Examples:
  dataplane conformance
  dataplane conformance --rfc 4787 --json | jq '.[] | select(.pass | not)'`,
    )
    .action(async (opts: { json?: boolean; rfc?: string[] }) => {
      const { runConformance } = await import('./conformance-command.js');
      process.exitCode = runConformance({ json: opts.json === true, rfc: opts.rfc ?? [] });
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

  checkRequiredAfterUnknown(program);
  return program;
}

installStdoutGone();
await buildProgram().parseAsync(helpFlagLast(process.argv));
