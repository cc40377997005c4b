// TCP, UDP and ICMP sections of a FrameSummary, and the datagram an ICMP
// error quotes. Only a complete, unfragmented datagram is validated (structure
// and checksum, exactly as classifyFrame does); a first fragment or a datagram
// cut short by the snap length gets its fields when the fixed header is there,
// with csumOk null. A later fragment has no L4 header at all.
import { WireDrop } from '../wire/drop-reason.js';
import { ipv4FragOffset, ipv4Mf, ipv4Protocol, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { checkTcp, TCP_MIN_HEADER_LEN, tcpAck, tcpHeaderLen, tcpChecksumOk, tcpDstPort, tcpFlags, tcpSeq, tcpSrcPort, tcpWindow } from '../wire/tcp.js';
import { checkUdp, UDP_CHECKSUM, UDP_HEADER_LEN, udpChecksumOk, udpDstPort, udpLength, udpSrcPort } from '../wire/udp.js';
import {
  checkIcmp,
  icmpChecksumOk,
  icmpCode,
  icmpEchoId,
  icmpEchoSeq,
  icmpIsError,
  icmpNextHopMtu,
  icmpType,
  ICMP_HEADER_LEN,
  ICMP_QUOTE_OFFSET,
} from '../wire/icmp.js';
import { setMalformed, type FrameSummary, type IcmpSection, type InnerSection, type TcpSection, type UdpSection } from './summary.js';
import { ipv4HeaderReadable, ipv4Section } from './ip-section.js';

/** Bytes of the quoted transport header RFC 792 guarantees: ports (and TCP's sequence number). */
const QUOTED_L4 = 8;
const ICMP_UNREACHABLE = 3;
const ICMP_FRAG_NEEDED = 4;

/** Echo, timestamp, information and address-mask requests/replies carry an identifier and a sequence number. */
function icmpHasEcho(type: number): boolean {
  return type === 0 || type === 8 || (type >= 13 && type <= 18);
}

function tcpSection(b: Uint8Array, o: number, avail: number, csumOk: boolean | null | undefined): TcpSection {
  const sec: TcpSection = { sport: tcpSrcPort(b, o), dport: tcpDstPort(b, o), seq: tcpSeq(b, o) };
  if (avail >= TCP_MIN_HEADER_LEN) {
    sec.ack = tcpAck(b, o);
    sec.doff = tcpHeaderLen(b, o) >> 2;
    sec.flags = tcpFlags(b, o);
    sec.win = tcpWindow(b, o);
  }
  if (csumOk !== undefined) sec.csumOk = csumOk;
  return sec;
}

function udpSection(b: Uint8Array, o: number, csumOk: boolean | null | undefined): UdpSection {
  const sec: UdpSection = { sport: udpSrcPort(b, o), dport: udpDstPort(b, o), len: udpLength(b, o) };
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
  if (type === ICMP_UNREACHABLE && code === ICMP_FRAG_NEEDED) sec.mtu = icmpNextHopMtu(b, o);
  if (csumOk !== undefined) sec.csumOk = csumOk;
  return sec;
}

/** The datagram an ICMP error quotes, `avail` bytes at b[q]: IPv4 header fields, then the first 8 bytes of its L4 header. */
function decodeQuote(b: Uint8Array, q: number, avail: number): InnerSection {
  const inner: InnerSection = {};
  if (!ipv4HeaderReadable(b, q, avail)) return inner;
  const ip = ipv4Section(b, q, avail);
  inner.ip = ip;
  const hl = ip.ihl * 4;
  const l4 = q + hl;
  const l4avail = avail - hl;
  if (ip.frag !== 0 || l4avail < QUOTED_L4) return inner;
  switch (ip.proto) {
    case IPPROTO_TCP:
      inner.tcp = tcpSection(b, l4, l4avail, undefined);
      break;
    case IPPROTO_UDP:
      inner.udp = udpSection(b, l4, undefined);
      break;
    case IPPROTO_ICMP:
      inner.icmp = icmpSection(b, l4, undefined);
      break;
  }
  return inner;
}

/**
 * The transport section of the IPv4 datagram at b[ip] (header `hl` bytes,
 * total length `total`, of which `avail` bytes from b[ip] were captured).
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
      if (!verify) {
        if (l4avail >= TCP_MIN_HEADER_LEN) s.tcp = tcpSection(b, l4, l4avail, null);
        return;
      }
      r = checkTcp(b, l4, l4len);
      if (l4len >= TCP_MIN_HEADER_LEN) s.tcp = tcpSection(b, l4, l4len, null);
      if (r !== WireDrop.OK) return setMalformed(s, r);
      const ok = tcpChecksumOk(b, ip, l4, l4len);
      if (s.tcp) s.tcp.csumOk = ok;
      if (!ok) setMalformed(s, WireDrop.TCP_BAD_CHECKSUM);
      return;
    }
    case IPPROTO_UDP: {
      if (!verify) {
        if (l4avail >= UDP_HEADER_LEN) s.udp = udpSection(b, l4, null);
        return;
      }
      r = checkUdp(b, l4, l4len);
      if (l4len >= UDP_HEADER_LEN) s.udp = udpSection(b, l4, null);
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
