// One ICMP error rate limit for the whole dataplane: the token bucket's state
// in shared memory, used by several workers at once, hands out exactly
// `burst` tokens however the workers interleave.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/pipeline/clock.js';
import { TokenBucket } from '../../src/pipeline/token-bucket.js';
import { HOST_MAC, ROUTER_MAC, udpFrame } from './build.js';
import { BASE_CONFIG, Harness } from './harness.js';

const DIST_BUCKET = join(import.meta.dirname, '..', '..', 'dist', 'src', 'pipeline', 'token-bucket.js');

describe('shared ICMP rate limit', () => {
  it('two routers (workers) on one limit send burst errors between them, not burst each', () => {
    const shared = new SharedArrayBuffer(TokenBucket.BYTES);
    const clock = new ManualClock(1000);
    const config = BASE_CONFIG.replace('icmp: { ratePerSecond: 1000, burst: 100 }', 'icmp: { ratePerSecond: 10, burst: 5 }');
    const a = new Harness(config, {}, { clock, icmpLimit: shared });
    const b = new Harness(config, {}, { clock, icmpLimit: shared });
    const ttl1 = Array.from({ length: 8 }, (_, i) => ({ port: 'lan', frame: udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '192.0.2.200', ttl: 1, id: i }, 1, 2) }));
    const sent = a.send(ttl1).out.length + b.send(ttl1).out.length;
    expect(sent).toBe(5);
    // 100 ms later one more token (10/s) for the two of them.
    clock.advance(100);
    expect(a.send(ttl1).out.length + b.send(ttl1).out.length).toBe(1);
  });

  it('hands out exactly burst tokens to threads taking them at the same time', async () => {
    const shared = new SharedArrayBuffer(TokenBucket.BYTES);
    const burst = 3_000_000;
    // A clock that never moves: no refill, so the tokens taken must sum to the burst exactly.
    new TokenBucket(1, burst, { nowMs: () => 0 }, shared);
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.module).then(({ TokenBucket }) => {
        const b = new TokenBucket(1, ${burst}, { nowMs: () => 0 }, workerData.shared);
        Atomics.wait(new Int32Array(workerData.go), 0, 0);
        let n = 0;
        for (let i = 0; i < ${burst}; i++) if (b.take()) n++;
        parentPort.postMessage(n);
      });`;
    const go = new SharedArrayBuffer(4);
    const workers = [0, 1, 2].map(() => new Worker(code, { eval: true, workerData: { module: DIST_BUCKET, shared, go } }));
    const counts = workers.map((w) => new Promise<number>((res, rej) => (w.once('message', res), w.once('error', rej))));
    await new Promise((r) => setTimeout(r, 200));
    Atomics.store(new Int32Array(go), 0, 1);
    Atomics.notify(new Int32Array(go), 0);
    const taken = await Promise.all(counts);
    await Promise.all(workers.map((w) => w.terminate()));
    expect(taken.reduce((x, y) => x + y, 0)).toBe(burst);
  });
});
