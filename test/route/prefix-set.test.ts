import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PrefixSet } from '../../src/route/prefix-set.js';
import { prefixMask } from '../../src/route/prefix.js';

const word = (nh: number, len: number) => (len << 24) | (nh + 1);

describe('PrefixSet (control-plane prefix hash)', () => {
  it('matches a Map through sets, replaces and backward-shift removals, across growth', () => {
    const op = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 5 }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const set = new PrefixSet(4);
        const map = new Map<string, number>();
        for (const [add, a, len, nh] of ops) {
          // Few distinct prefixes (a * 2^20) so sets and removals collide.
          const p = ((a * 0x100000) & prefixMask(len)) >>> 0;
          const key = `${p}/${len}`;
          if (add) {
            expect(set.set(p, len, word(nh, len))).toBe(map.get(key) ?? 0);
            map.set(key, word(nh, len));
          } else {
            expect(set.remove(p, len)).toBe(map.get(key) ?? 0);
            map.delete(key);
          }
        }
        expect(set.size).toBe(map.size);
        for (const [key, w] of map) {
          const [p, len] = key.split('/').map(Number);
          expect(set.get(p, len)).toBe(w);
        }
        let seen = 0;
        set.forEach((p, len, w) => {
          seen++;
          expect(map.get(`${p}/${len}`)).toBe(w);
        });
        expect(seen).toBe(map.size);
      }),
      { numRuns: 100 },
    );
  });

  it('finds the longest shorter cover', () => {
    const set = new PrefixSet();
    set.set(0, 0, word(9, 0));
    set.set(0x0a000000, 8, word(1, 8));
    set.set(0x0a010000, 16, word(2, 16));
    expect(set.findCover(0x0a010200, 24)).toBe(word(2, 16));
    expect(set.findCover(0x0a010000, 16)).toBe(word(1, 8));
    expect(set.findCover(0x0b000000, 8)).toBe(word(9, 0));
    expect(set.findCover(0, 0)).toBe(0);
  });
});
