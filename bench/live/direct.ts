// The live benchmarks' baseline topology: the generator sends to the sink
// directly, over one veth pair, with no router in between.
//
//   <prefix>-dclient eth0 192.0.2.10/24 ---- eth0 198.51.100.10/24 <prefix>-dserver
//
// The hosts keep the lab's addresses (a device route each way stands in for
// the router), so the same trafgen frames and iperf3 runs work unchanged
// apart from the destination MAC. What a run costs here (the generator's
// sends, the sink's receives, other jobs on the machine) is what a run
// through a router costs less the forwarding; baseline.ts subtracts it.
import { ip, listNetns, nsRun, sysctl, tryRun } from '../../src/host/commands.js';
import { LAB } from '../../src/lab/topology.js';
import { inNs, macOf, trafgenLoad, type PacedFrames } from './measure.js';

export interface DirectPair {
  client: string;
  server: string;
  /** The sink's MAC: the generator's frames go straight to it. */
  serverMac: string;
  clientMac: string;
}

export function directNames(prefix: string): { client: string; server: string } {
  return { client: `${prefix}-dclient`, server: `${prefix}-dserver` };
}

/** Creates the pair (removing a leftover of the same prefix first) and checks it with a ping. */
export function directUp(prefix: string): DirectPair {
  directDown(prefix);
  const n = directNames(prefix);
  ip('netns', 'add', n.client);
  ip('netns', 'add', n.server);
  // No IPv6 (as the lab topologies): its DAD, MLD and router solicitations would reach the sink's counters
  // a few seconds after the link comes up, in the middle of a counted run.
  for (const ns of [n.client, n.server]) {
    sysctl(ns, 'net.ipv6.conf.all.disable_ipv6', '1');
    sysctl(ns, 'net.ipv6.conf.default.disable_ipv6', '1');
  }
  ip('link', 'add', 'name', LAB.hostIf, 'netns', n.client, 'type', 'veth', 'peer', 'name', LAB.hostIf, 'netns', n.server);
  const legs: [string, string, string][] = [
    [n.client, LAB.client.cidr, '198.51.100.0/24'],
    [n.server, LAB.server.cidr, '192.0.2.0/24'],
  ];
  for (const [ns, cidr, other] of legs) {
    nsRun(ns, 'ip', ['link', 'set', 'dev', 'lo', 'up']);
    nsRun(ns, 'ip', ['addr', 'add', cidr, 'dev', LAB.hostIf]);
    nsRun(ns, 'ip', ['link', 'set', 'dev', LAB.hostIf, 'up']);
    nsRun(ns, 'ip', ['route', 'add', other, 'dev', LAB.hostIf]);
  }
  // As in the routed runs: few ICMP port unreachables back from the sink.
  sysctl(n.server, 'net.ipv4.icmp_msgs_per_sec', '10');
  const ping = inNs(n.client, ['ping', '-n', '-c2', '-i0.2', '-W1', LAB.server.addr]);
  if (ping.status !== 0) throw new Error(`the direct pair does not pass a ping: ${ping.out.trim().split('\n').slice(-2).join(' ')}`);
  return { ...n, serverMac: macOf(n.server, LAB.hostIf), clientMac: macOf(n.client, LAB.hostIf) };
}

export function directDown(prefix: string): void {
  const n = directNames(prefix);
  const have = new Set(listNetns());
  for (const ns of [n.client, n.server]) if (have.has(ns)) tryRun('ip', ['netns', 'del', ns]);
}

/**
 * The kernel's baseline for one trafgen run: `cfg` (frames addressed to the
 * sink's MAC) at `rate` pps (0: unlimited) for `seconds`, straight to the
 * sink. The machine's system+irq+softirq seconds and the packets offered,
 * for baseline.ts's subtraction, and the generator's and ksoftirqd's CPU
 * seconds (`path`, for paced-run.ts's forwarding CPU). `paced`: the same
 * frames from pacer.c (addressed to the sink's MAC), at every rate
 * including "max".
 */
export async function directTrafgenBaseline(
  pair: DirectPair,
  cfgFile: string,
  cfg: string,
  rate: number,
  seconds: number,
  paced?: PacedFrames,
): Promise<{ sys: number; path: number; offered: number; error?: string }> {
  const r = await trafgenLoad({ genNs: pair.client, sinkNs: pair.server, dev: LAB.hostIf, cfgFile, cfg, rate, seconds, routerPid: 0, paced, pacedMax: paced !== undefined });
  // path: the generator's and ksoftirqd's own CPU (per process, so other jobs do not count), the paced runs' path less any router.
  return { sys: r.cpu.machine.sys, path: (Number.isFinite(r.cpu.generator) ? r.cpu.generator : NaN) + r.cpu.ksoftirqd, offered: r.offered, error: r.error };
}
