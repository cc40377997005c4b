// takeRxBurst: what the TAP and AF_PACKET ports do with the slots a native
// burst filled, checked on a batch filled by hand the way the bursts fill it.
import { describe, expect, it } from 'vitest';
import { takeRxBurst } from '../../src/io/port.js';
import { Batch, OffloadMeta, PacketFlag, VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_TCPV4 } from '../../src/pipeline/batch.js';

/** A batch whose slots [first, first + n) look as a burst left them: a stale start, lengths, timestamps, all six offload words. */
function burstFilled(first: number, n: number): Batch {
  const batch = new Batch({ rxCapacity: 8 });
  for (let i = 0; i < batch.capacity; i++) batch.flags[i] = PacketFlag.LOCAL_ORIGIN; // left over from an earlier batch
  batch.rxCount = first;
  for (let i = first; i < first + n; i++) {
    batch.start[i] = batch.slotStart(i) - 14; // moved by a node in an earlier batch
    batch.length[i] = 60 + i;
    batch.tsSec[i] = 1700000000 + i;
    batch.tsNsec[i] = 1000 * i;
    batch.offload.set([VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_TCPV4, 54, 1448, 34, 16], i * OffloadMeta.WORDS);
  }
  return batch;
}

const words = (b: Batch, s: number): number[] => Array.from(b.offload.subarray(s * OffloadMeta.WORDS, (s + 1) * OffloadMeta.WORDS));

describe('takeRxBurst', () => {
  it('takes the burst\'s slots as received on the port, after those already there, with their lengths', () => {
    const batch = burstFilled(2, 3);
    takeRxBurst(batch, 2, 3, 5, true, false);
    expect(batch.rxCount).toBe(5);
    for (let i = 2; i < 5; i++) {
      expect(batch.start[i]).toBe(batch.slotStart(i));
      expect(batch.length[i]).toBe(60 + i);
      expect(batch.rxPort[i]).toBe(5);
      expect(batch.flags[i]).toBe(0);
    }
    expect(batch.flags[5]).toBe(PacketFlag.LOCAL_ORIGIN); // past the burst: untouched
  });

  it('keeps the burst\'s timestamps when it wrote them (AF_PACKET), else sets 0 (TAP)', () => {
    const stamped = burstFilled(0, 2);
    takeRxBurst(stamped, 0, 2, 0, true, false);
    expect([stamped.tsSec[1], stamped.tsNsec[1]]).toEqual([1700000001, 1000]);
    const unstamped = burstFilled(0, 2);
    takeRxBurst(unstamped, 0, 2, 0, false, false);
    expect([unstamped.tsSec[1], unstamped.tsNsec[1]]).toEqual([0, 0]);
  });

  it('keeps the offload words the burst wrote on an offload port; without offload the slot is a whole, checksummed frame', () => {
    const offload = burstFilled(0, 2);
    takeRxBurst(offload, 0, 2, 0, false, true);
    expect(words(offload, 1)).toEqual([VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_TCPV4, 54, 1448, 34, 16]);
    expect(offload.hasOffload(1)).toBe(true);
    const plain = burstFilled(0, 2);
    takeRxBurst(plain, 0, 2, 0, false, false);
    expect(plain.hasOffload(0)).toBe(false);
    expect(plain.hasOffload(1)).toBe(false);
  });

  it('sets up a full burst (a column at a time) as a short one (slot by slot)', () => {
    const full = new Batch({ rxCapacity: 64 });
    const short = new Batch({ rxCapacity: 64 });
    for (const b of [full, short]) {
      b.flags.fill(PacketFlag.LOCAL_ORIGIN);
      for (let i = 0; i < 64; i++) {
        b.length[i] = 60 + i;
        b.tsSec[i] = 1700000000 + i;
        b.offload.set([VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_TCPV4, 54, 1448, 34, 16], i * OffloadMeta.WORDS);
      }
    }
    takeRxBurst(full, 0, 64, 1, false, false);
    for (let first = 0; first < 64; first += 4) takeRxBurst(short, first, 4, 1, false, false);
    expect(full.rxCount).toBe(64);
    expect(short.rxCount).toBe(64);
    for (let i = 0; i < 64; i++) {
      expect([full.start[i], full.length[i], full.rxPort[i], full.tsSec[i], full.flags[i], full.hasOffload(i)]).toEqual([full.slotStart(i), 60 + i, 1, 0, 0, false]);
      expect([short.start[i], short.length[i], short.rxPort[i], short.tsSec[i], short.flags[i], short.hasOffload(i)]).toEqual([full.start[i], 60 + i, 1, 0, 0, false]);
    }
  });

  it('takes nothing from an empty burst', () => {
    const batch = burstFilled(3, 0);
    takeRxBurst(batch, 3, 0, 0, true, true);
    expect(batch.rxCount).toBe(3);
  });
});
