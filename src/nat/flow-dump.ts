// Flows as the control plane sees them: listed with a filter (flow-filter.ts)
// and deleted, from the main thread, while the packet workers run.
//
// Reading: every id a worker has ever used is read with FlowTable.readRecord
// (one consistent snapshot per record; one that is being changed is
// skipped), and kept only if the index maps its original key to it (a
// record a failed insert wrote for a moment is not a flow).
//
// Deleting: only a flow's owner may end it (src/flow/README.md), so a
// deletion is a request naming the generation the flow was read with
// (FlowTable.requestEnd); the owner's next sweep pass ends the flow and
// releases what it held (NAT bindings, permits, its load-balancer backend)
// as for any expired flow. Until then its packets still match it (no new
// flow can take its keys while it is in the index), and no listing shows it.
// A request never reaches the flow that reuses the id: the owner acts on it
// only while the id's generation is the one it names. (A state CAS to DYING
// checked against the generation before and after, as this was first done,
// could land on that flow, and the owner's sweep end it before the CAS was
// undone: test/nat/flow-dump-race-reuse.test.ts.)
//
// Nothing keeps per-flow packet or byte counts, nor the time a flow began:
// a flow shows how long it has been idle and how long it has left.
import { FlowState, flowStateName } from '../conntrack/timeouts.js';
import { CAS_DONE, CLAIMED_STATE, FLAG_ASSURED, FLAG_SEEN_REPLY, Rec, type FlowTable } from '../flow/flow-table.js';
import { ipv4ToString } from '../wire/address.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { FlowUser, Zone, zoneOf } from './bindings.js';
import { FlowFields, NONE, type FlowFilter } from './flow-filter.js';
import type { NatPool } from './nat-tables.js';

/** What the dump reads: a main-thread view of the table, and what names its words. */
/**
 * What the dump reads of the load balancer's backend registry
 * (src/lb/lb-tables.ts LbTables, with its BACKEND_STATE_NAMES): a view, so
 * that nat/ does not import lb/, which builds on it.
 */
export interface BackendRegistryView {
  readonly backendCapacity: number;
  readonly backendAddress: ArrayLike<number>;
  readonly backendVip: ArrayLike<number>;
  readonly backendState: ArrayLike<number>;
  /** Names of the backendState values. */
  readonly stateNames: readonly string[];
}

export interface FlowSource {
  /** FlowTable.attach(buffers, -1) (any view works; nothing here writes but a state CAS). */
  table: FlowTable;
  /** The NAT's external addresses in pool order (nat-tables.ts), to name a mapping's rule. */
  pools?: readonly NatPool[];
  /** The load balancer's registry and VIP names, to name a flow's backend. */
  lb?: { tables: BackendRegistryView; vipNames: readonly string[] };
}

/** One direction of a flow as conntrack prints it. ICMP query flows: sport and dport are both the query id. */
export interface FlowTuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** A NAT mapping a flow uses. */
export interface BindingRef {
  internal: string;
  internalPort: number;
  external: string;
  externalPort: number;
}

export interface FlowEntry {
  /** Flow id (its record) and generation: together they name this flow and no later one. */
  id: number;
  generation: number;
  /** 'tcp', 'udp', 'icmp' or 'proto N'. */
  protocol: string;
  protocolNumber: number;
  /** The first packet's tuple as it arrived. */
  original: FlowTuple;
  /** The reply's tuple as it arrives (after translation): original and reply differ where NAT translates. */
  reply: FlowTuple;
  /** flowStateName: established, syn_sent, time_wait, udp_replied, icmp, lb_tcp, ... */
  state: string;
  /** A packet came back (SEEN_REPLY); assured: the flow is past its handshake (not set by this dataplane yet). */
  replied: boolean;
  assured: boolean;
  /** Since the flow's last packet. */
  idleMs: number;
  /** The state's idle timeout, and what is left of it; null: the state never expires. */
  timeoutMs: number | null;
  expiresInMs: number | null;
  /** The worker that made the flow and alone ends it. */
  worker: number;
  /** Source (destination) changed by translation. */
  snat: boolean;
  dnat: boolean;
  /** The NAT mapping of its source (SNAT, masquerade). */
  binding?: BindingRef;
  /** The NAT mapping it came in through (a reply-side host reaching an internal one, RFC 4787 REQ-8). */
  inboundBinding?: BindingRef;
  /** Load-balanced: its VIP, backend and the backend's state (active, draining, down, removed). */
  backend?: { vip: string; address: string; state: string };
}

export interface FlowList {
  /** At most `limit` flows, in id order. */
  flows: FlowEntry[];
  /** Flows that matched, listed or not. */
  matched: number;
  /** Matched beyond the limit: matched - flows.length. */
  omitted: number;
}

export interface FlowDeletion {
  /** Flows marked for their owner's sweep. */
  deleted: number;
  /** Flows that matched but changed under every attempt (still live; call again). */
  skipped: number;
}

const PROTO_NAMES: Record<number, string> = { [IPPROTO_ICMP]: 'icmp', [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp' };
const NEVER = 2 ** 31 - 1;
const STATE_MASK = 63;

export function protocolName(proto: number): string {
  return PROTO_NAMES[proto] ?? `proto ${proto}`;
}

/** A record as the scan sees it, with the filter's fields filled in. */
export class RecordView {
  readonly rec = new Int32Array(Rec.WORDS);
  readonly fields = new FlowFields();
  id = 0;
  /** The control plane asked to end this flow (FlowTable.requestEnd): deleted, waiting for its owner's sweep. */
  doomed = false;
}

/**
 * Calls `visit` for each live record of `zone` that readRecord could read
 * whole and the index maps its original key to (ids in order, worker by
 * worker). `visit` returns false to stop.
 */
export function scanZone(table: FlowTable, zone: number, view: RecordView, visit: (v: RecordView) => boolean): void {
  const ranges = table.usedRanges();
  const r = view.rec;
  for (let w = 0; w < ranges.length; w += 2) {
    for (let id = ranges[w]; id < ranges[w + 1]; id++) {
      if (!table.readRecord(id, r)) continue;
      if (zoneOf(r[Rec.KEY + 3]) !== zone || (r[Rec.STATE] & STATE_MASK) === CLAIMED_STATE) continue;
      if (table.lookup(r[Rec.KEY], r[Rec.KEY + 1], r[Rec.KEY + 2], r[Rec.KEY + 3]) !== id << 1) continue;
      view.id = id;
      view.doomed = table.isDoomedGeneration(id, r[Rec.GEN]);
      if (!visit(view)) return;
    }
  }
}

/** Fills the filter's fields of a flow record. */
function flowFields(src: FlowSource, v: RecordView): FlowFields {
  const r = v.rec;
  const f = v.fields;
  f.kind = 'flow';
  const proto = r[Rec.KEY + 3] & 0xff;
  f.proto = proto;
  const ports = proto === IPPROTO_TCP || proto === IPPROTO_UDP;
  for (let d = 0; d < 2; d++) {
    const t = d === 0 ? f.orig : f.reply;
    const k = Rec.KEY + (d << 2);
    t[0] = r[k] >>> 0;
    t[1] = r[k + 1] >>> 0;
    t[2] = ports ? r[k + 2] >>> 16 : NONE;
    t[3] = ports ? r[k + 2] & 0xffff : NONE;
  }
  f.state = r[Rec.STATE] & STATE_MASK;
  f.replied = (r[Rec.FLAGS] & FLAG_SEEN_REPLY) !== 0;
  f.worker = (r[Rec.FLAGS] >>> 8) & 0xff;
  const dest = r[Rec.USER + FlowUser.DESTINATION_BINDING];
  f.vip = undefined;
  f.backend = NONE;
  if (dest < 0 && src.lb !== undefined) {
    const b = -dest - 1;
    const t = src.lb.tables;
    if (b < t.backendCapacity) {
      f.backend = t.backendAddress[b] >>> 0;
      f.vip = src.lb.vipNames[t.backendVip[b]];
    }
  }
  return f;
}

function tuple(r: Int32Array, dir: number): FlowTuple {
  const k = Rec.KEY + (dir << 2);
  return { src: ipv4ToString(r[k] >>> 0), dst: ipv4ToString(r[k + 1] >>> 0), sport: r[k + 2] >>> 16, dport: r[k + 2] & 0xffff };
}

/** The mapping `id`, read whole, or undefined (it ended meanwhile). */
function bindingRef(table: FlowTable, id: number, scratch: Int32Array): BindingRef | undefined {
  if (id < 0 || id >= table.capacity || !table.readRecord(id, scratch) || zoneOf(scratch[Rec.KEY + 3]) !== Zone.BINDING) return undefined;
  return {
    internal: ipv4ToString(scratch[Rec.KEY] >>> 0),
    internalPort: scratch[Rec.KEY + 2] >>> 16,
    external: ipv4ToString(scratch[Rec.KEY + 5] >>> 0),
    externalPort: scratch[Rec.KEY + 6] & 0xffff,
  };
}

/** Idle time, timeout and time left of a record at `nowMs`. */
export function timing(table: FlowTable, r: Int32Array, nowMs: number): { idleMs: number; timeoutMs: number | null; expiresInMs: number | null } {
  const idleMs = Math.max(0, (table.tick(nowMs) - r[Rec.LAST]) | 0);
  const t = table.timeoutMs(r[Rec.STATE] & STATE_MASK);
  if (t >= NEVER) return { idleMs, timeoutMs: null, expiresInMs: null };
  return { idleMs, timeoutMs: t, expiresInMs: Math.max(0, t - idleMs) };
}

function flowEntry(src: FlowSource, v: RecordView, nowMs: number, scratch: Int32Array): FlowEntry {
  const r = v.rec;
  const f = v.fields;
  const proto = f.proto;
  const e: FlowEntry = {
    id: v.id,
    generation: r[Rec.GEN],
    protocol: protocolName(proto),
    protocolNumber: proto,
    original: tuple(r, 0),
    reply: tuple(r, 1),
    state: flowStateName(f.state),
    replied: f.replied,
    assured: (r[Rec.FLAGS] & FLAG_ASSURED) !== 0,
    ...timing(src.table, r, nowMs),
    worker: f.worker,
    snat: r[Rec.KEY] !== r[Rec.KEY + 5] || r[Rec.KEY + 2] >>> 16 !== (r[Rec.KEY + 6] & 0xffff),
    // An ICMP query's id stands in both port halves, so a source NAT's new id
    // shows on the destination side too: for ICMP only the address tells DNAT.
    dnat: r[Rec.KEY + 1] !== r[Rec.KEY + 4] || (proto !== IPPROTO_ICMP && (r[Rec.KEY + 2] & 0xffff) !== r[Rec.KEY + 6] >>> 16),
  };
  const source = bindingRef(src.table, r[Rec.USER + FlowUser.SOURCE_BINDING] - 1, scratch);
  if (source !== undefined) e.binding = source;
  const dest = r[Rec.USER + FlowUser.DESTINATION_BINDING];
  const inbound = dest > 0 ? bindingRef(src.table, dest - 1, scratch) : undefined;
  if (inbound !== undefined) e.inboundBinding = inbound;
  if (f.backend !== NONE) {
    const b = -dest - 1;
    e.backend = { vip: f.vip ?? `vip ${src.lb!.tables.backendVip[b]}`, address: ipv4ToString(f.backend), state: src.lb!.tables.stateNames[src.lb!.tables.backendState[b]] ?? 'unknown' };
  }
  return e;
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number >= 0 (got ${limit})`);
}

/** Live flows matching `filter` (a 'flow' filter), at most `limit` of them, and how many matched. */
export function listFlows(src: FlowSource, filter: FlowFilter, limit: number, nowMs: number): FlowList {
  if (filter.kind !== 'flow') throw new TypeError('listFlows takes a flow filter (parseFlowFilter(text, "flow"))');
  checkLimit(limit);
  const flows: FlowEntry[] = [];
  const scratch = new Int32Array(Rec.WORDS);
  let matched = 0;
  scanZone(src.table, Zone.FLOW, new RecordView(), (v) => {
    if (v.doomed || (v.rec[Rec.STATE] & STATE_MASK) === FlowState.DYING) return true; // deleted, waiting for its owner
    if (!filter.matches(flowFields(src, v))) return true;
    matched++;
    if (flows.length < limit) flows.push(flowEntry(src, v, nowMs, scratch));
    return true;
  });
  return { flows, matched, omitted: matched - flows.length };
}

/** markDying results. */
export const MARKED = 1;
/** The flow ended, or was already deleted, meanwhile. */
export const GONE = 0;
/** (No longer returned: a request cannot lose to a packet. Kept for callers that count it.) */
export const BUSY = -1;

/**
 * Asks the owner of one flow (as read into `rec`) to end it: MARKED, or
 * GONE when it had ended or been deleted already.
 */
export function markDying(table: FlowTable, id: number, rec: Int32Array): number {
  const gen = rec[Rec.GEN];
  if (table.isDoomedGeneration(id, gen)) return GONE;
  const s = table.state(id) & STATE_MASK;
  if (s === FlowState.DYING || s === CLAIMED_STATE) return GONE;
  return table.requestEnd(id, gen) === CAS_DONE ? MARKED : GONE;
}

/** Marks every live flow matching `filter` for its owner's sweep (see the header). */
export function deleteFlows(src: FlowSource, filter: FlowFilter): FlowDeletion {
  if (filter.kind !== 'flow') throw new TypeError('deleteFlows takes a flow filter (parseFlowFilter(text, "flow"))');
  let deleted = 0;
  let skipped = 0;
  scanZone(src.table, Zone.FLOW, new RecordView(), (v) => {
    if (v.doomed || (v.rec[Rec.STATE] & STATE_MASK) === FlowState.DYING || !filter.matches(flowFields(src, v))) return true;
    const r = markDying(src.table, v.id, v.rec);
    if (r === MARKED) deleted++;
    else if (r === BUSY) skipped++;
    return true;
  });
  return { deleted, skipped };
}
