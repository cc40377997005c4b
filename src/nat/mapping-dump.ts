// NAT mappings (bindings: an internal endpoint and the external address and
// port it is mapped to, bindings.ts) as the control plane sees them: listed
// with a filter and deleted from the main thread while the workers run.
//
// A mapping is held by its flows (refs.ts): while any holds it, ending it
// would free its port under them, and their later unhold would reach
// whatever entry reused its id. So a deletion does it in the owner's order:
//
//   1. the mapping is doomed (refs.ts `doom`: a request its owner carries
//      out, FlowTable.requestEnd), so it takes no new holds (a new flow of
//      the internal endpoint is dropped as busy, as when the mapping is
//      ending anyway, and binds anew once it has ended);
//   2. every flow holding it is deleted (flow-dump.ts);
//   3. each owner's sweep ends those flows, whose unholds bring the
//      mapping's count to 0, and the mapping's owner's sweep then ends it
//      and frees its port.
//
// A flow that took its hold just before step 1 but was not yet in the table
// when step 2 looked is found by looking again (a mapping with more holders
// than flows found); one that still escapes keeps the mapping until it ends
// by its own timeout, and the mapping ends then, not a binding timeout later.
import { FlowState, flowStateName } from '../conntrack/timeouts.js';
import { Rec } from '../flow/flow-table.js';
import { ipv4ToString } from '../wire/address.js';
import { FlowUser, Zone } from './bindings.js';
import { FlowFields, NONE, type FlowFilter } from './flow-filter.js';
import { BUSY, GONE, markDying, MARKED, protocolName, RecordView, scanZone, timing, type FlowSource } from './flow-dump.js';
import { POOL_PROTOCOLS } from './nat-tables.js';
import { doom } from './refs.js';

export interface NatMappingEntry {
  /** Entry id and generation. */
  id: number;
  generation: number;
  protocol: string;
  protocolNumber: number;
  internal: string;
  /** Internal port, or ICMP query id. */
  internalPort: number;
  external: string;
  externalPort: number;
  /** The config rule that made it: 'masquerade[0]', 'snat[1]' ('' when unknown). */
  rule: string;
  /** Flows holding it now. */
  flows: number;
  /** 'held' (some flow uses it: never expires) or 'unheld' (expires after the binding timeout). */
  state: string;
  idleMs: number;
  timeoutMs: number | null;
  expiresInMs: number | null;
  /** The worker that made it (its port is from that worker's range) and alone ends it. */
  worker: number;
}

export interface NatMappingList {
  mappings: NatMappingEntry[];
  matched: number;
  omitted: number;
}

export interface NatMappingDeletion {
  /** Mappings doomed: each ends once the flows holding it have. */
  deleted: number;
  /** Flows holding them, marked for their owners' sweeps. */
  flows: number;
  /** Mappings or flows that changed under every attempt (still live; call again). */
  skipped: number;
}

const STATE_MASK = 63;
const STATE_BITS = 6;
/** Binding user word 0: its port allocator's slot (bindings.ts B_POOL). */
const B_POOL = 0;
/** Scans for late holders of a doomed mapping (see the header). */
const PASSES = 3;

function mappingFields(v: RecordView): FlowFields {
  const r = v.rec;
  const f = v.fields;
  f.kind = 'mapping';
  const proto = r[Rec.KEY + 3] & 0xff;
  f.proto = proto;
  f.orig[0] = r[Rec.KEY] >>> 0;
  f.orig[1] = NONE;
  f.orig[2] = r[Rec.KEY + 2] >>> 16;
  f.orig[3] = NONE;
  f.reply[0] = NONE;
  f.reply[1] = r[Rec.KEY + 5] >>> 0;
  f.reply[2] = NONE;
  f.reply[3] = r[Rec.KEY + 6] & 0xffff;
  f.state = r[Rec.STATE] & STATE_MASK;
  f.replied = true;
  f.worker = (r[Rec.FLAGS] >>> 8) & 0xff;
  f.vip = undefined;
  f.backend = NONE;
  return f;
}

/** The state word of a live mapping (not deleted, not ending). */
function liveState(s: number): boolean {
  const st = s & STATE_MASK;
  return st === FlowState.HELD || st === FlowState.UNHELD;
}

function live(v: RecordView): boolean {
  return !v.doomed && liveState(v.rec[Rec.STATE]);
}

function entry(src: FlowSource, v: RecordView, nowMs: number): NatMappingEntry {
  const r = v.rec;
  const proto = r[Rec.KEY + 3] & 0xff;
  const pool = Math.floor(r[Rec.USER + B_POOL] / POOL_PROTOCOLS.length);
  return {
    id: v.id,
    generation: r[Rec.GEN],
    protocol: protocolName(proto),
    protocolNumber: proto,
    internal: ipv4ToString(r[Rec.KEY] >>> 0),
    internalPort: r[Rec.KEY + 2] >>> 16,
    external: ipv4ToString(r[Rec.KEY + 5] >>> 0),
    externalPort: r[Rec.KEY + 6] & 0xffff,
    rule: src.pools?.[pool]?.rule ?? '',
    flows: r[Rec.STATE] >>> STATE_BITS,
    state: flowStateName(r[Rec.STATE] & STATE_MASK),
    ...timing(src.table, r, nowMs),
    worker: (r[Rec.FLAGS] >>> 8) & 0xff,
  };
}

/** Live NAT mappings matching `filter` (a 'mapping' filter), at most `limit`, and how many matched. */
export function listNatMappings(src: FlowSource, filter: FlowFilter, limit: number, nowMs: number): NatMappingList {
  if (filter.kind !== 'mapping') throw new TypeError('listNatMappings takes a mapping filter (parseFlowFilter(text, "mapping"))');
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number >= 0 (got ${limit})`);
  const mappings: NatMappingEntry[] = [];
  let matched = 0;
  scanZone(src.table, Zone.BINDING, new RecordView(), (v) => {
    if (!live(v) || !filter.matches(mappingFields(v))) return true;
    matched++;
    if (mappings.length < limit) mappings.push(entry(src, v, nowMs));
    return true;
  });
  return { mappings, matched, omitted: matched - mappings.length };
}

/** Deletes the NAT mappings matching `filter` and the flows that hold them (see the header). */
export function deleteNatMappings(src: FlowSource, filter: FlowFilter): NatMappingDeletion {
  if (filter.kind !== 'mapping') throw new TypeError('deleteNatMappings takes a mapping filter (parseFlowFilter(text, "mapping"))');
  const t = src.table;
  let skipped = 0;
  const doomed: number[] = [];
  scanZone(t, Zone.BINDING, new RecordView(), (v) => {
    if (!live(v) || !filter.matches(mappingFields(v))) return true;
    if (doom(t, v.id, v.rec[Rec.GEN])) doomed.push(v.id);
    else if (t.generation(v.id) === v.rec[Rec.GEN] && !t.isDoomed(v.id) && liveState(t.state(v.id))) skipped++; // not ended, not deleted by another call: it moved under every attempt
    return true;
  });
  let flows = 0;
  let pending = new Set(doomed);
  for (let pass = 0; pass < PASSES && pending.size > 0; pass++) {
    /** Pending mapping id -> flows found holding it (marked now or before). */
    const found = new Map<number, number>();
    const last = pass === PASSES - 1;
    scanZone(t, Zone.FLOW, new RecordView(), (v) => {
      const r = v.rec;
      const source = r[Rec.USER + FlowUser.SOURCE_BINDING] - 1;
      const dest = r[Rec.USER + FlowUser.DESTINATION_BINDING] - 1;
      if (!pending.has(source) && !pending.has(dest)) return true;
      const dying = v.doomed || (r[Rec.STATE] & STATE_MASK) === FlowState.DYING;
      const m = dying ? GONE : markDying(t, v.id, r);
      if (m === MARKED) flows++;
      else if (m === BUSY && last) skipped++;
      if (m !== MARKED && !dying) return true; // ended meanwhile (its hold went with it), or still busy
      for (const b of source === dest ? [source] : [source, dest]) if (pending.has(b)) found.set(b, (found.get(b) ?? 0) + 1);
      return true;
    });
    // Look again only for mappings with more holders than flows found: a flow between its hold and its insert.
    pending = new Set([...pending].filter((id) => {
      const s = t.state(id);
      return t.isDoomed(id) && (s & STATE_MASK) === FlowState.HELD && s >>> STATE_BITS > (found.get(id) ?? 0);
    }));
  }
  return { deleted: doomed.length, flows, skipped };
}
