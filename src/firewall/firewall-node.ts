// firewall: the stateful filter, after routing and before nat-output
// (netfilter's FORWARD filter: after DNAT, so it judges the inside
// destination; before SNAT, so it judges the inside source).
//
// Only a flow's first packet is judged: ct-input marks packets that have no
// flow (Batch.ctMark), and a flow's later packets, its replies and the ICMP
// errors about it (RELATED) arrive unmarked and pass with one byte read. A
// first packet the rules allow is flagged TRACK, so nat-output starts its
// flow even where no NAT rule translates it; one they deny is dropped
// silently, or, by a reject rule, answered with ICMP unreachable code 13
// quoting the packet as it arrived. Traffic neither from nor to an endpoint
// is not judged and not tracked: it is routed as without a firewall.
//
// The destination judged is where the flow really goes. A port forward
// (DNAT) and a NAT-mode VIP were translated by ct-input already, so the
// packet carries the inside address and port. A direct-return packet
// (dsr-l2, dsr-ipip, dsr-gue) still carries the VIP, which its backend owns
// on its loopback: it is judged by its backend's address (CtMark.LB, the
// backend in Batch.ctRef) and its own port, which the backend listens on.
// So the backend's ingress rules and the NetworkPolicy selecting its pod
// decide, as Kubernetes applies policy to the pod behind a Service, and the
// client's egress rules see the backend too, as after DNAT. The judged
// address goes into Batch.noteAddress for the trace.
import { CtMark, MAX_BATCH, PacketFlag, type Batch } from '../pipeline/batch.js';
import { icmpErrorCode } from '../pipeline/context.js';
import { defineNode, PipelineNode, type Dispatch } from '../pipeline/node.js';
import type { TraceDescribeContext, TraceRecordView } from '../pipeline/trace-recorder.js';
import { ICMP_DEST_UNREACHABLE, ICMP_UNREACH_ADMIN_PROHIBITED } from '../wire/icmp.js';
import { restoreArrivedDestination } from '../nat/nat-output.js';
import { ipv4ToString } from '../wire/address.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { Firewall, NOT_INVOLVED } from './firewall.js';
import { Action, hasPorts, Section } from './plan.js';

const spec = defineNode({
  name: 'firewall',
  next: { rewrite: 'nat-output', icmpError: 'icmp-error' },
  drops: {
    denied: 'the first packet of a flow a firewall rule or network policy denies (dropped silently)',
    rejected: 'the first packet of a flow a reject rule denies (ICMP unreachable code 13 sent)',
  },
  counters: {
    allowed: 'first packets of flows the firewall allowed (the flow is tracked: its replies pass)',
  },
});

/** What the firewall asks of the load balancer: a backend's address (src/lb/load-balancer.ts). */
export interface BackendAddresses {
  address(backend: number): number;
}

const REJECT_ERROR = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_ADMIN_PROHIBITED);

export class FirewallNode extends PipelineNode<typeof spec> {
  // The first packets of the vector in process(): their fields and outcomes.
  private src = new Int32Array(MAX_BATCH);
  private dst = new Int32Array(MAX_BATCH);
  private proto = new Uint8Array(MAX_BATCH);
  private dport = new Uint16Array(MAX_BATCH);
  private outcome = new Int32Array(MAX_BATCH);

  constructor(
    readonly firewall: Firewall,
    /** The load balancer, when the config has VIPs: a load-balanced first packet is judged by its backend. */
    private readonly lb?: BackendAddresses,
  ) {
    super(spec);
  }

  /**
   * The outcome id in Batch.note indexes this thread's own table of outcomes
   * (interned as traffic meets them, in a different order on every worker
   * and on the main thread, which formats `ctl trace read`): the record gets
   * the generation that judged, the deciding section and the plan's rule per
   * section instead, which mean the same on every thread.
   */
  override traceNote(note: number, out: Int32Array, at: number): void {
    if (note < 0) return;
    const fw = this.firewall;
    out[at] = fw.generation;
    out[at + 1] = fw.judge.decidedBy(note);
    for (let s = 0; s < Section.COUNT; s++) out[at + 2 + s] = fw.judge.rule(note, s);
  }

  override describeVerdict(r: TraceRecordView, _ctx: TraceDescribeContext): string | undefined {
    // Only a judged packet carries an outcome (Batch.note is -1 until a node sets it).
    if (r.note < 0) return undefined;
    const generation = r.noteDetail(0);
    const fw = this.firewall;
    const rules = Array.from({ length: Section.COUNT }, (_, s) => r.noteDetail(2 + s));
    // Rule indices are the plan's: they name rules only under the plan that judged.
    const rule = generation === fw.generation ? fw.describeRules(r.noteDetail(1), rules) : `judged by firewall generation ${generation}, replaced since (now ${fw.generation})`;
    if (!r.hasIp || r.noteAddress === r.dst) return rule;
    const port = (r.protocol === IPPROTO_TCP || r.protocol === IPPROTO_UDP) && r.fragmentOffset === 0 ? `:${r.l4 & 0xffff}` : '';
    return `${rule}, judged as to backend ${ipv4ToString(r.noteAddress)}${port}`;
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const mark = batch.ctMark;
    const flags = batch.flags;
    if (this.src.length < count) this.grow(count);
    // Pass 1: the first packets' fields, then their outcomes all at once
    // (classifyBatch: the table walks of different packets overlap).
    const b = batch.arena;
    const lb = this.lb;
    let n = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const m = mark[s];
      if (m === CtMark.NONE || (flags[s] & PacketFlag.LOCAL_ORIGIN) !== 0) continue;
      const o = batch.l3[s];
      this.src[n] = (b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15];
      // A load-balanced packet goes to its backend (a NAT-mode one carries that address already).
      const dst = m === CtMark.LB && lb !== undefined ? lb.address(batch.ctRef[s]) : (b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19];
      this.dst[n] = dst;
      batch.noteAddress[s] = dst;
      const proto = b[o + 9];
      const l4 = o + ((b[o] & 0x0f) << 2);
      const end = o + ((b[o + 2] << 8) | b[o + 3]);
      this.proto[n] = proto;
      // Ports of a first fragment are in it; ct-input dropped TCP and UDP too short to hold them.
      this.dport[n] = hasPorts(proto) && l4 + 4 <= end ? (b[l4 + 2] << 8) | b[l4 + 3] : 0;
      n++;
    }
    if (n > 0) this.firewall.judge.classifyBatch(this.src, this.dst, this.proto, this.dport, n, this.outcome);
    // Pass 2: the verdicts, in arrival order.
    let w = 0;
    let j = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      if (mark[s] === CtMark.NONE || (flags[s] & PacketFlag.LOCAL_ORIGIN) !== 0 || this.judge(batch, s, this.outcome[j++], d)) vec[w++] = s;
    }
    d.enqueueMany(this, this.next.rewrite, vec, w);
  }

  /** Room for `count` first packets (a larger vector than any before: once, not per packet). */
  private grow(count: number): void {
    this.src = new Int32Array(count);
    this.dst = new Int32Array(count);
    this.proto = new Uint8Array(count);
    this.dport = new Uint16Array(count);
    this.outcome = new Int32Array(count);
  }

  /** A first packet and its outcome: true when it goes on (allowed, or not the firewall's business). */
  private judge(batch: Batch, s: number, outcome: number, d: Dispatch): boolean {
    const fw = this.firewall;
    batch.note[s] = outcome;
    if (outcome === NOT_INVOLVED) return true;
    fw.countHits(outcome);
    const action = fw.judge.action(outcome);
    if (action === Action.ALLOW) {
      batch.flags[s] |= PacketFlag.TRACK;
      d.counters.add(this.counter.allowed, batch.length[s]);
      return true;
    }
    if (action === Action.REJECT) {
      // Counted (and traced) as judged, then put back as it arrived for the error to quote.
      d.countDrop(this, this.reason.rejected, s);
      restoreArrivedDestination(batch, s, batch.ctMark[s]);
      batch.ctMark[s] = CtMark.NONE;
      batch.icmpError[s] = REJECT_ERROR;
      d.enqueue(this, this.next.icmpError, s);
      return false;
    }
    d.drop(this, this.reason.denied, s);
    return false;
  }
}
