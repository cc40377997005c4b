// The measurements behind four choices in src/flow/ (each file's header
// cites its row): the key hash, plain loads instead of Atomics.load in
// lookups, struct-of-arrays flow records, and the index's 70% sizing.
import { auditIndex } from '../../src/flow/flow-index-audit.js';
import { FlowIndex, INDEX_FULL, SLOTS } from '../../src/flow/flow-index.js';
import { hashKey } from '../../src/flow/flow-key.js';
import { consume, measure } from '../lib/measure.js';
import type { BenchRow } from '../lib/report.js';
import { makeKeys, rev2, shuffledOrder } from './keys.js';

/** Murmur3_32 over the four words: the usual choice, four dependent rounds. */
function murmur4(k0: number, k1: number, k2: number, k3: number, seed: number): number {
  let h = seed;
  h = round(h, k0);
  h = round(h, k1);
  h = round(h, k2);
  h = round(h, k3);
  h ^= 16;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function round(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function row(name: string, subject: string, opsPerCall: number, m: { hz: number; rmePct: number }, notes?: string): BenchRow {
  const ns = 1e9 / (m.hz * opsPerCall);
  return { name, subject, value: (m.hz * opsPerCall) / 1e6, unit: 'M/s', nsPerOp: ns, rmePct: m.rmePct, notes };
}

export function runMicroBench(): BenchRow[] {
  const rows: BenchRow[] = [];
  const keys = makeKeys(256);

  // Hash: in-cache keys, so only the arithmetic shows.
  const hashOurs = () => {
    let acc = 0;
    for (let i = 0; i < 1024; i += 4) acc ^= hashKey(keys[i], keys[i + 1], keys[i + 2], keys[i + 3], 7);
    consume(acc);
  };
  const hashMurmur = () => {
    let acc = 0;
    for (let i = 0; i < 1024; i += 4) acc ^= murmur4(keys[i], keys[i + 1], keys[i + 2], keys[i + 3], 7);
    consume(acc);
  };
  rows.push(row('flow/hash', 'imul-sum + fmix32 (flow-key.ts)', 256, measure('hash ours', hashOurs)));
  rows.push(row('flow/hash', 'murmur3_32, 4 rounds', 256, measure('hash murmur', hashMurmur)));

  // Atomics.load against a plain element load, same SharedArrayBuffer.
  const words = new Int32Array(new SharedArrayBuffer(4096 * 4));
  const plain = () => {
    let s = 0;
    for (let i = 0; i < 4096; i++) s += words[i];
    consume(s);
  };
  const atomic = () => {
    let s = 0;
    for (let i = 0; i < 4096; i++) s += Atomics.load(words, i);
    consume(s);
  };
  rows.push(row('flow/atomics', 'plain load (Int32Array over SAB)', 4096, measure('plain load', plain)));
  rows.push(row('flow/atomics', 'Atomics.load', 4096, measure('Atomics.load', atomic)));

  rows.push(...layoutRows());
  rows.push(...placementRows());
  return rows;
}

/**
 * Record layout on the real path at 1M flows in random order: an index
 * lookup, then the state, last seen (stored), flags and a NAT word of the flow
 * found. Struct-of-arrays (FlowTable: 8 key words per flow in one array, one
 * array per field) against array-of-structs (everything in one 64-byte
 * record, keys at its head). Same keys, same index shape.
 */
function layoutRows(): BenchRow[] {
  const F = 1 << 20;
  const keys = makeKeys(F);
  const sab = (words: number) => new Int32Array(new SharedArrayBuffer(words * 4));
  const aos = sab(F * 16);
  const soaKeys = sab(F * 8);
  const state = sab(F);
  const last = sab(F);
  const flags = sab(F);
  const user = sab(F * 4);
  const buckets = FlowIndex.bucketsFor(2 * F);
  const ixAos = new FlowIndex(FlowIndex.create(buckets, 5), aos, 4);
  const ixSoa = new FlowIndex(FlowIndex.create(buckets, 5), soaKeys, 3);
  for (let i = 0; i < F; i++) {
    const o = i << 2;
    const k0 = keys[o];
    const k1 = keys[o + 1];
    const k2 = keys[o + 2];
    const k3 = keys[o + 3];
    const both = [k0, k1, k2, k3, k1, k0, rev2(k2), k3];
    aos.set(both, i << 4);
    soaKeys.set(both, i << 3);
    ixAos.insertPair(k0, k1, k2, k3, k1, k0, rev2(k2), k3, i);
    ixSoa.insertPair(k0, k1, k2, k3, k1, k0, rev2(k2), k3, i);
  }
  // The probe keys in visiting order: reading them is sequential, the same for both.
  const order = shuffledOrder(F, 3);
  const probes = new Int32Array(F * 4);
  for (let j = 0; j < F; j++) probes.set(keys.subarray(order[j] << 2, (order[j] << 2) + 4), j << 2);
  const BATCH = 256;
  let posA = 0;
  let posS = 0;
  let now = 1;
  const viaAos = () => {
    let acc = 0;
    for (let j = posA; j < posA + BATCH; j++) {
      const p = j << 2;
      const v = ixAos.lookup(probes[p], probes[p + 1], probes[p + 2], probes[p + 3]);
      const r = (v >> 1) << 4;
      acc += aos[r + 8];
      if (aos[r + 9] !== now) aos[r + 9] = now;
      if ((aos[r + 10] & 2) === 0) acc++;
      acc += aos[r + 12];
    }
    posA = (posA + BATCH) & (F - 1);
    now++;
    consume(acc);
  };
  const viaSoa = () => {
    let acc = 0;
    for (let j = posS; j < posS + BATCH; j++) {
      const p = j << 2;
      const v = ixSoa.lookup(probes[p], probes[p + 1], probes[p + 2], probes[p + 3]);
      const id = v >> 1;
      acc += state[id];
      if (last[id] !== now) last[id] = now;
      if ((flags[id] & 2) === 0) acc++;
      acc += user[id << 2];
    }
    posS = (posS + BATCH) & (F - 1);
    now++;
    consume(acc);
  };
  const note = 'lookup, then state, last seen (store), flags, NAT word; random flows';
  return [
    row('flow/layout-1M', 'struct of arrays (FlowTable)', BATCH, measure('layout soa', viaSoa), note),
    row('flow/layout-1M', 'array of structs (64-byte records)', BATCH, measure('layout aos', viaAos), note),
  ];
}

/**
 * The index's sizing: failed inserts under churn at a steady load (one
 * random key out, one new random key in, 10 x the slot count), 2^14 buckets.
 */
function placementRows(): BenchRow[] {
  const rows: BenchRow[] = [];
  const buckets = 1 << 14;
  const slots = buckets * SLOTS;
  for (const load of [0.7, 0.75, 0.8]) {
    const live = Math.floor(slots * load);
    const store = new Int32Array(new SharedArrayBuffer(live * 32));
    const ix = new FlowIndex(FlowIndex.create(buckets, 3), store, 3);
    let x = 12345;
    const rnd = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x;
    };
    // Flow f holds one key (original = reply): one index entry each.
    const put = (f: number): boolean => {
      const r = f << 3;
      for (let w = 0; w < 4; w++) store[r + w] = store[r + 4 + w] = rnd();
      return ix.insertPair(store[r], store[r + 1], store[r + 2], store[r + 3], store[r], store[r + 1], store[r + 2], store[r + 3], f) !== INDEX_FULL;
    };
    let failed = 0;
    for (let f = 0; f < live; f++) if (!put(f)) failed++;
    const fillFailed = failed;
    const ops = slots * 10;
    const t0 = process.hrtime.bigint();
    for (let n = 0; n < ops; n++) {
      const f = (rnd() >>> 0) % live;
      const r = f << 3;
      ix.remove(store[r], store[r + 1], store[r + 2], store[r + 3], f << 1);
      if (!put(f)) failed++;
    }
    const ns = Number(process.hrtime.bigint() - t0) / ops;
    const a = auditIndex(ix);
    rows.push({
      name: 'flow/index-churn',
      subject: `${load * 100}% load, 2^14 buckets`,
      value: ((failed - fillFailed) / ops) * 1e6,
      unit: 'fail/M',
      nsPerOp: ns,
      notes: `${ops} remove+insert; ${fillFailed} failed filling; ${((100 * a.inSecondary) / a.entries).toFixed(1)}% in secondary after; ${a.moves} moves`,
    });
  }
  return rows;
}
