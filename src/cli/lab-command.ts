// `dataplane lab up|down|status`: a network-namespace topology around one
// dataplane on this host (root). See src/lab/topology.ts for the picture.
import { labDown, labUp, logTail, readState, routerGone, type LabState } from '../lab/lab.js';
import { resolve } from 'node:path';
import { labUnavailable } from '../lab/lab-error.js';
import { checkPrefix, describeAddresses, existingNamespaces, LAB, type LabEngine, type LabPorts } from '../lab/topology.js';
import { LAB_NAT, NAT_FILTERINGS, NAT_FILTERINGS_TEXT, type LabNat, type NatFiltering } from '../lab/lab-nat.js';

export interface LabCliOptions {
  prefix: string;
  ports: string;
  workers: number;
  engine: string;
  wanMtu?: number;
  offload?: boolean;
  busyPoll?: boolean;
  trace?: string;
  traceFilter?: string;
  traceCount?: number;
  nat?: boolean;
  natFiltering?: string;
  conntrackCapacity?: number;
}

/** A mistake in the options (exit 2, like every usage error), not a failure of the lab. */
class LabUsageError extends Error {}

function say(s: string): void {
  process.stdout.write(s + '\n');
}

function topologyText(s: LabState): string {
  const router =
    s.engine === 'dataplane'
      ? `dataplane pid ${s.pid}, ${s.workers} worker${s.workers === 1 ? '' : 's'}, ${s.ports} ports`
      : s.engine === 'kernel'
        ? 'Linux kernel forwarding (ip_forward=1), veth ports'
        : 'no router started (veth ends are free)';
  const wanMtu = s.wanMtu !== undefined && s.wanMtu !== 1500 ? ` mtu ${s.wanMtu}` : '';
  const serverAlt = s.nat !== undefined ? ` + ${LAB_NAT.serverAlt.cidr}` : '';
  return [
    `lab "${s.prefix}": ${router}`,
    '',
    `  [${s.names.client}]                [${s.names.router}]                    [${s.names.server}]`,
    `  ${LAB.hostIf} ${LAB.client.cidr} --- ${LAB.lan.name} ${LAB.lan.cidr} | ${LAB.wan.name} ${LAB.wan.cidr}${wanMtu} --- ${LAB.hostIf} ${LAB.server.cidr}${serverAlt}`,
    ...(s.nat === undefined ? [] : ['', ...natLines(s)]),
    '',
    `  config: ${s.configPath}`,
    `  log:    ${s.logPath}`,
    ...(s.controlSocket === undefined ? [] : [`  ctl:    dataplane ctl --socket ${s.controlSocket} route show`]),
    '',
    'Try:',
    `  ip netns exec ${s.names.client} ping -c3 ${LAB.server.addr}`,
    `  ip netns exec ${s.names.client} traceroute -n ${LAB.server.addr}`,
    ...(s.nat === undefined ? [] : [`  ip netns exec ${s.names.server} curl http://${LAB.wan.addr}:${LAB_NAT.tcpForward.dport}/   # port forwarding (start a server on ${LAB_NAT.tcpForward.to}:${LAB_NAT.tcpForward.toPort} first)`]),
    `  ${downCommand(s.prefix)}`,
  ].join('\n');
}

/** What NAT mode does in this lab, for up and status. */
function natLines(s: LabState): string[] {
  if (s.nat === undefined) return [];
  const t = LAB_NAT.tcpForward;
  const u = LAB_NAT.udpForward;
  const how = s.engine === 'kernel' ? `nftables table ip ${LAB_NAT.nftTable} in ${s.names.router}` : `the dataplane, conntrack capacity ${s.nat.capacity}`;
  return [
    `  NAT (${how}): masquerade to ${LAB.wan.addr} on ${LAB.wan.name}, ${s.nat.filtering} filtering;`,
    `  ${LAB.wan.addr}:${t.dport}/tcp -> ${t.to}:${t.toPort}, ${LAB.wan.addr}:${u.dport}/udp -> ${u.to}:${u.toPort}; the server has no route to ${LAB_NAT.clientNet}`,
    ...s.nat.notes.map((n) => `  note: ${n}`),
  ];
}

/** --nat and its two options; undefined without --nat. */
function parseNat(o: LabCliOptions, engine: LabEngine): LabNat | undefined {
  if (o.nat !== true) {
    if (o.natFiltering !== undefined || o.conntrackCapacity !== undefined) throw new LabUsageError('--nat-filtering and --conntrack-capacity need --nat');
    return undefined;
  }
  if (engine === 'none') throw new LabUsageError('--nat needs --engine dataplane or kernel');
  const f = o.natFiltering;
  if (f !== undefined && !(NAT_FILTERINGS as readonly string[]).includes(f)) throw new LabUsageError(`--nat-filtering must be ${NAT_FILTERINGS_TEXT}, got '${f}'`);
  return { filtering: f as NatFiltering | undefined, capacity: o.conntrackCapacity };
}

function downCommand(prefix: string): string {
  return `dataplane lab down${prefix === 'dp-lab' ? '' : ` --prefix ${prefix}`}`;
}

function parsePorts(v: string): LabPorts {
  if (v === 'tap' || v === 'afpacket' || v === 'afxdp') return v;
  throw new LabUsageError(`--ports must be tap, afpacket or afxdp, got '${v}'`);
}

function parseEngine(v: string): LabEngine {
  if (v === 'dataplane' || v === 'kernel' || v === 'none') return v;
  throw new LabUsageError(`--engine must be dataplane, kernel or none, got '${v}'`);
}

export async function runLab(action: string, o: LabCliOptions): Promise<number> {
  const bad = checkPrefix(o.prefix);
  if (bad !== undefined) {
    process.stderr.write(`dataplane lab: ${bad}\n`);
    return 2;
  }
  const why = labUnavailable();
  if (why !== undefined) {
    process.stderr.write(`dataplane lab: ${why}\n`);
    return 1;
  }
  try {
    if (action === 'up') {
      const ports = parsePorts(o.ports);
      const engine = parseEngine(o.engine);
      if (engine === 'kernel' && o.ports !== 'afpacket') throw new LabUsageError('--engine kernel needs --ports afpacket (veth pairs)');
      if (o.offload === true && engine !== 'dataplane') throw new LabUsageError('--offload needs --engine dataplane');
      if ((o.traceFilter !== undefined || o.traceCount !== undefined) && o.trace === undefined) throw new LabUsageError('--trace-filter and --trace-count need --trace FILE');
      if (o.trace !== undefined && engine !== 'dataplane') throw new LabUsageError('--trace needs --engine dataplane');
      const trace = o.trace === undefined ? undefined : { file: resolve(o.trace), filter: o.traceFilter, count: o.traceCount };
      const nat = parseNat(o, engine);
      const t0 = Date.now();
      const s = await labUp({ prefix: o.prefix, ports, engine, workers: o.workers, wanMtu: o.wanMtu, offload: o.offload === true, busyPoll: o.busyPoll === true, trace, nat });
      say(topologyText(s));
      if (trace !== undefined) say(`\ntracing to ${trace.file} (complete once the lab is down)`);
      say(`\nup in ${((Date.now() - t0) / 1000).toFixed(1)} s: the router answers pings from both sides.`);
      return 0;
    }
    if (action === 'down') {
      const r = await labDown(o.prefix);
      if (r.stopped !== undefined) say(r.stopped.how === 'gone' ? `dataplane pid ${r.stopped.pid} had already exited` : `stopped dataplane pid ${r.stopped.pid} (${r.stopped.how})`);
      say(r.namespaces.length > 0 ? `deleted namespaces: ${r.namespaces.join(', ')}` : `no namespaces with prefix "${o.prefix}"`);
      return 0;
    }
    if (action === 'status') {
      const s = readState(o.prefix);
      const ns = existingNamespaces(o.prefix);
      if (s === undefined && ns.length === 0) {
        say(`no lab with prefix "${o.prefix}"`);
        return 3;
      }
      if (s !== undefined) {
        const gone = routerGone(s);
        say(`lab "${s.prefix}" since ${s.startedAt}: engine ${s.engine}, ${s.ports} ports, ${s.workers} worker(s)`);
        if (gone === undefined) say(`router: ${s.engine === 'dataplane' ? `pid ${s.pid} ` : ''}alive`);
        else {
          say(`router: NOT running: ${gone}`);
          // What is left (namespaces, veths, the state) stays until down; up refuses the prefix until then.
          say(`clean up: ${downCommand(s.prefix)} (then \`dataplane lab up\` again if you want the lab back)`);
        }
        if (s.nat !== undefined) say(natLines(s).map((l) => l.trim()).join('\n'));
        say(`config: ${s.configPath}\nlog:    ${s.logPath}${s.controlSocket === undefined ? '' : `\nctl:    dataplane ctl --socket ${s.controlSocket} route show`}`);
        say(`namespaces: ${ns.join(', ') || '(none)'}`);
        say(`addresses:\n${describeAddresses(o.prefix, gone === undefined)}`);
        if (s.engine === 'dataplane') say(`last log lines:\n${logTail(s, 5).replace(/^/gm, '  ')}`);
        return gone === undefined ? 0 : 1;
      }
      say(`namespaces without lab state: ${ns.join(', ')} (remove with \`${downCommand(o.prefix)}\`)`);
      return 1;
    }
    process.stderr.write(`dataplane lab: unknown action '${action}' (up, down or status)\n`);
    return 2;
  } catch (e) {
    process.stderr.write(`dataplane lab ${action}: ${e instanceof Error ? e.message : String(e)}\n`);
    return e instanceof LabUsageError ? 2 : 1;
  }
}
