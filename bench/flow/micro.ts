// The measurements behind three choices in src/flow/ (each file's header
// cites its row): the key hash, plain loads instead of Atomics.load in
// lookups, and array-of-structs flow records.
import { hashKey } from '../../src/flow/flow-key.js';
import { consume, measure } from '../lib/measure.js';
import type { BenchRow } from '../lib/report.js';
import { makeKeys, shuffledOrder } from './keys.js';

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

  // A lookup hit's record accesses at 1M flows, random flows: check the 4
  // key words, read the state, store last seen, read a NAT word.
  const F = 1 << 20;
  const order = shuffledOrder(F, 3);
  const aos = new Int32Array(new SharedArrayBuffer(F * 64));
  const soaKeys = new Int32Array(new SharedArrayBuffer(F * 32));
  const soaState = new Int32Array(new SharedArrayBuffer(F * 4));
  const soaLast = new Int32Array(new SharedArrayBuffer(F * 4));
  const soaUser = new Int32Array(new SharedArrayBuffer(F * 4));
  // The probe keys in visiting order, so reading them is sequential for both layouts.
  const probes = new Int32Array(F * 4);
  for (let j = 0; j < F; j++) {
    const id = order[j];
    for (let w = 0; w < 4; w++) {
      const v = (id * 4 + w) | 0;
      aos[id * 16 + w] = v;
      soaKeys[id * 8 + w] = v;
      probes[j * 4 + w] = v;
    }
  }
  const BATCH = 4096;
  let posA = 0;
  let posS = 0;
  const recordAos = () => {
    let acc = 0;
    for (let j = posA; j < posA + BATCH; j++) {
      const r = order[j] << 4;
      const p = j << 2;
      if (aos[r] === probes[p] && aos[r + 1] === probes[p + 1] && aos[r + 2] === probes[p + 2] && aos[r + 3] === probes[p + 3]) {
        acc += aos[r + 8];
        if (aos[r + 9] !== j) aos[r + 9] = j;
        acc += aos[r + 12];
      }
    }
    posA = (posA + BATCH) & (F - 1);
    consume(acc);
  };
  const recordSoa = () => {
    let acc = 0;
    for (let j = posS; j < posS + BATCH; j++) {
      const id = order[j];
      const r = id << 3;
      const p = j << 2;
      if (soaKeys[r] === probes[p] && soaKeys[r + 1] === probes[p + 1] && soaKeys[r + 2] === probes[p + 2] && soaKeys[r + 3] === probes[p + 3]) {
        acc += soaState[id];
        if (soaLast[id] !== j) soaLast[id] = j;
        acc += soaUser[id];
      }
    }
    posS = (posS + BATCH) & (F - 1);
    consume(acc);
  };
  rows.push(row('flow/layout-1M', 'array of structs (64-byte records)', BATCH, measure('aos', recordAos), 'key check + state + last seen + NAT word of random flows'));
  rows.push(row('flow/layout-1M', 'struct of arrays (keys, state, last, user)', BATCH, measure('soa', recordSoa), 'same accesses'));
  return rows;
}
