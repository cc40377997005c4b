// The run loop's input and output for the pipeline benchmark: the same
// frames every round, and an output that counts what it is given.
//
// Two feeds, so the benchmark can say what the feed costs: `RepeatInput`
// copies each frame with batch.pushView (a TypedArray.prototype.set per
// frame, one view per frame made once: it allocates nothing), and
// `NativeRepeatInput` sets up the slots' metadata in JavaScript (Batch.initSlots) and copies
// the whole burst in one native call (copyFrames, native/src/frame-copy.cc),
// as a live port's receive burst does.
import type { RxSource, TxSink } from '../../src/io/port.js';
import type { NativeIo } from '../../src/io/native.js';
import type { Batch } from '../../src/pipeline/batch.js';

export class RepeatInput implements RxSource {
  constructor(
    readonly index: number,
    private readonly views: readonly Uint8Array[],
  ) {}

  rx(batch: Batch): number {
    const views = this.views;
    const n = Math.min(views.length, batch.rxCapacity - batch.rxCount);
    for (let i = 0; i < n; i++) batch.pushView(views[i], this.index, 0, 0);
    return n;
  }
}

type CopyFrames = NonNullable<NativeIo['copyFrames']>;

export class NativeRepeatInput implements RxSource {
  private readonly offsets: Uint32Array;
  private readonly lengths: Uint32Array;
  private readonly longest: number;

  /** Frames are src[offsets[k], + lengths[k]); `copy` is the addon's copyFrames. */
  constructor(
    readonly index: number,
    private readonly src: Uint8Array,
    offsets: ArrayLike<number>,
    lengths: ArrayLike<number>,
    private readonly copy: CopyFrames,
  ) {
    this.offsets = Uint32Array.from(offsets);
    this.lengths = Uint32Array.from(lengths);
    this.longest = this.lengths.reduce((m, x) => Math.max(m, x), 0);
  }

  rx(batch: Batch): number {
    const first = batch.rxCount;
    const lengths = this.lengths;
    const n = Math.min(lengths.length, batch.rxCapacity - first);
    if (this.longest > batch.maxFrame) throw new RangeError(`a frame of ${this.longest} bytes is larger than a slot`);
    // The slots' metadata a column at a time, as a live port's burst can (Batch.initSlots).
    batch.initSlots(first, n, lengths, this.index);
    this.copy(batch.arena, batch.start, first, this.src, this.offsets, lengths, n);
    batch.rxCount = first + n;
    return n;
  }
}

export class CountingOutput implements TxSink {
  frames = 0;

  tx(_batch: Batch, _slots: Uint16Array, count: number): number {
    this.frames += count;
    return count;
  }
}
