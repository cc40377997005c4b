// ip4-local: datagrams addressed to the router. Echo requests are answered in
// place (RFC 1122 3.2.2.6: same identifier, sequence and data); other ICMP is
// counted and consumed; UDP and TCP get ICMP port unreachable (the router
// runs no services on its data ports), any other protocol ICMP protocol
// unreachable (RFC 1812 4.3.2.3). Fragments are not reassembled: the router
// never needs a datagram bigger than one frame addressed to itself.
import { fillIcmpChecksum, icmpChecksumOk, icmpType, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_UNREACH_PORT, ICMP_UNREACH_PROTOCOL, setIcmpType, checkIcmp } from '../../wire/icmp.js';
import { fillIpv4Checksum, ipv4Dst, ipv4FragOffset, ipv4HeaderLen, ipv4Mf, ipv4Protocol, ipv4Src, ipv4TotalLength, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, setIpv4Dst, setIpv4Src, setIpv4Ttl } from '../../wire/ipv4.js';
import type { Batch } from '../batch.js';
import { PacketFlag } from '../batch.js';
import { icmpErrorCode, type ForwardingContext } from '../context.js';
import { PipelineNode, type Dispatch } from '../node.js';

const NEXT_LOOKUP = 0;
const NEXT_ICMP_ERROR = 1;

const DROP_FRAGMENT = 0;
const DROP_BAD_ICMP = 1;
const DROP_PORT_UNREACHABLE = 2;
const DROP_PROTOCOL_UNREACHABLE = 3;

const PORT_UNREACHABLE = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_PORT);
const PROTOCOL_UNREACHABLE = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_PROTOCOL);

/** TTL of packets the router makes (Linux's default, net.ipv4.ip_default_ttl). */
export const LOCAL_TTL = 64;

export class Ip4Local extends PipelineNode {
  readonly name = 'ip4-local';
  readonly next = ['ip4-lookup', 'icmp-error'];
  readonly drops = [
    { name: 'fragment', description: 'a fragment addressed to the router (no reassembly)' },
    { name: 'bad-icmp', description: 'ICMP to the router that is truncated or fails its checksum' },
    { name: 'port-unreachable', description: 'UDP/TCP to the router (ICMP port unreachable sent)' },
    { name: 'protocol-unreachable', description: 'another protocol to the router (ICMP protocol unreachable sent)' },
  ];
  private echoReplies = 0;
  private icmpConsumed = 0;

  constructor(private readonly ctx: ForwardingContext) {
    super();
  }

  override extraCounters() {
    return [
      { name: 'echo-replies', description: 'echo requests to the router answered' },
      { name: 'icmp-received', description: 'other ICMP messages to the router, consumed' },
    ];
  }

  override attach(counter: (name: string) => number): void {
    this.echoReplies = counter(`${this.name}/echo-replies`);
    this.icmpConsumed = counter(`${this.name}/icmp-received`);
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    void this.ctx;
    const b = batch.arena;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = batch.l3[s];
      if (ipv4Mf(b, o) || ipv4FragOffset(b, o) !== 0) {
        d.drop(this, DROP_FRAGMENT, s);
        continue;
      }
      const proto = ipv4Protocol(b, o);
      if (proto === IPPROTO_ICMP) {
        const hl = ipv4HeaderLen(b, o);
        const io = o + hl;
        const ilen = ipv4TotalLength(b, o) - hl;
        if (checkIcmp(b, io, ilen) !== 0 || !icmpChecksumOk(b, io, ilen)) {
          d.drop(this, DROP_BAD_ICMP, s);
          continue;
        }
        if (icmpType(b, io) !== ICMP_ECHO_REQUEST) {
          d.counters.add(this.icmpConsumed, batch.length[s]);
          d.free(s);
          continue;
        }
        // Echo reply in place: swap addresses, fresh TTL, type 0.
        const src = ipv4Src(b, o);
        setIpv4Src(b, o, ipv4Dst(b, o));
        setIpv4Dst(b, o, src);
        setIpv4Ttl(b, o, LOCAL_TTL);
        fillIpv4Checksum(b, o);
        setIcmpType(b, io, ICMP_ECHO_REPLY);
        fillIcmpChecksum(b, io, ilen);
        batch.flags[s] = PacketFlag.LOCAL_ORIGIN | PacketFlag.IP4_VALID;
        batch.clearOffload(s);
        d.counters.add(this.echoReplies, batch.length[s]);
        d.enqueue(this, NEXT_LOOKUP, s);
      } else if (proto === IPPROTO_UDP || proto === IPPROTO_TCP) {
        d.countDrop(this, DROP_PORT_UNREACHABLE, s);
        batch.icmpError[s] = PORT_UNREACHABLE;
        d.enqueue(this, NEXT_ICMP_ERROR, s);
      } else {
        d.countDrop(this, DROP_PROTOCOL_UNREACHABLE, s);
        batch.icmpError[s] = PROTOCOL_UNREACHABLE;
        d.enqueue(this, NEXT_ICMP_ERROR, s);
      }
    }
  }
}
