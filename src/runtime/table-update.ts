// One generation of changes as a packet worker receives it (through the
// control channel) and how the worker puts it in force between two batches.
// The main thread builds every table (the FIB in shared memory, the next-hop
// arrays, the firewall plan); the worker only swaps references (to one of the
// two FIB copies, fib-mirror.ts), builds its own firewall classifier from the
// plan, and hands static neighbors to its ARP resolver.
import type { FirewallPlan } from '../firewall/plan.js';
import { FirewallClassifier } from '../firewall/classifier.js';
import type { Router } from '../pipeline/router.js';
import { NexthopTable, type NexthopArrays } from '../route/nexthops.js';
import type { LoopTracer } from '../trace/loop-tracer.js';
import type { GenerationMessage } from './control-channel.js';
import type { FibRef, MirrorViews } from './fib-mirror.js';

export interface LiveTraceRequest {
  /** Which trace session (1, 2, ...): the main thread keeps only the current one's packets. */
  session: number;
  /** The filter (checked by the main thread). */
  filter: string;
  count: number;
  /** The budget every worker draws from (TraceBudget). */
  budget: SharedArrayBuffer;
}

export interface TableUpdate extends GenerationMessage {
  /**
   * The FIB copy to use (fib-mirror.ts) and, when it has grown since the last
   * generation, the next-hop table its leaves point into (append-only, so an
   * unchanged count means an unchanged table).
   */
  routes?: { fib: FibRef; nexthops?: NexthopArrays };
  /** Configured neighbors set (a MAC) or removed (mac undefined). */
  neighbors?: { port: number; address: number; mac: Uint8Array | undefined }[];
  /** A new firewall plan; its hit counters start at zero, worker i's in hits[i] (Firewall.hitsBytes). */
  firewall?: { plan: FirewallPlan; hits: SharedArrayBuffer[] };
  /** The ICMP error rate limit. */
  icmp?: { ratePerSecond: number; burst: number };
  /** Start a live trace (a request) or stop it (null). */
  trace?: LiveTraceRequest | null;
}

/** What a worker changes when it applies an update. */
export interface UpdateTarget {
  /** This worker's index (which of the per-worker buffers is its own). */
  index: number;
  router: Router;
  /** The views over the FIB copies this worker has been sent. */
  fibs: MirrorViews;
  /** Builds this worker's tracer for a live trace request (the worker knows how to post packets). */
  makeTracer(req: LiveTraceRequest): LoopTracer;
  setTracer(tracer: LoopTracer | undefined): void;
}

/** Puts one generation in force; call between batches only. */
export function applyUpdate(u: TableUpdate, t: UpdateTarget): void {
  const r = t.router;
  if (u.routes !== undefined) r.setTables(t.fibs.take(u.routes.fib), u.routes.nexthops === undefined ? r.ctx.nexthops : NexthopTable.fromPlain(u.routes.nexthops));
  if (u.neighbors !== undefined) for (const n of u.neighbors) r.arp.setStatic(n.port, n.address, n.mac);
  if (u.firewall !== undefined) r.firewall?.publish(FirewallClassifier.build(u.firewall.plan), u.firewall.hits[t.index]);
  if (u.icmp !== undefined) r.ctx.icmpLimiter.setRate(u.icmp.ratePerSecond, u.icmp.burst);
  if (u.trace !== undefined) t.setTracer(u.trace === null ? undefined : t.makeTracer(u.trace));
}
