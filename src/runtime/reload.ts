// A reloaded config against the running one: which parts differ, which of
// those a running dataplane can take (routes, neighbors, the firewall plan,
// the load balancer's backends, the ICMP rate) and which need a restart
// (ports, NAT rules, the flow table's size, ARP and reassembly sizing: they
// shape each worker's graph and memory; where the control API and the
// metrics endpoint listen: opened once at start). The dataplane applies a reload only
// when nothing needs a restart: all or nothing.
import type { PortConfig, RouterConfig } from '../config/load.js';
import { ipv4ToString, macToString } from '../wire/address.js';

export interface ReloadDiff {
  /** Parts that differ and cannot change live, each with why. */
  needsRestart: string[];
  routes: boolean;
  neighbors: boolean;
  firewall: boolean;
  loadBalancer: boolean;
  icmp: boolean;
}

/** JSON with typed arrays as plain arrays, for comparing normalized config parts. */
function canon(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (ArrayBuffer.isView(x) ? Array.from(x as Uint8Array) : x)) ?? 'undefined';
}

const same = (a: unknown, b: unknown) => canon(a) === canon(b);

const RESTART_PORTS = 'the workers own their queues; restart';

/**
 * How the ports differ, one line per field that changed. A MAC the config
 * left out is the interface's, filled in at start (port-setup.ts): it
 * compares equal to a next config that leaves it out too, whatever the
 * running config now holds.
 */
export function portChanges(cur: readonly PortConfig[], next: readonly PortConfig[]): string[] {
  const names = (ps: readonly PortConfig[]) => ps.map((p) => p.name).join(', ');
  if (cur.length !== next.length || cur.some((p, i) => p.name !== next[i].name)) {
    return [`ports: the ports changed from [${names(cur)}] to [${names(next)}]: ${RESTART_PORTS}`];
  }
  const out: string[] = [];
  cur.forEach((a, i) => {
    const b = next[i];
    const field = (f: string, from: string, to: string) => out.push(`ports[${i}].${f} (port "${a.name}"): changed from ${from} to ${to}: ${RESTART_PORTS}`);
    const mac = (p: PortConfig) => (p.macDefaulted ? `the interface's (no mac:)` : macToString(p.mac, 0));
    if (a.macDefaulted !== b.macDefaulted || (!a.macDefaulted && !same(a.mac, b.mac))) field('mac', mac(a), mac(b));
    if (a.address !== b.address || a.prefixLen !== b.prefixLen) field('address', `${ipv4ToString(a.address)}/${a.prefixLen}`, `${ipv4ToString(b.address)}/${b.prefixLen}`);
    if (a.mtu !== b.mtu) field('mtu', String(a.mtu), String(b.mtu));
    if (!same(a.io, b.io)) field('io', canon(a.io), canon(b.io));
    if (!same(a.decap, b.decap)) field('decap', canon(a.decap), canon(b.decap));
  });
  return out;
}

export function diffConfigs(cur: RouterConfig, next: RouterConfig): ReloadDiff {
  const needsRestart: string[] = [];
  needsRestart.push(...portChanges(cur.ports, next.ports));
  if (!same(cur.nat, next.nat)) needsRestart.push('nat: NAT rules changed: flows hold bindings made under the old rules; restart');
  if (!same(cur.conntrack, next.conntrack)) needsRestart.push('conntrack: the flow table is sized at start; restart');
  if (!same(cur.arp, next.arp)) needsRestart.push('arp: neighbor tables and ARP queues are sized at start; restart');
  if (!same(cur.reassembly, next.reassembly)) needsRestart.push('reassembly: reassembly buffers are sized at start; restart');
  // The endpoints are opened once by `dataplane run` (run-command.ts), around the dataplane: a reload cannot move them.
  const listen = (m: RouterConfig['metrics']) => (m === undefined ? 'none' : `${m.listen.host}:${m.listen.port}`);
  if (listen(cur.metrics) !== listen(next.metrics)) needsRestart.push(`metrics.listen: changed from ${listen(cur.metrics)} to ${listen(next.metrics)}: the metrics endpoint is opened at start; restart`);
  const text = (v: string | undefined) => (v === undefined || v === '' ? 'none' : v);
  if (cur.control.socket !== next.control.socket) needsRestart.push(`control.socket: changed from ${text(cur.control.socket)} to ${text(next.control.socket)}: the control API listens where it started; restart`);
  if (cur.control.listen !== next.control.listen) needsRestart.push(`control.listen: changed from ${text(cur.control.listen)} to ${text(next.control.listen)}: the control API listens where it started; restart`);
  if ((cur.firewall === undefined) !== (next.firewall === undefined)) needsRestart.push(`firewall: ${cur.firewall === undefined ? 'adding a firewall' : 'removing the firewall'} changes the workers' graph (flow tracking); restart`);
  if ((cur.loadBalancer === undefined) !== (next.loadBalancer === undefined)) needsRestart.push(`loadBalancer: ${cur.loadBalancer === undefined ? 'adding a load balancer' : 'removing the load balancer'} changes the workers' graph; restart`);
  // Routes compare as the FIB sees them (prefix, type, next hops), not by where they were written.
  const routeKey = (c: RouterConfig) => c.routes.map((r) => [r.prefix, r.len, r.type, r.nexthops]);
  return {
    needsRestart,
    routes: !same(routeKey(cur), routeKey(next)),
    neighbors: !same(cur.neighbors, next.neighbors),
    firewall: cur.firewall !== undefined && next.firewall !== undefined && !same(cur.firewall, next.firewall),
    loadBalancer: cur.loadBalancer !== undefined && next.loadBalancer !== undefined && !same(cur.loadBalancer, next.loadBalancer),
    icmp: !same(cur.icmp, next.icmp),
  };
}
