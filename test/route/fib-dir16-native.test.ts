// The addon's batch lookup over a dir16 FIB (native/src/lpm-dir16.cc through
// fib-dir16-native.ts): it answers like the linear reference and like the JS
// loop over the same SharedArrayBuffers, for random tables and every batch
// size around its block width, through the FIB mirror's generation switches
// (each worker-side view opened natively, as MirrorViews does with
// `native`), and a corrupted group index reads "no route", never memory
// outside the tables.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Lpm, NO_ROUTE } from '../../src/route/lpm.js';
import { DIR16_MAX_NEXT_HOP, Dir16View, openFib } from '../../src/route/fib-dir16.js';
import { nativeDir16Available, nativeDir16Batch } from '../../src/runtime/fib-dir16-native.js';
import { LinearLpm } from '../../src/route/lpm-reference.js';
import { prefixMask } from '../../src/route/prefix.js';
import { FibMirror, MirrorViews } from '../../src/runtime/fib-mirror.js';
import { loadNative } from '../../src/io/native.js';

const shared = (n: number) => new SharedArrayBuffer(n);

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Addresses at and around each prefix's edges and middle, plus uniform ones. */
function probes(prefixes: { p: number; len: number }[], random: () => number, extra: number): Uint32Array {
  const out: number[] = [];
  for (const { p, len } of prefixes) {
    const last = (p | ~prefixMask(len)) >>> 0;
    out.push(p, last, (p - 1) >>> 0, (last + 1) >>> 0, (p + ((last - p) >>> 1)) >>> 0);
  }
  for (let i = 0; i < extra; i++) out.push(Math.floor(random() * 2 ** 32));
  return Uint32Array.from(out);
}

const BASES = [0, 0x0a000000, 0x0a0b0c0d, 0x0a0bffff, 0xc0000280, 0xffffffff];
const lenArb = fc.oneof(fc.constantFrom(0, 8, 16, 23, 24, 25, 28, 31, 32), fc.integer({ min: 0, max: 32 }));
const prefixArb = fc.tuple(fc.oneof(fc.constantFrom(...BASES), fc.integer({ min: 0, max: 0xffffffff })), lenArb).map(([a, len]) => ({ p: (a & prefixMask(len)) >>> 0, len }));
const nhArb = fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: DIR16_MAX_NEXT_HOP }));

describe.skipIf(!nativeDir16Available())('native dir16 batch lookup', () => {
  it('answers like the reference and the JS loop on random tables, in Int32Array and Uint32Array outputs (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(prefixArb, nhArb), { maxLength: 40 }), fc.integer({ min: 1, max: 2 ** 31 }), (routes, seed) => {
        const lpm = new Lpm({ expectedPrefixes: 16 });
        const ref = new LinearLpm();
        for (const [{ p, len }, nh] of routes) {
          lpm.insert(p, len, nh);
          ref.insert(p, len, nh);
        }
        const b = lpm.snapshot(1, shared, 'auto');
        expect(b.layout).toBe('dir16');
        const js = openFib(b) as Dir16View;
        const nat = openFib(b, nativeDir16Batch) as Dir16View;
        expect(nat.native).toBe(true);
        expect(js.native).toBe(false);
        const addrs = probes(routes.map(([x]) => x), rng(seed), 70);
        const out = new Int32Array(addrs.length);
        const outU = new Uint32Array(addrs.length);
        const jsOut = new Int32Array(addrs.length);
        nat.lookupBatch(addrs, out, addrs.length);
        nat.lookupBatch(addrs, outU, addrs.length);
        js.lookupBatch(addrs, jsOut, addrs.length);
        addrs.forEach((a, i) => {
          const want = ref.lookup(a);
          expect(out[i], `${a >>> 0}`).toBe(want);
          expect(outU[i]).toBe(want >>> 0);
          expect(jsOut[i]).toBe(want);
        });
      }),
      { numRuns: 20 },
    );
  });

  it('writes exactly n results for every n around the 64-address block, and refuses n past either array', () => {
    const lpm = new Lpm();
    const ref = new LinearLpm();
    const random = rng(5);
    for (let i = 0; i < 300; i++) {
      const len = [8, 16, 22, 24, 24, 25, 28, 32][i % 8];
      const p = ((0x0a000000 | Math.floor(random() * 0x1000000)) & prefixMask(len)) >>> 0;
      lpm.insert(p, len, i);
      ref.insert(p, len, i);
    }
    const v = openFib(lpm.snapshot(0, shared, 'auto'), nativeDir16Batch) as Dir16View;
    expect(v.native).toBe(true);
    const addrs = new Uint32Array(3 * 64 + 7).map(() => (random() < 0.2 ? Math.floor(random() * 2 ** 32) : 0x0a000000 | Math.floor(random() * 0x1000000)));
    for (const n of [0, 1, 2, 31, 63, 64, 65, 127, 128, 129, 192, addrs.length]) {
      const out = new Int32Array(addrs.length + 1).fill(-7);
      v.lookupBatch(addrs, out, n);
      for (let i = 0; i < n; i++) expect(out[i]).toBe(ref.lookup(addrs[i]));
      for (let i = n; i < out.length; i++) expect(out[i], `n ${n}: out[${i}] written`).toBe(-7);
    }
    expect(() => v.lookupBatch(addrs, new Int32Array(4), 5)).toThrow(RangeError);
    expect(() => v.lookupBatch(addrs.subarray(0, 3), new Int32Array(8), 4)).toThrow(RangeError);
    expect(() => v.lookupBatch(new Int32Array(4) as unknown as Uint32Array, new Int32Array(4), 4)).toThrow(TypeError);
    expect(() => v.lookupBatch(addrs, new Float64Array(4) as unknown as Int32Array, 4)).toThrow(TypeError);
  });

  it('opens only SharedArrayBuffer tables of the dir16 shape', () => {
    const lpm = new Lpm();
    lpm.insert(0x0a000000, 8, 1);
    expect(nativeDir16Batch(new Uint16Array(1 << 24), new Uint16Array(256))).toBeUndefined();
    const b = lpm.snapshot(0, (n) => new ArrayBuffer(n), 'auto');
    expect((openFib(b, nativeDir16Batch) as Dir16View).native).toBe(false);
    const addon = loadNative() as unknown as { dir16Open(r: Uint16Array, t: Uint16Array): unknown; dir16LookupBatch(c: unknown, a: Uint32Array, o: Int32Array, n: number): void };
    expect(() => addon.dir16Open(new Uint16Array(shared(2 << 20)), new Uint16Array(shared(512)))).toThrow(/2\^24 entries/);
    expect(() => addon.dir16Open(new Uint16Array(shared(2 << 24)), new Uint16Array(shared(300)))).toThrow(/whole 256-entry groups/);
    expect(() => addon.dir16Open(new Uint16Array(shared(2 << 24)), new Uint16Array(512))).toThrow(/SharedArrayBuffer/);
    expect(() => addon.dir16LookupBatch({}, new Uint32Array(1), new Int32Array(1), 1)).toThrow(/dir16Open/);
  });

  it('reads "no route", not memory past the groups, when a root entry names a group that is not there', () => {
    const root = new Uint16Array(shared(2 << 24));
    const tbl8 = new Uint16Array(shared(2 * 256 * 2));
    tbl8[256 + 7] = 5; // group 1, host .7: next hop 4
    root[0x0a0000] = 0x8001; // 10.0.0.0/24 -> group 1
    root[0x0a0001] = 0x8002; // past the two groups
    root[0x0a0002] = 0xffff; // the last group index of all
    const batch = nativeDir16Batch(root, tbl8)!;
    const addrs = Uint32Array.of(0x0a000007, 0x0a000008, 0x0a000107, 0x0a0002ff);
    const out = new Int32Array(4);
    batch(addrs, out, 4);
    expect([...out]).toEqual([4, NO_ROUTE, NO_ROUTE, NO_ROUTE]);
  });

  it('through the mirror: every generation answers like the reference, views switch between batches, the copy in use is never written (layout dir16)', () => {
    const lpm = new Lpm({ expectedPrefixes: 64 });
    const ref = new LinearLpm();
    const mirror = new FibMirror(() => lpm.view, shared, 'dir16');
    const views = new MirrorViews({ native: true });
    let inUse = views.take(mirror.initial()) as Dir16View;
    expect(inUse.native).toBe(true);
    const random = rng(21);
    const installed = new Map<string, [number, number]>();
    const addrs = new Uint32Array(1000);
    const out = new Int32Array(addrs.length);
    const ids = new Set<Uint16Array>();
    for (let round = 1; round <= 40; round++) {
      const frozen = [inUse.root.slice(), inUse.tbl8.slice()];
      const n = round % 10 === 0 ? 300 : 1 + Math.floor(random() * 20);
      for (let k = 0; k < n; k++) {
        const have = [...installed.values()];
        if (have.length > 0 && random() < 0.35) {
          const [p, len] = have[Math.floor(random() * have.length)];
          lpm.delete(p, len);
          ref.delete(p, len);
          installed.delete(`${p}/${len}`);
          mirror.changed(p, len);
          continue;
        }
        const len = random() < 0.03 ? Math.floor(random() * 9) : 16 + Math.floor(random() * 17);
        const base = random() < 0.8 ? 0xc6120000 + Math.floor(random() * 0x20000) : Math.floor(random() * 2 ** 32);
        const p = len === 0 ? 0 : (base & (0xffffffff << (32 - len))) >>> 0;
        const nh = Math.floor(random() * 6);
        lpm.insert(p, len, nh);
        ref.insert(p, len, nh);
        installed.set(`${p}/${len}`, [p, len]);
        mirror.changed(p, len);
      }
      // Lookups on the copy in force while the other is being brought up to date: the old generation's answers.
      const ref2 = mirror.next(round);
      expect(Buffer.from(inUse.root.buffer, inUse.root.byteOffset, inUse.root.byteLength).equals(Buffer.from(frozen[0].buffer)), `round ${round}: root of the copy in use changed`).toBe(true);
      expect(Buffer.from(inUse.tbl8.buffer, inUse.tbl8.byteOffset, frozen[1].byteLength).equals(Buffer.from(frozen[1].buffer)), `round ${round}: tbl8 of the copy in use changed`).toBe(true);
      const next = views.take(ref2) as Dir16View;
      mirror.settled(true);
      expect(next.native).toBe(true);
      expect(next).not.toBe(inUse);
      ids.add(next.root);
      for (let i = 0; i < addrs.length; i++) addrs[i] = random() < 0.7 ? 0xc6120000 + Math.floor(random() * 0x20000) : Math.floor(random() * 2 ** 32);
      next.lookupBatch(addrs, out, addrs.length);
      const wrong: string[] = [];
      for (let i = 0; i < addrs.length; i++) if (out[i] !== ref.lookup(addrs[i])) wrong.push(`${addrs[i]}: ${out[i]} vs ${ref.lookup(addrs[i])}`);
      expect(wrong, `round ${round}`).toEqual([]);
      inUse = next;
    }
    // The two copies were used in turn (and re-sent when their groups grew).
    expect(ids.size).toBeGreaterThanOrEqual(2);
  });
});

describe('native dir16 batch lookup, fallback', () => {
  it('MirrorViews without native keeps the JS loop', () => {
    const lpm = new Lpm({ expectedPrefixes: 64 });
    const mirror = new FibMirror(() => lpm.view, shared, 'dir16');
    const v = new MirrorViews().take(mirror.initial()) as Dir16View;
    expect(v).toBeInstanceOf(Dir16View);
    expect(v.native).toBe(false);
  });
});
