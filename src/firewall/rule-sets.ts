// Equivalence classes as rule sets. Every field of a packet (source address,
// destination address, protocol + port) is mapped to a class: the set of
// rules whose condition on that field the value meets. Two values in the same
// class are indistinguishable to every rule, so the classifier only needs
// the class, and the verdict of a packet only depends on its three classes.
//
// A class is stored as a bitmap over the rules in ruleOrder (bit i = the
// i-th rule of the first-match order), so the first rule of a section that
// all three fields admit is the lowest set bit of the three ANDed within the
// section's bit range. All classes of a field live in one flat Uint32Array
// (class c at words [c * words, (c + 1) * words)): the miss path ANDs
// without chasing pointers, and the control plane can post it as one buffer.
// Each class also has a summary bitmap, one bit per word that is not zero,
// so the miss path ANDs the three summaries first and loads only the words
// where all three have rules: a class of an Internet source holds a few
// dozen of 10,000 rules, and its bitmap is mostly zero words.
// A class with few non-zero words (an Internet source: a few dozen of 10,000
// rules) also has them listed, [word index, word] pairs in index order: the
// miss path walks that list instead of the sparse class's summary and
// bitmap, so each candidate word costs two scattered loads, not three.
// Classes are interned by content (plus a small tag, e.g. "is an endpoint"),
// so a field has as many classes as distinct rule sets, not values.

export class RuleSets {
  /** Uint32 words per bitmap. */
  readonly words: number;
  private data: Uint32Array;
  private tags: Uint8Array;
  private n = 0;
  /** Content hash -> class ids with that hash (build time only). */
  private readonly index = new Map<number, number[]>();
  /** Words of a summary bitmap. */
  readonly summaryWords: number;
  private sums = new Uint32Array(1);
  private list = new Int32Array(0);
  private listAt = new Int32Array(1);
  private nonZero = new Int32Array(1);

  constructor(ruleCount: number) {
    this.words = Math.max(1, Math.ceil(ruleCount / 32));
    this.summaryWords = Math.ceil(this.words / 32);
    this.data = new Uint32Array(this.words * 16);
    this.tags = new Uint8Array(16);
  }

  get count(): number {
    return this.n;
  }

  /** The bitmaps, class c at offset c * words (valid for ids < count). */
  get bits(): Uint32Array {
    return this.data;
  }

  /** The summaries (valid after seal()), class c at offset c * summaryWords: bit j of word k set when word 32k + j is not zero. */
  get summaries(): Uint32Array {
    return this.sums;
  }

  /** (valid after seal()) Class c's non-zero words as [index, word] pairs from listAt[c] (in Int32 words), or listAt[c] = -1 when it is not sparse. */
  get sparse(): Int32Array {
    return this.list;
  }

  get sparseAt(): Int32Array {
    return this.listAt;
  }

  /** (valid after seal()) Non-zero words of each class. */
  get nonZeroWords(): Int32Array {
    return this.nonZero;
  }

  tag(id: number): number {
    return this.tags[id];
  }

  /** The id of the class with these bits and tag, adding it when new. */
  intern(bits: Uint32Array, tag: number): number {
    const w = this.words;
    let h = tag | 0;
    for (let i = 0; i < w; i++) h = (Math.imul(h ^ bits[i], 0x9e3779b1) + i) | 0;
    const same = this.index.get(h);
    if (same !== undefined) {
      for (const id of same) if (this.tags[id] === tag && this.equals(id, bits)) return id;
    }
    if ((this.n + 1) * w > this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
      const tags = new Uint8Array(this.tags.length * 2);
      tags.set(this.tags);
      this.tags = tags;
    }
    const id = this.n++;
    this.data.set(bits.subarray(0, w), id * w);
    this.tags[id] = tag;
    if (same === undefined) this.index.set(h, [id]);
    else same.push(id);
    return id;
  }

  /** Drops the build-time index and the unused tail of the bitmaps; computes the summaries. */
  seal(): void {
    this.index.clear();
    this.data = this.data.slice(0, Math.max(1, this.n) * this.words);
    this.tags = this.tags.slice(0, Math.max(1, this.n));
    this.sums = new Uint32Array(Math.max(1, this.n) * this.summaryWords);
    this.nonZero = new Int32Array(Math.max(1, this.n));
    this.listAt = new Int32Array(Math.max(1, this.n)).fill(-1);
    let listed = 0;
    for (let c = 0; c < this.n; c++) {
      for (let i = 0; i < this.words; i++) {
        if (this.data[c * this.words + i] !== 0) {
          setBit(this.sums.subarray(c * this.summaryWords), i);
          this.nonZero[c]++;
        }
      }
      if (this.isSparse(c)) listed += this.nonZero[c];
    }
    this.list = new Int32Array(2 * listed);
    for (let c = 0, o = 0; c < this.n; c++) {
      if (!this.isSparse(c)) continue;
      this.listAt[c] = o;
      for (let i = 0; i < this.words; i++) {
        const x = this.data[c * this.words + i];
        if (x === 0) continue;
        this.list[o++] = i;
        this.list[o++] = x;
      }
    }
  }

  /** Listed when at most 1/8 of the words are non-zero: the list then costs at most 1/4 of the bitmap. */
  private isSparse(c: number): boolean {
    return this.nonZero[c] * 8 <= this.words;
  }

  get bytes(): number {
    return this.data.byteLength + this.tags.byteLength + this.sums.byteLength + this.list.byteLength + this.listAt.byteLength + this.nonZero.byteLength;
  }

  private equals(id: number, bits: Uint32Array): boolean {
    const off = id * this.words;
    for (let i = 0; i < this.words; i++) if (this.data[off + i] !== bits[i]) return false;
    return true;
  }
}

export function setBit(bits: Uint32Array, bit: number): void {
  bits[bit >>> 5] |= 1 << (bit & 31);
}

export function clearBit(bits: Uint32Array, bit: number): void {
  bits[bit >>> 5] &= ~(1 << (bit & 31));
}
