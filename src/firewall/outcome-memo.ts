// The memo of (source class, destination class, port class) -> outcome.
//
// The full cross product of the three class sets is what makes the verdict
// a pure table lookup, but its size is the product of three class counts
// (10,000 VPC rules: 19,811 source x 5,739 destination x 5,875 port classes
// in the bench), far beyond memory. The combinations real traffic uses are
// few, so they are computed on first sight (classifier.ts) and kept here: an
// open-addressing hash in one Int32Array, linear probing. With 1M flows the
// probe is a cache and TLB miss, so bytes per entry are the cost: when every
// class id and outcome fits 16 bits (the classifier knows its class counts;
// 10,000 VPC rules have ~40k source values and ~10k outcomes) a slot is two
// words [src | dst << 16, port | outcome << 16], 3/4 full at most: 712k
// combinations in 8 MiB instead of 32 (measured, 10,000 rules, 1M flows,
// the probe alone: 75 ns vs 105; see src/firewall/README.md). Otherwise, or
// once an outcome id passes 16 bits, slots are four words [src, dst, port,
// outcome], at most half full.
//
// It starts small and doubles as combinations arrive, up to room for
// `entries`; past that it is cleared and counted (`resets`): bounded memory,
// no eviction bookkeeping on the packet path, and a reset only costs
// recomputing what traffic asks for again. Starting small matters: a plan
// whose traffic uses a few thousand combinations keeps them in a few hundred
// KiB instead of scattering them over a 32 MiB table, one TLB entry each
// (measured, CPU time on a loaded machine: 10,000 rules, 4k flows repeated,
// 88-96 ns/packet growing vs 106-137 in a fixed 32 MiB table).
// Growing allocates, on the miss path only and log2(entries) times at most.
// Per instance: each worker has its own, so nothing here is shared or locked.

const EMPTY = -1;
const INITIAL_SLOTS = 1024;
/** Largest field of a two-word slot; source and destination stay below it, so a key word is never EMPTY. */
const NARROW = 0xffff;

/** Entries a table of `size` slots of `width` words takes before it grows: 3/4 of two-word slots, 1/2 of four-word ones. */
function loadLimit(size: number, width: number): number {
  return Math.max(1, width === 2 ? (size * 3) >>> 2 : size >>> 1);
}

/** Slots (a power of two) that hold `entries` at the load factor of `width`. */
function slotsFor(entries: number, width: number): number {
  let size = 2;
  while (loadLimit(size, width) < entries) size *= 2;
  return size;
}

export class OutcomeMemo {
  private slots: Int32Array;
  private mask: number;
  /** Int32 words per slot: 2 ([src | dst << 16, port | outcome << 16]) or 4 ([src, dst, port, outcome]). */
  private width: number;
  /** Entries held before the table doubles, or before a reset at full size. */
  private grow: number;
  private maxSlots: number;
  private used = 0;
  resets = 0;

  /**
   * Holds up to `entries` combinations before it is cleared. `narrow`: the
   * caller's source and destination classes are below 0xffff and its port
   * classes at most 0xffff, so a slot takes two words while outcome ids fit
   * 16 bits too (past that it widens itself, once).
   */
  constructor(
    private readonly entries: number,
    narrow = false,
  ) {
    if (!Number.isInteger(entries) || entries < 1 || entries > 1 << 26) throw new RangeError(`firewall: memoEntries ${entries} is outside 1..${1 << 26}`);
    this.width = narrow ? 2 : 4;
    this.maxSlots = slotsFor(entries, this.width);
    const start = Math.min(this.maxSlots, INITIAL_SLOTS);
    this.slots = new Int32Array(start * this.width).fill(EMPTY);
    this.mask = start - 1;
    this.grow = this.limit(start);
  }

  get count(): number {
    return this.used;
  }

  get bytes(): number {
    return this.slots.byteLength;
  }

  /** The outcome memoised for these classes (all >= 0), or -1. */
  find(s: number, d: number, p: number): number {
    return this.findHashed(memoHash(s, d, p), s, d, p);
  }

  /**
   * find() with the key's memoHash() computed beforehand: a batch hashes its
   * packets in one pass and probes in the next, so that the probes' cache
   * misses overlap (classifier.ts classifyBatch). Inserts in between are
   * fine: the hash is masked here, with the table's size at the time.
   */
  findHashed(h: number, s: number, d: number, p: number): number {
    const t = this.slots;
    const m = this.mask;
    let i = h & m;
    if (this.width === 2) {
      const k = s | (d << 16);
      for (;;) {
        const o = i << 1;
        const x = t[o];
        if (x === k) {
          const v = t[o + 1];
          if ((v & NARROW) === p) return v >>> 16;
        } else if (x === EMPTY) {
          return -1;
        }
        i = (i + 1) & m;
      }
    }
    for (;;) {
      const o = i << 2;
      const k = t[o];
      if (k === EMPTY) return -1;
      if (k === s && t[o + 1] === d && t[o + 2] === p) return t[o + 3];
      i = (i + 1) & m;
    }
  }

  /**
   * Loads the first slot of hashes[k] for k in [0, n) where keep[k] >= 0, and
   * returns a value made of them (the caller keeps it, so that the loads are
   * not dropped): a prefetch for a batch's probes (classifier.ts
   * classifyLanes). A loop that does nothing else keeps some 50 loads in
   * flight; the probe loop, with its compares and branches, far fewer.
   */
  touch(hashes: Int32Array, keep: Int32Array, n: number): number {
    const t = this.slots;
    const m = this.mask;
    const shift = this.width === 2 ? 1 : 2;
    let acc = 0;
    for (let k = 0; k < n; k++) if (keep[k] >= 0) acc ^= t[(hashes[k] & m) << shift];
    return acc;
  }

  /** Adds a combination that find() did not have. */
  insert(s: number, d: number, p: number, outcome: number): void {
    if (this.width === 2 && outcome > NARROW) this.widen();
    if (this.used >= this.grow) {
      if (this.mask + 1 < this.maxSlots) {
        this.resize((this.mask + 1) * 2, this.width);
      } else {
        this.clear();
        this.resets++;
      }
    }
    this.place(s, d, p, outcome);
    this.used++;
  }

  /**
   * Forgets every combination; `shrink` also returns the table to its first
   * size (a caller's clear: traffic starts over). A reset is counted only when
   * the memo clears itself because it is full (at full size, kept).
   */
  clear(shrink = false): void {
    if (shrink && this.mask + 1 > INITIAL_SLOTS) {
      this.used = 0;
      this.resize(Math.min(this.maxSlots, INITIAL_SLOTS), this.width);
      return;
    }
    if (this.used === 0) return;
    this.slots.fill(EMPTY);
    this.used = 0;
  }

  private limit(size: number): number {
    return size === this.maxSlots ? this.entries : loadLimit(size, this.width);
  }

  /** An outcome id past 16 bits: four-word slots from now on (the miss path, once). */
  private widen(): void {
    this.maxSlots = slotsFor(this.entries, 4);
    let size = Math.min(this.maxSlots, INITIAL_SLOTS);
    while (size < this.maxSlots && loadLimit(size, 4) <= this.used) size *= 2;
    this.resize(size, 4);
  }

  private place(s: number, d: number, p: number, outcome: number): void {
    const t = this.slots;
    const m = this.mask;
    let i = memoHash(s, d, p) & m;
    if (this.width === 2) {
      while (t[i << 1] !== EMPTY) i = (i + 1) & m;
      t[i << 1] = s | (d << 16);
      t[(i << 1) + 1] = p | (outcome << 16);
      return;
    }
    while (t[i << 2] !== EMPTY) i = (i + 1) & m;
    const o = i << 2;
    t[o] = s;
    t[o + 1] = d;
    t[o + 2] = p;
    t[o + 3] = outcome;
  }

  /** A table of `size` slots of `width` words holding what the old one held (nothing after a shrinking clear). */
  private resize(size: number, width: number): void {
    const old = this.used === 0 ? new Int32Array(0) : this.slots;
    const oldWidth = this.width;
    this.slots = new Int32Array(size * width).fill(EMPTY);
    this.width = width;
    this.mask = size - 1;
    this.grow = this.limit(size);
    if (oldWidth === 2) {
      for (let o = 0; o < old.length; o += 2) {
        const k = old[o];
        if (k !== EMPTY) this.place(k & NARROW, k >>> 16, old[o + 1] & NARROW, old[o + 1] >>> 16);
      }
    } else {
      for (let o = 0; o < old.length; o += 4) if (old[o] !== EMPTY) this.place(old[o], old[o + 1], old[o + 2], old[o + 3]);
    }
  }
}

/** The memo's hash of a class combination (unmasked; find() and findHashed() mask it). */
export function memoHash(s: number, d: number, p: number): number {
  let h = Math.imul(s, 0x9e3779b1) ^ Math.imul(d, 0x85ebca6b) ^ Math.imul(p, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}
