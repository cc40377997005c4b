// The memo of (source class, destination class, port class) -> outcome.
//
// The full cross product of the three class sets is what makes the verdict
// a pure table lookup, but its size is the product of three class counts
// (10,000 VPC rules: 19,811 source x 5,739 destination x 5,875 port classes
// in the bench), far beyond memory. The combinations real traffic uses are
// few, so they are computed on first sight (classifier.ts) and kept here: an
// open-addressing hash of 16-byte slots [src, dst, port, outcome] in one
// Int32Array, linear probing, at most half full.
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

export class OutcomeMemo {
  private slots: Int32Array;
  private mask: number;
  /** Entries held before the table doubles (half its slots), or before a reset at full size. */
  private grow: number;
  private readonly maxSlots: number;
  private used = 0;
  resets = 0;

  /** Holds up to `entries` combinations before it is cleared. */
  constructor(private readonly entries: number) {
    if (!Number.isInteger(entries) || entries < 1 || entries > 1 << 26) throw new RangeError(`firewall: memoEntries ${entries} is outside 1..${1 << 26}`);
    let size = 2;
    while (size < entries * 2) size *= 2;
    this.maxSlots = size;
    const start = Math.min(size, INITIAL_SLOTS);
    this.slots = new Int32Array(start * 4).fill(EMPTY);
    this.mask = start - 1;
    this.grow = start === size ? entries : start / 2;
  }

  get count(): number {
    return this.used;
  }

  get bytes(): number {
    return this.slots.byteLength;
  }

  /** The outcome memoised for these classes (all >= 0), or -1. */
  find(s: number, d: number, p: number): number {
    const t = this.slots;
    let i = hash(s, d, p) & this.mask;
    for (;;) {
      const o = i << 2;
      const k = t[o];
      if (k === EMPTY) return -1;
      if (k === s && t[o + 1] === d && t[o + 2] === p) return t[o + 3];
      i = (i + 1) & this.mask;
    }
  }

  /** Adds a combination that find() did not have. */
  insert(s: number, d: number, p: number, outcome: number): void {
    if (this.used >= this.grow) {
      if (this.mask + 1 < this.maxSlots) {
        this.resize((this.mask + 1) * 2);
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
      this.resize(Math.min(this.maxSlots, INITIAL_SLOTS));
      return;
    }
    if (this.used === 0) return;
    this.slots.fill(EMPTY);
    this.used = 0;
  }

  private place(s: number, d: number, p: number, outcome: number): void {
    const t = this.slots;
    let i = hash(s, d, p) & this.mask;
    while (t[i << 2] !== EMPTY) i = (i + 1) & this.mask;
    const o = i << 2;
    t[o] = s;
    t[o + 1] = d;
    t[o + 2] = p;
    t[o + 3] = outcome;
  }

  /** A table of `size` slots holding what the old one held (nothing after a shrinking clear). */
  private resize(size: number): void {
    const old = this.used === 0 ? new Int32Array(0) : this.slots;
    this.slots = new Int32Array(size * 4).fill(EMPTY);
    this.mask = size - 1;
    this.grow = size === this.maxSlots ? this.entries : size / 2;
    for (let o = 0; o < old.length; o += 4) if (old[o] !== EMPTY) this.place(old[o], old[o + 1], old[o + 2], old[o + 3]);
  }
}

function hash(s: number, d: number, p: number): number {
  let h = Math.imul(s, 0x9e3779b1) ^ Math.imul(d, 0x85ebca6b) ^ Math.imul(p, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}
