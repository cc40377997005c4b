// The run loop's tracer: picks received packets that match the filter, up
// to a budget shared by every worker, marks them TRACED, and once the batch
// has been sent collects, per packet, what came in, what went out or where
// it was dropped, and the verdict records the graph kept. It costs nothing
// when no --trace is given (there is no tracer), and once the budget is
// spent it reports itself inactive and the loop stops calling it.
import { PacketFlag, type Batch } from '../pipeline/batch.js';
import type { Graph } from '../pipeline/graph.js';
import { TraceField } from '../pipeline/trace-recorder.js';
import type { LoopTracer } from './loop-tracer.js';
import { FrameFields, type TraceFilter } from './filter.js';
import type { TracedPacket } from './traced-packet.js';

/** How many packets may still be traced, shared by the workers (Int32Array word 0: packets picked so far). */
export class TraceBudget {
  readonly picked: Int32Array;

  constructor(
    readonly limit: number,
    shared?: SharedArrayBuffer,
  ) {
    this.picked = new Int32Array(shared ?? new SharedArrayBuffer(4));
  }

  /** Claims the next trace id (1-based), or -1 when the budget is spent. */
  claim(): number {
    const n = Atomics.add(this.picked, 0, 1);
    return n < this.limit ? n + 1 : -1;
  }

  get spent(): boolean {
    return Atomics.load(this.picked, 0) >= this.limit;
  }
}

export class PacketTracer implements LoopTracer {
  private readonly fields = new FrameFields();
  private readonly inFlight = new Map<number, TracedPacket>();

  constructor(
    private readonly graph: Graph,
    private readonly filter: TraceFilter,
    private readonly budget: TraceBudget,
    private readonly emit: (p: TracedPacket) => void,
    private readonly worker = -1,
  ) {}

  get active(): boolean {
    return !this.budget.spent;
  }

  received(batch: Batch): void {
    const b = batch.arena;
    for (let s = 0; s < batch.rxCount; s++) {
      if (!this.filter.matches(this.fields.read(b, batch.start[s], batch.length[s], batch.rxPort[s]))) continue;
      const id = this.budget.claim();
      if (id < 0) return;
      batch.markTraced(s, id);
      this.inFlight.set(id, {
        id,
        worker: this.worker,
        inPort: batch.rxPort[s],
        tsSec: batch.tsSec[s],
        tsNsec: batch.tsNsec[s],
        inBytes: batch.bytes(s).slice(),
        records: new Int32Array(0),
        outs: [],
        drops: [],
      });
    }
  }

  finished(batch: Batch): void {
    if (this.inFlight.size === 0) return;
    const g = this.graph;
    const t = g.trace;
    const W = TraceField.WORDS;
    const byId = new Map<number, number[]>();
    for (let i = 0; i < t.count; i++) {
      const id = t.records[i * W + TraceField.TRACE_ID];
      let list = byId.get(id);
      if (list === undefined) byId.set(id, (list = []));
      list.push(i);
    }
    for (const [id, p] of this.inFlight) {
      const list = byId.get(id) ?? [];
      p.records = new Int32Array(list.length * W);
      list.forEach((i, k) => p.records.set(t.records.subarray(i * W, (i + 1) * W), k * W));
    }
    for (let k = 0; k < g.outputCount; k++) {
      const s = g.output[k];
      if ((batch.flags[s] & PacketFlag.TRACED) === 0) continue;
      this.inFlight.get(batch.traceId[s])?.outs.push({ port: batch.txPort[s], bytes: batch.bytes(s).slice() });
    }
    for (const d of t.drops) this.inFlight.get(d.traceId)?.drops.push({ node: d.node, reason: d.reason, bytes: d.bytes });
    for (const p of this.inFlight.values()) this.emit(p);
    this.inFlight.clear();
  }
}
