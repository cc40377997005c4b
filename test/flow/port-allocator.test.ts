import { describe, expect, it } from 'vitest';
import { OUT_OF_PORTS, PortAllocator } from '../../src/flow/port-allocator.js';

function drain(p: PortAllocator): number[] {
  const out: number[] = [];
  for (let port = p.allocate(); port !== OUT_OF_PORTS; port = p.allocate()) out.push(port);
  return out;
}

describe('PortAllocator', () => {
  it('splits the range into disjoint per-worker sub-ranges that cover it', () => {
    const buf = PortAllocator.create({ lo: 1024, hi: 1123, workers: 3, seed: 1 });
    const got = [0, 1, 2].map((w) => drain(PortAllocator.attach(buf, w)));
    expect(got.map((g) => g.length)).toEqual([33, 33, 34]);
    const all = got.flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => 1024 + i));
    const stats = PortAllocator.stats(buf);
    got.forEach((ports, w) => {
      expect(Math.min(...ports)).toBe(stats[w].lo);
      expect(Math.max(...ports)).toBe(stats[w].hi);
      expect(stats[w].inUse).toBe(ports.length);
    });
  });

  it('answers OUT_OF_PORTS (no exception) when its sub-range is used up, and counts it', () => {
    const buf = PortAllocator.create({ lo: 5000, hi: 5003, workers: 2, seed: false });
    const p = PortAllocator.attach(buf, 1);
    expect(p.allocate()).toBe(5002);
    expect(p.allocate()).toBe(5003);
    expect(p.allocate()).toBe(OUT_OF_PORTS);
    expect(PortAllocator.stats(buf)[1]).toMatchObject({ inUse: 2, allocated: 2, exhausted: 1 });
    expect(PortAllocator.stats(buf)[0].inUse).toBe(0);
  });

  it('hands ports out in a seeded random order, the same for the same seed', () => {
    const order = (seed: number) => drain(PortAllocator.attach(PortAllocator.create({ lo: 20000, hi: 20999, workers: 1, seed }), 0));
    const a = order(7);
    expect(a).toEqual(order(7));
    expect(a).not.toEqual(order(8));
    expect(a).not.toEqual([...a].sort((x, y) => x - y));
    expect(new Set(a).size).toBe(1000);
  });

  it('reuses a freed port last (FIFO), after every other free port', () => {
    const p = PortAllocator.attach(PortAllocator.create({ lo: 100, hi: 104, workers: 1, seed: false }), 0);
    expect(p.allocate()).toBe(100);
    expect(p.allocate()).toBe(101);
    expect(p.free(100)).toBe(true);
    expect(drain(p)).toEqual([102, 103, 104, 100]);
    expect(p.free(103)).toBe(true);
    expect(p.free(101)).toBe(true);
    expect(drain(p)).toEqual([103, 101]);
  });

  it('refuses (and counts) a double free, a port of another worker and a port outside the range', () => {
    const buf = PortAllocator.create({ lo: 100, hi: 109, workers: 2, seed: false });
    const p0 = PortAllocator.attach(buf, 0);
    const p1 = PortAllocator.attach(buf, 1);
    const port = p0.allocate();
    const other = p1.allocate();
    expect(p0.free(port)).toBe(true);
    expect(p0.free(port)).toBe(false);
    expect(p0.free(other)).toBe(false);
    expect(p0.free(99)).toBe(false);
    expect(p0.free(110)).toBe(false);
    expect(PortAllocator.stats(buf)[0]).toMatchObject({ inUse: 0, badFrees: 4 });
    expect(p1.inUseCount()).toBe(1);
    // The refusals did not corrupt the queue: all five ports come back once each.
    expect(drain(p0).sort((a, b) => a - b)).toEqual([100, 101, 102, 103, 104]);
  });

  it('names the owner of a port', () => {
    const p = PortAllocator.attach(PortAllocator.create({ lo: 1000, hi: 1009, workers: 3 }), -1);
    expect([999, 1000, 1002, 1003, 1005, 1006, 1009, 1010].map((x) => p.ownerOf(x))).toEqual([-1, 0, 0, 1, 1, 2, 2, -1]);
    expect(() => p.allocate()).toThrow(/main-thread view/);
  });

  it('refuses bad ranges, naming the field', () => {
    expect(() => PortAllocator.create({ lo: 0, hi: 10, workers: 1 })).toThrow(/lo must be an integer in 1\.\.65535 \(got 0\)/);
    expect(() => PortAllocator.create({ lo: 1, hi: 70000, workers: 1 })).toThrow(/hi must be/);
    expect(() => PortAllocator.create({ lo: 2000, hi: 1000, workers: 1 })).toThrow(/range 2000-1000 has 0 ports for 1 workers/);
    expect(() => PortAllocator.create({ lo: 1000, hi: 1001, workers: 4 })).toThrow(/has 2 ports for 4 workers/);
    expect(() => PortAllocator.attach(new SharedArrayBuffer(256), 0)).toThrow(/not made by PortAllocator.create/);
    expect(() => PortAllocator.attach(PortAllocator.create({ lo: 1, hi: 10, workers: 2 }), 2)).toThrow(/worker must be/);
  });

  it('takes the whole 16-bit range in a few hundred KiB', () => {
    expect(PortAllocator.bytesFor(1, 65535, 8)).toBeLessThan(200 * 1024);
    const p = PortAllocator.attach(PortAllocator.create({ lo: 1, hi: 65535, workers: 1 }), 0);
    expect(new Set(drain(p)).size).toBe(65535);
  });
});
