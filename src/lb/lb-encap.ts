// lb-encap: wraps a direct-return packet for a tunnel-mode backend, after
// nat-output has started its flow (which keys the flow by the packet as the
// client sent it) and before ip4-rewrite (which then treats the outer header
// as any routed datagram: TTL, MTU, fragmentation when DF is clear).
//
//   dsr-ipip  outer IPv4, protocol 4 (RFC 2003).
//   dsr-gue   outer IPv4 + UDP to the VIP's GUE port + a 4-byte GUE header
//             (version 0, protocol 4: draft-ietf-intarea-gue). The UDP
//             source port comes from the flow's hash, so a receiver that
//             spreads by UDP ports (RSS) spreads the flows; the UDP checksum
//             is 0 (allowed for IPv4, as Linux's fou sends it).
//
// The outer source is the egress port's address, the destination the
// backend; DF and TOS are copied from the inner header (the MTU check that
// needs it was lb-forward's), the TTL is 64. The inner packet is not
// changed: the backend sees the client's own address. A TCP super-packet
// from an offload port is cut into segments first (pipeline/tcp-segment.ts),
// each wrapped: a tunnel carries segments.
import { Fate, OffloadMeta, PacketFlag, type Batch } from '../pipeline/batch.js';
import { SEGMENT_NO_BUFFER, segmentTcp } from '../pipeline/tcp-segment.js';
import type { ForwardingContext } from '../pipeline/context.js';
import { defineNode, PipelineNode, type Dispatch } from '../pipeline/node.js';
import { completeChecksum } from '../pipeline/offload.js';
import { writeIpv4 } from '../wire/address.js';
import { fillIpv4Checksum, IPPROTO_UDP } from '../wire/ipv4.js';
import { LbMode } from './lb-config.js';
import { GUE_OVERHEAD, IPIP_OVERHEAD } from './lb-forward.js';
import { lbFlowHash } from './lb-hash.js';
import type { LoadBalancer } from './load-balancer.js';

const IPPROTO_IPIP = 4;
const OUTER_TTL = 64;
/** GUE's outer UDP source ports: the dynamic range's top 16384, picked by flow hash. */
const GUE_SPORT_BASE = 49152;

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
  /** IP ids of outer headers (needed only when DF is clear and the outer datagram gets fragmented). */
  private nextId = 0;
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
    const inner = (b[o + 2] << 8) | b[o + 3];
    const n = o - overhead;
    const total = inner + overhead;
    const id = this.nextId;
    this.nextId = (id + 1) & 0xffff;
    const src = this.ctx.ports.address[batch.txPort[s]];
    const dst = lb.address(backend);
    b[n] = 0x45;
    b[n + 1] = b[o + 1];
    b[n + 2] = total >> 8;
    b[n + 3] = total & 0xff;
    b[n + 4] = id >> 8;
    b[n + 5] = id & 0xff;
    b[n + 6] = b[o + 6] & 0x40;
    b[n + 7] = 0;
    b[n + 8] = OUTER_TTL;
    b[n + 9] = gue ? IPPROTO_UDP : IPPROTO_IPIP;
    writeIpv4(b, n + 12, src);
    writeIpv4(b, n + 16, dst);
    fillIpv4Checksum(b, n);
    if (gue) {
      const u = n + 20;
      const sport = GUE_SPORT_BASE + (this.innerHash(b, o) & 0x3fff);
      const gport = lb.guePort(backend);
      const ulen = total - 20;
      b[u] = sport >> 8;
      b[u + 1] = sport & 0xff;
      b[u + 2] = gport >> 8;
      b[u + 3] = gport & 0xff;
      b[u + 4] = ulen >> 8;
      b[u + 5] = ulen & 0xff;
      b[u + 6] = 0;
      b[u + 7] = 0;
      // GUE header: version 0, no control, no optional fields, protocol 4 (IPv4), no flags.
      b[u + 8] = 0;
      b[u + 9] = IPPROTO_IPIP;
      b[u + 10] = 0;
      b[u + 11] = 0;
      d.counters.add(this.counter.gue, total);
    } else d.counters.add(this.counter.ipip, total);
    batch.l3[s] = n;
    batch.length[s] += overhead;
  }

  /** The inner packet's flow hash (5-tuple where it has ports), for the GUE source port. */
  private innerHash(b: Uint8Array, o: number): number {
    const src = (b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15];
    const dst = (b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19];
    const l4 = o + ((b[o] & 0x0f) << 2);
    const fragmented = (((b[o + 6] << 8) | b[o + 7]) & 0x3fff) !== 0;
    const ports = fragmented ? 0 : (b[l4] << 24) | (b[l4 + 1] << 16) | (b[l4 + 2] << 8) | b[l4 + 3];
    return lbFlowHash(src, dst, ports, b[o + 9]);
  }
}
