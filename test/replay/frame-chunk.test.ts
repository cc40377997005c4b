// The blocks a shard of a parallel replay writes (ChunkWriter) are the bytes
// PcapngWriter writes for the same frames, and the main thread's merge
// (ChunkMerger) puts the shards' blocks of a batch in time order, ties to the
// lower shard, batch after batch: what a one-worker replay's writer writes.
import { describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { MemorySink, PcapngWriter } from '../../src/pcap/writer.js';
import { ChunkMerger, type OwningSink } from '../../src/replay/chunk-merge.js';
import { ChunkWriter } from '../../src/replay/frame-chunk.js';
import { FrameCopier } from '../../src/replay/frame-copier.js';

interface F {
  port: number;
  sec: number;
  nsec: number;
  bytes: Uint8Array;
}

const PORTS = ['lan', 'wan', 'dmz'].map((name) => ({ name, linkType: LINKTYPE_ETHERNET }));

function frame(i: number, len: number, port: number, sec: number, nsec: number): F {
  const bytes = new Uint8Array(len);
  for (let k = 0; k < len; k++) bytes[k] = (i * 31 + k * 7) & 0xff;
  return { port, sec, nsec, bytes };
}

/** What PcapngWriter writes for these frames, without its header blocks. */
function written(frames: F[]): Uint8Array {
  const header = new MemorySink();
  new PcapngWriter(header, { interfaces: PORTS, nanosecond: true }).close();
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { interfaces: PORTS, nanosecond: true });
  for (const f of frames) w.write(f.port, f.bytes, f.sec, f.nsec);
  w.close();
  return sink.bytes().subarray(header.bytes().length);
}

describe('ChunkWriter', () => {
  it('writes each frame as PcapngWriter does (lengths not a multiple of 4, seconds past 2^31, nanoseconds, every port)', () => {
    const frames = [
      frame(0, 60, 0, 1_700_000_000, 0),
      frame(1, 61, 1, 1_700_000_000, 999_999_999),
      frame(2, 1514, 2, 4_000_000_000, 123_456_789),
      frame(3, 63, 0, 65_536, 1),
      frame(4, 9018, 1, 0, 0),
      frame(5, 1, 2, 2_147_483_648, 500),
    ];
    // Frames at an offset of a bigger buffer, as the batch's arena holds them.
    const arena = new Uint8Array(20_000);
    const w = new ChunkWriter(64); // small, so it grows
    w.beginBatch();
    let at = 3;
    for (const f of frames) {
      arena.set(f.bytes, at);
      w.addFrame(arena, at, f.bytes.length, f.port, f.sec, f.nsec);
      at += f.bytes.length + 5;
    }
    const chunk = w.finish(true);
    expect(new Uint8Array(chunk.blocks, 0, chunk.blockBytes)).toEqual(written(frames));
    expect(Array.from(new Uint32Array(chunk.index, 0, 2))).toEqual([frames.length, chunk.blockBytes]);
    expect(chunk.last).toBe(true);
  });

  it('the frames\' bytes, copied in one native call per batch or one set() each (no addon), give the same blocks; a queued copy reads its source when flushed', () => {
    expect(new FrameCopier().native).toBe(true); // the addon is built here: the native path is the one tested above and below
    const frames = Array.from({ length: 40 }, (_, i) => frame(i, 1 + ((i * 97) % 1600), i % 3, 1_700_000_000 + i, i * 1000));
    const blocksOf = (copier: FrameCopier) => {
      const w = new ChunkWriter(256, copier); // small, so it grows between queued copies
      const arena = new Uint8Array(2048);
      const out: Uint8Array[] = [];
      for (let b = 0; b < frames.length; b += 8) {
        w.beginBatch();
        // The batch's frames in one arena, reused by the next batch: flushCopies() before it is overwritten.
        let at = 1;
        const batchFrames = frames.slice(b, b + 8);
        const arenaAt: number[] = [];
        for (const f of batchFrames) {
          if (at + f.bytes.length > arena.length) at = 1;
          arenaAt.push(at);
          at += f.bytes.length;
        }
        for (const [k, f] of batchFrames.entries()) {
          arena.set(f.bytes, arenaAt[k]);
          w.addFrame(arena, arenaAt[k], f.bytes.length, f.port, f.sec, f.nsec);
          // Frames that share arena bytes with a later one of the batch are written by then: flush first.
          if (batchFrames.slice(k + 1).some((g, j) => arenaAt[k + 1 + j] < arenaAt[k] + f.bytes.length && arenaAt[k + 1 + j] + g.bytes.length > arenaAt[k])) w.flushCopies();
        }
        w.flushCopies();
        arena.fill(0xee); // the next batch's frames land here
      }
      const c = w.finish(true);
      out.push(new Uint8Array(c.blocks, 0, c.blockBytes).slice());
      return out[0];
    };
    const native = blocksOf(new FrameCopier());
    expect(native).toEqual(written(frames));
    expect(blocksOf(new FrameCopier(null))).toEqual(native);

    // Copies between two buffer pairs: switching pairs does the first pair's copies.
    const c = new FrameCopier();
    const src1 = Uint8Array.from([1, 2, 3, 4]);
    const src2 = Uint8Array.from([9, 8, 7]);
    const dst = new Uint8Array(8);
    c.add(src1, 1, dst, 0, 3);
    src1[1] = 20; // not copied yet: the flush reads it
    c.add(src2, 0, dst, 4, 3); // another source: the first copy is done now
    src1[2] = 30; // too late
    c.flush();
    expect(Array.from(dst)).toEqual([20, 3, 4, 0, 9, 8, 7, 0]);
  });
});

describe('ChunkMerger', () => {
  it('merges the shards batch by batch, by timestamp, ties to the lower shard, and copies a run of one shard at once', () => {
    // Three batches: both shards (interleaved, with a tie and a run), only shard 1, none.
    const shard0 = [[frame(0, 60, 0, 10, 100), frame(1, 70, 0, 10, 300), frame(2, 80, 1, 10, 300), frame(3, 90, 0, 11, 0)], [], []];
    const shard1 = [[frame(4, 61, 1, 10, 200), frame(5, 62, 1, 10, 300), frame(6, 63, 2, 10, 400)], [frame(7, 1500, 1, 12, 5), frame(8, 64, 0, 12, 6)], []];
    const expected = [shard0[0][0], shard1[0][0], shard0[0][1], shard0[0][2], shard1[0][1], shard1[0][2], shard0[0][3], ...shard1[1]];
    const chunkOf = (batches: F[][]) => {
      const w = new ChunkWriter();
      for (const b of batches) {
        w.beginBatch();
        for (const f of b) w.addFrame(f.bytes, 0, f.bytes.length, f.port, f.sec, f.nsec);
      }
      return w.finish(false);
    };
    const sink = new MemorySink();
    const merger = new ChunkMerger(sink);
    merger.merge([chunkOf(shard0), chunkOf(shard1)], () => {});
    merger.flush();
    expect(sink.bytes()).toEqual(written(expected));
  });

  it('three shards, many batches, equal timestamps across shards: the order of a stable sort by timestamp, then shard', () => {
    // A run of one shard ends at the first block of any other shard that comes before it (or ties with it from a lower shard).
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const shards: F[][][] = [[], [], []];
    const expected: F[] = [];
    let id = 0;
    for (let b = 0; b < 40; b++) {
      const batch: { f: F; shard: number }[] = [];
      for (const [s, batches] of shards.entries()) {
        const frames: F[] = [];
        let ns = 0;
        for (let i = rnd(6); i > 0; i--) {
          ns += rnd(3) * 100; // repeats: ties within a shard and across shards
          const f = frame(id++, 40 + rnd(200), rnd(3), 20 + b, ns);
          frames.push(f);
          batch.push({ f, shard: s });
        }
        batches.push(frames);
      }
      batch.sort((x, y) => x.f.sec - y.f.sec || x.f.nsec - y.f.nsec || x.shard - y.shard);
      expected.push(...batch.map((x) => x.f));
    }
    const chunks = shards.map((batches) => {
      const w = new ChunkWriter();
      for (const b of batches) {
        w.beginBatch();
        for (const f of b) w.addFrame(f.bytes, 0, f.bytes.length, f.port, f.sec, f.nsec);
      }
      return w.finish(false);
    });
    const sink = new MemorySink();
    const merger = new ChunkMerger(sink);
    merger.merge(chunks, () => {});
    merger.flush();
    expect(expected.length).toBeGreaterThan(200);
    expect(sink.bytes()).toEqual(written(expected));
  });

  it('an owning sink (the file\'s) takes each full merge buffer as it is and gives it back; the merge goes on in another, and the bytes are the same', async () => {
    // Two shards interleaved frame by frame, 1500-byte frames: several of the merge's 4 MiB buffers.
    const shards: F[][][] = [[[]], [[]]];
    const expected: F[] = [];
    for (let i = 0; i < 8000; i++) {
      const f = frame(i, 1500 - (i % 4), i % 3, 100, i * 10);
      shards[i & 1][0].push(f);
      expected.push(f);
    }
    const chunks = shards.map((batches) => {
      const w = new ChunkWriter();
      for (const b of batches) {
        w.beginBatch();
        for (const f of b) w.addFrame(f.bytes, 0, f.bytes.length, f.port, f.sec, f.nsec);
      }
      return w.finish(false);
    });
    const taken: Uint8Array[] = [];
    const buffers = new Set<ArrayBufferLike>();
    const pendingDone: (() => void)[] = [];
    const out = new MemorySink();
    const owning: OwningSink = {
      write: (b) => out.write(b),
      writeOwned: (b, done) => {
        taken.push(Uint8Array.prototype.slice.call(b)); // a copy (Buffer.slice is a view): the buffer is filled again once given back
        buffers.add(b.buffer);
        pendingDone.push(done);
        // The first buffer is written and given back at once; the others later.
        if (taken.length === 1) pendingDone.shift()!();
      },
    };
    const merger = new ChunkMerger(owning);
    merger.merge(chunks, () => {});
    merger.flush();
    expect(taken.length).toBeGreaterThan(2);
    // The buffer given back was filled again; the ones still held were not.
    expect(buffers.size).toBe(taken.length - 1);
    const all = new Uint8Array(taken.reduce((n, t) => n + t.length, 0));
    let at = 0;
    for (const t of taken) {
      all.set(t, at);
      at += t.length;
    }
    expect(out.bytes().length).toBe(0);
    // Buffer.compare: toEqual on 12 MB walks it byte by byte.
    expect(Buffer.compare(all, written(expected))).toBe(0);
  });

  it('refuses chunks that do not cover the same batches', () => {
    const a = new ChunkWriter();
    a.beginBatch();
    const b = new ChunkWriter();
    b.beginBatch();
    b.beginBatch();
    expect(() => new ChunkMerger(new MemorySink()).merge([a.finish(false), b.finish(false)], () => {})).toThrow(/shards cut different batches \(2 vs 1\)/);
  });
});
