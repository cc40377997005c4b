// Constant memory: a ~200 MB capture is written and read back through a
// 1 MiB buffer; the process's resident set must not grow with the file.

import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { CaptureReader } from '../../src/pcap/reader.js';
import { PcapWriter } from '../../src/pcap/writer.js';

const path = join(tmpdir(), `dataplane-memory-${process.pid}.pcap`);
afterAll(() => rmSync(path, { force: true }));

const MiB = 1 << 20;

it('reads a 200 MB pcap with flat memory (RSS growth < 64 MB)', { timeout: 30_000 }, () => {
  const frame = new Uint8Array(1514);
  for (let i = 0; i < frame.length; i++) frame[i] = i & 0xff;
  const frames = Math.ceil((200 * 1e6) / (16 + frame.length));

  const rss0 = process.memoryUsage.rss();
  let peak = rss0;
  const w = new PcapWriter(path, { linkType: LINKTYPE_ETHERNET, nanosecond: true });
  for (let i = 0; i < frames; i++) {
    frame[0] = i & 0xff;
    w.write(frame, 1_700_000_000 + (i >>> 16), i & 0xffff);
    if ((i & 0x3fff) === 0) peak = Math.max(peak, process.memoryUsage.rss());
  }
  w.close();
  expect(statSync(path).size).toBe(24 + frames * 1530);
  expect(peak - rss0, 'writer RSS growth').toBeLessThan(64 * MiB);

  const rss1 = process.memoryUsage.rss();
  peak = rss1;
  const t0 = performance.now();
  const reader = CaptureReader.open(path);
  let n = 0;
  let check = 0;
  while (reader.next()) {
    const r = reader.record;
    check = (check + r.buffer[r.dataOffset] + r.caplen) | 0;
    if ((++n & 0x3fff) === 0) peak = Math.max(peak, process.memoryUsage.rss());
  }
  const bytes = reader.bytesRead;
  reader.close();
  const seconds = (performance.now() - t0) / 1000;
  peak = Math.max(peak, process.memoryUsage.rss());

  expect(n).toBe(frames);
  expect(bytes).toBe(24 + frames * 1530);
  expect(check).not.toBe(0);
  expect(peak - rss1, 'reader RSS growth').toBeLessThan(64 * MiB);
  console.log(
    `read ${(bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(3)} s: ${(bytes / 1e6 / seconds).toFixed(0)} MB/s, ` +
      `RSS growth ${((peak - rss1) / MiB).toFixed(1)} MiB`,
  );
});
