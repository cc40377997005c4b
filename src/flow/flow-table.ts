// FlowTable: the connection-tracking table shared by all packet workers:
// flow records plus the FlowIndex over both keys of each flow, in
// SharedArrayBuffers made on the main thread (`create`) and mapped by each
// worker (`attach`).
//
// Records: one 64-byte record per flow, on a cache-line boundary (the
// buffer's first bytes pad it there: huge-pages.ts lineOffset), in the
// `records` buffer:
//
//   keys    words 0-7   original key, reply key (flow-key.ts); the index
//                       verifies every lookup hit against them
//   state   word 8      low 6 bits: the state, 0..62, whose timeout applies;
//                       the rest counts holders (src/nat/refs.ts), 0 for a
//                       flow (CAS by any worker)
//   last    word 9      last seen: ms since the table's epoch, Int32, wrap-safe
//   flags   word 10     IN_USE, SEEN_REPLY, ASSURED (Atomics.or by any worker),
//                       bits 8-15 the owner worker, bits 16-31 the doom tag:
//                       a tag of the generation the control plane asked to
//                       end (requestEnd, by CAS), 0 for none; only the
//                       owner's sweep acts on it (read by the sweep, the
//                       control plane and refs.ts's holds)
//   gen     word 11     generation: bumped each time the id goes to a new flow
//   user    words 12-15 for NAT and LB (binding, backend, ...)
//
// The doom tag was a Uint16Array after all the records: a hold on a
// binding (every new flow takes one) then read a second, random cache line
// to check it, 4% of a new flow's time at 1M flows; in the flags word it is
// on the line the hold's CAS has just brought in.
//
// One line per flow: a packet of an established flow reads the index's
// bucket and this line, and nothing else of the table (the key check, the
// state, last seen, flags, the NAT/LB words and the other direction's key
// for the rewrite), so FlowIndex.lookupBatch's warming pass over the record
// lines warms everything the stage reads. Struct-of-arrays (keys, state,
// last, flags, gen, user each an array: five lines a packet, in five pages)
// measured unbatched and with misaligned lines was no slower (226 vs 224 ns,
// bench/flow `flow/layout-1M`); batched and aligned, the fast path's table
// work at 1M random flows (lookupBatch, the record warming pass, state,
// touch, the other key) is 0.58x its CPU time (241 vs 415 ns/packet median,
// A/B interleaved, 16 rounds, both with 2 MiB pages).
//
// Flow ids are partitioned: worker w owns ids [w * per, (w + 1) * per) and is
// the only one to allocate, free, evict or expire them, with its free list
// and its "no reply yet" list in the links array (two words per id, touched by
// the owner only), so none of that needs a lock. Other workers only look
// flows up, touch them, set flags and CAS the state. A flow whose id a worker
// holds can be expired and its id reused by the owner in the meantime: the
// generation word tells a caller that needs to know.
//
// Eviction: the owner keeps its flows in creation order on a doubly linked
// list until they see a reply. When its slice has no free id, it evicts the
// head of that list, skipping (and unlinking) flows that have seen a reply
// since; if the list empties, the insert fails with TABLE_FULL. Each flow
// enters and leaves the list once, so this is O(1) amortised.
//
// Expiry: `sweep` walks the owner's slice a bounded number of records per call
// and expires flows idle past the timeout of their state (a per-state table
// in the shared header, set at create, changeable by the control plane).
//
// Memory per flow at capacity 2^20: 64 (record) + 8 (links) + 32 (index at
// 55% load) = 104 bytes (and 64 bytes of pad a buffer); at most 124.2 bytes,
// for capacities where the index has just doubled (FlowIndex sizing).
// nf_conntrack: ~300.

import { FlowIndex, INDEX_FULL as INDEX_FULL_RESULT, INSERTED } from './flow-index.js';
import { adviseHugePages, LINE_BYTES, lineOffset } from './huge-pages.js';

/** insert result: a key of the new flow is already in the table; see `existing`. */
export const FLOW_EXISTS = -1;
/** insert result: this worker's slice is full of flows that have seen replies. */
export const TABLE_FULL = -2;
/** insert result: the index's two candidate buckets for a key are full. */
export const INDEX_FULL = -3;

export const DIR_ORIGINAL = 0;
export const DIR_REPLY = 1;

/** Flag bits. */
export const FLAG_IN_USE = 1;
/** FLAG_SEEN_REPLY's bit number (touchAt tests it by shifting). */
const SEEN_REPLY_BIT = 1;
export const FLAG_SEEN_REPLY = 1 << SEEN_REPLY_BIT;
export const FLAG_ASSURED = 4;

/** Words of key per flow (both directions), at the head of its record, where the index reads them. */
const KEY_WORDS = 8;
export const USER_WORDS = 4;
/** A record is 16 words, one 64-byte line: flow f's at word f << REC_SHIFT. */
const REC_SHIFT = 4;
const R_STATE = KEY_WORDS;
const R_LAST = KEY_WORDS + 1;
const R_FLAGS = KEY_WORDS + 2;
const R_GEN = KEY_WORDS + 3;
const R_USER = KEY_WORDS + 4;
/** Bytes per flow in the records buffer: the 64-byte record. */
const RECORD_BYTES = (1 << REC_SHIFT) * 4;
/** The flags word's bits below the doom tag (flags and owner). */
const FLAGS_MASK = 0xffff;
const DOOM_SHIFT = 16;

/**
 * The doom word's tag of a generation: 1..65535, never 0 (no request), and
 * never the tag of the next or previous generation. The owner clears the
 * word each time it gives the id a new flow, so a request that arrives late
 * (for a generation that has ended) lives for one generation at most, and is
 * never the tag of that one.
 */
function doomTag(generation: number): number {
  return ((generation >>> 0) % 0xffff) + 1;
}

export const MAX_STATES = 64;
/** Bits of the state word that hold the state; the bits above count the entry's holders (src/nat/refs.ts), 0 for a flow. */
export const STATE_BITS = 6;
/**
 * The state word of a flow the owner's sweep is ending (its low 6 bits are
 * MAX_STATES - 1): set by CAS from the state the sweep judged, so a worker
 * CASing the state at the same moment either keeps the flow or sees this.
 */
export const CLAIMED_STATE = MAX_STATES - 1;
export const MAX_CAPACITY = 1 << 24;
export const MAX_WORKERS = 255;

// Meta buffer: header words, per-state timeouts, one 64-byte block per worker.
const MAGIC = 0x464c4f57; // "FLOW"
const M_MAGIC = 0;
const M_CAPACITY = 1;
const M_WORKERS = 2;
const M_PER_WORKER = 3;
const M_EPOCH_F64 = 2; // Float64 index (bytes 16-23)
/** Bytes from the records buffer's start to its first record, which puts each record in one cache line (huge-pages.ts lineOffset). */
const M_REC_PAD = 6;
const M_TIMEOUTS = 16;
const M_WORKER_BLOCKS = M_TIMEOUTS + MAX_STATES;
const WORKER_WORDS = 16;
// Per-worker block (owner writes, main thread reads the counters).
const W_FREE_HEAD = 0;
const W_FRESH = 1;
const W_LIST_HEAD = 2;
const W_LIST_TAIL = 3;
const W_SWEEP = 4;
const W_LIVE = 5;
const W_INSERTED = 6;
const W_EXISTED = 7;
const W_EVICTED = 8;
const W_EXPIRED = 9;
const W_TABLE_FULL = 10;
const W_INDEX_FULL = 11;
const W_REMOVED = 12;
/** Packets of a flow idle past its state's timeout that the sweep had not ended yet (see touch). */
const W_STALE = 13;

/** Where readRecord puts each field of a record (Int32 words). */
export const Rec = { KEY: 0, STATE: 8, LAST: 9, FLAGS: 10, GEN: 11, USER: 12, WORDS: 16 } as const;

/** requestEnd results: the flow of the generation asked for was live, and will end. */
export const CAS_DONE = 0;
/** requestEnd result: the flow of that generation had ended (its id may hold another flow, which the request leaves alone). */
export const CAS_GONE = 2;

/** Marks a live flow that is not on its owner's no-reply list (links word 1). */
const NOT_LISTED = -2;

export interface FlowTableOptions {
  /** Most flows at once (config `conntrack.capacity`). */
  capacity: number;
  /** Packet workers; each owns capacity / workers flow ids. */
  workers: number;
  /** Idle timeout of each state, by state number (at most MAX_STATES). */
  timeoutsMs: ArrayLike<number>;
  /** Hash seed (random when absent). */
  seed?: number;
  /** Origin of the records' Int32 times (default 0: any clock works, times wrap after 24 days and compare wrap-safe). */
  epochMs?: number;
}

/** Everything a worker needs, as postMessage-able SharedArrayBuffers. */
export interface FlowTableBuffers {
  meta: SharedArrayBuffer;
  records: SharedArrayBuffer;
  links: SharedArrayBuffer;
  index: SharedArrayBuffer;
}

export interface WorkerFlowStats {
  live: number;
  inserted: number;
  existed: number;
  evicted: number;
  expired: number;
  removed: number;
  tableFull: number;
  indexFull: number;
  /** Packets that found their flow idle past its timeout but not yet swept (whether it still existed depended on the sweep's position). */
  stale: number;
}

function metaBytes(workers: number): number {
  return (M_WORKER_BLOCKS + workers * WORKER_WORDS) * 4;
}

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`flow table: ${name} must be an integer in ${lo}..${hi} (got ${v})`);
}

function readWorkerStats(m: Int32Array, wb: number): WorkerFlowStats {
  const at = (i: number) => Atomics.load(m, wb + i);
  return {
    live: at(W_LIVE),
    inserted: at(W_INSERTED),
    existed: at(W_EXISTED),
    evicted: at(W_EVICTED),
    expired: at(W_EXPIRED),
    removed: at(W_REMOVED),
    tableFull: at(W_TABLE_FULL),
    indexFull: at(W_INDEX_FULL),
    stale: at(W_STALE),
  };
}

export class FlowTable {
  // `declare` fields: see FlowIndex (V8 keeps their types).
  declare readonly index: FlowIndex;
  declare readonly capacity: number;
  declare readonly workers: number;
  /** This view's worker, or -1 for a main-thread view (lookups and statistics only). */
  declare readonly worker: number;
  /** When insert returns FLOW_EXISTS: the value (flowId << 1 | dir) of the flow holding the key. */
  existing = -1;
  /**
   * The flow the last insert evicted to make room, or -1; its original key
   * and user words are in `evictedKey` and `evictedUser`. The id itself
   * holds the new entry by then (the insert reused it), so what the evicted
   * flow was is read from these copies, never from the record.
   */
  evictedId = -1;
  readonly evictedKey = new Int32Array(4);
  readonly evictedUser = new Int32Array(USER_WORDS);
  /** User words the next insert stores in its new record (then cleared). */
  readonly userIn = new Int32Array(USER_WORDS);
  /** Sink for loads made only to bring lines into the cache. */
  private touched = 0;
  /** The records: flow f's 16 words at f << REC_SHIFT (R_* offsets). */
  private declare readonly recs: Int32Array;
  private declare readonly links: Int32Array;
  private declare readonly meta: Int32Array;
  private declare readonly timeouts: Int32Array;
  private declare readonly epoch: number;
  /** Word of this worker's block in meta. */
  private declare readonly wb: number;
  private declare readonly first: number;
  private declare readonly end: number;

  static bytesFor(capacity: number, workers: number): number {
    return metaBytes(workers) + capacity * RECORD_BYTES + LINE_BYTES + capacity * 8 + FlowIndex.bytesFor(FlowIndex.bucketsFor(2 * capacity));
  }

  static create(opts: FlowTableOptions): FlowTableBuffers {
    checkInt('capacity', opts.capacity, 1, MAX_CAPACITY);
    checkInt('workers', opts.workers, 1, MAX_WORKERS);
    if (opts.capacity < opts.workers) throw new Error(`flow table: capacity ${opts.capacity} is less than one flow per worker (${opts.workers} workers)`);
    if (opts.timeoutsMs.length < 1 || opts.timeoutsMs.length > MAX_STATES) throw new Error(`flow table: timeoutsMs must give 1..${MAX_STATES} states (got ${opts.timeoutsMs.length})`);
    for (let s = 0; s < opts.timeoutsMs.length; s++) checkInt(`timeoutsMs[${s}]`, opts.timeoutsMs[s], 0, 2 ** 31 - 1);
    const seed = opts.seed ?? (Math.random() * 2 ** 32) | 0;
    const meta = new SharedArrayBuffer(metaBytes(opts.workers));
    const m = new Int32Array(meta);
    m[M_MAGIC] = MAGIC;
    m[M_CAPACITY] = opts.capacity;
    m[M_WORKERS] = opts.workers;
    const per = Math.ceil(opts.capacity / opts.workers);
    m[M_PER_WORKER] = per;
    new Float64Array(meta, 0, 4)[M_EPOCH_F64] = opts.epochMs ?? 0;
    // States without a timeout never expire (the longest Int32 time).
    m.fill(2 ** 31 - 1, M_TIMEOUTS, M_TIMEOUTS + MAX_STATES);
    for (let s = 0; s < opts.timeoutsMs.length; s++) m[M_TIMEOUTS + s] = opts.timeoutsMs[s];
    for (let w = 0; w < opts.workers; w++) {
      const wb = M_WORKER_BLOCKS + w * WORKER_WORDS;
      m[wb + W_FREE_HEAD] = -1;
      m[wb + W_FRESH] = Math.min(w * per, opts.capacity);
      m[wb + W_LIST_HEAD] = -1;
      m[wb + W_LIST_TAIL] = -1;
      m[wb + W_SWEEP] = Math.min(w * per, opts.capacity);
    }
    // Records and links are written as ids are first used: advised while untouched (huge-pages.ts).
    const records = new SharedArrayBuffer(opts.capacity * RECORD_BYTES + LINE_BYTES);
    adviseHugePages(records);
    m[M_REC_PAD] = lineOffset(records);
    const links = new SharedArrayBuffer(opts.capacity * 8);
    adviseHugePages(links);
    return { meta, records, links, index: FlowIndex.create(FlowIndex.bucketsFor(2 * opts.capacity), seed) };
  }

  static attach(buffers: FlowTableBuffers, worker: number): FlowTable {
    return new FlowTable(buffers, worker);
  }

  /** Per-worker counters, read with Atomics from any thread. */
  static stats(buffers: FlowTableBuffers): WorkerFlowStats[] {
    const m = new Int32Array(buffers.meta);
    const out: WorkerFlowStats[] = [];
    for (let w = 0; w < m[M_WORKERS]; w++) out.push(readWorkerStats(m, M_WORKER_BLOCKS + w * WORKER_WORDS));
    return out;
  }

  /** This worker's counters. */
  workerStats(): WorkerFlowStats {
    return readWorkerStats(this.meta, this.wb);
  }

  private constructor(buffers: FlowTableBuffers, worker: number) {
    this.meta = new Int32Array(buffers.meta);
    if (this.meta[M_MAGIC] !== MAGIC) throw new Error('flow table: buffers were not made by FlowTable.create');
    this.capacity = this.meta[M_CAPACITY];
    this.workers = this.meta[M_WORKERS];
    if (!Number.isInteger(worker) || worker < -1 || worker >= this.workers) throw new Error(`flow table: worker must be -1 (main thread) or 0..${this.workers - 1} (got ${worker})`);
    this.worker = worker;
    const cap = this.capacity;
    const pad = this.meta[M_REC_PAD];
    this.recs = new Int32Array(buffers.records, pad, cap << REC_SHIFT);
    this.links = new Int32Array(buffers.links);
    this.timeouts = new Int32Array(buffers.meta, M_TIMEOUTS * 4, MAX_STATES);
    this.epoch = new Float64Array(buffers.meta, 0, 4)[M_EPOCH_F64];
    this.index = new FlowIndex(buffers.index, this.recs, REC_SHIFT);
    const per = this.meta[M_PER_WORKER];
    this.wb = M_WORKER_BLOCKS + Math.max(worker, 0) * WORKER_WORDS;
    this.first = worker < 0 ? 0 : Math.min(worker * per, this.capacity);
    this.end = worker < 0 ? 0 : Math.min((worker + 1) * per, this.capacity);
  }

  /** The table's Int32 time for a clock reading in ms. */
  tick(nowMs: number): number {
    return (nowMs - this.epoch) | 0;
  }

  /** The value (flowId << 1 | dir) for a key, or -1. Lock-free; any thread. */
  lookup(k0: number, k1: number, k2: number, k3: number): number {
    return this.index.lookup(k0, k1, k2, k3);
  }

  /**
   * Creates a flow owned by this worker: allocates an id (evicting the oldest
   * flow without a reply if the slice is full), writes the record (keys, state,
   * last seen, the user words staged in `userIn`), then publishes both keys.
   * Returns the flow id, or FLOW_EXISTS (`existing` holds the other flow's
   * value), TABLE_FULL or INDEX_FULL. After an eviction, `evictedId`,
   * `evictedKey` and `evictedUser` describe the evicted flow so its NAT port
   * can be released.
   */
  insert(o0: number, o1: number, o2: number, o3: number, r0: number, r1: number, r2: number, r3: number, state: number, nowMs: number): number {
    const ix = this.index;
    return this.insertHashed(o0, o1, o2, o3, r0, r1, r2, r3, ix.hash(o0, o1, o2, o3), ix.hash(r0, r1, r2, r3), state, nowMs);
  }

  /**
   * insert() with the keys' hashes (index.hash of each) from the caller: a
   * new flow's original key was hashed for its lookup (ct-input), and is
   * not hashed again here.
   */
  insertHashed(o0: number, o1: number, o2: number, o3: number, r0: number, r1: number, r2: number, r3: number, ho: number, hr: number, state: number, nowMs: number): number {
    this.evictedId = -1;
    const m = this.meta;
    const wb = this.wb;
    if (this.worker < 0) throw new Error('flow table: a main-thread view cannot insert');
    const id = this.allocateId();
    if (id < 0) {
      m[wb + W_TABLE_FULL]++;
      this.userIn.fill(0);
      return TABLE_FULL;
    }
    const k = this.recs;
    const r = id << REC_SHIFT;
    k[r] = o0;
    k[r + 1] = o1;
    k[r + 2] = o2;
    k[r + 3] = o3;
    k[r + 4] = r0;
    k[r + 5] = r1;
    k[r + 6] = r2;
    k[r + 7] = r3;
    k[r + R_STATE] = state;
    k[r + R_LAST] = (nowMs - this.epoch) | 0;
    // A request for the id's last flow that came too late ends here (doomTag):
    // the flags word (IN_USE clear: the id is free) with its tag cleared
    // before the generation moves, so a request made after reading the new
    // generation is never cleared (it needs IN_USE, stored below, to be made).
    k[r + R_FLAGS] = 0;
    k[r + R_GEN] = (k[r + R_GEN] + 1) | 0;
    const u = this.userIn;
    const ur = r + R_USER;
    k[ur] = u[0];
    k[ur + 1] = u[1];
    k[ur + 2] = u[2];
    k[ur + 3] = u[3];
    u[0] = u[1] = u[2] = u[3] = 0;
    // Published with the keys by insertPair's lock (a CAS, a full barrier).
    this.recs[(id << REC_SHIFT) + R_FLAGS] = FLAG_IN_USE | (this.worker << 8);
    const res = this.index.insertPairHashed(o0, o1, o2, o3, r0, r1, r2, r3, ho, hr, id);
    if (res === INSERTED) {
      this.listAppend(id);
      m[wb + W_LIVE]++;
      m[wb + W_INSERTED]++;
      return id;
    }
    this.clearFlags(id);
    this.freeId(id);
    if (res === INDEX_FULL_RESULT) {
      m[wb + W_INDEX_FULL]++;
      return INDEX_FULL;
    }
    this.existing = res;
    m[wb + W_EXISTED]++;
    return FLOW_EXISTS;
  }

  /** lookup() of a key whose index.hash the caller has already. */
  lookupHashed(k0: number, k1: number, k2: number, k3: number, h: number): number {
    return this.index.lookupHashed(k0, k1, k2, k3, h);
  }

  /**
   * Loads the record lines of the next `n` ids this worker's inserts will
   * take (its free list, then never-used ids), so a batch's new flows find
   * the lines they write cached (warming, as FlowIndex "Warming"): an
   * insert reads the record's generation word, and that load was a miss per
   * new flow. Reads only, owner only; an eviction or a free between this
   * and the inserts just leaves a line cold.
   */
  touchNext(n: number): void {
    if (this.worker < 0) return;
    const m = this.meta;
    const rec = this.recs;
    const links = this.links;
    let t = 0;
    let id = m[this.wb + W_FREE_HEAD];
    let i = 0;
    for (; i < n && id >= 0; i++) {
      t ^= rec[(id << REC_SHIFT) + R_GEN];
      id = links[id << 1];
    }
    const fresh = m[this.wb + W_FRESH];
    const end = Math.min(fresh + n - i, this.end);
    for (let f = fresh; f < end; f++) t ^= rec[(f << REC_SHIFT) + R_GEN];
    this.touched ^= t;
  }

  /** Records a packet of the flow: last seen, and SEEN_REPLY for the reply direction. Any worker. */
  touch(flowId: number, nowMs: number, dir: number): void {
    this.touchAt(flowId, (nowMs - this.epoch) | 0, dir);
  }

  /**
   * The table's own clock at nowMs, what touchAt() takes: an int32, which a
   * caller can pass to a call V8 does not inline without boxing it (a double
   * argument is a new HeapNumber at every such call).
   */
  clockAt(nowMs: number): number {
    return (nowMs - this.epoch) | 0;
  }

  /** touch() at the table's clock t (clockAt). */
  touchAt(flowId: number, t: number, dir: number): void {
    // Store only when the time moves forward: packets within one ms (most of
    // them) then leave the line shared between the workers of both directions.
    const rec = this.recs;
    const r = flowId << REC_SHIFT;
    const idle = (t - rec[r + R_LAST]) | 0;
    if (idle > 0) {
      // A flow idle past its timeout lives on only until the sweep reaches
      // it: counted, so a parallel replay knows its result hung on the
      // sweep's position (one compare, once per flow per ms).
      if (idle >= this.timeouts[rec[r + R_STATE] & (MAX_STATES - 1)]) this.meta[this.wb + W_STALE]++;
      rec[r + R_LAST] = t;
    }
    // dir (0 or 1) and "SEEN_REPLY clear" in arithmetic, one branch that is rarely taken: a branch on the
    // direction alone is mispredicted half the time where both directions come mixed.
    if ((dir & ~(rec[r + R_FLAGS] >>> SEEN_REPLY_BIT) & 1) !== 0) Atomics.or(rec, r + R_FLAGS, FLAG_SEEN_REPLY);
  }

  /** Moves the state from `expected` to `next` if no other worker moved it first. */
  casState(flowId: number, expected: number, next: number): boolean {
    return Atomics.compareExchange(this.recs, (flowId << REC_SHIFT) + R_STATE, expected, next) === expected;
  }

  /** Loads the record lines (state, last seen, flags, user words, keys) of flows ids[0..n) (warming a batch: see FlowIndex "Warming"). */
  touchStates(ids: Int32Array, n: number): void {
    const rec = this.recs;
    let t = 0;
    for (let i = 0; i < n; i++) t ^= rec[(ids[i] << REC_SHIFT) + R_STATE];
    this.touched ^= t;
  }

  state(flowId: number): number {
    return this.recs[(flowId << REC_SHIFT) + R_STATE];
  }

  flags(flowId: number): number {
    return this.recs[(flowId << REC_SHIFT) + R_FLAGS] & FLAGS_MASK;
  }

  setFlags(flowId: number, bits: number): void {
    Atomics.or(this.recs, (flowId << REC_SHIFT) + R_FLAGS, bits & 0xff & ~FLAG_IN_USE);
  }

  owner(flowId: number): number {
    return (this.recs[(flowId << REC_SHIFT) + R_FLAGS] >>> 8) & 0xff;
  }

  generation(flowId: number): number {
    return this.recs[(flowId << REC_SHIFT) + R_GEN];
  }

  /** Ms since the flow's last packet (wrap-safe). */
  idleMs(flowId: number, nowMs: number): number {
    return (((nowMs - this.epoch) | 0) - this.recs[(flowId << REC_SHIFT) + R_LAST]) | 0;
  }

  /** Word i (0-3) of the flow's key in direction dir. */
  keyWord(flowId: number, dir: number, i: number): number {
    return this.recs[(flowId << REC_SHIFT) + (dir << 2) + i];
  }

  user(flowId: number, i: number): number {
    return this.recs[(flowId << REC_SHIFT) + R_USER + i];
  }

  setUser(flowId: number, i: number, v: number): void {
    this.recs[(flowId << REC_SHIFT) + R_USER + i] = v;
  }

  timeoutMs(state: number): number {
    return this.timeouts[state & (MAX_STATES - 1)];
  }

  /** Changes a state's timeout for every worker (control plane). */
  setTimeoutMs(state: number, ms: number): void {
    checkInt('timeout', ms, 0, 2 ** 31 - 1);
    checkInt('state', state, 0, MAX_STATES - 1);
    Atomics.store(this.timeouts, state, ms);
  }

  /**
   * Ends a flow this worker owns now (its keys leave the index, its id is
   * free). Another worker that wants a flow gone moves its state to one with
   * a short timeout and leaves it to the owner's sweep. False when the flow is
   * not in use or not this worker's.
   */
  remove(flowId: number): boolean {
    if (flowId < this.first || flowId >= this.end || (this.recs[(flowId << REC_SHIFT) + R_FLAGS] & FLAG_IN_USE) === 0) return false;
    this.release(flowId);
    this.meta[this.wb + W_REMOVED]++;
    return true;
  }

  /** Ids this worker's slice has ever used (what one lap of its sweep looks at; SweepPacer). 0 for a main-thread view. */
  sliceUsed(): number {
    return this.worker < 0 ? 0 : this.meta[this.wb + W_FRESH] - this.first;
  }

  /**
   * Expires idle flows of this worker: looks at up to `maxRecords` records
   * from where the last call stopped (wrapping round the slice) and ends each
   * flow idle for at least its state's timeout. Returns how many; their ids go
   * to `expired` (the sweep stops when it is full) and their records stay
   * readable until this worker's next insert, so the caller can release NAT
   * ports and bindings first.
   */
  sweep(nowMs: number, maxRecords: number, expired?: Int32Array): number {
    const m = this.meta;
    const wb = this.wb;
    const rec = this.recs;
    const now = (nowMs - this.epoch) | 0;
    const limit = m[wb + W_FRESH]; // ids at or past it were never used
    if (limit === this.first) return 0;
    let cur = m[wb + W_SWEEP];
    let n = 0;
    const todo = Math.min(maxRecords, limit - this.first); // one lap at most
    for (let seen = 0; seen < todo; seen++) {
      if (cur >= limit) cur = this.first;
      const r = cur << REC_SHIFT;
      const st = rec[r + R_STATE];
      const flags = rec[r + R_FLAGS];
      // Ended: idle past its state's timeout, or asked to end by the control
      // plane (requestEnd: this generation, nothing holding it).
      if ((flags & FLAG_IN_USE) !== 0 && (((now - rec[r + R_LAST]) | 0) >= this.timeouts[st & (MAX_STATES - 1)] || (flags >>> DOOM_SHIFT !== 0 && st >>> STATE_BITS === 0 && flags >>> DOOM_SHIFT === doomTag(rec[r + R_GEN])))) {
        if (expired !== undefined && n >= expired.length) break;
        // Claim the flow: a worker that moved its state meanwhile (a packet
        // moved a TCP state, a NAT binding took a reference) keeps it alive,
        // and one that tries after this sees CLAIMED_STATE and leaves it.
        if (Atomics.compareExchange(rec, r + R_STATE, st, CLAIMED_STATE) === st) {
          if (expired !== undefined) expired[n] = cur;
          else this.claimed[n] = cur;
          n++;
          // Released in one go below; a bounded batch (the scratch's size) at a time.
          if (expired === undefined && n === this.claimed.length) {
            cur++;
            break;
          }
        }
      }
      cur++;
    }
    m[wb + W_SWEEP] = cur;
    m[wb + W_EXPIRED] += n;
    this.releaseAll(expired ?? this.claimed, n);
    return n;
  }

  /** Scratch of a sweep without an `expired` array: the ids it claimed, for releaseAll. */
  private readonly claimed = new Int32Array(256);
  /** releaseAll's hashes: both keys of each id. */
  private releaseHashes = new Int32Array(512);

  /**
   * Releases the claimed flows ids[0..n) (sweep): both keys of each hashed
   * in one pass and their primary buckets loaded in another, so the removes'
   * bucket misses overlap (FlowIndex "Warming") instead of coming two per
   * flow one after another; then each is released as before. Their records
   * are in the cache: the sweep has just read them.
   */
  private releaseAll(ids: Int32Array, n: number): void {
    if (n === 0) return;
    if (this.releaseHashes.length < 2 * n) this.releaseHashes = new Int32Array(2 * n);
    const hs = this.releaseHashes;
    const k = this.recs;
    const ix = this.index;
    for (let i = 0; i < n; i++) {
      const r = ids[i] << REC_SHIFT;
      hs[2 * i] = ix.hash(k[r], k[r + 1], k[r + 2], k[r + 3]);
      hs[2 * i + 1] = ix.hash(k[r + 4], k[r + 5], k[r + 6], k[r + 7]);
    }
    ix.touchBuckets(hs, 2 * n);
    for (let i = 0; i < n; i++) this.releaseHashed(ids[i], hs[2 * i], hs[2 * i + 1]);
  }

  // ---- Control side (main thread, while workers run): consistent reads and changes of one record.

  /**
   * Copies flow `flowId`'s record into `out` (Rec layout) as one consistent
   * snapshot, or returns false when the id holds no flow or went to another
   * flow while it was read (the caller skips it). Records have no seqlock:
   * the owner writes a new flow's words, then bumps the generation, then
   * sets IN_USE, and clears IN_USE before it frees an id. So a read between
   * IN_USE-and-generation loads (generation first) and the same loads again
   * in the other order (IN_USE first) that sees IN_USE and one generation
   * both times read one flow's words: any word of a later flow would have
   * been written after IN_USE was cleared, and the second loads would see
   * it cleared or the generation moved. State, last seen, flags and user
   * words of that flow may still move (packets): each is some value it had.
   */
  readRecord(flowId: number, out: Int32Array): boolean {
    const gen = Atomics.load(this.recs, (flowId << REC_SHIFT) + R_GEN);
    if ((Atomics.load(this.recs, (flowId << REC_SHIFT) + R_FLAGS) & FLAG_IN_USE) === 0) return false;
    const k = this.recs;
    const r = flowId << REC_SHIFT;
    for (let i = 0; i < KEY_WORDS; i++) out[Rec.KEY + i] = Atomics.load(k, r + i);
    out[Rec.STATE] = Atomics.load(this.recs, (flowId << REC_SHIFT) + R_STATE);
    out[Rec.LAST] = Atomics.load(this.recs, (flowId << REC_SHIFT) + R_LAST);
    for (let i = 0; i < USER_WORDS; i++) out[Rec.USER + i] = Atomics.load(this.recs, (flowId << REC_SHIFT) + R_USER + i);
    const flags = Atomics.load(this.recs, (flowId << REC_SHIFT) + R_FLAGS);
    out[Rec.FLAGS] = flags & FLAGS_MASK;
    out[Rec.GEN] = gen;
    return (flags & FLAG_IN_USE) !== 0 && Atomics.load(this.recs, (flowId << REC_SHIFT) + R_GEN) === gen;
  }

  /**
   * Asks the owner to end flow `flowId` of generation `generation` (control
   * plane: a deletion). The main thread never changes another worker's flow
   * itself: a state CAS checked against the generation before and after
   * could still land on the flow that reused the id in between (the state
   * word carries no generation), and the owner's sweep could end that flow
   * before the CAS was undone. Here the request names the generation, and
   * only the owner, which alone gives ids new generations, acts on it: its
   * sweep ends the flow when the request names the id's current generation
   * and nothing holds it (the state word's bits above STATE_BITS), so a
   * request for an ended flow's generation never touches the id's next flow.
   * Until the sweep reaches it the flow still matches packets; `isDoomed`
   * tells the control plane's listings and refs.ts's holds that it is going.
   * CAS_DONE when the flow of that generation was live after the request
   * was made, CAS_GONE when it had ended (the request then does nothing).
   * One thread makes requests (the main thread: a later request of an older
   * generation would replace a newer one).
   */
  requestEnd(flowId: number, generation: number): number {
    const at = (flowId << REC_SHIFT) + R_FLAGS;
    const tag = doomTag(generation) << DOOM_SHIFT;
    // The tag goes into the flags word by CAS: other workers set flag bits
    // there (Atomics.or), and the owner stores the whole word as it frees
    // and reuses the id. `flags` is the word as the tag went in.
    let flags = Atomics.load(this.recs, at);
    for (;;) {
      const seen = Atomics.compareExchange(this.recs, at, flags, (flags & FLAGS_MASK) | tag);
      if (seen === flags) break;
      flags = seen;
    }
    // IN_USE before the generation, as in readRecord: a reused id shows either.
    if ((flags & FLAG_IN_USE) !== 0 && Atomics.load(this.recs, (flowId << REC_SHIFT) + R_GEN) === generation) return CAS_DONE;
    return CAS_GONE;
  }

  /** Whether the control plane asked to end the flow that holds `flowId` now (requestEnd). Any thread. */
  isDoomed(flowId: number): boolean {
    return Atomics.load(this.recs, (flowId << REC_SHIFT) + R_FLAGS) >>> DOOM_SHIFT === doomTag(Atomics.load(this.recs, (flowId << REC_SHIFT) + R_GEN));
  }

  /** Whether the control plane asked to end the flow of `generation` at `flowId` (a record read before). */
  isDoomedGeneration(flowId: number, generation: number): boolean {
    return Atomics.load(this.recs, (flowId << REC_SHIFT) + R_FLAGS) >>> DOOM_SHIFT === doomTag(generation);
  }

  /** Ids that have ever held a flow, per worker slice: [first, end) pairs to scan (control side). */
  usedRanges(): number[] {
    const out: number[] = [];
    const per = this.meta[M_PER_WORKER];
    for (let w = 0; w < this.workers; w++) {
      const first = Math.min(w * per, this.capacity);
      out.push(first, Atomics.load(this.meta, M_WORKER_BLOCKS + w * WORKER_WORDS + W_FRESH));
    }
    return out;
  }

  /** Flows this worker owns now. */
  live(): number {
    return this.meta[this.wb + W_LIVE];
  }

  // ---- Owner internals: ids, the free list and the no-reply list.

  private allocateId(): number {
    const m = this.meta;
    const wb = this.wb;
    const head = m[wb + W_FREE_HEAD];
    if (head >= 0) {
      m[wb + W_FREE_HEAD] = this.links[head << 1];
      return head;
    }
    const fresh = m[wb + W_FRESH];
    if (fresh < this.end) {
      m[wb + W_FRESH] = fresh + 1;
      return fresh;
    }
    return this.evictOldest();
  }

  private freeId(id: number): void {
    const m = this.meta;
    this.links[id << 1] = m[this.wb + W_FREE_HEAD];
    m[this.wb + W_FREE_HEAD] = id;
  }

  /** Ends the oldest listed flow that has not seen a reply; returns its (now free, popped) id or -1. */
  private evictOldest(): number {
    const m = this.meta;
    const wb = this.wb;
    for (;;) {
      const id = m[wb + W_LIST_HEAD];
      if (id < 0) return -1;
      this.unlink(id);
      if ((this.recs[(id << REC_SHIFT) + R_FLAGS] & FLAG_SEEN_REPLY) !== 0) continue;
      for (let i = 0; i < 4; i++) this.evictedKey[i] = this.recs[(id << REC_SHIFT) + i];
      for (let i = 0; i < USER_WORDS; i++) this.evictedUser[i] = this.recs[(id << REC_SHIFT) + R_USER + i];
      this.release(id);
      m[wb + W_FREE_HEAD] = this.links[id << 1]; // pop it again: the caller reuses it
      this.evictedId = id;
      m[wb + W_EVICTED]++;
      return id;
    }
  }

  /** Takes a live flow out of the index and the no-reply list and frees its id. */
  private release(id: number): void {
    const k = this.recs;
    const r = id << REC_SHIFT;
    const ix = this.index;
    this.releaseHashed(id, ix.hash(k[r], k[r + 1], k[r + 2], k[r + 3]), ix.hash(k[r + 4], k[r + 5], k[r + 6], k[r + 7]));
  }

  /** release() with the hashes of the flow's original (ho) and reply (hr) keys. */
  private releaseHashed(id: number, ho: number, hr: number): void {
    const k = this.recs;
    const r = id << REC_SHIFT;
    const v = id << 1;
    this.index.removeHashed(k[r], k[r + 1], k[r + 2], k[r + 3], ho, v);
    this.index.removeHashed(k[r + 4], k[r + 5], k[r + 6], k[r + 7], hr, v | 1);
    if (this.links[(id << 1) + 1] !== NOT_LISTED) this.unlink(id);
    this.clearFlags(id);
    this.freeId(id);
    this.meta[this.wb + W_LIVE]--;
  }

  /**
   * Clears the flags and owner of an id being freed (IN_USE first of all),
   * keeping its doom tag, as the tags' own array did: a request for the
   * ended flow still reads as made until the id's next flow clears it.
   */
  private clearFlags(id: number): void {
    Atomics.and(this.recs, (id << REC_SHIFT) + R_FLAGS, ~FLAGS_MASK);
  }

  private listAppend(id: number): void {
    const m = this.meta;
    const wb = this.wb;
    const l = this.links;
    const tail = m[wb + W_LIST_TAIL];
    l[id << 1] = -1;
    l[(id << 1) + 1] = tail;
    if (tail >= 0) l[tail << 1] = id;
    else m[wb + W_LIST_HEAD] = id;
    m[wb + W_LIST_TAIL] = id;
  }

  private unlink(id: number): void {
    const m = this.meta;
    const wb = this.wb;
    const l = this.links;
    const next = l[id << 1];
    const prev = l[(id << 1) + 1];
    if (prev >= 0) l[prev << 1] = next;
    else m[wb + W_LIST_HEAD] = next;
    if (next >= 0) l[(next << 1) + 1] = prev;
    else m[wb + W_LIST_TAIL] = prev;
    l[(id << 1) + 1] = NOT_LISTED;
  }
}
