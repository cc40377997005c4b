// ip4-local: datagrams addressed to the router. Echo requests are answered in
// place (RFC 1122 3.2.2.6: same identifier, sequence and data); other ICMP is
// counted and consumed; UDP and TCP get ICMP port unreachable (the router
// runs no services on its data ports), any other protocol ICMP protocol
// unreachable (RFC 1812 4.3.2.3). Fragments are not reassembled: the router
// never needs a datagram bigger than one frame addressed to itself.
import { fillIcmpChecksum, icmpChecksumOk, icmpType, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_UNREACH_PORT, ICMP_UNREACH_PROTOCOL, setIcmpType, checkIcmp } from '../../wire/icmp.js';
import { fillIpv4Checksum, ipv4Dst, ipv4FragOffset, ipv4HeaderLen, ipv4Mf, ipv4Protocol, ipv4Src, ipv4TotalLength, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_DEFAULT_TTL, setIpv4Dst, setIpv4Src, setIpv4Ttl } from '../../wire/ipv4.js';
import type { Batch } from '../batch.js';
import { Fate, PacketFlag } from '../batch.js';
import { icmpErrorCode } from '../context.js';
import { defineNode, PipelineNode, type Dispatch } from '../node.js';
import { Verdict, type TraceRecordView } from '../trace-recorder.js';

const spec = defineNode({
  name: 'ip4-local',
  next: { lookup: 'ip4-lookup', icmpError: 'icmp-error' },
  drops: {
    fragment: 'a fragment addressed to the router (no reassembly)',
    badIcmp: 'ICMP to the router that is truncated or fails its checksum',
    portUnreachable: 'UDP/TCP to the router (ICMP port unreachable sent)',
    protocolUnreachable: 'another protocol to the router (ICMP protocol unreachable sent)',
  },
  counters: {
    echoReplies: 'echo requests to the router answered',
    icmpReceived: 'other ICMP messages to the router, consumed',
  },
});

const PORT_UNREACHABLE = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_PORT);
const PROTOCOL_UNREACHABLE = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_PROTOCOL);

export class Ip4Local extends PipelineNode<typeof spec> {
  constructor() {
    super(spec);
  }
  override describeVerdict(r: TraceRecordView): string | undefined {
    if (r.verdict === Verdict.CONSUMED) return 'an ICMP message for the router, taken';
    if (r.verdict === Verdict.NEXT && r.index === this.next.lookup) return 'echo reply';
    return undefined;
  }


  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const N = this.next;
    const R = this.reason;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = batch.l3[s];
      if (ipv4Mf(b, o) || ipv4FragOffset(b, o) !== 0) {
        d.drop(this, R.fragment, s);
        continue;
      }
      const proto = ipv4Protocol(b, o);
      if (proto === IPPROTO_ICMP) {
        const hl = ipv4HeaderLen(b, o);
        const io = o + hl;
        const ilen = ipv4TotalLength(b, o) - hl;
        if (checkIcmp(b, io, ilen) !== 0 || !icmpChecksumOk(b, io, ilen)) {
          d.drop(this, R.badIcmp, s);
          continue;
        }
        if (icmpType(b, io) !== ICMP_ECHO_REQUEST) {
          d.counters.add(this.counter.icmpReceived, batch.length[s]);
          d.free(this, s, Fate.LOCAL);
          continue;
        }
        // Echo reply in place: swap addresses, fresh TTL, type 0. The request was delivered; the reply is the router's own.
        d.account(s, Fate.LOCAL);
        const src = ipv4Src(b, o);
        setIpv4Src(b, o, ipv4Dst(b, o));
        setIpv4Dst(b, o, src);
        setIpv4Ttl(b, o, IPV4_DEFAULT_TTL);
        fillIpv4Checksum(b, o);
        setIcmpType(b, io, ICMP_ECHO_REPLY);
        fillIcmpChecksum(b, io, ilen);
        batch.flags[s] = (batch.flags[s] & PacketFlag.TRACED) | PacketFlag.LOCAL_ORIGIN | PacketFlag.IP4_VALID;
        batch.clearOffload(s);
        d.counters.add(this.counter.echoReplies, batch.length[s]);
        d.enqueue(this, N.lookup, s);
      } else if (proto === IPPROTO_UDP || proto === IPPROTO_TCP) {
        d.countDrop(this, R.portUnreachable, s);
        batch.icmpError[s] = PORT_UNREACHABLE;
        d.enqueue(this, N.icmpError, s);
      } else {
        d.countDrop(this, R.protocolUnreachable, s);
        batch.icmpError[s] = PROTOCOL_UNREACHABLE;
        d.enqueue(this, N.icmpError, s);
      }
    }
  }
}
