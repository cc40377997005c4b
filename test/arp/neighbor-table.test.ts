// NeighborTable against a Map: open addressing with linear probing and
// backward-shift deletion must behave like a plain map of (port, ip) ->
// entry, whatever the order of inserts, updates and deletions, and never lose
// an entry's fields when deletion shifts it back.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NeighborState, NeighborTable } from '../../src/arp/neighbor-table.js';

interface Entry {
  state: number;
  mac: number[];
  expiresMs: number;
  probes: number;
  nextProbeMs: number;
  deadlineMs: number;
}

type Op =
  | { kind: 'insert'; port: number; ip: number }
  | { kind: 'remove'; port: number; ip: number }
  | { kind: 'learn'; port: number; ip: number; mac: number[]; now: number; reachableMs: number }
  | { kind: 'probe'; port: number; ip: number; probes: number; nextProbeMs: number; deadlineMs: number };

const key = (port: number, ip: number) => `${port}/${ip >>> 0}`;

/** A small key space, so that a 16-entry table fills, probe runs form and wrap around. */
const port = fc.integer({ min: 0, max: 2 });
const ip = fc.oneof(fc.integer({ min: 0, max: 11 }).map((i) => (0xc0000200 + i) >>> 0), fc.constantFrom(0, 0xffffffff, 0x80000000));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), port, ip }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), port, ip }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('learn' as const),
      port,
      ip,
      mac: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 }),
      now: fc.integer({ min: 0, max: 10_000 }),
      reachableMs: fc.constantFrom(1000, 30_000, Infinity),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('probe' as const),
      port,
      ip,
      probes: fc.integer({ min: 0, max: 3 }),
      nextProbeMs: fc.integer({ min: 0, max: 10_000 }),
      deadlineMs: fc.integer({ min: 0, max: 10_000 }),
    }),
  },
);

function entryAt(t: NeighborTable, i: number): Entry {
  return {
    state: t.state[i],
    mac: Array.from(t.mac.subarray(i * 6, i * 6 + 6)),
    expiresMs: t.expiresMs[i],
    probes: t.probes[i],
    nextProbeMs: t.nextProbeMs[i],
    deadlineMs: t.deadlineMs[i],
  };
}

/** Applies `o` to the table and to the model the way the table documents it. */
function apply(t: NeighborTable, model: Map<string, Entry>, o: Op): void {
  const k = key(o.port, o.ip);
  switch (o.kind) {
    case 'insert': {
      const had = model.has(k);
      const i = t.findOrInsert(o.port, o.ip);
      if (had) expect(i).toBe(t.find(o.port, o.ip));
      else if (model.size * 2 >= t.capacity) expect(i, 'a full table refuses a new entry').toBe(-1);
      else {
        expect(i).toBeGreaterThanOrEqual(0);
        model.set(k, { state: NeighborState.EMPTY, mac: [0, 0, 0, 0, 0, 0], expiresMs: 0, probes: 0, nextProbeMs: 0, deadlineMs: 0 });
        // A reused slot keeps stale bytes in the fields findOrInsert does not reset: take them as they are.
        const e = model.get(k)!;
        const got = entryAt(t, i);
        e.mac = got.mac;
        e.expiresMs = got.expiresMs;
        e.probes = got.probes;
        e.nextProbeMs = got.nextProbeMs;
        e.deadlineMs = got.deadlineMs;
      }
      return;
    }
    case 'remove': {
      const i = t.find(o.port, o.ip);
      if (!model.has(k)) {
        expect(i).toBe(-1);
        return;
      }
      t.remove(i);
      model.delete(k);
      return;
    }
    case 'learn': {
      const i = t.find(o.port, o.ip);
      const e = model.get(k);
      if (e === undefined) return expect(i).toBe(-1);
      t.setReachable(i, Uint8Array.from(o.mac), 0, o.now, o.reachableMs);
      if (e.state === NeighborState.REACHABLE && e.expiresMs === Infinity) return; // permanent: never overwritten
      Object.assign(e, { state: NeighborState.REACHABLE, mac: o.mac, expiresMs: o.now + o.reachableMs, probes: 0 });
      return;
    }
    case 'probe': {
      const i = t.find(o.port, o.ip);
      const e = model.get(k);
      if (e === undefined) return expect(i).toBe(-1);
      // What arp-resolve does to an entry it starts resolving.
      t.state[i] = NeighborState.INCOMPLETE;
      t.probes[i] = o.probes;
      t.nextProbeMs[i] = o.nextProbeMs;
      t.deadlineMs[i] = o.deadlineMs;
      Object.assign(e, { state: NeighborState.INCOMPLETE, probes: o.probes, nextProbeMs: o.nextProbeMs, deadlineMs: o.deadlineMs });
      return;
    }
  }
}

/** The table holds exactly the model, each entry reachable by probing from its home slot. */
function expectSame(t: NeighborTable, model: Map<string, Entry>): void {
  expect(t.size).toBe(model.size);
  const seen = new Map<string, Entry>();
  for (let i = 0; i < t.capacity; i++) if (t.port[i] !== -1) seen.set(key(t.port[i], t.ip[i]), entryAt(t, i));
  // Compared as text first (fast); expect's deep equality only to explain a difference.
  const text = (m: Map<string, Entry>) => JSON.stringify([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
  if (text(seen) !== text(model)) expect(seen).toEqual(model);
  for (const [k, e] of model) {
    const [p, a] = k.split('/').map(Number);
    const i = t.find(p, a);
    if (i < 0 || JSON.stringify(entryAt(t, i)) !== JSON.stringify(e)) expect([k, i >= 0 ? entryAt(t, i) : 'not found']).toEqual([k, e]);
    const now = 5000;
    const reachable = e.state === NeighborState.REACHABLE && e.expiresMs > now;
    if (t.findReachable(p, a, now) >= 0 !== reachable) expect(t.findReachable(p, a, now) >= 0, `findReachable ${k}`).toBe(reachable);
  }
}

describe('NeighborTable', () => {
  it('behaves like a Map under any sequence of inserts, learns, probes and deletions (backward-shift deletion included)', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 200, size: 'max' }), fc.array(fc.tuple(port, ip), { maxLength: 10 }), (ops, probesOutside) => {
        const t = new NeighborTable(16);
        const model = new Map<string, Entry>();
        for (const o of ops) {
          apply(t, model, o);
          expectSame(t, model);
        }
        for (const [p, a] of probesOutside) if (!model.has(key(p, a))) expect(t.find(p, a)).toBe(-1);
      }),
      { numRuns: 150 },
    );
  });

  it('capacity: a power of two at least twice what was asked; full at half, then inserts are refused until a delete', () => {
    const t = new NeighborTable(10);
    expect(t.capacity).toBe(32);
    const keys = Array.from({ length: 16 }, (_, i) => 0xc6120000 + i);
    for (const a of keys) expect(t.findOrInsert(1, a)).toBeGreaterThanOrEqual(0);
    expect(t.size).toBe(16);
    expect(t.findOrInsert(1, 0xc6129999)).toBe(-1);
    expect(t.findOrInsert(1, keys[3])).toBe(t.find(1, keys[3])); // an existing key is still found
    t.remove(t.find(1, keys[0]));
    expect(t.findOrInsert(1, 0xc6129999)).toBeGreaterThanOrEqual(0);
  });

  it('deleting the head of a probe run that wraps past the end shifts the run back, fields and all', () => {
    const cap = new NeighborTable(16).capacity;
    // Keys whose home is the last slot: an empty table places each key at its home.
    const home = (p: number, a: number) => {
      const probe = new NeighborTable(16);
      return probe.findOrInsert(p, a);
    };
    const last: number[] = [];
    const second: number[] = [];
    for (let a = 0xcb007100; last.length < 3 || second.length < 1; a++) {
      const h = home(2, a);
      if (h === cap - 1 && last.length < 3) last.push(a);
      else if (h === 0 && second.length < 1) second.push(a);
    }
    const t = new NeighborTable(16);
    const slots = [...last, ...second].map((a) => t.findOrInsert(2, a));
    // Three keys homed at the end fill cap-1, 0, 1; the key homed at 0 goes to 2.
    expect(slots).toEqual([cap - 1, 0, 1, 2]);
    for (const [i, a] of [...last, ...second].entries()) {
      const s = t.find(2, a);
      t.setReachable(s, Uint8Array.from([2, 0, 0, 0, 0, i]), 0, 100 * i, 1000);
      t.deadlineMs[s] = 7 + i;
    }
    t.remove(t.find(2, last[0]));
    // Each later key moves back one slot, into the hole the one before it left.
    expect([t.find(2, last[1]), t.find(2, last[2]), t.find(2, second[0])]).toEqual([cap - 1, 0, 1]);
    for (const [i, a] of [last[1], last[2], second[0]].entries()) {
      const s = t.find(2, a);
      expect(Array.from(t.mac.subarray(s * 6, s * 6 + 6))).toEqual([2, 0, 0, 0, 0, i + 1]);
      expect([t.expiresMs[s], t.deadlineMs[s]]).toEqual([100 * (i + 1) + 1000, 7 + i + 1]);
    }
    expect(t.port[2]).toBe(-1);
    expect(t.find(2, last[0])).toBe(-1);
    expect(t.size).toBe(3);
  });

  it('a configured (permanent) entry is never overwritten by ARP, and expiry is "missing" for findReachable', () => {
    const t = new NeighborTable(16);
    const s = t.findOrInsert(0, 0xc000020a);
    t.setReachable(s, Uint8Array.from([2, 0, 0, 0, 0, 1]), 0, 0, Infinity);
    t.setReachable(s, Uint8Array.from([2, 0, 0, 0, 0, 9]), 0, 50, 1000);
    expect(Array.from(t.mac.subarray(s * 6, s * 6 + 6))).toEqual([2, 0, 0, 0, 0, 1]);
    const d = t.findOrInsert(0, 0xc000020b);
    t.setReachable(d, Uint8Array.from([2, 0, 0, 0, 0, 2]), 0, 1000, 500);
    expect(t.findReachable(0, 0xc000020b, 1499)).toBe(d);
    expect(t.findReachable(0, 0xc000020b, 1500)).toBe(-1);
    expect(t.find(0, 0xc000020b)).toBe(d);
    expect(t.findReachable(1, 0xc000020b, 0)).toBe(-1); // same address on another port is another neighbor
  });
});
