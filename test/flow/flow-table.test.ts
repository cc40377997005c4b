import { describe, expect, it } from 'vitest';
import { auditIndex } from '../../src/flow/flow-index-audit.js';
import { parseKey, reversePortsWord } from '../../src/flow/flow-key.js';
import { CAS_DONE, CAS_GONE, DIR_REPLY, FLAG_ASSURED, FLAG_IN_USE, FLAG_SEEN_REPLY, FLOW_EXISTS, FlowTable, TABLE_FULL, type FlowTableBuffers } from '../../src/flow/flow-table.js';

type Key = [number, number, number, number];
const key = (text: string): Key => parseKey(text);
const rev = (k: Key): Key => [k[1], k[0], reversePortsWord(k[2]), k[3]];

/** Inserts a flow whose reply key is the reverse of `orig` (no NAT). */
function open(t: FlowTable, orig: Key, nowMs: number, state = 0, reply: Key = rev(orig)): number {
  return t.insert(orig[0], orig[1], orig[2], orig[3], reply[0], reply[1], reply[2], reply[3], state, nowMs);
}
const look = (t: FlowTable, k: Key) => t.lookup(k[0], k[1], k[2], k[3]);
const client = (i: number): Key => key(`192.0.2.10:${40000 + i} -> 203.0.113.5:53 udp`);

function table(capacity: number, workers = 1, timeoutsMs: number[] = [30_000], epochMs = 0): FlowTableBuffers {
  return FlowTable.create({ capacity, workers, timeoutsMs, seed: 42, epochMs });
}

describe('FlowTable', () => {
  it('creates a flow and finds it from both directions', () => {
    const t = FlowTable.attach(table(16), 0);
    const k = client(1);
    const id = open(t, k, 1000, 3);
    expect(id).toBeGreaterThanOrEqual(0);
    expect(look(t, k)).toBe(id << 1);
    expect(look(t, rev(k))).toBe((id << 1) | 1);
    expect(t.state(id)).toBe(3);
    expect(t.flags(id)).toBe(FLAG_IN_USE);
    expect([0, 1, 2, 3].map((i) => t.keyWord(id, DIR_REPLY, i))).toEqual(rev(k));
    expect(FlowTable.stats(table(16))[0].live).toBe(0);
  });

  it('with NAT the reply key is the translated one: the reply is found by it, not by the reverse of the original', () => {
    const t = FlowTable.attach(table(16), 0);
    const orig = key('192.0.2.10:40000 -> 203.0.113.5:53 udp');
    const reply = key('203.0.113.5:53 -> 198.51.100.1:61000 udp');
    const id = open(t, orig, 0, 0, reply);
    expect(look(t, reply)).toBe((id << 1) | 1);
    expect(look(t, rev(orig))).toBe(-1);
  });

  it('stores the staged user words in the new record and clears the stage', () => {
    const t = FlowTable.attach(table(16), 0);
    t.userIn.set([61000, 7, 0, -1]);
    const id = open(t, client(1), 0);
    expect([0, 1, 2, 3].map((i) => t.user(id, i))).toEqual([61000, 7, 0, -1]);
    expect([...t.userIn]).toEqual([0, 0, 0, 0]);
    t.setUser(id, 2, 99);
    expect(t.user(id, 2)).toBe(99);
  });

  it('reports FLOW_EXISTS with the existing flow, and gives the unused id back', () => {
    const bufs = table(4);
    const t = FlowTable.attach(bufs, 0);
    const ab = client(1);
    const first = open(t, ab, 0);
    expect(open(t, ab, 0)).toBe(FLOW_EXISTS);
    expect(t.existing).toBe(first << 1);
    // Simultaneous open: B -> A matches A -> B as its reply.
    expect(open(t, rev(ab), 0)).toBe(FLOW_EXISTS);
    expect(t.existing).toBe((first << 1) | 1);
    // No id leaked: three more flows fit in a table of four.
    for (let i = 2; i <= 4; i++) expect(open(t, client(i), 0)).toBeGreaterThanOrEqual(0);
    expect(FlowTable.stats(bufs)[0]).toMatchObject({ live: 4, inserted: 4, existed: 2, evicted: 0 });
  });

  it('touch: moves last seen forward only, and sets SEEN_REPLY for the reply direction only', () => {
    const t = FlowTable.attach(table(16), 0);
    const id = open(t, client(1), 1000);
    t.touch(id, 1500, 0);
    expect(t.idleMs(id, 2000)).toBe(500);
    t.touch(id, 1200, 0); // an older clock reading (another worker) does not move it back
    expect(t.idleMs(id, 2000)).toBe(500);
    expect(t.flags(id) & FLAG_SEEN_REPLY).toBe(0);
    t.touch(id, 1600, DIR_REPLY);
    expect(t.flags(id) & FLAG_SEEN_REPLY).toBe(FLAG_SEEN_REPLY);
  });

  it('casState succeeds only from the expected state', () => {
    const t = FlowTable.attach(table(16), 0);
    const id = open(t, client(1), 0, 1);
    expect(t.casState(id, 2, 3)).toBe(false);
    expect(t.state(id)).toBe(1);
    expect(t.casState(id, 1, 3)).toBe(true);
    expect(t.state(id)).toBe(3);
  });

  it('setFlags adds flags but cannot forge IN_USE or the owner', () => {
    const t = FlowTable.attach(table(16, 2), 1);
    const id = open(t, client(1), 0);
    t.setFlags(id, FLAG_ASSURED | FLAG_IN_USE | 0x0500);
    expect(t.flags(id)).toBe(FLAG_IN_USE | FLAG_ASSURED | (1 << 8));
    expect(t.owner(id)).toBe(1);
  });

  describe('eviction when the slice is full', () => {
    it('evicts the oldest flow that has not seen a reply, reporting its user words', () => {
      const bufs = table(4);
      const t = FlowTable.attach(bufs, 0);
      const ids = [0, 1, 2, 3].map((i) => {
        t.userIn[0] = 60000 + i;
        return open(t, client(i), i);
      });
      t.touch(ids[0], 10, DIR_REPLY); // the oldest has a reply: kept
      const e = open(t, client(4), 20);
      expect(e).toBeGreaterThanOrEqual(0);
      expect(t.evictedId).toBe(ids[1]);
      expect(t.evictedUser[0]).toBe(60001);
      // The evicted flow's key, kept apart: its id (the record) holds the new flow's already.
      expect([...t.evictedKey]).toEqual(client(1));
      expect(e).toBe(ids[1]);
      expect([0, 1, 2, 3].map((i) => t.keyWord(e, 0, i))).toEqual(client(4));
      expect(look(t, client(1))).toBe(-1);
      expect(look(t, rev(client(1)))).toBe(-1);
      expect(look(t, client(0))).toBe(ids[0] << 1);
      // Next: client 2, then client 3 (creation order), then the newest.
      open(t, client(5), 21);
      expect(t.evictedId).toBe(ids[2]);
      open(t, client(6), 22);
      expect(t.evictedId).toBe(ids[3]);
      expect(FlowTable.stats(bufs)[0]).toMatchObject({ live: 4, evicted: 3 });
      expect(auditIndex(t.index)).toMatchObject({ entries: 8, problems: [] });
    });

    it('fails with TABLE_FULL when every flow has seen a reply', () => {
      const bufs = table(3);
      const t = FlowTable.attach(bufs, 0);
      const ids = [0, 1, 2].map((i) => open(t, client(i), 0));
      for (const id of ids) t.touch(id, 1, DIR_REPLY);
      expect(open(t, client(9), 2)).toBe(TABLE_FULL);
      expect(t.evictedId).toBe(-1);
      expect(look(t, client(9))).toBe(-1);
      expect(FlowTable.stats(bufs)[0]).toMatchObject({ live: 3, tableFull: 1, evicted: 0 });
      // Room again once one expires.
      expect(t.remove(ids[1])).toBe(true);
      expect(open(t, client(9), 3)).toBeGreaterThanOrEqual(0);
    });

    it('does not evict a flow that was removed or expired (the list forgets it)', () => {
      const t = FlowTable.attach(table(3), 0);
      const ids = [0, 1, 2].map((i) => open(t, client(i), 0));
      t.remove(ids[0]);
      open(t, client(3), 1); // takes the freed id, no eviction
      expect(t.evictedId).toBe(-1);
      open(t, client(4), 2); // now full: the oldest listed is client 1
      expect(t.evictedId).toBe(ids[1]);
    });
  });

  describe('sweep', () => {
    it('expires flows idle past their state timeout, on a virtual clock', () => {
      const bufs = table(16, 1, [1000, 5000]);
      const t = FlowTable.attach(bufs, 0);
      const short = open(t, client(1), 0, 0);
      const long = open(t, client(2), 0, 1);
      const out = new Int32Array(16);
      expect(t.sweep(999, 100, out)).toBe(0);
      expect(t.sweep(1000, 100, out)).toBe(1);
      expect(out[0]).toBe(short);
      expect(look(t, client(1))).toBe(-1);
      expect(look(t, rev(client(1)))).toBe(-1);
      t.touch(long, 3000, 0);
      expect(t.sweep(7999, 100, out)).toBe(0);
      expect(t.sweep(8000, 100, out)).toBe(1);
      expect(out[0]).toBe(long);
      expect(FlowTable.stats(bufs)[0]).toMatchObject({ live: 0, expired: 2 });
      expect(auditIndex(t.index)).toMatchObject({ entries: 0, problems: [] });
    });

    it('does bounded work per call and carries on where it stopped', () => {
      const t = FlowTable.attach(table(16, 1, [100]), 0);
      for (let i = 0; i < 10; i++) open(t, client(i), 0);
      const out = new Int32Array(16);
      expect(t.sweep(1000, 4, out)).toBe(4);
      expect(t.sweep(1000, 4, out)).toBe(4);
      expect(t.sweep(1000, 4, out)).toBe(2);
      expect(t.live()).toBe(0);
    });

    it('stops when the output array is full and leaves the rest for the next call', () => {
      const t = FlowTable.attach(table(16, 1, [100]), 0);
      const ids = Array.from({ length: 5 }, (_, i) => open(t, client(i), 0));
      const out = new Int32Array(2);
      expect(t.sweep(1000, 100, out)).toBe(2);
      expect([...out]).toEqual(ids.slice(0, 2));
      expect(t.sweep(1000, 100, out)).toBe(2);
      expect(t.sweep(1000, 100, out)).toBe(1);
      expect(t.live()).toBe(0);
    });

    it('leaves the expired records readable until the next insert (to release NAT ports)', () => {
      const t = FlowTable.attach(table(16, 1, [100]), 0);
      t.userIn[0] = 61000;
      const id = open(t, client(1), 0);
      const out = new Int32Array(1);
      t.sweep(1000, 100, out);
      expect(t.user(out[0], 0)).toBe(61000);
      expect(out[0]).toBe(id);
    });

    it('compares times wrap-safe across the Int32 boundary', () => {
      const t = FlowTable.attach(table(16, 1, [1000]), 0);
      const start = 2 ** 31 - 400; // the table's Int32 time wraps 400 ms later
      open(t, client(1), start);
      expect(t.sweep(start + 999, 100)).toBe(0);
      expect(t.idleMs(0, start + 999)).toBe(999);
      expect(t.sweep(start + 1000, 100)).toBe(1);
    });

    it('follows a timeout changed by the control plane', () => {
      const bufs = table(16, 1, [60_000]);
      const t = FlowTable.attach(bufs, 0);
      open(t, client(1), 0);
      FlowTable.attach(bufs, -1).setTimeoutMs(0, 500);
      expect(t.timeoutMs(0)).toBe(500);
      expect(t.sweep(500, 100)).toBe(1);
    });

    it('expires states with no timeout given only after the longest Int32 time', () => {
      const t = FlowTable.attach(table(16, 1, [10]), 0);
      open(t, client(1), 0, 5);
      expect(t.sweep(2 ** 30, 100)).toBe(0);
    });
  });

  describe('workers', () => {
    it('gives each worker its own id slice; any worker finds and touches any flow; only the owner frees it', () => {
      const bufs = table(10, 2);
      const w0 = FlowTable.attach(bufs, 0);
      const w1 = FlowTable.attach(bufs, 1);
      const a = open(w0, client(1), 0);
      const b = open(w1, client(2), 0);
      expect(a).toBeLessThan(5);
      expect(b).toBeGreaterThanOrEqual(5);
      expect(look(w1, rev(client(1)))).toBe((a << 1) | 1);
      w1.touch(a, 10, DIR_REPLY);
      expect(w0.flags(a) & FLAG_SEEN_REPLY).toBe(FLAG_SEEN_REPLY);
      expect(w1.remove(a)).toBe(false);
      expect(w0.remove(a)).toBe(true);
      expect(look(w1, client(1))).toBe(-1);
      expect(FlowTable.stats(bufs).map((s) => s.live)).toEqual([0, 1]);
    });

    it('fills one worker slice without touching the others', () => {
      const bufs = table(10, 2);
      const w1 = FlowTable.attach(bufs, 1);
      for (let i = 0; i < 5; i++) {
        const id = open(w1, client(i), 0);
        w1.touch(id, 1, DIR_REPLY);
      }
      expect(open(w1, client(9), 2)).toBe(TABLE_FULL);
      expect(open(FlowTable.attach(bufs, 0), client(9), 2)).toBeGreaterThanOrEqual(0);
    });

    it('bumps the generation when an id is reused', () => {
      const t = FlowTable.attach(table(1), 0);
      const id = open(t, client(1), 0);
      const g = t.generation(id);
      t.remove(id);
      expect(open(t, client(2), 0)).toBe(id);
      expect(t.generation(id)).toBe(g + 1);
    });

    it('a main-thread view looks up and reads statistics but cannot insert', () => {
      const bufs = table(4, 2);
      const id = open(FlowTable.attach(bufs, 1), client(1), 0);
      const main = FlowTable.attach(bufs, -1);
      expect(look(main, client(1))).toBe(id << 1);
      expect(() => open(main, client(2), 0)).toThrow(/main-thread view/);
    });
  });

  describe('configuration', () => {
    it('refuses bad sizes, naming the field', () => {
      expect(() => table(0)).toThrow(/capacity must be an integer in 1\.\.16777216 \(got 0\)/);
      expect(() => table(1.5)).toThrow(/capacity/);
      expect(() => table(2 ** 25)).toThrow(/capacity/);
      expect(() => table(16, 0)).toThrow(/workers must be/);
      expect(() => table(2, 4)).toThrow(/less than one flow per worker/);
      expect(() => table(16, 1, [])).toThrow(/timeoutsMs must give 1\.\.64 states/);
      expect(() => table(16, 1, [-1])).toThrow(/timeoutsMs\[0\]/);
      expect(() => FlowTable.attach(table(4, 2), 2)).toThrow(/worker must be -1 \(main thread\) or 0\.\.1 \(got 2\)/);
      const bufs = table(4);
      expect(() => FlowTable.attach({ ...bufs, meta: new SharedArrayBuffer(bufs.meta.byteLength) }, 0)).toThrow(/not made by FlowTable.create/);
    });

    it('is at most 128 bytes per flow, everything included, at any capacity from 64k flows', () => {
      expect(FlowTable.bytesFor(1 << 20, 4) / (1 << 20)).toBeCloseTo(104, 0);
      const caps: number[] = [];
      for (let cap = 1 << 16; cap <= 1 << 23; cap = Math.ceil(cap * 1.37)) caps.push(cap);
      // The worst cases: just past the capacity where the index doubles (2F > 4.9 x 2^k buckets).
      for (let k = 15; k <= 21; k++) caps.push(Math.floor(2 ** k * 2.45) + 1);
      for (const cap of caps) expect(FlowTable.bytesFor(cap, 8) / cap).toBeLessThanOrEqual(128);
      expect(FlowTable.bytesFor(Math.floor(2 ** 20 * 2.45) + 1, 8) / (Math.floor(2 ** 20 * 2.45) + 1)).toBeGreaterThan(120);
      const b = table(5000, 3);
      const total = b.meta.byteLength + b.records.byteLength + b.links.byteLength + b.index.byteLength;
      expect(total).toBe(FlowTable.bytesFor(5000, 3));
    });

    it('passes through postMessage as plain SharedArrayBuffers', () => {
      const bufs = table(8);
      const copy = structuredClone(bufs);
      const id = open(FlowTable.attach(bufs, 0), client(1), 0);
      expect(look(FlowTable.attach(copy, -1), client(1))).toBe(id << 1);
    });
  });

  it("keeps a deletion request in the flags word: flag changes keep it, flags() hides it, the sweep ends the flow, and the id's next flow starts clear", () => {
    const bufs = table(1);
    const owner = FlowTable.attach(bufs, 0);
    const ctl = FlowTable.attach(bufs, -1);
    const id = open(owner, client(1), 0);
    const gen = owner.generation(id);
    expect(ctl.isDoomed(id)).toBe(false);
    expect(ctl.requestEnd(id, gen)).toBe(CAS_DONE);
    expect(owner.isDoomed(id)).toBe(true);
    expect(owner.isDoomedGeneration(id, gen)).toBe(true);
    // Other workers' flag bits go in beside the tag (Atomics.or), and neither hides the other.
    owner.touch(id, 1, DIR_REPLY);
    owner.setFlags(id, FLAG_ASSURED | 0xffff00);
    expect(owner.flags(id)).toBe(FLAG_IN_USE | FLAG_SEEN_REPLY | FLAG_ASSURED);
    expect(owner.isDoomed(id)).toBe(true);
    expect(owner.sweep(2, 16)).toBe(1); // not idle, but asked to end and held by nothing
    expect(look(owner, client(1))).toBe(-1);
    expect(owner.isDoomedGeneration(id, gen)).toBe(true); // the request still reads as made for the ended flow
    expect(ctl.requestEnd(id, gen)).toBe(CAS_GONE); // too late: that flow has ended
    const again = open(owner, client(2), 3);
    expect(again).toBe(id);
    expect(owner.isDoomed(again)).toBe(false);
    expect(owner.isDoomedGeneration(again, gen)).toBe(false);
    expect(owner.flags(again)).toBe(FLAG_IN_USE);
    expect(owner.sweep(4, 16)).toBe(0);
    expect(look(owner, client(2))).toBe(again << 1);
  });
});
