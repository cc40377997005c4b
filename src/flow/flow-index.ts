// FlowIndex: the concurrent hash index of the flow table, in a
// SharedArrayBuffer that every packet worker maps. It answers "which flow, in
// which direction, has this 4-word key?" (flow-key.ts) for both keys of every
// flow, so a reply whose tuple NAT changed is found by whichever worker the
// NIC's hash sends it to.
//
// Shape (DPDK rte_hash's, with VPP bihash's one-cache-line buckets):
//
//   bucket = 16 Int32 words = 64 bytes, one cache line (placed on a line
//   boundary: a SharedArrayBuffer's memory starts 16 bytes past one, so the
//   buckets start after a pad the addon measures, huge-pages.ts lineOffset;
//   at offset 0 every bucket straddled two lines)
//     word 0      version: a seqlock whose odd values are also the writer lock
//     word 1      overflow: how many keys whose primary bucket is this one
//                 live in their secondary bucket (a miss reads one bucket
//                 when it is 0: 94.5% of buckets at 1M flows, 55% load)
//     words 2-8   7 signatures: the key's full 32-bit hash
//     words 9-15  7 values: flowId << 1 | direction (0 original, 1 reply), -1 empty
//
// Against the planned bucket (a version word, a lock word and 8 entries, 72
// bytes): the lock is the version's odd state (a seqlock's writer lock), so
// the bucket is one cache line, and the word saved holds the overflow count;
// A/B at 1M flows (CPU ns, min/median of 4 runs): misses 124/167 with the
// count, 174/246 reading the secondary every time.
//
// The keys themselves are not in the index: a value names the flow whose
// record holds them (FlowTable keeps a flow's two keys in 8 consecutive
// words, which it needs anyway to remove both when the flow ends), so a hit
// costs the bucket's line and the key's line. Storing the keys here instead
// would take 20 bytes a slot instead of 8.
//
// Two candidate buckets per key: primary = hash & mask, secondary = primary
// XOR an odd number taken from the hash's product with a constant (never the
// primary, and computable from the stored signature alone, which moves need).
// Inserts go to the primary if it has room, else the secondary, else one
// entry of a full candidate that sits in its primary moves to its own
// secondary (a one-step cuckoo move) and the insert tries again.
// Entries only ever move primary -> secondary, which is what lets a reader
// scan primary then secondary without the global "table changed" counter
// rte_hash needs: a key moving the other way could slip past a reader that
// has left the secondary for the primary; moving this way it cannot (see
// `makeRoom`).
//
// Sizing: keys <= 0.7 x 7 x buckets, buckets a power of two. Under churn at
// a steady load (remove one key, insert a new one, 10 x the slots; bench
// rows `flow/index-churn`, this code, 2^14 buckets) inserts fail 0 times per
// million at 70%, ~1.7 at 75%, ~70 at 80% (a simulation of the policy at
// 2^16-2^18 buckets agrees, and gives 0.13% at 85%): entries drift into
// secondaries under churn and never move back. Filling without churn first
// fails at 79%.
// A flow table of capacity F thus gets the smallest power of two >=
// 2F / 4.9 buckets: 2^19 (32 MiB, 32 bytes per flow) for F = 2^20, and at
// worst 52.2 bytes per flow when 2F / 4.9 lands just past a power of two.
//
// Concurrency. Readers take no lock: read the version, the signatures and
// values (and the key words of a matching record), the version again, and
// retry if it was odd or changed. Writers take the lock of every bucket they
// change by CAS of the version from even to odd, in ascending bucket order (so
// two writers never wait on each other in a cycle), change entries, and
// release by storing version + 1. Every change to a key's entry, wherever it
// sits, is made holding the lock of the key's primary bucket. `insertPair`
// holds the primaries of both keys of a flow (and, when a key must go to its
// secondary, all four candidates) while it checks that neither key is present
// and places both: two workers opening the same flow at once, or A -> B and
// B -> A at once (the reply key of one is the original key of the other),
// serialise on a shared bucket and the second sees the first's entry.
//
// Everything but the lock (Atomics.compareExchange), the unlock
// (Atomics.store) and a reader's retry is plain typed-array access, because
// in V8 every Atomics call is a builtin call, ~10x the cost of an element
// load (bench/flow/micro.ts, `flow/atomics` rows), and at 1M flows two
// Atomics.load per lookup made the table's part of an established NAT packet
// 2.2x slower (bench/nat/ct-table.ts, `nat/ct-table-1M-random` rows: 681 vs
// 311 ns), the calls keeping the lookups of a batch from overlapping.
// The reader's two version reads cannot both be plain loads of the same
// array: with no store between them, Node 24's optimising compiler keeps only
// the first (the second is "redundant"), the re-check never fails and a
// reader can take a torn entry (the race test caught it on Node 24; Node 20
// kept both). So the second read goes through `versions`, a second Int32Array
// over the same memory: a load from another array is no repeat of the first,
// and the compiler cannot tell they alias. That fast path has no loop (a
// loop's repeated plain loads could be hoisted); a reader that sees a writer
// retries with Atomics.load, which is neither dropped nor moved.
// test/flow/flow-race.test.ts checks this pattern on the Node that runs the
// tests (CI runs Node 20 and 24): no torn read with the re-check, many
// without it.
// The rest is sound where the dataplane runs: x86-64 keeps loads in order
// with loads and stores with stores, the locked CAS and Atomics.store's
// xchg are full barriers, and V8 keeps typed-array accesses in program order.
// A weakly ordered CPU (ARM) would need the data loads to be ordered too.
//
// What the version check is for here: a reader that read a slot just before
// its flow was removed, then the flow's record after the owner gave the id to
// a new flow with the same key while another worker inserted that key too
// (the record names the key, but the index maps it to the other flow). The
// other races are settled without it, by the order of the writers' stores (a
// moved entry is copied before it is cleared, the overflow count raised
// before that) and by checking every candidate against the record's key:
// test/flow/flow-race.test.ts still passes with the version check taken out,
// and fails at once with the writers' locks taken out.
// A worker that dies while holding a bucket lock leaves it locked; workers
// only die with the process.

import { hashKey } from './flow-key.js';
import { adviseHugePages, LINE_BYTES, lineOffset } from './huge-pages.js';

/** insertPair result: both keys inserted. */
export const INSERTED = -1;
/** insertPair result: a candidate bucket pair is full even after a move. */
export const INDEX_FULL = -2;
/** lookup/remove result: no such key. */
export const NOT_FOUND = -1;
/** FlowIndex.hinted result: the hint did not confirm the key (it may still be there: lookupRemember). */
const UNCONFIRMED = -3;

export const SLOTS = 7;
const BUCKET_SHIFT = 4; // 16 words per bucket
const OVF = 1;
const SIG = 2;
const VAL = SIG + SLOTS;
/** Highest load (keys / slots) the sizing aims at; see the header. */
export const MAX_LOAD = 0.7;
const MAX_BUCKET_BITS = 26;

/**
 * Entries of a view's slot memo (FlowIndex.slotMemo): 16 KiB, four for each
 * of a hot set's 1024 keys. A hot set of 256 misses it at 5.5% of its
 * lookups (two keys on one entry take turns), each a scan; yet 1024, 16384
 * and 65536 entries were 1.007x, 1.004x and 1.01x the CPU per hot NAT
 * packet (AMD EPYC, A/B in one process: ip4-fast-flow.ts's header).
 */
const SLOT_MEMO_SIZE = 4096;

const HEADER_BYTES = 64;
const MAGIC = 0x464c4958; // "FLIX"
const H_MAGIC = 0;
const H_BITS = 1;
const H_SEED = 2;
/** Cuckoo moves done (statistics). */
const H_MOVES = 3;
/** Bytes between the header and the first bucket, which puts every bucket in one cache line (huge-pages.ts lineOffset). */
const H_PAD = 4;

const ALT_MULT = 0x9e3779b1 | 0;


export class FlowIndex {
  // `declare`: TypeScript emits no field definition for these, so the
  // constructor's assignment is each field's first value and V8 keeps its
  // type (Int32Array, Smi). A plain declaration is emitted as a field that
  // starts as undefined, which made every lookup ~9 ns slower (22.8 vs 14.1).
  declare readonly buckets: Int32Array;
  /** The same memory as `buckets`, through a second view: where scan's fast path reads the version again (see "Concurrency"). */
  private declare readonly versions: Int32Array;
  declare readonly bucketCount: number;
  private declare readonly header: Int32Array;
  private declare readonly mask: number;
  private declare readonly altShift: number;
  declare readonly seed: number;
  /** The flow records' key words (see the constructor). */
  declare readonly keys: Int32Array;
  declare readonly recordShift: number;
  /** Bucket numbers of the current insertPair, sorted for lock order. */
  private readonly lockSet = new Int32Array(4);
  private lockCount = 0;
  /** Sink for loads made only to bring lines into the cache. */
  private touched = 0;
  /** lookupBatchHashed's scratch: per key, the entry the record pass found (recordsAndSlotsOf). */
  private hints = new Int32Array(0);
  /** lookupBatchHashed's scratch: the keys whose hint did not confirm them (lookupUnconfirmed). */
  private unconfirmed = new Int32Array(0);
  /** warmBatch's scratch: the keys whose primary did not hold them, where their secondary may (recordsAndSlotsOf). */
  private pending = new Int32Array(0);
  /**
   * This view's memo of where recent batch lookups found their keys: the
   * word index in `buckets` of the entry (its signature's), by the hash's
   * low bits, 0 for none (word 0 is a version word, never an entry). A
   * hint only: lookupBatchHashed checks the entry under its bucket's
   * seqlock and against the record's key, as scan() does, and scans on a
   * miss, so a removed or moved entry costs the scan and nothing else.
   */
  private readonly slotMemo = new Int32Array(SLOT_MEMO_SIZE);

  /** Buckets for `keys` keys at MAX_LOAD (a power of two, at least 2). */
  static bucketsFor(keys: number): number {
    let b = 2;
    while (b * SLOTS * MAX_LOAD < keys) b *= 2;
    return b;
  }

  static bytesFor(buckets: number): number {
    return HEADER_BYTES + LINE_BYTES + buckets * (1 << BUCKET_SHIFT) * 4;
  }

  /** A fresh, empty index of `buckets` buckets (a power of two, 2..2^26) in a new SharedArrayBuffer. */
  static create(buckets: number, seed: number): SharedArrayBuffer {
    const bits = Math.log2(buckets);
    if (!Number.isInteger(bits) || bits < 1 || bits > MAX_BUCKET_BITS) {
      throw new Error(`flow index: buckets must be a power of two in 2..2^${MAX_BUCKET_BITS} (got ${buckets})`);
    }
    const buf = new SharedArrayBuffer(FlowIndex.bytesFor(buckets));
    adviseHugePages(buf); // before the fill below first touches it
    const pad = lineOffset(buf);
    const h = new Int32Array(buf, 0, HEADER_BYTES / 4);
    h[H_MAGIC] = MAGIC;
    h[H_BITS] = bits;
    h[H_SEED] = seed | 0;
    h[H_PAD] = pad;
    const b = new Int32Array(buf, HEADER_BYTES + pad, buckets << BUCKET_SHIFT);
    for (let base = 0; base < b.length; base += 1 << BUCKET_SHIFT) b.fill(-1, base + VAL, base + VAL + SLOTS);
    return buf;
  }

  /**
   * A view of an index made by `create`. `keys` holds the flow records: the
   * record of flow f starts at word f << recordShift, its original key in
   * words 0-3 and its reply key in words 4-7.
   */
  constructor(buffer: SharedArrayBuffer, keys: Int32Array, recordShift: number) {
    this.header = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    if (this.header[H_MAGIC] !== MAGIC) throw new Error('flow index: buffer was not made by FlowIndex.create');
    const bits = this.header[H_BITS];
    this.bucketCount = 2 ** bits;
    const at = HEADER_BYTES + this.header[H_PAD];
    this.buckets = new Int32Array(buffer, at, this.bucketCount << BUCKET_SHIFT);
    this.versions = new Int32Array(buffer, at, this.bucketCount << BUCKET_SHIFT);
    this.mask = this.bucketCount - 1;
    this.altShift = 32 - bits;
    this.seed = this.header[H_SEED];
    this.keys = keys;
    this.recordShift = recordShift;
  }

  /** The key's 32-bit hash, its signature in the index. */
  hash(k0: number, k1: number, k2: number, k3: number): number {
    return hashKey(k0, k1, k2, k3, this.seed);
  }

  /** The secondary bucket of a key with hash h (never its primary). */
  private secondary(h: number): number {
    return (h & this.mask) ^ ((Math.imul(h, ALT_MULT) >>> this.altShift) | 1);
  }

  /** The value (flowId << 1 | dir) stored for the key, or NOT_FOUND. Lock-free. */
  lookup(k0: number, k1: number, k2: number, k3: number): number {
    return this.lookupHashed(k0, k1, k2, k3, hashKey(k0, k1, k2, k3, this.seed));
  }

  /** lookup() of a key whose hash(k0, k1, k2, k3) the caller has already (a new flow's key is hashed once, then looked up, warmed and inserted). */
  lookupHashed(k0: number, k1: number, k2: number, k3: number, h: number): number {
    const r = this.scan((h & this.mask) << BUCKET_SHIFT, h, k0, k1, k2, k3);
    if (r !== -2) return r;
    const s = this.scan(this.secondary(h) << BUCKET_SHIFT, h, k0, k1, k2, k3);
    return s >= 0 ? s : NOT_FOUND;
  }

  // ---- Warming, for callers that handle a batch in passes (nat-output's
  // new flows): hashes computed in one pass, then `touchBuckets` loads their
  // primary buckets, `recordsOf` finds the records those buckets name and
  // `touchWords` loads them, so a lookup of each key afterwards reads only
  // cached lines, the misses of the whole batch overlapped instead of paid
  // one after the other. The touching loops do nothing else on purpose: a
  // CPU keeps ~200 instructions in flight, so only a short loop body lets
  // it run far enough ahead for many misses to overlap (a pass that also
  // matched rules and hashed overlapped almost nothing: measured). They only
  // read, so they need no lock and no version check: what they read only
  // decides which lines to load.

  /** Loads the primary bucket line of each of hashes[0..n) (loads folded into a sink: JavaScript has no prefetch). */
  touchBuckets(hashes: Int32Array, n: number): void {
    const b = this.buckets;
    const mask = this.mask;
    let t = 0;
    for (let i = 0; i < n; i++) t ^= b[((hashes[i] & mask) << BUCKET_SHIFT) + OVF];
    this.touched ^= t;
  }

  /**
   * For each of hashes[0..n): the word index in `keys` of the record of the
   * first entry of its primary bucket with that signature (the record a
   * lookup's key check reads), or 0 when none. For touchWords(keys, ...).
   */
  recordsOf(hashes: Int32Array, n: number, out: Int32Array): void {
    const b = this.buckets;
    const mask = this.mask;
    const shift = this.recordShift;
    for (let i = 0; i < n; i++) {
      const h = hashes[i];
      let r = 0;
      for (let s = ((h & mask) << BUCKET_SHIFT) + SIG, end = s + SLOTS; s < end; s++) {
        if (b[s] === h && b[s + SLOTS] >= 0) {
          r = (b[s + SLOTS] >> 1) << shift;
          break;
        }
      }
      out[i] = r;
    }
  }

  /**
   * recordsOf(), and in slots[i] the word index in the index of the entry it
   * took (its signature's), or 0 when none: lookupBatchHashed's hints. A key
   * its primary does not hold, where some key of that bucket overflowed,
   * goes to `pending` (its i): it may sit in its secondary, whose line no
   * pass has loaded (secondariesOf). Returns how many are pending.
   */
  private recordsAndSlotsOf(hashes: Int32Array, n: number, out: Int32Array, slots: Int32Array, pending: Int32Array): number {
    const b = this.buckets;
    const mask = this.mask;
    const shift = this.recordShift;
    let np = 0;
    for (let i = 0; i < n; i++) {
      const h = hashes[i];
      let r = 0;
      let at = 0;
      const base = (h & mask) << BUCKET_SHIFT;
      for (let s = base + SIG, end = s + SLOTS; s < end; s++) {
        if (b[s] === h && b[s + SLOTS] >= 0) {
          r = (b[s + SLOTS] >> 1) << shift;
          at = s;
          break;
        }
      }
      out[i] = r;
      slots[i] = at;
      if (at === 0 && b[base + OVF] !== 0) pending[np++] = i;
    }
    return np;
  }

  /**
   * The record pass for the pending keys of recordsAndSlotsOf (pending[0..np),
   * indexes into hashes, out and slots): their secondary buckets' lines
   * loaded in one loop, so those misses overlap (2.5% of the keys at
   * 1M flows, 55% load, sit in their secondary: each was two misses one after the other
   * in the lookup itself, bucket then record), then the same search there.
   */
  private secondariesOf(hashes: Int32Array, pending: Int32Array, np: number, out: Int32Array, slots: Int32Array): void {
    const b = this.buckets;
    const shift = this.recordShift;
    let t = 0;
    for (let q = 0; q < np; q++) t ^= b[(this.secondary(hashes[pending[q]]) << BUCKET_SHIFT) + OVF];
    this.touched ^= t;
    for (let q = 0; q < np; q++) {
      const i = pending[q];
      const h = hashes[i];
      for (let s = (this.secondary(h) << BUCKET_SHIFT) + SIG, end = s + SLOTS; s < end; s++) {
        if (b[s] === h && b[s + SLOTS] >= 0) {
          out[i] = (b[s + SLOTS] >> 1) << shift;
          slots[i] = s;
          break;
        }
      }
    }
  }

  /** Loads words[at[0..n)] (warming). */
  touchWords(words: Int32Array, at: Int32Array, n: number): void {
    let t = 0;
    for (let i = 0; i < n; i++) t ^= words[at[i]];
    this.touched ^= t;
  }

  /**
   * One consistent read of a bucket: the key's value, or -1 when it is absent
   * and no key overflowed from this bucket, or -2 when it is absent and some did.
   */
  private scan(base: number, h: number, k0: number, k1: number, k2: number, k3: number): number {
    // Fast path, no loop: the version, the entries, the version again through
    // the other view (plain loads of two different arrays: neither is the
    // other's repeat, so the compiler keeps both; see "Concurrency").
    const v = this.buckets[base];
    const res = this.probe(base, h, k0, k1, k2, k3);
    if ((v & 1) === 0 && this.versions[base] === v) return res;
    // A writer was there: retry with Atomics.load, which no compiler drops or hoists out of the loop.
    for (;;) {
      const v2 = Atomics.load(this.buckets, base);
      const res2 = this.probe(base, h, k0, k1, k2, k3);
      if ((v2 & 1) === 0 && Atomics.load(this.buckets, base) === v2) return res2;
    }
  }

  /** The bucket's entries for the key: its value, or -1 when absent and none overflowed, or -2 when absent and some did. */
  private probe(base: number, h: number, k0: number, k1: number, k2: number, k3: number): number {
    const b = this.buckets;
    const keys = this.keys;
    const shift = this.recordShift;
    for (let s = base + SIG, end = base + SIG + SLOTS; s < end; s++) {
      if (b[s] === h) {
        const val = b[s + SLOTS];
        if (val >= 0) {
          const r = ((val >> 1) << shift) + ((val & 1) << 2);
          if (keys[r] === k0 && keys[r + 1] === k1 && keys[r + 2] === k2 && keys[r + 3] === k3) return val;
        }
      }
    }
    return b[base + OVF] !== 0 ? -2 : -1;
  }

  /**
   * Inserts the original key (value flowId << 1) and the reply key (flowId << 1 | 1)
   * of a flow whose record already holds both keys. Returns INSERTED, INDEX_FULL,
   * or the value already stored for one of the keys (>= 0; nothing inserted).
   * When the two keys are equal (a flow to itself) only the original is stored.
   */
  insertPair(o0: number, o1: number, o2: number, o3: number, r0: number, r1: number, r2: number, r3: number, flowId: number): number {
    return this.insertPairHashed(o0, o1, o2, o3, r0, r1, r2, r3, hashKey(o0, o1, o2, o3, this.seed), hashKey(r0, r1, r2, r3, this.seed), flowId);
  }

  /** insertPair() with the keys' hashes (ho = hash(o0..o3), hr = hash(r0..r3)) computed by the caller. */
  insertPairHashed(o0: number, o1: number, o2: number, o3: number, r0: number, r1: number, r2: number, r3: number, ho: number, hr: number, flowId: number): number {
    const same = o0 === r0 && o1 === r1 && o2 === r2 && o3 === r3;
    const po = ho & this.mask;
    const pr = hr & this.mask;
    const vo = flowId << 1;
    const b = this.buckets;
    // Fast path: only the two primaries locked, enough when both keys fit
    // there (~95% of inserts at 70% load). A/B at 1M flows: 548/708 ns per
    // insert (CPU, min/median of 4) against 817/870 locking all four. Sound because every change to a
    // key's entry, wherever it sits, is made holding the key's primary lock
    // (inserts, removes and moves all lock it), so with the primaries held
    // neither key can appear or vanish, and their secondaries can be read
    // unlocked for the existence check (see findKey).
    // Touch both lines first: their cache misses overlap instead of being paid
    // in turn by the CASes of the locks.
    this.touched = b[po << BUCKET_SHIFT] ^ b[pr << BUCKET_SHIFT];
    // Two locks at most, taken in ascending order without lockAll's sort (its
    // four-way sort and lock set were ~2% of a new flow's time).
    const lo = po < pr ? po : pr;
    const hi = po < pr ? pr : po;
    this.lock(lo);
    if (hi !== lo) this.lock(hi);
    let found = this.findKey(po, ho, o0, o1, o2, o3);
    if (found < 0 && !same) found = this.findKey(pr, hr, r0, r1, r2, r3);
    if (found >= 0) {
      this.unlockPair(lo, hi);
      return found;
    }
    const slotO = this.freeSlot(po);
    if (slotO >= 0) {
      this.fill(slotO, ho, vo);
      if (same) {
        this.unlockPair(lo, hi);
        return INSERTED;
      }
      const slotR = this.freeSlot(pr);
      if (slotR >= 0) {
        this.fill(slotR, hr, vo | 1);
        this.unlockPair(lo, hi);
        return INSERTED;
      }
      this.clearSlot(slotO, po);
    }
    this.unlockPair(lo, hi);
    return this.insertPairSlow(o0, o1, o2, o3, r0, r1, r2, r3, ho, hr, same, vo);
  }

  /** insertPair when a key needs its secondary: all four candidate buckets locked, cuckoo moves. */
  private insertPairSlow(o0: number, o1: number, o2: number, o3: number, r0: number, r1: number, r2: number, r3: number, ho: number, hr: number, same: boolean, vo: number): number {
    const po = ho & this.mask;
    const so = this.secondary(ho);
    const pr = hr & this.mask;
    const sr = this.secondary(hr);
    for (let attempt = 0; attempt < 8; attempt++) {
      this.lockAll(po, so, pr, sr);
      let found = this.findKey(po, ho, o0, o1, o2, o3);
      if (found < 0 && !same) found = this.findKey(pr, hr, r0, r1, r2, r3);
      if (found >= 0) {
        this.unlockAll();
        return found;
      }
      const slotO = this.place(po, so, ho, vo);
      if (slotO >= 0) {
        if (same || this.place(pr, sr, hr, vo | 1) >= 0) {
          this.unlockAll();
          return INSERTED;
        }
        this.clearSlot(slotO, po);
      }
      this.unlockAll();
      const moved = slotO < 0 ? this.makeRoom(po) || this.makeRoom(so) : this.makeRoom(pr) || this.makeRoom(sr);
      if (!moved) break;
    }
    return INDEX_FULL;
  }

  /**
   * Removes a key; with `value` >= 0 only the entry holding that value (an
   * expiring flow never removes another flow's key). Returns the removed
   * value or NOT_FOUND.
   */
  remove(k0: number, k1: number, k2: number, k3: number, value = -1): number {
    return this.removeHashed(k0, k1, k2, k3, hashKey(k0, k1, k2, k3, this.seed), value);
  }

  /** remove() of a key whose hash the caller has (an expiring batch, hashed in one pass to warm its buckets). */
  removeHashed(k0: number, k1: number, k2: number, k3: number, h: number, value = -1): number {
    const p = h & this.mask;
    const pb = p << BUCKET_SHIFT;
    const b = this.buckets;
    // Usually the key is in its primary: lock just that.
    this.lock(p);
    let slot = value >= 0 ? this.findValueLocked(pb, h, value) : this.findLocked(pb, h, k0, k1, k2, k3);
    if (slot >= 0 || b[pb + OVF] === 0) {
      let removed = NOT_FOUND;
      if (slot >= 0) {
        removed = b[slot + SLOTS];
        this.clearSlot(slot, p);
      }
      this.unlock(p);
      return removed;
    }
    this.unlock(p);
    // It may be in its secondary: lock both, in order, and look again.
    const s = this.secondary(h);
    const lo = p < s ? p : s;
    const hi = p < s ? s : p;
    this.lock(lo);
    this.lock(hi);
    slot = value >= 0 ? this.findValueLocked(pb, h, value) : this.findLocked(pb, h, k0, k1, k2, k3);
    if (slot < 0) slot = value >= 0 ? this.findValueLocked(s << BUCKET_SHIFT, h, value) : this.findLocked(s << BUCKET_SHIFT, h, k0, k1, k2, k3);
    let removed = NOT_FOUND;
    if (slot >= 0) {
      removed = b[slot + SLOTS];
      this.clearSlot(slot, p);
    }
    this.unlock(hi);
    this.unlock(lo);
    return removed;
  }

  // ---- Writer internals: called with the named buckets locked.

  private lock(bucket: number): void {
    const b = this.buckets;
    const i = bucket << BUCKET_SHIFT;
    // The first read is a plain guess; the CAS returns what it found, and a
    // locked bucket is re-read with Atomics.load (a plain re-read in this
    // loop may be hoisted out of it).
    let v = b[i];
    for (;;) {
      if ((v & 1) === 0) {
        const seen = Atomics.compareExchange(b, i, v, (v + 1) | 0);
        if (seen === v) return;
        v = seen;
      } else v = Atomics.load(b, i);
    }
  }

  private unlock(bucket: number): void {
    const i = bucket << BUCKET_SHIFT;
    Atomics.store(this.buckets, i, (this.buckets[i] + 1) | 0);
  }

  /** Releases the fast path's locks (lo <= hi; one when equal), in the reverse order. */
  private unlockPair(lo: number, hi: number): void {
    if (hi !== lo) this.unlock(hi);
    this.unlock(lo);
  }

  /** Locks the distinct buckets among a..d in ascending order. */
  private lockAll(a: number, b: number, c: number, d: number): void {
    const set = this.lockSet;
    set[0] = a;
    set[1] = b;
    set[2] = c;
    set[3] = d;
    // Insertion sort of four, then drop repeats.
    for (let i = 1; i < 4; i++) {
      const x = set[i];
      let j = i - 1;
      while (j >= 0 && set[j] > x) {
        set[j + 1] = set[j];
        j--;
      }
      set[j + 1] = x;
    }
    let n = 1;
    for (let i = 1; i < 4; i++) if (set[i] !== set[n - 1]) set[n++] = set[i];
    this.lockCount = n;
    for (let i = 0; i < n; i++) this.lock(set[i]);
  }

  private unlockAll(): void {
    for (let i = this.lockCount - 1; i >= 0; i--) this.unlock(this.lockSet[i]);
    this.lockCount = 0;
  }

  /** Word index of the key's signature slot in the bucket at `base`, or -1. */
  private findLocked(base: number, h: number, k0: number, k1: number, k2: number, k3: number): number {
    const b = this.buckets;
    const keys = this.keys;
    const shift = this.recordShift;
    for (let s = base + SIG, end = base + SIG + SLOTS; s < end; s++) {
      const val = b[s + SLOTS];
      if (b[s] === h && val >= 0) {
        const r = ((val >> 1) << shift) + ((val & 1) << 2);
        if (keys[r] === k0 && keys[r + 1] === k1 && keys[r + 2] === k2 && keys[r + 3] === k3) return s;
      }
    }
    return -1;
  }

  private findValueLocked(base: number, h: number, value: number): number {
    const b = this.buckets;
    for (let s = base + SIG, end = base + SIG + SLOTS; s < end; s++) if (b[s + SLOTS] === value && b[s] === h) return s;
    return -1;
  }

  /**
   * The value stored for a key, or -1, with the key's primary bucket p locked:
   * p, then the secondary if any key of p overflowed. The secondary may be
   * read unlocked: only a holder of p's lock changes this key's entry there,
   * and other writers' half-written entries fail the record's key check.
   */
  private findKey(p: number, h: number, k0: number, k1: number, k2: number, k3: number): number {
    const b = this.buckets;
    const pb = p << BUCKET_SHIFT;
    let slot = this.findLocked(pb, h, k0, k1, k2, k3);
    if (slot < 0 && b[pb + OVF] !== 0) slot = this.findLocked(this.secondary(h) << BUCKET_SHIFT, h, k0, k1, k2, k3);
    return slot < 0 ? -1 : b[slot + SLOTS];
  }

  private fill(slot: number, h: number, value: number): void {
    this.buckets[slot] = h;
    this.buckets[slot + SLOTS] = value;
  }

  private freeSlot(bucket: number): number {
    const b = this.buckets;
    const base = bucket << BUCKET_SHIFT;
    for (let s = base + SIG, end = base + SIG + SLOTS; s < end; s++) if (b[s + SLOTS] < 0) return s;
    return -1;
  }

  /** Stores (h, value) in the primary if it has room, else the secondary; the slot or -1. */
  private place(p: number, s: number, h: number, value: number): number {
    const b = this.buckets;
    let slot = this.freeSlot(p);
    if (slot < 0) {
      slot = this.freeSlot(s);
      if (slot < 0) return -1;
      b[(p << BUCKET_SHIFT) + OVF]++;
    }
    this.fill(slot, h, value);
    return slot;
  }

  /** Empties a slot holding a key whose primary bucket is p. */
  private clearSlot(slot: number, p: number): void {
    const b = this.buckets;
    b[slot + SLOTS] = -1;
    b[slot] = 0;
    if (slot >>> BUCKET_SHIFT !== p) b[(p << BUCKET_SHIFT) + OVF]--;
  }

  /**
   * Frees a slot in bucket x by moving one of its entries that sits in its
   * primary (x) to its secondary. The copy lands in the secondary and the
   * overflow count of x goes up before the original is cleared, all under
   * both locks: a reader that finds x without the key read x after the
   * move (its version changed) and so also sees the overflow count and the
   * key's new place.
   */
  private makeRoom(x: number): boolean {
    const b = this.buckets;
    const base = x << BUCKET_SHIFT;
    for (let i = 0; i < SLOTS; i++) {
      const sig = b[base + SIG + i];
      const val = b[base + VAL + i];
      if (val < 0 || (sig & this.mask) !== x) continue;
      const s = this.secondary(sig);
      if (this.freeSlot(s) < 0) continue; // a peek; checked again under the locks
      const lo = x < s ? x : s;
      const hi = x < s ? s : x;
      this.lock(lo);
      this.lock(hi);
      const to = b[base + SIG + i] === sig && b[base + VAL + i] === val ? this.freeSlot(s) : -1;
      if (to >= 0) {
        b[to] = sig;
        b[to + SLOTS] = val;
        b[base + OVF]++;
        b[base + VAL + i] = -1;
        b[base + SIG + i] = 0;
      }
      this.unlock(hi);
      this.unlock(lo);
      if (to >= 0) {
        Atomics.add(this.header, H_MOVES, 1);
        return true;
      }
    }
    return false;
  }

  // ---- Control side (allocates; not for the packet path).

  /** The key's [primary, secondary] buckets (flow dumps, tests). */
  candidateBuckets(k0: number, k1: number, k2: number, k3: number): [number, number] {
    const h = hashKey(k0, k1, k2, k3, this.seed);
    return [h & this.mask, this.secondary(h)];
  }

  /** The [primary, secondary] buckets of a key with hash h. */
  candidatesOfHash(h: number): [number, number] {
    return [h & this.mask, this.secondary(h)];
  }

  /** Cuckoo moves made so far (statistics). */
  moves(): number {
    return Atomics.load(this.header, H_MOVES);
  }

  // ---- Batch lookup (the stateful fast path, src/pipeline/nodes/ip4-fast-flow.ts).

  /**
   * lookup() for n keys at once: keys[4i .. 4i+3] -> out[i] (a value, or
   * NOT_FOUND). The same answers as n lookup() calls, in passes so that the
   * cache misses of a vector overlap instead of coming one after the other
   * (see "Warming"): hash every key (into `hashes`, scratch of at least n
   * words), then lookupBatchHashed(). (The passes written out here, hashing and
   * touching in one loop, were 1.24x the CPU time of this on the fast path's
   * table work at 1M random flows, A/B interleaved by CPU time, 16 rounds:
   * 322 vs 241 ns/packet median.)
   */
  lookupBatch(keys: Int32Array, hashes: Int32Array, out: Int32Array, n: number): void {
    const seed = this.seed | 0;
    for (let i = 0; i < n; i++) {
      const o = i << 2;
      hashes[i] = hashKey(keys[o], keys[o + 1], keys[o + 2], keys[o + 3], seed);
    }
    this.lookupBatchHashed(keys, hashes, out, n);
  }

  /**
   * lookupBatch() for keys whose hashes (hash()) the caller computed where it
   * wrote the keys (the fast path's flow stage: one pass over the vector
   * fewer). touchBuckets; recordsOf (into `out`, as scratch), the same in
   * the secondary bucket for the few keys their primary lacks
   * (secondariesOf), and touchWords over the records' lines (a record is one
   * line with everything a packet of the flow reads: FlowTable); then the
   * lookups proper, whose lines are then cached: a loop that only checks
   * each key's hint, and the scans of the keys it did not confirm after it
   * (lookupUnconfirmed). (recordsOf and touchWords fused into one pass were 0.96x
   * at 1M random flows, the same on a hot set: A/B interleaved, 20 rounds.)
   * The warming passes only load, so a writer meanwhile changes nothing but
   * the speed: the last pass is lookup()'s scan, except that it first tries
   * the slot the record pass found (its signature matched): one entry's
   * check under the seqlock instead of a walk over the bucket's seven, and
   * the usual hit. A hint that is stale (a writer moved the entry since) or
   * another key's (two keys with one hash) fails the check, and the scan
   * runs. (NAT established, 1M random flows: ~0.94x the CPU time per packet
   * with the hint, the two builds in one process, both orders to cancel the
   * tables' placement; a hot set of 256 flows: within noise. AMD EPYC.)
   *
   * `warm` false: no warming passes, for a batch whose lines are likely
   * cached already (the flow stage judges that by how many of the previous
   * batch's flows it had seen lately): on a hot set of 256 flows each
   * warming pass is a loop over the batch that brings in nothing. The hint
   * then comes from the slot memo (where this view last found the key; a
   * miss scans and updates the memo). (A/B in one process, hot NAT set of
   * 256 flows, load 15: 0.96x the CPU time per packet with the memo.)
   */
  lookupBatchHashed(keys: Int32Array, hashes: Int32Array, out: Int32Array, n: number, warm = true): void {
    const hints = warm ? this.warmBatch(hashes, n, out) : this.hints;
    if (this.unconfirmed.length < n) this.unconfirmed = new Int32Array(Math.max(n, 256));
    const unconfirmed = this.unconfirmed;
    const memo = this.slotMemo;
    let nu = 0;
    for (let i = 0; i < n; i++) {
      const o = i << 2;
      const h = hashes[i];
      const v = this.hinted(h, keys[o], keys[o + 1], keys[o + 2], keys[o + 3], warm ? hints[i] : memo[h & (SLOT_MEMO_SIZE - 1)]);
      out[i] = v;
      if (v === UNCONFIRMED) unconfirmed[nu++] = i;
    }
    if (nu > 0) this.lookupUnconfirmed(keys, hashes, out, nu, !warm);
  }

  /**
   * lookupBatchHashed's lookups that the hint did not confirm (their
   * indexes in unconfirmed[0..nu)): the scans, in a loop of their own. In
   * the batch loop the scan's code (V8 inlines it where it is called)
   * made the loop that every key runs larger for the few that need it.
   */
  private lookupUnconfirmed(keys: Int32Array, hashes: Int32Array, out: Int32Array, nu: number, remember: boolean): void {
    const unconfirmed = this.unconfirmed;
    for (let q = 0; q < nu; q++) {
      const i = unconfirmed[q];
      const o = i << 2;
      out[i] = this.lookupRemember(keys[o], keys[o + 1], keys[o + 2], keys[o + 3], hashes[i], remember);
    }
  }

  /**
   * lookupBatchHashed()'s warming passes over hashes[0..n) (`scratch`: n
   * words the record pass writes): touchBuckets, the record pass, touchWords.
   * Returns the hints: per key, the word index of the entry whose signature
   * matched in its primary bucket, or 0 (for hinted()).
   */
  private warmBatch(hashes: Int32Array, n: number, scratch: Int32Array): Int32Array {
    if (this.hints.length < n) {
      this.hints = new Int32Array(Math.max(n, 256));
      this.pending = new Int32Array(Math.max(n, 256));
    }
    const hints = this.hints;
    this.touchBuckets(hashes, n);
    const np = this.recordsAndSlotsOf(hashes, n, scratch, hints, this.pending);
    if (np > 0) this.secondariesOf(hashes, this.pending, np, scratch, hints);
    this.touchWords(this.keys, scratch, n);
    return hints;
  }

  /**
   * The key's value if the entry at word index `at` (a hint: warmBatch's, or
   * the slot memo's at the hash's low bits; 0 for none) holds it, checked as
   * scan()'s fast path: the primary's version (every change to a key's
   * entry, wherever it sits, holds its primary's lock), the entry and its
   * record's key, the version again through the other view. Else
   * UNCONFIRMED: then lookupRemember(). (Called from the flow stage's
   * decision loop instead, the lookups fused into it, this was 1.16x the CPU
   * per hot NAT packet: V8 inlined the scan too, and the loop grew.)
   */
  private hinted(h: number, k0: number, k1: number, k2: number, k3: number, at: number): number {
    if (at === 0) return UNCONFIRMED;
    const b = this.buckets;
    const base = (h & this.mask) << BUCKET_SHIFT;
    const v = b[base];
    const val = b[at + SLOTS];
    if (b[at] !== h || val < 0) return UNCONFIRMED;
    const words = this.keys;
    const r = ((val >> 1) << this.recordShift) + ((val & 1) << 2);
    if (words[r] === k0 && words[r + 1] === k1 && words[r + 2] === k2 && words[r + 3] === k3 && (v & 1) === 0 && this.versions[base] === v) return val;
    return UNCONFIRMED;
  }

  /** lookupHashed() where hinted() did not confirm the key; `remember`: note where it was found in the slot memo. */
  private lookupRemember(k0: number, k1: number, k2: number, k3: number, h: number, remember: boolean): number {
    const val = this.lookupHashed(k0, k1, k2, k3, h);
    if (val >= 0 && remember) this.slotMemo[h & (SLOT_MEMO_SIZE - 1)] = this.slotOf(h, val);
    return val;
  }

  /** The word index of the entry with signature h and value val, in h's primary or secondary bucket, or 0 (a hint for slotMemo: read without the seqlock). */
  private slotOf(h: number, val: number): number {
    const b = this.buckets;
    for (let base = (h & this.mask) << BUCKET_SHIFT, pass = 0; pass < 2; pass++, base = this.secondary(h) << BUCKET_SHIFT) {
      for (let s = base + SIG, end = s + SLOTS; s < end; s++) if (b[s] === h && b[s + SLOTS] === val) return s;
    }
    return 0;
  }
}
