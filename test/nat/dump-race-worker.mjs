// Worker-thread side of test/nat/flow-dump-race.test.ts: the owner of a flow
// table (built code, dist/) churning as fast as it can: inserts, removes,
// sweeps, so ids are reused while the main thread reads and deletes.
// Every flow's user words are a function of its keys (the main thread checks
// each record it reads against them). Only flows with an even source port
// may be deleted by the main thread; the state of every flow has no timeout,
// so a flow the sweep ends with an odd source port was deleted wrongly.
import { parentPort, workerData } from 'node:worker_threads';
import { FlowTable } from '../../dist/src/flow/flow-table.js';

const { buffers, ms, state, done } = workerData;
const t = FlowTable.attach(buffers, 0);
const flag = new Int32Array(done);
const expired = new Int32Array(256);
let x = 0x2545f491;
const rnd = () => {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
};
const live = [];
let inserted = 0;
let removed = 0;
let swept = 0;
let wrong = 0;
let now = 1;
const end = Date.now() + ms;
while (Date.now() < end) {
  for (let i = 0; i < 256; i++) {
    const src = (0xc0000200 | (rnd() & 0xff)) | 0; // 192.0.2.x
    const dst = (0xc6336400 | (rnd() & 0xff)) | 0; // 198.51.100.x
    const ports = rnd() | 0;
    t.userIn[0] = src ^ ports ^ 0x5a5a5a5a;
    t.userIn[1] = dst;
    const id = t.insert(src, dst, ports, 6, dst, src, (ports >>> 16) | (ports << 16), 6, state, now);
    if (id >= 0) {
      inserted++;
      live.push(id);
    }
    if (live.length > 300) {
      const j = rnd() % live.length;
      const victim = live[j];
      live[j] = live[live.length - 1];
      live.pop();
      if (t.remove(victim)) removed++;
    }
  }
  now++;
  const n = t.sweep(now, 4096, expired);
  for (let i = 0; i < n; i++) {
    const id = expired[i];
    if (((t.keyWord(id, 0, 2) >>> 16) & 1) !== 0) wrong++;
    swept++;
    const j = live.indexOf(id);
    if (j >= 0) {
      live[j] = live[live.length - 1];
      live.pop();
    }
  }
}
Atomics.store(flag, 0, 1);
parentPort.postMessage({ inserted, removed, swept, wrong });
