// A parallel replay's shard reads the whole capture and keeps only its own
// flows' frames (capture-input.ts, ShardFilter). Checked here, on a capture
// of many flows in both directions with ARP between them: every shard cuts
// the batches one worker cuts (rx returns the count of every shard's frames,
// and the clock follows every frame), the shards' batches together hold each
// frame exactly once, and what has no flow key goes to the one shard told
// to take it (shard 1 when the main thread routes no flows, else shard 0).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { CaptureReader } from '../../src/pcap/reader.js';
import { PcapngWriter } from '../../src/pcap/writer.js';
import { Batch } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { CaptureInput, type ShardFilter } from '../../src/replay/capture-input.js';
import { arpFrame, tcpFrame } from '../pipeline/build.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-replay-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLIENT = '02:aa:00:00:00:01';
const LAN = '02:00:00:00:00:01';
const T0 = 1_700_000_000;
const ETHERTYPE_ARP = 0x0806;

/** 3000 frames: TCP between 60 address pairs, both directions, an ARP request every 50th; 3 us apart, so batches fill. */
function capture(): Uint8Array {
  const path = join(dir, 'flows.pcapng');
  const w = new PcapngWriter(path, { interfaces: [{ name: 'lan', linkType: LINKTYPE_ETHERNET }], nanosecond: true });
  for (let i = 0; i < 3000; i++) {
    const host = `192.0.2.${10 + (i % 60)}`;
    const server = `198.51.100.${1 + (i % 7)}`;
    let bytes: Uint8Array;
    if (i % 50 === 0) bytes = arpFrame(1, CLIENT, host, '00:00:00:00:00:00', '192.0.2.1');
    else if (i % 2 === 0) bytes = tcpFrame({ src: host, dst: server, srcMac: CLIENT, dstMac: LAN }, 40000 + (i % 60), 80, 0x10, 0, i);
    else bytes = tcpFrame({ src: server, dst: host, srcMac: LAN, dstMac: CLIENT }, 80, 40000 + (i % 60), 0x10, 0, i);
    const ns = i * 3000;
    w.write(0, bytes, T0 + Math.floor(ns / 1e9), ns % 1e9);
  }
  w.close();
  return readFileSync(path);
}

interface Read {
  /** rx's return per batch. */
  counts: number[];
  /** The clock after each batch. */
  clocks: number[];
  /** Each frame kept, as its bytes in hex, per batch. */
  kept: string[][];
}

function readAll(bytes: Uint8Array, filter?: ShardFilter, reader = CaptureReader.fromBytes(bytes)): Read {
  const clock = new ManualClock();
  const input = new CaptureInput(reader, () => 0, 1, clock, undefined, filter);
  const batch = new Batch();
  const out: Read = { counts: [], clocks: [], kept: [] };
  while (!input.done) {
    batch.reset();
    out.counts.push(input.rx(batch));
    out.clocks.push(clock.nowMs());
    const kept: string[] = [];
    for (let s = 0; s < batch.rxCount; s++) kept.push(Buffer.from(batch.arena.subarray(batch.start[s], batch.start[s] + batch.length[s])).toString('hex'));
    out.kept.push(kept);
  }
  reader.close();
  return out;
}

describe('capture input from a file', () => {
  // A batch's frames are copied from the reader's window in one call at the end of rx() (frame-copier.ts): each
  // copy must be done before the window reads on (its bytes move to the front) or grows (a record bigger than it).
  for (const chunkSize of [256, 4096]) {
    it(`a ${chunkSize}-byte read window that moves and grows in the middle of every batch: the frames the in-memory read gives`, () => {
      const bytes = capture();
      const path = join(dir, `window-${chunkSize}.pcapng`);
      writeFileSync(path, bytes);
      const fromFile = readAll(bytes, undefined, CaptureReader.open(path, { chunkSize }));
      const inMemory = readAll(bytes);
      expect(fromFile.counts).toEqual(inMemory.counts);
      expect(fromFile.kept.flat().length).toBe(3000);
      expect(fromFile.kept).toEqual(inMemory.kept);
    });
  }
});

describe('a shard\'s capture input', () => {
  // Built in the first test, not while the tests are collected (afterAll cleans up only after a collection that worked).
  let built: { bytes: Uint8Array; one: Read } | undefined;
  const input = () => {
    if (built === undefined) {
      const bytes = capture();
      built = { bytes, one: readAll(bytes) };
    }
    return built;
  };

  for (const [shards, mainShare] of [
    [2, 0],
    [3, 0],
    [3, 8],
  ] as const) {
    it(`${shards} shards, main share ${mainShare}: one worker's batches and clock in every shard, each frame in exactly one shard`, () => {
      const { bytes, one } = input();
      const keyless = mainShare > 0 ? 0 : 1;
      const reads = Array.from({ length: shards }, (_, shard) => readAll(bytes, { shard, shards, mainShare, keyless }));
      for (const r of reads) {
        expect(r.counts).toEqual(one.counts);
        expect(r.clocks).toEqual(one.clocks);
      }
      one.kept.forEach((frames, b) => {
        const together = reads.flatMap((r) => r.kept[b]);
        expect(together.sort(), `batch ${b}`).toEqual([...frames].sort());
      });
      reads.forEach((r, shard) => {
        const arp = r.kept.flat().filter((hex) => parseInt(hex.slice(24, 28), 16) === ETHERTYPE_ARP).length;
        expect(arp, `ARP frames on shard ${shard}`).toBe(shard === keyless ? 60 : 0);
      });
      if (mainShare === 0) expect(reads[0].kept.flat()).toEqual([]);
      // The flows are split, not all on one shard.
      for (let s = mainShare > 0 ? 0 : 1; s < shards; s++) expect(reads[s].kept.flat().length, `shard ${s}`).toBeGreaterThan(300);
    });
  }
});
