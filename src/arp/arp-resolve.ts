// arp-resolve: datagrams whose next hop has no MAC yet. Each is copied into
// the bounded pending queue (the batch slot is reused when the batch ends),
// and the first one for a neighbor sends an ARP request. Retries and the
// give-up deadline are the timer's (ArpResolver.service).
//
// A datagram for a neighbor whose entry expired in use (less than a
// reachable time ago) is not held: it leaves with the MAC the entry had, and
// the first one sends a unicast ARP request to confirm it (the entry turns
// STALE until the reply; neighbor-table.ts says why).
//
// The queue keeps bytes, not offload metadata: a partial checksum is completed
// before a datagram is queued, and a TCP super-packet is dropped
// (gso-unresolved; TCP sends it again once the neighbor is known).
import { ETH_HEADER_LEN } from '../wire/ethernet.js';
import { ipv4Dst, ipv4TotalLength } from '../wire/ipv4.js';
import { Fate, OffloadMeta, PacketFlag, type Batch } from '../pipeline/batch.js';
import { completeChecksum } from '../pipeline/offload.js';
import type { ForwardingContext } from '../pipeline/context.js';
import { defineNode, OUTPUT, PipelineNode, type Dispatch } from '../pipeline/node.js';
import { Verdict, type TraceRecordView } from '../pipeline/trace-recorder.js';
import { NeighborState } from './neighbor-table.js';
import { ARP_MAX_PROBES, type ArpResolver } from './resolver.js';

const spec = defineNode({
  name: 'arp-resolve',
  next: { tx: OUTPUT, icmpError: 'icmp-error' },
  drops: {
    neighborTableFull: 'no room for another neighbor entry',
    queueFull: 'the pending queue has no free entry',
    queueOverflow: 'an older packet for the same neighbor was dropped to make room',
    resolutionFailed: 'no ARP reply in time (ICMP host unreachable sent)',
    gsoUnresolved: 'a TCP super-packet (offload) whose next hop has no MAC yet: not queued',
  },
  counters: {
    queued: 'datagrams held until their next hop is resolved',
    requestsSent: 'ARP requests sent for a new resolution',
    sentStale: 'datagrams sent with the last known MAC of a neighbor being confirmed again (its entry expired in use)',
    refreshesSent: 'unicast ARP requests confirming a neighbor whose entry expired in use',
    timerNoBuffer: 'packets lost by the ARP timer for want of a slot',
  },
});

export class ArpResolve extends PipelineNode<typeof spec> {
  private readonly evicted = new Uint32Array(1);

  constructor(
    private readonly ctx: ForwardingContext,
    private readonly arp: ArpResolver,
  ) {
    super(spec);
  }

  override describeVerdict(r: TraceRecordView): string | undefined {
    if (r.verdict === Verdict.CONSUMED) return 'held until the next hop answers ARP';
    if (r.verdict === Verdict.NEXT && r.index === this.next.tx) return 'sent an ARP request; the datagram waits for the reply';
    return undefined;
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const ctx = this.ctx;
    const arp = this.arp;
    const nt = arp.neighbors;
    const q = arp.pending;
    const now = ctx.clock.nowMs();
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = batch.l3[s];
      const port = batch.txPort[s];
      const target = ctx.nexthops.neighborAddress(batch.nextHop[s], ipv4Dst(b, o));
      const stale = nt.findStale(port, target, now, arp.reachableMs);
      if (stale >= 0) {
        this.sendStale(batch, s, stale, port, now, d);
        continue;
      }
      if (batch.hasOffload(s)) {
        if (batch.offload[s * OffloadMeta.WORDS + OffloadMeta.GSO_TYPE] !== 0) {
          d.drop(this, this.reason.gsoUnresolved, s);
          continue;
        }
        completeChecksum(batch, s);
      }
      const n = nt.findOrInsert(port, target);
      if (n < 0) {
        d.drop(this, this.reason.neighborTableFull, s);
        continue;
      }
      const e = q.add(port, target, b, o, ipv4TotalLength(b, o), this.evicted);
      if (e < 0) {
        d.drop(this, this.reason.queueFull, s);
        continue;
      }
      if (this.evicted[0] !== 0) d.counters.add(this.dropBase + this.reason.queueOverflow, this.evicted[0]);
      q.rxPort[e] = batch.rxPort[s];
      // Its fate is counted now (queued); the trace ends here: it leaves in a later batch, whose trace ids differ.
      q.flags[e] = (batch.flags[s] & ~PacketFlag.TRACED) | PacketFlag.ACCOUNTED;
      q.tsSec[e] = batch.tsSec[s];
      q.tsNsec[e] = batch.tsNsec[s];
      d.counters.add(this.counter.queued, batch.length[s]);
      if (nt.state[n] !== NeighborState.INCOMPLETE) {
        nt.state[n] = NeighborState.INCOMPLETE;
        nt.deadlineMs[n] = now + arp.resolveTimeoutMs;
        nt.probes[n] = 0;
        nt.nextProbeMs[n] = now;
      }
      if (nt.probes[n] === 0 && nt.probes[n] < ARP_MAX_PROBES) {
        // Reuse this datagram's slot for the request: its bytes are safe in the queue.
        arp.writeRequest(batch, s, port, target);
        // No longer an IPv4 datagram: a trace record of it must not read its bytes as one.
        batch.flags[s] &= ~PacketFlag.IP4_VALID;
        nt.probes[n] = 1;
        nt.nextProbeMs[n] = now + arp.resolveTimeoutMs / ARP_MAX_PROBES;
        d.counters.add(this.counter.requestsSent, batch.length[s]);
        d.account(s, Fate.QUEUED);
        d.enqueue(this, this.next.tx, s);
      } else {
        d.free(this, s, Fate.QUEUED);
      }
    }
  }

  /**
   * Sends datagram `s` to neighbor slot `n`'s last known MAC, as ip4-output
   * would (its offload metadata is already fit for the port: ip4-output
   * dealt with it). The first datagram after the entry expired marks it
   * STALE and sends a unicast request in a generated slot.
   */
  private sendStale(batch: Batch, s: number, n: number, port: number, now: number, d: Dispatch): void {
    const arp = this.arp;
    const nt = arp.neighbors;
    if (nt.state[n] !== NeighborState.STALE) {
      arp.startRefresh(n, now);
      const f = batch.allocGeneratedAt(port, 0, 0);
      // Without a free slot the timer sends the next request.
      if (f >= 0) {
        arp.writeProbe(batch, f, n);
        d.counters.add(this.counter.refreshesSent, batch.length[f]);
        d.enqueue(this, this.next.tx, f);
      }
    }
    const b = batch.arena;
    const o = batch.l3[s];
    const e = o - ETH_HEADER_LEN;
    arp.writeIp4Ethernet(b, e, port, n);
    batch.start[s] = e;
    batch.length[s] = ETH_HEADER_LEN + ipv4TotalLength(b, o);
    d.counters.add(this.counter.sentStale, batch.length[s]);
    d.enqueue(this, this.next.tx, s);
  }
}
