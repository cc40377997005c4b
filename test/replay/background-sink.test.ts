// BackgroundSink (parallel replay's OUT, written on libuv's thread pool):
// the file holds the bytes in the order given, whatever the sizes of the
// writes (smaller, equal to and larger than its buffers); the caller can
// wait for it to catch up; a failed write is thrown, not lost.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackgroundSink } from '../../src/replay/background-sink.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-replay-bg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('BackgroundSink', () => {
  it('writes the bytes in order, after what the file already holds, across buffer boundaries', async () => {
    const path = join(dir, 'out.bin');
    const fd = openSync(path, 'w');
    const head = Buffer.from('header..');
    writeFileSync(fd, head); // as PcapngWriter's first blocks, written before
    const sink = new BackgroundSink(fd, 1000);
    let seed = 1;
    for (let i = 0; i < 300; i++) {
      const len = [1, 7, 999, 1000, 1001, 2500, 64][i % 7];
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = seed = (seed * 1103515245 + 12345) & 0xff;
      sink.write(b);
      b.fill(0); // the caller may reuse its buffer at once
      if (i % 50 === 0) {
        await sink.below(3000);
        expect(sink.pending).toBeLessThanOrEqual(3000 + 1000);
      }
    }
    await sink.finish();
    expect(sink.pending).toBe(0);
    closeSync(fd);
    // The same bytes again, computed from the same seed.
    seed = 1;
    const want: number[] = [...head];
    for (let i = 0; i < 300; i++) {
      const len = [1, 7, 999, 1000, 1001, 2500, 64][i % 7];
      for (let j = 0; j < len; j++) want.push((seed = (seed * 1103515245 + 12345) & 0xff));
    }
    const got = readFileSync(path);
    expect(got.length).toBe(want.length);
    expect(Buffer.compare(got, Buffer.from(want))).toBe(0);
  });

  it('writeOwned() writes the given buffer in its place among copied writes, and hands it back only once written', async () => {
    const path = join(dir, 'owned.bin');
    const fd = openSync(path, 'w');
    const sink = new BackgroundSink(fd, 64);
    const want: Buffer[] = [];
    const handedBack: number[] = [];
    for (let i = 0; i < 40; i++) {
      const copied = Buffer.alloc(1 + (i % 5) * 37, i);
      sink.write(copied);
      want.push(Buffer.from(copied));
      const owned = Buffer.alloc(10 + i * 13, 200 - i);
      want.push(Buffer.from(owned));
      sink.writeOwned(owned, () => {
        // Its bytes are in the file when it comes back: the caller may overwrite them.
        handedBack.push(i);
        owned.fill(0);
      });
    }
    expect(handedBack.length).toBeLessThan(40);
    await sink.finish();
    closeSync(fd);
    expect(handedBack).toEqual([...Array(40).keys()]);
    expect(Buffer.compare(readFileSync(path), Buffer.concat(want))).toBe(0);
  });

  it('a failed write (a descriptor open for reading) is thrown by finish() and the next write()', async () => {
    const path = join(dir, 'ro.bin');
    writeFileSync(path, 'x');
    const fd = openSync(path, 'r');
    try {
      const sink = new BackgroundSink(fd, 16);
      sink.write(Buffer.alloc(40, 1));
      await expect(sink.finish()).rejects.toThrow(/EBADF/);
      expect(() => sink.write(Buffer.alloc(1))).toThrow(/EBADF/);
      await sink.abandon();
    } finally {
      closeSync(fd);
    }
  });
});
