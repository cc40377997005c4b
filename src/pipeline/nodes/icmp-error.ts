// icmp-error: turns the offending datagram into the ICMP error about it, in
// place. The quote (the original IP header and data, RFC 1812 4.3.2.3:
// as much as fits in 576 bytes) stays where it is; the new IP and ICMP
// headers go in the 28 bytes in front of it, which the Ethernet header and
// slot headroom leave free. The error then goes to ip4-lookup like any
// packet the router sends.
//
// RFC 1812 4.3.2.7 says when not to send one, and each case is a counted
// drop: about an ICMP error, about a non-first fragment, about a datagram
// sent to a link-layer broadcast, or from a source that does not name one
// host (broadcast, multicast, martian). 4.3.2.8: errors are rate-limited by a
// token bucket. 4.3.2.4: the source is the address of the port the error
// leaves by, the port of the route back to the original sender.
import {
  fillIcmpChecksum, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_HEADER_LEN, ICMP_PARAMETER_PROBLEM, icmpErrorQuoteLen,
  icmpIsError, setIcmpCode, setIcmpNextHopMtu, setIcmpPointer, setIcmpRest, setIcmpType,
} from '../../wire/icmp.js';
import {
  fillIpv4Checksum, initIpv4Header, IPPROTO_ICMP, IPTOS_PREC_INTERNETCONTROL, IPV4_DEFAULT_TTL, IPV4_MIN_HEADER_LEN, ipv4FragOffset,
  ipv4HeaderLen, ipv4Protocol, ipv4Src, ipv4Tos, ipv4TotalLength, setIpv4Dst, setIpv4Id, setIpv4Protocol, setIpv4Src, setIpv4Tos,
  setIpv4TotalLength, setIpv4Ttl,
} from '../../wire/ipv4.js';
import { isMartianSource } from '../../wire/address.js';
import { ETH_HEADER_LEN } from '../../wire/ethernet.js';
import type { Batch } from '../batch.js';
import { PacketFlag } from '../batch.js';
import { portToward } from '../port-toward.js';
import type { ForwardingContext } from '../context.js';
import { defineNode, PipelineNode, type Dispatch } from '../node.js';

const spec = defineNode({
  name: 'icmp-error',
  next: { lookup: 'ip4-lookup' },
  drops: {
    rateLimited: 'RFC 1812 4.3.2.8: over the ICMP error rate limit',
    aboutIcmpError: 'RFC 1812 4.3.2.7: never an error about an ICMP error',
    nonFirstFragment: 'RFC 1812 4.3.2.7: never an error about a non-first fragment',
    linkBroadcast: 'RFC 1812 4.3.2.7: never an error about a link-layer broadcast',
    badSource: 'RFC 1812 4.3.2.7: source is not one host (broadcast, multicast, martian)',
    localOrigin: 'never an error about a packet the router made',
  },
  counters: { sent: 'ICMP errors sent' },
});

/** The new IPv4 and ICMP headers, written in front of the quote. */
const HEADERS = IPV4_MIN_HEADER_LEN + ICMP_HEADER_LEN;
/** RFC 1349 type-of-service bits (delay, throughput, reliability) kept from the offending datagram. */
const TOS_KEPT = 0x1c;

export class IcmpError extends PipelineNode<typeof spec> {
  private ipId = 1;

  constructor(private readonly ctx: ForwardingContext) {
    super(spec);
  }

  /** Is `src` a subnet broadcast address of one of the router's connected subnets? */
  private isSubnetBroadcast(src: number): boolean {
    const p = this.ctx.ports;
    for (let i = 0; i < p.count; i++) {
      if (p.prefixLen[i] < 31 && (src | p.mask[i]) >>> 0 === 0xffffffff && ((src & p.mask[i]) >>> 0) === ((p.address[i] & p.mask[i]) >>> 0)) return true;
    }
    return false;
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const ctx = this.ctx;
    const R = this.reason;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = batch.l3[s];
      const flags = batch.flags[s];
      if ((flags & PacketFlag.LOCAL_ORIGIN) !== 0) {
        d.drop(this, R.localOrigin, s);
        continue;
      }
      if (ipv4FragOffset(b, o) !== 0) {
        d.drop(this, R.nonFirstFragment, s);
        continue;
      }
      const hl = ipv4HeaderLen(b, o);
      const total = ipv4TotalLength(b, o);
      if (ipv4Protocol(b, o) === IPPROTO_ICMP) {
        // An ICMP message too short to show its type is treated as an error (not answered).
        const type = total > hl ? b[o + hl] : ICMP_DEST_UNREACHABLE;
        if (icmpIsError(type) || (type !== ICMP_ECHO_REQUEST && type !== ICMP_ECHO_REPLY && type > 18)) {
          d.drop(this, R.aboutIcmpError, s);
          continue;
        }
      }
      if ((flags & PacketFlag.L2_BROADCAST) !== 0) {
        d.drop(this, R.linkBroadcast, s);
        continue;
      }
      const dst = ipv4Src(b, o);
      if (isMartianSource(dst) || this.isSubnetBroadcast(dst)) {
        d.drop(this, R.badSource, s);
        continue;
      }
      if (!ctx.icmpLimiter.take()) {
        d.drop(this, R.rateLimited, s);
        continue;
      }
      const quote = icmpErrorQuoteLen(total);
      // The port the error will leave by: the route back to `dst`, or else the port the datagram came in on.
      const port = portToward(ctx, dst, batch.rxPort[s]);
      const n = o - HEADERS;
      const req = batch.icmpError[s];
      const tos = ipv4Tos(b, o);
      const len = HEADERS + quote;
      const id = this.ipId;
      this.ipId = (id + 1) & 0xffff;
      // IPv4 header (RFC 1812 4.3.2.5: precedence 6, internetwork control, as Linux sends).
      initIpv4Header(b, n);
      setIpv4Tos(b, n, IPTOS_PREC_INTERNETCONTROL | (tos & TOS_KEPT));
      setIpv4TotalLength(b, n, len);
      setIpv4Id(b, n, id);
      setIpv4Ttl(b, n, IPV4_DEFAULT_TTL);
      setIpv4Protocol(b, n, IPPROTO_ICMP);
      setIpv4Src(b, n, ctx.ports.address[port]);
      setIpv4Dst(b, n, dst);
      fillIpv4Checksum(b, n);
      // ICMP header: type, code, then the pointer (parameter problem) or the next-hop MTU (frag needed; 0 for the others).
      const c = n + IPV4_MIN_HEADER_LEN;
      const type = req >>> 24;
      const param = req & 0xffff;
      setIcmpType(b, c, type);
      setIcmpCode(b, c, (req >>> 16) & 0xff);
      setIcmpRest(b, c, 0);
      if (type === ICMP_PARAMETER_PROBLEM) setIcmpPointer(b, c, param);
      else setIcmpNextHopMtu(b, c, param);
      fillIcmpChecksum(b, c, ICMP_HEADER_LEN + quote);
      batch.l3[s] = n;
      batch.start[s] = n - ETH_HEADER_LEN;
      batch.length[s] = ETH_HEADER_LEN + len;
      batch.flags[s] = (flags & PacketFlag.TRACED) | PacketFlag.LOCAL_ORIGIN | PacketFlag.IP4_VALID;
      batch.clearOffload(s);
      d.counters.add(this.counter.sent, batch.length[s]);
      d.enqueue(this, this.next.lookup, s);
    }
  }
}
