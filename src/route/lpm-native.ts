// The addon's batch lookup (native/src/lpm-lookup.cc) for FibView: the same
// walk as fib-view.ts's lookupBatch, in C, over the view's own Int32Arrays
// (no copy, no second table). Each FibView binds its own function to its
// three tables once, so a call passes only the addresses, the output and n.
// Without the addon (not built, or built before lpmBatchLookup) FibView keeps
// its JavaScript loop.
import { loadNative } from '../io/native.js';

export type NativeBatchLookup = (addrs: Uint32Array, out: Uint32Array | Int32Array, n: number) => void;

type Bind = (root: Int32Array, level2: Int32Array, level3: Int32Array) => NativeBatchLookup;

let bind: Bind | null | undefined;

/** The addon's lpmBatchLookup, or undefined where the addon is absent or lacks it. */
function binder(): Bind | undefined {
  if (bind === undefined) {
    try {
      bind = (loadNative() as unknown as { lpmBatchLookup?: Bind }).lpmBatchLookup ?? null;
    } catch {
      bind = null; // not built: the JavaScript lookup serves
    }
  }
  return bind ?? undefined;
}

/** True when this thread can run the native batch lookup. */
export function nativeLpmAvailable(): boolean {
  return binder() !== undefined;
}

/**
 * out[i] = lookup(addrs[i]) for i < n over these tables, in C; undefined
 * without the addon. The function throws a TypeError unless addrs is a
 * Uint32Array and out an Int32Array or Uint32Array, and a RangeError when n
 * exceeds either length (the JavaScript loop would read undefined there).
 */
export function nativeBatchLookup(root: Int32Array, level2: Int32Array, level3: Int32Array): NativeBatchLookup | undefined {
  return binder()?.(root, level2, level3);
}
