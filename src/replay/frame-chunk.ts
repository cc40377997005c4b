// The unit a parallel replay moves from a shard to the main thread: what the
// shard's router sent during some batches, already as pcapng Enhanced Packet
// Blocks (the bytes PcapngWriter writes for them, nanosecond resolution, no
// options), plus an index of frames and bytes per batch. Both are
// transferred with postMessage, not copied, and the main thread merges the
// shards' blocks straight into OUT without decoding a frame (chunk-merge.ts).
//
//   blocks: EPB EPB EPB ...                  (each batch's in time order)
//   index:  u32 frames | u32 bytes, per batch (every batch, empty ones too)
//
// Every shard cuts its chunks after the same batches (parallel-replay.ts), so
// chunk c of every shard covers the same batches and the merge lines them up.
import { BLOCK_EPB } from '../pcap/pcapng.js';
import type { ByteSink } from '../pcap/writer.js';
import { FrameCopier } from './frame-copier.js';

/** PcapngWriter's default snaplen, which replay's output interfaces use: a longer frame is cut to it. */
const SNAPLEN = 262144;
const EPB_OVERHEAD = 32;

/** A chunk as posted: the buffers and how much of each is used. */
export interface FrameChunk {
  blocks: ArrayBuffer;
  blockBytes: number;
  index: ArrayBuffer;
  batches: number;
  /** The capture's last chunk. */
  last: boolean;
}

export class ChunkWriter {
  private buf: Uint8Array;
  private view: DataView;
  private used = 0;
  private index: Uint32Array;
  private batchCount = 0;
  private batchStart = 0;
  /** The frames' bytes, copied a batch at a time (flushCopies), not one set() of a new view each. */
  private readonly copier: FrameCopier;

  constructor(
    private readonly initialBytes = 1 << 20,
    copier?: FrameCopier,
  ) {
    this.copier = copier ?? new FrameCopier();
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
    this.index = new Uint32Array(1024);
  }

  get batches(): number {
    return this.batchCount;
  }

  private room(n: number): void {
    if (this.used + n <= this.buf.length) return;
    // The queued copies write into the buffer being replaced.
    this.copier.flush();
    let size = this.buf.length * 2;
    while (size < this.used + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.used));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Starts the next batch's entry in the index (call once per batch, before its frames). */
  beginBatch(): void {
    if (this.batchCount * 2 + 2 > this.index.length) {
      const grown = new Uint32Array(this.index.length * 2);
      grown.set(this.index);
      this.index = grown;
    }
    this.index[this.batchCount * 2] = 0;
    this.index[this.batchCount * 2 + 1] = 0;
    this.batchStart = this.used;
    this.batchCount++;
  }

  /**
   * Appends one frame as an EPB, byte for byte what PcapngWriter.write(port,
   * data, tsSec, tsNsec) writes in a nanosecond file. The frame's bytes are
   * copied at the next flushCopies() (or drainTo, finish): `data` must hold
   * them until then.
   */
  addFrame(data: Uint8Array, off: number, len: number, port: number, tsSec: number, tsNsec: number): void {
    const caplen = len > SNAPLEN ? SNAPLEN : len;
    const padded = (caplen + 3) & ~3;
    const blockLen = EPB_OVERHEAD + padded + 4;
    this.room(blockLen);
    const v = this.view;
    const o = this.used;
    // ticks = tsSec * 1e9 + tsNsec in two 32-bit halves without BigInt, as PcapngWriter splits them.
    const sHi = Math.floor(tsSec / 65536);
    const sLo = tsSec & 0xffff;
    const a = sLo * 1e9 + tsNsec;
    const bProd = sHi * 1e9;
    const bHigh = Math.floor(bProd / 65536);
    const c = (bProd - bHigh * 65536) * 65536 + a;
    const cHigh = Math.floor(c / 4294967296);
    v.setUint32(o, BLOCK_EPB, true);
    v.setUint32(o + 4, blockLen, true);
    v.setUint32(o + 8, port, true);
    v.setUint32(o + 12, bHigh + cHigh, true);
    v.setUint32(o + 16, c - cHigh * 4294967296, true);
    v.setUint32(o + 20, caplen, true);
    v.setUint32(o + 24, len, true);
    // The padding (the last data word's bytes past caplen) and the empty options word are zero; the copy, queued, writes
    // the data bytes over the first part of that last word and nothing past caplen.
    if (padded !== caplen) v.setUint32(o + 28 + padded - 4, 0, true);
    this.copier.add(data, off, this.buf, o + 28, caplen);
    v.setUint32(o + 28 + padded, 0, true);
    v.setUint32(o + 28 + padded + 4, blockLen, true);
    this.used = o + blockLen;
    // Without batches (a one-worker replay's output, drained to its file) there is no index to keep.
    if (this.batchCount === 0) return;
    const i = (this.batchCount - 1) * 2;
    this.index[i]++;
    this.index[i + 1] = this.used - this.batchStart;
  }

  /**
   * Does the frame copies addFrame queued: call it before the frames' source
   * (the batch's arena) is used again. drainTo() and finish() do it too.
   */
  flushCopies(): void {
    this.copier.flush();
  }

  /** Bytes of blocks written since the last finish() or drainTo(). */
  get bytes(): number {
    return this.used;
  }

  /** Writes the blocks so far to `sink` and starts again in the same buffer (a one-worker replay: no batches, no index). */
  drainTo(sink: ByteSink): void {
    this.copier.flush();
    if (this.used > 0) sink.write(this.buf.subarray(0, this.used));
    this.used = 0;
    this.batchCount = 0;
    this.batchStart = 0;
  }

  /**
   * The chunk, ready to transfer; the writer starts afresh, in `reuse` when
   * given (a buffer the main thread sent back), else in a new buffer the
   * size of the last one, so a steady stream does not grow it again.
   */
  finish(last: boolean, reuse?: { blocks: ArrayBuffer; index: ArrayBuffer }): FrameChunk {
    this.copier.flush();
    const chunk: FrameChunk = { blocks: this.buf.buffer as ArrayBuffer, blockBytes: this.used, index: this.index.buffer as ArrayBuffer, batches: this.batchCount, last };
    const size = Math.max(this.initialBytes, this.buf.length);
    this.buf = reuse !== undefined && reuse.blocks.byteLength >= size ? new Uint8Array(reuse.blocks) : new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
    this.index = reuse !== undefined && reuse.index.byteLength >= this.index.byteLength ? new Uint32Array(reuse.index) : new Uint32Array(this.index.length);
    this.used = 0;
    this.batchCount = 0;
    this.batchStart = 0;
    return chunk;
  }
}
