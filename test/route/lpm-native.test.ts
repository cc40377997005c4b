// FibView.lookupBatch on both of its paths, the JavaScript loop and the
// addon's (native/src/lpm-lookup.cc over the same tables): the same cases run
// against each, checked against references that find the longest match the
// obvious way, over random prefixes and over the real RouteViews table, with
// updates landing between batches through the double-buffered copies the
// workers read (FibMirror), and no allocation per batch.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Lpm, MAX_NEXT_HOP, NO_ROUTE } from '../../src/route/lpm.js';
import { FibView, type BatchPath } from '../../src/route/fib-view.js';
import { nativeLpmAvailable } from '../../src/route/lpm-native.js';
import { LinearLpm } from '../../src/route/lpm-reference.js';
import { prefixMask } from '../../src/route/prefix.js';
import { FibMirror, type FibRef } from '../../src/runtime/fib-mirror.js';
import { addonPath } from '../../src/io/native.js';
import { ROUTEVIEWS_FILE, readRouteViews, type PrefixTable } from '../../bench/route/table.js';
import { allocationCheck } from '../../bench/lib/measure.js';

const PATHS: BatchPath[] = ['js', 'native'];
const hasNative = nativeLpmAvailable();

/** Deterministic PRNG (mulberry32), uint32 outputs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Longest match by probing every length from 32 down in a map of exact prefixes: obviously right and fast enough for 700k routes. */
class ExactRef {
  private readonly routes = new Map<number, number>();
  private key(p: number, len: number): number {
    return p * 64 + len;
  }
  insert(p: number, len: number, nh: number): void {
    this.routes.set(this.key(p >>> 0, len), nh);
  }
  delete(p: number, len: number): void {
    this.routes.delete(this.key(p >>> 0, len));
  }
  lookup(addr: number): number {
    for (let len = 32; len >= 0; len--) {
      const nh = this.routes.get(this.key((addr & prefixMask(len)) >>> 0, len));
      if (nh !== undefined) return nh;
    }
    return NO_ROUTE;
  }
}

/** The view workers would read for `ref`: built once per copy, as MirrorViews does, on the path under test. */
function viewFor(ref: FibRef, known: Map<number, FibView>, batch: BatchPath): FibView {
  if (ref.buffers !== undefined) known.set(ref.id, FibView.fromBuffers(ref.buffers, { batch }));
  const v = known.get(ref.id);
  if (v === undefined) throw new Error(`copy ${ref.id} never sent`);
  return v;
}

describe('FibView batch paths', () => {
  it('the addon built by npm install carries the native batch lookup', () => {
    // Without this, a stale or missing addon would skip every native case below unnoticed.
    if (!existsSync(addonPath())) return;
    expect(hasNative).toBe(true);
    expect(new FibView(new Int32Array(1 << 20), new Int32Array(16), new Int32Array(256), 0, { batch: 'native' }).batchPath).toBe('native');
  });

  it('a view asked for the JavaScript path keeps it', () => {
    expect(new FibView(new Int32Array(1 << 20), new Int32Array(16), new Int32Array(256), 0, { batch: 'js' }).batchPath).toBe('js');
  });

  it('the native path rejects arguments the JavaScript loop would misread', () => {
    if (!hasNative) return;
    const v = new FibView(new Int32Array(1 << 20), new Int32Array(16), new Int32Array(256), 0, { batch: 'native' });
    expect(() => v.lookupBatch(new Uint32Array(4), new Int32Array(4), 5)).toThrow(RangeError);
    expect(() => v.lookupBatch(new Uint32Array(8), new Int32Array(4), 5)).toThrow(RangeError);
    expect(() => v.lookupBatch(new Uint32Array(4), new Int32Array(4), -1)).toThrow(RangeError);
    expect(() => v.lookupBatch(new Int32Array(4) as unknown as Uint32Array, new Int32Array(4), 4)).toThrow(TypeError);
    expect(() => v.lookupBatch(new Uint32Array(4), new Float64Array(4) as unknown as Int32Array, 4)).toThrow(TypeError);
  });

  it('a corrupt child pointer gives a wrong next hop, never a read outside the table', () => {
    if (!hasNative) return;
    const root = new Int32Array(1 << 20);
    root[0] = ~0x7ffffff0; // points far past the 16-entry middle table
    const v = new FibView(root, new Int32Array(16).fill(5), new Int32Array(256), 0, { batch: 'native' });
    const out = new Int32Array(1);
    v.lookupBatch(new Uint32Array([1]), out, 1);
    expect(out[0]).toBe(4); // entry 0 of the middle table (leaf word 5 -> next hop 4) stands in
  });

  for (const path of PATHS) {
    describe(`${path} path`, () => {
      const skip = path === 'native' && !hasNative;

      it.skipIf(skip)('answers like the reference for every count up to three groups, writes nothing past n, NO_ROUTE as 0xffffffff in a Uint32Array', () => {
        const lpm = new Lpm();
        const ref = new LinearLpm();
        const rnd = rng(3);
        for (let i = 0; i < 500; i++) {
          const len = [0, 8, 16, 20, 21, 24, 24, 24, 25, 28, 32][i % 11];
          if (len === 0 && i > 0) continue;
          const p = ((0xc6120000 | (rnd() & 0x0001ffff)) & prefixMask(len)) >>> 0;
          const nh = len === 0 ? MAX_NEXT_HOP : i;
          lpm.insert(p, len, nh);
          ref.insert(p, len, nh);
        }
        const view = FibView.fromBuffers(lpm.snapshot(), { batch: path });
        expect(view.batchPath).toBe(path);
        const addrs = new Uint32Array(3 * 64 + 7).map((_, i) => (i % 4 === 0 ? rnd() : 0xc6120000 | (rnd() & 0x0001ffff)));
        for (let n = 0; n <= addrs.length; n++) {
          const out = new Int32Array(addrs.length + 1).fill(-7);
          view.lookupBatch(addrs, out, n);
          for (let i = 0; i < n; i++) expect(out[i], `n=${n} i=${i}`).toBe(ref.lookup(addrs[i]));
          for (let i = n; i < out.length; i++) expect(out[i]).toBe(-7);
        }
        const empty = FibView.fromBuffers(new Lpm().snapshot(), { batch: path });
        const u = new Uint32Array(3);
        empty.lookupBatch(new Uint32Array([0, 0x7f000001, 0xffffffff]), u, 3);
        expect(Array.from(u)).toEqual([0xffffffff, 0xffffffff, 0xffffffff]);
      });

      it.skipIf(skip)('random prefixes with updates between batches, read through the mirror copies, match the linear reference', () => {
        const lenArb = fc.oneof(fc.constantFrom(0, 8, 16, 19, 20, 21, 23, 24, 25, 31, 32), fc.integer({ min: 0, max: 32 }));
        const base = fc.constantFrom(0, 0xc0000200, 0xc6120000, 0xcb007100, 0xffffffff);
        const routeArb = fc.tuple(fc.oneof(base, fc.integer({ min: 0, max: 0xffffffff })), lenArb, fc.integer({ min: 0, max: 3 }), fc.boolean());
        fc.assert(
          fc.property(fc.array(fc.array(routeArb, { maxLength: 12 }), { minLength: 1, maxLength: 6 }), fc.integer(), (rounds, seed) => {
            const lpm = new Lpm({ expectedPrefixes: 32, allocate: (n) => new SharedArrayBuffer(n) });
            const ref = new LinearLpm();
            const mirror = new FibMirror(() => lpm.view);
            const known = new Map<number, FibView>();
            let view = viewFor(mirror.initial(), known, path);
            const rnd = rng(seed);
            const addrs = new Uint32Array(200);
            const out = new Int32Array(addrs.length);
            const touched: number[] = [];
            let gen = 0;
            for (const changes of rounds) {
              for (const [a, len, nh, del] of changes) {
                const p = (a & prefixMask(len)) >>> 0;
                if (del) {
                  lpm.delete(p, len);
                  ref.delete(p, len);
                } else {
                  lpm.insert(p, len, nh);
                  ref.insert(p, len, nh);
                }
                mirror.changed(p, len);
                touched.push(p, (p | ~prefixMask(len)) >>> 0);
              }
              // Publishing the new generation writes only the copy no worker reads: the view in force answers as before.
              const probe = Uint32Array.from({ length: 50 }, (_, i) => touched[(i * 7) % Math.max(touched.length, 1)] ?? rnd());
              const old = new Int32Array(probe.length);
              const again = new Int32Array(probe.length);
              view.lookupBatch(probe, old, probe.length);
              const next = viewFor(mirror.next(++gen), known, path);
              view.lookupBatch(probe, again, probe.length);
              expect(again).toEqual(old);
              view = next;
              mirror.settled(true);
              for (let i = 0; i < addrs.length; i++) addrs[i] = i < touched.length && i % 2 === 0 ? touched[touched.length - 1 - i] : rnd();
              view.lookupBatch(addrs, out, addrs.length);
              for (let i = 0; i < addrs.length; i++) expect(out[i], `addr ${addrs[i]}`).toBe(ref.lookup(addrs[i]));
            }
          }),
          { numRuns: 60 },
        );
      });

      it.skipIf(skip || !existsSync(ROUTEVIEWS_FILE))('the RouteViews table, with withdrawals and re-announcements between batches, matches the exact-match reference', () => {
        const t: PrefixTable = readRouteViews();
        const lpm = new Lpm({ expectedPrefixes: t.count, allocate: (n) => new SharedArrayBuffer(n) });
        const ref = new ExactRef();
        for (let i = 0; i < t.count; i++) {
          lpm.insert(t.prefix[i], t.len[i], t.asn[i] % 8);
          ref.insert(t.prefix[i], t.len[i], t.asn[i] % 8);
        }
        const mirror = new FibMirror(() => lpm.view);
        const known = new Map<number, FibView>();
        let view = viewFor(mirror.initial(), known, path);
        const rnd = rng(11);
        const addrs = new Uint32Array(256);
        const out = new Int32Array(addrs.length);
        const check = () => {
          // Three of four addresses inside a random route (hosts of every level), the rest anywhere.
          for (let i = 0; i < addrs.length; i++) {
            const j = rnd() % t.count;
            addrs[i] = i % 4 === 3 ? rnd() : (t.prefix[j] | (rnd() & ~prefixMask(t.len[j]))) >>> 0;
          }
          view.lookupBatch(addrs, out, addrs.length);
          for (let i = 0; i < addrs.length; i++) if (out[i] !== ref.lookup(addrs[i])) expect(out[i], `addr ${addrs[i]}`).toBe(ref.lookup(addrs[i]));
        };
        for (let b = 0; b < 20; b++) check();
        for (let round = 0; round < 6; round++) {
          for (let k = 0; k < 300; k++) {
            const j = rnd() % t.count;
            if (round % 2 === 0) {
              lpm.delete(t.prefix[j], t.len[j]);
              ref.delete(t.prefix[j], t.len[j]);
            } else {
              lpm.insert(t.prefix[j], t.len[j], (t.asn[j] + round) % 8);
              ref.insert(t.prefix[j], t.len[j], (t.asn[j] + round) % 8);
            }
            mirror.changed(t.prefix[j], t.len[j]);
          }
          view = viewFor(mirror.next(round + 1), known, path);
          mirror.settled(true);
          for (let b = 0; b < 10; b++) check();
        }
      });

      it.skipIf(skip)('allocates nothing per batch', async () => {
        const lpm = new Lpm();
        const rnd = rng(5);
        for (let i = 0; i < 2000; i++) {
          const len = 16 + (rnd() % 17);
          lpm.insert((rnd() & prefixMask(len)) >>> 0, len, i);
        }
        const view = FibView.fromBuffers(lpm.snapshot(), { batch: path });
        const addrs = new Uint32Array(256).map(() => rnd());
        const out = new Int32Array(256);
        const { heapDeltaBytes, gcRuns } = await allocationCheck(() => view.lookupBatch(addrs, out, 256), 50_000);
        // One object per batch would be >= 800 KB over 50k batches.
        expect(heapDeltaBytes).toBeLessThan(100_000);
        expect(gcRuns).toBe(0);
      });
    });
  }
});
