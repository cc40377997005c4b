// The control channel: a change posted on a worker's port is taken only when
// the worker looks (between batches), in order, and the main thread learns
// when every worker has it in force, even from a worker whose loop never
// yields to its event loop.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MemoryPort } from '../../src/io/memory-port.js';
import { Batch } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';
import { NexthopTable } from '../../src/route/nexthops.js';
import { FibMirror, MirrorViews } from '../../src/runtime/fib-mirror.js';
import { ChannelTimeoutError, ControlChannel, ControlReceiver, GenerationWord } from '../../src/runtime/control-channel.js';
import { CONTROL_WORDS, PORT_STAT_FIELDS } from '../../src/runtime/port-stats.js';
import { RouteControl } from '../../src/runtime/route-control.js';
import { RunLoop } from '../../src/runtime/run-loop.js';
import { applyUpdate, type TableUpdate } from '../../src/runtime/table-update.js';
import { udpFrame, HOST_MAC, ROUTER_MAC } from '../pipeline/build.js';
import { BASE_CONFIG } from '../pipeline/harness.js';

interface Note {
  generation: number;
  text: string;
}

describe('ControlChannel', () => {
  it('delivers nothing until the worker drains, then every message in order, and acknowledges the last', async () => {
    const ch = new ControlChannel();
    const link = ch.addWorker();
    const rx = new ControlReceiver<Note>(link.init.port, link.init.words);
    expect(rx.pending()).toBe(false);
    let done = 0;
    const first = ch.publish({ text: 'a' }).then((g) => (done = g));
    const second = ch.publish({ text: 'b' });
    expect(rx.pending()).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(0); // not acknowledged: the worker has not looked
    const seen: string[] = [];
    expect(rx.drain((m) => seen.push(`${m.generation}:${m.text}`))).toBe(2);
    expect(seen).toEqual(['1:a', '2:b']);
    expect(rx.pending()).toBe(false);
    expect(await first).toBe(1);
    expect(await second).toBe(2);
    expect(ch.applied()).toBe(2);
    ch.close();
  });

  it('fails a publish that no worker takes in time, naming the worker, and does not wait for a worker that is gone', async () => {
    const ch = new ControlChannel();
    const a = ch.addWorker();
    ch.addWorker();
    const rx = new ControlReceiver<Note>(a.init.port, a.init.words);
    const p = ch.publish({ text: 'x' }, 100);
    rx.drain(() => undefined);
    await expect(p).rejects.toThrow(ChannelTimeoutError);
    const late = ch.publish({ text: 'y' }, 100);
    rx.drain(() => undefined);
    await expect(late).rejects.toThrow(/^generation 2: worker 1 did not apply it within 100 ms$/);
    ch.workerGone(1);
    const q = ch.publish({ text: 'z' }, 1000);
    rx.drain(() => undefined);
    expect(await q).toBe(3);
    ch.close();
  });

  it('does not wait for, nor wake, a worker asleep between batches: it takes the change before its next batch', async () => {
    const ch = new ControlChannel();
    let wakes = 0;
    const link = ch.addWorker(() => wakes++);
    const rx = new ControlReceiver<Note>(link.init.port, link.init.words);
    const seen: string[] = [];
    let during: Promise<number> | undefined;
    let inForce = -1;
    // The sleep publishes while the worker is marked idle: in force at once for every batch the worker will run.
    const slept = rx.idleWait(() => {
      during = ch.publish({ text: 'a' }, 1000);
      inForce = ch.applied();
      return 7;
    }, -1);
    expect(slept).toBe(7);
    expect(inForce).toBe(1);
    expect(await during).toBe(1);
    expect(wakes).toBe(0);
    expect(rx.applied).toBe(0); // though the worker has not looked yet
    // Awake again, it looks first: the change is there.
    expect(rx.pending()).toBe(true);
    rx.drain((m) => seen.push(m.text));
    expect(seen).toEqual(['a']);
    // Not idle: a publish waits for the drain again, and wakes the worker.
    let done = 0;
    const next = ch.publish({ text: 'b' }, 1000).then((g) => (done = g));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(0);
    expect(wakes).toBe(1);
    expect(ch.applied()).toBe(1);
    rx.drain((m) => seen.push(m.text));
    expect(await next).toBe(2);
    ch.close();
  });

  it('does not let a worker sleep on a change posted before it marked itself idle', async () => {
    const ch = new ControlChannel();
    const link = ch.addWorker();
    const rx = new ControlReceiver<Note>(link.init.port, link.init.words);
    let done = 0;
    const p = ch.publish({ text: 'a' }, 1000).then((g) => (done = g));
    let slept = false;
    expect(
      rx.idleWait(() => {
        slept = true;
        return 1;
      }, 0),
    ).toBe(0);
    expect(slept).toBe(false);
    // The publish still waits: the worker was awake when it was posted, and must apply it.
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(0);
    rx.drain(() => undefined);
    expect(await p).toBe(1);
    ch.close();
  });

  it('answers at once for a worker thread asleep in a long wait, which applies the change when it wakes', async () => {
    const ch = new ControlChannel();
    const link = ch.addWorker();
    const stop = new Int32Array(new SharedArrayBuffer(8));
    const channelModule = new URL('../../dist/src/runtime/control-channel.js', import.meta.url).href;
    // One "batch", then an idle sleep of up to 30 s (woken through stop[1]); after it, the worker reports what it applied before its next batch.
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(${JSON.stringify(channelModule)}).then(({ ControlReceiver }) => {
        const rx = new ControlReceiver(workerData.port, workerData.words);
        const stop = new Int32Array(workerData.stop);
        const applied = [];
        parentPort.postMessage('sleeping');
        rx.idleWait(() => Atomics.wait(stop, 1, 0, 30000), 'skipped');
        if (rx.pending()) rx.drain((m) => applied.push(m.value));
        parentPort.postMessage(applied);
      });`;
    const w = new Worker(code, { eval: true, workerData: { ...link.init, stop: stop.buffer }, transferList: link.transfer });
    try {
      await new Promise((r) => w.once('message', r));
      // Wait until it is really marked idle (it marks itself just before sleeping).
      const words = new Int32Array(link.init.words);
      for (let i = 0; i < 500 && Atomics.load(words, GenerationWord.IDLE) === 0; i++) await new Promise((r) => setTimeout(r, 2));
      expect(Atomics.load(words, GenerationWord.IDLE)).toBe(1);
      const t = performance.now();
      expect(await ch.publish({ value: 41 }, 5000)).toBe(1);
      expect(await ch.publish({ value: 42 }, 5000)).toBe(2);
      expect(performance.now() - t).toBeLessThan(1000);
      expect(Atomics.load(words, GenerationWord.APPLIED)).toBe(0); // still asleep
      const report = new Promise((r) => w.once('message', r));
      Atomics.store(stop, 1, 1);
      Atomics.notify(stop, 1);
      expect(await report).toEqual([41, 42]);
      expect(Atomics.load(words, GenerationWord.IDLE)).toBe(0);
    } finally {
      await w.terminate();
      ch.close();
    }
  });

  it('reaches a worker thread that loops without ever yielding', async () => {
    const ch = new ControlChannel();
    const link = ch.addWorker();
    const stop = new Int32Array(new SharedArrayBuffer(4));
    // The worker spins in a synchronous loop, like RunLoop.run; only the generation word and receiveMessageOnPort reach it.
    const channelModule = new URL('../../dist/src/runtime/control-channel.js', import.meta.url).href;
    const code = `
      const { workerData } = require('node:worker_threads');
      import(${JSON.stringify(channelModule)}).then(({ ControlReceiver }) => {
        const rx = new ControlReceiver(workerData.port, workerData.words);
        const stop = new Int32Array(workerData.stop);
        let total = 0;
        while (Atomics.load(stop, 0) === 0) {
          for (let i = 0; i < 1000; i++) total += i; // a "batch"
          if (rx.pending()) rx.drain((m) => { total += m.value; });
        }
      });`;
    const w = new Worker(code, { eval: true, workerData: { ...link.init, stop: stop.buffer }, transferList: link.transfer });
    try {
      for (let g = 1; g <= 50; g++) expect(await ch.publish({ value: g }, 5000)).toBe(g);
      expect(Atomics.load(new Int32Array(link.init.words), GenerationWord.APPLIED)).toBe(50);
    } finally {
      Atomics.store(stop, 0, 1);
      await w.terminate();
      ch.close();
    }
    expect(fileURLToPath(channelModule)).toMatch(/dist/);
  });
});

describe('a run loop taking a new FIB between batches', () => {
  it('forwards by the new routes from the next batch on, losing nothing across the swap', async () => {
    const config = parseConfig(BASE_CONFIG, 't', '.');
    const compiled = compileFib(config);
    const rc = new RouteControl(config.ports, config.routes, compiled);
    const batch = new Batch();
    // The worker reads the mirror's copies, as a dataplane worker does.
    const mirror = new FibMirror(() => compiled.lpm.view);
    const fibs = new MirrorViews();
    const router = new Router(config, fibs.take(mirror.initial()), NexthopTable.fromPlain(compiled.nexthops.toPlain()), { clock: new ManualClock(1), batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
    const lan = new MemoryPort('lan', { index: 0 });
    const wan = new MemoryPort('wan', { index: 1 });
    const dmz = new MemoryPort('dmz', { index: 2 });
    const ch = new ControlChannel();
    const link = ch.addWorker();
    const rx = new ControlReceiver<TableUpdate>(link.init.port, link.init.words);
    const target = { index: 0, router, fibs, makeTracer: () => { throw new Error('no trace here'); }, setTracer: () => undefined };
    const loop = new RunLoop({
      router,
      batch,
      inputs: [lan, wan, dmz],
      outputs: [lan, wan, dmz],
      portStats: new Float64Array(3 * PORT_STAT_FIELDS),
      control: new Int32Array(CONTROL_WORDS),
      updates: { pending: () => rx.pending(), apply: () => rx.drain((m) => applyUpdate(m, target)) },
    });
    const frame = (i: number) => udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '198.18.7.9', id: i }, 1000 + i, 53);
    // 198.18.7.0/24 has no route: net unreachable back to lan.
    lan.inject(frame(0));
    loop.step();
    expect(wan.sent.length + dmz.sent.length).toBe(0);
    expect(lan.sent.length).toBe(1);
    const touched = (prefix: number, len: number) => mirror.changed(prefix, len);
    rc.apply(rc.plan({ add: ['198.18.7.0/24 via 198.51.100.254'] }), touched);
    const published = ch.publish<Omit<TableUpdate, 'generation'>>({ routes: { fib: mirror.next(1), nexthops: compiled.nexthops.toPlain() } });
    for (let i = 1; i <= 100; i++) lan.inject(frame(i));
    // What RunLoop.run does between batches.
    if (rx.pending()) rx.drain((m) => applyUpdate(m, target));
    while (loop.step() > 0);
    expect(await published).toBe(1);
    mirror.settled(true);
    expect(wan.sent.length).toBe(100);
    rc.apply(rc.plan({ replace: ['198.18.7.0/24 via 203.0.113.2'] }), touched);
    const again = ch.publish<Omit<TableUpdate, 'generation'>>({ routes: { fib: mirror.next(2), nexthops: compiled.nexthops.toPlain() } });
    if (rx.pending()) rx.drain((m) => applyUpdate(m, target));
    for (let i = 101; i <= 200; i++) lan.inject(frame(i));
    while (loop.step() > 0);
    expect(await again).toBe(2);
    mirror.settled(true);
    expect(wan.sent.length).toBe(100);
    expect(dmz.sent.length).toBe(100);
    // A third change goes back into the first copy (the worker has left it), without buffers or next hops.
    rc.apply(rc.plan({ delete: ['198.18.7.0/24'] }), touched);
    const ref = mirror.next(3);
    expect(ref.buffers).toBeUndefined();
    const third = ch.publish<Omit<TableUpdate, 'generation'>>({ routes: { fib: ref } });
    if (rx.pending()) rx.drain((m) => applyUpdate(m, target));
    for (let i = 201; i <= 300; i++) lan.inject(frame(i));
    while (loop.step() > 0);
    expect(await third).toBe(3);
    mirror.settled(true);
    // Unrouted again: nothing forwarded, net unreachables back to lan (as many as the ICMP rate limit lets out).
    expect(wan.sent.length + dmz.sent.length).toBe(200);
    expect(lan.sent.length).toBeGreaterThan(1);
    ch.close();
  });
});
