// MemoryPort: the PacketPort contract without root or the addon.
import { describe, expect, it } from 'vitest';
import { IoCounter } from '../../src/io/native.js';
import { MemoryPort } from '../../src/io/memory-port.js';
import { Batch } from '../../src/pipeline/batch.js';

const frame = (tag: number, len = 60): Uint8Array => new Uint8Array(len).fill(tag);

describe('MemoryPort', () => {
  it('fills slots from batch.rxCount at their slot start, resetting metadata', () => {
    const a = new MemoryPort('a', { index: 2 });
    const b = new MemoryPort('b', { index: 5 });
    for (let k = 1; k <= 3; k++) a.inject(frame(k, 60 + k));
    b.inject(frame(9));
    const batch = new Batch({ rxCapacity: 8 });
    batch.start[0] = 7;
    batch.flags[1] = 0xff;
    expect(a.rx(batch, 2)).toBe(2);
    expect(b.rx(batch)).toBe(1);
    expect(a.rx(batch)).toBe(1);
    expect(batch.rxCount).toBe(4);
    expect(Array.from(batch.rxPort.subarray(0, 4))).toEqual([2, 2, 5, 2]);
    expect(Array.from(batch.length.subarray(0, 4))).toEqual([61, 62, 60, 63]);
    for (let i = 0; i < 4; i++) expect(batch.start[i]).toBe(batch.slotStart(i));
    expect(batch.flags[1]).toBe(0);
    expect(batch.bytes(2)[0]).toBe(9);
    expect(a.pending).toBe(0);
  });

  it('takes no more than the free receive slots', () => {
    const p = new MemoryPort('p');
    for (let k = 0; k < 10; k++) p.inject(frame(k));
    const batch = new Batch({ rxCapacity: 4 });
    expect(p.rx(batch)).toBe(4);
    expect(p.rx(batch)).toBe(0);
    expect(p.pending).toBe(6);
  });

  it('counts frames too large for a slot as rx drops', () => {
    const p = new MemoryPort('p');
    const batch = new Batch({ rxCapacity: 4, slotBytes: 512 });
    p.inject(frame(1, batch.maxFrame + 1));
    p.inject(frame(2));
    expect(p.rx(batch)).toBe(1);
    expect(p.counters[IoCounter.RX_OVERSIZE]).toBe(1);
  });

  it('sends a slot list; a connected peer receives it', () => {
    const a = new MemoryPort('a');
    const b = new MemoryPort('b', { index: 1 });
    MemoryPort.pair(a, b);
    const batch = new Batch({ rxCapacity: 4 });
    for (let k = 0; k < 3; k++) batch.pushFrame(frame(k + 1), 0, 60, 0, 0, 0);
    expect(a.tx(batch, Uint16Array.from([2, 0]), 2)).toBe(2);
    const got = new Batch({ rxCapacity: 4 });
    expect(b.rx(got)).toBe(2);
    expect([got.bytes(0)[0], got.bytes(1)[0]]).toEqual([3, 1]);
  });

  it('reports a full queue by consuming fewer than asked, and drops everything with the link down', () => {
    const p = new MemoryPort('p', { txBurstLimit: 1 });
    const batch = new Batch({ rxCapacity: 4 });
    batch.pushFrame(frame(1), 0, 60, 0, 0, 0);
    batch.pushFrame(frame(2), 0, 60, 0, 0, 0);
    const slots = Uint16Array.from([0, 1]);
    expect(p.tx(batch, slots, 2)).toBe(1);
    expect(p.takeSent().map((f) => f[0])).toEqual([1]);
    p.linkUp = false;
    expect(p.tx(batch, slots, 2)).toBe(2);
    expect(p.counters[IoCounter.TX_LINK_DOWN]).toBe(2);
    expect(p.counters[IoCounter.TX_LINK_DOWN_BYTES]).toBe(120);
    expect(p.sent).toHaveLength(0);
  });

  it('refuses a frame over txMaxFrame as the kernel refuses one over the MTU: consumed, counted with its bytes, the others sent', () => {
    const p = new MemoryPort('p', { txMaxFrame: 100 });
    const batch = new Batch({ rxCapacity: 4 });
    batch.pushFrame(frame(1), 0, 60, 0, 0, 0);
    batch.pushFrame(frame(2, 101), 0, 101, 0, 0, 0);
    batch.pushFrame(frame(3, 100), 0, 100, 0, 0, 0);
    expect(p.tx(batch, Uint16Array.from([0, 1, 2]), 3)).toBe(3);
    expect(p.takeSent().map((f) => [f[0], f.length])).toEqual([[1, 60], [3, 100]]);
    expect([p.counters[IoCounter.TX_REJECTED], p.counters[IoCounter.TX_REJECTED_BYTES]]).toEqual([1, 101]);
  });

  it('throws once closed', () => {
    const p = new MemoryPort('p');
    p.close();
    expect(() => p.rx(new Batch({ rxCapacity: 1 }))).toThrow(/p: the port is closed/);
  });
});
