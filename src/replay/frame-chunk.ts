// The unit a parallel replay moves between threads: many frames in one
// ArrayBuffer, grouped by the run loop's batches, transferred (not copied)
// with postMessage. One message carries thousands of frames, never one.
//
//   batch:  u32 frames | u32 0 | f64 clock (ms: the replay clock when the batch runs)
//   frame:  u32 length | u32 port | f64 tsSec | u32 tsNsec | bytes
//
// The main thread writes one chunk per shard with the same batches in each
// (a shard's batch may be empty: its timers still run at that time); a
// worker answers with a chunk of what it sent, batch for batch, so the
// merge can put the shards' output back in capture order.

const BATCH_HEADER = 16;
const FRAME_HEADER = 20;

export class ChunkWriter {
  private buf: Uint8Array;
  private view: DataView;
  private used = 0;
  private batchAt = -1;
  private batchFrames = 0;
  batches = 0;
  frames = 0;

  constructor(private readonly initialBytes = 1 << 20) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  get bytes(): number {
    return this.used;
  }

  private room(n: number): void {
    if (this.used + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.used + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.used));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private closeBatch(): void {
    if (this.batchAt >= 0) this.view.setUint32(this.batchAt, this.batchFrames, true);
  }

  beginBatch(clockMs: number): void {
    this.closeBatch();
    this.room(BATCH_HEADER);
    this.batchAt = this.used;
    this.batchFrames = 0;
    this.view.setUint32(this.used + 4, 0, true);
    this.view.setFloat64(this.used + 8, clockMs, true);
    this.used += BATCH_HEADER;
    this.batches++;
  }

  addFrame(data: Uint8Array, off: number, len: number, port: number, tsSec: number, tsNsec: number): void {
    this.room(FRAME_HEADER + len);
    const v = this.view;
    const o = this.used;
    v.setUint32(o, len, true);
    v.setUint32(o + 4, port, true);
    v.setFloat64(o + 8, tsSec, true);
    v.setUint32(o + 16, tsNsec, true);
    this.buf.set(data.subarray(off, off + len), o + FRAME_HEADER);
    this.used += FRAME_HEADER + len;
    this.batchFrames++;
    this.frames++;
  }

  /** The chunk, trimmed to what was written (its own ArrayBuffer, ready to transfer); the writer starts afresh. */
  finish(): ArrayBuffer {
    this.closeBatch();
    const out = this.buf.buffer.slice(0, this.used) as ArrayBuffer;
    this.used = 0;
    this.batchAt = -1;
    this.batches = 0;
    this.frames = 0;
    if (this.buf.length > 4 * this.initialBytes) {
      this.buf = new Uint8Array(this.initialBytes);
      this.view = new DataView(this.buf.buffer);
    }
    return out;
  }
}

/** Reads a chunk: nextBatch(), then nextFrame() as many times as `frames`; fields describe the current frame. */
export class ChunkReader {
  readonly data: Uint8Array;
  private readonly view: DataView;
  private at = 0;
  frames = 0;
  clockMs = 0;
  length = 0;
  port = 0;
  tsSec = 0;
  tsNsec = 0;
  /** Offset of the current frame's bytes in `data`. */
  offset = 0;

  constructor(chunk: ArrayBuffer) {
    this.data = new Uint8Array(chunk);
    this.view = new DataView(chunk);
  }

  nextBatch(): boolean {
    if (this.at + BATCH_HEADER > this.data.length) return false;
    this.frames = this.view.getUint32(this.at, true);
    this.clockMs = this.view.getFloat64(this.at + 8, true);
    this.at += BATCH_HEADER;
    return true;
  }

  nextFrame(): void {
    const v = this.view;
    const o = this.at;
    this.length = v.getUint32(o, true);
    this.port = v.getUint32(o + 4, true);
    this.tsSec = v.getFloat64(o + 8, true);
    this.tsNsec = v.getUint32(o + 16, true);
    this.offset = o + FRAME_HEADER;
    this.at = this.offset + this.length;
  }
}
