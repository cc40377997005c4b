// What the run loop asks of a tracer (PacketTracer is the one there is): the
// loop calls it around each batch while it is active.
import type { Batch } from '../pipeline/batch.js';

/** Watches a batch on its way through the loop (the packet trace). */
export interface LoopTracer {
  /** After receive, before the pipeline: picks and marks the packets to trace. */
  received(batch: Batch): void;
  /** After transmit: collects what happened to the marked packets. */
  finished(batch: Batch): void;
  /** True while the tracer still wants packets (cheap: checked once per batch). */
  readonly active: boolean;
}
