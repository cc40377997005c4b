// The control plane's record of every installed prefix: (prefix, len) -> leaf
// word, in an open-addressing hash over typed arrays (linear probing,
// backward-shift deletion, no tombstones). The trie only holds the expanded
// result; this set is what a delete consults to find the covering route to
// fill back in (the longest shorter prefix that contains the deleted one).
//
// A slot is 8 bytes: `keys` holds the prefix, `vals` the LPM leaf word
// (len << 24 | nextHop + 1), which is never 0 for a present entry, so 0 marks
// an empty slot and the length part of the key lives in the value.

import { prefixMask } from './prefix.js';

/** Grow when more than this fraction of slots is used (linear probing stays short). */
const MAX_LOAD = 0.75;

function slotHash(prefix: number, len: number): number {
  // murmur3's finalizer over prefix ^ len-spread: prefixes have zero low bits,
  // so the mix must move high bits down before masking.
  let h = (prefix ^ Math.imul(len + 1, 0x9e3779b1)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Maps a hash onto [0, cap) by multiplication (Lemire's range reduction on the top 21 bits). */
function home(h: number, cap: number): number {
  return (((h >>> 11) * cap) / 2097152) | 0;
}

export class PrefixSet {
  private keys: Uint32Array;
  private vals: Int32Array;
  /** Slot count: any size (not a power of two), so 1M prefixes take 1.33M slots, not 2M. */
  private cap: number;
  /** Number of prefixes per length, so cover searches skip empty lengths. */
  readonly countByLen = new Uint32Array(33);
  size = 0;

  constructor(expected = 1024) {
    this.cap = Math.max(16, Math.ceil(expected / MAX_LOAD));
    this.keys = new Uint32Array(this.cap);
    this.vals = new Int32Array(this.cap);
  }

  get bytes(): number {
    return this.keys.byteLength + this.vals.byteLength;
  }

  /**
   * The slot of (prefix, len): where it is stored, or else the empty slot
   * that ends its probe (where it would go).
   */
  private slotOf(prefix: number, len: number): number {
    const { keys, vals, cap } = this;
    let i = home(slotHash(prefix, len), cap);
    for (;;) {
      const v = vals[i];
      if (v === 0 || (keys[i] === prefix && v >>> 24 === len)) return i;
      if (++i === cap) i = 0;
    }
  }

  /** The leaf word stored for exactly (prefix, len), or 0. */
  get(prefix: number, len: number): number {
    return this.vals[this.slotOf(prefix, len)];
  }

  /** Stores the leaf word for (prefix, len); returns the previous word or 0. */
  set(prefix: number, len: number, word: number): number {
    if (this.size + 1 > this.cap * MAX_LOAD) this.rehash(this.cap * 2);
    const i = this.slotOf(prefix, len);
    const previous = this.vals[i];
    this.vals[i] = word;
    if (previous !== 0) return previous;
    this.keys[i] = prefix;
    this.size++;
    this.countByLen[len]++;
    return 0;
  }

  /** Removes (prefix, len); returns its leaf word or 0 when absent. */
  remove(prefix: number, len: number): number {
    const i = this.slotOf(prefix, len);
    const { keys, vals, cap } = this;
    const removed = vals[i];
    if (removed === 0) return 0;
    let hole = i;
    let j = i;
    for (;;) {
      if (++j === cap) j = 0;
      const v = vals[j];
      if (v === 0) break;
      const h = home(slotHash(keys[j], v >>> 24), cap);
      // j may move back into the hole unless its home lies cyclically in (hole, j].
      const stays = hole <= j ? h > hole && h <= j : h > hole || h <= j;
      if (!stays) {
        keys[hole] = keys[j];
        vals[hole] = v;
        hole = j;
      }
    }
    vals[hole] = 0;
    this.size--;
    this.countByLen[len]--;
    return removed;
  }

  /** The leaf word of the longest prefix shorter than `len` that contains `prefix`, or 0. */
  findCover(prefix: number, len: number): number {
    for (let l = len - 1; l >= 0; l--) {
      if (this.countByLen[l] === 0) continue;
      const w = this.get((prefix & prefixMask(l)) >>> 0, l);
      if (w !== 0) return w;
    }
    return 0;
  }

  /** Calls fn for every stored prefix (control plane; order is the slot order). */
  forEach(fn: (prefix: number, len: number, word: number) => void): void {
    const { keys, vals } = this;
    for (let i = 0; i < vals.length; i++) if (vals[i] !== 0) fn(keys[i], vals[i] >>> 24, vals[i]);
  }

  clear(): void {
    this.keys.fill(0);
    this.vals.fill(0);
    this.countByLen.fill(0);
    this.size = 0;
  }

  private rehash(cap: number): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    this.keys = new Uint32Array(cap);
    this.vals = new Int32Array(cap);
    this.cap = cap;
    const { keys, vals } = this;
    for (let k = 0; k < oldVals.length; k++) {
      const v = oldVals[k];
      if (v === 0) continue;
      let i = home(slotHash(oldKeys[k], v >>> 24), cap);
      while (vals[i] !== 0) if (++i === cap) i = 0;
      keys[i] = oldKeys[k];
      vals[i] = v;
    }
  }
}
