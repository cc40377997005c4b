// The original datagram quoted in an ICMP error (RFC 792; RFC 1812 4.3.2.3).
//
//   +--------------------------------+------------------------------------+
//   | original IPv4 header (IHL * 4) | first bytes of its payload (>= 8)  |
//   +--------------------------------+------------------------------------+
//   first 8 payload bytes:  TCP  | src port | dst port |   sequence number  |
//                           UDP  | src port | dst port | length | checksum  |
//                           ICMP | type|code| checksum |   id   |    seq    |
//
// The quote is whatever the reporting router chose to send: the quoted total
// length nearly always exceeds the bytes present, the quote may stop inside
// the IP header or the ports, and a non-first fragment's payload bytes are not
// an L4 header at all. So this never fails: it fills in what is there.

import {
  IPPROTO_DCCP, IPPROTO_ICMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPV4_MIN_HEADER_LEN, ipv4FragOffset, ipv4HeaderLen,
  ipv4Protocol, readIpv4Repr, type Ipv4Repr,
} from './ipv4.js';

export interface IcmpQuote {
  /**
   * The quoted IPv4 header: present when at least 20 bytes of a version-4
   * header with IHL >= 5 are there. Its options are those that fit; see
   * ipHeaderComplete.
   */
  ip: Ipv4Repr | null;
  /** All IHL * 4 header bytes are present (so l4Offset is meaningful). */
  ipHeaderComplete: boolean;
  /** The quote holds fewer bytes than the quoted total length (the usual case). */
  truncated: boolean;
  /** Offset in the buffer of the quoted L4 header, or -1. */
  l4Offset: number;
  /** Bytes of L4 present in the quote (0 when the header is incomplete or a non-first fragment). */
  l4Len: number;
  /** TCP, UDP, UDP-Lite, DCCP, SCTP with 4 L4 bytes present. */
  srcPort?: number;
  dstPort?: number;
  /** TCP with 8 bytes present. */
  tcpSeq?: number;
  /** UDP with 8 bytes present. */
  udpLength?: number;
  udpChecksum?: number;
  /** ICMP with 2 bytes present. */
  icmpType?: number;
  icmpCode?: number;
  /** ICMP with 8 bytes present (the echo id / seq position). */
  icmpId?: number;
  icmpSeq?: number;
}

/**
 * Decodes the quoted datagram at b[o, o+len) — in an ICMP message at `m`,
 * that is `parseIcmpQuote(b, m + ICMP_QUOTE_OFFSET, icmpLen - ICMP_QUOTE_OFFSET)`,
 * or `parseIcmpQuote(repr.quote, 0, repr.quote.length)`. Never throws.
 */
export function parseIcmpQuote(b: Uint8Array, o: number, len: number): IcmpQuote {
  const q: IcmpQuote = { ip: null, ipHeaderComplete: false, truncated: true, l4Offset: -1, l4Len: 0 };
  const avail = Math.min(len, b.length - o);
  if (!(avail >= IPV4_MIN_HEADER_LEN) || b[o] >>> 4 !== 4) return q;
  const hl = ipv4HeaderLen(b, o);
  if (hl < IPV4_MIN_HEADER_LEN) return q;
  const ip = readIpv4Repr(b, o, avail);
  q.ip = ip;
  q.truncated = avail < ip.totalLength;
  if (hl > avail) return q;
  q.ipHeaderComplete = true;
  // A non-first fragment's payload is the middle of some L4 segment.
  if (ipv4FragOffset(b, o) !== 0) return q;
  const l4 = o + hl;
  const n = avail - hl;
  q.l4Offset = l4;
  q.l4Len = n;
  const proto = ipv4Protocol(b, o);
  if (proto === IPPROTO_ICMP) {
    if (n >= 2) {
      q.icmpType = b[l4];
      q.icmpCode = b[l4 + 1];
    }
    if (n >= 8) {
      q.icmpId = (b[l4 + 4] << 8) | b[l4 + 5];
      q.icmpSeq = (b[l4 + 6] << 8) | b[l4 + 7];
    }
    return q;
  }
  const ported =
    proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_UDPLITE || proto === IPPROTO_DCCP || proto === IPPROTO_SCTP;
  if (!ported || n < 4) return q;
  q.srcPort = (b[l4] << 8) | b[l4 + 1];
  q.dstPort = (b[l4 + 2] << 8) | b[l4 + 3];
  if (n < 8) return q;
  if (proto === IPPROTO_TCP) {
    q.tcpSeq = ((b[l4 + 4] << 24) | (b[l4 + 5] << 16) | (b[l4 + 6] << 8) | b[l4 + 7]) >>> 0;
  } else if (proto === IPPROTO_UDP) {
    q.udpLength = (b[l4 + 4] << 8) | b[l4 + 5];
    q.udpChecksum = (b[l4 + 6] << 8) | b[l4 + 7];
  }
  return q;
}
