// PendingQueue: the datagrams waiting for ARP, bounded per neighbor (oldest
// dropped first, as Linux's unres_qlen) and in all; held against a list model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PendingQueue } from '../../src/arp/pending-queue.js';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

describe('PendingQueue', () => {
  it('keeps a copy of the datagram and where it goes; remove frees the entry once', () => {
    const q = new PendingQueue(4, 2, 100);
    const src = new Uint8Array(60);
    src.set([1, 2, 3, 4, 5], 10);
    const evicted = new Uint32Array(1);
    const e = q.add(1, 0xc6336402, src, 10, 5, evicted);
    expect(e).toBeGreaterThanOrEqual(0);
    expect(evicted[0]).toBe(0);
    src.fill(0); // the queue holds its own copy
    expect(Array.from(q.data.subarray(q.offset(e), q.offset(e) + q.length[e]))).toEqual([1, 2, 3, 4, 5]);
    expect([q.port[e], q.target[e], q.used]).toEqual([1, 0xc6336402, 1]);
    q.remove(e);
    q.remove(e);
    expect([q.port[e], q.used]).toEqual([-1, 0]);
  });

  it('at perNeighbor datagrams for one neighbor, the oldest is overwritten and its length reported', () => {
    const q = new PendingQueue(8, 2, 100);
    const ev = new Uint32Array(1);
    const a = q.add(0, 7, bytes(10, 0xa), 0, 10, ev);
    const b = q.add(0, 7, bytes(20, 0xb), 0, 20, ev);
    expect(ev[0]).toBe(0);
    const c = q.add(0, 7, bytes(30, 0xc), 0, 30, ev);
    expect(c).toBe(a); // the oldest's entry is reused
    expect(ev[0]).toBe(10);
    expect(q.used).toBe(2);
    const d = q.add(0, 7, bytes(40, 0xd), 0, 40, ev);
    expect(d).toBe(b);
    expect(ev[0]).toBe(20);
    // Another neighbor (same address on another port) has its own allowance.
    expect(q.add(1, 7, bytes(5, 1), 0, 5, ev)).toBeGreaterThanOrEqual(0);
    expect(ev[0]).toBe(0);
    expect(q.used).toBe(3);
  });

  it('refuses a datagram larger than an entry, and any datagram when every entry is taken', () => {
    const q = new PendingQueue(2, 2, 64);
    const ev = new Uint32Array(1);
    expect(q.add(0, 1, bytes(65, 0), 0, 65, ev)).toBe(-1);
    expect(q.add(0, 1, bytes(64, 0), 0, 64, ev)).toBeGreaterThanOrEqual(0);
    expect(q.add(0, 2, bytes(8, 0), 0, 8, ev)).toBeGreaterThanOrEqual(0);
    expect(q.add(0, 3, bytes(8, 0), 0, 8, ev)).toBe(-1);
    expect(q.used).toBe(2);
  });

  it('matches a list model under random adds and removes: contents, order of eviction, counts', () => {
    type Op = { kind: 'add'; port: number; target: number; len: number } | { kind: 'remove'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('add' as const), port: fc.integer({ min: 0, max: 1 }), target: fc.integer({ min: 1, max: 3 }), len: fc.integer({ min: 1, max: 40 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120, size: 'max' }), (ops) => {
        const capacity = 6;
        const perNeighbor = 3;
        const q = new PendingQueue(capacity, perNeighbor, 32);
        const ev = new Uint32Array(1);
        let model: { port: number; target: number; fill: number; len: number; seq: number }[] = [];
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'add') {
            const fill = ++seq & 0xff;
            const mine = model.filter((m) => m.port === o.port && m.target === o.target);
            const e = q.add(o.port, o.target, bytes(o.len, fill), 0, o.len, ev);
            if (o.len > 32) {
              expect(e).toBe(-1);
            } else if (mine.length >= perNeighbor) {
              const oldest = mine.reduce((x, y) => (y.seq < x.seq ? y : x));
              expect(ev[0]).toBe(oldest.len);
              model = model.filter((m) => m !== oldest);
              model.push({ port: o.port, target: o.target, fill, len: o.len, seq });
            } else if (model.length >= capacity) {
              expect(e).toBe(-1);
            } else {
              expect(e).toBeGreaterThanOrEqual(0);
              expect(ev[0]).toBe(0);
              model.push({ port: o.port, target: o.target, fill, len: o.len, seq });
            }
          } else {
            const live = Array.from({ length: capacity }, (_, i) => i).filter((i) => q.port[i] !== -1);
            if (live.length === 0) continue;
            const e = live[o.pick % live.length];
            model = model.filter((m) => !(m.port === q.port[e] && m.target === q.target[e] && m.fill === q.data[q.offset(e)]));
            q.remove(e);
          }
          expect(q.used).toBe(model.length);
          const held = Array.from({ length: capacity }, (_, i) => i)
            .filter((i) => q.port[i] !== -1)
            .map((i) => ({ port: q.port[i], target: q.target[i], fill: q.data[q.offset(i)], len: q.length[i] }))
            .sort((x, y) => x.fill - y.fill);
          expect(held).toEqual(model.map(({ port, target, fill, len }) => ({ port, target, fill, len })).sort((x, y) => x.fill - y.fill));
        }
      }),
      { numRuns: 200 },
    );
  });
});
