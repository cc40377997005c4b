// The native batch lookup over a dir16 FIB (native/src/lpm-dir16.cc): one
// N-API call per batch instead of the JS loop of Dir16View. The addon gets
// the two tables once per copy (dir16Open, which keeps references to them)
// and each batch call passes only the addresses, the output and a count.
//
// Why it was tried: on a Xeon the JS loop over the same tables ran at 0.81x
// (RouteViews) and 0.78x (1M prefixes) DPDK's rte_lpm, and the same walk in C
// (bench/route/dpdk-lpm-rounds.c) at 1.35x and 1.29x; a call costs about
// 125 ns (measured: 121-127 ns with n = 0), so a burst of 64 was expected to
// keep most of C's lead.
//
// What it measured (`npm run bench -- lpm`, the native rounds alternating
// with the JS loop's over the same SharedArrayBuffers, bursts of 64, AMD EPYC
// VM, load 7-17 from other jobs): 0.69x the JS loop on RouteViews (median
// 41.4 vs 59.8 M/s) and 0.84x on 1M (64.3 vs 77.0); an earlier two-pass C loop
// 0.79x and 0.76x. With 64 cached lookups a call takes 230 ns, so the call is
// 125 ns + 1.7 ns a lookup; the rest is the memory walk, no faster in C than
// in the JS 32-lane loop on this machine. In the pipeline
// (`npm run bench -- pipeline`, fast path over a dir16 FIB, interleaved
// chunks) native and JS lookups were equal (1.00x). So the workers keep the JS
// loop: MirrorViews opens copies natively only when asked ({ native: true }),
// and this stays for callers who measure it faster on their CPU.
//
// Why the same C loop runs about 2x slower here than in the peer's process
// (8.8 vs 16.4 ns median in one `npm run bench -- lpm`, interleaved rounds):
// not the process, its pages or the TLB, but the call per burst. Measured in
// one Node process (AMD EPYC, load 13, 20 alternating CPU-time rounds over
// RouteViews, median ns per lookup): one call over all 2^20 addresses 7.19,
// bursts of 1024 7.64, of 256 8.19, of 64 12.76, of 16 26.40; a standalone C
// process over the same tables in the same minute 5.6-9.7. So each call costs
// about 300 ns, of which a call on cached data is 80-127 ns: the rest is a
// memory latency that is not overlapped, because the call's own instructions
// fill the out-of-order window while the last burst's misses are still out.
// rte_lpm_lookup_bulk is inline in the peer's loop and pays none of it.
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
