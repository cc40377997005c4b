// The run loop with memory ports (no root, no addon): frames in on one
// port come out of the other, counted per port; a port that disappears is
// marked down while the loop goes on.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MemoryPort } from '../../src/io/memory-port.js';
import { IoCounter } from '../../src/io/native.js';
import type { PacketPort, RxSource } from '../../src/io/port.js';
import { Batch } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';
import { Control, CONTROL_WORDS, PORT_STAT_FIELDS, PortStat } from '../../src/runtime/port-stats.js';
import { RunLoop } from '../../src/runtime/run-loop.js';
import { udpFrame, HOST_MAC, ROUTER_MAC } from '../pipeline/build.js';
import { BASE_CONFIG } from '../pipeline/harness.js';

function setup(ports: (PacketPort | undefined)[], busyPoll = false, spinMaxUs?: number, onWait?: () => void) {
  const config = parseConfig(BASE_CONFIG, 't', '.');
  const { fib, nexthops } = compileFib(config);
  const batch = new Batch();
  const router = new Router(config, fib, nexthops, { clock: new ManualClock(1), batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
  const portStats = new Float64Array(config.ports.length * PORT_STAT_FIELDS);
  const control = new Int32Array(CONTROL_WORDS);
  let waits = 0;
  const inputs = ports.filter((p): p is PacketPort => p !== undefined);
  const loop = new RunLoop({ router, batch, inputs, outputs: ports, portStats, control, wait: () => {
    waits++;
    onWait?.();
  }, busyPoll, spinMaxUs });
  return { loop, portStats, control, waits: () => waits };
}

const frame = (i: number) => udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '192.0.2.200', id: i }, 1000 + i, 53);

describe('RunLoop', () => {
  it('forwards every frame received on one port out of another and counts both', () => {
    const lan = new MemoryPort('lan', { index: 0 });
    const wan = new MemoryPort('wan', { index: 1 });
    const { loop, portStats } = setup([lan, wan, undefined]);
    for (let i = 0; i < 300; i++) lan.inject(frame(i));
    let got = 0;
    while (loop.step() > 0) got = wan.sent.length;
    expect(got).toBe(300);
    expect(portStats[0 * PORT_STAT_FIELDS + PortStat.RX_PACKETS]).toBe(300);
    expect(portStats[1 * PORT_STAT_FIELDS + PortStat.TX_PACKETS]).toBe(300);
  });

  it('takes turns at which port it reads first: a port that fills every batch does not starve the next (the ARP reply on wan under a flood on lan)', () => {
    const lan = new MemoryPort('lan', { index: 0 });
    const wan = new MemoryPort('wan', { index: 1 });
    const { loop, portStats } = setup([lan, wan, undefined]);
    const capacity = new Batch().rxCapacity;
    for (let i = 0; i < 4 * capacity; i++) lan.inject(frame(i));
    wan.inject(frame(9999));
    const rx = (port: number) => portStats[port * PORT_STAT_FIELDS + PortStat.RX_PACKETS];
    expect(loop.step()).toBe(capacity); // lan first fills the batch
    expect(rx(1)).toBe(0);
    loop.step(); // wan's turn to be read first
    expect(rx(1)).toBe(1);
    expect(rx(0)).toBeLessThan(4 * capacity); // lan still flooding
  });

  it('counts frames the port consumed but dropped (refused by the kernel, link down) as TX_DROPPED, not as sent', () => {
    // 1000 B of payload makes a 1042 B frame, 100 B a 142 B one; wan refuses frames over 500 B as a kernel over the MTU does.
    const sizes = [100, 1000, 100, 1000, 1000, 100];
    const lan = new MemoryPort('lan', { index: 0 });
    const wan = new MemoryPort('wan', { index: 1, txMaxFrame: 500 });
    const { loop, portStats } = setup([lan, wan, undefined]);
    sizes.forEach((len, i) => lan.inject(udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '192.0.2.200', id: i }, 1000 + i, 53, len)));
    loop.step();
    const wanStat = (f: number) => portStats[1 * PORT_STAT_FIELDS + f];
    expect(wan.sent.map((f) => f.length)).toEqual([142, 142, 142]);
    expect(wan.counters[IoCounter.TX_REJECTED]).toBe(3);
    expect([wanStat(PortStat.TX_PACKETS), wanStat(PortStat.TX_BYTES), wanStat(PortStat.TX_DROPPED)]).toEqual([3, 3 * 142, 3]);
    // The link goes down: the port consumes the next batch whole and sends nothing.
    wan.linkUp = false;
    for (let i = 0; i < 4; i++) lan.inject(frame(i));
    loop.step();
    expect(wan.counters[IoCounter.TX_LINK_DOWN]).toBe(4);
    expect([wanStat(PortStat.TX_PACKETS), wanStat(PortStat.TX_BYTES), wanStat(PortStat.TX_DROPPED)]).toEqual([3, 3 * 142, 7]);
  });

  it('counts frames a port dropped as too long for it (an AF_XDP chunk: tx-oversize) as TX_DROPPED, not as sent', () => {
    // An AF_XDP port's tx, in miniature: frames over 500 B are consumed and counted in TX_OVERSIZE, never sent.
    class ChunkPort extends MemoryPort {
      override tx(batch: Batch, slots: Uint16Array, count: number): number {
        let k = 0;
        const fit = new Uint16Array(count);
        for (let i = 0; i < count; i++) {
          const len = batch.length[slots[i]];
          if (len <= 500) fit[k++] = slots[i];
          else {
            this.counters[IoCounter.TX_OVERSIZE]++;
            this.counters[IoCounter.TX_OVERSIZE_BYTES] += len;
          }
        }
        super.tx(batch, fit, k);
        return count;
      }
    }
    const lan = new MemoryPort('lan', { index: 0 });
    const wan = new ChunkPort('wan', { index: 1 });
    const { loop, portStats } = setup([lan, wan, undefined]);
    [100, 1000, 100].forEach((len, i) => lan.inject(udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '192.0.2.200', id: i }, 1000 + i, 53, len)));
    loop.step();
    const wanStat = (f: number) => portStats[1 * PORT_STAT_FIELDS + f];
    expect(wan.sent.map((f) => f.length)).toEqual([142, 142]);
    expect([wan.counters[IoCounter.TX_OVERSIZE], wan.counters[IoCounter.TX_OVERSIZE_BYTES]]).toEqual([1, 1042]);
    expect([wanStat(PortStat.TX_PACKETS), wanStat(PortStat.TX_BYTES), wanStat(PortStat.TX_DROPPED)]).toEqual([2, 2 * 142, 1]);
  });

  it('counts packets and bytes per port, in and out, whether a batch leaves by one port or by several', () => {
    const lan = new MemoryPort('lan', { index: 0 });
    const wan = new MemoryPort('wan', { index: 1 });
    const dmz = new MemoryPort('dmz', { index: 2 });
    const { loop, portStats } = setup([lan, wan, dmz]);
    const stat = (port: number, f: number) => portStats[port * PORT_STAT_FIELDS + f];
    const sum = (frames: Uint8Array[]) => frames.reduce((n, f) => n + f.length, 0);
    // One port out: lan to a host behind wan's gateway, three sizes.
    const toWan = [10, 300, 700].map((len, i) => udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '192.0.2.200', id: i }, 1000 + i, 53, len));
    for (const f of toWan) lan.inject(f);
    loop.step();
    expect(wan.sent.length).toBe(3);
    expect([stat(0, PortStat.RX_PACKETS), stat(0, PortStat.RX_BYTES)]).toEqual([3, sum(toWan)]);
    expect([stat(1, PortStat.TX_PACKETS), stat(1, PortStat.TX_BYTES)]).toEqual([3, sum(wan.sent)]);
    const firstToWan = sum(wan.sent);
    wan.sent.length = 0;
    // Several ports out of one batch, from two inputs: lan to wan and to dmz (ECMP), wan to lan.
    const fromLan = [
      udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '192.0.2.201' }, 1, 2, 100),
      udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '198.18.3.7' }, 3, 4, 200),
      udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '192.0.2.202' }, 5, 6, 50),
    ];
    const fromWan = [udpFrame({ src: '198.51.100.9', srcMac: HOST_MAC, dstMac: '02:00:00:00:00:02', dst: '192.0.2.10' }, 7, 8, 400)];
    for (const f of fromLan) lan.inject(f);
    for (const f of fromWan) wan.inject(f);
    loop.step();
    expect([wan.sent.length, dmz.sent.length, lan.sent.length]).toEqual([2, 1, 1]);
    expect([stat(0, PortStat.RX_PACKETS), stat(0, PortStat.RX_BYTES)]).toEqual([6, sum(toWan) + sum(fromLan)]);
    expect([stat(1, PortStat.RX_PACKETS), stat(1, PortStat.RX_BYTES)]).toEqual([1, sum(fromWan)]);
    expect([stat(1, PortStat.TX_PACKETS), stat(1, PortStat.TX_BYTES)]).toEqual([5, firstToWan + sum(wan.sent)]);
    expect([stat(2, PortStat.TX_PACKETS), stat(2, PortStat.TX_BYTES)]).toEqual([1, sum(dmz.sent)]);
    expect([stat(0, PortStat.TX_PACKETS), stat(0, PortStat.TX_BYTES)]).toEqual([1, sum(lan.sent)]);
    expect(stat(0, PortStat.RX_FORWARDED) + stat(1, PortStat.RX_FORWARDED)).toBe(7);
  });

  it("counts a source that feeds several ports (index -1) by each frame's port", () => {
    const lan = new MemoryPort('lan', { index: 0 });
    const wan = new MemoryPort('wan', { index: 1 });
    const frames = [
      { port: 0, frame: udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '192.0.2.200' }, 1, 2, 120) },
      { port: 1, frame: udpFrame({ src: '198.51.100.9', srcMac: HOST_MAC, dstMac: '02:00:00:00:00:02', dst: '192.0.2.10' }, 3, 4, 80) },
      { port: 0, frame: udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '192.0.2.201' }, 5, 6, 30) },
    ];
    const capture: RxSource = {
      index: -1,
      rx: (batch) => {
        for (const f of frames.splice(0)) batch.pushFrame(f.frame, 0, f.frame.length, f.port, 0, 0);
        return batch.rxCount;
      },
    };
    const config = parseConfig(BASE_CONFIG, 't', '.');
    const { fib, nexthops } = compileFib(config);
    const batch = new Batch();
    const router = new Router(config, fib, nexthops, { clock: new ManualClock(1), batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
    const loop = new RunLoop({ router, batch, inputs: [capture], outputs: [lan, wan, undefined] });
    const [a, b, c] = frames.map((f) => f.frame.length);
    expect(loop.step()).toBe(3);
    const stat = (port: number, f: number) => loop.portStats[port * PORT_STAT_FIELDS + f];
    expect([stat(0, PortStat.RX_PACKETS), stat(0, PortStat.RX_BYTES), stat(1, PortStat.RX_PACKETS), stat(1, PortStat.RX_BYTES)]).toEqual([2, a + c, 1, b]);
    expect([wan.sent.length, lan.sent.length]).toEqual([2, 1]);
  });

  it('sleeps when idle and stops when told', () => {
    const lan = new MemoryPort('lan', { index: 0 });
    const { loop, control, waits } = setup([lan, undefined, undefined]);
    let calls = 0;
    const orig = loop.step.bind(loop);
    loop.step = () => {
      if (++calls === 5) Atomics.store(control, Control.STOP, 1);
      return orig();
    };
    loop.run();
    expect(calls).toBe(5);
    expect(waits()).toBe(5);
    expect(Atomics.load(control, Control.BATCHES)).toBe(5);
  });

  it('with busy polling never sleeps', () => {
    const lan = new MemoryPort('lan', { index: 0 });
    const { loop, control, waits } = setup([lan, undefined, undefined], true);
    let calls = 0;
    const orig = loop.step.bind(loop);
    loop.step = () => {
      if (++calls === 5) Atomics.store(control, Control.STOP, 1);
      return orig();
    };
    loop.run();
    expect([calls, waits()]).toEqual([5, 0]);
  });

  it('after a frame, polls on for the spin window before it sleeps; with spinMaxUs 0 it sleeps at once', () => {
    for (const [maxUs, minSpinMs] of [[100_000, 25], [0, 0]] as const) {
      const lan = new MemoryPort('lan', { index: 0 });
      const wan = new MemoryPort('wan', { index: 1 });
      let calls = 0;
      let callsAtWait = 0;
      let waitedAt = 0;
      const { loop, control, waits } = setup([lan, wan, undefined], false, maxUs, () => {
        callsAtWait = calls;
        waitedAt = performance.now();
        Atomics.store(control, Control.STOP, 1);
      });
      lan.inject(frame(1));
      const orig = loop.step.bind(loop);
      loop.step = () => {
        calls++;
        return orig();
      };
      const t0 = performance.now();
      loop.run();
      expect(wan.sent.length).toBe(1);
      expect(waits()).toBe(1);
      if (maxUs === 0) expect(callsAtWait).toBe(1); // the frame's round drained the ports: sleep, no empty round first
      else {
        // The window starts at a quarter of the maximum: 25 ms of polling, however many rounds that is.
        expect(waitedAt - t0).toBeGreaterThanOrEqual(minSpinMs);
        expect(callsAtWait).toBeGreaterThan(2);
        expect(loop.spin?.misses).toBe(1);
      }
    }
  });

  it('at a steady frame rate naps between rounds instead of sleeping until a frame, and sleeps once the frames stop', () => {
    const config = parseConfig(BASE_CONFIG, 't', '.');
    const { fib, nexthops } = compileFib(config);
    const batch = new Batch();
    const router = new Router(config, fib, nexthops, { clock: new ManualClock(1), batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
    const lan = new MemoryPort('lan', { index: 0 });
    const wan = new MemoryPort('wan', { index: 1 });
    const control = new Int32Array(CONTROL_WORDS);
    const naps: number[] = [];
    let sent = 0;
    let waits = 0;
    const arrive = (n: number) => {
      for (let i = 0; i < n; i++) lan.inject(frame(sent++));
    };
    // Frames come in while the worker naps or sleeps: 20 per wake-up (at least 20 kpps whatever the nap), until 2000 came.
    const nap = (us: number) => {
      naps.push(us);
      const t = performance.now() + us / 1000;
      while (performance.now() < t);
      if (sent < 2000) arrive(20);
    };
    const wait = () => {
      waits++;
      if (sent < 2000) arrive(20);
      else Atomics.store(control, Control.STOP, 1);
    };
    arrive(20);
    const loop = new RunLoop({ router, batch, inputs: [lan, wan], outputs: [lan, wan, undefined], control, wait, nap, coalesceMaxUs: 200, spinMaxUs: 0 });
    loop.run();
    expect(wan.sent.length).toBe(2000);
    // Wake-ups from poll() while the rate average builds up (and after a round slow enough to reset it: a cold
    // JIT, a loaded machine), then naps of at most 200 us carry most of the load (without naps: 100 waits).
    expect(naps.length).toBeGreaterThan(50);
    expect(waits).toBeLessThan(naps.length);
    expect(Math.max(...naps)).toBeLessThanOrEqual(200);
    expect(Math.min(...naps)).toBeGreaterThanOrEqual(1);
    // A nap that found nothing sent the worker back to poll(), never on to more naps.
    expect(loop.coalesce?.emptyNaps).toBeLessThanOrEqual(1);
  });

  it('naps by bytes for large frames (TCP super-packets): a nap as long as about 64 KiB takes, not the longest nap', () => {
    const config = parseConfig(BASE_CONFIG, 't', '.');
    const { fib, nexthops } = compileFib(config);
    const batch = new Batch({ largeSlots: true });
    const router = new Router(config, fib, nexthops, { clock: new ManualClock(1), batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
    const lan = new MemoryPort('lan', { index: 0 });
    const wan = new MemoryPort('wan', { index: 1 });
    const control = new Int32Array(CONTROL_WORDS);
    const naps: number[] = [];
    // 32 KiB frames (to a blackhole route: only their reception matters here), 20 per wake-up.
    const big = udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '198.18.0.5' }, 1000, 9, 32 * 1024);
    let sent = 0;
    const arrive = () => {
      for (let i = 0; i < 20; i++, sent++) lan.inject(big);
    };
    // Each nap with the averages it was computed from: how long a round takes depends on the machine
    // (a loaded CI runner takes several ms for 640 KiB), so the test judges the nap against the rates.
    const seen: { rate: number; byteRate: number }[] = [];
    const nap = (us: number) => {
      naps.push(us);
      seen.push({ rate: loop.coalesce?.rate ?? 0, byteRate: loop.coalesce?.byteRate ?? 0 });
      const t = performance.now() + us / 1000;
      while (performance.now() < t);
      if (sent < 2000) arrive();
    };
    const wait = () => {
      if (sent < 2000) arrive();
      else Atomics.store(control, Control.STOP, 1);
    };
    arrive();
    const loop: RunLoop = new RunLoop({ router, batch, inputs: [lan, wan], outputs: [lan, wan, undefined], control, wait, nap, coalesceMaxUs: 500, spinMaxUs: 0 });
    loop.run();
    expect(loop.coalesce?.byteRate).toBeGreaterThan(0);
    // By frames a nap would last as long as 128 frames take (6.4 rounds of 20); 640 KiB a round is ten
    // times the byte target, so by bytes it lasts about a tenth of a round: the loop handed the
    // coalescer each round's bytes (32 KiB a frame), and every nap is the byte-bounded one.
    expect(naps.length).toBeGreaterThan(20);
    naps.forEach((us, i) => {
      const { rate, byteRate } = seen[i];
      expect(byteRate / rate).toBeGreaterThan(32 * 1024);
      expect(us).toBe(Math.max(1, Math.round(1000 * Math.min(65536 / byteRate, 0.5))));
      expect(65536 / byteRate).toBeLessThan(128 / rate / 50);
    });
  });

  it('tells the coalescer of the frames of full rounds too, so its rate is what arrived, not the last partial round', () => {
    const config = parseConfig(BASE_CONFIG, 't', '.');
    const { fib, nexthops } = compileFib(config);
    const batch = new Batch();
    const router = new Router(config, fib, nexthops, { clock: new ManualClock(1), batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
    const lan = new MemoryPort('lan', { index: 0 });
    const wan = new MemoryPort('wan', { index: 1 });
    const control = new Int32Array(CONTROL_WORDS);
    // 600 frames per wake-up, more than two batches: each nap is followed by two full rounds and a partial one.
    const perWake = 600;
    expect(perWake).toBeGreaterThan(2 * batch.rxCapacity);
    let sent = 0;
    const arrive = () => {
      for (let i = 0; i < perWake; i++) lan.inject(frame(sent++));
    };
    const naps: number[] = [];
    const nap = (us: number) => {
      naps.push(us);
      if (sent < 6000) arrive();
    };
    const wait = () => {
      if (sent < 6000) arrive();
      else Atomics.store(control, Control.STOP, 1);
    };
    arrive();
    const loop = new RunLoop({ router, batch, inputs: [lan, wan], outputs: [lan, wan, undefined], control, wait, nap, coalesceMaxUs: 1200, coalesceTargetFrames: 1024, spinMaxUs: 0 });
    loop.run();
    expect(wan.sent.length).toBe(6000);
    expect(loop.coalesce?.targetFrames).toBe(1024);
    // Every frame reached the coalescer's average, the full rounds' with the partial round after them.
    expect(loop.coalesce?.frames).toBe(6000);
    expect(naps.length).toBeGreaterThan(0);
  });

  it('never naps without a nap function or with coalesceMaxUs 0', () => {
    for (const opts of [{}, { nap: () => { throw new Error('napped'); }, coalesceMaxUs: 0 }]) {
      const lan = new MemoryPort('lan', { index: 0 });
      const wan = new MemoryPort('wan', { index: 1 });
      const config = parseConfig(BASE_CONFIG, 't', '.');
      const { fib, nexthops } = compileFib(config);
      const batch = new Batch();
      const router = new Router(config, fib, nexthops, { clock: new ManualClock(1), batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
      const control = new Int32Array(CONTROL_WORDS);
      let sent = 0;
      let waits = 0;
      const wait = () => {
        waits++;
        if (sent < 400) for (let i = 0; i < 20; i++) lan.inject(frame(sent++));
        else Atomics.store(control, Control.STOP, 1);
      };
      const loop = new RunLoop({ router, batch, inputs: [lan, wan], outputs: [lan, wan, undefined], control, wait, spinMaxUs: 0, ...opts });
      loop.run();
      expect(wan.sent.length).toBe(400);
      expect(waits).toBe(21);
      expect(loop.coalesce?.naps).toBe(0);
    }
  });

  it('marks a port whose interface is gone as down and keeps serving the others', () => {
    const gone = Object.assign(new Error('lan: interface gone'), { code: 'PORT_GONE', errno: 19, syscall: 'read' });
    const broken: PacketPort = { name: 'lan', fd: -1, index: 0, counters: new Float64Array(4), rx: () => { throw gone; }, tx: () => 0, close: () => {} };
    const wan = new MemoryPort('wan', { index: 1 });
    const { loop, portStats } = setup([broken, wan, undefined]);
    wan.inject(udpFrame({ src: '198.51.100.9', srcMac: HOST_MAC, dstMac: '02:00:00:00:00:02', dst: '192.0.2.10' }, 1, 2));
    loop.step();
    expect(portStats[0 * PORT_STAT_FIELDS + PortStat.UP]).toBe(0);
    expect(portStats[1 * PORT_STAT_FIELDS + PortStat.RX_PACKETS]).toBe(1);
    // The frame was for the lan port, which is down: counted as a tx drop there.
    expect(portStats[0 * PORT_STAT_FIELDS + PortStat.TX_DROPPED]).toBe(1);
  });

  it('busyTime grows by the time of rounds that received frames, not of idle rounds', () => {
    const config = parseConfig(BASE_CONFIG, 't', '.');
    const { fib, nexthops } = compileFib(config);
    const batch = new Batch();
    const router = new Router(config, fib, nexthops, { clock: new ManualClock(1), batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
    const lan = new MemoryPort('lan', { index: 0 });
    const wan = new MemoryPort('wan', { index: 1 });
    const control = new Int32Array(CONTROL_WORDS);
    const busyTime = new Float64Array(1);
    let idle = 0;
    // Each idle wait counts; the fifth stops the loop.
    const wait = () => void (++idle === 5 && Atomics.store(control, Control.STOP, 1));
    const loop = new RunLoop({ router, batch, inputs: [lan, wan], outputs: [lan, wan, undefined], control, busyTime, wait });
    loop.run();
    expect([idle, busyTime[0]]).toEqual([5, 0]);
    for (let i = 0; i < 2000; i++) lan.inject(frame(i));
    Atomics.store(control, Control.STOP, 0);
    idle = 0;
    const t0 = performance.now();
    loop.run();
    const wall = (performance.now() - t0) / 1000;
    expect(wan.sent.length).toBe(2000);
    expect(busyTime[0]).toBeGreaterThan(0);
    expect(busyTime[0]).toBeLessThanOrEqual(wall);
  });
});
