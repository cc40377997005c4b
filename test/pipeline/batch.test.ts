// The batch's bookkeeping: a burst's metadata set up a column at a time
// (initSlots) or taken from a port's burst (takeBurst, column by column or
// slot by slot by its size) is what initSlot per slot sets up but what the
// burst wrote itself, and reset() hands out
// generated and jumbo slots in the same order whether or not the batch
// before used them.
import { describe, expect, it } from 'vitest';
import { Batch, BurstKeep, COLUMN_SETUP_MIN, OffloadMeta, PacketFlag } from '../../src/pipeline/batch.js';

/** Every per-slot metadata array of `b` for slots [first, end), as plain arrays. */
function meta(b: Batch, first: number, end: number) {
  const cols = { start: b.start, length: b.length, rxPort: b.rxPort, tsSec: b.tsSec, tsNsec: b.tsNsec, flags: b.flags, ctMark: b.ctMark, note: b.note };
  const out: Record<string, number[]> = {};
  for (const [k, a] of Object.entries(cols)) out[k] = Array.from(a.subarray(first, end));
  // The offload words that say whether the others mean anything (the others may differ when they do not).
  out.offload = [];
  for (let i = first; i < end; i++) out.offload.push(b.offload[i * OffloadMeta.WORDS + OffloadMeta.FLAGS], b.offload[i * OffloadMeta.WORDS + OffloadMeta.GSO_TYPE]);
  return out;
}

/** Leaves junk in every metadata array, as a batch that carried other packets does. */
function dirty(b: Batch): void {
  for (const a of [b.start, b.length, b.rxPort, b.tsSec, b.tsNsec, b.flags, b.ctMark, b.note, b.offload]) a.fill(7);
}

describe('Batch', () => {
  it("spreads the slots' first lines over every L1 set (address bits 6-11), and each slot still holds maxFrame", () => {
    for (const b of [new Batch(), new Batch({ slotBytes: 1024 }), new Batch({ slotBytes: 600 })]) {
      const sets = new Set<number>();
      for (let i = 0; i < b.rxCapacity; i++) sets.add((b.slotStart(i) >> 6) & 63);
      // A 2048-byte stride put every header in 2 sets; 1024 in 4.
      expect(sets.size, `slotBytes ${b.slotBytes}`).toBeGreaterThanOrEqual(b.slotBytes === 600 ? 32 : 64);
      for (let i = 0; i + 1 < b.firstJumbo; i++) expect(b.slotStart(i) + b.maxFrame).toBeLessThanOrEqual(b.slotStart(i + 1));
      const last = b.firstJumbo - 1;
      expect(b.slotStart(last) + b.maxFrame).toBeLessThanOrEqual(b.slotStart(b.firstJumbo));
    }
    expect(new Batch().maxFrame).toBe(1920);
  });

  it('initSlots sets up a burst as initSlot does slot by slot', () => {
    const lengths = Uint32Array.from({ length: 40 }, (_, k) => 60 + 13 * k);
    const a = new Batch();
    const b = new Batch();
    dirty(a);
    dirty(b);
    a.initSlots(5, 40, lengths, 2);
    for (let k = 0; k < 40; k++) b.initSlot(5 + k, lengths[k], 2, 0, 0);
    expect(meta(a, 0, 60)).toEqual(meta(b, 0, 60));
    // Slots outside the burst are left alone.
    expect(a.flags[4]).toBe(7);
    expect(a.flags[45]).toBe(7);
  });

  it('initSlots takes the lengths from a longer array or a plain one, and puts every start back where a slot begins', () => {
    const a = new Batch({ rxCapacity: 32, generatedCapacity: 8 });
    dirty(a);
    a.initSlots(20, 12, Array.from({ length: 16 }, (_, k) => 100 + k), 1);
    expect(Array.from(a.length.subarray(20, 32))).toEqual(Array.from({ length: 12 }, (_, k) => 100 + k));
    expect(Array.from(a.start.subarray(20, 32))).toEqual(Array.from({ length: 12 }, (_, k) => a.slotStart(20 + k)));
    // The generated slots after the receive slots are not touched.
    expect(a.start[32]).toBe(7);
    expect(a.length[19]).toBe(7);
  });

  it('initSlots refuses slots outside the receive range', () => {
    const b = new Batch({ rxCapacity: 32 });
    expect(() => b.initSlots(20, 13, new Uint32Array(13), 0)).toThrow(RangeError);
    expect(() => b.initSlots(20, 12, new Uint32Array(12), 0)).not.toThrow();
  });

  for (const n of [1, COLUMN_SETUP_MIN - 1, COLUMN_SETUP_MIN, 200]) {
    it(`takeBurst of ${n} slots: initSlot's setup, but for the starts, timestamps and offload words it is told the burst wrote`, () => {
      for (const keep of [0, BurstKeep.STARTS, BurstKeep.TIMESTAMPS, BurstKeep.OFFLOAD, BurstKeep.STARTS | BurstKeep.TIMESTAMPS | BurstKeep.OFFLOAD]) {
        const a = new Batch();
        const b = new Batch();
        for (const x of [a, b]) {
          dirty(x);
          // What a burst writes: lengths, starts (AF_XDP: into the UMEM), timestamps, offload words.
          for (let i = 3; i < 3 + n; i++) {
            x.length[i] = 60 + i;
            x.start[i] = 100_000 + 4096 * i;
            x.tsSec[i] = 1_700_000_000 + i;
            x.tsNsec[i] = i;
            x.offload.set([1, 1, 54, 1448, 34, 16], i * OffloadMeta.WORDS);
          }
        }
        a.takeBurst(3, n, 4, keep);
        for (let i = 3; i < 3 + n; i++) {
          const [start, sec, nsec, words] = [b.start[i], b.tsSec[i], b.tsNsec[i], b.offload.slice(i * OffloadMeta.WORDS, (i + 1) * OffloadMeta.WORDS)];
          b.initSlot(i, b.length[i], 4, sec, nsec);
          if ((keep & BurstKeep.STARTS) !== 0) b.start[i] = start;
          if ((keep & BurstKeep.TIMESTAMPS) === 0) [b.tsSec[i], b.tsNsec[i]] = [0, 0];
          if ((keep & BurstKeep.OFFLOAD) !== 0) b.offload.set(words, i * OffloadMeta.WORDS);
        }
        expect(meta(a, 0, 3 + n + 2)).toEqual(meta(b, 0, 3 + n + 2));
        expect(a.start[3]).toBe((keep & BurstKeep.STARTS) !== 0 ? 100_000 + 4096 * 3 : a.slotStart(3));
        expect(a.hasOffload(3)).toBe((keep & BurstKeep.OFFLOAD) !== 0);
        expect(a.flags[2]).toBe(7);
        expect(a.flags[3 + n]).toBe(7);
      }
    });
  }

  it('takeBurst refuses slots outside the receive range', () => {
    const b = new Batch({ rxCapacity: 32 });
    expect(() => b.takeBurst(20, 13, 0, 0)).toThrow(RangeError);
    expect(() => b.takeBurst(20, 12, 0, 0)).not.toThrow();
  });

  it('after reset() hands out generated and jumbo slots in the same order, used or not', () => {
    const b = new Batch({ rxCapacity: 8, generatedCapacity: 4, jumboCapacity: 2 });
    const take = () => {
      const g = [b.allocGenerated(0), b.allocGeneratedAt(1, 0, 0), b.allocGenerated(0)];
      const j = [b.allocJumbo(0), b.allocJumbo(0), b.allocJumbo(0)];
      return { g, j, free: b.generatedFree };
    };
    b.reset();
    const fresh = take();
    expect(fresh).toEqual({ g: [8, 9, 10], j: [12, 13, -1], free: 1 });
    // Returned in another order: reset() still puts the pools back as new.
    b.release(10);
    b.release(8);
    b.release(13);
    b.reset();
    expect(take()).toEqual(fresh);
    // A batch that took nothing: the pools are untouched and hand out the same.
    b.reset();
    b.reset();
    expect(take()).toEqual(fresh);
    expect(b.flags[8]).toBe(PacketFlag.CHILD);
  });
});
