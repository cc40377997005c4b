// The state NAT shares between packet workers: the flow table (flows, NAT
// bindings, filter permissions and fragment entries, all keyed both ways) and
// one port allocator per external address and protocol of every rule. Made
// once on the main thread (`createNatTables`), posted to each worker and
// attached there (`attachNatTables`); replay and tests make and attach their
// own with one worker.
//
// Pools: masquerade rule i translates to its port's address; SNAT rule j to
// each address of its pool. Each (rule, address) has three allocators over
// the rule's port range, for TCP, UDP and ICMP query ids (a port in use for
// TCP is free for UDP, as in Linux).
import { FlowState, timeoutTable } from '../conntrack/timeouts.js';
import { FlowTable, type FlowTableBuffers, type WorkerFlowStats } from '../flow/flow-table.js';
import { PortAllocator } from '../flow/port-allocator.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import type { NatConfig, PortRange } from './nat-config.js';

/** Protocols with their own port space, in pool order. */
export const POOL_PROTOCOLS = [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP] as const;

/** Pool slot of a protocol (TCP 0, UDP 1, ICMP 2), or -1 for a protocol NAT does not map. */
export function protoSlot(proto: number): number {
  return proto === IPPROTO_TCP ? 0 : proto === IPPROTO_UDP ? 1 : proto === IPPROTO_ICMP ? 2 : -1;
}

/** One external address of one rule. */
export interface NatPool {
  /** "masquerade[0]" or "snat[1]": the config rule. */
  rule: string;
  address: number;
  ports: PortRange;
}

/** The rules' external addresses in pool order: masquerade rules, then each SNAT rule's addresses. */
export function natPools(nat: NatConfig, portAddress: ArrayLike<number>): NatPool[] {
  const pools: NatPool[] = [];
  nat.masquerade.forEach((m, i) => pools.push({ rule: `masquerade[${i}]`, address: portAddress[m.outPort] | 0, ports: m.ports }));
  nat.snat.forEach((r, i) => r.addresses.forEach((a) => pools.push({ rule: `snat[${i}]`, address: a | 0, ports: r.ports })));
  return pools;
}

export interface NatBuffers {
  flows: FlowTableBuffers;
  /** Port allocators: pool p, protocol slot k at p * 3 + k. */
  ports: SharedArrayBuffer[];
}

export interface NatTables {
  flows: FlowTable;
  pools: NatPool[];
  /** Allocators, as in NatBuffers.ports. */
  ports: PortAllocator[];
  buffers: NatBuffers;
}

export interface NatTableOptions {
  capacity: number;
  workers: number;
  seed?: number;
  /** The longest session affinity of the load balancer's VIPs (ms): how long an idle affinity entry is kept. */
  affinityMs?: number;
}

/** Creates the shared NAT state for `workers` workers. */
export function createNatTables(nat: NatConfig, portAddress: ArrayLike<number>, opts: NatTableOptions): NatBuffers {
  const timeouts = timeoutTable(nat.profile);
  if (opts.affinityMs !== undefined) timeouts[FlowState.LB_AFFINITY] = Math.max(timeouts[FlowState.LB_AFFINITY], opts.affinityMs);
  const flows = FlowTable.create({ capacity: opts.capacity, workers: opts.workers, timeoutsMs: Array.from(timeouts, (t) => Math.min(t, 2 ** 31 - 1)), seed: opts.seed });
  const ports: SharedArrayBuffer[] = [];
  for (const pool of natPools(nat, portAddress)) {
    for (let k = 0; k < POOL_PROTOCOLS.length; k++) ports.push(PortAllocator.create({ lo: pool.ports.lo, hi: pool.ports.hi, workers: opts.workers, seed: opts.seed }));
  }
  return { flows, ports };
}

/** Maps the shared NAT state in worker `worker` (-1: a main-thread view for statistics). */
export function attachNatTables(buffers: NatBuffers, nat: NatConfig, portAddress: ArrayLike<number>, worker: number): NatTables {
  return {
    flows: FlowTable.attach(buffers.flows, worker),
    pools: natPools(nat, portAddress),
    ports: buffers.ports.map((b) => PortAllocator.attach(b, worker)),
    buffers,
  };
}

export interface NatOccupancy {
  /** Flows, bindings, permissions and fragment entries live, and the capacity they share. */
  live: number;
  capacity: number;
  /** Entries created and ended since the table was made (all workers). */
  inserted: number;
  expired: number;
  evicted: number;
  tableFull: number;
  /** NAT ports in use per external address (all protocols). */
  portsInUse: { rule: string; address: number; inUse: number; size: number }[];
}

/** What the status line shows: read from any thread. */
export function natOccupancy(buffers: NatBuffers, nat: NatConfig, portAddress: ArrayLike<number>): NatOccupancy {
  const stats: WorkerFlowStats[] = FlowTable.stats(buffers.flows);
  const sum = (f: (s: WorkerFlowStats) => number) => stats.reduce((n, s) => n + f(s), 0);
  const pools = natPools(nat, portAddress);
  return {
    live: sum((s) => s.live),
    capacity: FlowTable.attach(buffers.flows, -1).capacity,
    inserted: sum((s) => s.inserted),
    expired: sum((s) => s.expired),
    evicted: sum((s) => s.evicted),
    tableFull: sum((s) => s.tableFull + s.indexFull),
    portsInUse: pools.map((p, i) => {
      let inUse = 0;
      for (let k = 0; k < POOL_PROTOCOLS.length; k++) inUse += PortAllocator.stats(buffers.ports[i * POOL_PROTOCOLS.length + k]).reduce((n, w) => n + w.inUse, 0);
      return { rule: p.rule, address: p.address >>> 0, inUse, size: (p.ports.hi - p.ports.lo + 1) * POOL_PROTOCOLS.length };
    }),
  };
}

