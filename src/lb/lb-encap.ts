// lb-encap: wraps a direct-return packet for a tunnel-mode backend, after
// nat-output has started its flow (which keys the flow by the packet as the
// client sent it) and before ip4-rewrite (which then treats the outer header
// as any routed datagram: TTL, MTU, fragmentation when DF is clear). The
// headers (IPIP, or UDP + GUE) are tunnel-header.ts's: the fast path
// (pipeline/nodes/flow-encap.ts) writes the same for established flows.
//
// The outer source is the egress port's address, the destination the
// backend, the TTL 64 (the MTU check that needs the inner DF was
// lb-forward's). The inner packet is not changed: the backend sees the
// client's own address. A TCP super-packet from an offload port is cut into
// segments first (pipeline/tcp-segment.ts), each wrapped: a tunnel carries
// segments.
import { Fate, OffloadMeta, PacketFlag, type Batch } from '../pipeline/batch.js';
import { SEGMENT_NO_BUFFER, segmentTcp } from '../pipeline/tcp-segment.js';
import type { ForwardingContext } from '../pipeline/context.js';
import { defineNode, PipelineNode, type Dispatch } from '../pipeline/node.js';
import { completeChecksum } from '../pipeline/offload.js';
import { LbMode } from './lb-config.js';
import { GUE_OVERHEAD, IPIP_OVERHEAD } from './lb-forward.js';
import type { LoadBalancer } from './load-balancer.js';
import { gueSourcePort, OUTER_TTL, outerIpv4Id, writeTunnelHeaders } from './tunnel-header.js';

const spec = defineNode({
  name: 'lb-encap',
  next: { rewrite: 'ip4-rewrite' },
  drops: {
    superPacket: 'a TCP super-packet (offload) for a tunnel-mode backend that could not be segmented (not TCP/IPv4 with a sane gso_size)',
    noBuffer: 'not enough free slots for the segments of a TCP super-packet for a tunnel-mode backend: dropped whole',
  },
  counters: {
    ipip: 'packets sent to a backend in IPIP (dsr-ipip)',
    gue: 'packets sent to a backend in GUE (dsr-gue)',
    segmentsMade: 'TCP segments cut from super-packets (offload ports) before tunnelling: a tunnel carries segments',
  },
});

export class LbEncap extends PipelineNode<typeof spec> {
  /** Slots of the current super-packet's segments. */
  private readonly segments = new Uint16Array(1024);

  constructor(
    private readonly ctx: ForwardingContext,
    private readonly lb: LoadBalancer,
  ) {
    super(spec);
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    let w = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      batch.flags[s] &= ~PacketFlag.LB_DSR;
      // TTL 1: ip4-rewrite answers time exceeded quoting the packet as the client sent it.
      if (b[batch.l3[s] + 8] <= 1) {
        vec[w++] = s;
        continue;
      }
      if (batch.offload[s * OffloadMeta.WORDS + OffloadMeta.GSO_TYPE] === 0) {
        // The tunnel's far end will not complete a partial checksum: complete it now.
        completeChecksum(batch, s);
        this.wrap(batch, s, d);
        vec[w++] = s;
        continue;
      }
      // A super-packet (offload port): a tunnel carries segments, each wrapped.
      const n = segmentTcp(batch, s, this.segments);
      if (n < 0) {
        d.drop(this, n === SEGMENT_NO_BUFFER ? this.reason.noBuffer : this.reason.superPacket, s);
        continue;
      }
      for (let i = 0; i < n; i++) {
        const f = this.segments[i];
        batch.ctRef[f] = batch.ctRef[s];
        d.counters.add(this.counter.segmentsMade, batch.length[f]);
        this.wrap(batch, f, d);
        d.enqueue(this, this.next.rewrite, f);
      }
      d.free(this, s, Fate.FORWARDED);
    }
    d.enqueueMany(this, this.next.rewrite, vec, w);
  }

  /** Puts the outer headers in front of slot s's packet (to backend ctRef[s], from its egress port). */
  private wrap(batch: Batch, s: number, d: Dispatch): void {
    const b = batch.arena;
    const lb = this.lb;
    const o = batch.l3[s];
    const backend = batch.ctRef[s];
    const gue = lb.mode(backend) === LbMode.DSR_GUE;
    const overhead = gue ? GUE_OVERHEAD : IPIP_OVERHEAD;
    const n = o - overhead;
    const sport = gue ? gueSourcePort(b, o) : 0;
    const total = writeTunnelHeaders(b, n, o, gue, this.ctx.ports.address[batch.txPort[s]] | 0, lb.address(backend) | 0, sport, lb.guePort(backend), outerIpv4Id(b, o), OUTER_TTL);
    d.counters.add(gue ? this.counter.gue : this.counter.ipip, total);
    batch.l3[s] = n;
    batch.length[s] += overhead;
  }
}
