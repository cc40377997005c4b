// The adaptive spin window with a synthetic clock (ms): it never spins
// before a frame, grows to catch replies that came just after it slept,
// keeps a window that catches them, and decays to nothing when spinning
// only finds silence.
import { describe, expect, it } from 'vitest';
import { DEFAULT_SPIN_MAX_US, SpinWindow } from '../../src/runtime/spin-window.js';

describe('SpinWindow', () => {
  it('does not spin before the first frame (an idle worker sleeps)', () => {
    const w = new SpinWindow(DEFAULT_SPIN_MAX_US);
    expect(w.keepSpinning(0)).toBe(false);
    expect(w.keepSpinning(1000)).toBe(false);
    expect(w.misses).toBe(0);
  });

  it('spins for the window after a frame, then sleeps and shrinks the window by a quarter', () => {
    const w = new SpinWindow(200); // window starts at 50 us
    expect(w.windowMs).toBeCloseTo(0.05);
    w.received(10);
    expect(w.keepSpinning(10.01)).toBe(true);
    expect(w.keepSpinning(10.049)).toBe(true);
    expect(w.keepSpinning(10.05)).toBe(false);
    expect(w.windowMs).toBeCloseTo(0.0375);
    w.slept();
    // Woken by the idle timeout with nothing: straight back to sleep, no spin.
    expect(w.keepSpinning(60)).toBe(false);
    expect(w.misses).toBe(1);
  });

  it('grows when a reply comes soon after it slept, then catches the replies while spinning', () => {
    const w = new SpinWindow(200);
    // Request at t=0, reply 80 us later: the 50 us window misses it.
    w.received(0);
    expect(w.keepSpinning(0.05)).toBe(false);
    w.slept();
    w.received(0.08);
    expect(w.windowMs).toBeCloseTo(0.16); // twice the gap (more than twice 37.5 us)
    // Each later exchange, 10 ms apart: the request wakes it from sleep; the reply comes while it spins.
    let t = 0.08;
    for (let i = 0; i < 50; i++) {
      expect(w.keepSpinning(t + 0.159)).toBe(true);
      expect(w.keepSpinning(t + 0.17)).toBe(false);
      w.slept();
      t += 10;
      w.received(t); // request: gap 10 ms > max, no change
      expect(w.keepSpinning(t + 0.079)).toBe(true);
      t += 0.08;
      w.received(t); // reply, caught
    }
    expect(w.hits).toBe(50);
    expect(w.windowMs).toBeCloseTo(0.16);
    expect(w.windowMs).toBeLessThanOrEqual(0.2);
  });

  it('never grows past its maximum, and decays to 0 when frames come further apart than the maximum', () => {
    const w = new SpinWindow(100);
    w.received(0);
    w.keepSpinning(1);
    w.slept();
    w.received(1.099); // 1.099 ms: beyond the 100 us bound, no growth
    expect(w.windowMs).toBeLessThan(0.025);
    w.received(1.1); // 1 us later, caught without sleeping: at least twice that
    w.keepSpinning(1.2);
    w.slept();
    w.received(1.19); // 90 us after it, missed by sleeping: twice the gap, capped at 100 us
    expect(w.windowMs).toBeCloseTo(0.1);
    let t = 1.19;
    for (let i = 0; i < 60; i++) {
      expect(w.keepSpinning(t + 1)).toBe(false);
      w.slept();
      t += 5;
      w.received(t);
    }
    expect(w.windowMs).toBe(0);
    expect(w.keepSpinning(t)).toBe(false);
  });

  it('refuses a maximum out of range', () => {
    expect(() => new SpinWindow(-1)).toThrow(/0..100000 us/);
    expect(() => new SpinWindow(Number.NaN)).toThrow(/0..100000 us/);
    expect(new SpinWindow(0).windowMs).toBe(0);
  });
});
