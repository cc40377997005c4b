// The frame index of a parallel replay: the main thread reads and parses the
// capture once, cuts the batches a one-worker replay cuts and keys every
// frame by flow (shard-key.ts); for each other shard it writes where that
// shard's frames are, per batch, instead of the shard parsing and keying
// the whole capture again. A shard reads only its frames' bytes, at the
// positions the index gives (indexed-input.ts).
//
//   frames:  u32 x FRAME_WORDS per frame of this shard, in capture order:
//            position low 32 bits | position high bits | caplen | port | tsSec | tsNsec
//   batches: f64 x BATCH_WORDS per batch (every batch, empty ones too):
//            this shard's frames | frames the batch took, all shards (rx's return) | clock ms (NaN: not set)
//
// A chunk of the index covers the batches of one output chunk (frame-chunk.ts):
// chunk c of the index goes to the shard, chunk c of its output comes back,
// and the buffers travel back and forth (transferred, not copied) so a steady
// stream allocates nothing.

export const FRAME_WORDS = 6;
export const BATCH_WORDS = 3;

/** A chunk of one shard's index as posted to it. */
export interface IndexChunk {
  frames: ArrayBuffer;
  frameCount: number;
  batches: ArrayBuffer;
  batchCount: number;
  /** The capture's last chunk. */
  last: boolean;
}

/** Buffers of an index chunk the shard has used, back for the next one. */
export interface IndexBuffers {
  frames: ArrayBuffer;
  batches: ArrayBuffer;
}

/** One shard's index, filled by the main thread a frame at a time. */
class ShardIndexWriter {
  frames: Uint32Array;
  frameCount = 0;
  batches: Float64Array;
  batchCount = 0;
  /** This shard's frames in the batch being cut. */
  inBatch = 0;

  constructor() {
    this.frames = new Uint32Array(FRAME_WORDS * 4096);
    this.batches = new Float64Array(BATCH_WORDS * 1024);
  }

  add(position: number, caplen: number, port: number, tsSec: number, tsNsec: number): void {
    let f = this.frames;
    const o = this.frameCount * FRAME_WORDS;
    if (o + FRAME_WORDS > f.length) {
      const grown = new Uint32Array(f.length * 2);
      grown.set(f);
      this.frames = f = grown;
    }
    const hi = Math.floor(position / 4294967296);
    f[o] = position - hi * 4294967296;
    f[o + 1] = hi;
    f[o + 2] = caplen;
    f[o + 3] = port;
    f[o + 4] = tsSec;
    f[o + 5] = tsNsec;
    this.frameCount++;
    this.inBatch++;
  }

  endBatch(taken: number, clockMs: number): void {
    let b = this.batches;
    const o = this.batchCount * BATCH_WORDS;
    if (o + BATCH_WORDS > b.length) {
      const grown = new Float64Array(b.length * 2);
      grown.set(b);
      this.batches = b = grown;
    }
    b[o] = this.inBatch;
    b[o + 1] = taken;
    b[o + 2] = clockMs;
    this.batchCount++;
    this.inBatch = 0;
  }

  finish(last: boolean, reuse: IndexBuffers | undefined): IndexChunk {
    const chunk: IndexChunk = { frames: this.frames.buffer as ArrayBuffer, frameCount: this.frameCount, batches: this.batches.buffer as ArrayBuffer, batchCount: this.batchCount, last };
    // The next chunk starts in buffers the shard sent back, when they are as large as these; else in new ones of this size.
    const frameWords = this.frames.length;
    const batchWords = this.batches.length;
    this.frames = reuse !== undefined && reuse.frames.byteLength >= frameWords * 4 ? new Uint32Array(reuse.frames) : new Uint32Array(frameWords);
    this.batches = reuse !== undefined && reuse.batches.byteLength >= batchWords * 8 ? new Float64Array(reuse.batches) : new Float64Array(batchWords);
    this.frameCount = 0;
    this.batchCount = 0;
    this.inBatch = 0;
    return chunk;
  }
}

/**
 * The index of every shard but the main thread's own (shard 0, whose frames
 * go straight into its batch): CaptureInput calls frame() for each frame of
 * shard s >= 1 and endBatch() at the end of each batch it cuts.
 */
export class FrameIndexWriter {
  /** Index 0 unused: shard 0 is the main thread's. */
  private readonly shards: ShardIndexWriter[] = [];

  constructor(
    readonly shardCount: number,
    /** Shard 0's weight in the split of flows (shard-key.ts). */
    readonly mainShare: number,
  ) {
    for (let s = 0; s < shardCount; s++) this.shards.push(new ShardIndexWriter());
  }

  frame(shard: number, position: number, caplen: number, port: number, tsSec: number, tsNsec: number): void {
    this.shards[shard].add(position, caplen, port, tsSec, tsNsec);
  }

  /** Ends the batch being cut in every shard's index: `taken` frames in it (all shards), the clock at `clockMs` (NaN: the batch did not set it). */
  endBatch(taken: number, clockMs: number): void {
    for (let s = 1; s < this.shardCount; s++) this.shards[s].endBatch(taken, clockMs);
  }

  /** Shard s's chunk, ready to transfer; its writer starts afresh (in `reuse`, buffers the shard sent back, when given). */
  finish(shard: number, last: boolean, reuse?: IndexBuffers): IndexChunk {
    return this.shards[shard].finish(last, reuse);
  }
}

/** Reads an index chunk batch by batch (a shard's side). */
export class IndexChunkReader {
  frames: Uint32Array = new Uint32Array(0);
  batches: Float64Array = new Float64Array(0);
  batchCount = 0;
  /** The next batch, and the next frame of this shard's. */
  batch = 0;
  frame = 0;
  last = false;

  load(chunk: IndexChunk): void {
    const frames = new Uint32Array(chunk.frames, 0, chunk.frameCount * FRAME_WORDS);
    const batches = new Float64Array(chunk.batches, 0, chunk.batchCount * BATCH_WORDS);
    // A chunk that does not add up is a bug, not bad input: say so rather than replay something else.
    let sum = 0;
    for (let b = 0; b < chunk.batchCount; b++) sum += batches[b * BATCH_WORDS];
    if (sum !== chunk.frameCount) throw new Error(`parallel replay: index chunk has ${chunk.frameCount} frames but its batches say ${sum}`);
    this.frames = frames;
    this.batches = batches;
    this.batchCount = chunk.batchCount;
    this.batch = 0;
    this.frame = 0;
    this.last = chunk.last;
  }

  get done(): boolean {
    return this.batch >= this.batchCount;
  }
}
