// Capture read throughput from the page cache, and memory as the file grows.
// Peers in the same run: tcpdump (libpcap in C) reading the same file, and
// node_pcap's offline session (libpcap through a Node binding).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { CaptureReader } from '../../src/pcap/reader.js';
import { PcapWriter } from '../../src/pcap/writer.js';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { consume, rssMiB } from '../lib/measure.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';

const require = createRequire(import.meta.url);

/** Writes a pcap of about `megabytes` MB with an IMIX-like size mix (7x64, 4x594, 1x1518). */
function writeCapture(path: string, megabytes: number): { frames: number; bytes: number } {
  const sizes = [60, 60, 60, 60, 60, 60, 60, 590, 590, 590, 590, 1514];
  const frame = new Uint8Array(1514);
  for (let i = 0; i < frame.length; i++) frame[i] = (i * 31) & 0xff;
  const w = new PcapWriter(path, { linkType: LINKTYPE_ETHERNET, nanosecond: true });
  let bytes = 24;
  let frames = 0;
  const limit = megabytes * 1e6;
  while (bytes < limit) {
    const len = sizes[frames % sizes.length];
    w.write(frame.subarray(0, len), 1_700_000_000 + (frames >>> 20), frames & 0xfffff);
    bytes += 16 + len;
    frames++;
  }
  w.close();
  return { frames, bytes };
}

function readAll(path: string): { frames: number; seconds: number; rssGrowthMiB: number } {
  const rss0 = rssMiB();
  let peak = rss0;
  const t0 = process.hrtime.bigint();
  const reader = CaptureReader.open(path);
  let frames = 0;
  let acc = 0;
  while (reader.next()) {
    const r = reader.record;
    acc += r.buffer[r.dataOffset] + r.caplen;
    if ((++frames & 0xfffff) === 0) peak = Math.max(peak, rssMiB());
  }
  reader.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  consume(acc);
  peak = Math.max(peak, rssMiB());
  return { frames, seconds, rssGrowthMiB: peak - rss0 };
}

function timeTcpdump(path: string): number | undefined {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('tcpdump', ['-n', '-r', path, '-w', '/dev/null'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) return undefined;
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function timeNodePcap(path: string): Promise<number | undefined> {
  let pcap: { createOfflineSession(p: string, o?: object): NodeJS.EventEmitter & { close(): void } };
  try {
    pcap = require('pcap');
  } catch {
    return undefined;
  }
  const t0 = process.hrtime.bigint();
  const session = pcap.createOfflineSession(path, {});
  let n = 0;
  session.on('packet', () => n++);
  await new Promise<void>((resolve) => session.once('complete', () => resolve()));
  session.close();
  consume(n);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function runPcapReadBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const rows: BenchRow[] = [];
  const targets: BenchTarget[] = [];
  const dir = mkdtempSync(join(os.tmpdir(), 'dataplane-bench-pcap-'));
  try {
    const growth: number[] = [];
    for (const mb of [64, 512]) {
      const path = join(dir, `imix-${mb}.pcap`);
      const { frames } = writeCapture(path, mb);
      const size = statSync(path).size;
      readFileSync(path); // warm the page cache so every reader sees the same cached file
      readAll(path); // warm-up run for the JIT
      const best = [readAll(path), readAll(path)].sort((a, b) => a.seconds - b.seconds)[0];
      const mbps = size / 1e6 / best.seconds;
      growth.push(best.rssGrowthMiB);
      rows.push({
        name: `pcap-read/imix-${mb}MB`,
        subject: 'dataplane CaptureReader',
        value: mbps,
        unit: 'MB/s',
        nsPerOp: (best.seconds * 1e9) / frames,
        notes: `${frames} frames, ${(frames / best.seconds / 1e6).toFixed(1)} Mpps, RSS +${best.rssGrowthMiB.toFixed(1)} MiB`,
      });
      const td = timeTcpdump(path);
      rows.push(
        td === undefined
          ? { name: `pcap-read/imix-${mb}MB`, subject: 'tcpdump -r -w /dev/null', value: NaN, unit: 'MB/s', notes: 'tcpdump not installed' }
          : { name: `pcap-read/imix-${mb}MB`, subject: 'tcpdump -r -w /dev/null', value: size / 1e6 / td, unit: 'MB/s', nsPerOp: (td * 1e9) / frames, notes: `dataplane = ${(td / best.seconds).toFixed(2)}x (incl. process start)` },
      );
      const np = await timeNodePcap(path);
      rows.push(
        np === undefined
          ? { name: `pcap-read/imix-${mb}MB`, subject: 'node_pcap offline', value: NaN, unit: 'MB/s', notes: 'pcap not installed' }
          : { name: `pcap-read/imix-${mb}MB`, subject: 'node_pcap offline', value: size / 1e6 / np, unit: 'MB/s', nsPerOp: (np * 1e9) / frames, notes: `dataplane = ${(np / best.seconds).toFixed(1)}x` },
      );
      if (mb === 512) targets.push({ description: 'pcap read >= 1 GB/s from page cache', met: mbps >= 1000, measured: `${mbps.toFixed(0)} MB/s` });
      rmSync(path);
    }
    targets.push({
      description: 'pcap read memory flat in file size (64 MB vs 512 MB file)',
      met: growth[1] - growth[0] < 16,
      measured: `RSS growth ${growth[0].toFixed(1)} MiB vs ${growth[1].toFixed(1)} MiB`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, targets };
}
