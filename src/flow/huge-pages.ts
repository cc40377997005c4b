// 2 MiB pages for the flow table's SharedArrayBuffers. The index and the
// records are read at random, a line or two per 4 KiB page: with 4 KiB pages
// nearly every one of those reads also misses the TLB (the index of a 2^20
// table alone spans 8192 pages, several times what the TLB holds), and in a
// VM each TLB miss is a two-level page walk. Transparent huge pages in
// "madvise" mode (Debian's default) give 2 MiB pages only to memory advised
// so, which JavaScript cannot do: the addon's adviseHugePages does it
// (native/src/huge-pages.cc), on a buffer before its first touch, since
// pages already faulted in stay small until khugepaged gets to them.
// Measured on the NAT bench's fill (first packets of 1M flows through the
// whole pipeline, bench/nat/nat.ts's, both versions in one process in
// alternating chunks, CPU time, 3 x 64 chunk pairs): 0.93x the ns per new
// flow of 4 KiB pages (Xeon, Sapphire Rapids, 2-core VM).
// Without the addon (not built) or THP (kernel "never") it does nothing: the
// table works the same with small pages.
import { loadNative } from '../io/native.js';

/** Buffers smaller than this are left alone: they span at most one 2 MiB page. */
const MIN_BYTES = 4 << 20;

/** Advises 2 MiB pages over a new buffer's memory; the bytes advised (0: too small, no addon, or refused). */
export function adviseHugePages(buffer: SharedArrayBuffer): number {
  if (buffer.byteLength < MIN_BYTES) return 0;
  let advise: ((view: Int32Array) => number) | undefined;
  try {
    advise = loadNative().adviseHugePages;
  } catch {
    return 0; // the addon is not built: small pages
  }
  if (advise === undefined) return 0;
  const r = advise(new Int32Array(buffer, 0, buffer.byteLength >> 2));
  return r > 0 ? r : 0;
}

/** A transparent huge page (x86-64). */
export const HUGE_PAGE_BYTES = 2 << 20;

/** Bytes from the start of `buffer` to its first address that is a multiple of `modulus` (a power of two), or 0 without the addon. */
function offsetToBoundary(buffer: ArrayBufferLike, modulus: number): number {
  let mod: ((view: Uint8Array, modulus: number) => number) | undefined;
  try {
    mod = loadNative().addressMod;
  } catch {
    return 0;
  }
  if (mod === undefined) return 0;
  return (modulus - mod(new Uint8Array(buffer, 0, 1), modulus)) & (modulus - 1);
}

/**
 * Bytes from the start of `buffer` to its first 2 MiB boundary (0 without
 * the addon). A buffer's memory starts 16 bytes past a 4 KiB page (glibc's
 * chunk header), so only the 2 MiB pages wholly inside it can be huge: a
 * 32 MiB table gets 15, its first and last 2 MiB stay in 4 KiB pages. A
 * table placed at this offset in a buffer 2 MiB longer gets all 16.
 */
export function hugePageOffset(buffer: ArrayBufferLike): number {
  return offsetToBoundary(buffer, HUGE_PAGE_BYTES);
}

/**
 * hugeSharedBuffer's type: an allocator that also says where a buffer it
 * made has its first 2 MiB boundary. src/route/fib-dir16.ts places its
 * tables there when its allocator can say so (route cannot ask the addon
 * itself: src/io, which loads it, imports the pipeline, which imports route).
 */
export type HugePageAllocator = ((byteLength: number) => SharedArrayBuffer) & { hugePageOffset: (buffer: ArrayBufferLike) => number };

/**
 * A new SharedArrayBuffer of `byteLength` bytes with 2 MiB pages advised:
 * the allocator for tables read at random by every worker (FibMirror's FIB
 * copies; the lpm bench's snapshot, to measure what workers read). A dir16
 * root is 32 MiB, 8192 small pages.
 */
export const hugeSharedBuffer: HugePageAllocator = Object.assign(
  (byteLength: number): SharedArrayBuffer => {
    const b = new SharedArrayBuffer(byteLength);
    adviseHugePages(b);
    return b;
  },
  { hugePageOffset },
);

/** A cache line. */
export const LINE_BYTES = 64;

/**
 * Bytes from the start of `buffer` to its first 64-byte line boundary
 * (0..63), so that 64-byte buckets and records placed from there each sit
 * in one cache line: a SharedArrayBuffer's memory starts 16 bytes past a
 * line (glibc's chunk header), and a bucket across two lines is two DRAM
 * misses. 0 without the addon (the table works, its lines straddle).
 */
export function lineOffset(buffer: SharedArrayBuffer): number {
  return offsetToBoundary(buffer, LINE_BYTES);
}
