// What must hold of a router after any batch, whatever came in: checks of the
// frames it sent and of the state it keeps, for tests that throw hostile
// traffic at it (mutated-traffic.property.test.ts). Each returns the
// problems it found as lines of text (empty: sound), so a property can report
// all of them with the batch that caused them.
import { auditIndex } from '../../src/flow/flow-index-audit.js';
import { FlowTable, Rec, STATE_BITS } from '../../src/flow/flow-table.js';
import { PortAllocator } from '../../src/flow/port-allocator.js';
import { FlowState } from '../../src/conntrack/timeouts.js';
import { FlowUser, Zone, zoneOf } from '../../src/nat/bindings.js';
import { describeFrame, tupleOf } from '../../src/conformance/packet.js';
import { OffloadMeta } from '../../src/pipeline/batch.js';
import { PORT_STAT_FIELDS, PortStat } from '../../src/runtime/port-stats.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../../src/wire/ethernet.js';
import type { Harness, Sent } from './harness.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Every frame sent is whole: at least an Ethernet header, no longer than its
 * port's MTU plus the header (ports are untagged: ethernet-input drops tagged
 * frames, so nothing leaves with a VLAN tag; no frame here came in with
 * offload metadata and no port is an offload port, so none may leave as a
 * GSO super-frame), from the port's own MAC, IPv4 or ARP; an IPv4 frame has
 * a sound header: version 4, a header length of 20-60 bytes inside the frame,
 * a checksum that verifies, a total length that covers the header and fits
 * the frame.
 */
export function frameProblems(h: Harness, out: readonly Sent[]): string[] {
  const problems: string[] = [];
  for (const o of out) {
    const f = o.bytes;
    const port = h.config.ports.find((p) => p.name === o.port);
    const what = () => `${o.port}: ${f.length >= 14 ? describeFrame(f) : 'runt'} ${hex(f)}`;
    if (port === undefined) {
      problems.push(`sent by unknown port ${o.port}`);
      continue;
    }
    if (o.meta[OffloadMeta.GSO_TYPE] !== 0) problems.push(`GSO type ${o.meta[OffloadMeta.GSO_TYPE]} on a frame of a batch without offload: ${what()}`);
    if (f.length < 14) {
      problems.push(`${f.length}-byte frame: ${what()}`);
      continue;
    }
    if (f.length > port.mtu + 14) problems.push(`${f.length}-byte frame on a port of MTU ${port.mtu}: ${what()}`);
    for (let i = 0; i < 6; i++) {
      if (f[6 + i] !== port.mac[i]) {
        problems.push(`source MAC is not the port's: ${what()}`);
        break;
      }
    }
    const type = (f[12] << 8) | f[13];
    if (type === ETHERTYPE_ARP) {
      if (f.length < 42) problems.push(`short ARP frame: ${what()}`);
      continue;
    }
    if (type !== ETHERTYPE_IPV4) {
      problems.push(`ethertype 0x${type.toString(16)}: ${what()}`);
      continue;
    }
    if (f.length < 34) {
      problems.push(`IPv4 frame shorter than a header: ${what()}`);
      continue;
    }
    const ihl = (f[14] & 15) * 4;
    const total = (f[16] << 8) | f[17];
    if (f[14] >> 4 !== 4) problems.push(`IP version ${f[14] >> 4}: ${what()}`);
    if (ihl < 20 || 14 + ihl > f.length) problems.push(`header length ${ihl} in a ${f.length}-byte frame: ${what()}`);
    else if (internetChecksum(f, 14, ihl) !== 0) problems.push(`bad IPv4 header checksum: ${what()}`);
    if (total < ihl || 14 + total > f.length) problems.push(`total length ${total} (header ${ihl}) in a ${f.length}-byte frame: ${what()}`);
  }
  return problems;
}

/**
 * Every checksum of every IPv4 frame sent verifies: the header's, TCP's and
 * UDP's (with the pseudo-header), ICMP's, and those of the datagram an ICMP
 * error quotes (its L4 checksum when it is quoted whole). Holds when every
 * frame the router received was sound: a forwarded or translated packet
 * keeps a wrong L4 checksum it came with (translation adjusts checksums, it
 * does not repair them).
 */
export function checksumProblems(out: readonly Sent[]): string[] {
  const problems: string[] = [];
  for (const o of out) {
    if (o.bytes.length < 34 || ((o.bytes[12] << 8) | o.bytes[13]) !== ETHERTYPE_IPV4) continue;
    if (tupleOf(o.bytes)?.checksumsOk !== true) problems.push(`${o.port}: a checksum does not verify: ${describeFrame(o.bytes)} ${hex(o.bytes)}`);
  }
  return problems;
}

export interface PortFates {
  rx: number;
  forwarded: number;
  dropped: number;
  local: number;
  queued: number;
}

/** The run loop's per-port figures of what became of received frames. */
export function portFates(h: Harness): PortFates[] {
  const s = h.loop.portStats;
  return h.config.ports.map((_, i) => {
    const at = (f: number) => s[i * PORT_STAT_FIELDS + f];
    return { rx: at(PortStat.RX_PACKETS), forwarded: at(PortStat.RX_FORWARDED), dropped: at(PortStat.RX_DROPPED), local: at(PortStat.RX_LOCAL), queued: at(PortStat.RX_QUEUED) };
  });
}

/**
 * Per port, received = forwarded + dropped + local + queued. The run loop
 * computes forwarded as what is left of the received once the other three
 * are counted, so the sum alone cannot fail: what can is a packet counted
 * twice (by two nodes, or again in a later batch) or a fate counted for a
 * packet that never arrived on the port. Either shows as forwarded going
 * below 0, or going down from one batch to the next (a received packet is
 * given its fate in the batch it arrives in, and never loses it). And the
 * packets counted as forwarded in a batch each left as one frame or more, so
 * they are at most the frames sent in that batch.
 */
export function accountingProblems(before: readonly PortFates[], after: readonly PortFates[], framesSent: number, names: readonly string[]): string[] {
  const problems: string[] = [];
  let forwarded = 0;
  after.forEach((a, i) => {
    const b = before[i];
    const name = names[i];
    if (a.rx !== a.forwarded + a.dropped + a.local + a.queued) problems.push(`${name}: received ${a.rx} != ${a.forwarded} + ${a.dropped} + ${a.local} + ${a.queued}`);
    for (const k of ['forwarded', 'dropped', 'local', 'queued'] as const) {
      if (a[k] < 0) problems.push(`${name}: ${k} is ${a[k]}`);
      if (a[k] < b[k]) problems.push(`${name}: ${k} went down from ${b[k]} to ${a[k]}`);
    }
    forwarded += a.forwarded - b.forwarded;
  });
  if (forwarded > framesSent) problems.push(`${forwarded} received packets counted as forwarded in a batch that sent ${framesSent} frames`);
  return problems;
}

/**
 * The connection-tracking state, read from the main thread between batches
 * (quiescent: one worker, nothing in flight), is consistent:
 *
 * - the flow table's counters: per worker, live = inserted - evicted -
 *   expired - removed, and never more than the capacity; the records in use
 *   are exactly the live ones;
 * - its index (auditIndex): sound, holding exactly each live entry's keys
 *   (two, or one when both directions' keys are the same), each finding its
 *   own entry and direction;
 * - holds (src/nat/refs.ts): every binding, permit and endpoint entry is held
 *   by exactly the flows (and bindings, for endpoint entries) that refer to
 *   it, in state HELD when some do and UNHELD when none does; no flow refers
 *   to an entry that is not live;
 * - NAT ports: each pool's allocator has as many ports in use as there are
 *   bindings on it, and never refused a free (a double free or a stray one);
 * - the load balancer: each backend's active flows (new minus ended) is the
 *   number of live flows pinned to it.
 */
export function flowStateProblems(h: Harness): string[] {
  const tables = h.router.natTables;
  if (tables === undefined) return ['no flow table'];
  const problems: string[] = [];
  const view = FlowTable.attach(tables.buffers.flows, -1);
  let live = 0;
  FlowTable.stats(tables.buffers.flows).forEach((w, i) => {
    live += w.live;
    if (w.live !== w.inserted - w.evicted - w.expired - w.removed) problems.push(`worker ${i}: live ${w.live} != inserted ${w.inserted} - evicted ${w.evicted} - expired ${w.expired} - removed ${w.removed}`);
  });
  if (live < 0 || live > view.capacity) problems.push(`${live} live entries in a table of ${view.capacity}`);
  const audit = auditIndex(view.index);
  problems.push(...audit.problems.map((p) => `index: ${p}`));

  const rec = new Int32Array(Rec.WORDS);
  const refs = new Map<number, number>();
  const refer = (id: number) => refs.set(id, (refs.get(id) ?? 0) + 1);
  const held = new Map<number, number>(); // entry id -> state word
  const bindingsBySlot = new Map<number, number>();
  const pinned = new Map<number, number>(); // backend id -> flows
  let inUse = 0;
  let keys = 0;
  const ranges = view.usedRanges();
  for (let i = 0; i < ranges.length; i += 2) {
    for (let id = ranges[i]; id < ranges[i + 1]; id++) {
      if (!view.readRecord(id, rec)) continue;
      inUse++;
      const same = rec[0] === rec[4] && rec[1] === rec[5] && rec[2] === rec[6] && rec[3] === rec[7];
      keys += same ? 1 : 2;
      const o = view.lookup(rec[0], rec[1], rec[2], rec[3]);
      if (o !== id << 1) problems.push(`entry ${id}: its original key finds ${o}`);
      if (!same) {
        const r = view.lookup(rec[4], rec[5], rec[6], rec[7]);
        if (r !== ((id << 1) | 1)) problems.push(`entry ${id}: its reply key finds ${r}`);
      }
      const u = (k: number) => rec[Rec.USER + k];
      const zone = zoneOf(rec[3]);
      if (zone === Zone.FLOW) {
        if (u(FlowUser.SOURCE_BINDING) > 0) refer(u(FlowUser.SOURCE_BINDING) - 1);
        const d = u(FlowUser.DESTINATION_BINDING);
        if (d > 0) refer(d - 1);
        else if (d < 0) pinned.set(-d - 1, (pinned.get(-d - 1) ?? 0) + 1);
        if (u(FlowUser.PERMIT) > 0) refer(u(FlowUser.PERMIT) - 1);
      } else if (zone === Zone.BINDING) {
        held.set(id, rec[Rec.STATE]);
        bindingsBySlot.set(u(0), (bindingsBySlot.get(u(0)) ?? 0) + 1);
        if (u(2) > 0) refer(u(2) - 1); // its endpoint entry (cloud-nat)
      } else if (zone === Zone.PERMIT || zone === Zone.ENDPOINT) {
        held.set(id, rec[Rec.STATE]);
      }
    }
  }
  if (inUse !== live) problems.push(`${inUse} records in use, ${live} live by the counters`);
  if (audit.entries !== keys) problems.push(`index holds ${audit.entries} keys, the live entries have ${keys}`);
  for (const [id, n] of refs) if (!held.has(id)) problems.push(`${n} references to entry ${id}, which is not a live binding, permit or endpoint entry`);
  for (const [id, state] of held) {
    const count = state >>> STATE_BITS;
    const st = state & ((1 << STATE_BITS) - 1);
    const n = refs.get(id) ?? 0;
    if (count !== n) problems.push(`entry ${id} (zone ${zoneOf(view.keyWord(id, 0, 3))}) counts ${count} holders, ${n} entries refer to it`);
    if (st !== (count > 0 ? FlowState.HELD : FlowState.UNHELD)) problems.push(`entry ${id} with ${count} holders is in state ${st}`);
  }
  tables.buffers.ports.forEach((buffer, slot) => {
    const stats = PortAllocator.stats(buffer);
    const inUsePorts = stats.reduce((n, w) => n + w.inUse, 0);
    const badFrees = stats.reduce((n, w) => n + w.badFrees, 0);
    if (inUsePorts !== (bindingsBySlot.get(slot) ?? 0)) problems.push(`port pool ${slot}: ${inUsePorts} ports in use, ${bindingsBySlot.get(slot) ?? 0} bindings`);
    if (badFrees !== 0) problems.push(`port pool ${slot}: ${badFrees} refused frees`);
  });
  const lb = h.router.lbControl;
  if (lb !== undefined) {
    for (let b = 0; b < lb.tables.backendCapacity; b++) {
      const active = lb.tables.activeFlows(b);
      if (active !== (pinned.get(b) ?? 0)) problems.push(`backend ${b}: ${active} active flows by its counters, ${pinned.get(b) ?? 0} pinned in the table`);
    }
  }
  return problems;
}
