// Explain offline (`dataplane explain --config CFG SPEC`): a router built
// from the config alone, as `replay` builds one, with empty flow and NAT
// tables and a clock that stands still, so the answer is the same on every
// run: what the first packet of a flow gets.
import type { RouterConfig } from '../config/load.js';
import { ManualClock } from '../pipeline/clock.js';
import { compileFib } from '../route/fib.js';
import { explainPacket } from './explain.js';
import type { ExplainResult } from './result.js';

/** Explains `spec` against a fresh router built from `config`. */
export function explainOffline(config: RouterConfig, spec: string): ExplainResult {
  return explainPacket(config, compileFib(config), spec, { clock: new ManualClock(1000) });
}
