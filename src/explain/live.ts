// Explain against a running dataplane (Dataplane.explain, `ctl explain`):
// a router on the main thread over the FIB in force and over copies of the
// shared tables (live-tables.ts), on the system clock the workers use, so an
// existing flow, binding or pinned backend is found and ages as it does
// there. Counters, rule hits and the ICMP rate limit are the explain
// router's own: nothing a worker or a scrape reads moves.
//
// Neighbors: the configured ones and those the workers learned by ARP and
// reported to the main thread (Dataplane.explain passes them as the
// config's neighbors), so a next hop the workers know is not shown as
// waiting for ARP. What it cannot see: which worker (so which slice of NAT
// ports) the packet would land on: a new binding shows worker 0's next
// port, the address and range are what a worker would use.
import type { RouterConfig } from '../config/load.js';
import type { LbBuffers } from '../lb/lb-tables.js';
import type { NatBuffers } from '../nat/nat-tables.js';
import { systemClock } from '../pipeline/clock.js';
import type { CompiledFib } from '../route/fib.js';
import { explainPacket } from './explain.js';
import { copyLbBuffers, copyNatBuffers } from './live-tables.js';
import type { ExplainResult } from './result.js';

export interface LiveTables {
  config: RouterConfig;
  /** The FIB and next hops in force. */
  compiled: CompiledFib;
  /** The shared flow table and NAT ports, when something is tracked. */
  nat: NatBuffers | undefined;
  /** The load balancer's shared tables, when there are VIPs. */
  lb: LbBuffers | undefined;
}

/** Explains `spec` against copies of a running dataplane's tables; throws ExplainSpecError for a bad spec. */
export function explainLive(live: LiveTables, spec: string): ExplainResult {
  return explainPacket(live.config, live.compiled, spec, {
    clock: systemClock,
    nat: live.nat && copyNatBuffers(live.nat),
    lb: live.lb && copyLbBuffers(live.lb),
  });
}
