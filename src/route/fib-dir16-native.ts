// The native batch lookup over a dir16 FIB (native/src/lpm-dir16.cc): one
// N-API call per batch instead of the JS loop of Dir16View. The addon gets
// the two tables once per copy (dir16Open, which keeps references to them)
// and each batch call passes only the addresses, the output and a count.
//
// Why: the JS loop over the same tables ran at 0.81x (RouteViews) and 0.78x
// (1M prefixes) DPDK's rte_lpm, and the same walk in C at 1.35x and 1.29x
// (bench/route, `npm run bench -- lpm`); a call costs about 130 ns, so a
// burst of 64 keeps most of C's lead. The figures are in bench/results/lpm.md.
//
// Generation safety is the FIB mirror's, unchanged: a worker opens each copy
// once (MirrorViews) and reads it only while that generation is in force, so
// the native context reads exactly the memory the JS view would have read.
// Only SharedArrayBuffer-backed tables are opened natively (an ArrayBuffer
// could be detached under the addon's pointer); for any other, and without
// the addon (not built, or built before lpm-dir16.cc), undefined: the caller
// keeps the JS loop.
import { loadNative } from '../io/native.js';

type LookupBatchFn = (addrs: Uint32Array, out: Uint32Array | Int32Array, n: number) => void;

interface Dir16Addon {
  dir16Open?(root: Uint16Array, tbl8: Uint16Array): unknown;
  dir16LookupBatch?(ctx: unknown, addrs: Uint32Array, out: Uint32Array | Int32Array, n: number): void;
}

/** The addon's two functions, or undefined when it is not built or predates them. */
function addon(): Required<Dir16Addon> | undefined {
  let mod: Dir16Addon;
  try {
    mod = loadNative() as Dir16Addon;
  } catch {
    return undefined;
  }
  return typeof mod.dir16Open === 'function' && typeof mod.dir16LookupBatch === 'function' ? (mod as Required<Dir16Addon>) : undefined;
}

/** True when native dir16 lookups are available in this thread. */
export function nativeDir16Available(): boolean {
  return addon() !== undefined;
}

/**
 * A batch lookup over these tables in the addon: out[i] = next hop of
 * addrs[i] (NO_ROUTE -1, 0xffffffff in a Uint32Array) for i < n. Undefined
 * when the addon cannot do it (see above).
 */
export function nativeDir16Batch(root: Uint16Array, tbl8: Uint16Array): LookupBatchFn | undefined {
  const a = addon();
  if (a === undefined || !(root.buffer instanceof SharedArrayBuffer) || !(tbl8.buffer instanceof SharedArrayBuffer)) return undefined;
  const ctx = a.dir16Open(root, tbl8);
  const batch = a.dir16LookupBatch;
  return (addrs, out, n) => batch(ctx, addrs, out, n);
}
