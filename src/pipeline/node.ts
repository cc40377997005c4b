// A pipeline node, in the style of VPP graph nodes and Click elements: a
// name, the next nodes it may send packets to, the drop reasons it declares,
// and process(), which handles a whole vector of packets at once.
//
// A node never throws for a bad packet: it calls drop() with one of its
// declared reasons, which counts the packet and frees its slot. It sends a
// packet on with enqueue(next, slot), `next` being the index of a name in
// its `next` list (resolved to a graph node once, when the graph is built).
import type { Batch } from './batch.js';
import type { Counters } from './counters.js';

export interface DropReason {
  /** kebab-case, unique within the node: "ttl-expired". */
  name: string;
  description: string;
}

/** What process() uses to move packets on; implemented by the graph. */
export interface Dispatch {
  /** Sends `slot` to this node's next node number `next`. */
  enqueue(node: PipelineNode, next: number, slot: number): void;
  /**
   * Sends vec[0, n) to next node `next` at once. A node collects the packets
   * of its usual path by compacting them to the front of its own input
   * vector (vec[w++] = slot; w never passes the read index) and hands them
   * over at the end: when the next node has nothing pending the graph just
   * swaps the two vectors, so the common path costs no per-packet enqueue.
   */
  enqueueMany(node: PipelineNode, next: number, vec: Uint16Array, n: number): void;
  /** Counts `slot` as dropped by `node` for its reason number `reason`, and frees it. */
  drop(node: PipelineNode, reason: number, slot: number): void;
  /**
   * Counts `slot` against `node`'s reason `reason` but keeps it: the packet
   * is dropped as far as forwarding goes and travels on to become an ICMP
   * error (icmp-error rewrites it in place).
   */
  countDrop(node: PipelineNode, reason: number, slot: number): void;
  /** Frees `slot` without counting a drop (the node counted what happened itself). */
  free(slot: number): void;
  readonly counters: Counters;
}

export abstract class PipelineNode {
  /** Unique name: "ip4-input". */
  abstract readonly name: string;
  /** Names of the nodes this node may send to; indexes into this list are its `next` numbers. */
  abstract readonly next: readonly string[];
  /** Reasons this node may drop a packet for; indexes into this list are its reason numbers. */
  abstract readonly drops: readonly DropReason[];

  /** Set by the graph: global node id for each `next` entry. */
  nextIds: Int32Array = new Int32Array(0);
  /** Set by the graph: counter index of drop reason 0 (reason r is dropBase + r). */
  dropBase = 0;
  /** Set by the graph: counter index of "<name>/packets" (packets this node processed). */
  processedCounter = 0;
  /** Set by the graph: this node's id. */
  id = -1;

  /** Extra counters a node wants ("arp/requests-sent"); registered when the graph is built. */
  extraCounters(): readonly DropReason[] {
    return [];
  }

  /** Called once when the graph is built, after ids and counters are assigned. */
  attach(_counterIndex: (name: string) => number): void {}

  /** Processes slots vec[0, count). Each slot must be enqueued or dropped exactly once. */
  abstract process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void;
}
