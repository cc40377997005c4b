// The source side's range table (address-ranges.ts) against the LPM it is
// derived from: the same class value for every address probed, on plans with
// nested prefixes of every length, /32 endpoints, a /16 holding thousands of
// ranges (more than a 12-bit count would hold) and addresses at every
// prefix's edges.
import { describe, expect, it } from 'vitest';
import { buildAddressClasses } from '../../src/firewall/address-classes.js';
import { buildAddressRanges, type AddressRanges } from '../../src/firewall/address-ranges.js';
import { Action, Section, type Cidr, type ClassifierRule } from '../../src/firewall/plan.js';

function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

const mask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

function lpmValue(view: { root: Int32Array; level2: Int32Array; level3: Int32Array }, a: number): number {
  let e = view.root[a >>> 12];
  if (e < 0) {
    e = view.level2[~e | ((a >>> 8) & 15)];
    if (e < 0) e = view.level3[~e | (a & 255)];
  }
  return (e & 0xffffff) - 1;
}

function rangeValue(r: AddressRanges, a: number): number {
  const e = r.root[a >>> 16];
  if (e >= 0) return e;
  const at = ~e;
  const key = a & 0xffff;
  // Linear here (the classifier searches in halves): the last range starting at or below the key.
  let v = r.values[at + 1];
  for (let q = at + 1; q <= at + 1 + r.keys[at]; q++) if (r.keys[q] <= key) v = r.values[q];
  return v;
}

function plan(seed: number, rules: number, endpoints: number): { rules: ClassifierRule[]; endpoints: number[]; prefixes: Cidr[] } {
  const rnd = prng(seed);
  const bases = [0xc6120000, 0xc0000200, 0xcb007100, 0x0a000000];
  const prefixes: Cidr[] = [];
  const cidr = (): Cidr => {
    const len = [0, 8, 12, 15, 16, 17, 20, 23, 24, 25, 28, 31, 32][rnd() % 13];
    const a = (bases[rnd() % bases.length] | (rnd() & 0x1ffff)) >>> 0;
    const c = { addr: (a & mask(len)) >>> 0, len };
    prefixes.push(c);
    return c;
  };
  const out: ClassifierRule[] = [];
  for (let i = 0; i < rules; i++) {
    const include = Array.from({ length: 1 + (rnd() % 3) }, cidr);
    const except = rnd() % 4 === 0 ? [cidr()] : [];
    out.push({ section: rnd() % Section.COUNT, priority: rnd() % 3, action: Action.ALLOW, src: { include, except }, dst: { include: [{ addr: 0, len: 0 }], except: [] }, ports: [], origin: i });
  }
  // Endpoints every other address of 10.0.0.0/16's first half: one /16 with thousands of ranges.
  const eps = Array.from({ length: endpoints }, (_, i) => (0x0a000000 + 2 * i + 1) >>> 0);
  return { rules: out, endpoints: eps, prefixes };
}

describe('address ranges (the source side of the classifier)', () => {
  for (const [seed, rules, endpoints] of [
    [1, 10, 3],
    [2, 300, 50],
    [3, 2000, 6000],
  ] as const) {
    it(`give the LPM's value for every address probed (${rules} rules, ${endpoints} endpoints)`, () => {
      const p = plan(seed, rules, endpoints);
      const bitOf = Int32Array.from(p.rules, (_, i) => i);
      const classes = buildAddressClasses(p.rules, bitOf, 'src', p.endpoints);
      const ranges = buildAddressRanges(classes.view);
      const probes: number[] = [0, 0xffffffff, 0x0a000000, 0x0a00ffff, 0x0a010000];
      for (const c of p.prefixes) {
        const last = (c.addr | ~mask(c.len)) >>> 0;
        probes.push(c.addr, last, (c.addr - 1) >>> 0, (last + 1) >>> 0);
      }
      for (const e of p.endpoints) probes.push(e, e - 1, e + 1);
      const rnd = prng(seed + 100);
      for (let i = 0; i < 20000; i++) probes.push(rnd());
      let mismatches = 0;
      for (const a of probes) if (rangeValue(ranges, a) !== lpmValue(classes.view, a)) mismatches++;
      expect(mismatches).toBe(0);
      // The endpoints' /16 is one of those with ranges, and it holds more than 4095 of them in the largest case.
      const e = ranges.root[0x0a00];
      expect(e).toBeLessThan(0);
      if (endpoints > 4000) expect(ranges.keys[~e] + 1).toBeGreaterThan(4095);
    });
  }
});
