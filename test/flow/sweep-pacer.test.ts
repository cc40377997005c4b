// SweepPacer: the owner's sweep looks at its used ids once per lap of time,
// whatever the batch rate, within a floor and a ceiling per batch.
import { describe, expect, it } from 'vitest';
import { SweepPacer } from '../../src/flow/sweep-pacer.js';

describe('SweepPacer', () => {
  it('spreads one lap of the used ids over lapMs, however many batches that is', () => {
    for (const stepMs of [1 / 16, 0.5, 4]) {
      const p = new SweepPacer(1000, 0, 1 << 20);
      p.budget(0, 100_000);
      let total = 0;
      const steps = Math.round(1000 / stepMs);
      for (let k = 1; k <= steps; k++) total += p.budget(k * stepMs, 100_000);
      // One lap in a second, give or take the fraction of a record the credit carries.
      expect(total).toBeGreaterThanOrEqual(99_999);
      expect(total).toBeLessThanOrEqual(100_000);
    }
  });

  it('looks at minPerCall records at least, maxPerCall at most, and carries no more than a lap of credit', () => {
    const p = new SweepPacer(1000, 16, 256);
    expect(p.budget(0, 1_000_000)).toBe(16); // the first call has no elapsed time: the floor
    expect(p.budget(0, 1_000_000)).toBe(16); // a frozen clock: the floor still
    expect(p.budget(10_000, 1_000_000)).toBe(256); // ten laps earned: capped per call
    // The credit held one lap at most (not ten): a million records, 256 a call, then what is left.
    let calls = 1;
    while (p.budget(10_000, 1_000_000) === 256) calls++;
    expect(calls).toBe(Math.floor(1_000_000 / 256));
  });

  it('a sweep that ended flows gets the ceiling next time; one that ended none goes back to the time budget', () => {
    const p = new SweepPacer(1000, 16, 256);
    p.budget(0, 1000);
    p.ended(3);
    expect(p.budget(0, 1000)).toBe(256);
    p.ended(0);
    expect(p.budget(0, 1000)).toBe(16);
    // 0.5 s of a 1000-id slice: 500 records earned, 256 a call.
    expect(p.budget(500, 1000)).toBe(256);
    expect(p.budget(500, 1000)).toBe(244);
    expect(p.budget(500, 1000)).toBe(16);
  });
});
