// nat-output: where flows start, after routing (netfilter's POSTROUTING, where
// SNAT and masquerade sit): the egress port is known, so the source rule is.
// Only packets ct-input marked (no flow yet) do anything here; a flow's
// packets were translated before routing and pass with one byte read.
//
// A new flow gets, in order: the source rule of its egress port (SNAT rules,
// then the port's masquerade), a hold on the binding of its internal
// endpoint (endpoint-independent mapping: the same external address and port
// for every destination, RFC 4787 REQ-1; paired pooling, REQ-2), a permit
// for the destination address when filtering is address-dependent, then the
// flow itself, keyed as it arrived and as its answer will arrive. A packet
// DNAT or a binding translated in ct-input starts a flow whether or not a
// source rule takes it. Hairpinning (REQ-9): an internal host's packet to a
// binding's external endpoint is translated both ways, its source to its own
// binding, so the peer sees the external address.
//
// A packet with TTL 1 starts nothing: ip4-rewrite answers it with time
// exceeded quoting it as it came (traceroute probes leave no bindings).
// When the table has no room the packet is dropped with ICMP destination
// unreachable code 13 (RFC 5508 REQ-8), quoting the packet as it arrived.
//
// The stateful firewall (src/firewall/) sits just before: a first packet it
// allowed carries PacketFlag.TRACK and starts a flow here even where no NAT
// rule translates it (so its replies pass as the flow's), stamped with the
// firewall generation that judged it.
//
// A load-balanced first packet (CtMark.LB, backend in ctRef) always starts
// a flow, pinned to its backend. Direct return: keyed as it came both ways
// (nothing is translated, and no TCP state machine runs, since only the
// client's side passes); tunnel modes then go to lb-encap. NAT mode: the
// source rules apply as to any flow, and a VIP with `snat: true` takes the
// egress port's address whatever they say.
import { opensConnection, Segment, segmentKind, TcpState } from '../conntrack/tcp-state.js';
import { FlowState } from '../conntrack/timeouts.js';
import { CtMark, MAX_BATCH, OffloadMeta, PacketFlag, VNET_HDR_F_NEEDS_CSUM, type Batch } from '../pipeline/batch.js';
import { icmpErrorCode } from '../pipeline/context.js';
import { defineNode, PipelineNode, type Dispatch } from '../pipeline/node.js';
import type { TraceDescribeContext, TraceRecordView } from '../pipeline/trace-recorder.js';
import { ICMP_DEST_UNREACHABLE, ICMP_UNREACH_ADMIN_PROHIBITED } from '../wire/icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { FLOW_EXISTS } from '../flow/flow-table.js';
import { NatFailure, type NatBindings } from './bindings.js';
import { hold } from './refs.js';
import { Filtering, NO_RULE, type NatRules } from './rules.js';
import { rewriteTcpUdp, rewriteTuple } from './translate.js';
import { describeTuple } from './describe.js';
import type { FlowPolicy } from './flow-policy.js';
import type { FlowBalancer } from './flow-balancer.js';

const spec = defineNode({
  name: 'nat-output',
  next: { rewrite: 'ip4-rewrite', icmpError: 'icmp-error', encap: 'ip4-rewrite' },
  drops: {
    tableFull: 'the flow table has no room for a new flow (ICMP unreachable code 13 sent, RFC 5508 REQ-8)',
    outOfPorts: "the rule's ports of the paired external address are all in use (out of resources)",
    outOfResources: 'the internal host holds its minimum of ports per endpoint already (cloud-nat minPortsPerEndpoint: out of resources)',
    busy: 'the binding was ending as this flow wanted it, or two workers raced for it: dropped, the next packet binds',
    notOpening: 'a TCP segment other than SYN or ACK with no connection to belong to',
    untranslatable: 'a source rule takes it but it has no ports or query id to map (a protocol NAT does not map, an ICMP error or reply with no flow)',
  },
  counters: {
    flowsCreated: 'flows started (translated or DNAT)',
    bindingsHairpinned: 'new flows hairpinned through a binding (RFC 4787 REQ-9)',
  },
});

const TABLE_FULL_ERROR = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_ADMIN_PROHIBITED);
const ICMP_REQUEST_TYPES = (1 << 8) | (1 << 13) | (1 << 15) | (1 << 17);

export class NatOutput extends PipelineNode<typeof spec> {
  constructor(
    private readonly clock: { nowMs(): number },
    private readonly nat: NatBindings,
    private readonly rules: NatRules,
    /** The stateful firewall, when one is configured: each flow records the generation that judged it. */
    private readonly firewall?: FlowPolicy,
    /** The load balancer, when the config has VIPs. */
    private readonly lb?: FlowBalancer,
  ) {
    super(spec);
    this.encapsulates = lb?.encapsulates ?? false;
  }

  /** Some VIP tunnels its packets: those flagged LB_DSR go to lb-encap. */
  private readonly encapsulates: boolean;

  private firewallGeneration(): number {
    return this.firewall === undefined ? 0 : this.firewall.generation;
  }

  override describeVerdict(r: TraceRecordView, _ctx: TraceDescribeContext): string | undefined {
    const t = describeTuple(r);
    return t === undefined ? undefined : `now ${t}`;
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const mark = batch.ctMark;
    this.pass = (this.pass + 1) | 0;
    if (count > 1) this.warm(batch, vec, count);
    let w = 0;
    const encap = this.encapsulates;
    const flags = batch.flags;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      if (mark[s] === CtMark.NONE || this.start(batch, s, d)) {
        if (encap && (flags[s] & PacketFlag.LB_DSR) !== 0) d.enqueue(this, this.next.encap, s);
        else vec[w++] = s;
      }
    }
    d.enqueueMany(this, this.next.rewrite, vec, w);
  }

  /**
   * Passes over the batch before the real work, for the new flows a source
   * rule maps (the common case: outbound first packets, CtMark.NEW), that
   * load the lines start() will read, so their DRAM misses overlap across
   * the batch instead of coming one after another per packet (see FlowIndex
   * "Warming"): the binding key's bucket, then the binding's record, then
   * its state word (hold() CASes it) and the bucket of the flow's reply key
   * (which names the binding's port). The original key's bucket is in the
   * cache already: ct-input's lookup read it. Nothing here changes or
   * decides anything: start() does the work as before, so a guess gone
   * stale (another worker ended or made the binding meanwhile) costs time,
   * never correctness. New bindings (a port not yet allocated) and other
   * marks are left cold.
   */
  private warm(batch: Batch, vec: Uint16Array, count: number): void {
    const mark = batch.ctMark;
    const flags = batch.flags;
    const ctKey = batch.ctKey;
    const nat = this.nat;
    const flows = nat.flows;
    const ix = flows.index;
    const slots = this.warmSlot;
    const rules = this.warmRule;
    const hashes = this.warmHash;
    const at = this.warmAt;
    const n = count < slots.length ? count : slots.length;
    if (this.slotPass.length < batch.capacity) {
      // Once per batch size (the first batch): slot-indexed.
      this.slotPass = new Int32Array(batch.capacity);
      this.slotRule = new Int32Array(batch.capacity);
      this.slotBindHash = new Int32Array(batch.capacity);
    }
    let m = 0;
    for (let k = 0; k < n; k++) {
      const s = vec[k];
      if (mark[s] !== CtMark.NEW || (flags[s] & PacketFlag.LOCAL_ORIGIN) !== 0) continue;
      const key = s << 2;
      const proto = ctKey[key + 3];
      // NEW: ct-input translated nothing, so the arrival key is the packet's.
      const rule = this.rules.sourceRule(batch.txPort[s], ctKey[key], ctKey[key + 1], proto);
      if (rule === NO_RULE) continue;
      slots[m] = s;
      rules[m] = rule;
      const h = nat.bindHash(rule, ctKey[key], ctKey[key + 2] >>> 16, proto);
      hashes[m] = h;
      m++;
      // Kept for start(), which would find the same rule and hash: this pass's slots only.
      this.slotPass[s] = this.pass;
      this.slotRule[s] = rule;
      this.slotBindHash[s] = h;
    }
    if (m < 2) return;
    // The records the batch's inserts will write (new bindings take ids too: a few spare).
    flows.touchNext(m + (m >> 3));
    ix.touchBuckets(hashes, m);
    ix.recordsOf(hashes, m, at);
    ix.touchWords(ix.keys, at, m);
    let r = 0;
    for (let i = 0; i < m; i++) {
      const key = slots[i] << 2;
      const proto = ctKey[key + 3];
      const ports = ctKey[key + 2];
      const id = nat.peekBinding(rules[i], ctKey[key], ports >>> 16, proto, hashes[i]);
      if (id < 0) continue;
      const np = flows.keyWord(id, 1, 2);
      const replyPorts = proto === IPPROTO_ICMP ? (np << 16) | np : ((ports & 0xffff) << 16) | np;
      hashes[r] = ix.hash(ctKey[key + 1], flows.keyWord(id, 1, 1), replyPorts, proto);
      at[r++] = id;
    }
    flows.touchStates(at, r);
    ix.touchBuckets(hashes, r);
  }

  /** Per slot, what warm() found for a NEW packet (its source rule, its binding key's hash) and in which pass (process call). */
  private slotPass = new Int32Array(0);
  private slotRule = new Int32Array(0);
  private slotBindHash = new Int32Array(0);
  private pass = 0;

  private readonly warmSlot = new Int32Array(MAX_BATCH);
  private readonly warmRule = new Int32Array(MAX_BATCH);
  private readonly warmHash = new Int32Array(MAX_BATCH);
  private readonly warmAt = new Int32Array(MAX_BATCH);

  /** A marked packet: starts its flow if it gets one. False when the packet was dropped or sent to icmp-error. */
  private start(batch: Batch, s: number, d: Dispatch): boolean {
    const m = batch.ctMark[s];
    batch.ctMark[s] = CtMark.NONE;
    // The router's own packets (echo replies, resets, ICMP errors) start
    // nothing. ip4-local and icmp-error make them in the slot of the packet
    // they answer, whose mark (set by ct-input as it arrived) they still carry.
    if ((batch.flags[s] & PacketFlag.LOCAL_ORIGIN) !== 0) return true;
    const b = batch.arena;
    const o = batch.l3[s];
    const R = this.reason;
    const key = s << 2;
    const proto = batch.ctKey[key + 3];
    const l4 = o + ((b[o] & 0x0f) << 2);
    const src = (b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15];
    const dst = (b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19];
    // Ports as the packet is now (after any DNAT).
    const ports = proto === IPPROTO_ICMP ? batch.ctKey[key + 2] : (b[l4] << 24) | (b[l4 + 1] << 16) | (b[l4 + 2] << 8) | b[l4 + 3];
    const sport = ports >>> 16;
    let rule: number;
    let through = -1; // the binding ct-input translated the destination to
    let backend = -1; // the load-balancer backend ct-input chose
    let dsr = false;
    if (m === CtMark.LB) {
      backend = batch.ctRef[s];
      const lb = this.lb!;
      dsr = lb.isDsr(backend);
      rule = dsr ? NO_RULE : lb.snat(backend) ? this.rules.lbSourceRule(batch.txPort[s]) : this.rules.sourceRule(batch.txPort[s], src, dst, proto);
    } else if (m === CtMark.VIA_BINDING) {
      through = batch.ctRef[s];
      // Hairpin: from inside, so the source is translated by the binding's rule as if it left by its port.
      rule = batch.rxPort[s] !== this.rules.outPort[this.nat.bindingRule(through)] ? this.nat.bindingRule(through) : NO_RULE;
    } else {
      // NEW: warm() matched the rule already when it saw this slot (the same txPort and key).
      rule = this.slotPass[s] === this.pass && this.slotPass.length !== 0 ? this.slotRule[s] : this.rules.sourceRule(batch.txPort[s], src, dst, proto);
    }
    const track = (batch.flags[s] & PacketFlag.TRACK) !== 0;
    if (rule === NO_RULE && m === CtMark.NEW && !track) {
      // Nothing to translate or track; its later fragments pass as they are.
      if ((((b[o + 6] << 8) | b[o + 7]) & 0x2000) !== 0) this.nat.recordFirstFragment(src, dst, (b[o + 4] << 8) | b[o + 5], proto, -1, this.clock.nowMs());
      return true;
    }
    if (b[o + 8] <= 1) {
      // TTL 1: ip4-rewrite sends time exceeded quoting the packet as it arrived.
      restoreArrivedDestination(batch, s, m);
      return true;
    }
    const now = this.clock.nowMs();
    let state: number;
    if (dsr) {
      // Mid-connection segments too: another instance (ECMP) or worker may have seen the SYN.
      state = proto === IPPROTO_TCP ? ((b[l4 + 13] & 0x05) !== 0 ? FlowState.LB_TCP_CLOSING : FlowState.LB_TCP) : FlowState.LB_UDP;
    } else if (proto === IPPROTO_TCP) {
      const seg = segmentKind(b[l4 + 13]);
      if (!opensConnection(seg)) return this.fail(batch, s, m, R.notOpening, d);
      state = seg === Segment.SYN ? TcpState.SYN_SENT : TcpState.ESTABLISHED;
    } else if (proto === IPPROTO_UDP) {
      state = FlowState.UDP_UNREPLIED;
    } else if (proto === IPPROTO_ICMP && b[l4] < 32 && ((ICMP_REQUEST_TYPES >>> b[l4]) & 1) !== 0) {
      state = FlowState.ICMP;
    } else if (rule === NO_RULE && m === CtMark.NEW) {
      // Allowed by the firewall but nothing a flow can follow (an ICMP error
      // about no flow, a protocol without ports): passes, judged per packet.
      return true;
    } else {
      return this.fail(batch, s, m, R.untranslatable, d);
    }
    if (through >= 0 && !hold(this.nat.flows, through)) return this.fail(batch, s, m, R.busy, d);
    let source = -1;
    let permit = -1;
    let newSrc = src;
    let newSport = sport;
    if (rule !== NO_RULE) {
      const warmed = m === CtMark.NEW && this.slotPass.length !== 0 && this.slotPass[s] === this.pass;
      source = this.nat.bindHashed(rule, src, sport, proto, warmed ? this.slotBindHash[s] : this.nat.bindHash(rule, src, sport, proto), now);
      if (source < 0) {
        this.nat.unholdAll(-1, through, -1, now);
        if (source === NatFailure.TABLE_FULL) return this.tableFull(batch, s, m, d);
        return this.fail(batch, s, m, source === NatFailure.OUT_OF_PORTS ? R.outOfPorts : source === NatFailure.ENDPOINT_FULL ? R.outOfResources : R.busy, d);
      }
      newSrc = this.nat.address;
      newSport = this.nat.port;
      if (this.rules.filtering === Filtering.ADDRESS_DEPENDENT) permit = this.nat.permit(dst, newSrc, newSport, proto, now);
    }
    // The answer as it will arrive: from the (translated) destination to the translated source.
    const replyPorts = proto === IPPROTO_ICMP ? (newSport << 16) | newSport : ((ports & 0xffff) << 16) | newSport;
    const id = this.nat.createFlow(
      batch.ctKey[key], batch.ctKey[key + 1], batch.ctKey[key + 2], proto, batch.ctHash[s],
      dst, newSrc, replyPorts, proto,
      // A load-balanced flow holds its backend where a binding would be: -(backend + 1) (bindings.ts).
      state, now, source, backend >= 0 ? -backend - 2 : through, permit, this.firewallGeneration(),
    );
    if (id === FLOW_EXISTS) {
      // Another worker started the same flow meanwhile: translate as it does.
      return this.followExisting(batch, s, o, l4, proto);
    }
    if (id < 0) return this.tableFull(batch, s, m, d);
    d.counters.add(this.counter.flowsCreated, batch.length[s]);
    if (backend >= 0) {
      this.lb!.flowStarted(backend, id);
      // A direct-return first packet goes to its backend now (lb-forward counts only pinned flows' packets).
      if (dsr) this.lb!.countPacket(backend, (b[o + 2] << 8) | b[o + 3]);
    }
    if (through >= 0 && rule !== NO_RULE) d.counters.add(this.counter.bindingsHairpinned, batch.length[s]);
    if (newSrc !== src || newSport !== sport) {
      if (proto === IPPROTO_ICMP) rewriteTuple(b, o, l4, proto, newSrc, dst, newSport, newSport, this.partial(batch, s));
      else rewriteTcpUdp(b, o, l4, proto === IPPROTO_TCP, src, dst, ports, newSrc, dst, (newSport << 16) | (ports & 0xffff), this.partial(batch, s));
    }
    // Keyed as the datagram arrived (before ct-input's DNAT and this rewrite): as its later fragments will.
    if ((((b[o + 6] << 8) | b[o + 7]) & 0x2000) !== 0) this.nat.recordFirstFragment(batch.ctKey[key], batch.ctKey[key + 1], (b[o + 4] << 8) | b[o + 5], proto, id << 1, now);
    return true;
  }

  /** The flow another worker made for this packet's key: rewrite to it. */
  private followExisting(batch: Batch, s: number, o: number, l4: number, proto: number): boolean {
    const flows = this.nat.flows;
    const v = this.nat.existing;
    const id = v >> 1;
    const other = (v & 1) ^ 1;
    const np = flows.keyWord(id, other, 2);
    const rp = (np >>> 16) | (np << 16);
    rewriteTuple(batch.arena, o, l4, proto, flows.keyWord(id, other, 1), flows.keyWord(id, other, 0), rp >>> 16, rp & 0xffff, this.partial(batch, s));
    return true;
  }

  private partial(batch: Batch, s: number): boolean {
    return partialChecksum(batch, s);
  }

  private fail(batch: Batch, s: number, m: number, reason: number, d: Dispatch): boolean {
    restoreArrivedDestination(batch, s, m);
    d.drop(this, reason, s);
    return false;
  }

  private tableFull(batch: Batch, s: number, m: number, d: Dispatch): boolean {
    restoreArrivedDestination(batch, s, m);
    d.countDrop(this, this.reason.tableFull, s);
    batch.icmpError[s] = TABLE_FULL_ERROR;
    d.enqueue(this, this.next.icmpError, s);
    return false;
  }
}

function partialChecksum(batch: Batch, s: number): boolean {
  return (batch.offload[s * OffloadMeta.WORDS + OffloadMeta.FLAGS] & VNET_HDR_F_NEEDS_CSUM) !== 0;
}

/**
 * Puts back the destination ct-input translated (mark DNAT or VIA_BINDING),
 * so that an ICMP error quotes the packet as it arrived, not the inside
 * address it was translated to. The firewall's reject uses it too.
 */
export function restoreArrivedDestination(batch: Batch, s: number, m: number): void {
  if (m !== CtMark.DNAT && m !== CtMark.VIA_BINDING && m !== CtMark.LB) return;
  const b = batch.arena;
  const o = batch.l3[s];
  const key = s << 2;
  const l4 = o + ((b[o] & 0x0f) << 2);
  const src = (b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15];
  const ports = batch.ctKey[key + 2];
  rewriteTuple(b, o, l4, batch.ctKey[key + 3], src, batch.ctKey[key + 1], ports >>> 16, ports & 0xffff, partialChecksum(batch, s));
}
