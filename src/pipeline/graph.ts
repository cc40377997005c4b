// The graph: a set of nodes wired by name, one vector of pending slots per
// node, and a scheduler that runs every node with pending packets until all
// vectors are empty. Nodes run in the order they were added (the order of
// the packet path), so a batch usually crosses the graph in one pass; a
// packet sent back to an earlier node (an ICMP error going to ip4-lookup) is
// picked up by the next pass.
//
// Packets that reach the output sink wait in `output` for the port layer to
// transmit them; `outputCount` says how many.
import { Fate, PacketFlag, type Batch } from './batch.js';
import { MAX_PORTS } from './ports.js';
import { CounterRegistry, Counters } from './counters.js';
import { OUTPUT, type Dispatch, type PipelineNode } from './node.js';
import { TraceField, TraceRecorder, Verdict } from './trace-recorder.js';

export class Graph implements Dispatch {
  readonly nodes: PipelineNode[] = [];
  readonly registry = new CounterRegistry();
  counters!: Counters;
  /** Slots ready to transmit, in order; batch.txPort says where. */
  readonly output: Uint16Array;
  outputCount = 0;
  /** Bytes of output[0, outputCount) once run() is done (the port layer reuses the sum). */
  outputBytes = 0;
  /** Once run() is done: the txPort of every output slot when they share one, else -1 (none, or several). */
  outputPort = -1;
  /**
   * What became of received packets, by the port they arrived on:
   * fateByRxPort[port * Fate.COUNT + fate]. Each received packet is counted
   * once (PacketFlag.ACCOUNTED) as dropped, delivered to the router or
   * queued for ARP; the rest left the router, so per port forwarded =
   * received - dropped - delivered - queued (the FORWARDED entry stays 0:
   * the common path counts nothing per packet).
   */
  readonly fateByRxPort = new Float64Array(MAX_PORTS * Fate.COUNT);

  /** Verdicts about traced packets in the current batch. */
  readonly trace = new TraceRecorder();
  /** The current batch holds traced packets. */
  private tracing = false;
  private readonly byName = new Map<string, number>();
  private vectors: Uint16Array[] = [];
  /** The slots 0..capacity-1 (made with the vectors), and firstSlots()'s views of them: [n] holds 0..n-1. */
  private slotIds = new Uint16Array(0);
  private readonly slotRuns: Uint16Array[] = [];
  private pending!: Int32Array;
  private built = false;
  private outputId = -1;
  private outputCounter = 0;

  constructor(readonly capacity: number) {
    this.output = new Uint16Array(capacity);
  }

  add(node: PipelineNode): this {
    if (this.built) throw new Error('graph already built');
    if (this.byName.has(node.name) || node.name === OUTPUT) throw new Error(`duplicate node name '${node.name}'`);
    this.byName.set(node.name, this.nodes.length);
    this.nodes.push(node);
    return this;
  }

  /**
   * Sends what node `from` sends to its next `key` to node `to` instead: how
   * an optional feature (connection tracking, NAT) is spliced into an edge
   * of the packet path without the nodes on either side knowing. `to` must
   * lead on to the edge's old target itself. Before build().
   */
  redirect(from: string, key: string, to: string): this {
    if (this.built) throw new Error('graph already built');
    const node = this.node(from);
    const i = Object.keys(node.spec.next).indexOf(key);
    if (i < 0) throw new Error(`node '${from}' has no next '${key}' (it has: ${Object.keys(node.spec.next).join(', ')})`);
    this.redirects.set(`${from}\0${i}`, to);
    return this;
  }

  private readonly redirects = new Map<string, string>();

  node(name: string): PipelineNode {
    const id = this.byName.get(name);
    if (id === undefined) throw new Error(`no node named '${name}'`);
    return this.nodes[id];
  }

  /**
   * Resolves next-node names, registers counters and allocates vectors.
   * `counterBuffer` lets a worker count into shared memory.
   */
  build(counterBuffer?: (bytes: number) => ArrayBufferLike): this {
    this.outputId = this.nodes.length;
    this.outputCounter = this.registry.register(`${OUTPUT}/packets`, 'packets handed to a port for transmission');
    const nodeCounters: number[][] = [];
    for (let id = 0; id < this.nodes.length; id++) {
      const n = this.nodes[id];
      n.id = id;
      n.nextIds = new Int32Array(n.nextNames.length);
      n.nextNames = n.nextNames.map((declared, i) => this.redirects.get(`${n.name}\0${i}`) ?? declared);
      n.nextNames.forEach((name, i) => {
        const target = name === OUTPUT ? this.outputId : this.byName.get(name);
        if (target === undefined) {
          if (this.redirects.has(`${n.name}\0${i}`)) throw new Error(`node '${n.name}': next '${Object.keys(n.spec.next)[i]}' is redirected to '${name}', which is not in the graph`);
          throw new Error(`node '${n.name}' declares next node '${name}', which is not in the graph`);
        }
        if (target === id) throw new Error(`node '${n.name}' may not send to itself`);
        n.nextIds[i] = target;
      });
      n.processedCounter = this.registry.register(`${n.name}/packets`, `packets processed by ${n.name}`);
      n.dropBase = this.registry.size;
      const seen = new Set<string>(['packets']);
      const claim = (name: string) => {
        if (seen.has(name)) throw new Error(`node '${n.name}' declares counter '${name}' twice`);
        seen.add(name);
        return this.registry.register(`${n.name}/${name}`, '');
      };
      n.drops.forEach((r, i) => {
        const index = claim(r.name);
        if (index !== n.dropBase + i) throw new Error(`node '${n.name}': counter '${r.name}' was registered before the graph was built`);
        this.registry.describe(index, r.description, 'drop');
      });
      nodeCounters.push(
        n.counterInfos.map((c) => {
          const index = claim(c.name);
          this.registry.describe(index, c.description);
          return index;
        }),
      );
    }
    for (let id = 0; id < this.nodes.length; id++) this.nodes[id].bindCounters((i) => nodeCounters[id][i]);
    this.counters = new Counters(this.registry, counterBuffer?.(Counters.byteLength(this.registry)));
    this.vectors = this.nodes.map(() => new Uint16Array(this.capacity));
    this.slotIds = Uint16Array.from({ length: this.capacity }, (_, i) => i);
    this.pending = new Int32Array(this.nodes.length);
    this.built = true;
    return this;
  }

  enqueue(node: PipelineNode, next: number, slot: number): void {
    if (this.tracing) this.traceOne(node, Verdict.NEXT, next, slot);
    const target = node.nextIds[next];
    if (target === this.outputId) {
      this.output[this.outputCount++] = slot;
      return;
    }
    this.vectors[target][this.pending[target]++] = slot;
  }

  enqueueMany(node: PipelineNode, next: number, vec: Uint16Array, n: number): void {
    if (n === 0) return;
    if (this.tracing) for (let i = 0; i < n; i++) this.traceOne(node, Verdict.NEXT, next, vec[i]);
    const target = node.nextIds[next];
    if (target === this.outputId) {
      const out = this.output;
      let oc = this.outputCount;
      for (let i = 0; i < n; i++) out[oc++] = vec[i];
      this.outputCount = oc;
      return;
    }
    const p = this.pending[target];
    const own = this.vectors[node.id];
    if (p === 0 && vec === own) {
      // Hand the whole vector over: the caller is done reading it.
      this.vectors[node.id] = this.vectors[target];
      this.vectors[target] = own;
      this.pending[target] = n;
      return;
    }
    const tv = this.vectors[target];
    for (let i = 0; i < n; i++) tv[p + i] = vec[i];
    this.pending[target] = p + n;
  }

  drop(node: PipelineNode, reason: number, slot: number): void {
    const b = this.currentBatch;
    if (this.tracing && (b.flags[slot] & PacketFlag.TRACED) !== 0) {
      this.traceRecord(node, Verdict.DROP, reason, slot);
      this.trace.snapshotDrop(b, slot, node.id, reason);
    }
    this.counters.add(node.dropBase + reason, b.length[slot]);
    this.account(slot, Fate.DROPPED);
    b.release(slot);
  }

  account(slot: number, fate: number): void {
    const f = this.currentBatch.flags;
    // The router's own packets, pieces of a counted packet, and packets counted already are not counted (again).
    if ((f[slot] & (PacketFlag.ACCOUNTED | PacketFlag.LOCAL_ORIGIN | PacketFlag.CHILD)) !== 0) return;
    f[slot] |= PacketFlag.ACCOUNTED;
    // Forwarded is what is left of the received packets once the others are counted (see run()).
    if (fate !== Fate.FORWARDED) this.fateByRxPort[this.currentBatch.rxPort[slot] * Fate.COUNT + fate]++;
  }

  countDrop(node: PipelineNode, reason: number, slot: number): void {
    const b = this.currentBatch;
    if (this.tracing) this.traceOne(node, Verdict.COUNT_DROP, reason, slot);
    this.counters.add(node.dropBase + reason, b.length[slot]);
    this.account(slot, Fate.DROPPED);
  }

  free(node: PipelineNode, slot: number, fate: number): void {
    if (this.tracing) this.traceOne(node, Verdict.CONSUMED, fate, slot);
    this.account(slot, fate);
    this.currentBatch.release(slot);
  }

  private currentBatch!: Batch;

  private traceOne(node: PipelineNode, verdict: number, index: number, slot: number): void {
    const b = this.currentBatch;
    if ((b.flags[slot] & PacketFlag.TRACED) !== 0) this.traceRecord(node, verdict, index, slot);
  }

  private traceRecord(node: PipelineNode, verdict: number, index: number, slot: number): void {
    const b = this.currentBatch;
    const at = this.trace.record(b, slot, node.id, verdict, index);
    node.traceNote(b.note[slot], this.trace.records, at + TraceField.NOTE_DETAIL);
  }

  /** Starts a batch: empties the output; timers may then enqueue packets they make before run(). */
  begin(batch: Batch): void {
    this.currentBatch = batch;
    this.outputCount = 0;
    this.outputBytes = 0;
    this.outputPort = -1;
    this.tracing = batch.traced !== 0;
    if (this.tracing) this.trace.begin();
  }

  /** A vector of the slots 0..n-1 (n <= capacity), its view made on first use for each n (a loop writing them cost ~1 ns a packet). */
  private firstSlots(n: number): Uint16Array {
    return (this.slotRuns[n] ??= this.slotIds.subarray(0, n));
  }

  /**
   * Runs the batch's received packets (slots [0, rxCount)) from node
   * `entryId`, plus anything enqueued since begin(), until every vector is
   * empty. Afterwards output[0, outputCount) are the packets to transmit.
   */
  run(entryId: number): void {
    const batch = this.currentBatch;
    const pending = this.pending;
    const entry = this.vectors[entryId];
    const received = batch.rxCount;
    const p = pending[entryId];
    // Slots 0..received-1 (a batch's received slots are its first), copied in one call from a view made once.
    entry.set(this.firstSlots(received), p);
    pending[entryId] = p + received;
    const counters = this.counters;
    const v = counters.values;
    const nodes = this.nodes;
    const vectors = this.vectors;
    let busy = true;
    while (busy) {
      busy = false;
      for (let id = 0; id < nodes.length; id++) {
        const count = pending[id];
        if (count === 0) continue;
        busy = true;
        pending[id] = 0;
        const node = nodes[id];
        v[2 * node.processedCounter] += count;
        node.process(batch, vectors[id], count, this);
      }
    }
    // What left counts once per batch; a received packet's fate "forwarded" is not counted here but
    // derived (received - dropped - to the router - queued), so the common path costs nothing per packet.
    // One pass for the bytes and for whether one port takes everything (the port layer then sends the vector as it is).
    let bytes = 0;
    let mixed = 0;
    const length = batch.length;
    const txPort = batch.txPort;
    const out = this.output;
    const n = this.outputCount;
    const port = n > 0 ? txPort[out[0]] : -1;
    for (let i = 0; i < n; i++) {
      const s = out[i];
      bytes += length[s];
      mixed |= txPort[s] ^ port;
    }
    this.outputBytes = bytes;
    this.outputPort = mixed === 0 ? port : -1;
    v[2 * this.outputCounter] += n;
    v[2 * this.outputCounter + 1] += bytes;
  }
}
