// ct-input: connection tracking before routing (netfilter's PREROUTING, where
// conntrack and DNAT sit). For each datagram, its key (addresses, ports or
// ICMP query id, protocol) is looked up in the shared flow table, either
// direction:
//
//   a flow's packet   the TCP state moves (nf_conntrack's table,
//                     conntrack/tcp-state.ts), the flow is marked seen, and
//                     the packet is rewritten to the reverse of the other
//                     direction's key: the whole translation, both ways, in
//                     one place, so routing sees the translated destination.
//   an ICMP error     looked up by the datagram it quotes; one about a
//                     translated flow is translated outside and inside
//                     (RFC 5508 REQ-4). It never creates anything.
//   no flow           marked for nat-output, after routing, which decides
//                     whether a flow starts: DNAT rules match here (by the
//                     port it came in on), a packet to a binding's external
//                     endpoint goes to its internal one if the filtering
//                     lets it (RFC 4787 REQ-8), or hairpins (REQ-9).
//
// Later fragments carry no ports: they follow the flow their first fragment
// found (a fragment entry), addresses only.
//
// The load balancer (src/lb/) starts here too: a new flow to a VIP gets its
// backend (NAT mode: the destination translated to it, then routed); a
// direct-return flow's packets, new or pinned, go to lb-forward instead of
// routing, since their destination stays the VIP.
import { FlowState } from '../conntrack/timeouts.js';
import { segmentKind, TcpState, tcpTransition } from '../conntrack/tcp-state.js';
import { CtMark, Fate, MAX_BATCH, PacketFlag, type Batch } from '../pipeline/batch.js';
import { FragmentHold, HOLD_MS } from './fragment-hold.js';
import type { ForwardingContext } from '../pipeline/context.js';
import { defineNode, PipelineNode, type Dispatch } from '../pipeline/node.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { portToward } from '../pipeline/port-toward.js';
import { ICMP_QUERY_TYPES } from '../wire/icmp.js';
import { FlowUser, Zone, type NatBindings } from './bindings.js';
import type { FlowPolicy } from './flow-policy.js';
import { describeTuple } from './describe.js';
import type { TraceDescribeContext, TraceRecordView } from '../pipeline/trace-recorder.js';
import { l4Word, rewriteIcmpError, rewriteTcpUdp, rewriteTuple } from './translate.js';
import { Filtering, NO_RULE, type NatRules } from './rules.js';
import { OffloadMeta, VNET_HDR_F_NEEDS_CSUM } from '../pipeline/batch.js';
import { internetChecksum } from '../wire/checksum.js';
import type { FlowBalancer } from './flow-balancer.js';

const spec = defineNode({
  name: 'ct-input',
  next: { lookup: 'ip4-lookup', lb: 'ip4-lookup' },
  drops: {
    tcpInvalid: 'a TCP segment that does not fit its connection state (nf_conntrack INVALID: a SYN-ACK from the side that sent the SYN, ...)',
    filtered: "unsolicited, to a NAT binding the filtering setting closes to this sender (RFC 4787 REQ-8, RFC 5382 REQ-4: dropped silently)",
    noBinding: 'to an SNAT pool address at a port no binding holds',
    unsolicitedSyn: 'a TCP SYN to an external address at a port no binding or DNAT rule holds (RFC 5382 REQ-4: not answered, REQ-4a: dropped)',
    fragmentHoldFull: 'a later fragment before its first, with the hold buffer full',
    truncated: 'a TCP, UDP or ICMP datagram too short for its header (nf_conntrack INVALID): neither translated nor judged, so dropped',
    policyChanged: "a flow's packet the firewall's newer rules deny (the flow was allowed by an older generation)",
    lbNoBackend: 'a new flow to a load-balancer VIP none of whose backends is active (all down or drained)',
    lbMovedDenied: "a direct-return flow whose backend went down, moved to a backend the firewall's rules deny it (the flow stays pinned where it was)",
  },
  counters: {
    icmpErrorsTranslated: 'ICMP errors about a translated flow, translated (RFC 5508 REQ-4)',
    fragmentsFollowed: 'later fragments translated as their first fragment was',
    fragmentsHeld: 'later fragments that came before their first, held until it came',
    fragmentsOrphaned: 'held fragments whose first fragment never came (given up)',
  },
});

const ERROR_UNRELATED = 0;
const ERROR_TRANSLATED = 1;
const ERROR_RELATED = 2;

const FRAGMENT_UNKNOWN = 0;
const FRAGMENT_TRANSLATED = 1;
const FRAGMENT_PASS = 2;

const ICMP_ERROR_TYPES = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 11) | (1 << 12);

export class CtInput extends PipelineNode<typeof spec> {
  constructor(
    private readonly ctx: ForwardingContext,
    private readonly nat: NatBindings,
    private readonly rules: NatRules,
    slotBytes: number,
    /** The stateful firewall, when one is configured: flows it judged under an older generation are judged again. */
    private readonly firewall?: FlowPolicy,
    /** The load balancer, when the config has VIPs. */
    private readonly lb?: FlowBalancer,
  ) {
    super(spec);
    this.hold = new FragmentHold(slotBytes);
  }

  override describeVerdict(r: TraceRecordView, _ctx: TraceDescribeContext): string | undefined {
    const t = describeTuple(r);
    return t === undefined ? undefined : `now ${t}`;
  }

  /**
   * A pass before the real work: the hash of each unfragmented TCP or UDP
   * datagram's key (kept in Batch.ctHash: the lookup below and, for a first
   * packet, nat-output's insert use it, so the key is hashed once here
   * rather than three times), then their primary buckets loaded in a short loop
   * (FlowIndex "Warming"), so the lookups below find their buckets cached,
   * the batch's misses overlapped instead of paid one after the other. A
   * first packet's lookup misses and reads only its bucket (which
   * nat-output's insert of the flow reads again); a flow's packet still
   * reads its record after. Reads only: what is loaded decides nothing.
   */
  private warm(batch: Batch, vec: Uint16Array, count: number): void {
    const b = batch.arena;
    const l3 = batch.l3;
    const hashes = this.warmHash;
    const keyHash = batch.ctHash;
    const ix = this.nat.flows.index;
    const n = hashes.length;
    let m = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = l3[s];
      const proto = b[o + 9];
      if ((proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) || (((b[o + 6] << 8) | b[o + 7]) & 0x1fff) !== 0) continue;
      const l4 = o + ((b[o] & 0x0f) << 2);
      // Kept by slot: process() looks the key up by it, and a new flow's insert (nat-output) takes it from ctHash.
      const h = ix.hash(
        (b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15],
        (b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19],
        (b[l4] << 24) | (b[l4 + 1] << 16) | (b[l4 + 2] << 8) | b[l4 + 3],
        proto,
      );
      keyHash[s] = h;
      if (m < n) hashes[m++] = h;
    }
    if (m > 1) ix.touchBuckets(hashes, m);
  }

  private readonly warmHash = new Int32Array(MAX_BATCH);

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const l3 = batch.l3;
    const flows = this.nat.flows;
    // Also hashes every unfragmented TCP and UDP key (batch.ctHash), whatever the count.
    this.warm(batch, vec, count);
    const ix = flows.index;
    const now = this.ctx.clock.nowMs();
    const N = this.next;
    const R = this.reason;
    let w = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = l3[s];
      const ihl = (b[o] & 0x0f) << 2;
      const total = (b[o + 2] << 8) | b[o + 3];
      const proto = b[o + 9];
      const l4 = o + ihl;
      const l4Len = total - ihl;
      const src = (b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15];
      const dst = (b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19];
      const fragField = ((b[o + 6] << 8) | b[o + 7]) & 0x3fff; // MF and offset
      if ((fragField & 0x1fff) !== 0) {
        if (this.lb !== undefined && this.laterFragmentToVip(batch, s, src, dst, proto, now, d)) continue;
        const f = this.laterFragment(b, o, src, dst, proto);
        if (f === FRAGMENT_TRANSLATED) d.counters.add(this.counter.fragmentsFollowed, total);
        else if (f === FRAGMENT_UNKNOWN && (proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_ICMP)) {
          // Before its first fragment: held until that one has found its flow.
          if (this.hold.add(b, batch.start[s], batch.length[s], o - batch.start[s], batch.rxPort[s], now, batch.tsSec[s], batch.tsNsec[s])) {
            d.counters.add(this.counter.fragmentsHeld, total);
            d.free(this, s, Fate.QUEUED);
          } else d.drop(this, R.fragmentHoldFull, s);
          continue;
        }
        vec[w++] = s;
        continue;
      }
      let ports: number;
      let h: number;
      if (proto === IPPROTO_TCP) {
        if (l4Len < 20) {
          d.drop(this, R.truncated, s);
          continue;
        }
        ports = (b[l4] << 24) | (b[l4 + 1] << 16) | (b[l4 + 2] << 8) | b[l4 + 3];
        h = batch.ctHash[s];
      } else if (proto === IPPROTO_UDP) {
        if (l4Len < 8) {
          d.drop(this, R.truncated, s);
          continue;
        }
        ports = (b[l4] << 24) | (b[l4 + 1] << 16) | (b[l4 + 2] << 8) | b[l4 + 3];
        h = batch.ctHash[s];
      } else if (proto === IPPROTO_ICMP) {
        // Every ICMP message has an 8-byte header (RFC 792): a shorter one has no query id to key a flow by
        // (nat-output would read one past its end) and no quote to match an error by.
        if (l4Len < 8) {
          d.drop(this, R.truncated, s);
          continue;
        }
        const type = b[l4];
        if (type < 32 && ((ICMP_ERROR_TYPES >>> type) & 1) !== 0) {
          const e = this.icmpError(b, o, l4, o + total, src, (batch.flags[s] & PacketFlag.LOCAL_ORIGIN) !== 0 ? batch.rxPort[s] : -1);
          if (e === ERROR_TRANSLATED) {
            d.counters.add(this.counter.icmpErrorsTranslated, total);
            vec[w++] = s;
          } else if (e === ERROR_RELATED) {
            vec[w++] = s;
          } else if (this.unmapped(batch, s, o, l4, src, dst, proto, d)) vec[w++] = s;
          continue;
        }
        if (type >= 32 || ((ICMP_QUERY_TYPES >>> type) & 1) === 0) {
          if (this.unmapped(batch, s, o, l4, src, dst, proto, d)) vec[w++] = s;
          continue;
        }
        ports = l4Word(b, l4, IPPROTO_ICMP);
        h = ix.hash(src, dst, ports, proto);
      } else {
        if (this.unmapped(batch, s, o, l4, src, dst, proto, d)) vec[w++] = s;
        continue;
      }
      const v = flows.lookupHashed(src, dst, ports, proto, h);
      if (v >= 0) {
        // A flow's packet: state, seen, translation.
        const id = v >> 1;
        const dir = v & 1;
        const fw = this.firewall;
        if (fw !== undefined && fw.recheck && flows.user(id, FlowUser.FIREWALL_GENERATION) !== fw.generation && !this.judgedAgain(id, proto)) {
          d.drop(this, R.policyChanged, s);
          continue;
        }
        if (proto === IPPROTO_TCP) {
          const word = flows.state(id);
          const st = word & 63;
          if (st < TcpState.COUNT) {
            const next = tcpTransition(st, segmentKind(b[l4 + 13]), dir === 1);
            if (next === TcpState.INVALID) {
              d.drop(this, R.tcpInvalid, s);
              continue;
            }
            if (next !== TcpState.IGNORE && next !== st) flows.casState(id, word, next);
          }
          flows.touch(id, now, dir);
        } else if (proto === IPPROTO_UDP && dir === 1) {
          // A UDP flow marked replied has its SEEN_REPLY flag: skip that line (a cache miss at 1M flows).
          if (flows.state(id) === FlowState.UDP_UNREPLIED) {
            flows.casState(id, FlowState.UDP_UNREPLIED, FlowState.UDP_REPLIED);
            flows.touch(id, now, dir);
          } else flows.touch(id, now, 0);
        } else flows.touch(id, now, dir);
        if (this.lb !== undefined && flows.user(id, FlowUser.DESTINATION_BINDING) < 0 && this.lbFlowPacket(batch, s, id, dir, src, dst, ports, proto, total, now, d)) continue;
        const other = dir ^ 1;
        const ns = flows.keyWord(id, other, 1);
        const nd = flows.keyWord(id, other, 0);
        const np = flows.keyWord(id, other, 2);
        // The reverse of the other direction's key: its destination port is our source port.
        const rp = (np >>> 16) | (np << 16);
        if (ns !== src || nd !== dst || rp !== ports) {
          const partial = (batch.offload[s * OffloadMeta.WORDS + OffloadMeta.FLAGS] & VNET_HDR_F_NEEDS_CSUM) !== 0;
          if (proto === IPPROTO_ICMP) rewriteTuple(b, o, l4, proto, ns, nd, rp >>> 16, rp & 0xffff, partial);
          else rewriteTcpUdp(b, o, l4, proto === IPPROTO_TCP, src, dst, ports, ns, nd, rp, partial);
        }
        if ((fragField & 0x2000) !== 0) this.nat.recordFirstFragment(src, dst, (b[o + 4] << 8) | b[o + 5], proto, v, now);
        vec[w++] = s;
        continue;
      }
      if (this.noFlow(batch, s, o, l4, src, dst, ports, proto, h, d)) {
        if ((batch.flags[s] & PacketFlag.LB_DSR) !== 0) d.enqueue(this, N.lb, s);
        else vec[w++] = s;
      }
    }
    d.enqueueMany(this, N.lookup, vec, w);
  }

  /**
   * A packet of a load-balanced flow (backend pinned in the flow). A
   * direct-return flow's packet from the client goes to lb-forward (true):
   * to its backend while that is active or draining, to another when it is
   * down or removed. Replies, and NAT-mode flows (translated as any flow's),
   * go on as usual (false).
   */
  private lbFlowPacket(batch: Batch, s: number, id: number, dir: number, src: number, dst: number, ports: number, proto: number, total: number, now: number, d: Dispatch): boolean {
    const lb = this.lb!;
    const flows = this.nat.flows;
    let backend = -flows.user(id, FlowUser.DESTINATION_BINDING) - 1;
    if (dir !== 0 || !lb.isDsr(backend)) {
      if (dir === 0) lb.countPacket(backend, total);
      return false;
    }
    if (proto === IPPROTO_TCP) {
      // One side only: no TCP state machine, but a FIN or RST shortens the wait, and a new SYN restores it.
      const st = flows.state(id);
      const tcpFlags = batch.arena[batch.l3[s] + ((batch.arena[batch.l3[s]] & 0x0f) << 2) + 13];
      if (st === FlowState.LB_TCP && (tcpFlags & 0x05) !== 0) flows.casState(id, st, FlowState.LB_TCP_CLOSING);
      else if (st === FlowState.LB_TCP_CLOSING && (tcpFlags & 0x17) === 0x02) flows.casState(id, st, FlowState.LB_TCP);
    }
    const now2 = lb.pinned(backend, src, dst, ports, proto, now);
    if (now2 !== backend) {
      if (now2 < 0) {
        d.drop(this, this.reason.lbNoBackend, s);
        return true;
      }
      // Another backend, another host: its rules decide whether the flow may go on there (rare: a backend went down).
      const fw = this.firewall;
      if (fw !== undefined && !fw.allows(src, lb.address(now2), proto, ports & 0xffff)) {
        d.drop(this, this.reason.lbMovedDenied, s);
        return true;
      }
      flows.setUser(id, FlowUser.DESTINATION_BINDING, -now2 - 1);
      lb.flowMoved(backend, now2);
      backend = now2;
    }
    batch.ctRef[s] = backend;
    batch.flags[s] |= PacketFlag.LB_DSR;
    d.enqueue(this, this.next.lb, s);
    return true;
  }

  /**
   * A later fragment to a direct-return VIP: to the backend its 3-tuple
   * hashes to, as its first fragment was (true). NAT-mode VIPs' fragments
   * follow their first fragment's flow like any translated flow's (false).
   */
  private laterFragmentToVip(batch: Batch, s: number, src: number, dst: number, proto: number, now: number, d: Dispatch): boolean {
    const lb = this.lb!;
    const v = lb.vipFor(dst, proto, -1);
    if (v < 0 || lb.translates(v)) return false;
    const backend = lb.pick(v, src, dst, 0, proto, true, now);
    if (backend < 0) {
      d.drop(this, this.reason.lbNoBackend, s);
      return true;
    }
    batch.ctRef[s] = backend;
    batch.flags[s] |= PacketFlag.LB_DSR;
    d.enqueue(this, this.next.lb, s);
    return true;
  }

  /** A packet without a flow: marks what nat-output should do. False when it was dropped here. */
  private noFlow(batch: Batch, s: number, o: number, l4: number, src: number, dst: number, ports: number, proto: number, h: number, d: Dispatch): boolean {
    const b = batch.arena;
    const key = s << 2;
    batch.ctKey[key] = src;
    batch.ctKey[key + 1] = dst;
    batch.ctKey[key + 2] = ports;
    batch.ctKey[key + 3] = proto;
    batch.ctHash[s] = h;
    if ((batch.flags[s] & PacketFlag.LOCAL_ORIGIN) !== 0) return true;
    if (this.lb !== undefined && (proto === IPPROTO_TCP || proto === IPPROTO_UDP)) {
      const v = this.lb.vipFor(dst, proto, ports & 0xffff);
      if (v >= 0) return this.toVip(batch, s, v, o, l4, src, dst, ports, proto, d);
    }
    if (proto === IPPROTO_ICMP) {
      batch.ctMark[s] = CtMark.NEW; // queries start outbound only
      return true;
    }
    const dport = ports & 0xffff;
    // Bindings sit only at external addresses: most new flows (outbound) skip the probe.
    const binding = this.rules.isExternal(dst) ? this.nat.bindingAt(dst, dport, proto) : -1;
    if (binding >= 0) {
      const hairpin = batch.rxPort[s] !== this.rules.outPort[this.nat.bindingRule(binding)];
      const f = this.rules.filtering;
      const allowed = hairpin || f === Filtering.ENDPOINT_INDEPENDENT || (f === Filtering.ADDRESS_DEPENDENT && this.nat.permitted(src, dst, dport, proto));
      if (!allowed) {
        d.drop(this, this.reason.filtered, s);
        return false;
      }
      batch.ctMark[s] = CtMark.VIA_BINDING;
      batch.ctRef[s] = binding;
      const partial = (batch.offload[s * OffloadMeta.WORDS + OffloadMeta.FLAGS] & VNET_HDR_F_NEEDS_CSUM) !== 0;
      rewriteTuple(b, o, l4, proto, src, this.nat.internalAddress(binding), ports >>> 16, this.nat.internalPort(binding), partial);
      return true;
    }
    const rule = this.rules.dnatRule(batch.rxPort[s], proto, dst, dport);
    if (rule !== NO_RULE) {
      batch.ctMark[s] = CtMark.DNAT;
      batch.ctRef[s] = rule;
      const toPort = this.rules.dnatToPort[rule];
      const partial = (batch.offload[s * OffloadMeta.WORDS + OffloadMeta.FLAGS] & VNET_HDR_F_NEEDS_CSUM) !== 0;
      rewriteTuple(b, o, l4, proto, src, this.rules.dnatTo[rule], ports >>> 16, toPort === 0 ? dport : toPort, partial);
      return true;
    }
    if (proto === IPPROTO_TCP && (b[l4 + 13] & 0x12) === 0x02 && this.rules.isExternal(dst) && this.rules.isOutside(batch.rxPort[s])) {
      // RFC 5382 REQ-4: an unsolicited SYN from outside to an external address gets no answer for 6 s;
      // dropping it (REQ-4a) rather than letting the router's host side reset it keeps hole punching
      // possible. From inside, the router answers as a host (a reset), as without NAT.
      d.drop(this, this.reason.unsolicitedSyn, s);
      return false;
    }
    if (this.rules.isPoolOnly(dst)) {
      d.drop(this, this.reason.noBinding, s);
      return false;
    }
    batch.ctMark[s] = CtMark.NEW;
    return true;
  }

  /**
   * A new flow's first packet to VIP v: its backend, pinned by nat-output
   * when it starts the flow (CtMark.LB). NAT mode: the destination becomes
   * the backend and the packet is routed; direct return: lb-forward takes
   * it (PacketFlag.LB_DSR). False when there is no backend (dropped).
   */
  private toVip(batch: Batch, s: number, v: number, o: number, l4: number, src: number, dst: number, ports: number, proto: number, d: Dispatch): boolean {
    const lb = this.lb!;
    const b = batch.arena;
    const firstFragment = (b[o + 6] & 0x20) !== 0;
    const backend = lb.pick(v, src, dst, ports, proto, firstFragment, this.ctx.clock.nowMs());
    if (backend < 0) {
      d.drop(this, this.reason.lbNoBackend, s);
      return false;
    }
    batch.ctMark[s] = CtMark.LB;
    batch.ctRef[s] = backend;
    if (lb.translates(v)) {
      const partial = (batch.offload[s * OffloadMeta.WORDS + OffloadMeta.FLAGS] & VNET_HDR_F_NEEDS_CSUM) !== 0;
      rewriteTuple(b, o, l4, proto, src, lb.address(backend), ports >>> 16, ports & 0xffff, partial);
    } else batch.flags[s] |= PacketFlag.LB_DSR;
    return true;
  }

  /**
   * A packet with nothing NAT maps (an ICMP error about no flow, ICMP that is
   * neither query nor error, a protocol without ports): marked like a new
   * flow's first packet, so where a source rule would take it nat-output
   * drops it as untranslatable instead of letting it out with an inside
   * address (RFC 5508 REQ-5, REQ-11). False when dropped here.
   */
  private unmapped(batch: Batch, s: number, o: number, l4: number, src: number, dst: number, proto: number, d: Dispatch): boolean {
    return this.noFlow(batch, s, o, l4, src, dst, 0, proto, this.nat.flows.index.hash(src, dst, 0, proto), d);
  }

  /**
   * A flow judged by an older firewall generation, judged again as its first
   * packet was: after DNAT (the reply key's source; a load-balanced flow's
   * backend, which a direct-return flow's keys do not name) and before SNAT
   * (the original key's source). True when the new rules let it go on
   * (restamped).
   */
  private judgedAgain(id: number, proto: number): boolean {
    const fw = this.firewall!;
    const flows = this.nat.flows;
    const binding = flows.user(id, FlowUser.DESTINATION_BINDING);
    const dst = binding < 0 && this.lb !== undefined ? this.lb.address(-binding - 1) : flows.keyWord(id, 1, 0);
    if (!fw.allows(flows.keyWord(id, 0, 0), dst, proto, flows.keyWord(id, 1, 2) >>> 16)) return false;
    flows.setUser(id, FlowUser.FIREWALL_GENERATION, fw.generation);
    return true;
  }

  /**
   * An ICMP error, by the datagram it quotes: ERROR_TRANSLATED when that
   * belongs to a translated flow (translated then), ERROR_RELATED when it
   * belongs to a flow that needs no translation (it passes as the flow's:
   * the firewall lets it by), ERROR_UNRELATED otherwise.
   */
  /**
   * An ICMP error about a flow (RFC 5508): translated, related or unrelated.
   * `ownFrom`: for an error the router made itself (icmp-error, about a
   * datagram it translated on the way in), the port that datagram came in
   * on; else -1. The router's error takes the source of the port it will
   * leave by toward the untranslated sender (RFC 1812 4.3.2.4), which
   * icmp-error could not know: it routed toward the translated source (a
   * VIP, say, which leaves by another port than the backend it came from).
   */
  private icmpError(b: Uint8Array, o: number, l4: number, end: number, src: number, ownFrom: number): number {
    const q = l4 + 8;
    if (q + 20 > end || b[q] >> 4 !== 4) return ERROR_UNRELATED;
    const qIhl = (b[q] & 0x0f) << 2;
    // RFC 5508 REQ-3: an error whose ICMP checksum or quoted IP header checksum
    // fails is not translated (so dropped, as untranslated errors are):
    // translating recomputes the ICMP checksum, which would pass the damage on
    // as a sound message.
    if (qIhl < 20 || q + qIhl > end || internetChecksum(b, l4, end - l4) !== 0 || internetChecksum(b, q, qIhl) !== 0) return ERROR_UNRELATED;
    const qProto = b[q + 9];
    const qL4 = q + qIhl;
    let ports: number;
    if (qProto === IPPROTO_TCP || qProto === IPPROTO_UDP) {
      if (qL4 + 4 > end) return ERROR_UNRELATED;
      ports = (b[qL4] << 24) | (b[qL4 + 1] << 16) | (b[qL4 + 2] << 8) | b[qL4 + 3];
    } else if (qProto === IPPROTO_ICMP) {
      if (qL4 + 6 > end) return ERROR_UNRELATED;
      const type = b[qL4];
      if (type >= 32 || ((ICMP_QUERY_TYPES >>> type) & 1) === 0) return ERROR_UNRELATED;
      ports = l4Word(b, qL4, IPPROTO_ICMP);
    } else return ERROR_UNRELATED;
    const qSrc = (b[q + 12] << 24) | (b[q + 13] << 16) | (b[q + 14] << 8) | b[q + 15];
    const qDst = (b[q + 16] << 24) | (b[q + 17] << 16) | (b[q + 18] << 8) | b[q + 19];
    // The quoted datagram went the other way: look up its reverse.
    const flows = this.nat.flows;
    const v = flows.lookup(qDst, qSrc, (ports >>> 16) | (ports << 16), qProto);
    if (v < 0) return ERROR_UNRELATED;
    const id = v >> 1;
    const other = (v & 1) ^ 1;
    // Untranslated, the quoted datagram is the other direction's key.
    const nqSrc = flows.keyWord(id, other, 0);
    const nqDst = flows.keyWord(id, other, 1);
    const nqPorts = flows.keyWord(id, other, 2);
    if (nqSrc === qSrc && nqDst === qDst && nqPorts === ports) return ERROR_RELATED;
    // The error goes back to the quoted datagram's sender; from its receiver, if that is who sent it; the router's own
    // from the address of its port toward that sender.
    const from = ownFrom >= 0 ? this.ctx.ports.address[portToward(this.ctx, nqSrc, ownFrom)] | 0 : src === qDst ? nqDst : src;
    rewriteIcmpError(b, o, l4, end, q, nqSrc, nqDst, nqPorts, from, nqSrc);
    return ERROR_TRANSLATED;
  }

  /** A later fragment: translated by addresses as its first fragment was, when that one was seen. */
  private laterFragment(b: Uint8Array, o: number, src: number, dst: number, proto: number): number {
    const flows = this.nat.flows;
    const k2 = (b[o + 4] << 8) | b[o + 5];
    const v = flows.lookup(src, dst, k2, proto | (Zone.FRAGMENT << 8));
    if (v < 0) return FRAGMENT_UNKNOWN;
    const entry = v >> 1;
    const value = flows.user(entry, 0) - 1;
    if (value < 0) return FRAGMENT_PASS; // its first fragment started no flow
    const id = value >> 1;
    if (flows.generation(id) !== flows.user(entry, 1)) return FRAGMENT_PASS; // the flow ended meanwhile
    const other = (value & 1) ^ 1;
    rewriteTuple(b, o, -1, proto, flows.keyWord(id, other, 1), flows.keyWord(id, other, 0), 0, 0, false);
    return FRAGMENT_TRANSLATED;
  }

  /**
   * Before each batch: held fragments whose first fragment has been seen
   * (here or by another worker) go on, translated, in generated slots; those
   * held past HOLD_MS are given up.
   */
  service(batch: Batch, d: Dispatch): void {
    const h = this.hold;
    if (h.count === 0) return;
    const now = this.ctx.clock.nowMs();
    const nowSec = Math.floor(now / 1000);
    const nowNsec = Math.min(999_999_999, Math.round((now - nowSec * 1000) * 1e6));
    const b = batch.arena;
    for (let i = h.count - 1; i >= 0; i--) {
      const at = i * h.slotBytes;
      const o = at + h.l3Offset[i];
      const a = h.arena;
      const src = (a[o + 12] << 24) | (a[o + 13] << 16) | (a[o + 14] << 8) | a[o + 15];
      const dst = (a[o + 16] << 24) | (a[o + 17] << 16) | (a[o + 18] << 8) | a[o + 19];
      const k2 = (a[o + 4] << 8) | a[o + 5];
      const found = this.nat.flows.lookup(src, dst, k2, a[o + 9] | (Zone.FRAGMENT << 8)) >= 0;
      if (!found) {
        if (now - h.since[i] >= HOLD_MS) {
          d.counters.add(this.counter.fragmentsOrphaned, h.length[i]);
          h.remove(i);
        }
        continue;
      }
      // Stamped when it goes on (now), not when it arrived: it leaves after the first fragment that released it, and
      // a capture's output keeps its time order (replay).
      const s = batch.allocGeneratedAt(h.rxPort[i], nowSec, nowNsec);
      if (s < 0) return; // no slot this batch: try again at the next
      // A received packet, counted (queued) when it was held: not the router's own.
      batch.flags[s] = PacketFlag.CHILD | PacketFlag.ACCOUNTED;
      b.set(a.subarray(at, at + h.length[i]), batch.start[s]);
      batch.length[s] = h.length[i];
      batch.l3[s] = batch.start[s] + h.l3Offset[i];
      h.remove(i);
      const l3 = batch.l3[s];
      if (this.laterFragment(b, l3, src, dst, b[l3 + 9]) === FRAGMENT_TRANSLATED) d.counters.add(this.counter.fragmentsFollowed, batch.length[s]);
      d.enqueue(this, this.next.lookup, s);
    }
  }

  private readonly hold: FragmentHold;
}
