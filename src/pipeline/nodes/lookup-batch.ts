// The FIB read for a whole vector at once: FibView and Lpm have lookupBatch
// (level by level, several addresses in flight, so their cache misses
// overlap); any other FibLookup (the reference trie in tests) is asked one
// address at a time. Kept apart so that ip4-lookup and ip4-fast share it.
import type { FibLookup } from '../context.js';

type BatchLookup = (addrs: Uint32Array, out: Int32Array, n: number) => void;

/** out[i] = fib.lookup(addrs[i]) for i < n (NO_ROUTE is -1). */
export function lookupInto(fib: FibLookup, addrs: Uint32Array, out: Int32Array, n: number): void {
  const batched = (fib as { lookupBatch?: BatchLookup }).lookupBatch;
  if (typeof batched === 'function') {
    // FibView's lookupBatch is a bound closure (fib-view.ts) and Lpm's a method: call it on fib either way.
    batched.call(fib, addrs, out, n);
    return;
  }
  for (let i = 0; i < n; i++) out[i] = fib.lookup(addrs[i]);
}
