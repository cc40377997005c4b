import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FibView, Lpm, MAX_NEXT_HOP, NO_ROUTE } from '../../src/route/lpm.js';
import { BATCH_LANES } from '../../src/route/fib-view.js';
import { LinearLpm } from '../../src/route/lpm-reference.js';
import { parseIpv4, prefixMask } from '../../src/route/prefix.js';

const ip = parseIpv4;

function plies(lpm: Lpm): number[] {
  return lpm.memory().levels.map((l) => l.plies);
}

describe('Lpm: longest-prefix match', () => {
  it('an empty table answers NO_ROUTE (-1; 0xffffffff in a Uint32Array)', () => {
    const lpm = new Lpm();
    expect(lpm.lookup(ip('192.0.2.1'))).toBe(NO_ROUTE);
    const out = new Uint32Array(2);
    lpm.lookupBatch(new Uint32Array([0, 0xffffffff]), out, 2);
    expect(Array.from(out)).toEqual([0xffffffff, 0xffffffff]);
  });

  it('the default route /0 matches everything that nothing longer matches', () => {
    const lpm = new Lpm();
    lpm.insert(0, 0, 7);
    lpm.insert(ip('10.0.0.0'), 8, 1);
    expect(lpm.lookup(0)).toBe(7);
    expect(lpm.lookup(0xffffffff)).toBe(7);
    expect(lpm.lookup(ip('10.255.255.255'))).toBe(1);
    expect(lpm.lookup(ip('11.0.0.0'))).toBe(7);
  });

  it('a /32 matches only its address', () => {
    const lpm = new Lpm();
    lpm.insert(ip('198.51.100.7'), 32, 3);
    expect(lpm.lookup(ip('198.51.100.7'))).toBe(3);
    expect(lpm.lookup(ip('198.51.100.6'))).toBe(NO_ROUTE);
    expect(lpm.lookup(ip('198.51.100.8'))).toBe(NO_ROUTE);
  });

  it('nested prefixes across every level boundary pick the longest', () => {
    const lpm = new Lpm();
    const nest: [string, number][] = [['10.0.0.0', 8], ['10.1.0.0', 16], ['10.1.0.0', 19], ['10.1.0.0', 20], ['10.1.0.0', 21], ['10.1.2.0', 23], ['10.1.2.0', 24], ['10.1.2.0', 25], ['10.1.2.0', 31], ['10.1.2.1', 32]];
    nest.forEach(([p, len], i) => lpm.insert(ip(p), len, i));
    const expectAt: [string, number][] = [['10.200.0.0', 0], ['10.1.255.255', 1], ['10.1.16.0', 2], ['10.1.15.255', 3], ['10.1.8.0', 3], ['10.1.7.0', 4], ['10.1.3.0', 5], ['10.1.2.128', 6], ['10.1.2.2', 7], ['10.1.2.0', 8], ['10.1.2.1', 9]];
    for (const [a, nh] of expectAt) expect(lpm.lookup(ip(a)), a).toBe(nh);
  });

  it('deleting a covering route gives its addresses to the next cover and keeps the more specific routes', () => {
    const lpm = new Lpm();
    lpm.insert(ip('10.0.0.0'), 8, 1);
    lpm.insert(ip('10.1.0.0'), 16, 2);
    lpm.insert(ip('10.1.2.0'), 24, 3);
    lpm.insert(ip('10.1.2.128'), 25, 4);
    expect(lpm.delete(ip('10.1.0.0'), 16)).toBe(true);
    expect(lpm.lookup(ip('10.1.3.1'))).toBe(1);
    expect(lpm.lookup(ip('10.1.2.1'))).toBe(3);
    expect(lpm.lookup(ip('10.1.2.200'))).toBe(4);
    expect(lpm.delete(ip('10.1.2.0'), 24)).toBe(true);
    expect(lpm.lookup(ip('10.1.2.1'))).toBe(1);
    expect(lpm.lookup(ip('10.1.2.200'))).toBe(4);
    expect(lpm.delete(ip('10.0.0.0'), 8)).toBe(true);
    expect(lpm.lookup(ip('10.1.2.1'))).toBe(NO_ROUTE);
    expect(lpm.lookup(ip('10.1.2.200'))).toBe(4);
  });

  it('insert over an existing prefix replaces its next hop (and says it was not new)', () => {
    const lpm = new Lpm();
    expect(lpm.insert(ip('192.0.2.0'), 24, 1)).toBe(true);
    lpm.insert(ip('192.0.2.64'), 26, 2);
    expect(lpm.insert(ip('192.0.2.0'), 24, 5)).toBe(false);
    expect(lpm.lookup(ip('192.0.2.1'))).toBe(5);
    expect(lpm.lookup(ip('192.0.2.65'))).toBe(2);
    expect(lpm.get(ip('192.0.2.0'), 24)).toBe(5);
    expect(lpm.size).toBe(2);
  });

  it('delete of an absent prefix is a no-op returning false', () => {
    const lpm = new Lpm();
    lpm.insert(ip('10.0.0.0'), 8, 1);
    expect(lpm.delete(ip('10.0.0.0'), 9)).toBe(false);
    expect(lpm.lookup(ip('10.0.0.1'))).toBe(1);
  });

  it('rejects bad arguments with RangeError', () => {
    const lpm = new Lpm();
    expect(() => lpm.insert(ip('10.1.0.0'), 8, 1)).toThrow(/host bits/);
    expect(() => lpm.insert(0, 33, 1)).toThrow(RangeError);
    expect(() => lpm.insert(0, 0, MAX_NEXT_HOP + 1)).toThrow(RangeError);
    expect(() => lpm.insert(0, 0, -1)).toThrow(RangeError);
    lpm.insert(0, 0, MAX_NEXT_HOP);
    expect(lpm.lookup(1)).toBe(MAX_NEXT_HOP);
  });

  it('folds plies back when their long prefixes go, and reuses them', () => {
    const lpm = new Lpm();
    lpm.insert(ip('10.0.0.0'), 8, 1);
    lpm.insert(ip('10.1.2.3'), 32, 2);
    expect(plies(lpm)).toEqual([1, 1, 1]);
    lpm.delete(ip('10.1.2.3'), 32);
    expect(plies(lpm)).toEqual([1, 0, 0]);
    lpm.insert(ip('10.9.9.9'), 32, 3);
    expect(plies(lpm)).toEqual([1, 1, 1]);
    expect(lpm.memory().levels[2].allocatedBytes).toBeGreaterThan(0);
  });

  it('folds sibling prefixes with one next hop into their parent entry, and expands them again to delete one', () => {
    const lpm = new Lpm();
    lpm.insert(ip('10.0.0.0'), 8, 1);
    for (let i = 0; i < 16; i++) lpm.insert(ip(`10.1.${i}.0`), 24, 2);
    expect(plies(lpm)).toEqual([1, 0, 0]);
    lpm.insert(ip('10.1.0.0'), 22, 3); // shadowed by the /24s
    expect(lpm.lookup(ip('10.1.3.1'))).toBe(2);
    lpm.delete(ip('10.1.5.0'), 24);
    expect(plies(lpm)).toEqual([1, 1, 0]);
    expect(lpm.lookup(ip('10.1.5.1'))).toBe(1);
    lpm.delete(ip('10.1.2.0'), 24);
    expect(lpm.lookup(ip('10.1.2.1'))).toBe(3);
    lpm.insert(ip('10.1.5.0'), 24, 2);
    lpm.insert(ip('10.1.2.0'), 24, 2);
    expect(plies(lpm)).toEqual([1, 0, 0]);
  });

  it('trim() keeps every answer and the table can grow again', () => {
    const lpm = new Lpm({ expectedPrefixes: 100_000 });
    for (let i = 0; i < 64; i++) lpm.insert((0x0a000000 + i * 256 + 128) >>> 0, 25, i);
    const before = lpm.memory().lookupAllocatedBytes;
    lpm.trim();
    expect(lpm.memory().lookupAllocatedBytes).toBeLessThan(before);
    for (let i = 0; i < 64; i++) expect(lpm.lookup((0x0a000000 + i * 256 + 130) >>> 0)).toBe(i);
    for (let i = 64; i < 2000; i++) lpm.insert((0x0a000000 + i * 256 + 128) >>> 0, 25, i);
    for (let i = 0; i < 2000; i += 37) expect(lpm.lookup((0x0a000000 + i * 256 + 129) >>> 0)).toBe(i);
    expect(lpm.lookup(0x0a000001)).toBe(NO_ROUTE);
  });

  it('lookupBatch answers like lookup for every count around the lane width, and writes nothing past n', () => {
    const lpm = new Lpm();
    const ref = new LinearLpm();
    let seed = 7;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 400; i++) {
      const len = [8, 16, 20, 22, 24, 24, 24, 28, 32][i % 9];
      const p = ((0x0a000000 | (rnd() & 0x00ffffff)) & prefixMask(len)) >>> 0;
      lpm.insert(p, len, i);
      ref.insert(p, len, i);
    }
    const view = FibView.fromBuffers(lpm.snapshot());
    // Addresses inside 10/8 reach all three levels; the rest miss.
    const addrs = new Uint32Array(3 * BATCH_LANES + 5).map((_, i) => (i % 5 === 0 ? rnd() : 0x0a000000 | (rnd() & 0x00ffffff)));
    for (let n = 0; n <= addrs.length; n++) {
      const out = new Int32Array(addrs.length + 1).fill(-7);
      view.lookupBatch(addrs, out, n);
      for (let i = 0; i < n; i++) expect(out[i], `n=${n} i=${i}`).toBe(ref.lookup(addrs[i]));
      for (let i = n; i < out.length; i++) expect(out[i]).toBe(-7);
    }
  });

  it('a snapshot serves the same lookups to a FibView built from its buffers', () => {
    const lpm = new Lpm({ expectedPrefixes: 16 });
    const ref = new LinearLpm();
    let seed = 1;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 3000; i++) {
      const len = 16 + (rnd() % 17);
      const p = (rnd() & prefixMask(len)) >>> 0;
      lpm.insert(p, len, i);
      ref.insert(p, len, i);
    }
    const view = FibView.fromBuffers(lpm.snapshot(4));
    expect(view.generation).toBe(4);
    expect(view.root.buffer).toBeInstanceOf(SharedArrayBuffer);
    const addrs = new Uint32Array(2000).map(() => rnd());
    const a = new Int32Array(addrs.length);
    const b = new Int32Array(addrs.length);
    view.lookupBatch(addrs, a, addrs.length);
    lpm.lookupBatch(addrs, b, addrs.length);
    expect(a).toEqual(b);
    for (let i = 0; i < 300; i++) expect(a[i]).toBe(ref.lookup(addrs[i]));
  });
});

// Prefixes cluster around a few addresses so random operations nest, overlap
// and collide; lengths favour the level boundaries (20, 24) and the extremes.
const BASES = [0, 0x0a000000, 0x0a0b0c0d, 0x0a0bffff, 0xc0000280, 0xffffffff];
const lenArb = fc.oneof(fc.constantFrom(0, 1, 8, 15, 16, 19, 20, 21, 23, 24, 25, 28, 31, 32), fc.integer({ min: 0, max: 32 }));
const prefixArb = fc.tuple(fc.oneof(fc.constantFrom(...BASES), fc.integer({ min: 0, max: 0xffffffff })), lenArb).map(([a, len]) => ({ p: (a & prefixMask(len)) >>> 0, len }));
// Few next hops, so neighbouring prefixes often share a leaf word and plies fold.
const nhArb = fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: MAX_NEXT_HOP }));
type Op = { op: 'insert'; p: number; len: number; nh: number } | { op: 'insertPair'; p: number; len: number; nh: number } | { op: 'delete'; p: number; len: number } | { op: 'deleteExisting' | 'replaceExisting'; pick: number; nh: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(prefixArb, nhArb).map(([x, nh]): Op => ({ op: 'insert', p: x.p, len: x.len, nh })) },
  { weight: 1, arbitrary: prefixArb.map((x): Op => ({ op: 'delete', p: x.p, len: x.len })) },
  // Both halves of a block with one next hop: the ply under the block folds into one leaf.
  { weight: 1, arbitrary: fc.tuple(prefixArb, nhArb).filter(([x]) => x.len > 0).map(([x, nh]): Op => ({ op: 'insertPair', p: x.p, len: x.len, nh })) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), nhArb).map(([pick, nh]): Op => ({ op: 'deleteExisting', pick, nh })) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), nhArb).map(([pick, nh]): Op => ({ op: 'replaceExisting', pick, nh })) },
);

function probes(prefixes: { p: number; len: number }[], extra: number[]): number[] {
  const out = [...extra];
  for (const { p, len } of prefixes) {
    const last = (p | ~prefixMask(len)) >>> 0;
    out.push(p, last, (p - 1) >>> 0, (last + 1) >>> 0, (p + ((last - p) >>> 1)) >>> 0);
  }
  return out;
}

describe('Lpm against the linear reference (fast-check)', () => {
  it('random inserts, deletes and replaces give the same lookups, and deleting everything frees every ply', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 8 }), (ops, extra) => {
        const lpm = new Lpm({ expectedPrefixes: 64 });
        const ref = new LinearLpm();
        const live: { p: number; len: number }[] = [];
        const touched: { p: number; len: number }[] = [];
        const insert = (p: number, len: number, nh: number) => {
          const isNew = ref.insert(p, len, nh);
          expect(lpm.insert(p, len, nh)).toBe(isNew);
          if (isNew) live.push({ p, len });
          touched.push({ p, len });
        };
        for (const o of ops) {
          if (o.op === 'insertPair') {
            insert(o.p, o.len, o.nh);
            insert((o.p ^ (2 ** (32 - o.len))) >>> 0, o.len, o.nh);
          } else if (o.op === 'insert' || o.op === 'replaceExisting') {
            const x = o.op === 'insert' ? o : live[o.pick % Math.max(live.length, 1)];
            if (x === undefined) continue;
            insert(x.p, x.len, o.nh);
          } else {
            const x = o.op === 'delete' ? o : live[o.pick % Math.max(live.length, 1)];
            if (x === undefined) continue;
            const had = ref.delete(x.p, x.len);
            expect(lpm.delete(x.p, x.len)).toBe(had);
            if (had) live.splice(live.findIndex((y) => y.p === x.p && y.len === x.len), 1);
            touched.push(x);
          }
          for (const a of probes([touched[touched.length - 1]], [])) expect(lpm.lookup(a)).toBe(ref.lookup(a));
        }
        expect(lpm.size).toBe(ref.size);
        const all = Uint32Array.from(probes(touched, extra));
        const batch = new Int32Array(all.length);
        lpm.lookupBatch(all, batch, all.length);
        all.forEach((a, i) => expect(batch[i]).toBe(ref.lookup(a)));
        for (const x of live) lpm.delete(x.p, x.len);
        expect(plies(lpm)).toEqual([1, 0, 0]);
        for (const a of probes(touched, extra)) expect(lpm.lookup(a)).toBe(NO_ROUTE);
      }),
      { numRuns: 150 },
    );
  });
});
