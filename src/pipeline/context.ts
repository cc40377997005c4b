// What the forwarding nodes read: the tables the control plane built, the
// neighbor state the ARP nodes keep, and the clock. One context per worker;
// the FIB and next hops are read-only here (the control plane publishes new
// versions), the neighbor table and pending queue are the worker's own.
import type { NeighborTable } from '../route/neighbor.js';
import type { NexthopTable } from '../route/nexthops.js';
import type { Clock } from './clock.js';
import type { PendingQueue } from './pending.js';
import type { PortTable } from './ports.js';
import type { TokenBucket } from './token-bucket.js';
import type { NeighborSync } from './neighbor-sync.js';

/** Longest-prefix match as the data plane uses it: a next-hop index, or NO_ROUTE. */
export interface FibLookup {
  lookup(addr: number): number;
}

export const NO_ROUTE = -1;

export interface ForwardingContext {
  ports: PortTable;
  fib: FibLookup;
  nexthops: NexthopTable;
  neighbors: NeighborTable;
  pending: PendingQueue;
  clock: Clock;
  icmpLimiter: TokenBucket;
  arp: { reachableMs: number; resolveTimeoutMs: number };
  /** Shares learned neighbors with the other workers (absent with one worker, replay and tests). */
  neighborSync?: NeighborSync;
}

/** Packs an ICMP error request for Batch.icmpError. */
export function icmpErrorCode(type: number, code: number, param = 0): number {
  return ((type << 24) | (code << 16) | (param & 0xffff)) >>> 0;
}
