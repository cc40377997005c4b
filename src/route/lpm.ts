// IPv4 longest-prefix match: the data plane's FIB, a 20-4-8 multibit trie
// over three Int32Arrays with tagged leaves (controlled prefix expansion, as
// VPP's mtrie and DPDK's DIR-24-8 do), plus the control-plane prefix set that
// makes every update incremental.
//
// Why 20-4-8. bench/route/layout-sweep.ts builds each layout statically over
// the RouteViews table (694,682 prefixes, 55% /24) and the 1M-prefix table
// grown from it, and times batch lookups of the same 2^20 addresses (90%
// inside a route), one process per layout; ns/lookup is min..max over rounds
// on a shared 2-core machine:
//
//   layout       694k: MiB  ns/lookup     1M: MiB  ns/lookup   loads for a /24
//   24-8 (DIR)        68.3  14.1-18.4        74.3  12.9-20.2   1 (64 MiB tbl24: cache + TLB miss)
//   16-8-8 (VPP)      27.1  11.5-19.0        37.3  11.6-15.0   2 (1 KiB middle plies)
//   18-6-8            19.5  11.2-18.7        30.6  10.5-11.0   2
//   16-4-4-8          13.0  11.4-14.1        23.9  10.9-11.7   3
//   21-3-8            17.1  11.4-14.9        26.5  10.5-10.5   2
//   20-4-8            15.3   9.9-13.4        26.0  10.1-10.5   2 (middle ply = one 64-byte line)
//
// Against DPDK on the same routes and addresses (bench/route/lpm.ts, batch
// lookups in a worker over a SharedArrayBuffer snapshot, bursts of 64):
// 116 M lookups/s on the real table vs rte_lpm 85 M/s and rte_fib DIR-24-8
// (AVX-512) 108 M/s; 93 M/s at 1M prefixes vs 83 and 100. Memory: 14.0 MiB
// published for 694k prefixes, 25.2 MiB for 1M (35.3 MiB with the control
// plane's working copy and prefix set) vs DIR-24-8's 68-74 MiB.
//
// Those figures are from an AMD EPYC. Why the lead depends on the CPU
// (issue 13, measured on an Intel Xeon, family 6 model 207, under KVM: 48 KiB
// L1d, 2 MiB L2 per core, a 300 MiB shared L3; every figure is thread CPU
// time, best of 30-100 rounds, because the 2-core machine ran other jobs):
// - The layout, not JavaScript. The same 20-4-8 tables walked in C with the
//   same 4-lane loop take 15.5 ns/lookup on the RouteViews addresses, where
//   rte_lpm takes 11.3 and rte_fib DIR-24-8 11.3 (bench/route/dpdk-lpm-rounds.c).
// - Dependent loads. 67% of the benchmark's lookups (80% at 1M prefixes) land
//   under a root entry that points to a middle ply, so they make two dependent
//   loads into 10-15 MiB of tables; only 1.5-1.9% reach the last level. Those
//   are DIR-24-8's figures too (tbl8 only past /24), so rte_lpm makes about one
//   load per lookup. Neither set of tables fits a 2 MiB L2. On this L3, 64 MiB
//   of tbl24 stays cached, so one load of DPDK costs about what each of ours
//   costs, and we lose on the count. On the EPYC (32 MiB L3 per CCX) tbl24
//   goes to DRAM while our 14-25 MiB stays in L3, so we lead there. A layout
//   has to answer a /24 in one load and stay within the memory budget to win
//   on both (DIR-24-8 is 68-74 MiB; the budget is 40 MiB for 1M prefixes).
// - Memory-level parallelism. The `e < 0` branch after the root load goes
//   one way for 67-80% of lookups and mispredicts often. A mispredict
//   discards the loads issued after it, so in JS the width of the lane group
//   matters: best rounds over the RouteViews addresses gave 38.7 M/s with 4
//   lanes, 45.6 with 8 and 50.0 with 16 (1M: 34.1, 39.9, 39.8). A branchless
//   walk (mask arithmetic, a dummy load of entry 0 for leaves) was slower in
//   JS and in C (27 vs 17 ns in C). Bounds checks are not the cost: C without
//   them runs the same loop at 15.5 ns.
//
// 24-8 tried (issue 13; commits 37972fa and ad8e744, reverted): DIR-24-8's
// layout with this file's entry format (a 2^24-entry root, 256-entry plies,
// the same incremental updates and FibMirror sync), 32 lanes in the batch
// loop. `npm run bench -- lpm` on the Xeon (load average 8-17 from other
// jobs), median CPU-time rounds, two runs:
//                      ours 20-4-8   ours 24-8    rte_lpm     DIR-24-8
//   RouteViews 694k    33.3 M/s      44.0, 46.9   59.5, 80.2  68.8, 80.1
//   1M                 24.0          40.2, 45.9   78.3, 75.3  78.9, 74.7
// so 0.58-0.74x and 0.51-0.61x rte_lpm, against 0.54x and 0.29x for 20-4-8
// (the lead's figures, another run). With one load per lookup on both sides
// and the same tables, what is left is the JavaScript loop: bounds checks on
// addrs, out and the plies, the lane bookkeeping, and fewer loads in flight
// than rte_lpm's C loop keeps. Neither side had huge pages (the peer runs
// --no-huge; THP is madvise-only here, which Node cannot ask for). The cost:
// a 64 MiB root per copy whatever the table, about 200 MiB for the data
// plane's three copies (working + FibMirror's two) against about 45 MiB, and
// 74 MiB published at 1M prefixes against the 40 MiB budget. Not a win, so
// not kept.
//
// Native batch lookup tried (issue 13) and reverted (the merge of branch
// lpmnative and its revert hold the code): native/src/lpm-lookup.cc walked these
// same tables (the FibView's Int32Arrays, no copy) in C, one call per batch,
// level by level over groups of 64 addresses with no branch between the
// loads of a level (an opt-in FibView option). Same results as the JS loop in
// every test (its test ran the cases on both paths), no
// allocation per batch. `npm run bench -- lpm` on the Xeon (load average
// 10-15 from other jobs; CPU time, JS and native rounds interleaved in one
// worker, 40 rounds each, rte_lpm and DIR-24-8 in the same run; median / best
// M lookups/s; bench/route/lookup-worker.ts):
//                     JS            native        rte_lpm       DIR-24-8     bursts of 256: native, JS
//   RouteViews 694k   46.0 / 56.8   47.6 / 56.1   68.5 / 93.4   75.9 / 103   57.2, 49.0
//   1M                26.4 / 41.9   26.2 / 41.6   60.6 / 84.5   67.6 / 86.2  29.6, 27.4
// so 0.67x and 0.44x rte_lpm in JS, 0.69x and 0.43x native (bursts of 64,
// dpdk-test-fib's). A second run of the 1M case alone: JS 31.1 / 41.3,
// native 30.1 / 44.1 (256: 35.8 vs 31.9).
// One call costs 130-140 ns of CPU before any lookup (N-API entry, two typed
// array checks), 2 ns per address at 64; with no calls at all (one call over
// the 2^20 addresses) the C walk does 41-48 median, 67-80 best on RouteViews,
// so even without the call the memory accesses, not the JS loop, set the pace:
// about 1.7 loads per lookup into 10-15 MiB, where rte_lpm makes one. Huge
// pages under the tables (MADV_HUGEPAGE/MADV_COLLAPSE on 2 MiB-aligned views,
// one in-process run) gave 5-11% to either path, not the 1.5-2.3x missing. The pipeline's plain L3 rate with the native
// path against the JS one (`npm run bench --
// pipeline --vs b218225 --rounds 30`): 0.99x (pairwise median, 0.72-1.39);
// against main 1.02x (0.69-2.03). Not faster where it counts (bursts of 64,
// the pipeline), so it was not kept: the JS loop is the only one.
//
// 20-4-8 stays the control plane's working form and the fallback published
// form (see dir16 below). It is the smallest layout that answers a /24 (the bulk of a BGP table)
// in two loads, and its middle ply, 16 entries x 4 bytes, is one cache line,
// so the second load touches one line for the 16 /24s under a /20. DIR-24-8's
// 64 MiB tbl24 alone is over the 40 MiB budget and misses in the cache and
// TLB on nearly every lookup; Poptrie's compression would save memory we do
// not need at the price of a popcount that JavaScript has to emulate.
//
// Leaves (fib-view.ts): bits 0-23 nextHop + 1, bits 24-29 the prefix length
// the leaf came from, so next hops are 0..MAX_NEXT_HOP (2^24 - 2) and a
// lookup returns (e & 0xffffff) - 1, i.e. NO_ROUTE = -1 for "no route". The
// stored length is what makes updates local: an insert of P/len overwrites
// the entries in P's range whose leaf length is <= len (a more specific route
// stays), and a delete rewrites the entries holding exactly P's leaf with the
// cover's leaf (the longest shorter prefix containing P, found in the
// PrefixSet). After every update, a ply on the update's path whose entries
// are all one leaf word is folded into its parent and reused. That also folds
// plies of longer prefixes that share a next hop (sixteen /24s under a /20 via
// one gateway become one root entry holding a /24 leaf), which is correct for
// lookups because the fold covers exactly their addresses; an update that
// needs to go below such a leaf expands it into a ply again.
//
// Publishing to workers: the control plane owns an Lpm and mutates it;
// FibMirror (src/runtime/fib-mirror.ts) keeps two shared copies that workers
// use in turn, and `snapshot()` makes a one-off copy (bench, tests). Both
// publish the dir16 form below when the table fits it, else these tables.
//
// dir16 (issue 13): what workers read is DIR-24-8 with 16-bit entries,
// derived from these tables (fib-dir16.ts): a 2^24-entry Uint16Array root
// (32 MiB) whose entry is nextHop + 1 or 0x8000 | a 256-entry 16-bit tbl8
// group, so a /24-or-shorter lookup is ONE load, from half the bytes of
// rte_lpm's 64 MiB tbl24. The prefix lengths that make updates incremental
// stay here, in the 20-4-8 leaves: a change re-derives the 16 dir16 root
// entries under each 20-4-8 root entry it touched (FibMirror's dirty list
// already names them). Fits when next hops are <= 0x7ffe and at most 2^15
// /24s hold a longer prefix: RouteViews needs 4,388 groups (34.1 MiB
// published), the 1M table 10,568 (37.2 MiB, under the 40 MiB budget); a
// table that does not fit is published in 20-4-8 form, and FibMirror's
// `layoutNote` / Lpm's `dir16Refused` say why. The cost: a 32 MiB root per
// copy whatever the table (FibMirror's two copies: 64 MiB even for a few
// routes, so FibMirror keeps tables below about 28k prefixes in 20-4-8
// form: DIR16_MIN_MIDDLE_PLIES, with the figures), and a full re-derive (a default route change, a first copy) takes
// 26-38 ms of CPU where copying 20-4-8 tables took a few ms.
// Measured on the Xeon above (load average 15-18 from other jobs; CPU time,
// 40 rounds, median / best M lookups/s, bursts of 64):
// - In C, in dpdk-lpm-rounds' process beside rte_lpm (a plain loop, no
//   N-API call): RouteViews dir16 123 / 140 vs rte_lpm 88 / 100 and DIR-24-8
//   93 / 104, so 1.39x rte_lpm; 1M: 118 / 130 vs 84 / 96 and 83 / 90, 1.41x.
//   Half the bytes is what wins with the same one load: more of the table
//   stays in L2/L3 and under the TLB's reach.
// - In JS (Dir16View, 32 lanes; a worker over the SharedArrayBuffers), one
//   process, dir16 and the 20-4-8 view alternating: RouteViews 62-85 median
//   vs 32-41 for 20-4-8 (1.6-2.0x today's); 1M 55-70 vs 30-33. Lanes, median
//   over RouteViews: 8 lanes 46-67, 16 lanes 46-48, 32 lanes 62-85, 64 lanes
//   64-83; a two-pass loop (all root loads into out, then the groups) 30-33.
// - `npm run bench -- lpm`, one run, ours in the bench's worker (JS
//   Dir16View) then dpdk-lpm-rounds (rte_lpm, DIR-24-8 and the dir16 C loop):
//                     ours (JS dir16)  rte_lpm       DIR-24-8      dir16 in C
//   RouteViews 694k   75.9 / 89.5      75.3 / 99.1   80.2 / 103    107 / 132
//   1M                67.8 / 77.8      80.9 / 94.8   79.3 / 86.9   110 / 129
//   so 1.01x and 0.84x rte_lpm in JS (today's 20-4-8 loop: 0.67x and 0.44x),
//   1.42x and 1.36x for the same tables walked in C. What JS still pays over
//   C on the same loads: the bounds checks on addrs, out and tbl8 and the
//   lane bookkeeping, about 4-5 ns per lookup.
// A native addon call per batch (runtime/fib-dir16-native.ts, native/src/lpm-dir16.cc)
// was then built: one call per burst over the same SharedArrayBuffers, about
// 125 ns a call. On an AMD EPYC VM it ran 0.69x-0.84x the JS loop in the same
// rounds (figures in runtime/fib-dir16-native.ts), so workers keep the JS loop.

import { FibView, LEVEL_BITS, MAX_NEXT_HOP, NO_ROUTE, type FibBuffers } from './fib-view.js';
import { PrefixSet } from './prefix-set.js';
import { dir16Snapshot, type TableAllocator } from './fib-dir16.js';
import { formatPrefix, isCanonicalPrefix } from './prefix.js';

export { FibView, LEVEL_BITS, MAX_NEXT_HOP, NO_ROUTE, type FibBuffers };

/** Last address bit resolved by each level. */
const DEPTH = [20, 24, 32] as const;
/** Right shift and mask that take a level's index bits out of an address. */
const SHIFT = [12, 8, 0] as const;
const INDEX_MASK = [0xfffff, 0xf, 0xff] as const;
/** Entries per ply of each level (the root is a single ply). */
const PLY = [1 << LEVEL_BITS[0], 1 << LEVEL_BITS[1], 1 << LEVEL_BITS[2]] as const;

/** The leaf word of (nextHop, len). */
function leafWord(nextHop: number, len: number): number {
  return (len << 24) | (nextHop + 1);
}

export interface LpmOptions {
  /** Expected number of prefixes (sizes the prefix set and the plies up front). */
  expectedPrefixes?: number;
  /** Where table bytes come from; pass `(n) => new SharedArrayBuffer(n)` to share the working tables. */
  allocate?: (byteLength: number) => ArrayBufferLike;
}

export interface LevelMemory {
  level: number;
  bits: number;
  /** Plies in use (the root level is one ply). */
  plies: number;
  /** Bytes of the plies in use: what a snapshot copies. */
  usedBytes: number;
  /** Bytes of the typed array, including room to grow and freed plies. */
  allocatedBytes: number;
}

export interface LpmMemoryReport {
  prefixes: number;
  levels: LevelMemory[];
  /** Lookup tables as a snapshot publishes them (sum of usedBytes, root included). */
  lookupUsedBytes: number;
  /** Lookup tables as allocated in the control plane's working copy. */
  lookupAllocatedBytes: number;
  /** The control plane's prefix set (never published). */
  prefixSetBytes: number;
  /** lookupAllocatedBytes + prefixSetBytes. */
  totalBytes: number;
}

export class Lpm {
  private tables: [Int32Array, Int32Array, Int32Array];
  /** High-water mark of allocated plies per level (index 0 unused). */
  private readonly plyTop = [1, 0, 0];
  /** Freed ply offsets per level, reused before growing. */
  private readonly freePlies: [number[], number[], number[]] = [[], [], []];
  private readonly prefixes: PrefixSet;
  private readonly allocate: (byteLength: number) => ArrayBufferLike;
  private live: FibView;
  /** Why the last snapshot(…, 'auto') fell back to 20-4-8, or undefined. */
  dir16Refused: string | undefined;

  constructor(opts: LpmOptions = {}) {
    const expected = opts.expectedPrefixes ?? 1024;
    this.allocate = opts.allocate ?? ((n) => new ArrayBuffer(n));
    this.prefixes = new PrefixSet(expected);
    // The RouteViews table needs one middle ply per 7 prefixes and one last ply per 170.
    const l2 = Math.max(256, Math.ceil(expected / 8)) * PLY[1];
    const l3 = Math.max(16, Math.ceil(expected / 256)) * PLY[2];
    this.tables = [this.newTable(PLY[0]), this.newTable(l2), this.newTable(l3)];
    this.live = new FibView(this.tables[0], this.tables[1], this.tables[2]);
  }

  /** Number of installed prefixes. */
  get size(): number {
    return this.prefixes.size;
  }

  /** A view over the working tables; it goes stale when a table grows, so fetch it again after updates. */
  get view(): FibView {
    return this.live;
  }

  lookup(addr: number): number {
    return this.live.lookup(addr);
  }

  lookupBatch(addrs: Uint32Array, out: Uint32Array | Int32Array, n: number): void {
    this.live.lookupBatch(addrs, out, n);
  }

  /** Next hop of exactly prefix/len, or NO_ROUTE when that prefix is not installed. */
  get(prefix: number, len: number): number {
    const w = this.prefixes.get(prefix >>> 0, len);
    return w === 0 ? NO_ROUTE : (w & 0xffffff) - 1;
  }

  /**
   * Installs prefix/len -> nextHop, replacing the next hop if the prefix is
   * already there. Returns true when the prefix is new. Throws RangeError on a
   * length outside 0..32, host bits set, or a next hop outside 0..MAX_NEXT_HOP.
   */
  insert(prefix: number, len: number, nextHop: number): boolean {
    const p = checkPrefix(prefix, len);
    if (!Number.isInteger(nextHop) || nextHop < 0 || nextHop > MAX_NEXT_HOP) {
      throw new RangeError(`next hop ${nextHop} is outside 0..${MAX_NEXT_HOP}`);
    }
    const word = leafWord(nextHop, len);
    const old = this.prefixes.set(p, len, word);
    if (old !== word) this.insertAt(0, 0, p, len, word);
    return old === 0;
  }

  /** Removes prefix/len; more specific routes stay and the covering route takes its addresses back. */
  delete(prefix: number, len: number): boolean {
    const p = checkPrefix(prefix, len);
    const old = this.prefixes.remove(p, len);
    if (old === 0) return false;
    this.deleteAt(0, 0, p, len, old, this.prefixes.findCover(p, len));
    return true;
  }

  /** Removes every prefix and frees every ply (the tables keep their capacity). */
  clear(): void {
    this.prefixes.clear();
    for (const t of this.tables) t.fill(0);
    this.plyTop[1] = this.plyTop[2] = 0;
    this.freePlies[1].length = this.freePlies[2].length = 0;
  }

  /**
   * Shrinks the middle and last tables to the plies in use, e.g. after a bulk
   * load (growth adds 50% at a time); the next ply allocation grows them again.
   */
  trim(): void {
    for (const level of [1, 2]) {
      const used = Math.max(this.plyTop[level], 1) * PLY[level];
      if (used >= this.tables[level].length) continue;
      const t = this.newTable(used);
      t.set(this.tables[level].subarray(0, used));
      this.tables[level] = t;
    }
    this.live = new FibView(this.tables[0], this.tables[1], this.tables[2], this.live.generation);
  }

  /** Calls fn for every installed route (control plane; unordered). */
  forEachRoute(fn: (prefix: number, len: number, nextHop: number) => void): void {
    this.prefixes.forEach((prefix, len, word) => fn(prefix, len, (word & 0xffffff) - 1));
  }

  /**
   * Copies the used part of the lookup tables into fresh buffers from
   * `allocate` (SharedArrayBuffers by default), for a worker's FibView.fromBuffers().
   * With layout 'auto', the copy is in dir16 form (fib-dir16.ts) when the
   * table fits it, for openFib(); `dir16Refused` then says why not when it does not.
   */
  snapshot(generation = 0, allocate: TableAllocator = (n) => new SharedArrayBuffer(n), layout: 'auto' | '20-4-8' = '20-4-8'): FibBuffers {
    this.dir16Refused = undefined;
    if (layout === 'auto') {
      const d = dir16Snapshot(this.live, generation, allocate);
      if (!(d instanceof Error)) return d;
      this.dir16Refused = d.message;
    }
    const copy = (level: number): ArrayBufferLike => {
      const used = level === 0 ? PLY[0] : this.plyTop[level] * PLY[level];
      const buf = allocate(Math.max(used, 1) * 4);
      new Int32Array(buf).set(this.tables[level].subarray(0, used));
      return buf;
    };
    return { generation, root: copy(0), level2: copy(1), level3: copy(2) };
  }

  memory(): LpmMemoryReport {
    const levels: LevelMemory[] = [0, 1, 2].map((level) => {
      const plies = level === 0 ? 1 : this.plyTop[level] - this.freePlies[level].length;
      return { level: level + 1, bits: LEVEL_BITS[level], plies, usedBytes: plies * PLY[level] * 4, allocatedBytes: this.tables[level].byteLength };
    });
    const lookupUsedBytes = levels.reduce((s, l) => s + l.usedBytes, 0);
    const lookupAllocatedBytes = levels.reduce((s, l) => s + l.allocatedBytes, 0);
    const prefixSetBytes = this.prefixes.bytes;
    return { prefixes: this.size, levels, lookupUsedBytes, lookupAllocatedBytes, prefixSetBytes, totalBytes: lookupAllocatedBytes + prefixSetBytes };
  }

  /** Bytes of typed arrays held: lookup tables as allocated plus the prefix set. */
  memoryBytes(): number {
    return this.memory().totalBytes;
  }

  // --- updates -------------------------------------------------------------

  private insertAt(level: number, base: number, prefix: number, len: number, word: number): void {
    const idx = base + ((prefix >>> SHIFT[level]) & INDEX_MASK[level]);
    if (len <= DEPTH[level]) {
      this.fillInsert(level, idx, 1 << (DEPTH[level] - len), word, len);
      return;
    }
    this.insertAt(level + 1, this.childOf(level, idx), prefix, len, word);
    this.foldIfUniform(level, idx);
  }

  /** First entry of the ply under tables[level][idx], expanding a leaf into a ply that repeats it. */
  private childOf(level: number, idx: number): number {
    const e = this.tables[level][idx];
    if (e < 0) return ~e;
    // The new ply is filled before it is linked, so a concurrent reader sees the old leaf or the full ply.
    const child = this.allocPly(level + 1);
    this.tables[level + 1].fill(e, child, child + PLY[level + 1]);
    this.tables[level][idx] = ~child;
    return child;
  }

  /** Writes `word` over entries [start, start+count) of a level whose leaf is no more specific than len. */
  private fillInsert(level: number, start: number, count: number, word: number, len: number): void {
    const t = this.tables[level];
    for (let i = start; i < start + count; i++) {
      const e = t[i];
      if (e < 0) this.fillInsert(level + 1, ~e, PLY[level + 1], word, len);
      else if (e >>> 24 <= len) t[i] = word;
    }
  }

  private deleteAt(level: number, base: number, prefix: number, len: number, old: number, cover: number): void {
    const idx = base + ((prefix >>> SHIFT[level]) & INDEX_MASK[level]);
    if (len <= DEPTH[level]) {
      this.fillDelete(level, idx, 1 << (DEPTH[level] - len), old, cover);
      return;
    }
    this.deleteAt(level + 1, this.childOf(level, idx), prefix, len, old, cover);
    this.foldIfUniform(level, idx);
  }

  /**
   * Rewrites the deleted prefix's leaf with the cover's. Plies below keep
   * their longer leaves, which differ from the cover's, so none can fold.
   */
  private fillDelete(level: number, start: number, count: number, old: number, cover: number): void {
    const t = this.tables[level];
    for (let i = start; i < start + count; i++) {
      const e = t[i];
      if (e < 0) this.fillDelete(level + 1, ~e, PLY[level + 1], old, cover);
      else if (e === old) t[i] = cover;
    }
  }

  /** Replaces the child ply under tables[level][idx] by its leaf when all its entries are that leaf. */
  private foldIfUniform(level: number, idx: number): void {
    const child = ~this.tables[level][idx];
    const t = this.tables[level + 1];
    const first = t[child];
    if (first < 0) return;
    for (let i = child + 1; i < child + PLY[level + 1]; i++) if (t[i] !== first) return;
    this.tables[level][idx] = first;
    this.freePlies[level + 1].push(child);
  }

  private allocPly(level: number): number {
    const reuse = this.freePlies[level].pop();
    if (reuse !== undefined) return reuse;
    const offset = this.plyTop[level] * PLY[level];
    if (offset + PLY[level] > this.tables[level].length) this.grow(level);
    this.plyTop[level]++;
    return offset;
  }

  private grow(level: number): void {
    const old = this.tables[level];
    // 1.5x keeps the slack (and a snapshot's copy source) small for big tables.
    const entries = Math.ceil((old.length * 1.5) / PLY[level]) * PLY[level];
    const t = this.newTable(entries);
    t.set(old);
    this.tables[level] = t;
    this.live = new FibView(this.tables[0], this.tables[1], this.tables[2], this.live.generation);
  }

  private newTable(entries: number): Int32Array {
    return new Int32Array(this.allocate(entries * 4));
  }
}

function checkPrefix(prefix: number, len: number): number {
  if (!Number.isInteger(len) || len < 0 || len > 32) throw new RangeError(`prefix length ${len} is outside 0..32`);
  const p = prefix >>> 0;
  if (!isCanonicalPrefix(p, len)) throw new RangeError(`${formatPrefix(p, len)} has host bits set`);
  return p;
}
