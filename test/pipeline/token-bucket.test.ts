// TokenBucket, the ICMP error rate limit (RFC 1812 4.3.2.8), on a manual clock.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/pipeline/clock.js';
import { TokenBucket } from '../../src/pipeline/token-bucket.js';

/** How many of `n` take() calls succeed right now. */
function drain(b: TokenBucket, n: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (b.take()) ok++;
  return ok;
}

describe('TokenBucket', () => {
  it('starts full: `burst` tokens at once, then none until time passes', () => {
    const clock = new ManualClock(5000);
    const b = new TokenBucket(10, 3, clock);
    expect(drain(b, 10)).toBe(3);
    expect(b.take()).toBe(false);
  });

  it('refills at `ratePerSecond`, fractions carried over between calls', () => {
    const clock = new ManualClock(0);
    const b = new TokenBucket(10, 1, clock); // one token per 100 ms
    expect(b.take()).toBe(true);
    clock.advance(60);
    expect(b.take()).toBe(false); // 0.6 tokens
    clock.advance(40);
    expect(b.take()).toBe(true); // 0.6 + 0.4
    clock.advance(99);
    expect(b.take()).toBe(false);
    clock.advance(1);
    expect(b.take()).toBe(true);
  });

  it('never saves more than `burst`, however long it was idle', () => {
    const clock = new ManualClock(0);
    const b = new TokenBucket(1000, 5, clock);
    drain(b, 5);
    clock.advance(3_600_000);
    expect(drain(b, 100)).toBe(5);
  });

  it('a clock that does not move (or goes back) adds nothing', () => {
    let now = 1000;
    const b = new TokenBucket(1000, 2, { nowMs: () => now });
    expect(drain(b, 5)).toBe(2);
    now = 500;
    expect(b.take()).toBe(false);
    now = 1000;
    expect(b.take()).toBe(false);
    now = 1001;
    expect(b.take()).toBe(true);
  });

  it('ratePerSecond 0 sends nothing at all, as the config documents ("0 disables ICMP errors")', () => {
    const clock = new ManualClock(0);
    const b = new TokenBucket(0, 100, clock);
    expect(drain(b, 10)).toBe(0);
    clock.advance(60_000);
    expect(drain(b, 10)).toBe(0);
  });

  it('over any schedule, what it grants is at most burst + rate x elapsed time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 50 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20 })), { maxLength: 50 }), (rate, burst, steps) => {
        const clock = new ManualClock(0);
        const b = new TokenBucket(rate, burst, clock);
        let granted = 0;
        for (const [dt, tries] of steps) {
          clock.advance(dt);
          granted += drain(b, tries);
          expect(granted).toBeLessThanOrEqual(burst + (rate * clock.nowMs()) / 1000 + 1e-9);
        }
      }),
    );
  });
});
