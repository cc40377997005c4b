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
  });
});
