// A reloaded config against the running one: which parts differ, which of
// those a running dataplane can take (routes, neighbors, the firewall plan,
// the load balancer's backends, the ICMP rate) and which need a restart
// (ports, NAT rules, the flow table's size, ARP and reassembly sizing: they
// shape each worker's graph and memory). The dataplane applies a reload only
// when nothing needs a restart: all or nothing.
import type { RouterConfig } from '../config/load.js';

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

export function diffConfigs(cur: RouterConfig, next: RouterConfig): ReloadDiff {
  const needsRestart: string[] = [];
  if (!same(cur.ports, next.ports)) needsRestart.push('ports: ports changed (names, addresses, MACs, MTU, I/O): the workers own their queues; restart');
  if (!same(cur.nat, next.nat)) needsRestart.push('nat: NAT rules changed: flows hold bindings made under the old rules; restart');
  if (!same(cur.conntrack, next.conntrack)) needsRestart.push('conntrack: the flow table is sized at start; restart');
  if (!same(cur.arp, next.arp)) needsRestart.push('arp: neighbor tables and ARP queues are sized at start; restart');
  if (!same(cur.reassembly, next.reassembly)) needsRestart.push('reassembly: reassembly buffers are sized at start; restart');
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
