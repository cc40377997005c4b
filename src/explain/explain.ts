// Explain, end to end: parse the spec, build the frame, build a Router of
// its own (the same class and graph a worker runs) over the tables it is
// given, run the packet once, and read the verdicts. Offline (offline.ts)
// the tables are fresh; live (live.ts) they are copies of the running
// dataplane's. Either way nothing but this router's own memory is written,
// and its counters are thrown away with it.
import type { RouterConfig } from '../config/load.js';
import type { LbBuffers } from '../lb/lb-tables.js';
import type { NatBuffers } from '../nat/nat-tables.js';
import type { Clock } from '../pipeline/clock.js';
import { Router } from '../pipeline/router.js';
import type { CompiledFib } from '../route/fib.js';
import { NexthopTable } from '../route/nexthops.js';
import { interpretExplain } from './interpret.js';
import { buildExplainFrame } from './packet.js';
import type { ExplainResult } from './result.js';
import { explainBatch, runExplainPacket } from './run.js';
import { parseExplainSpec, specText } from './spec.js';

export interface ExplainTables {
  clock: Clock;
  /** The flow table and NAT ports to see (a copy: the run writes into it); absent, fresh ones. */
  nat?: NatBuffers;
  /** The load balancer's tables (a copy); absent, built from the config. */
  lb?: LbBuffers;
}

/** Explains one packet (`spec`, see spec.ts) against a config and its FIB; throws ExplainSpecError for a bad spec. */
export function explainPacket(config: RouterConfig, compiled: CompiledFib, spec: string, tables: ExplainTables): ExplainResult {
  const parsed = parseExplainSpec(spec, config.ports.map((p) => p.name));
  const frame = buildExplainFrame(parsed, config);
  const batch = explainBatch(frame.length);
  // lb-forward interns next hops (a dsr-l2 backend's adjacency): into a copy, never the caller's table.
  const nexthops = NexthopTable.fromPlain(compiled.nexthops.toPlain());
  const router = new Router(config, compiled.fib, nexthops, {
    clock: tables.clock,
    batchCapacity: batch.capacity,
    maxFrame: batch.maxFrame,
    nat: tables.nat && { buffers: tables.nat, worker: 0 },
    lb: tables.lb && { buffers: tables.lb, worker: 0 },
  });
  const run = runExplainPacket(router, batch, frame, parsed.inPort, tables.clock.nowMs());
  return interpretExplain(run, router, config, { ...compiled, nexthops }, parsed, specText(parsed));
}
