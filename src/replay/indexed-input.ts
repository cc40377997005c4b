// A shard's input in a parallel replay: the batches the main thread cut, as
// its frame index says (frame-index.ts), with only this shard's frames, read
// at their positions in the capture. No parsing and no flow keying here: the
// main thread did both once for every shard.
//
// The frame bytes come from the capture itself: a file read forward in large
// windows (one read(2) per MiB; the frames of the other shards in a window are
// read too, which costs less than a system call per frame), or the capture's
// bytes in shared memory when it was given in memory.
import { closeSync, openSync, readSync } from 'node:fs';
import type { RxSource } from '../io/port.js';
import { MAX_BATCH, type Batch } from '../pipeline/batch.js';
import type { ManualClock } from '../pipeline/clock.js';
import { FrameCopier } from './frame-copier.js';
import { BATCH_WORDS, FRAME_WORDS, IndexChunkReader } from './frame-index.js';

/** Where a shard finds a frame's bytes. */
export interface FrameBytes {
  /**
   * Makes the bytes at [position, position + len) readable; returns their
   * offset in `buffer`. Copies `pending` has queued from `buffer` are done
   * first when the bytes it holds change.
   */
  at(position: number, len: number, pending?: FrameCopier): number;
  readonly buffer: Uint8Array;
  close(): void;
}

/** The capture in memory (a SharedArrayBuffer the main thread filled once). */
export class MemoryFrames implements FrameBytes {
  constructor(readonly buffer: Uint8Array) {}
  at(position: number, len: number, _pending?: FrameCopier): number {
    if (position + len > this.buffer.length) throw new Error(`parallel replay: frame at ${position} (+${len}) is past the capture's ${this.buffer.length} bytes`);
    return position;
  }
  close(): void {}
}

const WINDOW_BYTES = 1 << 20;

/** A capture file read forward in windows; positions only grow, as the index gives them. */
export class FileFrames implements FrameBytes {
  buffer = new Uint8Array(WINDOW_BYTES);
  private fd: number;
  /** File offset of buffer[0], and the bytes of the file the buffer holds. */
  private base = 0;
  private held = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
  }

  at(position: number, len: number, pending?: FrameCopier): number {
    if (position >= this.base && position + len <= this.base + this.held) return position - this.base;
    pending?.flush();
    if (len > this.buffer.length) {
      let size = this.buffer.length * 2;
      while (size < len) size *= 2;
      this.buffer = new Uint8Array(size);
    }
    this.base = position;
    this.held = 0;
    while (this.held < len) {
      const got = readSync(this.fd, this.buffer, this.held, this.buffer.length - this.held, position + this.held);
      if (got === 0) throw new Error(`parallel replay: the capture ends before the frame at byte ${position} (+${len}): was it changed during the replay?`);
      this.held += got;
    }
    return 0;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export class IndexedInput implements RxSource {
  /** Frames come in on the port the index names, set per frame. */
  readonly index = -1;
  /** The index chunk being replayed: load() the next when chunkDone. */
  readonly chunk = new IndexChunkReader();
  /** A batch's frames copied into its slots in one native call (frame-copier.ts). */
  private readonly copier = new FrameCopier();

  constructor(
    private readonly bytes: FrameBytes,
    private readonly clock: ManualClock,
  ) {}

  /** True when the current chunk's batches are all taken. */
  get chunkDone(): boolean {
    return this.chunk.done;
  }

  rx(batch: Batch, _max: number = MAX_BATCH): number {
    const ix = this.chunk;
    if (ix.done) return 0;
    const b = ix.batch++ * BATCH_WORDS;
    const batches = ix.batches;
    const mine = batches[b];
    const frames = ix.frames;
    const bytes = this.bytes;
    const copier = this.copier;
    for (let i = 0; i < mine; i++) {
      const o = ix.frame++ * FRAME_WORDS;
      const caplen = frames[o + 2];
      const at = bytes.at(frames[o] + frames[o + 1] * 4294967296, caplen, copier);
      // Batch.pushFrame's slot set-up, its bytes queued (the main thread only indexed frames that fit).
      if (batch.rxCount >= batch.rxCapacity || caplen > batch.maxFrame) continue;
      const s = batch.rxCount++;
      batch.initSlot(s, caplen, frames[o + 3], frames[o + 4], frames[o + 5]);
      copier.add(bytes.buffer, at, batch.arena, batch.start[s], caplen);
    }
    copier.flush();
    // The clock where a one-worker replay's input left it after this batch's frames (all shards').
    const clockMs = batches[b + 2];
    if (clockMs === clockMs) this.clock.set(clockMs);
    return batches[b + 1];
  }
}
