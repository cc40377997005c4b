// Reading and deleting flows from the main thread while their owner churns
// the table on a real worker thread (dist/, built by the global setup): every
// record readRecord returns is one flow's (its user words match its keys),
// and a deletion never lands on the flow that reused a deleted flow's id
// (the worker counts flows its sweep ended that were never to be deleted).
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { FlowState } from '../../src/conntrack/timeouts.js';
import { FlowTable, Rec } from '../../src/flow/flow-table.js';
import { BUSY, markDying, MARKED } from '../../src/nat/flow-dump.js';

const LIVE = 1;

describe('flow dumps against a churning owner', () => {
  it('consistent reads, and deletions only of the flows asked for', async () => {
    const timeoutsMs = new Array<number>(FlowState.COUNT).fill(2 ** 31 - 1);
    timeoutsMs[FlowState.DYING] = 0;
    const buffers = FlowTable.create({ capacity: 512, workers: 1, timeoutsMs, seed: 7 });
    const done = new SharedArrayBuffer(4);
    const flag = new Int32Array(done);
    const worker = new Worker(new URL('./dump-race-worker.mjs', import.meta.url), { workerData: { buffers, ms: 1500, state: LIVE, done } });
    const result = new Promise<{ inserted: number; removed: number; swept: number; wrong: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const table = FlowTable.attach(buffers, -1);
    const rec = new Int32Array(Rec.WORDS);
    let reads = 0;
    let torn = 0;
    let marked = 0;
    let busy = 0;
    // Wait for the worker to start before reading (it sets nothing until its first insert).
    while (FlowTable.stats(buffers)[0].inserted === 0 && Atomics.load(flag, 0) === 0) await new Promise((r) => setTimeout(r, 1));
    while (Atomics.load(flag, 0) === 0) {
      for (let id = 0; id < table.capacity; id++) {
        if (!table.readRecord(id, rec)) continue;
        reads++;
        const [o0, o1, o2, o3, r0, r1, r2, r3] = rec;
        const ok = rec[Rec.USER] === (o0 ^ o2 ^ 0x5a5a5a5a) && rec[Rec.USER + 1] === o1 && r0 === o1 && r1 === o0 && r2 === ((o2 >>> 16) | (o2 << 16)) && r3 === o3 && o3 === 6;
        if (!ok) torn++;
        if (((o2 >>> 16) & 1) === 0 && (rec[Rec.STATE] & 63) === LIVE) {
          const m = markDying(table, id, rec);
          if (m === MARKED) marked++;
          else if (m === BUSY) busy++;
        }
      }
    }
    const w = await result;
    await worker.terminate();
    expect(w.inserted).toBeGreaterThan(10_000);
    expect(reads).toBeGreaterThan(10_000);
    expect(marked).toBeGreaterThan(1000);
    expect(torn).toBe(0);
    expect(w.wrong).toBe(0);
    expect(busy).toBe(0); // nothing else moves these states
  }, 20_000);
});
