// Running one packet through a Router for an explain: the frame goes into
// slot 0 of a batch of its own, marked TRACED, so the graph records every
// verdict any node gives it (and whatever it becomes: an ICMP error, the
// fragments); then one Router.process(), as a worker runs a batch. What
// comes out is kept as the trace keeps it, plus every frame the graph
// handed to a port and the counters that moved.
//
// The router must be one nobody else uses (explain builds a fresh one over
// fresh or copied tables): processing a packet is what changes tables and
// counters, so explain's promise of no side effect is kept by what the
// router is built over, not here.
import { Batch, DEFAULT_SLOT_BYTES, HEADROOM, PacketFlag } from '../pipeline/batch.js';
import type { Router } from '../pipeline/router.js';
import { TraceField } from '../pipeline/trace-recorder.js';

export interface ExplainRun {
  /** The verdict records of the packet (TraceField layout), in order. */
  records: Int32Array;
  /** Frames handed to ports, in order; `traced`: the packet or what it became (else the router's own, e.g. an ARP request). */
  sent: { port: number; bytes: Uint8Array; traced: boolean }[];
  /** Counters that moved: packets by name. */
  counters: Record<string, number>;
}

/** Room past the frame for what the pipeline may put in front of it (a tunnel's outer headers). */
const SLOT_SPARE = 64;

/** A batch whose slots hold a frame of `frameBytes` (the router must be built with its capacity and maxFrame). */
export function explainBatch(frameBytes: number): Batch {
  const need = frameBytes + HEADROOM + SLOT_SPARE;
  const slotBytes = Math.max(DEFAULT_SLOT_BYTES, Math.ceil(need / 64) * 64);
  // A 64 KB datagram out of a 576-byte MTU is ~120 fragments: room for all of them.
  return new Batch({ rxCapacity: 1, generatedCapacity: 256, slotBytes });
}

/** Runs `frame` in on port `inPort` through `router` once and collects what happened to it. */
export function runExplainPacket(router: Router, batch: Batch, frame: Uint8Array, inPort: number, nowMs: number): ExplainRun {
  batch.reset();
  const slot = batch.pushFrame(frame, 0, frame.length, inPort, Math.floor(nowMs / 1000), (nowMs % 1000) * 1e6);
  if (slot < 0) throw new RangeError(`explain: a ${frame.length}-byte frame does not fit the batch's ${batch.maxFrame}-byte slots`);
  batch.markTraced(slot, 1);
  router.process(batch);
  const g = router.graph;
  const W = TraceField.WORDS;
  const records = g.trace.records.slice(0, g.trace.count * W);
  const sent: ExplainRun['sent'] = [];
  for (let k = 0; k < g.outputCount; k++) {
    const s = g.output[k];
    sent.push({ port: batch.txPort[s], bytes: batch.bytes(s).slice(), traced: (batch.flags[s] & PacketFlag.TRACED) !== 0 });
  }
  const counters: Record<string, number> = {};
  for (const [name, v] of Object.entries(router.counters.nonZero())) counters[name] = v.packets;
  return { records, sent, counters };
}
