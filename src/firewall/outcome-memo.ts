// The memo of (source class, destination class, port class) -> outcome.
//
// The full cross product of the three class sets is what makes the verdict
// a pure table lookup, but its size is the product of three class counts
// (10,000 VPC rules: thousands of source classes x ~1,000 destination
// classes x hundreds of port classes), far beyond memory. The combinations
// real traffic uses are few, so they are computed on first sight (the AND of
// three bitmaps, classifier.ts) and kept here: an open-addressing hash of
// 16-byte slots [src, dst, port, outcome] in one Int32Array, linear probing,
// at most half full. When it would pass that, it is cleared and counted
// (`resets`): bounded memory, no eviction bookkeeping on the packet path,
// and a reset only costs recomputing what traffic asks for again.
// Per instance: each worker has its own, so nothing here is shared or locked.

const EMPTY = -1;

export class OutcomeMemo {
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly limit: number;
  private used = 0;
  resets = 0;

  /** Holds up to `entries` combinations before it is cleared. */
  constructor(entries: number) {
    if (!Number.isInteger(entries) || entries < 1 || entries > 1 << 26) throw new RangeError(`firewall: memoEntries ${entries} is outside 1..${1 << 26}`);
    let size = 2;
    while (size < entries * 2) size *= 2;
    this.slots = new Int32Array(size * 4).fill(EMPTY);
    this.mask = size - 1;
    this.limit = entries;
  }

  get entries(): number {
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
    if (this.used >= this.limit) {
      this.clear();
      this.resets++;
    }
    const t = this.slots;
    let i = hash(s, d, p) & this.mask;
    while (t[i << 2] !== EMPTY) i = (i + 1) & this.mask;
    const o = i << 2;
    t[o] = s;
    t[o + 1] = d;
    t[o + 2] = p;
    t[o + 3] = outcome;
    this.used++;
  }

  /** Forgets every combination (a reset is counted only when the memo clears itself because it is full). */
  clear(): void {
    if (this.used === 0) return;
    this.slots.fill(EMPTY);
    this.used = 0;
  }
}

function hash(s: number, d: number, p: number): number {
  let h = Math.imul(s, 0x9e3779b1) ^ Math.imul(d, 0x85ebca6b) ^ Math.imul(p, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}
