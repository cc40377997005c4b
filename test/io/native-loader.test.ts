// The loader: finds the addon that `npm install` built, and says how to
// build it when it is missing. None of this needs root.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { addonPath, loadNative, loadNativeFrom, nativeAvailable, NativeUnavailableError } from '../../src/io/native.js';

describe('native addon loader', () => {
  it('finds the addon built by npm install under native/build/Release', () => {
    expect(addonPath()).toMatch(/native\/build\/Release\/dataplane_io\.node$/);
    expect(nativeAvailable()).toBe(true);
    expect(loadNative().abiVersion).toBe(7);
  });

  it('says how to build the addon when it is missing', () => {
    expect(() => loadNativeFrom('/nonexistent/dataplane_io.node')).toThrow(NativeUnavailableError);
    expect(() => loadNativeFrom('/nonexistent/dataplane_io.node')).toThrow(
      /the native addon is not built: run npm install \(needs python3, make, g\+\+\)/,
    );
  });

  it('names a missing interface', () => {
    const io = loadNative();
    expect(() => io.ifIndex('dpnosuch0')).toThrow(/interface dpnosuch0 not found/);
    try {
      io.packetOpen('dpnosuch0');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/packetOpen\("dpnosuch0"\): interface dpnosuch0 not found/);
      expect((e as { code?: string }).code).toBe('ENODEV');
    }
  });

  it('checks its arguments instead of writing outside the arena', () => {
    const io = loadNative();
    const arena = new Uint8Array(4096);
    const offsets = new Uint32Array([4000]);
    const lengths = new Uint32Array(1);
    const fd = io.wakeFdOpen();
    try {
      expect(() => io.rxBurst(fd, arena, offsets, lengths, 2048, 1)).toThrow(RangeError);
      expect(() => io.rxBurst(fd, arena, offsets, lengths, 64, 2)).toThrow(/exceeds offsets/);
      expect(() => io.txBurst(fd, arena, offsets, new Uint32Array([200]), 1)).toThrow(/outside the arena/);
      expect(() => io.txBurst(fd, arena, offsets, lengths, 1, new Uint16Array([3]))).toThrow(/out of range/);
      expect(() => io.tapOpen('a-name-longer-than-15')).toThrow(/not valid/);
      expect(() => io.waitReadable(new Int32Array(33), 33, 0)).toThrow(/at most 32/);
    } finally {
      io.closeFd(fd);
    }
  });

  it('sleeps in waitReadable until a wake fd is signalled', () => {
    const io = loadNative();
    const wake = io.wakeFdOpen();
    try {
      const fds = new Int32Array([wake]);
      const t0 = performance.now();
      expect(io.waitReadable(fds, 1, 30)).toBe(0);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
      io.wakeFdSignal(wake);
      io.wakeFdSignal(wake);
      expect(io.waitReadable(fds, 1, 1000)).toBe(1);
      expect(io.wakeFdDrain(wake)).toBe(2);
      expect(io.wakeFdDrain(wake)).toBe(0);
    } finally {
      io.closeFd(wake);
    }
  });

  it('loads in several worker threads at once, and each thread tears down cleanly', async () => {
    const path = addonPath();
    // Plain JS workers: each loads the addon for itself (per-thread instance data).
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const io = require(workerData.path);
      const wake = io.wakeFdOpen();
      io.wakeFdSignal(wake);
      const ready = io.waitReadable(new Int32Array([wake]), 1, 1000);
      io.closeFd(wake);
      let ring = 'skipped';
      if (workerData.root) { io.packetOpen('lo', { blockCount: 2, blockSize: 4096 }); ring = 'left open'; }
      parentPort.postMessage({ lo: io.ifIndex('lo'), ready, ring });`;
    const root = process.getuid?.() === 0;
    const results = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<{ lo: number; ready: number; ring: string }>((res, rej) => {
            const w = new Worker(code, { eval: true, workerData: { path, root } });
            w.once('message', (m: { lo: number; ready: number; ring: string }) => {
              // Terminate with the AF_PACKET ring still open: the thread's instance data closes it.
              void w.terminate().then(() => res(m));
            });
            w.once('error', rej);
          }),
      ),
    );
    const lo = loadNative().ifIndex('lo');
    for (const r of results) expect(r).toEqual({ lo, ready: 1, ring: root ? 'left open' : 'skipped' });
  });
});
