// The run loop's input and output for the pipeline benchmark: the same
// frames every round (one view per frame, made once, so feeding the batch
// allocates nothing), and an output that counts what it is given.
import type { RxSource, TxSink } from '../../src/io/port.js';
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

export class CountingOutput implements TxSink {
  frames = 0;

  tx(_batch: Batch, _slots: Uint16Array, count: number): number {
    this.frames += count;
    return count;
  }
}
