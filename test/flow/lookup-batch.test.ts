// FlowIndex.lookupBatch and lookupBatchHashed (the stateful fast path's lookups): the same answer
// for every key as lookup(), for hits in either direction, misses, keys that
// live in their secondary bucket (a crowded index) and flows removed since.
import { describe, expect, it } from 'vitest';
import { FlowTable } from '../../src/flow/flow-table.js';

describe('FlowIndex.lookupBatch', () => {
  it('answers as lookup() does, key by key: hits both ways, misses, secondaries, removed flows', () => {
    // A small index filled close to its limit, so many keys sit in their secondary bucket.
    const capacity = 2048;
    const flows = FlowTable.attach(FlowTable.create({ capacity, workers: 1, timeoutsMs: [60_000], seed: 5 }), 0);
    const ids: number[] = [];
    for (let f = 0; f < capacity; f++) {
      const id = flows.insert(0x0a000000 + f, 0xc6336401, (1000 + f) << 16 | 80, 6, 0xc6336401, 0xcb007101, (80 << 16) | (20000 + f), 6, 3, 0);
      if (id >= 0) ids.push(id);
    }
    expect(ids.length).toBeGreaterThan(capacity * 0.9);
    for (let i = 0; i < ids.length; i += 7) flows.remove(ids[i]);
    const n = 3 * capacity;
    const keys = new Int32Array(4 * n);
    for (let i = 0; i < n; i++) {
      const f = i % capacity;
      const kind = Math.floor(i / capacity); // 0: original keys, 1: reply keys, 2: keys of no flow
      const k = kind === 0 ? [0x0a000000 + f, 0xc6336401, (1000 + f) << 16 | 80, 6] : kind === 1 ? [0xc6336401, 0xcb007101, (80 << 16) | (20000 + f), 6] : [0x0a000000 + f, 0xc6336402, (1000 + f) << 16 | 80, 6];
      keys.set(k, 4 * i);
    }
    const out = new Int32Array(n);
    flows.index.lookupBatch(keys, new Int32Array(n), out, n);
    const expected = Array.from({ length: n }, (_, i) => flows.lookup(keys[4 * i], keys[4 * i + 1], keys[4 * i + 2], keys[4 * i + 3]));
    expect(Array.from(out)).toEqual(expected);
    // All three kinds are there: hits of each direction and misses (removed flows and keys of none).
    expect(expected.filter((v) => v >= 0 && (v & 1) === 0).length).toBeGreaterThan(capacity * 0.7);
    expect(expected.filter((v) => v >= 0 && (v & 1) === 1).length).toBeGreaterThan(capacity * 0.7);
    expect(expected.filter((v) => v < 0).length).toBeGreaterThan(capacity);
    // lookupBatchHashed, with the hashes the caller computed (hash(), as the flow stage does), answers the same.
    const hashes = new Int32Array(n);
    for (let i = 0; i < n; i++) hashes[i] = flows.index.hash(keys[4 * i], keys[4 * i + 1], keys[4 * i + 2], keys[4 * i + 3]);
    const outHashed = new Int32Array(n).fill(7);
    flows.index.lookupBatchHashed(keys, hashes, outHashed, n);
    expect(Array.from(outHashed)).toEqual(expected);
    // Without the warming passes (the flow stage's choice for a batch of flows it saw lately): the same.
    const outCached = new Int32Array(n).fill(7);
    flows.index.lookupBatchHashed(keys, hashes, outCached, n, false);
    expect(Array.from(outCached)).toEqual(expected);
  });
});

describe('FlowIndex.lookupBatchHashed without warming: the slot memo is a hint the lookup checks', () => {
  it('two keys with one hash (one memo slot), removed and inserted again under new ids: every answer is lookup()\'s', () => {
    const flows = FlowTable.attach(FlowTable.create({ capacity: 64, workers: 1, timeoutsMs: [60_000], seed: 9 }), 0);
    // Keys with one hash, as in the test below.
    const M0 = 0x9e3779b1 | 0;
    const M1 = 0x85ebca77 | 0;
    let inv = M1;
    for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(M1, inv));
    const d1 = Math.imul(-M0, inv);
    const key = (j: number): [number, number, number, number] => [0x0a000001 + j, (0xcb007101 + Math.imul(j, d1)) | 0, (1000 << 16) | 80, 17];
    const hashOf = (k: number[]) => flows.index.hash(k[0], k[1], k[2], k[3]);
    expect(hashOf(key(1))).toBe(hashOf(key(0)));
    const insert = (j: number) => {
      const k = key(j);
      return flows.insert(k[0], k[1], k[2], k[3], 0xc6336401, 0x0a000001 + j, (80 << 16) | 20000 + j, 17, 3, 0);
    };
    const order = [1, 0, 2, 1, 0];
    const n = order.length;
    const keys = new Int32Array(4 * n);
    const hashes = new Int32Array(n);
    order.forEach((j, i) => {
      keys.set(key(j), 4 * i);
      hashes[i] = hashOf(key(j));
    });
    const out = new Int32Array(n);
    const check = (label: string) => {
      flows.index.lookupBatchHashed(keys, hashes, out, n, false);
      const expected = order.map((j) => flows.lookup(...key(j)));
      expect(Array.from(out), label).toEqual(expected);
      return expected;
    };
    const ids = [insert(0), insert(1)];
    expect(ids.every((id) => id >= 0)).toBe(true);
    expect(check('both in')).toEqual([ids[1] << 1, ids[0] << 1, -1, ids[1] << 1, ids[0] << 1]);
    // The memo names the last key's entry (key 0's): remove the other, then that one, then put both back.
    flows.remove(ids[1]);
    expect(check('key 1 removed')).toEqual([-1, ids[0] << 1, -1, -1, ids[0] << 1]);
    flows.remove(ids[0]);
    expect(check('both removed')).toEqual([-1, -1, -1, -1, -1]);
    const again = [insert(1), insert(0)];
    expect(check('both in again')).toEqual([again[0] << 1, again[1] << 1, -1, again[0] << 1, again[1] << 1]);
  });
});

describe('FlowIndex.lookupBatchHashed: the slot its record pass found is a hint the lookup checks', () => {
  it('keys with one hash in one bucket: the hint names the first of them, and the others are still found (and a third, absent, is not)', () => {
    const flows = FlowTable.attach(FlowTable.create({ capacity: 64, workers: 1, timeoutsMs: [60_000], seed: 9 }), 0);
    // hashKey mixes M0 * k0 + M1 * k1 + ... before its finalizer: k0 + 1 with k1 - M0 / M1 (M1 is odd) keeps the sum, and so the hash.
    const M0 = 0x9e3779b1 | 0;
    const M1 = 0x85ebca77 | 0;
    let inv = M1;
    for (let i = 0; i < 5; i++) inv = Math.imul(inv, 2 - Math.imul(M1, inv)); // Newton: M1 * inv = 1 mod 2^32
    const d1 = Math.imul(-M0, inv);
    const key = (j: number): [number, number, number, number] => [0x0a000001 + j, (0xcb007101 + Math.imul(j, d1)) | 0, (1000 << 16) | 80, 17];
    const hashOf = (k: number[]) => flows.index.hash(k[0], k[1], k[2], k[3]);
    // If hashKey changes, this says so rather than testing nothing.
    expect(hashOf(key(1))).toBe(hashOf(key(0)));
    expect(hashOf(key(2))).toBe(hashOf(key(0)));
    const ids = [0, 1].map((j) => {
      const k = key(j);
      return flows.insert(k[0], k[1], k[2], k[3], 0xc6336401, 0x0a000001 + j, (80 << 16) | 20000 + j, 17, 3, 0);
    });
    expect(ids.every((id) => id >= 0)).toBe(true);
    const order = [1, 0, 2, 1];
    const n = order.length;
    const keys = new Int32Array(4 * n);
    const hashes = new Int32Array(n);
    order.forEach((j, i) => {
      keys.set(key(j), 4 * i);
      hashes[i] = hashOf(key(j));
    });
    const out = new Int32Array(n);
    flows.index.lookupBatchHashed(keys, hashes, out, n);
    expect(Array.from(out)).toEqual([ids[1] << 1, ids[0] << 1, -1, ids[1] << 1]);
    // After the first is removed the hint names the second's entry: found at once; the first is gone.
    flows.remove(ids[0]);
    flows.index.lookupBatchHashed(keys, hashes, out, n);
    expect(Array.from(out)).toEqual([ids[1] << 1, -1, -1, ids[1] << 1]);
  });
});
