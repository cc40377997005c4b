// The FIB copies workers read (fib-mirror.ts): after any mix of changes, the
// copy a change publishes holds exactly what the working tables hold, word
// for word wherever a lookup can reach, while the copy in use is never
// written; copies are sent once and swapped after that.
import { describe, expect, it } from 'vitest';
import { Lpm } from '../../src/route/lpm.js';
import { FibView, LEVEL_BITS, NO_ROUTE } from '../../src/route/fib-view.js';
import { DIR16_MAX_NEXT_HOP, Dir16Tables, Dir16View, openFib } from '../../src/route/fib-dir16.js';
import { DIR16_MIN_MIDDLE_PLIES, FibMirror, MirrorViews, type FibRef } from '../../src/runtime/fib-mirror.js';

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

const tables = (v: FibView | Dir16View): (Int32Array | Uint16Array)[] => (v instanceof Dir16View ? [v.root, v.tbl8] : [v.root, v.level2, v.level3]);
const bytes = (t: Int32Array | Uint16Array) => Buffer.from(t.buffer, t.byteOffset, t.byteLength);

/**
 * The first /24 where a dir16 copy differs from a dir16 derivation of the
 * working tables made from scratch (group numbers may differ; the entries
 * a lookup reaches may not), or undefined.
 */
function firstDir16Difference(src: FibView, copy: Dir16View): string | undefined {
  const fresh = new Dir16Tables((n) => new ArrayBuffer(n));
  fresh.deriveAll(src);
  for (let r = 0; r < 1 << 24; r++) {
    const a = fresh.root[r];
    const b = copy.root[r];
    if (a <= 0x7fff || b <= 0x7fff) {
      if (a !== b) return `root ${r}: ${a} vs ${b}`;
      continue;
    }
    for (let j = 0; j < 256; j++) {
      const x = fresh.tbl8[((a & 0x7fff) << 8) | j];
      const y = copy.tbl8[((b & 0x7fff) << 8) | j];
      if (x !== y) return `${r}.${j}: ${x} vs ${y}`;
    }
  }
  return undefined;
}

/** The first word where `copy` differs from `src` among the entries a lookup can reach, or undefined. */
function firstReachableDifference(src: Int32Array[], copy: Int32Array[]): string | undefined {
  const walk = (level: number, start: number, n: number): string | undefined => {
    for (let i = start; i < start + n; i++) {
      if (src[level][i] !== copy[level][i]) return `level ${level + 1} entry ${i}: ${src[level][i]} vs ${copy[level][i]}`;
      if (src[level][i] < 0 && level + 1 < src.length) {
        const d = walk(level + 1, ~src[level][i], 1 << LEVEL_BITS[level + 1]);
        if (d !== undefined) return d;
      }
    }
    return undefined;
  };
  return walk(0, 0, 1 << LEVEL_BITS[0]);
}

const viewOf = (ref: FibRef, known: Map<number, FibView | Dir16View>): FibView | Dir16View => {
  if (ref.buffers !== undefined) known.set(ref.id, openFib(ref.buffers));
  return known.get(ref.id)!;
};

describe('FibMirror', () => {
  it.each(['20-4-8', 'dir16'] as const)('publishes a copy equal to the working tables after random inserts and deletes, and never writes the copy in use (layout %s)', (layout) => {
    const lpm = new Lpm({ expectedPrefixes: 64 });
    const mirror = new FibMirror(() => lpm.view, (n) => new ArrayBuffer(n), layout);
    const known = new Map<number, FibView | Dir16View>();
    let inUse = viewOf(mirror.initial(), known);
    const random = rng(12);
    const installed = new Map<string, [number, number]>();
    let sawCopyWithoutBuffers = false;
    let sawGrowth = false;
    for (let round = 1; round <= 60; round++) {
      const frozen = tables(inUse).map((t) => t.slice());
      // A batch of changes, sized 1 to ~400, with lengths spread over every level and some /0-/8 (a full copy).
      const n = round % 10 === 0 ? 400 : 1 + Math.floor(random() * 20);
      for (let k = 0; k < n; k++) {
        const have = [...installed.values()];
        if (have.length > 0 && random() < 0.35) {
          const [p, len] = have[Math.floor(random() * have.length)];
          lpm.delete(p, len);
          installed.delete(`${p}/${len}`);
          mirror.changed(p, len);
          continue;
        }
        const len = random() < 0.03 ? Math.floor(random() * 9) : 12 + Math.floor(random() * 21);
        // Clustered under 198.18.0.0/15 mostly, so plies are shared, split and folded.
        const base = random() < 0.8 ? 0xc6120000 + Math.floor(random() * 0x20000) : Math.floor(random() * 2 ** 32);
        const p = len === 0 ? 0 : (base & (0xffffffff << (32 - len))) >>> 0;
        lpm.insert(p, len, Math.floor(random() * 4));
        installed.set(`${p}/${len}`, [p, len]);
        mirror.changed(p, len);
      }
      const ref = mirror.next(round);
      if (ref.buffers === undefined) sawCopyWithoutBuffers = true;
      else if (round > 2) sawGrowth = true;
      // The copy in force stayed as it was while the other one was brought up to date.
      tables(inUse).forEach((t, k) => expect(bytes(t).equals(bytes(frozen[k])), `round ${round}: level ${k + 1} of the copy in use changed`).toBe(true));
      const next = viewOf(ref, known);
      expect(next).not.toBe(inUse);
      if (layout === 'dir16') {
        // Next hops 0..3 and a few groups: this table fits dir16.
        expect(next).toBeInstanceOf(Dir16View);
        // The whole-table comparison takes a while: every tenth round and the last.
        if (round % 10 === 0 || round === 60) expect(firstDir16Difference(lpm.view, next as Dir16View), `round ${round}`).toBeUndefined();
      } else {
        expect(firstReachableDifference(tables(lpm.view) as Int32Array[], tables(next) as Int32Array[]), `round ${round}`).toBeUndefined();
      }
      const wrong: string[] = [];
      for (let k = 0; k < 2000; k++) {
        const a = random() < 0.7 ? 0xc6120000 + Math.floor(random() * 0x20000) : Math.floor(random() * 2 ** 32);
        if (next.lookup(a) !== lpm.lookup(a)) wrong.push(`${a >>> 0}: ${next.lookup(a)} vs ${lpm.lookup(a)}`);
      }
      expect(wrong, `round ${round}`).toEqual([]);
      mirror.settled(true);
      inUse = next;
    }
    expect(sawCopyWithoutBuffers).toBe(true);
    // 64 expected prefixes: the working tables (20-4-8) or the tbl8 groups (dir16) grew, and the mirror allocated (and sent) larger copies.
    expect(sawGrowth).toBe(true);
  });

  it('falls back to 20-4-8 copies, saying why, when a next hop does not fit dir16', () => {
    const lpm = new Lpm();
    lpm.insert(0xc6120000, 16, 7);
    const mirror = new FibMirror(() => lpm.view, (n) => new ArrayBuffer(n), 'dir16');
    const views = new MirrorViews();
    expect(views.take(mirror.initial())).toBeInstanceOf(Dir16View);
    expect(mirror.layoutNote).toBeUndefined();
    lpm.insert(0xc6130000, 24, DIR16_MAX_NEXT_HOP);
    mirror.changed(0xc6130000, 24);
    const a = mirror.next(1);
    expect(views.take(a)).toBeInstanceOf(Dir16View);
    expect(views.take(a).lookup(0xc6130001)).toBe(DIR16_MAX_NEXT_HOP);
    mirror.settled(true);
    lpm.insert(0xc6140080, 25, DIR16_MAX_NEXT_HOP + 1);
    mirror.changed(0xc6140080, 25);
    const b = mirror.next(2);
    expect(b.buffers?.layout ?? '20-4-8').toBe('20-4-8');
    expect(mirror.layoutNote).toMatch(/next hop 32767 is over 32766/);
    const vb = views.take(b);
    expect(vb).toBeInstanceOf(FibView);
    expect([vb.lookup(0xc6140081), vb.lookup(0xc6140001), vb.lookup(0xc6130001), vb.lookup(0xc6121234)]).toEqual([DIR16_MAX_NEXT_HOP + 1, NO_ROUTE, DIR16_MAX_NEXT_HOP, 7]);
    mirror.settled(true);
    // From then on both copies are 20-4-8, kept in sync as before.
    lpm.delete(0xc6120000, 16);
    mirror.changed(0xc6120000, 16);
    const vc = views.take(mirror.next(3));
    expect(vc).toBeInstanceOf(FibView);
    expect([vc.lookup(0xc6121234), vc.lookup(0xc6140081)]).toEqual([NO_ROUTE, DIR16_MAX_NEXT_HOP + 1]);
  });

  it('drops both copies when a publish did not settle: the next changes get fresh copies, sent with their buffers', () => {
    const lpm = new Lpm();
    const mirror = new FibMirror(() => lpm.view, (n) => new ArrayBuffer(n));
    const first = mirror.initial();
    lpm.insert(0xc6120000, 24, 1);
    mirror.changed(0xc6120000, 24);
    const a = mirror.next(1);
    mirror.settled(false);
    lpm.insert(0xc6120100, 24, 2);
    mirror.changed(0xc6120100, 24);
    const b = mirror.next(2);
    expect(b.buffers).toBeDefined();
    expect(new Set([first.id, a.id, b.id]).size).toBe(3);
    expect(openFib(b.buffers!).lookup(0xc6120105)).toBe(2);
    mirror.settled(true);
    lpm.delete(0xc6120000, 24);
    mirror.changed(0xc6120000, 24);
    const c = mirror.next(3);
    // The other copy was dropped too: a fresh one again, with the delete in it.
    expect(c.buffers).toBeDefined();
    expect(openFib(c.buffers!).lookup(0xc6120005)).toBe(-1);
  });
});

describe('FibMirror layout auto', () => {
  it('publishes small tables in 20-4-8 form and switches to dir16 once the working tables grow past DIR16_MIN_MIDDLE_PLIES', () => {
    const lpm = new Lpm();
    lpm.insert(0, 0, 1);
    const mirror = new FibMirror(() => lpm.view, (n) => new ArrayBuffer(n));
    const views = new MirrorViews();
    expect(views.take(mirror.initial())).toBeInstanceOf(FibView);
    // One middle ply per /20 that holds a /21-/24: distinct /20s under 198.18.0.0/15 and beyond.
    const routes: [number, number][] = [];
    for (let i = 0; routes.length < DIR16_MIN_MIDDLE_PLIES + 16; i++) routes.push([(0x0a000000 + i * 0x1000) >>> 0, 24]);
    let sawDir16 = false;
    let generation = 0;
    for (let i = 0; i < routes.length; i += 1024) {
      for (const [p, len] of routes.slice(i, i + 1024)) {
        lpm.insert(p, len, 2);
        mirror.changed(p, len);
      }
      const v = views.take(mirror.next(++generation));
      mirror.settled(true);
      if (v instanceof Dir16View) sawDir16 = true;
      else expect(lpm.view.level2.length / 16).toBeLessThan(DIR16_MIN_MIDDLE_PLIES);
      expect([v.lookup(routes[i][0] + 5), v.lookup(0xc6120001)]).toEqual([2, 1]);
    }
    expect(sawDir16).toBe(true);
    expect(mirror.layoutNote).toBeUndefined();
  });
});

describe('MirrorViews', () => {
  it('builds a view once per copy, swaps between two, and refuses a copy it was never sent', () => {
    const lpm = new Lpm();
    lpm.insert(0xc6120000, 16, 7);
    const mirror = new FibMirror(() => lpm.view, (n) => new ArrayBuffer(n));
    const views = new MirrorViews();
    const a = views.take(mirror.initial());
    const b = mirror.next(1);
    const vb = views.take(b);
    expect(vb).not.toBe(a);
    expect(views.take({ id: mirror.initial().id })).toBe(a);
    expect(views.take({ id: b.id })).toBe(vb);
    expect(vb.lookup(0xc6123456)).toBe(7);
    expect(() => views.take({ id: 999 })).toThrow(/never sent/);
  });
});
