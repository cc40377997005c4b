// TCP, UDP and ICMP sections of a FrameSummary, and the datagram an ICMP
// error quotes. Only a complete, unfragmented datagram is validated (structure
// and checksum, exactly as classifyFrame does); a first fragment, a datagram
// cut short by the snap length, or one shorter than its IPv4 total length
// gets the fields that are there, with csumOk null. A later fragment has no
// L4 header at all.
//
// How much of a header cut short is shown follows tshark, so the two read a
// capture alike: TCP and UDP ports from 4 bytes, the UDP length from 6, the
// rest of TCP up to the window from 16 (in an ICMP quote the sequence number
// from 8), ICMP from its 8-byte header. tcpdump shows the same or less.
import { WireDrop, wireDropName } from '../wire/drop-reason.js';
import { checkIpv4, ipv4FragOffset, ipv4Mf, ipv4Protocol, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { checkTcp, TCP_DST_PORT, TCP_MIN_HEADER_LEN, TCP_WINDOW, tcpAck, tcpHeaderLen, tcpChecksumOk, tcpDstPort, tcpFlags, tcpSeq, tcpSrcPort, tcpWindow } from '../wire/tcp.js';
import { checkUdp, UDP_CHECKSUM, UDP_LENGTH, udpChecksumOk, udpDstPort, udpLength, udpSrcPort } from '../wire/udp.js';
import {
  checkIcmp,
  ICMP_ADDRESS_MASK_REPLY,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_HEADER_LEN,
  ICMP_TIMESTAMP,
  ICMP_UNREACH_FRAG_NEEDED,
  icmpChecksumOk,
  icmpCode,
  icmpEchoId,
  icmpEchoSeq,
  icmpIsError,
  icmpNextHopMtu,
  icmpType,
  ICMP_QUOTE_OFFSET,
} from '../wire/icmp.js';
import { setMalformed, type FrameSummary, type IcmpSection, type InnerSection, type TcpSection, type UdpSection } from './summary.js';
import { ipv4HeaderReadable, ipv4Section } from './ip-section.js';

/** Bytes of a TCP header up to the end of its window field. */
const TCP_THROUGH_WINDOW = TCP_WINDOW + 2;
/** Bytes of a TCP or UDP header that hold both ports (UDP's sit at the same offsets). */
const PORTS = TCP_DST_PORT + 2;
/** Bytes of a UDP header up to the end of its length field. */
const UDP_THROUGH_LENGTH = UDP_LENGTH + 2;
/** Bytes of the quoted transport header RFC 792 guarantees: ports (and TCP's sequence number). */
const QUOTED_L4 = 8;

/** Echo, timestamp, information and address-mask requests/replies carry an identifier and a sequence number. */
export function icmpHasEcho(type: number): boolean {
  return type === ICMP_ECHO_REPLY || type === ICMP_ECHO_REQUEST || (type >= ICMP_TIMESTAMP && type <= ICMP_ADDRESS_MASK_REPLY);
}

/**
 * The TCP header at b[o] of which `avail` (>= 4) bytes are there. `seqFrom`
 * is how many bytes it takes to show the sequence number: 8 in a quote, 16
 * elsewhere. Below a data offset of 5 the header is bogus after the sequence
 * number; tshark and tcpdump stop there, and so does this.
 */
function tcpSection(b: Uint8Array, o: number, avail: number, seqFrom: number, csumOk: boolean | null | undefined): TcpSection {
  const sec: TcpSection = { sport: tcpSrcPort(b, o), dport: tcpDstPort(b, o) };
  if (avail >= seqFrom) sec.seq = tcpSeq(b, o);
  if (avail >= TCP_THROUGH_WINDOW) {
    const doff = tcpHeaderLen(b, o) >> 2;
    if (doff * 4 < TCP_MIN_HEADER_LEN) {
      sec.doff = doff;
    } else {
      sec.ack = tcpAck(b, o);
      sec.doff = doff;
      sec.flags = tcpFlags(b, o);
      sec.win = tcpWindow(b, o);
    }
  }
  if (csumOk !== undefined) sec.csumOk = csumOk;
  return sec;
}

/** The UDP header at b[o] of which `avail` (>= 4) bytes are there. */
function udpSection(b: Uint8Array, o: number, avail: number, csumOk: boolean | null | undefined): UdpSection {
  const sec: UdpSection = { sport: udpSrcPort(b, o), dport: udpDstPort(b, o) };
  if (avail >= UDP_THROUGH_LENGTH) sec.len = udpLength(b, o);
  if (csumOk !== undefined) sec.csumOk = csumOk;
  return sec;
}

function icmpSection(b: Uint8Array, o: number, csumOk: boolean | null | undefined): IcmpSection {
  const type = icmpType(b, o);
  const code = icmpCode(b, o);
  const sec: IcmpSection = { type, code };
  if (icmpHasEcho(type)) {
    sec.id = icmpEchoId(b, o);
    sec.seq = icmpEchoSeq(b, o);
  }
  if (type === ICMP_DEST_UNREACHABLE && code === ICMP_UNREACH_FRAG_NEEDED) sec.mtu = icmpNextHopMtu(b, o);
  if (csumOk !== undefined) sec.csumOk = csumOk;
  return sec;
}

/**
 * The datagram an ICMP error quotes, `avail` bytes at b[q]: IPv4 header
 * fields, then what is there of its TCP/UDP/ICMP header. Its total length
 * nearly always runs past the quote, which is how quotes are; `malformed`
 * names a quote that holds less than RFC 792 asks for (the whole IPv4 header
 * and 8 bytes of a TCP/UDP/ICMP header) or a header that is not IPv4.
 */
export function decodeQuote(b: Uint8Array, q: number, avail: number): InnerSection {
  const inner: InnerSection = {};
  const r = checkIpv4(b, q, avail);
  if (!ipv4HeaderReadable(b, q, avail)) {
    inner.malformed = wireDropName(r);
    return inner;
  }
  const ip = ipv4Section(b, q, avail);
  inner.ip = ip;
  const hl = ip.ihl * 4;
  if (hl > avail) {
    inner.malformed = wireDropName(WireDrop.IPV4_TRUNCATED);
    return inner;
  }
  const l4 = q + hl;
  const l4avail = avail - hl;
  if (ip.frag !== 0) return inner;
  switch (ip.proto) {
    case IPPROTO_TCP:
      if (l4avail >= PORTS) inner.tcp = tcpSection(b, l4, l4avail, QUOTED_L4, undefined);
      if (l4avail < QUOTED_L4) inner.malformed = wireDropName(WireDrop.TCP_TRUNCATED);
      break;
    case IPPROTO_UDP:
      if (l4avail >= PORTS) inner.udp = udpSection(b, l4, l4avail, undefined);
      if (l4avail < QUOTED_L4) inner.malformed = wireDropName(WireDrop.UDP_TRUNCATED);
      break;
    case IPPROTO_ICMP:
      if (l4avail >= ICMP_HEADER_LEN) inner.icmp = icmpSection(b, l4, undefined);
      else inner.malformed = wireDropName(WireDrop.ICMP_TRUNCATED);
      break;
  }
  return inner;
}

/**
 * The transport section of the IPv4 datagram at b[ip] (header `hl` bytes,
 * total length `total` >= hl, of which `avail` bytes from b[ip] were captured).
 */
export function decodeTransport(b: Uint8Array, ip: number, hl: number, total: number, avail: number, s: FrameSummary): void {
  if (ipv4FragOffset(b, ip) !== 0) return;
  const l4 = ip + hl;
  const l4len = total - hl;
  const l4avail = Math.min(l4len, avail - hl);
  // Validate only what classifyFrame validates: a complete, unfragmented datagram.
  const verify = !ipv4Mf(b, ip) && l4avail === l4len;
  let r: number;
  switch (ipv4Protocol(b, ip)) {
    case IPPROTO_TCP: {
      if (l4avail >= PORTS) s.tcp = tcpSection(b, l4, l4avail, TCP_THROUGH_WINDOW, null);
      if (!verify) return;
      r = checkTcp(b, l4, l4len);
      if (r !== WireDrop.OK) return setMalformed(s, r);
      const ok = tcpChecksumOk(b, ip, l4, l4len);
      if (s.tcp) s.tcp.csumOk = ok;
      if (!ok) setMalformed(s, WireDrop.TCP_BAD_CHECKSUM);
      return;
    }
    case IPPROTO_UDP: {
      if (l4avail >= PORTS) s.udp = udpSection(b, l4, l4avail, null);
      if (!verify) return;
      r = checkUdp(b, l4, l4len);
      if (r !== WireDrop.OK) return setMalformed(s, r);
      if ((b[l4 + UDP_CHECKSUM] | b[l4 + UDP_CHECKSUM + 1]) === 0) return; // sent without checksum
      const ok = udpChecksumOk(b, ip, l4, udpLength(b, l4));
      if (s.udp) s.udp.csumOk = ok;
      if (!ok) setMalformed(s, WireDrop.UDP_BAD_CHECKSUM);
      return;
    }
    case IPPROTO_ICMP: {
      if (verify) {
        r = checkIcmp(b, l4, l4len);
        if (r !== WireDrop.OK) return setMalformed(s, r);
      } else if (l4avail < ICMP_HEADER_LEN) {
        return;
      }
      const ok = verify ? icmpChecksumOk(b, l4, l4len) : null;
      const sec = icmpSection(b, l4, ok);
      if (icmpIsError(sec.type)) sec.inner = decodeQuote(b, l4 + ICMP_QUOTE_OFFSET, l4avail - ICMP_QUOTE_OFFSET);
      s.icmp = sec;
      if (ok === false) setMalformed(s, WireDrop.ICMP_BAD_CHECKSUM);
      return;
    }
  }
}
