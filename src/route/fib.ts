// The FIB: a config compiled into an LPM trie of next-hop indexes plus the
// next-hop table the indexes point into.
import { buildFib, type FibConfig } from './fib-build.js';
import type { FibLookup } from './fib-view.js';
import { NexthopTable } from './nexthops.js';
import { Lpm } from './lpm.js';

export interface CompiledFib {
  fib: FibLookup;
  lpm: Lpm;
  nexthops: NexthopTable;
}

export function compileFib(config: FibConfig): CompiledFib {
  const lpm = new Lpm();
  const { nexthops } = buildFib(config, lpm);
  return { fib: lpm, lpm, nexthops };
}
