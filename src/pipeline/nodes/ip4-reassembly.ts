// ip4-reassembly: fragments of datagrams addressed to the router (ip4-local
// sends them here). Each fragment is taken into the Reassembler; the one that
// completes a datagram brings it back whole, in a jumbo slot, to ip4-local
// (a fragmented ping is answered; the reply is fragmented on the way out).
// The timer (service(), run by the router before each batch) gives up the
// datagrams whose time ran out and answers ICMP time exceeded, fragment
// reassembly, for those whose first fragment came.
import { fillIpv4Checksum, setIpv4FragOffset, setIpv4Mf, setIpv4TotalLength } from '../../wire/ipv4.js';
import { ETH_HEADER_LEN } from '../../wire/ethernet.js';
import { ICMP_TIME_EXCEEDED, ICMP_TIME_EXCEEDED_REASSEMBLY } from '../../wire/icmp.js';
import { Fate, PacketFlag, type Batch } from '../batch.js';
import type { Clock } from '../clock.js';
import { icmpErrorCode } from '../context.js';
import { defineNode, PipelineNode, type Dispatch } from '../node.js';
import { FragmentResult, Reassembler } from '../reassembly.js';
import { Verdict, type TraceRecordView } from '../trace-recorder.js';
import { ICMP_ERROR_MAX_LEN } from '../../wire/icmp.js';

const spec = defineNode({
  name: 'ip4-reassembly',
  next: { local: 'ip4-local', icmpError: 'icmp-error' },
  drops: {
    badFragment: 'a fragment that cannot belong to a valid datagram (past 65535 bytes, a middle piece not a multiple of 8, contradicting the length): its datagram is given up',
    noContext: 'every reassembly context is busy with another datagram',
    noBuffer: 'no free slot for the whole datagram',
    timeout: 'the datagram was not complete in time (ICMP time exceeded, fragment reassembly, sent when its first fragment came)',
  },
  counters: {
    reassembled: 'datagrams to the router put back together',
    timerNoBuffer: 'ICMP time exceeded not sent for want of a slot',
  },
});

const REASSEMBLY_TIME_EXCEEDED = icmpErrorCode(ICMP_TIME_EXCEEDED, ICMP_TIME_EXCEEDED_REASSEMBLY);

export class Ip4Reassembly extends PipelineNode<typeof spec> {
  private readonly expired: (c: number) => void;
  private serviceBatch: Batch | undefined;
  private serviceDispatch: Dispatch | undefined;

  constructor(
    readonly reassembler: Reassembler,
    private readonly clock: Clock,
  ) {
    super(spec);
    this.expired = (c) => this.answerTimeout(c);
  }

  override describeVerdict(r: TraceRecordView): string | undefined {
    return r.verdict === Verdict.CONSUMED ? 'taken for reassembly' : undefined;
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const r = this.reassembler;
    const now = this.clock.nowMs();
    const b = batch.arena;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const c = r.add(b, batch.l3[s], batch.rxPort[s], now);
      if (c === FragmentResult.BAD) {
        d.drop(this, this.reason.badFragment, s);
        continue;
      }
      if (c === FragmentResult.NO_CONTEXT) {
        d.drop(this, this.reason.noContext, s);
        continue;
      }
      if (c === FragmentResult.PENDING) {
        d.free(this, s, Fate.LOCAL);
        continue;
      }
      // The last piece came: the datagram goes on whole, in a jumbo slot.
      const j = batch.allocJumbo(s);
      if (j < 0) {
        r.close(c);
        d.drop(this, this.reason.noBuffer, s);
        continue;
      }
      d.free(this, s, Fate.LOCAL);
      const o = batch.slotStart(j) + ETH_HEADER_LEN;
      const total = r.datagramLength(c);
      r.copyDatagram(c, b, o, total - r.firstHeaderLength(c));
      r.close(c);
      setIpv4TotalLength(b, o, total);
      setIpv4Mf(b, o, false);
      setIpv4FragOffset(b, o, 0);
      fillIpv4Checksum(b, o);
      batch.l3[j] = o;
      batch.start[j] = o - ETH_HEADER_LEN;
      batch.length[j] = ETH_HEADER_LEN + total;
      // Its fragments were counted as delivered: the whole is not counted again.
      batch.flags[j] = PacketFlag.IP4_VALID | PacketFlag.CHILD;
      d.counters.add(this.counter.reassembled, total);
      d.enqueue(this, this.next.local, j);
    }
  }

  /** Timer work, before each batch: gives up datagrams whose time ran out (`d`: the graph). */
  service(batch: Batch, d: Dispatch): void {
    this.serviceBatch = batch;
    this.serviceDispatch = d;
    this.reassembler.service(this.clock.nowMs(), this.expired);
  }

  /** ICMP time exceeded (fragment reassembly) about a datagram given up, quoting its first fragment; nothing when that never came. */
  private answerTimeout(c: number): void {
    const batch = this.serviceBatch!;
    const g = this.serviceDispatch!;
    const r = this.reassembler;
    g.counters.add(this.dropBase + this.reason.timeout, 0);
    if (!r.hasFirst(c)) return;
    const f = batch.allocGeneratedAt(r.portOf(c), 0, 0);
    if (f < 0) {
      g.counters.add(this.counter.timerNoBuffer, 0);
      return;
    }
    // The first fragment as it came (icmp-error quotes as much of it as fits in 576 bytes).
    const o = batch.slotStart(f) + ETH_HEADER_LEN;
    const firstLength = Math.min(r.firstFragmentLength(c), ICMP_ERROR_MAX_LEN);
    r.copyDatagram(c, batch.arena, o, Math.max(0, firstLength - r.firstHeaderLength(c)));
    batch.l3[f] = o;
    batch.start[f] = o - ETH_HEADER_LEN;
    batch.length[f] = ETH_HEADER_LEN + firstLength;
    // About a datagram that arrived (not the router's own), already counted when its fragments came.
    batch.flags[f] = PacketFlag.IP4_VALID | PacketFlag.ACCOUNTED;
    batch.icmpError[f] = REASSEMBLY_TIME_EXCEEDED;
    g.enqueue(this, this.next.icmpError, f);
  }
}
