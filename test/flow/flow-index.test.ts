import { describe, expect, it } from 'vitest';
import { auditIndex } from '../../src/flow/flow-index-audit.js';
import fc from 'fast-check';
import { FlowIndex, INDEX_FULL, INSERTED, NOT_FOUND, SLOTS } from '../../src/flow/flow-index.js';
import { IndexHarness, reverse, udpKey, type Key } from './index-harness.js';

describe('FlowIndex', () => {
  it('finds both keys of a flow, with the direction in the low bit', () => {
    const t = new IndexHarness(64, 16);
    const k = udpKey(1);
    expect(t.insert(5, k, reverse(k))).toBe(INSERTED);
    expect(t.lookup(k)).toBe(5 << 1);
    expect(t.lookup(reverse(k))).toBe((5 << 1) | 1);
    expect(t.lookup(udpKey(2))).toBe(NOT_FOUND);
    expect(auditIndex(t.index)).toMatchObject({ entries: 2, problems: [] });
  });

  it('refuses a second flow with the same original key and returns the first one', () => {
    const t = new IndexHarness(64, 16);
    const k = udpKey(1);
    expect(t.insert(1, k, reverse(k))).toBe(INSERTED);
    expect(t.insert(2, k, reverse(k))).toBe(1 << 1);
    expect(auditIndex(t.index)).toMatchObject({ entries: 2, problems: [] });
  });

  it('simultaneous open: B -> A after A -> B finds A -> B by its reply key and inserts nothing', () => {
    const t = new IndexHarness(64, 16);
    const ab = udpKey(7);
    expect(t.insert(1, ab, reverse(ab))).toBe(INSERTED);
    expect(t.insert(2, reverse(ab), ab)).toBe((1 << 1) | 1);
    expect(auditIndex(t.index)).toMatchObject({ entries: 2, problems: [] });
  });

  it('stores a flow whose two keys are equal once, as its original direction', () => {
    const t = new IndexHarness(64, 16);
    const k: Key = [0xc000020a | 0, 0xc000020a | 0, (7 << 16) | 7, 17];
    expect(t.insert(3, k, k)).toBe(INSERTED);
    expect(t.lookup(k)).toBe(3 << 1);
    expect(auditIndex(t.index).entries).toBe(1);
  });

  it('removes by key, or only the entry holding a given value', () => {
    const t = new IndexHarness(64, 16);
    const k = udpKey(1);
    t.insert(4, k, reverse(k));
    expect(t.remove(k, 9 << 1)).toBe(NOT_FOUND); // another flow's value: left alone
    expect(t.lookup(k)).toBe(4 << 1);
    expect(t.remove(k, 4 << 1)).toBe(4 << 1);
    expect(t.remove(reverse(k))).toBe((4 << 1) | 1);
    expect(t.remove(k)).toBe(NOT_FOUND);
    expect(t.lookup(k)).toBe(NOT_FOUND);
    expect(auditIndex(t.index)).toMatchObject({ entries: 0, problems: [] });
  });

  it('places a key in its secondary bucket when the primary is full, and counts it there', () => {
    const t = new IndexHarness(64, 16);
    const keys = t.keysInBucket(10, SLOTS + 3);
    keys.forEach((k, id) => expect(t.insertOne(id, k)).toBe(INSERTED));
    const audit = auditIndex(t.index);
    expect(audit.problems).toEqual([]);
    expect(audit.inSecondary).toBe(3);
    keys.forEach((k, id) => expect(t.lookup(k)).toBe(id << 1));
    // Out of the secondary again: the overflow count follows (audit checks it).
    expect(t.remove(keys[SLOTS + 1])).toBe((SLOTS + 1) << 1);
    expect(auditIndex(t.index)).toMatchObject({ inSecondary: 2, problems: [] });
    // A miss in a bucket with overflow reads the secondary too, and still misses.
    expect(t.lookup(t.keysInBucket(10, 1, 100000)[0])).toBe(NOT_FOUND);
  });

  it('moves an entry from its primary to its secondary to make room (cuckoo step)', () => {
    const t = new IndexHarness(64, 32);
    // Bucket 20 full of keys whose primary it is...
    const inP = t.keysInBucket(20, SLOTS);
    inP.forEach((k, id) => expect(t.insertOne(id, k)).toBe(INSERTED));
    // ...and a newcomer for bucket 20 whose secondary is full too.
    const newcomer = t.keysInBucket(20, 1, 100000)[0];
    const [, sec] = t.index.candidateBuckets(...newcomer);
    t.keysInBucket(sec, SLOTS, 200000).forEach((k, i) => expect(t.insertOne(SLOTS + i, k)).toBe(INSERTED));
    expect(auditIndex(t.index)).toMatchObject({ moves: 0, inSecondary: 0 });
    expect(t.insertOne(31, newcomer)).toBe(INSERTED);
    const audit = auditIndex(t.index);
    expect(audit.problems).toEqual([]);
    expect(audit.moves).toBe(1);
    expect(audit.inSecondary).toBe(1); // the entry that moved out of 20
    expect(t.lookup(newcomer)).toBe(31 << 1);
    inP.forEach((k, id) => expect(t.lookup(k)).toBe(id << 1));
  });

  it('answers INDEX_FULL when both candidate buckets are full and nothing can move, and changes nothing', () => {
    // Two buckets: every key's candidates are the whole index (14 slots).
    const t = new IndexHarness(2, 16);
    for (let i = 0; i < SLOTS; i++) expect(t.insert(i, udpKey(i), reverse(udpKey(i)))).toBe(INSERTED);
    expect(t.insert(7, udpKey(7), reverse(udpKey(7)))).toBe(INDEX_FULL);
    expect(t.lookup(udpKey(7))).toBe(NOT_FOUND);
    expect(t.lookup(reverse(udpKey(7)))).toBe(NOT_FOUND);
    expect(auditIndex(t.index)).toMatchObject({ entries: 2 * SLOTS, problems: [] });
    t.remove(udpKey(3));
    t.remove(reverse(udpKey(3)));
    expect(t.insert(7, udpKey(7), reverse(udpKey(7)))).toBe(INSERTED);
    expect(auditIndex(t.index)).toMatchObject({ entries: 2 * SLOTS, problems: [] });
  });

  it('sizes buckets for 70% load, as a power of two', () => {
    expect(FlowIndex.bucketsFor(2 << 20)).toBe(1 << 19);
    expect(FlowIndex.bucketsFor(1)).toBe(2);
    for (const keys of [1000, 4096, 100000, 3 << 20]) {
      const b = FlowIndex.bucketsFor(keys);
      expect(keys / (b * SLOTS)).toBeLessThanOrEqual(0.7);
      expect(keys / (b * SLOTS)).toBeGreaterThan(0.35);
    }
  });

  it('refuses bucket counts that are not powers of two, and foreign buffers', () => {
    expect(() => FlowIndex.create(3, 0)).toThrow(/power of two/);
    expect(() => FlowIndex.create(1, 0)).toThrow(/power of two/);
    expect(() => new FlowIndex(new SharedArrayBuffer(1024), new Int32Array(8), 3)).toThrow(/not made by FlowIndex.create/);
  });

  it('fills to 70% of its slots (at capacity) with no failed insert and few entries out of place', () => {
    const buckets = 1 << 12;
    const flows = Math.floor((buckets * SLOTS * 0.7) / 2);
    const t = new IndexHarness(buckets, flows, 77);
    for (let i = 0; i < flows; i++) {
      const k: Key = [0xc6120000 | (i & 0xffff), 0xcb007105 | 0, ((i >>> 16) << 16) | 443, 6];
      expect(t.insert(i, k, reverse(k))).toBe(INSERTED);
    }
    const audit = auditIndex(t.index);
    expect(audit.problems).toEqual([]);
    expect(audit.entries).toBe(2 * flows);
    expect(audit.inSecondary / audit.entries).toBeLessThan(0.1);
  });
});

// ---- Property: the index behaves as a Map from key to value under any sequence of operations.

type Op = { op: 'insert'; a: number; b: number; reverseReply: boolean } | { op: 'remove'; pick: number } | { op: 'lookup'; a: number };

/** A small universe of keys so that repeats, reverse pairs and full buckets all happen. */
const UNIVERSE = 60;
function universeKey(i: number): Key {
  return [(0xc0000200 | (i % 5)) | 0, (0xcb007100 | (i % 3)) | 0, ((1000 + (i % 8)) << 16) | 53, 17];
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('insert' as const), a: fc.nat(UNIVERSE - 1), b: fc.nat(UNIVERSE - 1), reverseReply: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('lookup' as const), a: fc.nat(UNIVERSE - 1) }) },
);

describe('FlowIndex against a Map (fast-check)', () => {
  for (const buckets of [2, 4, 8]) {
    it(`agrees with the model for any operation sequence, ${buckets} buckets (full buckets, secondaries, moves)`, () => {
      // What the runs went through, so the test shows it covered the hard cases.
      const seen = { full: 0, secondary: 0, moves: 0, existing: 0 };
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 30, maxLength: 200 }), (ops) => {
          const maxFlows = 128;
          const t = new IndexHarness(buckets, maxFlows, 0x1234 + buckets);
          const model = new Map<string, number>();
          const live = new Map<number, [Key, Key]>();
          const freeIds = Array.from({ length: maxFlows }, (_, i) => i);
          const str = (k: Key) => k.join(',');
          for (const o of ops) {
            if (o.op === 'insert') {
              if (freeIds.length === 0) continue;
              const orig = universeKey(o.a);
              const reply = o.reverseReply ? reverse(orig) : universeKey(o.b);
              const id = freeIds.pop() as number;
              const same = str(orig) === str(reply);
              const before = model.size;
              const res = t.insert(id, orig, reply);
              const expectExisting = model.get(str(orig)) ?? (same ? undefined : model.get(str(reply)));
              if (expectExisting !== undefined) {
                expect(res).toBe(expectExisting);
                seen.existing++;
                freeIds.push(id);
              } else if (res === INDEX_FULL) {
                // Only when the index is short of room: with 2 buckets every key may use every slot.
                if (buckets === 2) expect(before + (same ? 1 : 2)).toBeGreaterThan(2 * SLOTS);
                seen.full++;
                freeIds.push(id);
              } else {
                expect(res).toBe(INSERTED);
                model.set(str(orig), id << 1);
                if (!same) model.set(str(reply), (id << 1) | 1);
                live.set(id, [orig, reply]);
              }
            } else if (o.op === 'remove') {
              if (live.size === 0) continue;
              const ids = [...live.keys()];
              const id = ids[o.pick % ids.length];
              const [orig, reply] = live.get(id) as [Key, Key];
              expect(t.remove(orig, id << 1)).toBe(id << 1);
              model.delete(str(orig));
              if (str(orig) !== str(reply)) {
                expect(t.remove(reply)).toBe((id << 1) | 1);
                model.delete(str(reply));
              }
              live.delete(id);
              freeIds.push(id);
            } else {
              const k = universeKey(o.a);
              expect(t.lookup(k)).toBe(model.get(str(k)) ?? NOT_FOUND);
              expect(t.lookup(reverse(k))).toBe(model.get(str(reverse(k))) ?? NOT_FOUND);
            }
            const a = auditIndex(t.index);
            if (a.inSecondary > 0) seen.secondary++;
          }
          for (let i = 0; i < UNIVERSE; i++) {
            const k = universeKey(i);
            expect(t.lookup(k)).toBe(model.get(str(k)) ?? NOT_FOUND);
            expect(t.lookup(reverse(k))).toBe(model.get(str(reverse(k))) ?? NOT_FOUND);
          }
          const audit = auditIndex(t.index);
          expect(audit.problems).toEqual([]);
          expect(audit.entries).toBe(model.size);
          if (audit.moves > 0) seen.moves++;
        }),
        { numRuns: 300 },
      );
      if (buckets <= 4) expect(seen.full).toBeGreaterThan(0);
      expect(seen.secondary).toBeGreaterThan(0);
      expect(seen.existing).toBeGreaterThan(0);
      if (buckets > 2) expect(seen.moves).toBeGreaterThan(0);
    });
  }
});
