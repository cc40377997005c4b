// The published FIB in DIR-24-8 form with 16-bit entries ("dir16"), derived
// from the control plane's 20-4-8 tables (lpm.ts): what packet workers read
// when the table fits, because it answers a /24-or-shorter lookup in one
// load (see lpm.ts's header for the measurements).
//
//   root: Uint16Array(2^24), indexed by the address's top 24 bits
//     e <= 0x7fff   leaf: nextHop + 1 (0: no route)
//     e >= 0x8000   group: (e & 0x7fff) is a 256-entry tbl8 group
//   tbl8: Uint16Array, 256 entries per group, leaves only (nextHop + 1)
//
// Both tables sit in one buffer, each from a 2 MiB boundary, so that all
// their pages can be huge (hugeAlignedTables; FibBuffers records the
// offsets).
//
// So a table fits when every next hop is <= DIR16_MAX_NEXT_HOP and it needs
// at most DIR16_MAX_GROUPS groups (one per /24 holding a longer prefix:
// 4,388 for RouteViews, 10,568 for the 1M table). The prefix lengths that
// make updates incremental are not here: the 20-4-8 tables keep them in
// their leaves, and a change is applied by deriving again the 16 root
// entries under each 20-4-8 root entry the change touched (`deriveBlock`).
import { FibView, type FibBuffers, type FibLookup } from './fib-view.js';

/** Largest next-hop index a dir16 table can carry (15 bits, one value kept for "no route"). */
export const DIR16_MAX_NEXT_HOP = 0x7ffe;
/** Most tbl8 groups a dir16 table can address (15 bits). */
export const DIR16_MAX_GROUPS = 0x8000;
const ROOT_ENTRIES = 1 << 24;
const GROUP = 256;

/** The 20-4-8 tables a dir16 copy is derived from (FibView's fields). */
export interface Fib2048Tables {
  readonly root: Int32Array;
  readonly level2: Int32Array;
  readonly level3: Int32Array;
}

/** A transparent huge page (x86-64): the tables below start on its boundaries where the allocator says where they are. */
const HUGE_PAGE_BYTES = 2 << 20;

/**
 * What dir16 tables are allocated with: a buffer of `byteLength` bytes, and,
 * when the allocator can say, where a buffer it made has its first 2 MiB
 * boundary (`hugePageOffset`: src/flow/huge-pages.ts's hugeSharedBuffer,
 * what FibMirror publishes the workers' copies with). Without it the tables
 * start at the buffer's start: what they hold is the same, only their pages
 * may be small. (route does not load the addon itself: src/io, which loads
 * it, imports the pipeline, which imports route.)
 */
export type TableAllocator = ((byteLength: number) => ArrayBufferLike) & { hugePageOffset?: (buffer: ArrayBufferLike) => number };

/**
 * The root and `groupEntries` of tbl8 in ONE allocate()'d buffer, each
 * starting on a 2 MiB boundary (the root on the buffer's first one; where
 * the allocator says where that is: TableAllocator), so that every 2 MiB
 * page of both can be huge. Two things kept them in 4 KiB
 * pages before: a buffer's memory starts 16 bytes past a 4 KiB page, so a
 * 32 MiB root in its own buffer got 15 huge pages and its first and last
 * 2 MiB (6% of its entries) stayed small; and a tbl8 under glibc's mmap
 * threshold (which rises to 32 MiB once a large buffer is freed, as the
 * derive's scratch tables are) comes from the heap, already touched, so it
 * got none (the lpm bench's process: 30 MiB AnonHugePages for a 37 MiB
 * table). The buffer is up to 4 MiB longer than the tables; the bytes
 * before the root and after the groups are never touched, so they cost
 * address space, except that the groups' last huge page is a whole 2 MiB.
 * Measured with one-off scripts shaped as bench/route/dir16-loops.ts (the
 * current loop, rounds alternating in one process, thread CPU time, AMD
 * EPYC family 26, 2 vCPUs, median per-round speedup):
 * - The bench's snapshot tables copied to 2 MiB-aligned views of one
 *   mmap'd buffer, 1M table, 21 rounds, load 4.6-5.9: both aligned 1.11x
 *   (taskset -c 1) and 1.18x (-c 0); root alone 1.07x, 1.04x; tbl8 alone
 *   1.03x, 1.03x.
 * - This allocation against the old one (each table its own
 *   hugeSharedBuffer, as published before; bench/route/dir16-pages.ts),
 *   taskset -c 0 / -c 1, 31-41 rounds, three runs, load 6.5-8.0: 1M table
 *   1.12x, 1.09x, 1.05x (vCPU 0), 1.07x, 1.18x, 1.07x (vCPU 1); RouteViews
 *   (two runs) 1.01x and 1.06x (vCPU 0), 0.995x and 1.05x (vCPU 1) (its
 *   2 MiB of groups gain little; quartiles 0.91-1.14).
 * `npm run bench -- lpm` run after run (this, then the commit before) could
 * not resolve it: rte_lpm itself moved 35% between the runs. Against the C
 * walk of the same layout in the peer's process (all huge pages), ours/C on
 * the 1M table was 1.40x, 1.40x (vCPU 0, 1) with this and 1.61x, 1.71x
 * without; RouteViews 1.40x, 1.49x and 1.39x, 1.49x.
 */
function hugeAlignedTables(allocate: TableAllocator, groupEntries: number): [Uint16Array, Uint16Array] {
  const rootBytes = ROOT_ENTRIES * 2;
  const groupBytes = groupEntries * 2;
  const buffer = allocate(HUGE_PAGE_BYTES + rootBytes + Math.ceil(groupBytes / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES);
  const at = allocate.hugePageOffset?.(buffer) ?? 0;
  return [new Uint16Array(buffer, at, ROOT_ENTRIES), new Uint16Array(buffer, at + rootBytes, groupEntries)];
}

/** Grown tbl8 groups (Dir16Tables.allocGroup): on a 2 MiB boundary of their own buffer when 4 MiB or more. */
function hugeAlignedGroups(allocate: TableAllocator, entries: number): Uint16Array {
  const bytes = entries * 2;
  if (bytes < 4 << 20) return new Uint16Array(allocate(bytes));
  const buffer = allocate(bytes + HUGE_PAGE_BYTES);
  return new Uint16Array(buffer, allocate.hugePageOffset?.(buffer) ?? 0, entries);
}

/** The root and tbl8 views of a dir16 FibBuffers (at their offsets, when it has them). */
export function dir16Views(b: FibBuffers): { root: Uint16Array; tbl8: Uint16Array } {
  const root = new Uint16Array(b.root, b.rootOffset ?? 0, ROOT_ENTRIES);
  const tbl8 = b.level2Entries === undefined ? new Uint16Array(b.level2) : new Uint16Array(b.level2, b.level2Offset ?? 0, b.level2Entries);
  return { root, tbl8 };
}

/** A dir16 FibBuffers over two views (their offsets and length recorded when they are not whole buffers). */
export function dir16Buffers(generation: number, root: Uint16Array, tbl8: Uint16Array, level3: ArrayBufferLike): FibBuffers {
  const b: FibBuffers = { generation, layout: 'dir16', root: root.buffer, level2: tbl8.buffer, level3 };
  if (root.byteOffset !== 0 || root.byteLength !== root.buffer.byteLength) b.rootOffset = root.byteOffset;
  if (tbl8.byteOffset !== 0 || tbl8.byteLength !== tbl8.buffer.byteLength) {
    b.level2Offset = tbl8.byteOffset;
    b.level2Entries = tbl8.length;
  }
  return b;
}

type LookupFn = (addr: number) => number;
type LookupBatchFn = (addrs: Uint32Array, out: Uint32Array | Int32Array, n: number) => void;

/** Addresses in flight per step of the dir16 batch loop past the unrolled blocks (see Dir16View). */
export const DIR16_LANES = 32;
/** Addresses per unrolled block of the batch loop, and how many of them a batch can take before the loop. */
export const DIR16_BLOCK = 64;
export const DIR16_UNROLLED = 256;

function lookupsSource(lanes: number, block: number, unrolled: number): string {
  const each = (f: (k: number) => string) => Array.from({ length: lanes }, (_, k) => f(k)).join('\n');
  // Block s..s+block-1 with constant indices: all its root loads first.
  const lines = (s: number, f: (k: number) => string) => Array.from({ length: block }, (_, k) => f(s + k)).join('\n');
  // Two passes through `out`: every root entry first, then each entry is
  // finished in place (the rare group entry reads its address again). No
  // value is held across the passes, so nothing spills to the stack.
  const blockAt = (s: number) =>
    [
      lines(s, (k) => `      out[${k}] = root[addrs[${k}] >>> 8];`),
      lines(s, (k) => `      { const e = out[${k}]; out[${k}] = (e > 0x7fff ? tbl8[((e & 0x7fff) << 8) | (addrs[${k}] & 255)] : e) - 1; }`),
      `      i = ${s + block};`,
    ].join('\n');
  let blocks = '';
  for (let s = unrolled - block; s >= 0; s -= block) blocks = `    if (n >= ${s + block}) {\n${blockAt(s)}\n${blocks}    }\n`;
  return `return {
  lookup(addr) {
    const e = root[addr >>> 8];
    return (e > 0x7fff ? tbl8[((e & 0x7fff) << 8) | (addr & 255)] : e) - 1;
  },
  lookupBatch(addrs, out, n) {
    let i = 0;
${blocks}
    for (; i + ${lanes - 1} < n; i += ${lanes}) {
${each((k) => `      const a${k} = addrs[i + ${k}];`)}
${each((k) => `      let e${k} = root[a${k} >>> 8];`)}
${each((k) => `      if (e${k} > 0x7fff) e${k} = tbl8[((e${k} & 0x7fff) << 8) | (a${k} & 255)];`)}
${each((k) => `      out[i + ${k}] = e${k} - 1;`)}
    }
    for (; i < n; i++) {
      const a = addrs[i];
      const e = root[a >>> 8];
      out[i] = (e > 0x7fff ? tbl8[((e & 0x7fff) << 8) | (a & 255)] : e) - 1;
    }
  },
};`;
}

const LOOKUPS_SOURCE = lookupsSource(DIR16_LANES, DIR16_BLOCK, DIR16_UNROLLED);
let compiled = 0;

/** The same loops as a shared closure, where code generation from strings is disabled. */
function plainLookups(root: Uint16Array, tbl8: Uint16Array): { lookup: LookupFn; lookupBatch: LookupBatchFn } {
  const lookup = (addr: number): number => {
    const e = root[addr >>> 8];
    return (e > 0x7fff ? tbl8[((e & 0x7fff) << 8) | (addr & 255)] : e) - 1;
  };
  return {
    lookup,
    lookupBatch(addrs, out, n) {
      for (let i = 0; i < n; i++) out[i] = lookup(addrs[i]);
    },
  };
}

/**
 * Lookups over one dir16 copy. As FibView does, each view compiles its own
 * copy of the loops (a fresh function literal), so V8 treats the two tables
 * as constants. 32 lanes: all their root loads issue before the first
 * `e > 0x7fff` branch (taken by 1.5-2% of lookups, so it rarely mispredicts);
 * measured on the Xeon of lpm.ts's header, median CPU-time rounds over the
 * RouteViews addresses: 8 lanes 46-67 M/s, 16 lanes 46-48, 32 lanes 62-85,
 * 64 lanes 64-83 (noisy shared machine; 32 was never behind).
 *
 * The first DIR16_UNROLLED addresses of a batch go through unrolled blocks of
 * DIR16_BLOCK with constant indices (addrs[5], out[5]): no index arithmetic,
 * no overflow check, a bounds check against a constant, so a lookup is fewer
 * instructions and more of them fit in the core's out-of-order window, which
 * is what overlaps their cache misses. A miss-bound loop like this one is
 * limited by how many lookups are in flight, not by the instructions'
 * own cost. Measured on the AMD EPYC (family 26, 2 vCPUs, load 13), one
 * process, CPU-time rounds alternating, 30 rounds, median ns per lookup:
 * bursts of 64 on RouteViews 8.74 vs 11.26 for the 32-lane loop (1.29x), on
 * 1M prefixes 12.69 vs 14.21 (1.12x); bursts of 256 (the pipeline's vector)
 * on RouteViews 10.17 vs 10.65 (1.05x).
 *
 * A block makes two passes through `out`: the 64 root entries, then each one
 * finished in place. The block used to keep its 64 addresses and 64 entries
 * in variables, which the register allocator spilled to the stack (a store
 * and a reload per address and per entry, besides the stores to `out`).
 * bench/route/dir16-loops.ts, same process, rounds alternating, timed by
 * CLOCK_THREAD_CPUTIME_ID, AMD EPYC family 26, load 11-16, median per-round
 * speedup over the spilling block, five runs each: RouteViews 1.02-1.19x,
 * 1M prefixes 1.10-1.19x. (An earlier A/B of this shape read 1.03x, timed
 * by /proc/thread-self/schedstat, which moves in 4 ms steps: a whole round.)
 * So `out` must not share memory with `addrs` (a group entry reads its
 * address again after the first pass has written `out`).
 */
export class Dir16View implements FibLookup {
  readonly lookup: LookupFn;
  readonly lookupBatch: LookupBatchFn;
  /** lookupBatch is the addon's (runtime/fib-dir16-native.ts), not the JS loop. */
  readonly native: boolean;

  constructor(
    readonly root: Uint16Array,
    readonly tbl8: Uint16Array,
    readonly generation = 0,
    /** A batch lookup over the same tables to use instead of the JS loop (nativeDir16Batch). */
    nativeBatch?: LookupBatchFn,
  ) {
    if (root.length !== ROOT_ENTRIES) throw new RangeError(`dir16 FIB root must have ${ROOT_ENTRIES} entries, got ${root.length}`);
    let fns: { lookup: LookupFn; lookupBatch: LookupBatchFn };
    try {
      // A unique comment makes each copy its own function literal (V8 caches compilations by source).
      fns = (new Function('root', 'tbl8', `${LOOKUPS_SOURCE}\n// Dir16View ${++compiled}`) as (r: Uint16Array, t: Uint16Array) => typeof fns)(root, tbl8);
      fns.lookup(0);
    } catch {
      fns = plainLookups(root, tbl8);
    }
    this.lookup = fns.lookup;
    this.lookupBatch = nativeBatch ?? fns.lookupBatch;
    this.native = nativeBatch !== undefined;
  }
}

/** Why a 20-4-8 table cannot be published as dir16 (lpm.ts falls back to 20-4-8 then). */
export class Dir16Overflow extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Dir16Overflow';
  }
}

/**
 * One dir16 copy and its group allocator: derives entries from 20-4-8
 * tables, wholly (`deriveAll`) or under one 20-4-8 root entry (`deriveBlock`).
 * Throws Dir16Overflow when the table does not fit; the copy is then unusable.
 */
export class Dir16Tables {
  readonly root: Uint16Array;
  tbl8: Uint16Array;
  private groupTop = 0;
  private readonly freeGroups: number[] = [];

  constructor(
    private readonly allocate: TableAllocator,
    groups = 64,
  ) {
    [this.root, this.tbl8] = hugeAlignedTables(allocate, Math.max(1, Math.min(groups, DIR16_MAX_GROUPS)) * GROUP);
  }

  /** Groups in use. */
  get groups(): number {
    return this.groupTop - this.freeGroups.length;
  }

  /** Bytes a lookup can reach: the root and the groups in use. */
  get usedBytes(): number {
    return this.root.byteLength + this.groups * GROUP * 2;
  }

  /**
   * Derives every entry again (the copy may be new or wholly stale): all
   * groups are freed first, and runs of equal 20-4-8 root leaves become one
   * fill, so a small table costs about a 32 MiB memset.
   */
  deriveAll(src: Fib2048Tables): void {
    this.groupTop = 0;
    this.freeGroups.length = 0;
    const top = src.root;
    for (let r = 0; r < top.length; ) {
      const e = top[r];
      if (e >= 0) {
        const start = r;
        while (r < top.length && top[r] === e) r++;
        this.root.fill(leaf(e), start << 4, r << 4);
      } else {
        this.deriveBlock(src, r++, false);
      }
    }
  }

  /**
   * Derives the 16 root entries (one /20) under 20-4-8 root entry r. `reuse`:
   * the entries there now are this copy's (their groups are reused or freed),
   * not stale words that deriveAll is writing over.
   */
  deriveBlock(src: Fib2048Tables, r: number, reuse = true): void {
    const e = src.root[r];
    const base = r << 4;
    if (e >= 0) {
      const w = leaf(e);
      for (let k = 0; k < 16; k++) this.setLeaf(base + k, w);
      return;
    }
    for (let k = 0; k < 16; k++) {
      const m = src.level2[~e | k];
      if (m >= 0) {
        if (reuse) this.setLeaf(base + k, leaf(m));
        else this.root[base + k] = leaf(m);
        continue;
      }
      const old = this.root[base + k];
      const g = reuse && old > 0x7fff ? old & 0x7fff : this.allocGroup();
      const from = ~m;
      const to = g << 8;
      const l3 = src.level3;
      const t = this.tbl8;
      for (let j = 0; j < GROUP; j++) t[to + j] = leaf(l3[from + j]);
      this.root[base + k] = 0x8000 | g;
    }
  }

  private setLeaf(i: number, w: number): void {
    const old = this.root[i];
    if (old > 0x7fff) this.freeGroups.push(old & 0x7fff);
    this.root[i] = w;
  }

  private allocGroup(): number {
    const g = this.freeGroups.pop();
    if (g !== undefined) return g;
    if (this.groupTop === DIR16_MAX_GROUPS) throw new Dir16Overflow(`more than ${DIR16_MAX_GROUPS} /24s hold a longer prefix (dir16 groups are 15-bit)`);
    if ((this.groupTop + 1) * GROUP > this.tbl8.length) {
      const groups = Math.min(DIR16_MAX_GROUPS, Math.ceil((this.tbl8.length / GROUP) * 1.5) + 1);
      const t = hugeAlignedGroups(this.allocate, groups * GROUP);
      t.set(this.tbl8);
      this.tbl8 = t;
    }
    return this.groupTop++;
  }
}

/** The dir16 word of a 20-4-8 leaf (nextHop + 1, 0 for no route). */
function leaf(e: number): number {
  const w = e & 0xffffff;
  if (w > DIR16_MAX_NEXT_HOP + 1) throw new Dir16Overflow(`next hop ${w - 1} is over ${DIR16_MAX_NEXT_HOP} (dir16 leaves are 15-bit)`);
  return w;
}

/**
 * The lookups over published buffers of either layout (what a worker calls
 * on the FibBuffers it is sent). `nativeBatch` (runtime/fib-dir16-native.ts's
 * nativeDir16Batch, passed in so this file does not load the addon): a dir16
 * view's batch lookups are the addon's when it returns one.
 */
export function openFib(b: FibBuffers, nativeBatch?: (root: Uint16Array, tbl8: Uint16Array) => LookupBatchFn | undefined): FibView | Dir16View {
  if (b.layout !== 'dir16') return FibView.fromBuffers(b);
  const { root, tbl8 } = dir16Views(b);
  return new Dir16View(root, tbl8, b.generation, nativeBatch?.(root, tbl8));
}

/**
 * A dir16 snapshot of 20-4-8 tables, trimmed to the groups in use, or the
 * Dir16Overflow that says why the table does not fit.
 */
export function dir16Snapshot(src: Fib2048Tables, generation: number, allocate: TableAllocator): FibBuffers | Dir16Overflow {
  const d = new Dir16Tables((n) => new ArrayBuffer(n), src.level3.length / GROUP);
  try {
    d.deriveAll(src);
  } catch (e) {
    if (e instanceof Dir16Overflow) return e;
    throw e;
  }
  // A fresh derive frees no group, so the groups in use are the first ones.
  const [root, tbl8] = hugeAlignedTables(allocate, Math.max(1, d.groups) * GROUP);
  root.set(d.root);
  tbl8.set(d.tbl8.subarray(0, d.groups * GROUP));
  return dir16Buffers(generation, root, tbl8, allocate(0));
}
