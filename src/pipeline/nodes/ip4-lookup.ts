// ip4-lookup: longest-prefix match on the destination, then the route's
// action: forward (to ip4-rewrite with the egress port and next hop), deliver
// locally, drop silently (blackhole), or drop with an ICMP error (no route,
// unreachable, prohibit). ECMP groups pick a member by flow hash. The FIB is
// read for the whole vector first (lookupBatch: several walks in flight, so
// their cache misses overlap), then each packet acts on its next hop.
import { ICMP_DEST_UNREACHABLE, ICMP_UNREACH_ADMIN_PROHIBITED, ICMP_UNREACH_NET } from '../../wire/icmp.js';
import { ipv4Dst } from '../../wire/ipv4.js';
import { NexthopKind } from '../../route/nexthops.js';
import type { Batch } from '../batch.js';
import { PacketFlag } from '../batch.js';
import { NO_ROUTE } from '../../route/fib-view.js';
import { icmpErrorCode, type ForwardingContext } from '../context.js';
import { flowHash } from '../flow-hash.js';
import { lookupInto } from './lookup-batch.js';
import { defineNode, PipelineNode, type Dispatch } from '../node.js';
import type { TraceDescribeContext, TraceRecordView } from '../trace-recorder.js';

const spec = defineNode({
  name: 'ip4-lookup',
  next: { rewrite: 'ip4-rewrite', local: 'ip4-local', icmpError: 'icmp-error' },
  drops: {
    noRoute: 'no route to the destination (ICMP net unreachable sent)',
    blackhole: 'blackhole route: dropped silently',
    unreachable: 'unreachable route (ICMP net unreachable sent)',
    prohibit: 'prohibit route (ICMP administratively prohibited sent)',
    directedBroadcast: "RFC 1812 5.3.5.2: a connected subnet's broadcast address is not forwarded",
    linkBroadcast: 'RFC 1812 5.3.4: a unicast datagram that arrived as a link-layer broadcast is not forwarded',
    localLoop: 'a packet the router made is addressed to the router',
  },
});

const NET_UNREACHABLE = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_NET);
const ADMIN_PROHIBITED = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_ADMIN_PROHIBITED);

export class Ip4Lookup extends PipelineNode<typeof spec> {
  constructor(private readonly ctx: ForwardingContext) {
    super(spec);
  }
  override describeVerdict(r: TraceRecordView, ctx: TraceDescribeContext): string | undefined {
    return r.hasIp ? `route ${ctx.route(r.dst)}` : undefined;
  }


  /** The vector's destinations and their next hops (lookupInto fills nh from dst for the whole vector at once). */
  private dst = new Uint32Array(0);
  private nh = new Int32Array(0);

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const { fib, nexthops } = this.ctx;
    if (this.dst.length < vec.length) {
      this.dst = new Uint32Array(vec.length);
      this.nh = new Int32Array(vec.length);
    }
    const dst = this.dst;
    const nhs = this.nh;
    const kinds = nexthops.kind;
    const nhPort = nexthops.port;
    const l3 = batch.l3;
    const flags = batch.flags;
    const nextHop = batch.nextHop;
    const txPort = batch.txPort;
    const N = this.next;
    const R = this.reason;
    for (let k = 0; k < count; k++) dst[k] = ipv4Dst(b, l3[vec[k]]);
    lookupInto(fib, dst, nhs, count);
    let w = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = l3[s];
      let nh = nhs[k];
      if (nh === NO_ROUTE) {
        if ((flags[s] & PacketFlag.LOCAL_ORIGIN) !== 0) d.drop(this, R.noRoute, s);
        else {
          d.countDrop(this, R.noRoute, s);
          batch.icmpError[s] = NET_UNREACHABLE;
          d.enqueue(this, N.icmpError, s);
        }
        continue;
      }
      let kind = kinds[nh];
      if (kind === NexthopKind.ECMP) {
        const h = flowHash(b, o);
        batch.flowHash[s] = h;
        nh = nexthops.resolve(nh, h);
        kind = kinds[nh];
      }
      switch (kind) {
        case NexthopKind.GATEWAY:
        case NexthopKind.ATTACHED:
          // Delivered locally (to the router's own address) it may be; forwarded, it would be a host's
          // broadcast leaking onto another link. (The ICMP error it could earn is not sent either.)
          if ((flags[s] & PacketFlag.L2_BROADCAST) !== 0) {
            d.drop(this, R.linkBroadcast, s);
            break;
          }
          nextHop[s] = nh;
          txPort[s] = nhPort[nh];
          vec[w++] = s;
          break;
        case NexthopKind.LOCAL:
          if ((flags[s] & PacketFlag.LOCAL_ORIGIN) !== 0) d.drop(this, R.localLoop, s);
          else d.enqueue(this, N.local, s);
          break;
        case NexthopKind.BLACKHOLE:
          d.drop(this, R.blackhole, s);
          break;
        case NexthopKind.UNREACHABLE:
        case NexthopKind.PROHIBIT: {
          const reason = kind === NexthopKind.UNREACHABLE ? R.unreachable : R.prohibit;
          if ((flags[s] & PacketFlag.LOCAL_ORIGIN) !== 0) d.drop(this, reason, s);
          else {
            d.countDrop(this, reason, s);
            batch.icmpError[s] = kind === NexthopKind.UNREACHABLE ? NET_UNREACHABLE : ADMIN_PROHIBITED;
            d.enqueue(this, N.icmpError, s);
          }
          break;
        }
        default:
          d.drop(this, R.directedBroadcast, s);
      }
    }
    d.enqueueMany(this, N.rewrite, vec, w);
  }
}
