// A control-plane deletion against an owner that reuses the deleted flow's id
// at the worst moment, deterministically: the deleter (markDying for a flow,
// doom for a NAT mapping) is run with every one of its Atomics operations
// preceded, in turn, by the owner ending the flow and giving its id to a new
// flow in the same state, and then, at the same or any later operation, by
// the owner's sweep. Whatever the interleaving, the new flow must come out
// untouched (same state, not doomed, still in the index, holdable), and with
// no reuse the deleted flow must end at the owner's next sweep.
// (The first protocol, a state CAS checked against the generation before and
// after and undone when the id had moved, failed this: the CAS landed on the
// new flow and a sweep between the CAS and its undo ended it. flow-dump-race
// caught that once under load.)
import { afterEach, describe, expect, it } from 'vitest';
import { FlowState } from '../../src/conntrack/timeouts.js';
import { parseKey } from '../../src/flow/flow-key.js';
import { FlowTable, Rec } from '../../src/flow/flow-table.js';
import { GONE, markDying, MARKED } from '../../src/nat/flow-dump.js';
import { doom, hold, unhold } from '../../src/nat/refs.js';

type Key = [number, number, number, number];
const A: Key = parseKey('192.0.2.10:40000 -> 203.0.113.5:53 udp');
const B: Key = parseKey('192.0.2.11:40001 -> 203.0.113.6:53 udp');
const rev = (k: Key): Key => [k[1], k[0], ((k[2] >>> 16) | (k[2] << 16)) | 0, k[3]];
const NOW = 1000;

// Atomics operations made by the deleter, each preceded by a hook.
const ATOMICS = ['load', 'store', 'compareExchange', 'or', 'and', 'add', 'sub', 'exchange'] as const;
type AtomicsFn = (...args: unknown[]) => unknown;
const real = new Map<string, AtomicsFn>(ATOMICS.map((n) => [n, (Atomics as unknown as Record<string, AtomicsFn>)[n]]));
function restoreAtomics(): void {
  for (const [n, f] of real) (Atomics as unknown as Record<string, AtomicsFn>)[n] = f;
}
afterEach(restoreAtomics);

/** Runs `deleter` with `before(i)` called before its i-th Atomics operation (from 1); returns how many it made. */
function interleaved(deleter: () => void, before: (i: number) => void): number {
  let count = 0;
  let inside = false;
  for (const [n, f] of real) {
    (Atomics as unknown as Record<string, AtomicsFn>)[n] = (...args: unknown[]) => {
      if (!inside) {
        inside = true; // the owner's own Atomics calls are not steps of the deleter
        try {
          before(++count);
        } finally {
          inside = false;
        }
      }
      return f.apply(Atomics, args);
    };
  }
  try {
    deleter();
  } finally {
    restoreAtomics();
  }
  return count;
}

function newTable(): { owner: FlowTable; control: FlowTable } {
  const timeoutsMs = new Array<number>(FlowState.COUNT).fill(2 ** 31 - 1); // nothing expires but what is deleted
  timeoutsMs[FlowState.DYING] = 0;
  const buffers = FlowTable.create({ capacity: 8, workers: 1, timeoutsMs, seed: 3 });
  return { owner: FlowTable.attach(buffers, 0), control: FlowTable.attach(buffers, -1) };
}

const open = (t: FlowTable, k: Key, state: number) => {
  const r = rev(k);
  return t.insert(k[0], k[1], k[2], k[3], r[0], r[1], r[2], r[3], state, NOW);
};

interface Case {
  name: string;
  state: number;
  del: (control: FlowTable, id: number, rec: Int32Array) => boolean;
}
const cases: Case[] = [
  { name: 'a flow (ctl flows delete: markDying)', state: FlowState.UDP_UNREPLIED, del: (t, id, rec) => markDying(t, id, rec) === MARKED },
  { name: 'an unheld NAT mapping (ctl nat mappings delete: doom)', state: FlowState.UNHELD, del: (t, id, rec) => doom(t, id, rec[Rec.GEN]) },
];

describe('a deletion never reaches the flow that reused the id', () => {
  for (const c of cases) {
    it(`${c.name}: every interleaving of the owner's reuse and sweep with the deleter's Atomics operations`, () => {
      // How many operations the deleter makes undisturbed (the loops go one past it).
      const probe = newTable();
      const pid = open(probe.owner, A, c.state);
      const prec = new Int32Array(Rec.WORDS);
      expect(probe.control.readRecord(pid, prec)).toBe(true);
      const ops = interleaved(() => c.del(probe.control, pid, prec), () => {});
      expect(ops).toBeGreaterThan(0);

      let reused = 0;
      for (let k = 0; k <= ops + 1; k++) {
        for (let m = k; m <= ops + 1; m++) {
          const { owner, control } = newTable();
          const id = open(owner, A, c.state);
          const rec = new Int32Array(Rec.WORDS);
          expect(control.readRecord(id, rec)).toBe(true);
          let newId = -1;
          const reuse = () => {
            expect(owner.remove(id)).toBe(true);
            newId = open(owner, B, c.state);
            expect(newId).toBe(id); // the free list gives the same id back at once
          };
          if (k === 0) reuse(); // between the deleter's read of the record and its call
          let deleted = false;
          interleaved(
            () => {
              deleted = c.del(control, id, rec);
            },
            (i) => {
              if (i === k) reuse();
              if (i === m) owner.sweep(NOW, 64);
            },
          );
          owner.sweep(NOW, 64); // the owner's next sweep
          const where = `reuse before op ${k}, sweep before op ${m} of ${ops}`;
          if (newId >= 0) {
            reused++;
            expect(deleted, where).toBe(false);
            expect(owner.lookup(B[0], B[1], B[2], B[3]), where).toBe(id << 1);
            expect(owner.state(id), where).toBe(c.state);
            expect(owner.isDoomed(id), where).toBe(false);
            expect(owner.live(), where).toBe(1);
            if (c.state === FlowState.UNHELD) {
              expect(hold(owner, id), where).toBe(true);
              unhold(owner, id, NOW);
              expect(owner.state(id), where).toBe(FlowState.UNHELD);
            }
          } else {
            // No reuse: the deletion took, and the owner's sweep ended the flow.
            expect(deleted, where).toBe(true);
            expect(owner.lookup(A[0], A[1], A[2], A[3]), where).toBe(-1);
            expect(owner.live(), where).toBe(0);
          }
        }
      }
      expect(reused).toBeGreaterThan(ops);
    });
  }

  it('a deleted flow is not deleted twice, and a mapping being deleted takes no new hold', () => {
    const { owner, control } = newTable();
    const f = open(owner, A, FlowState.UDP_UNREPLIED);
    const rec = new Int32Array(Rec.WORDS);
    control.readRecord(f, rec);
    expect(markDying(control, f, rec)).toBe(MARKED);
    expect(markDying(control, f, rec)).toBe(GONE);
    expect(owner.lookup(A[0], A[1], A[2], A[3])).toBe(f << 1); // still matches until its owner's sweep
    const m = open(owner, B, FlowState.UNHELD);
    expect(hold(owner, m)).toBe(true);
    control.readRecord(m, rec);
    expect(doom(control, m, rec[Rec.GEN])).toBe(true);
    expect(hold(owner, m)).toBe(false);
    expect(owner.state(m) >>> 6).toBe(1); // the refused hold was taken back
    expect(owner.sweep(NOW, 64)).toBe(1); // the flow; the mapping is still held
    expect(owner.lookup(B[0], B[1], B[2], B[3])).toBe(m << 1);
    unhold(owner, m, NOW);
    expect(owner.sweep(NOW, 64)).toBe(1); // its last holder gone: ended
    expect(owner.live()).toBe(0);
  });
});
