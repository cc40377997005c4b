// The verbs of `dataplane ctl`, declared with commander. Kept free of gRPC
// imports so `dataplane --help` stays fast: each action loads ctl-command.ts
// (and with it the client) when it runs.
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { ControlClient } from '../control/client.js';
import type { CtlOptions } from './ctl-command.js';
import { fileOption } from './file-option.js';
import { refuseUnknownBeforeDefault } from './unknown-subcommand.js';

type Out = (text: string, json: unknown) => void;
type Verb = (client: ControlClient, out: Out, lib: typeof import('./ctl-command.js')) => Promise<void>;

function whole(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, got '${value}'`);
    return n;
  };
}

/**
 * A table's `show`, the default subcommand: bare `ctl route` shows, as `ip
 * route` does, and `ctl flows --filter X` is `ctl flows show --filter X`.
 * Its help line says so (commander's help does not mark a default). `takes`
 * says which words are show's argument (none by default): any other word
 * where a subcommand goes is an unknown subcommand (`ctl route flush`), not
 * an argument handed to show.
 */
function tableShow(table: Command, description: string, takes?: (word: string) => boolean): Command {
  refuseUnknownBeforeDefault(table, takes);
  return table.command('show', { isDefault: true }).description(`${description} The default: \`ctl ${table.name()}\` with no subcommand runs it.`);
}

/**
 * What `ctl route WORD` hands to show as its prefix: a word starting with a
 * digit (the dataplane says what is wrong with it, as with `route show
 * WORD`), or "default", which `ip route show` takes (show does not yet, and
 * says so). No subcommand starts with a digit.
 */
const routeShowTakes = (word: string): boolean => /^\d/.test(word) || word === 'default';

export function registerCtl(program: Command): void {
  const ctl = program
    .command('ctl')
    .description('Talk to a running dataplane (`dataplane run`) over its control API: routes, neighbors, flows, NAT, firewall, load balancer, counters, trace, explain, reload.')
    .option('--socket <path>', 'the control API\'s Unix socket, or HOST:PORT for its TCP listener (default: the --config\'s control.socket, else /run/dataplane/dataplane.sock)')
    .option('--config <file>', 'find the socket in this config\'s control section', fileOption('--config'))
    .option('--json', 'print the answer as JSON')
    .option('--timeout <ms>', 'give up on a call after this long', whole('--timeout', 1, 3_600_000), 30_000)
    .addHelpText(
      'after',
      `
Every change is checked whole before anything is applied: a refused change
says why and leaves the running tables as they were. Changes reach the
workers as new table generations between two batches, while packets flow.

Exit status: 0 done, 1 refused or no dataplane reachable, 2 usage.

Examples:
  dataplane ctl route add 198.18.5.0/24 via 198.51.100.2
  dataplane ctl route show
  dataplane ctl route load routes.txt --replace-all
  dataplane ctl flows --filter 'dst 203.0.113.10'
  dataplane ctl lb backend drain web 198.51.100.11
  dataplane ctl counters --prefix ip4-lookup/
  dataplane ctl trace start --filter 'icmp' --count 100 && dataplane ctl trace read
  dataplane ctl explain 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan'
  dataplane ctl reload router.yaml
  dataplane ctl --socket /tmp/dp.sock --json counters`,
    );
  const run = (verb: Verb) => async () => {
    const lib = await import('./ctl-command.js');
    process.exitCode = await lib.runCtl(ctl.opts<CtlOptions>(), (client, out) => verb(client, out, lib));
  };

  ctl
    .command('status')
    .description('What runs: version, pid, workers, ports, routes.')
    .action(
      run(async (c, out) => {
        const s = await c.call<{ version: string; pid: number; workers: number; uptime_seconds: number; config_file: string; ports: string[]; routes: number; route_generation: number; worker_cpus?: number[] }>('Control', 'Status');
        const cpus = s.worker_cpus ?? [];
        out(
          [`dataplane ${s.version}, pid ${s.pid}, ${s.workers} worker${s.workers === 1 ? '' : 's'}${cpus.length > 0 ? ` on CPU${cpus.length === 1 ? '' : 's'} ${cpus.join(',')}` : ''}, up ${Math.round(s.uptime_seconds)} s`, `config ${s.config_file}`, `${s.routes} routes (generation ${s.route_generation})`, ...s.ports.map((p) => `  ${p}`)].join('\n'),
          s,
        );
      }),
    );

  // ---------------------------------------------------------------- routes
  const route = ctl.command('route').description('The routing table (like `ip route`).');
  tableShow(route, 'List routes: connected, config and API routes.', routeShowTakes)
    .alias('list')
    .argument('[prefix]', 'only routes inside this prefix (a bare address: its /32)')
    .option('--limit <n>', 'at most this many', whole('--limit', 1, 100_000_000))
    .action((prefix: string | undefined, o: { limit?: number }) =>
      run(async (c, out, lib) => {
        const r = await c.call<{ routes: Parameters<typeof lib.routeLine>[0][]; total: number }>('Routes', 'List', { prefix: prefix ?? '', limit: o.limit ?? 0 });
        const more = r.total > r.routes.length ? `\n(${r.total - r.routes.length} more; --limit)` : '';
        out(r.routes.map(lib.routeLine).join('\n') + more, r);
      })(),
    );
  for (const op of ['add', 'replace'] as const) {
    route
      .command(op)
      .argument('<route...>', 'a routes-file line: PREFIX via ADDR [dev PORT] | PREFIX dev PORT | PREFIX blackhole|unreachable|prohibit | PREFIX nexthop via A nexthop via B')
      .description(op === 'add' ? 'Add a route (refused when the prefix has one: use replace).' : 'Add a route or replace the one the prefix has.')
      .action((words: string[]) =>
        run(async (c, out, lib) => {
          const r = await c.call('Routes', 'Change', { [op]: [{ line: lib.routeWords(words) }] });
          out(`${op === 'add' ? 'added' : 'replaced'} (generation ${String(r.generation)}, ${Number(r.ms).toFixed(1)} ms)`, r);
        })(),
      );
  }
  route
    .command('del')
    .alias('delete')
    .argument('<prefix...>', 'prefixes of routes to delete')
    .description('Delete routes.')
    .action((prefixes: string[]) =>
      run(async (c, out) => {
        const r = await c.call('Routes', 'Change', { delete: prefixes });
        out(`deleted ${String(r.deleted)} (generation ${String(r.generation)}, ${Number(r.ms).toFixed(1)} ms)`, r);
      })(),
    );
  route
    .command('load')
    .argument('<file>', 'a routes file (one route per line, # comments)', fileOption('FILE'))
    .option('--replace-all', 'the file becomes the whole table (routes not in it are deleted; connected subnets stay)')
    .description('Add or replace every route of a file in one change (one generation).')
    .action((file: string, o: { replaceAll?: boolean }) =>
      run(async (c, out, lib) => {
        const lines = lib.routeFileLines(file).map((line) => ({ line }));
        const r = await c.call('Routes', 'Change', o.replaceAll ? { replace_all: lines, set_all: true } : { replace: lines });
        out(`${lines.length} routes applied: ${String(r.added)} added, ${String(r.replaced)} replaced, ${String(r.deleted)} deleted (generation ${String(r.generation)}, ${Number(r.ms).toFixed(1)} ms)`, r);
      })(),
    );

  // ---------------------------------------------------------------- neighbors
  const neigh = ctl.command('neigh').alias('neighbor').description('Neighbors (like `ip neigh`).');
  tableShow(neigh, 'Static and learned neighbors.')
    .action(
      run(async (c, out, lib) => {
        const r = await c.call<{ neighbors: { address: string; mac: string; dev: string; state: string }[] }>('Neighbors', 'List');
        out(lib.table(r.neighbors.map((n) => [n.address, `dev ${n.dev}`, n.mac ? `lladdr ${n.mac}` : '', n.state.toUpperCase()])), r);
      }),
    );
  neigh
    .command('add')
    .argument('<address>')
    .argument('<lladdr>', 'the word "lladdr"')
    .argument('<mac>')
    .argument('[dev]', 'the word "dev"')
    .argument('[port]')
    .description('A static neighbor: `ctl neigh add 198.51.100.2 lladdr 02:00:00:00:00:02 dev wan`.')
    .action((address: string, lladdr: string, mac: string, dev: string | undefined, port: string | undefined) =>
      run(async (c, out, lib) => {
        if (lladdr !== 'lladdr' || (dev !== undefined && dev !== 'dev') || (dev !== undefined && port === undefined)) throw new lib.CtlUsageError('usage: ctl neigh add ADDRESS lladdr MAC [dev PORT]');
        const r = await c.call('Neighbors', 'Change', { add: [{ address: lib.checkedAddresses([address], 'neighbor')[0], mac: lib.checkedMac(mac), dev: port ?? '' }] });
        out('added', r);
      })(),
    );
  neigh
    .command('del')
    .argument('<address...>')
    .description('Delete static neighbors.')
    .action((addresses: string[]) =>
      run(async (c, out, lib) => {
        const r = await c.call('Neighbors', 'Change', { delete: lib.checkedAddresses(addresses, 'neighbor') });
        out(`deleted ${String(r.deleted)}`, r);
      })(),
    );

  // ---------------------------------------------------------------- flows and NAT
  const filterHelp = "e.g. 'dst 203.0.113.10', 'tcp and port 80', 'src net 192.0.2.0/24' (see docs/OPERATIONS.md)";
  // `flows` itself takes no options: a --filter of its own would be parsed
  // before `delete` saw it (commander), so bare `ctl flows` is `flows show`, as `nat` is `nat show`.
  const flows = ctl.command('flows').description('Tracked flows (conntrack, NAT, load balancer).');
  tableShow(flows, 'List tracked flows (all, or those matching --filter).')
    .alias('list')
    .option('--filter <expr>', filterHelp, '')
    .option('--limit <n>', 'at most this many (default 1000)', whole('--limit', 1, 16_777_216))
    .action((o: { filter: string; limit?: number }) =>
      run(async (c, out, lib) => {
        const r = await c.call<{ flows: { json: string; text: string }[]; matched: number }>('Flows', 'List', { filter: lib.checkedFilter(o.filter, 'flow'), limit: o.limit ?? 0 });
        const more = r.matched > r.flows.length ? `\n(${r.matched - r.flows.length} more match; --limit)` : '';
        out(r.flows.map((f) => f.text).join('\n') + more + (r.matched === 0 ? 'no flow matches' : ''), { flows: r.flows.map((f) => JSON.parse(f.json) as unknown), matched: r.matched });
      })(),
    );
  flows
    .command('delete')
    .alias('flush')
    .description('End the flows that match (their next packet starts a new flow).')
    .requiredOption('--filter <expr>', `${filterHelp}; '' ends every flow`)
    .action((o: { filter: string }) =>
      run(async (c, out, lib) => {
        const r = await c.call('Flows', 'Delete', { filter: lib.checkedFilter(o.filter, 'flow') });
        out(`deleted ${String(r.deleted)} flows${Number(r.skipped) > 0 ? ` (${String(r.skipped)} changed under every attempt: run it again)` : ''}`, r);
      })(),
    );
  const nat = ctl.command('nat').description('NAT mappings (external address and port -> internal endpoint).');
  tableShow(nat, 'List NAT mappings (all, or those matching --filter).')
    .alias('mappings')
    .option('--filter <expr>', filterHelp, '')
    .option('--limit <n>', 'at most this many (default 1000)', whole('--limit', 1, 16_777_216))
    .action((o: { filter: string; limit?: number }) =>
      run(async (c, out, lib) => {
        const r = await c.call<{ mappings: { json: string; text: string }[]; matched: number }>('Flows', 'ListMappings', { filter: lib.checkedFilter(o.filter, 'mapping'), limit: o.limit ?? 0 });
        const more = r.matched > r.mappings.length ? `\n(${r.matched - r.mappings.length} more match; --limit)` : '';
        out(r.mappings.map((f) => f.text).join('\n') + more + (r.matched === 0 ? 'no mapping matches' : ''), { mappings: r.mappings.map((f) => JSON.parse(f.json) as unknown), matched: r.matched });
      })(),
    );
  nat
    .command('delete')
    .alias('flush')
    .description('Delete the NAT mappings matching --filter.')
    .requiredOption('--filter <expr>', `${filterHelp}; '' deletes every mapping`)
    .action((o: { filter: string }) =>
      run(async (c, out, lib) => {
        const r = await c.call('Flows', 'DeleteMappings', { filter: lib.checkedFilter(o.filter, 'mapping') });
        out(`deleted ${String(r.deleted)} mappings`, r);
      })(),
    );

  // ---------------------------------------------------------------- firewall
  const fw = ctl.command('firewall').description('Firewall rules and NetworkPolicies.');
  tableShow(fw, 'Rules in the order they decide (implied rules too), with hits.')
    .action(
      run(async (c, out, lib) => {
        const r = await c.call<{ rules: { name: string; origin: string; direction: string; priority: number; action: string; hits: number }[] }>('Firewall', 'ListRules');
        out(r.rules.length === 0 ? 'no firewall' : lib.table([['HITS', 'RULE', 'KIND', 'DIRECTION', 'PRIORITY', 'ACTION'], ...r.rules.map((x) => [String(x.hits), x.name, x.origin, x.direction, String(x.priority), x.action])]), r);
      }),
    );
  fw.command('set')
    .argument('<file>', 'YAML with any of: endpoints, namespaces, firewall, networkPolicies, networkPolicyFile', fileOption('FILE'))
    .description('Replace those sections of the running config (the others stay).')
    .action((file: string) =>
      run(async (c, out, lib) => {
        const r = await c.call<{ applied: string[] }>('Firewall', 'Set', { yaml: lib.readText(file) });
        out(lib.appliedText(r.applied), r);
      })(),
    );

  // ---------------------------------------------------------------- load balancer
  const lb = ctl.command('lb').description('The load balancer: VIPs and backends.');
  tableShow(lb, 'VIPs with their backends: state, weight, health, flows, packets.')
    .action(
      run(async (c, out, lib) => {
        const r = await c.call<{ vips: { name: string; address: string; protocol: string; port: number; mode: string; backends: { address: string; state: string; weight: number; effective_weight: number; health: string; new_flows: number; active_flows: number; packets: number; bytes: number }[] }[] }>('LoadBalancer', 'ListVips');
        const text = r.vips
          .map((v) =>
            [
              `${v.name} ${v.address}${v.port ? `:${v.port}` : ''}/${v.protocol} ${v.mode}`,
              lib.table([['  BACKEND', 'STATE', 'WEIGHT', 'HEALTH', 'NEW FLOWS', 'ACTIVE', 'PACKETS', 'BYTES'], ...v.backends.map((b) => [`  ${b.address}`, b.state, b.effective_weight === b.weight ? String(b.weight) : `${b.weight} (now ${b.effective_weight.toFixed(1)})`, b.health, String(b.new_flows), String(b.active_flows), String(b.packets), String(b.bytes)])]),
            ].join('\n'),
          )
          .join('\n');
        out(text === '' ? 'no VIPs' : text, r);
      }),
    );
  const backend = lb.command('backend').description('Change one backend of a VIP (weights, drain, add, remove).');
  const backendVerb = (name: string, method: string, help: string, withWeight: 'required' | 'optional' | 'none') => {
    const cmd = backend.command(name).argument('<vip>', "the VIP's name").argument('<address>', "the backend's address");
    if (withWeight !== 'none') cmd.argument(withWeight === 'required' ? '<weight>' : '[weight]', 'relative share of new flows, 0-65535', whole('weight', 0, 65535));
    cmd.description(help).action((vip: string, address: string, weight: number | undefined) =>
      run(async (c, out, lib) => {
        const r = await c.call<{ applied: string[] }>('LoadBalancer', method, { vip, address: lib.checkedAddresses([address], 'backend')[0], weight: weight ?? (name === 'add' ? 1 : 0) });
        out(lib.appliedText(r.applied), r);
      })(),
    );
  };
  backendVerb('drain', 'Drain', 'Weight 0: its flows stay, new flows go elsewhere (undrain gives the weight back).', 'none');
  backendVerb('undrain', 'Undrain', 'Give a drained backend its weight back.', 'none');
  backendVerb('weight', 'SetWeight', 'Set the weight (0 drains).', 'required');
  backendVerb('add', 'AddBackend', 'Add a backend (weight 1 unless given).', 'optional');
  backendVerb('remove', 'RemoveBackend', 'Remove a backend: it leaves the table, its pinned flows end.', 'none');

  // ---------------------------------------------------------------- counters
  ctl
    .command('counters')
    .description('Per-port totals and every non-zero counter (node/counter), summed over workers.')
    .option('--prefix <text>', 'only counters whose name starts with this, e.g. ip4-lookup/', '')
    .option('--all', 'zero counters too')
    .action((o: { prefix: string; all?: boolean }) =>
      run(async (c, out, lib) => {
        const r = await c.call<{ ports: Record<string, number | string | boolean>[]; counters: { name: string; kind: string; packets: number; bytes: number }[] }>('Counters', 'Get', { prefix: o.prefix, all: o.all === true });
        const ports = r.ports.map((p) => `${String(p.name)}${p.up ? '' : ' (DOWN)'}: rx ${String(p.rx_packets)} (${String(p.rx_bytes)} B) forwarded ${String(p.rx_forwarded)} dropped ${String(p.rx_dropped)} local ${String(p.rx_local)} lost ${String(p.rx_lost)}; tx ${String(p.tx_packets)} (${String(p.tx_bytes)} B) not sent ${String(p.tx_dropped)}`);
        out([...ports, lib.table(r.counters.map((x) => [x.name, String(x.packets), x.kind === 'drop' ? 'drop' : '']))].join('\n'), r);
      })(),
    );

  // ---------------------------------------------------------------- trace
  const trace = ctl.command('trace').description('Trace packets through the running pipeline, node by node.');
  trace
    .command('start')
    .option('--filter <expr>', "which packets: e.g. 'in lan and icmp' (the grammar of `run --trace-filter`)", '')
    .option('--count <n>', 'packets to trace at most', whole('--count', 1, 1_000_000), 100)
    .description('Start tracing (replaces a trace that runs).')
    .action((o: { filter: string; count: number }) =>
      run(async (c, out, lib) => {
        const r = await c.call('Trace', 'Start', { filter: lib.checkedTraceFilter(o.filter), count: o.count });
        out(`tracing ${o.count} packets${o.filter ? ` matching '${o.filter}'` : ''}; \`dataplane ctl trace read\` shows them`, r);
      })(),
    );
  trace
    .command('stop')
    .description('Stop tracing (traced packets stay readable).')
    .action(
      run(async (c, out) => {
        const r = await c.call('Trace', 'Stop');
        out(`stopped; ${String(r.traced)} traced, ${String(r.unread)} unread`, r);
      }),
    );
  trace
    .command('read')
    .option('--max <n>', 'at most this many packets', whole('--max', 1, 1_000_000))
    .description('Print traced packets not read yet, node by node.')
    .action((o: { max?: number }) =>
      run(async (c, out) => {
        const r = await c.call<{ packets: { id: number; worker: number; in_port: string; time: number; lines: string[]; in_frame: Buffer }[]; state: { active: boolean; traced: number; unread: number } }>('Trace', 'Read', { max: o.max ?? 0 });
        const text = r.packets.map((p) => [`#${p.id} in ${p.in_port} (worker ${p.worker}, ${new Date(p.time * 1000).toISOString()})`, ...p.lines.map((l) => `  ${l}`)].join('\n')).join('\n');
        out(text + (r.packets.length === 0 ? `no traced packets to read (${r.state.active ? 'tracing' : 'not tracing'})` : ''), { packets: r.packets.map((p) => ({ ...p, in_frame: Buffer.from(p.in_frame).toString('hex') })), state: r.state });
      })(),
    );

  // ---------------------------------------------------------------- explain, reload
  ctl
    .command('explain')
    .argument('<packet>', "e.g. 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan' (see `dataplane explain --help`)")
    .description('What the running dataplane would do with this packet, node by node (no side effects).')
    .action((packet: string) =>
      run(async (c, out, lib) => {
        const r = await c.call<{ lines: string[]; json: string }>('Explain', 'Explain', { packet: lib.checkedExplainSpec(packet) });
        out(r.lines.join('\n'), JSON.parse(r.json) as unknown);
      })(),
    );
  ctl
    .command('reload')
    .argument('[config]', 'a config file as the dataplane process sees it (default: the one it runs)')
    .description('Apply a whole config: diffed against the running one, all or nothing (parts that need a restart are refused, named).')
    .action((file: string | undefined) =>
      run(async (c, out, lib) => {
        // The file is read here when it can be (ctl and the dataplane may not share a file system view); else the dataplane reads the path.
        const yaml = file === undefined ? '' : lib.readText(file);
        const r = await c.call<{ applied: string[] }>('Control', 'Reload', { path: file === undefined ? '' : resolve(file), yaml });
        out(lib.appliedText(r.applied), r);
      })(),
    );
}
