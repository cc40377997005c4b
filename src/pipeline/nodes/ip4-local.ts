// ip4-local: datagrams addressed to the router, which runs no services on
// its data ports and answers as a host does (RFC 1122, RFC 1812 4.3.2.3):
// echo requests are answered in place (RFC 1122 3.2.2.6: same identifier,
// sequence and data); other ICMP is counted and consumed; TCP gets a reset
// (RFC 793 "Reset Generation": a segment to a closed port), UDP ICMP port
// unreachable, any other protocol ICMP protocol unreachable. Fragments go to
// ip4-reassembly and come back whole.
import { fillIcmpChecksum, icmpChecksumOk, icmpType, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_UNREACH_PORT, ICMP_UNREACH_PROTOCOL, setIcmpType, checkIcmp } from '../../wire/icmp.js';
import {
  fillIpv4Checksum, ipv4Dst, ipv4FragOffset, ipv4HeaderLen, ipv4Mf, ipv4Protocol, ipv4Src, ipv4TotalLength, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPV4_DEFAULT_TTL,
  IPV4_MIN_HEADER_LEN, setIpv4Df, setIpv4Dst, setIpv4Id, setIpv4Ihl, setIpv4Src, setIpv4Tos, setIpv4TotalLength, setIpv4Ttl,
} from '../../wire/ipv4.js';
import {
  checkTcp, fillTcpChecksum, setTcpAck, setTcpDataOffset, setTcpDstPort, setTcpFlags, setTcpSeq, setTcpSrcPort, setTcpUrgent, setTcpWindow, TCP_ACK, TCP_FIN,
  TCP_MIN_HEADER_LEN, TCP_RST, TCP_SYN, tcpAck, tcpChecksumOk, tcpDstPort, tcpFlags, tcpHeaderLen, tcpSeq, tcpSrcPort,
} from '../../wire/tcp.js';
import type { Batch } from '../batch.js';
import { Fate, PacketFlag } from '../batch.js';
import { icmpErrorCode } from '../context.js';
import { defineNode, PipelineNode, type Dispatch } from '../node.js';
import { Verdict, type TraceRecordView } from '../trace-recorder.js';

const spec = defineNode({
  name: 'ip4-local',
  next: { lookup: 'ip4-lookup', icmpError: 'icmp-error', reassembly: 'ip4-reassembly' },
  drops: {
    badIcmp: 'ICMP to the router that is truncated or fails its checksum',
    portUnreachable: 'UDP to the router (ICMP port unreachable sent)',
    protocolUnreachable: 'another protocol to the router (ICMP protocol unreachable sent)',
    badTcp: 'TCP to the router that is truncated or fails its checksum',
    tcpReset: 'a TCP reset to the router: never answered',
  },
  counters: {
    echoReplies: 'echo requests to the router answered',
    icmpReceived: 'other ICMP messages to the router, consumed',
    tcpResetsSent: 'TCP segments to the router answered with a reset (no port is open)',
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
    if (r.verdict === Verdict.NEXT && r.index === this.next.lookup) return r.protocol === IPPROTO_TCP ? 'TCP reset' : 'echo reply';
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
        d.enqueue(this, N.reassembly, s);
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
      } else if (proto === IPPROTO_TCP) {
        const hl = ipv4HeaderLen(b, o);
        const t = o + hl;
        const tlen = ipv4TotalLength(b, o) - hl;
        if (checkTcp(b, t, tlen) !== 0 || !tcpChecksumOk(b, o, t, tlen)) {
          d.drop(this, R.badTcp, s);
          continue;
        }
        if ((tcpFlags(b, t) & TCP_RST) !== 0) {
          d.drop(this, R.tcpReset, s);
          continue;
        }
        d.account(s, Fate.LOCAL);
        writeReset(b, o, t, tlen);
        batch.length[s] = o - batch.start[s] + IPV4_MIN_HEADER_LEN + TCP_MIN_HEADER_LEN;
        batch.flags[s] = (batch.flags[s] & PacketFlag.TRACED) | PacketFlag.LOCAL_ORIGIN | PacketFlag.IP4_VALID;
        batch.clearOffload(s);
        d.counters.add(this.counter.tcpResetsSent, batch.length[s]);
        d.enqueue(this, N.lookup, s);
      } else if (proto === IPPROTO_UDP) {
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

/**
 * Turns the TCP segment at b[t] (IPv4 header at b[o]) into the reset a host
 * with no listener sends (RFC 793, "Reset Generation", case 1), in place:
 * addresses and ports swapped; if the segment had ACK, <SEQ=SEG.ACK><CTL=RST>;
 * otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (SYN and FIN count in
 * SEG.LEN). No options, no data.
 */
function writeReset(b: Uint8Array, o: number, t: number, tlen: number): void {
  const flags = tcpFlags(b, t);
  const segLen = tlen - tcpHeaderLen(b, t) + ((flags & TCP_SYN) !== 0 ? 1 : 0) + ((flags & TCP_FIN) !== 0 ? 1 : 0);
  const seq = tcpSeq(b, t);
  const ack = tcpAck(b, t);
  const sport = tcpSrcPort(b, t);
  setTcpSrcPort(b, t, tcpDstPort(b, t));
  setTcpDstPort(b, t, sport);
  if ((flags & TCP_ACK) !== 0) {
    setTcpSeq(b, t, ack);
    setTcpAck(b, t, 0);
    setTcpFlags(b, t, TCP_RST);
  } else {
    setTcpSeq(b, t, 0);
    setTcpAck(b, t, (seq + segLen) >>> 0);
    setTcpFlags(b, t, TCP_RST | TCP_ACK);
  }
  setTcpDataOffset(b, t, TCP_MIN_HEADER_LEN >> 2);
  setTcpWindow(b, t, 0);
  setTcpUrgent(b, t, 0);
  // The IP header: addresses swapped, no options (the reset goes out with a plain 20-byte header).
  const src = ipv4Src(b, o);
  const dst = ipv4Dst(b, o);
  const hl = ipv4HeaderLen(b, o);
  if (hl !== IPV4_MIN_HEADER_LEN) {
    b.copyWithin(o + IPV4_MIN_HEADER_LEN, t, t + TCP_MIN_HEADER_LEN);
    setIpv4Ihl(b, o, IPV4_MIN_HEADER_LEN >> 2);
  }
  setIpv4Src(b, o, dst);
  setIpv4Dst(b, o, src);
  setIpv4TotalLength(b, o, IPV4_MIN_HEADER_LEN + TCP_MIN_HEADER_LEN);
  setIpv4Ttl(b, o, IPV4_DEFAULT_TTL);
  setIpv4Tos(b, o, 0);
  setIpv4Id(b, o, 0);
  setIpv4Df(b, o, true);
  fillIpv4Checksum(b, o);
  fillTcpChecksum(b, o, o + IPV4_MIN_HEADER_LEN, TCP_MIN_HEADER_LEN);
}
