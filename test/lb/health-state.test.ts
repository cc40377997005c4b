// BackendHealth: rise/fall counting, as the checker applies it to each probe's verdict.
import { describe, expect, it } from 'vitest';
import { BackendHealth } from '../../src/lb/health/backend-health.js';
import { probeFailed, probeOk } from '../../src/lb/health/probe.js';

const ok = probeOk(2);
const bad = probeFailed(150, 'connect timeout after 150 ms');

describe('BackendHealth', () => {
  it('starts up; goes down on the fall-th consecutive failure only', () => {
    const h = new BackendHealth(2, 3);
    expect(h.up).toBe(true);
    expect([h.record(bad, 1), h.record(bad, 2)]).toEqual([false, false]);
    expect(h.suspect).toBe(true);
    expect(h.record(bad, 3)).toBe(true);
    expect(h).toMatchObject({ up: false, transitions: 1, lastChangeMs: 3, probesFailed: 3, lastReason: 'connect timeout after 150 ms', suspect: false });
  });

  it('a success between failures starts the count again (and a failure between successes)', () => {
    const h = new BackendHealth(2, 3);
    for (const r of [bad, bad, ok, bad, bad]) expect(h.record(r, 0)).toBe(false);
    expect(h.up).toBe(true);
    expect(h.record(bad, 0)).toBe(true);
    for (const r of [ok, bad, ok]) expect(h.record(r, 0)).toBe(false);
    expect(h.record(ok, 0)).toBe(true);
    expect(h).toMatchObject({ up: true, transitions: 2, probesOk: 4, probesFailed: 6 });
  });

  it('smooths the latency of successful probes only', () => {
    const h = new BackendHealth(1, 1);
    h.record(probeOk(4), 0);
    expect(h.latencyEwmaMs).toBe(4);
    h.record(probeFailed(150, 'x'), 0);
    expect(h.latencyEwmaMs).toBe(4);
    expect(h.lastLatencyMs).toBe(150);
    h.record(probeOk(8), 0);
    expect(h.latencyEwmaMs).toBe(5);
  });
});
