import { describe, expect, it } from 'vitest';
import { AddressSet } from '../../src/nat/address-set.js';

describe('AddressSet (the external and pool-only addresses ct-input tests per packet)', () => {
  it('answers as a Set does, for members, neighbours, addresses above 2^31 and 0.0.0.0', () => {
    let x = 0x2545f491;
    const rnd = () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x | 0;
    };
    for (const n of [0, 1, 2, 3, 7, 64, 300]) {
      const members: number[] = [];
      for (let i = 0; i < n; i++) members.push(i % 5 === 0 ? (0xc6336400 + i) | 0 : rnd());
      if (n === 7) members.push(0);
      const ref = new Set(members.map((a) => a | 0));
      const set = new AddressSet(members.concat(members)); // repeats count once
      expect(set.size, `n ${n}`).toBe(ref.size);
      const probes = [...members, ...members.map((a) => (a + 1) | 0), ...members.map((a) => a >>> 0), 0, -1, 0xcb007101, 0x7fffffff];
      for (let i = 0; i < 2000; i++) probes.push(rnd());
      for (const p of probes) expect(set.has(p), `n ${n}, ${p >>> 0}`).toBe(ref.has(p | 0));
    }
  });
});
