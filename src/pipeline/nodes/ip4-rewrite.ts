// ip4-rewrite: the forwarding checks that depend on the egress port, in the
// order RFC 1812 gives them: TTL (5.3.1: a datagram whose TTL would reach
// zero is dropped with ICMP time exceeded), then MTU (5.3.6 / RFC 1191: too
// big with DF set -> ICMP fragmentation needed carrying the next-hop MTU; DF
// clear -> fragment). Then the TTL is decremented with an incremental
// checksum update (RFC 1624). Packets the router made itself keep their TTL.
//
// A TCP super-packet from an offload TAP (GSO metadata in batch.offload) is
// judged by the segments the receiver will cut it into, as Linux does with
// skb_gso_validate_network_len: IP header + TCP header + gso_size against the
// MTU. Segments that fit: forwarded whole, whatever its total length. Too big
// with DF: fragmentation needed with the MTU. Too big without DF: ip4-frag,
// which never fragments a super-packet and drops it (counted). The TTL
// decrement is the same: the receiver copies the header into every segment.
// A super-packet whose egress port has no offload goes to ip4-gso, which
// segments it in software; towards an offload TAP it stays whole.
//
// A datagram with options (IHL > 5) that passes both checks has this hop
// recorded in its Record Route and Timestamp options (RFC 1812 5.3.13.5,
// 5.3.13.6: recordIpv4Options, with the egress port's address) before the
// TTL decrement, so that ip4-frag cuts the updated header and the ICMP
// errors above quote the datagram as it came. The router's own datagrams
// (echo replies carrying a request's options) are recorded in too.
import { ICMP_DEST_UNREACHABLE, ICMP_TIME_EXCEEDED, ICMP_UNREACH_FRAG_NEEDED } from '../../wire/icmp.js';
import { decrementIpv4Ttl, ipv4Df, ipv4TotalLength, ipv4Ttl, msSinceMidnightUt, recordIpv4Options } from '../../wire/ipv4.js';
import type { Batch } from '../batch.js';
import { PacketFlag } from '../batch.js';
import { icmpErrorCode, type ForwardingContext } from '../context.js';
import { defineNode, PipelineNode, type Dispatch } from '../node.js';
import { OffloadMeta } from '../batch.js';
import { gsoSegmentLength } from '../offload.js';

const spec = defineNode({
  name: 'ip4-rewrite',
  next: { output: 'ip4-output', frag: 'ip4-frag', icmpError: 'icmp-error', gso: 'ip4-gso' },
  drops: {
    ttlExpired: 'RFC 1812 5.3.1: TTL 0 or 1 on arrival (ICMP time exceeded sent)',
    fragmentationNeeded:
      'RFC 1191: larger than the egress MTU with DF set (ICMP fragmentation needed sent); for a TCP super-packet, its segments are',
  },
});

const TIME_EXCEEDED = icmpErrorCode(ICMP_TIME_EXCEEDED, 0);

export class Ip4Rewrite extends PipelineNode<typeof spec> {
  constructor(private readonly ctx: ForwardingContext) {
    super(spec);
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const ports = this.ctx.ports;
    const mtus = ports.mtu;
    // The Timestamp option's value, read from the clock at the first datagram with options in the batch.
    let timestamp = -1;
    const l3 = batch.l3;
    const flags = batch.flags;
    const txPort = batch.txPort;
    const meta = batch.offload;
    const portOffload = ports.offload;
    const N = this.next;
    const R = this.reason;
    let w = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = l3[s];
      const local = (flags[s] & PacketFlag.LOCAL_ORIGIN) !== 0;
      if (!local && ipv4Ttl(b, o) <= 1) {
        d.countDrop(this, R.ttlExpired, s);
        batch.icmpError[s] = TIME_EXCEEDED;
        d.enqueue(this, N.icmpError, s);
        continue;
      }
      const mtu = mtus[txPort[s]];
      const gsoType = meta[s * OffloadMeta.WORDS + OffloadMeta.GSO_TYPE];
      const tooBig =
        gsoType === 0
          ? ipv4TotalLength(b, o) > mtu
          : gsoSegmentLength(b, o, gsoType, meta[s * OffloadMeta.WORDS + OffloadMeta.GSO_SIZE], ipv4TotalLength(b, o)) > mtu;
      if (tooBig && ipv4Df(b, o)) {
        d.countDrop(this, R.fragmentationNeeded, s);
        batch.icmpError[s] = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_FRAG_NEEDED, mtu);
        d.enqueue(this, N.icmpError, s);
        continue;
      }
      if ((b[o] & 0x0f) !== 5) {
        if (timestamp < 0) timestamp = msSinceMidnightUt(this.ctx.clock.nowMs());
        recordIpv4Options(b, o, ports.address[txPort[s]], ports.address, ports.count, timestamp);
      }
      if (!local) decrementIpv4Ttl(b, o);
      if (tooBig) d.enqueue(this, N.frag, s);
      else if (gsoType !== 0 && portOffload[txPort[s]] === 0) d.enqueue(this, N.gso, s);
      else vec[w++] = s;
    }
    d.enqueueMany(this, N.output, vec, w);
  }
}
