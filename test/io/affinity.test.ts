// threadSetAffinity / threadGetAffinity (native/src/sched.cc, `run --cpus`):
// the calling thread, and only it, is pinned to the CPUs asked for; CPUs it
// may not run on are refused by number and leave its mask as it was (the
// kernel alone would quietly drop them from a mask that has others). Each
// case runs in a worker_thread of its own, as a packet worker does, so the
// test's own thread keeps its mask.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { addonPath, loadNative, nativeAvailable } from '../../src/io/native.js';
import { skipIf } from '../skip.js';

const reason = nativeAvailable() ? undefined : 'the native addon is not built';

interface Outcome {
  error?: string;
  code?: string;
  /** The thread's mask after the call, as the addon and as /proc say. */
  mask: number[];
  procList: string;
}

/** Calls threadSetAffinity(cpus) in a new worker_thread and reports what came of it. */
function inWorker(cpus: unknown): Promise<Outcome> {
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const io = require(workerData.addon);
    const out = {};
    try { io.threadSetAffinity(workerData.cpus); } catch (e) { out.error = e.message; out.code = e.code; }
    out.mask = io.threadGetAffinity();
    out.procList = require('node:fs').readFileSync('/proc/thread-self/status', 'utf8').match(/^Cpus_allowed_list:\\s*(.*)$/m)[1];
    parentPort.postMessage(out);`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { addon: addonPath(), cpus } });
    w.once('message', (m: Outcome) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

const ownList = () => readFileSync('/proc/thread-self/status', 'utf8').match(/^Cpus_allowed_list:\s*(.*)$/m)![1];

describe('threadSetAffinity', skipIf(reason), () => {
  it('pins the calling thread to the CPU asked for, and not the others', async () => {
    const allowed = loadNative().threadGetAffinity();
    expect(allowed.length).toBeGreaterThan(0);
    const before = ownList();
    const last = allowed[allowed.length - 1];
    const r = await inWorker([last]);
    expect(r.error).toBeUndefined();
    expect(r.mask).toEqual([last]);
    expect(r.procList).toBe(String(last));
    // The test's thread (another thread of the process) keeps its mask.
    expect(ownList()).toBe(before);
    expect(loadNative().threadGetAffinity()).toEqual(allowed);
  });

  it('refuses a CPU the thread may not run on, naming it, and keeps the old mask', async () => {
    const allowed = loadNative().threadGetAffinity();
    // The first CPU number outside the mask (absent on a machine with fewer CPUs).
    let absent = 0;
    while (allowed.includes(absent)) absent++;
    // Alone, the kernel says EINVAL; beside an allowed CPU it would drop it quietly.
    for (const cpus of [[absent], [allowed[0], absent]]) {
      const r = await inWorker(cpus);
      expect(r.code).toBe('EINVAL');
      expect(r.error).toContain(`CPU ${absent} is not one this thread may run on`);
      expect(r.mask).toEqual(allowed);
    }
  });

  it('refuses an empty list and numbers that are not CPUs', async () => {
    expect((await inWorker([])).error).toBe('cpus must name at least one CPU');
    expect((await inWorker([0.5])).error).toBe('cpus[0] must be a CPU number from 0 to 4095');
    expect((await inWorker([0, -1])).error).toBe('cpus[1] must be a CPU number from 0 to 4095');
    expect((await inWorker([4096])).error).toBe('cpus[0] must be a CPU number from 0 to 4095');
    expect((await inWorker('0')).error).toBe('cpus must be an array of CPU numbers');
  });
});
