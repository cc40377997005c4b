// The outcome memo alone: both slot layouts, growth, the bound, and the
// switch from two-word to four-word slots when an outcome id passes 16 bits.
import { describe, expect, it } from 'vitest';
import { OutcomeMemo } from '../../src/firewall/outcome-memo.js';

/** A deterministic spread of keys with the widest values each layout takes. */
function key(i: number, narrow: boolean): [number, number, number] {
  const top = narrow ? 0xfffe : 0x7fffffff;
  return [(i * 7919) % top, (i * 104729 + 3) % top, (i * 31) % (narrow ? 0x10000 : top)];
}

describe('OutcomeMemo', () => {
  for (const narrow of [true, false]) {
    it(`${narrow ? 'two' : 'four'}-word slots: what was inserted is found, through growth, and nothing else`, () => {
      const memo = new OutcomeMemo(20000, narrow);
      const small = memo.bytes;
      for (let i = 0; i < 20000; i++) {
        const [s, d, p] = key(i, narrow);
        expect(memo.find(s, d, p)).toBe(-1);
        memo.insert(s, d, p, i % 0xffff);
      }
      expect(memo.bytes).toBeGreaterThan(small);
      expect(memo.resets).toBe(0);
      for (let i = 0; i < 20000; i++) expect(memo.find(...key(i, narrow))).toBe(i % 0xffff);
      // Same src and dst, another port; same src and port, another dst.
      const [s, d, p] = key(5, narrow);
      expect(memo.find(s, d, p ^ 1)).toBe(-1);
      expect(memo.find(s, d ^ 1, p)).toBe(-1);
      memo.clear(true);
      expect(memo.bytes).toBe(small);
      expect(memo.find(s, d, p)).toBe(-1);
    });
  }

  it('two-word slots hold the bound before a reset, as four-word ones do', () => {
    for (const narrow of [true, false]) {
      const memo = new OutcomeMemo(3000, narrow);
      for (let i = 0; i < 3000; i++) memo.insert(...key(i, true), 1);
      expect(memo.resets).toBe(0);
      memo.insert(...key(3000, true), 1);
      expect(memo.resets).toBe(1);
      expect(memo.count).toBe(1);
      expect(memo.find(...key(0, true))).toBe(-1);
    }
  });

  it('an outcome id past 16 bits turns two-word slots into four-word ones, keeping what they held', () => {
    const memo = new OutcomeMemo(100000, true);
    for (let i = 0; i < 5000; i++) memo.insert(...key(i, true), i);
    const narrowBytes = memo.bytes;
    memo.insert(...key(5000, true), 0x12345);
    expect(memo.bytes).toBeGreaterThan(narrowBytes);
    for (let i = 0; i < 5000; i++) expect(memo.find(...key(i, true))).toBe(i);
    expect(memo.find(...key(5000, true))).toBe(0x12345);
    for (let i = 5001; i < 90000; i++) memo.insert(...key(i, true), i);
    for (let i = 5001; i < 90000; i += 97) expect(memo.find(...key(i, true))).toBe(i);
    expect(memo.resets).toBe(0);
  });
});
