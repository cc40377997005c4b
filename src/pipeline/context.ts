// What the forwarding nodes read: the tables the control plane built, the
// ports, the clock and the ICMP rate limit. One context per worker; the FIB
// and next hops are read-only here (the control plane publishes new
// versions). The neighbor state is the ARP module's (src/arp/), handed to the
// nodes that need it.
import type { FibLookup } from '../route/fib-view.js';
import type { NexthopTable } from '../route/nexthops.js';
import type { Clock } from './clock.js';
import type { PortTable } from './ports.js';
import type { TokenBucket } from './token-bucket.js';

export type { FibLookup };

export interface ForwardingContext {
  ports: PortTable;
  fib: FibLookup;
  nexthops: NexthopTable;
  clock: Clock;
  icmpLimiter: TokenBucket;
}

/** Packs an ICMP error request for Batch.icmpError. */
export function icmpErrorCode(type: number, code: number, param = 0): number {
  return ((type << 24) | (code << 16) | (param & 0xffff)) >>> 0;
}
