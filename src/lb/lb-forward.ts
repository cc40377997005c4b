// lb-forward: routes a direct-return packet to its backend, in place of
// ip4-lookup (the packet keeps the VIP as its destination, which is not
// routed). ct-input chose the backend (Batch.ctRef, PacketFlag.LB_DSR):
//
//   dsr-l2    the backend must be on a connected subnet: the next hop is the
//             backend itself, so ip4-output writes its MAC (the backend owns
//             the VIP on its loopback and answers the client directly).
//   dsr-ipip, dsr-gue
//             routed towards the backend's address, as the outer header will
//             be (lb-encap wraps the packet after nat-output has started its
//             flow). The tunnel adds 20 (IPIP) or 32 (GUE) bytes: a packet
//             with DF set that would no longer fit the egress MTU gets ICMP
//             fragmentation needed from here, to the client, carrying the MTU
//             left for it (egress MTU minus the tunnel), RFC 1191.
//
// A flow's first packet goes on to the firewall (if any: it judges the
// packet by this backend's address, not the VIP) and nat-output, as routed
// packets go, to be judged and to start its flow; a pinned flow's
// packets skip both (nothing there is for them): straight to ip4-rewrite,
// or lb-encap.
import { NexthopKind } from '../route/nexthops.js';
import { NO_ROUTE } from '../route/fib-view.js';
import { CtMark, OffloadMeta, PacketFlag, type Batch } from '../pipeline/batch.js';
import { icmpErrorCode, type ForwardingContext } from '../pipeline/context.js';
import { defineNode, PipelineNode, type Dispatch } from '../pipeline/node.js';
import { gsoSegmentLength } from '../pipeline/offload.js';
import { flowHash } from '../pipeline/flow-hash.js';
import type { TraceDescribeContext, TraceRecordView } from '../pipeline/trace-recorder.js';
import { ICMP_DEST_UNREACHABLE, ICMP_UNREACH_FRAG_NEEDED } from '../wire/icmp.js';
import { ipv4ToString } from '../wire/address.js';
import { LbMode } from './lb-config.js';
import type { LoadBalancer } from './load-balancer.js';
import { BackendRoutes } from './backend-routes.js';

/** Bytes a tunnel mode adds: outer IPv4 header (and UDP + GUE headers). */
export const IPIP_OVERHEAD = 20;
export const GUE_OVERHEAD = 20 + 8 + 4;

const spec = defineNode({
  name: 'lb-forward',
  next: { out: 'nat-output', rewrite: 'ip4-rewrite', encap: 'ip4-rewrite', icmpError: 'icmp-error' },
  drops: {
    backendUnreachable: 'no route to the load-balancer backend (or it is routed to a blackhole, the router itself, ...)',
    backendNotAdjacent: 'a dsr-l2 backend that is not on a connected subnet (MAC rewrite needs one link)',
    fragNeeded: 'RFC 1191: too big for the egress MTU once tunnelled, with DF set (ICMP fragmentation needed sent to the client)',
  },
});

export class LbForward extends PipelineNode<typeof spec> {
  /** Per backend: the next hop "via the backend" on its link (dsr-l2), made on first use; -1 none yet. */
  private adjacentNh = new Int32Array(0);
  /** The connected route's next hop each adjacentNh entry was derived from (routes may change). */
  private adjacentFrom = new Int32Array(0);
  /** The next-hop table adjacentNh's entries were interned into. */
  private adjacentTable: unknown = undefined;

  constructor(
    private readonly ctx: ForwardingContext,
    private readonly lb: LoadBalancer,
  ) {
    super(spec);
  }

  override describeVerdict(r: TraceRecordView, _ctx: TraceDescribeContext): string | undefined {
    return r.hasIp ? `to backend ${ipv4ToString(this.lb.address(r.note) >>> 0)}` : undefined;
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const { fib, nexthops } = this.ctx;
    const lb = this.lb;
    const mtus = this.ctx.ports.mtu;
    const R = this.reason;
    const N = this.next;
    let w = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const backend = batch.ctRef[s];
      const o = batch.l3[s];
      const total = (b[o + 2] << 8) | b[o + 3];
      const addr = lb.address(backend);
      batch.note[s] = backend;
      // A flow's first packet is counted when nat-output starts its flow: the firewall may deny it on the way.
      if (batch.ctMark[s] === CtMark.NONE) lb.countPacket(backend, total);
      // The backend's route, remembered per backend while the FIB is the same object (an ECMP route is resolved per packet).
      let nh = this.routes.get(fib, backend);
      if (nh < 0) {
        nh = fib.lookup(addr >>> 0);
        if (nh === NO_ROUTE) {
          d.drop(this, R.backendUnreachable, s);
          continue;
        }
        this.routes.remember(fib, backend, nh, this.lb.tables.backendCapacity);
      }
      if (nexthops.kind[nh] === NexthopKind.ECMP) nh = nexthops.resolve(nh, flowHash(b, o));
      const kind = nexthops.kind[nh];
      if (kind !== NexthopKind.GATEWAY && kind !== NexthopKind.ATTACHED) {
        d.drop(this, R.backendUnreachable, s);
        continue;
      }
      const port = nexthops.port[nh];
      const mode = lb.mode(backend);
      if (mode === LbMode.DSR_L2) {
        if (kind !== NexthopKind.ATTACHED) {
          d.drop(this, R.backendNotAdjacent, s);
          continue;
        }
        batch.nextHop[s] = this.viaBackend(backend, nh, port, addr);
        batch.flags[s] &= ~PacketFlag.LB_DSR; // nothing left for lb-encap
      } else {
        const room = mtus[port] - (mode === LbMode.DSR_GUE ? GUE_OVERHEAD : IPIP_OVERHEAD);
        const om = s * OffloadMeta.WORDS;
        const gso = batch.offload[om + OffloadMeta.GSO_TYPE];
        const size = gso === 0 ? total : gsoSegmentLength(b, o, gso, batch.offload[om + OffloadMeta.GSO_SIZE], total);
        if (size > room && (b[o + 6] & 0x40) !== 0) {
          d.countDrop(this, R.fragNeeded, s);
          batch.flags[s] &= ~PacketFlag.LB_DSR;
          batch.icmpError[s] = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_FRAG_NEEDED, room);
          d.enqueue(this, this.next.icmpError, s);
          continue;
        }
        batch.nextHop[s] = nh;
      }
      batch.txPort[s] = port;
      if (batch.ctMark[s] !== CtMark.NONE) vec[w++] = s;
      else d.enqueue(this, mode === LbMode.DSR_L2 ? N.rewrite : N.encap, s);
    }
    d.enqueueMany(this, N.out, vec, w);
  }

  /** Each backend's route, looked up once per FIB. */
  private readonly routes = new BackendRoutes();

  /** The next hop that sends to the backend's own MAC on its link: a gateway entry naming the backend. */
  private viaBackend(backend: number, connected: number, port: number, addr: number): number {
    // Entries interned into an older next-hop table mean nothing in a newly published one.
    if (this.ctx.nexthops !== this.adjacentTable) {
      this.adjacentTable = this.ctx.nexthops;
      this.adjacentNh.fill(-1);
      this.adjacentFrom.fill(-1);
    }
    if (backend >= this.adjacentNh.length) {
      const n = Math.max(64, this.lb.tables.backendCapacity);
      this.adjacentNh = new Int32Array(n).fill(-1);
      this.adjacentFrom = new Int32Array(n).fill(-1);
    }
    if (this.adjacentNh[backend] < 0 || this.adjacentFrom[backend] !== connected) {
      this.adjacentNh[backend] = this.ctx.nexthops.intern(NexthopKind.GATEWAY, port, addr >>> 0);
      this.adjacentFrom[backend] = connected;
    }
    return this.adjacentNh[backend];
  }
}
