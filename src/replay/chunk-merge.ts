// The main thread's share of a parallel replay: the shards' chunks of the
// same batches (frame-chunk.ts), merged into OUT. Within a batch each
// shard's blocks are already in time order, so a batch is a k-way merge by
// timestamp, ties to the lower shard: each flow (one flow, one shard) keeps
// its order and the file is the same on every run, byte for byte the one a
// one-worker replay writes.
//
// It decodes nothing but an EPB's timestamp and length and copies runs of
// blocks: a batch that only one shard sent frames in is one copy, and a run
// of a shard's frames between two of another's is one copy too. Copies go
// into one large buffer, handed to the sink when full (few, large writes):
// an owning sink (the file's) takes it as it is and gives it back once
// written, so the merged bytes are copied once here and once by the kernel.
// A run larger than the buffer is written from where it is. Nothing is
// allocated per frame. When one shard alone sent every frame of the chunk's batches, its
// chunk goes to the sink as it is, with no copy here (writeOwned: the
// file's write(2) reads it where the shard wrote it), and its buffers are
// released only once it is written.
import type { ByteSink } from '../pcap/writer.js';
import type { FrameChunk } from './frame-chunk.js';

/** A sink that can take a buffer as it is and say when it no longer needs it (background-sink.ts). */
export interface OwningSink extends ByteSink {
  writeOwned(bytes: Uint8Array, done: () => void): void;
}

/**
 * The merge's output buffers (and the background writer's, parallel-replay.ts):
 * small, so merged bytes are still in the CPU's cache when write(2) copies
 * them into the page cache.
 */
export const MERGE_BUFFER_BYTES = 512 << 10;
const OUT_BYTES = MERGE_BUFFER_BYTES;
/** Runs shorter than this are copied word by word: Buffer.copy's fixed cost is larger than a short loop's. */
const SHORT_RUN = 128;

interface Cursor {
  bytes: Buffer;
  /** The same bytes as 32-bit words: blocks are 4-byte aligned and whole words long. */
  words: Int32Array;
  view: DataView;
  index: Uint32Array;
  /** Offset of the current batch's first block not yet copied, and the end of the batch's blocks. */
  at: number;
  end: number;
}

export class ChunkMerger {
  private out: Buffer = Buffer.allocUnsafeSlow(OUT_BYTES);
  private outWords = new Int32Array(this.out.buffer, this.out.byteOffset, OUT_BYTES >> 2);
  private used = 0;
  /** Output buffers the owning sink has written and given back, to fill again. */
  private readonly spare: Buffer[] = [];
  private readonly cursors: Cursor[] = [];
  private readonly active: number[] = [];

  private readonly owning: OwningSink | undefined;

  constructor(private readonly sink: ByteSink) {
    this.owning = 'writeOwned' in sink ? (sink as OwningSink) : undefined;
  }

  private copy(c: Cursor, from: number, to: number): void {
    const n = to - from;
    if (n === 0) return;
    if (this.used + n > OUT_BYTES) this.flush();
    if (n > OUT_BYTES >> 1) {
      this.sink.write(c.bytes.subarray(from, to));
      return;
    }
    if (n < SHORT_RUN) {
      const w = this.outWords;
      const src = c.words;
      for (let i = from >> 2, o = this.used >> 2, end = to >> 2; i < end; i++, o++) w[o] = src[i];
    } else this.out.set(c.bytes.subarray(from, to), this.used);
    this.used += n;
  }

  /**
   * Hands what is buffered to the sink. An owning sink takes the buffer as
   * it is and gives it back once written, and the merge goes on in another:
   * the merged bytes are not copied again into the sink's own buffer (that
   * second copy of the whole output was about half the merge's time).
   */
  flush(): void {
    if (this.used === 0) return;
    const owning = this.owning;
    if (owning === undefined) {
      this.sink.write(this.out.subarray(0, this.used));
      this.used = 0;
      return;
    }
    const full = this.out;
    const spare = this.spare;
    owning.writeOwned(full.subarray(0, this.used), () => spare.push(full));
    this.out = spare.pop() ?? Buffer.allocUnsafeSlow(OUT_BYTES);
    this.outWords = new Int32Array(this.out.buffer, this.out.byteOffset, OUT_BYTES >> 2);
    this.used = 0;
  }

  /**
   * Merges chunk c of every shard (all covering the same batches) into the
   * output; release(s) says when shard s's chunk may be filled again (at
   * once, or when the sink has written it).
   */
  merge(chunks: readonly FrameChunk[], release: (shard: number) => void): void {
    const owned = this.mergeChunks(chunks, release);
    for (let s = 0; s < chunks.length; s++) if (s !== owned) release(s);
  }

  /** The merge itself; returns the shard whose chunk the sink took as it is (released by the sink), or -1. */
  private mergeChunks(chunks: readonly FrameChunk[], release: (shard: number) => void): number {
    const cursors = this.cursors;
    cursors.length = 0;
    for (const k of chunks) {
      cursors.push({ bytes: Buffer.from(k.blocks, 0, k.blockBytes), words: new Int32Array(k.blocks, 0, k.blockBytes >> 2), view: new DataView(k.blocks, 0, k.blockBytes), index: new Uint32Array(k.index, 0, k.batches * 2), at: 0, end: 0 });
    }
    const batches = chunks[0].batches;
    for (const k of chunks) if (k.batches !== batches) throw new Error(`parallel replay: shards cut different batches (${k.batches} vs ${batches})`);
    // One shard sent everything in these batches (the main thread routes no flows, or one flow): its blocks as they are, in one write.
    let senders = 0;
    let only = 0;
    for (let s = 0; s < chunks.length; s++) {
      if (chunks[s].blockBytes > 0) {
        senders++;
        only = s;
      }
    }
    if (senders <= 1) {
      if (senders === 1) {
        this.flush();
        if (this.owning !== undefined) {
          this.owning.writeOwned(cursors[only].bytes, () => release(only));
          return only;
        }
        this.sink.write(cursors[only].bytes);
      }
      return -1;
    }
    const active = this.active;
    for (let b = 0; b < batches; b++) {
      active.length = 0;
      for (let s = 0; s < cursors.length; s++) {
        const c = cursors[s];
        c.end = c.at + c.index[b * 2 + 1];
        if (c.index[b * 2] > 0) active.push(s);
      }
      if (active.length === 1) {
        const c = cursors[active[0]];
        this.copy(c, c.at, c.end);
        c.at = c.end;
      } else if (active.length > 1) this.mergeBatch();
    }
    return -1;
  }

  /**
   * One batch's blocks from the active shards, by timestamp, ties to the
   * lower shard, copied a run at a time. Each round finds the earliest head
   * and the earliest of the others, then walks the first shard's blocks while
   * they still come first: a block costs one timestamp read, not a scan of
   * every shard.
   */
  private mergeBatch(): void {
    const cursors = this.cursors;
    const active = this.active;
    for (;;) {
      let best = -1;
      let bHi = 0;
      let bLo = 0;
      let next = -1;
      let nHi = 0;
      let nLo = 0;
      // Shards are in increasing order: a tie keeps the earlier (lower) one first.
      for (let i = 0; i < active.length; i++) {
        const s = active[i];
        const c = cursors[s];
        if (c.at >= c.end) continue;
        const hi = c.view.getUint32(c.at + 12, true);
        const lo = c.view.getUint32(c.at + 16, true);
        if (best < 0 || hi < bHi || (hi === bHi && lo < bLo)) {
          next = best;
          nHi = bHi;
          nLo = bLo;
          best = s;
          bHi = hi;
          bLo = lo;
        } else if (next < 0 || hi < nHi || (hi === nHi && lo < nLo)) {
          next = s;
          nHi = hi;
          nLo = lo;
        }
      }
      if (best < 0) return;
      const c = cursors[best];
      const start = c.at;
      if (next < 0) {
        // The others are done: the rest of this shard's batch in one copy.
        this.copy(c, start, c.end);
        c.at = c.end;
        return;
      }
      const v = c.view;
      const end = c.end;
      let at = start;
      for (;;) {
        at += v.getUint32(at + 4, true);
        if (at >= end) break;
        const hi = v.getUint32(at + 12, true);
        const lo = v.getUint32(at + 16, true);
        if (hi > nHi || (hi === nHi && (lo > nLo || (lo === nLo && best > next)))) break;
      }
      this.copy(c, start, at);
      c.at = at;
    }
  }
}
