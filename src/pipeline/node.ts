// A pipeline node, in the style of VPP graph nodes and Click elements: a
// name, the next nodes it may send packets to, the drop reasons and counters
// it declares, and process(), which handles a whole vector of packets at once.
//
// Everything a node refers to by number comes from one declaration (VPP's
// foreach_*_error idea): the node's spec names its next nodes and reasons by
// key, and the numbers it uses (`this.next.rewrite`, `this.reason.noRoute`,
// `this.counter.echoReplies`) are derived from that spec, so there is no
// hand-kept list of constants that must match an array's order. Using a key
// the spec does not declare is a type error; declaring a next node the graph
// does not have, or a name twice, fails when the graph is built.
//
// A node never throws for a bad packet: it calls drop() with one of its
// declared reasons, which counts the packet and frees its slot.
import type { Batch } from './batch.js';
import type { Counters } from './counters.js';
import type { TraceDescribeContext, TraceRecordView } from './trace-recorder.js';

/**
 * Name of the graph's built-in sink: packets sent here leave by
 * batch.txPort[slot]. Here, not in graph.ts, so nodes name it without
 * importing the graph.
 */
export const OUTPUT = 'interface-output';

/** What a node declares: the next nodes by key, and its drop reasons and counters by key with a description. */
export interface NodeSpec {
  /** Unique name: "ip4-input". */
  readonly name: string;
  /** key -> name of a next node (or OUTPUT). Keys are camelCase: `icmpError: 'icmp-error'`. */
  readonly next: Readonly<Record<string, string>>;
  /** key -> description. The counter is "<node>/<kebab-case key>": `ttlExpired` counts as "ip4-rewrite/ttl-expired". */
  readonly drops: Readonly<Record<string, string>>;
  /** Counters that are not drops ("ip4-local/echo-replies"), named like drops. */
  readonly counters?: Readonly<Record<string, string>>;
}

/** Declares a node's spec, keeping its keys as literal types. */
export function defineNode<const S extends NodeSpec>(spec: S): S {
  return spec;
}

/** A number per key of a declaration. */
export type Numbered<T> = { readonly [K in keyof T]: number };

export interface DropReason {
  /** kebab-case, unique within the node: "ttl-expired". */
  name: string;
  description: string;
}

/** "ttlExpired" -> "ttl-expired". */
export function kebabCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** What process() uses to move packets on; implemented by the graph. */
export interface Dispatch {
  /** Sends `slot` to next node number `next` of `node` (a value of node.next). */
  enqueue(node: PipelineNode, next: number, slot: number): void;
  /**
   * Sends vec[0, n) to next node `next` at once. A node collects the packets
   * of its usual path by compacting them to the front of its own input
   * vector (vec[w++] = slot; w never passes the read index) and hands them
   * over at the end: when the next node has nothing pending the graph just
   * swaps the two vectors, so the common path costs no per-packet enqueue.
   */
  enqueueMany(node: PipelineNode, next: number, vec: Uint16Array, n: number): void;
  /** Counts `slot` as dropped by `node` for reason number `reason` (a value of node.reason), and frees it. */
  drop(node: PipelineNode, reason: number, slot: number): void;
  /**
   * Counts `slot` against `node`'s reason `reason` but keeps it: the packet
   * is dropped as far as forwarding goes and travels on to become an ICMP
   * error (icmp-error rewrites it in place).
   */
  countDrop(node: PipelineNode, reason: number, slot: number): void;
  /**
   * Frees `slot` without counting a drop: `node` consumed the packet (queued
   * it for ARP, replaced it by fragments or segments, or took it as a message
   * to the router) and counted what happened itself. `fate` (a Fate) is what
   * became of the received packet, for the per-port accounting.
   */
  free(node: PipelineNode, slot: number, fate: number): void;
  /**
   * Counts what became of the received packet in `slot` (a Fate) against its
   * rx port, once, when the slot lives on as something else: an echo request
   * turned into its reply in place is LOCAL. Drops, frees and the output
   * account for themselves.
   */
  account(slot: number, fate: number): void;
  readonly counters: Counters;
}

function numbered<T extends object>(declaration: T): Numbered<T> {
  const out: Record<string, number> = {};
  Object.keys(declaration).forEach((k, i) => (out[k] = i));
  return Object.freeze(out) as Numbered<T>;
}

export abstract class PipelineNode<S extends NodeSpec = NodeSpec> {
  readonly name: string;
  /** Next-node numbers by key, in declaration order: what enqueue() takes. */
  readonly next: Numbered<S['next']>;
  /** Drop-reason numbers by key, in declaration order: what drop() takes. */
  readonly reason: Numbered<S['drops']>;
  /** Counter indexes by key; filled in when the graph is built. */
  readonly counter: Numbered<NonNullable<S['counters']>>;
  /** Names of the next nodes, by next number (as the graph resolved them: a redirect replaces the declared one). */
  nextNames: readonly string[];
  /** Drop reasons, by reason number. */
  readonly drops: readonly DropReason[];
  /** Other counters this node keeps. */
  readonly counterInfos: readonly DropReason[];

  /** Set by the graph: global node id for each next number. */
  nextIds: Int32Array = new Int32Array(0);
  /** Set by the graph: counter index of drop reason 0 (reason r is dropBase + r). */
  dropBase = 0;
  /** Set by the graph: counter index of "<name>/packets" (packets this node processed). */
  processedCounter = 0;
  /** Set by the graph: this node's id. */
  id = -1;

  constructor(readonly spec: S) {
    this.name = spec.name;
    this.next = numbered(spec.next);
    this.reason = numbered(spec.drops);
    this.nextNames = Object.values(spec.next);
    this.drops = Object.entries(spec.drops).map(([k, description]) => ({ name: kebabCase(k), description }));
    this.counterInfos = Object.entries(spec.counters ?? {}).map(([k, description]) => ({ name: kebabCase(k), description }));
    this.counter = Object.fromEntries(Object.keys(spec.counters ?? {}).map((k) => [k, -1])) as Numbered<NonNullable<S['counters']>>;
  }

  /** Called by the graph once the counters are registered: `index(i)` is the counter of counterInfos[i]. */
  bindCounters(index: (i: number) => number): void {
    const c = this.counter as Record<string, number>;
    Object.keys(c).forEach((k, i) => (c[k] = index(i)));
    Object.freeze(c);
  }

  /**
   * What this node decided on, in words, for a trace record of one of its
   * verdicts (the route chosen, the ICMP error asked for); undefined when the
   * verdict says it all. Runs only when a trace is read, never per packet.
   */
  describeVerdict(_r: TraceRecordView, _ctx: TraceDescribeContext): string | undefined {
    return undefined;
  }

  /**
   * Fills out[at, at + NOTE_DETAIL_WORDS) of a trace record of one of this
   * node's verdicts with what its Batch.note means, in terms any thread can
   * read (the record is formatted on the main thread, the note may index a
   * worker's own table). Runs only for traced packets; leaves zeros by default.
   */
  traceNote(_note: number, _out: Int32Array, _at: number): void {}

  /** Processes slots vec[0, count). Each slot must be enqueued, dropped or consumed exactly once. */
  abstract process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void;
}
