// The dir16 form of the published FIB (fib-dir16.ts): derived from the
// 20-4-8 tables wholly or block by block as FibMirror does after changes, it
// answers like the linear reference; tables that do not fit are refused with
// the reason.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FibView, Lpm, NO_ROUTE } from '../../src/route/lpm.js';
import { DIR16_LANES, DIR16_UNROLLED, DIR16_MAX_GROUPS, DIR16_MAX_NEXT_HOP, Dir16Overflow, Dir16Tables, Dir16View, dir16Views, openFib } from '../../src/route/fib-dir16.js';
import { loadNative, nativeAvailable } from '../../src/io/native.js';
import { hugeSharedBuffer } from '../../src/flow/huge-pages.js';
import { LinearLpm } from '../../src/route/lpm-reference.js';
import { prefixMask } from '../../src/route/prefix.js';

const heap = (n: number) => new ArrayBuffer(n);

/** The 20-4-8 root entries prefix/len spans: the ones FibMirror marks dirty. */
function rootEntries(p: number, len: number): number[] {
  const first = p >>> 12;
  const count = len >= 20 ? 1 : 2 ** (20 - len);
  return Array.from({ length: count }, (_, k) => first + k);
}

function probes(prefixes: { p: number; len: number }[]): number[] {
  const out: number[] = [];
  for (const { p, len } of prefixes) {
    const last = (p | ~prefixMask(len)) >>> 0;
    out.push(p, last, (p - 1) >>> 0, (last + 1) >>> 0, (p + ((last - p) >>> 1)) >>> 0);
  }
  return out;
}

const BASES = [0, 0x0a000000, 0x0a0b0c0d, 0x0a0bffff, 0xc0000280, 0xffffffff];
const lenArb = fc.oneof(fc.constantFrom(0, 8, 16, 19, 20, 21, 23, 24, 25, 28, 31, 32), fc.integer({ min: 0, max: 32 }));
const prefixArb = fc.tuple(fc.oneof(fc.constantFrom(...BASES), fc.integer({ min: 0, max: 0xffffffff })), lenArb).map(([a, len]) => ({ p: (a & prefixMask(len)) >>> 0, len }));
const nhArb = fc.oneof(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: DIR16_MAX_NEXT_HOP }));
const opArb = fc.tuple(fc.boolean(), fc.boolean(), prefixArb, nhArb, fc.nat());

describe('dir16 FIB form', () => {
  it('derived block by block after each change, answers like the reference, and frees every group when the routes go (fast-check)', () => {
    // One copy for all runs, as FibMirror keeps one: 32 MiB of root.
    const d = new Dir16Tables(heap, 4);
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
        const lpm = new Lpm({ expectedPrefixes: 16 });
        d.deriveAll(lpm.view);
        const ref = new LinearLpm();
        const live: { p: number; len: number }[] = [];
        const touched: { p: number; len: number }[] = [];
        const apply = (p: number, len: number) => {
          touched.push({ p, len });
          for (const r of rootEntries(p, len)) d.deriveBlock(lpm.view, r);
        };
        for (const [del, existing, x0, nh, pick] of ops) {
          const x = existing && live.length > 0 ? live[pick % live.length] : x0;
          if (del) {
            const had = ref.delete(x.p, x.len);
            expect(lpm.delete(x.p, x.len)).toBe(had);
            if (had) live.splice(live.findIndex((y) => y.p === x.p && y.len === x.len), 1);
          } else if (ref.insert(x.p, x.len, nh)) {
            lpm.insert(x.p, x.len, nh);
            live.push(x);
          } else {
            lpm.insert(x.p, x.len, nh);
          }
          apply(x.p, x.len);
        }
        const view = new Dir16View(d.root, d.tbl8);
        const all = Uint32Array.from(probes(touched));
        const batch = new Int32Array(all.length);
        view.lookupBatch(all, batch, all.length);
        all.forEach((a, i) => {
          expect(view.lookup(a)).toBe(ref.lookup(a));
          expect(batch[i]).toBe(ref.lookup(a));
        });
        for (const x of live) {
          lpm.delete(x.p, x.len);
          apply(x.p, x.len);
        }
        expect(d.groups).toBe(0);
        for (const a of all) expect(view.lookup(a)).toBe(NO_ROUTE);
      }),
      { numRuns: 60 },
    );
  });

  it('lookupBatch answers like lookup for every count through the unrolled blocks and around the lane width, and writes nothing past n', () => {
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
    const view = openFib(lpm.snapshot(0, heap, 'auto'));
    expect(view).toBeInstanceOf(Dir16View);
    const addrs = new Uint32Array(DIR16_UNROLLED + 2 * DIR16_LANES + 5).map((_, i) => (i % 5 === 0 ? rnd() : 0x0a000000 | (rnd() & 0x00ffffff)));
    for (let n = 0; n <= addrs.length; n++) {
      const out = new Int32Array(addrs.length + 1).fill(-7);
      view.lookupBatch(addrs, out, n);
      for (let i = 0; i < n; i++) expect(out[i], `n=${n} i=${i}`).toBe(ref.lookup(addrs[i]));
      for (let i = n; i < out.length; i++) expect(out[i]).toBe(-7);
    }
  });

  it("snapshot(…, 'auto') is dir16 when the next hops fit, trimmed to its groups, and 20-4-8 with the reason when not", () => {
    const lpm = new Lpm();
    lpm.insert(0xc6120000, 15, 3);
    lpm.insert(0xc6120080, 25, DIR16_MAX_NEXT_HOP);
    lpm.insert(0xc6130100, 30, 5);
    const b = lpm.snapshot(9, undefined, 'auto');
    expect(b.layout).toBe('dir16');
    expect(b.root).toBeInstanceOf(SharedArrayBuffer);
    const views = dir16Views(b);
    expect([views.root.byteLength, views.tbl8.byteLength]).toEqual([2 ** 25, 2 * 512]);
    // One buffer: the root from a 2 MiB boundary, the groups from the next one after it.
    expect(b.level2).toBe(b.root);
    expect([b.root.byteLength, b.level2Offset! - b.rootOffset!, b.level2Entries]).toEqual([2 ** 25 + 2 * 2 ** 21, 2 ** 25, 2 * 256]);
    expect(lpm.dir16Refused).toBeUndefined();
    expect(() => FibView.fromBuffers(b)).toThrow(/dir16 buffers/);
    const v = openFib(b);
    expect(v.generation).toBe(9);
    expect([0xc6120081, 0xc6120001, 0xc6130101, 0xc6130105, 0xc6140000].map((a) => v.lookup(a))).toEqual([DIR16_MAX_NEXT_HOP, 3, 5, 3, NO_ROUTE]);

    lpm.insert(0xc6130000, 24, DIR16_MAX_NEXT_HOP + 1);
    const c = lpm.snapshot(10, undefined, 'auto');
    expect(c.layout ?? '20-4-8').toBe('20-4-8');
    expect(lpm.dir16Refused).toMatch(/next hop 32767 is over 32766/);
    expect(openFib(c)).toBeInstanceOf(FibView);
    expect(openFib(c).lookup(0xc6130005)).toBe(DIR16_MAX_NEXT_HOP + 1);
  });


  it.skipIf(!nativeAvailable())('places the root and the groups on 2 MiB boundaries of one buffer (huge pages), in snapshots and in Dir16Tables made with hugeSharedBuffer (what FibMirror publishes with)', () => {
    const addressMod = loadNative().addressMod!;
    const at2M = (v: Uint16Array) => addressMod(new Uint8Array(v.buffer, v.byteOffset, 1), 2 << 20);
    const lpm = new Lpm();
    // 9000 /25s: 9000 groups, 4.4 MiB of tbl8.
    for (let k = 0; k < 9000; k++) lpm.insert((0x0a000000 + k * 256) >>> 0, 25, k % 7);
    const b = lpm.snapshot(3, hugeSharedBuffer, 'auto');
    expect(b.layout).toBe('dir16');
    const { root, tbl8 } = dir16Views(b);
    expect([at2M(root), at2M(tbl8), tbl8.length]).toEqual([0, 0, 9000 * 256]);
    expect(b.level2Entries).toBe(9000 * 256);
    const v = openFib(b);
    expect([v.lookup(0x0a000005), v.lookup(0x0a000105), v.lookup(0x0a000085), v.lookup(0x0a232705)]).toEqual([0, 1, NO_ROUTE, 8999 % 7]);
    const d = new Dir16Tables(hugeSharedBuffer, 9000);
    expect([at2M(d.root), at2M(d.tbl8)]).toEqual([0, 0]);
  });
  it(`refuses a table that needs more than ${DIR16_MAX_GROUPS} tbl8 groups`, () => {
    const lpm = new Lpm({ expectedPrefixes: DIR16_MAX_GROUPS + 1 });
    // One /25 in each of 32769 /24s (198.18.0.0/15 has 512; spread over 10/8).
    for (let i = 0; i <= DIR16_MAX_GROUPS; i++) lpm.insert((0x0a000000 + i * 256) >>> 0, 25, 1);
    const d = new Dir16Tables(heap);
    expect(() => d.deriveAll(lpm.view)).toThrow(Dir16Overflow);
    expect(() => d.deriveAll(lpm.view)).toThrow(/more than 32768 \/24s hold a longer prefix/);
    lpm.delete(0x0a000000, 25);
    const ok = new Dir16Tables(heap);
    ok.deriveAll(lpm.view);
    expect(ok.groups).toBe(DIR16_MAX_GROUPS);
    const v = new Dir16View(ok.root, ok.tbl8);
    expect([v.lookup(0x0a000001), v.lookup(0x0a000101), v.lookup(0x0a000181)]).toEqual([NO_ROUTE, 1, NO_ROUTE]);
  });
});
