// The FIB: a config compiled into an LPM trie of next-hop indexes plus the
// next-hop table the indexes point into.
import { buildFib, type FibConfig } from './fib-build.js';
import type { FibLookup } from './fib-view.js';
import { NexthopTable } from './nexthops.js';
import { Lpm, type LpmLayout } from './lpm.js';

export interface CompiledFib {
  fib: FibLookup;
  lpm: Lpm;
  nexthops: NexthopTable;
}

/**
 * From this many routes on, the FIB uses the 24-8 layout (one load for a /24
 * or shorter, a 64 MiB root; lpm.ts says why). Smaller tables keep the 4 MiB
 * 20-4-8 root, which caches well at that size.
 */
export const DIR24_MIN_ROUTES = 1 << 16;

/** The LPM layout the FIB uses for a table of `routes` routes. */
export function fibLayout(routes: number): LpmLayout {
  return routes >= DIR24_MIN_ROUTES ? '24-8' : '20-4-8';
}

export function compileFib(config: FibConfig): CompiledFib {
  const expectedPrefixes = config.routes.length + 3 * config.ports.length;
  const lpm = new Lpm({ expectedPrefixes, layout: fibLayout(config.routes.length) });
  const { nexthops } = buildFib(config, lpm);
  return { fib: lpm, lpm, nexthops };
}
