// Receive coalescing with a synthetic clock (ms): no nap for a lone frame or
// a trickle (light-load latency stays as it was), a nap once frames come
// faster than one per longest nap, as long as half a batch takes to arrive
// but never longer than the maximum, and none after a pause.
import { describe, expect, it } from 'vitest';
import { DEFAULT_COALESCE_US, RING_BOUNDED_COALESCE_US, RING_BOUNDED_TARGET_FRAMES, RxCoalescer } from '../../src/runtime/rx-coalesce.js';

/** Feeds rounds of `perRound` frames (of `frameBytes` each, 0: not told) every `gapMs` from `t`; returns the last nap asked (us) and the time after. */
function stream(c: RxCoalescer, t: number, perRound: number, gapMs: number, rounds: number, frameBytes = 0): { us: number; t: number } {
  let us = 0;
  for (let i = 0; i < rounds; i++) {
    t += gapMs;
    us = c.received(perRound, t, perRound * frameBytes);
  }
  return { us, t };
}

describe('RxCoalescer', () => {
  it('does not nap for a lone frame, nor for pings and their replies 10 ms apart', () => {
    const c = new RxCoalescer(DEFAULT_COALESCE_US);
    expect(c.received(1, 0)).toBe(0);
    let t = 0;
    for (let i = 0; i < 100; i++) {
      t += 10;
      expect(c.received(1, t)).toBe(0); // request
      expect(c.received(1, t + 0.08)).toBe(0); // its reply 80 us later
    }
    expect(c.naps).toBe(0);
  });

  it('naps the longest nap at 20-500 kpps, shorter above, so that a nap collects about half a batch', () => {
    const c = new RxCoalescer(250);
    // 20 kpps arriving in rounds of 2 frames every 100 us (a generator's ticks).
    const a = stream(c, 0, 2, 0.1, 20);
    expect(a.us).toBe(250);
    // 1 Mpps: 128 frames take 128 us.
    const b = stream(c, a.t, 100, 0.1, 40);
    expect(b.us).toBeGreaterThanOrEqual(120);
    expect(b.us).toBeLessThanOrEqual(136);
    expect(c.rate).toBeCloseTo(1000, -1);
    expect(c.naps).toBeGreaterThan(50);
  });

  it('with a larger frame target (a ring-bounded AF_XDP nap) naps as long as that many frames take, up to the longest nap', () => {
    const c = new RxCoalescer(RING_BOUNDED_COALESCE_US, RING_BOUNDED_TARGET_FRAMES);
    // 2 Mpps: 1024 frames take 512 us.
    const a = stream(c, 0, 200, 0.1, 60);
    expect(a.us).toBeGreaterThanOrEqual(490);
    expect(a.us).toBeLessThanOrEqual(535);
    // 500 kpps: 1024 frames would take 2 ms, past the longest nap.
    const b = stream(c, a.t, 50, 0.1, 200);
    expect(b.us).toBe(RING_BOUNDED_COALESCE_US);
    // The default target at 2 Mpps: 64 us.
    const d = stream(new RxCoalescer(RING_BOUNDED_COALESCE_US), 0, 200, 0.1, 60);
    expect(d.us).toBeGreaterThanOrEqual(60);
    expect(d.us).toBeLessThanOrEqual(68);
  });

  it('refuses a frame target that is not an integer of 2..65536', () => {
    for (const bad of [0, 1, 1.5, 70_000, Number.NaN]) expect(() => new RxCoalescer(500, bad)).toThrow(/frame target/);
  });

  it('naps for TCP super-packets only as long as about 64 KiB takes to arrive, not the longest nap', () => {
    // 64 KiB super-packets at ~8 Gbit/s: 15 a millisecond, one or two per round.
    const c = new RxCoalescer(500);
    const a = stream(c, 0, 1, 1 / 15, 200, 65_536);
    // By frames alone (128 frames at 15/ms) it would nap the whole 500 us.
    expect(128 / c.rate).toBeGreaterThan(0.5);
    expect(a.us).toBeGreaterThanOrEqual(60);
    expect(a.us).toBeLessThanOrEqual(75);
    expect(c.byteRate).toBeCloseTo(15 * 65_536, -3);
  });

  it('naps for 64-byte frames as by frames alone: the byte target is far past the frame target', () => {
    const told = new RxCoalescer(500);
    const untold = new RxCoalescer(500);
    // 1 Mpps and 100 kpps of 64-byte frames.
    for (const [perRound, gap] of [[100, 0.1], [10, 0.1]] as const) {
      const a = stream(told, 0, perRound, gap, 50, 64);
      const b = stream(untold, 0, perRound, gap, 50);
      expect(a.us).toBe(b.us);
      expect(a.us).toBeGreaterThan(100);
    }
  });

  it('stops napping when the rate falls below one frame per longest nap', () => {
    const c = new RxCoalescer(250);
    const a = stream(c, 0, 5, 0.1, 20);
    expect(a.us).toBe(250);
    // One frame every 400 us: the average falls to 2.5 frames a ms within a few rounds, and naps stop.
    const b = stream(c, a.t, 1, 0.4, 5);
    expect(b.us).toBe(0);
    expect(c.rate * 0.25).toBeLessThan(1);
  });

  it('forgets the rate after a pause, so the first frame after it does not wait', () => {
    const c = new RxCoalescer(250);
    const a = stream(c, 0, 10, 0.1, 20);
    expect(a.us).toBeGreaterThan(0);
    expect(c.received(1, a.t + 5)).toBe(0);
    expect(c.rate).toBeLessThan(0.25);
  });

  it('counts a round that finds nothing after a nap (the traffic stopped), once', () => {
    const c = new RxCoalescer(250);
    const a = stream(c, 0, 10, 0.1, 20);
    expect(a.us).toBeGreaterThan(0);
    expect(c.idle()).toBe(true);
    expect(c.idle()).toBe(false);
    expect(c.emptyNaps).toBe(1);
  });

  it('never naps with a maximum of 0, and refuses one out of range', () => {
    const c = new RxCoalescer(0);
    expect(stream(c, 0, 100, 0.01, 50).us).toBe(0);
    expect(c.naps).toBe(0);
    expect(() => new RxCoalescer(-1)).toThrow(/0..100000 us/);
    expect(() => new RxCoalescer(Number.NaN)).toThrow(/0..100000 us/);
  });
});
