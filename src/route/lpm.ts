// IPv4 longest-prefix match: the data plane's FIB, a multibit trie over
// Int32Arrays with tagged leaves (controlled prefix expansion, as VPP's mtrie
// and DPDK's DIR-24-8 do), plus the control-plane prefix set that makes every
// update incremental. Two layouts share the code: 20-4-8 (the default, a
// 4 MiB root) and 24-8 (a 64 MiB root, which the FIB uses from 65536 routes
// on: fib.ts). The next two sections say why each.
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
// 20-4-8 is the smallest layout that answers a /24 (the bulk of a BGP table)
// in two loads, and its middle ply, 16 entries x 4 bytes, is one cache line,
// so the second load touches one line for the 16 /24s under a /20. It stays
// the layout of small tables (which it serves from L2) and of the firewall's
// address classes (src/firewall/classifier.ts walks its three levels).
//
// Why 24-8 for a big FIB (issue 13). Where the L3 holds a 64 MiB root (the
// Xeon above), the load count decides, and 24-8 answers a /24 or shorter in
// one load, as rte_lpm does (the same entry format; 256-entry plies hold the
// /25-/32s: 4,388 plies for RouteViews, 10,568 for 1M). Same data, 16 lanes,
// CPU-time rounds on that Xeon: BENCH_FIGURES
// The cost is memory: the root is 64 MiB whatever the table, and the data
// plane holds three (the working copy here plus FibMirror's two shared
// copies, threads of one process, so mapped once however many workers), about
// 200 MiB for a full table against 45 MiB in 20-4-8; hence the threshold.
// On a CPU whose L3 is smaller than the root (the EPYC above) 24-8 lookups go
// to DRAM and 20-4-8 would be faster: that is the trade taken.
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
// Publishing to workers: `snapshot()` copies the used part of the tables into
// fresh buffers (SharedArrayBuffers by default) tagged with a generation
// number, for a one-off FibView; the data plane itself publishes through
// src/runtime/fib-mirror.ts (two shared copies used in turn, synced by the
// root entries a change touched).

import { DIR24_LEVEL_BITS, FibView, LEVEL_BITS, MAX_NEXT_HOP, NO_ROUTE, type FibBuffers, type LevelBits } from './fib-view.js';
import { PrefixSet } from './prefix-set.js';
import { formatPrefix, isCanonicalPrefix } from './prefix.js';

export { DIR24_LEVEL_BITS, FibView, LEVEL_BITS, MAX_NEXT_HOP, NO_ROUTE, type FibBuffers, type LevelBits };

/** The two layouts (fib-view.ts): compact 20-4-8, the default, and 24-8 for big tables. */
export type LpmLayout = '20-4-8' | '24-8';

/** Per level of a layout: last address bit it resolves, shift and mask of its index bits, entries per ply. */
interface Geometry {
  bits: LevelBits;
  depth: number[];
  shift: number[];
  mask: number[];
  ply: number[];
}

function geometry(bits: LevelBits): Geometry {
  const depth: number[] = [];
  bits.reduce((d, b) => (depth.push(d + b), d + b), 0);
  return {
    bits,
    depth,
    shift: depth.map((d) => 32 - d),
    mask: bits.map((b) => 2 ** b - 1),
    ply: bits.map((b) => 2 ** b),
  };
}

/** The leaf word of (nextHop, len). */
function leafWord(nextHop: number, len: number): number {
  return (len << 24) | (nextHop + 1);
}

export interface LpmOptions {
  /** Expected number of prefixes (sizes the prefix set and the plies up front). */
  expectedPrefixes?: number;
  /** Where table bytes come from; pass `(n) => new SharedArrayBuffer(n)` to share the working tables. */
  allocate?: (byteLength: number) => ArrayBufferLike;
  /** '20-4-8' (default: 4 MiB root) or '24-8' (64 MiB root, one load for a /24 or shorter; see the header). */
  layout?: LpmLayout;
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
  private tables: Int32Array[];
  /** High-water mark of allocated plies per level (index 0 unused). */
  private readonly plyTop: number[];
  /** Freed ply offsets per level, reused before growing. */
  private readonly freePlies: number[][];
  private readonly prefixes: PrefixSet;
  private readonly allocate: (byteLength: number) => ArrayBufferLike;
  private readonly g: Geometry;
  private live: FibView;

  constructor(opts: LpmOptions = {}) {
    const expected = opts.expectedPrefixes ?? 1024;
    this.allocate = opts.allocate ?? ((n) => new ArrayBuffer(n));
    this.prefixes = new PrefixSet(expected);
    const g = (this.g = geometry(opts.layout === '24-8' ? DIR24_LEVEL_BITS : LEVEL_BITS));
    this.plyTop = g.bits.map((_, k) => (k === 0 ? 1 : 0));
    this.freePlies = g.bits.map(() => []);
    if (g.bits.length === 2) {
      // The RouteViews table needs one ply per 140 prefixes.
      this.tables = [this.newTable(g.ply[0]), this.newTable(Math.max(16, Math.ceil(expected / 128)) * g.ply[1])];
    } else {
      // The RouteViews table needs one middle ply per 7 prefixes and one last ply per 170.
      const l2 = Math.max(256, Math.ceil(expected / 8)) * g.ply[1];
      const l3 = Math.max(16, Math.ceil(expected / 256)) * g.ply[2];
      this.tables = [this.newTable(g.ply[0]), this.newTable(l2), this.newTable(l3)];
    }
    this.live = this.viewOf();
  }

  /** The layout's bits per level, root first. */
  get levelBits(): LevelBits {
    return this.g.bits;
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
    for (let k = 1; k < this.tables.length; k++) {
      this.plyTop[k] = 0;
      this.freePlies[k].length = 0;
    }
  }

  /**
   * Shrinks the middle and last tables to the plies in use, e.g. after a bulk
   * load (growth adds 50% at a time); the next ply allocation grows them again.
   */
  trim(): void {
    for (let level = 1; level < this.tables.length; level++) {
      const used = Math.max(this.plyTop[level], 1) * this.g.ply[level];
      if (used >= this.tables[level].length) continue;
      const t = this.newTable(used);
      t.set(this.tables[level].subarray(0, used));
      this.tables[level] = t;
    }
    this.live = this.viewOf(this.live.generation);
  }

  /** Calls fn for every installed route (control plane; unordered). */
  forEachRoute(fn: (prefix: number, len: number, nextHop: number) => void): void {
    this.prefixes.forEach((prefix, len, word) => fn(prefix, len, (word & 0xffffff) - 1));
  }

  /**
   * Copies the used part of the lookup tables into fresh buffers from
   * `allocate` (SharedArrayBuffers by default), for a worker's FibView.fromBuffers().
   */
  snapshot(generation = 0, allocate: (byteLength: number) => ArrayBufferLike = (n) => new SharedArrayBuffer(n)): FibBuffers {
    const copy = (level: number): ArrayBufferLike => {
      if (level >= this.tables.length) return allocate(4); // the 24-8 layout's empty level3
      const used = level === 0 ? this.g.ply[0] : this.plyTop[level] * this.g.ply[level];
      const buf = allocate(Math.max(used, 1) * 4);
      new Int32Array(buf).set(this.tables[level].subarray(0, used));
      return buf;
    };
    return { generation, root: copy(0), level2: copy(1), level3: copy(2) };
  }

  memory(): LpmMemoryReport {
    const levels: LevelMemory[] = this.tables.map((t, level) => {
      const plies = level === 0 ? 1 : this.plyTop[level] - this.freePlies[level].length;
      return { level: level + 1, bits: this.g.bits[level], plies, usedBytes: plies * this.g.ply[level] * 4, allocatedBytes: t.byteLength };
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
    const g = this.g;
    const idx = base + ((prefix >>> g.shift[level]) & g.mask[level]);
    if (len <= g.depth[level]) {
      this.fillInsert(level, idx, 2 ** (g.depth[level] - len), word, len);
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
    this.tables[level + 1].fill(e, child, child + this.g.ply[level + 1]);
    this.tables[level][idx] = ~child;
    return child;
  }

  /** Writes `word` over entries [start, start+count) of a level whose leaf is no more specific than len. */
  private fillInsert(level: number, start: number, count: number, word: number, len: number): void {
    const t = this.tables[level];
    for (let i = start; i < start + count; i++) {
      const e = t[i];
      if (e < 0) this.fillInsert(level + 1, ~e, this.g.ply[level + 1], word, len);
      else if (e >>> 24 <= len) t[i] = word;
    }
  }

  private deleteAt(level: number, base: number, prefix: number, len: number, old: number, cover: number): void {
    const g = this.g;
    const idx = base + ((prefix >>> g.shift[level]) & g.mask[level]);
    if (len <= g.depth[level]) {
      this.fillDelete(level, idx, 2 ** (g.depth[level] - len), old, cover);
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
      if (e < 0) this.fillDelete(level + 1, ~e, this.g.ply[level + 1], old, cover);
      else if (e === old) t[i] = cover;
    }
  }

  /** Replaces the child ply under tables[level][idx] by its leaf when all its entries are that leaf. */
  private foldIfUniform(level: number, idx: number): void {
    const child = ~this.tables[level][idx];
    const t = this.tables[level + 1];
    const first = t[child];
    if (first < 0) return;
    for (let i = child + 1; i < child + this.g.ply[level + 1]; i++) if (t[i] !== first) return;
    this.tables[level][idx] = first;
    this.freePlies[level + 1].push(child);
  }

  private allocPly(level: number): number {
    const reuse = this.freePlies[level].pop();
    if (reuse !== undefined) return reuse;
    const offset = this.plyTop[level] * this.g.ply[level];
    if (offset + this.g.ply[level] > this.tables[level].length) this.grow(level);
    this.plyTop[level]++;
    return offset;
  }

  private grow(level: number): void {
    const old = this.tables[level];
    // 1.5x keeps the slack (and a snapshot's copy source) small for big tables.
    const entries = Math.ceil((old.length * 1.5) / this.g.ply[level]) * this.g.ply[level];
    const t = this.newTable(entries);
    t.set(old);
    this.tables[level] = t;
    this.live = this.viewOf(this.live.generation);
  }

  private viewOf(generation = 0): FibView {
    const [root, level2, level3 = new Int32Array(1)] = this.tables;
    return new FibView(root, level2, level3, generation);
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
