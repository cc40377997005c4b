// ICMP for IPv4 (RFC 792, RFC 1191 next-hop MTU, RFC 1812 router requirements).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Type      |     Code      |          Checksum             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                 Rest of header (depends on type)              |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Data ...
//   +-+-+-+-+-
//
//   Rest of header, by type:
//   echo / echo reply (8 / 0), timestamp (13 / 14):
//                   |          Identifier           |        Sequence Number        |
//   destination unreachable (3):
//                   |          unused (0)           | Next-Hop MTU (code 4, RFC 1191)|
//   time exceeded (11), source quench (4):
//                   |                         unused (0)                            |
//   parameter problem (12):
//                   |    Pointer    |                  unused (0)                   |
//   redirect (5):   |                   Gateway Internet Address                    |
//   timestamp data: | originate (32) | receive (32) | transmit (32)  (ms since midnight UT)
//
// An error's data quotes the original datagram from its IP header on: at
// least the header and 8 bytes (RFC 792), as much as fits in 576 bytes
// (RFC 1812 4.3.2.3). Quotes seen on the wire are often cut short; see
// icmp-quote.ts. The checksum covers the whole ICMP message, no pseudo-header.
//
// Checksums: every plain setter except setIcmpChecksum leaves the checksum
// stale; setIcmpEchoIdWithCsum patches it (RFC 1624).

import { ipv4ToString, parseIpv4Address, readIpv4, writeIpv4 } from './address.js';
import { finishChecksum, foldSum, sumWords, updateChecksum16 } from './checksum.js';
import { WireDrop, type ParseResult } from './drop-reason.js';

export const ICMP_TYPE = 0;
export const ICMP_CODE = 1;
export const ICMP_CHECKSUM = 2;
export const ICMP_REST = 4;

/**
 * Query messages, which carry an identifier (the id connection tracking and
 * NAT key a flow by, RFC 5508 REQ-1): echo and echo reply (8, 0), timestamp
 * (13, 14), information (15, 16) and address mask (17, 18) requests and
 * replies. A bit per type below 32: `((ICMP_QUERY_TYPES >>> type) & 1) !== 0`.
 */
export const ICMP_QUERY_TYPES = (1 << 0) | (1 << 8) | (1 << 13) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 17) | (1 << 18);
export const ICMP_ECHO_ID = 4;
export const ICMP_ECHO_SEQ = 6;
export const ICMP_POINTER = 4;
export const ICMP_GATEWAY = 4;
export const ICMP_NEXT_HOP_MTU = 6;
export const ICMP_TS_ORIGINATE = 8;
export const ICMP_TS_RECEIVE = 12;
export const ICMP_TS_TRANSMIT = 16;
export const ICMP_HEADER_LEN = 8;
export const ICMP_TIMESTAMP_LEN = 20;
/** Where an error's quote of the original datagram starts. */
export const ICMP_QUOTE_OFFSET = 8;
/** RFC 1812 4.3.2.3: an ICMP error datagram (IP header included) should not exceed 576 bytes. */
export const ICMP_ERROR_MAX_LEN = 576;

// Types.
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_ROUTER_ADVERTISEMENT = 9;
export const ICMP_ROUTER_SOLICITATION = 10;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETER_PROBLEM = 12;
export const ICMP_TIMESTAMP = 13;
export const ICMP_TIMESTAMP_REPLY = 14;
export const ICMP_INFO_REQUEST = 15;
export const ICMP_INFO_REPLY = 16;
/** RFC 950 address mask request and reply. */
export const ICMP_ADDRESS_MASK_REQUEST = 17;
export const ICMP_ADDRESS_MASK_REPLY = 18;

// Destination unreachable codes (RFC 792, RFC 1122, RFC 1812 5.2.7.1).
export const ICMP_UNREACH_NET = 0;
export const ICMP_UNREACH_HOST = 1;
export const ICMP_UNREACH_PROTOCOL = 2;
export const ICMP_UNREACH_PORT = 3;
export const ICMP_UNREACH_FRAG_NEEDED = 4;
export const ICMP_UNREACH_SOURCE_ROUTE_FAILED = 5;
export const ICMP_UNREACH_NET_UNKNOWN = 6;
export const ICMP_UNREACH_HOST_UNKNOWN = 7;
export const ICMP_UNREACH_HOST_ISOLATED = 8;
export const ICMP_UNREACH_NET_PROHIBITED = 9;
export const ICMP_UNREACH_HOST_PROHIBITED = 10;
export const ICMP_UNREACH_NET_TOS = 11;
export const ICMP_UNREACH_HOST_TOS = 12;
export const ICMP_UNREACH_ADMIN_PROHIBITED = 13;
export const ICMP_UNREACH_HOST_PRECEDENCE = 14;
export const ICMP_UNREACH_PRECEDENCE_CUTOFF = 15;

// Time exceeded codes.
export const ICMP_TIME_EXCEEDED_TTL = 0;
export const ICMP_TIME_EXCEEDED_REASSEMBLY = 1;

// Redirect codes.
export const ICMP_REDIRECT_NET = 0;
export const ICMP_REDIRECT_HOST = 1;
export const ICMP_REDIRECT_TOS_NET = 2;
export const ICMP_REDIRECT_TOS_HOST = 3;

// Parameter problem codes (RFC 1812 5.2.7.3 adds code 1; RFC 1122 code 2 is "bad length").
export const ICMP_PARAMPROB_POINTER = 0;
export const ICMP_PARAMPROB_MISSING_OPTION = 1;
export const ICMP_PARAMPROB_BAD_LENGTH = 2;

/** Error messages carry a quote and must never be answered with another error (RFC 1812 4.3.2.7). */
export function icmpIsError(type: number): boolean {
  return (
    type === ICMP_DEST_UNREACHABLE || type === ICMP_SOURCE_QUENCH || type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED || type === ICMP_PARAMETER_PROBLEM
  );
}

// ---- accessors --------------------------------------------------------------

export function icmpType(b: Uint8Array, o: number): number {
  return b[o];
}
export function icmpCode(b: Uint8Array, o: number): number {
  return b[o + ICMP_CODE];
}
export function icmpChecksum(b: Uint8Array, o: number): number {
  return (b[o + ICMP_CHECKSUM] << 8) | b[o + ICMP_CHECKSUM + 1];
}
/** Bytes 4-7 as one unsigned 32-bit value, whatever the type. */
export function icmpRest(b: Uint8Array, o: number): number {
  return readIpv4(b, o + ICMP_REST);
}
export function icmpEchoId(b: Uint8Array, o: number): number {
  return (b[o + ICMP_ECHO_ID] << 8) | b[o + ICMP_ECHO_ID + 1];
}
export function icmpEchoSeq(b: Uint8Array, o: number): number {
  return (b[o + ICMP_ECHO_SEQ] << 8) | b[o + ICMP_ECHO_SEQ + 1];
}
/** Next-hop MTU of a fragmentation-needed message (type 3 code 4, RFC 1191); 0 from pre-1191 routers. */
export function icmpNextHopMtu(b: Uint8Array, o: number): number {
  return (b[o + ICMP_NEXT_HOP_MTU] << 8) | b[o + ICMP_NEXT_HOP_MTU + 1];
}
/** Parameter problem: offset in the quoted datagram of the bad byte. */
export function icmpPointer(b: Uint8Array, o: number): number {
  return b[o + ICMP_POINTER];
}
/** Redirect: the better gateway, unsigned 32-bit. */
export function icmpGateway(b: Uint8Array, o: number): number {
  return readIpv4(b, o + ICMP_GATEWAY);
}
export function icmpTimestampOriginate(b: Uint8Array, o: number): number {
  return readIpv4(b, o + ICMP_TS_ORIGINATE);
}
export function icmpTimestampReceive(b: Uint8Array, o: number): number {
  return readIpv4(b, o + ICMP_TS_RECEIVE);
}
export function icmpTimestampTransmit(b: Uint8Array, o: number): number {
  return readIpv4(b, o + ICMP_TS_TRANSMIT);
}

// ---- setters (all but setIcmpChecksum stale the checksum) -------------------

export function setIcmpType(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
}
export function setIcmpCode(b: Uint8Array, o: number, v: number): void {
  b[o + ICMP_CODE] = v;
}
export function setIcmpChecksum(b: Uint8Array, o: number, v: number): void {
  b[o + ICMP_CHECKSUM] = v >>> 8;
  b[o + ICMP_CHECKSUM + 1] = v;
}
export function setIcmpRest(b: Uint8Array, o: number, v: number): void {
  writeIpv4(b, o + ICMP_REST, v);
}
export function setIcmpEchoId(b: Uint8Array, o: number, v: number): void {
  b[o + ICMP_ECHO_ID] = v >>> 8;
  b[o + ICMP_ECHO_ID + 1] = v;
}
export function setIcmpEchoSeq(b: Uint8Array, o: number, v: number): void {
  b[o + ICMP_ECHO_SEQ] = v >>> 8;
  b[o + ICMP_ECHO_SEQ + 1] = v;
}
/** Writes bytes 6-7 only; bytes 4-5 (unused) are left as they are. */
export function setIcmpNextHopMtu(b: Uint8Array, o: number, v: number): void {
  b[o + ICMP_NEXT_HOP_MTU] = v >>> 8;
  b[o + ICMP_NEXT_HOP_MTU + 1] = v;
}
/** Writes byte 4 only. */
export function setIcmpPointer(b: Uint8Array, o: number, v: number): void {
  b[o + ICMP_POINTER] = v;
}
export function setIcmpGateway(b: Uint8Array, o: number, addr: number): void {
  writeIpv4(b, o + ICMP_GATEWAY, addr);
}
export function setIcmpTimestampOriginate(b: Uint8Array, o: number, v: number): void {
  writeIpv4(b, o + ICMP_TS_ORIGINATE, v);
}
export function setIcmpTimestampReceive(b: Uint8Array, o: number, v: number): void {
  writeIpv4(b, o + ICMP_TS_RECEIVE, v);
}
export function setIcmpTimestampTransmit(b: Uint8Array, o: number, v: number): void {
  writeIpv4(b, o + ICMP_TS_TRANSMIT, v);
}

// ---- check and checksum -------------------------------------------------------

/**
 * Structural check of the message at b[o, o+len) (len = IP payload length):
 * ICMP_TRUNCATED below 8 bytes, or below 20 for timestamp messages. Unknown
 * types pass. An error's quote may be short; that is not judged here.
 */
export function checkIcmp(b: Uint8Array, o: number, len: number): number {
  if (len < ICMP_HEADER_LEN) return WireDrop.ICMP_TRUNCATED;
  const type = b[o];
  if ((type === ICMP_TIMESTAMP || type === ICMP_TIMESTAMP_REPLY) && len < ICMP_TIMESTAMP_LEN) return WireDrop.ICMP_TRUNCATED;
  return WireDrop.OK;
}

/** True when the checksum over the len-byte message verifies. */
export function icmpChecksumOk(b: Uint8Array, o: number, len: number): boolean {
  return foldSum(sumWords(b, o, len, 0)) === 0xffff;
}

/** Computes and writes the checksum over the len-byte message. */
export function fillIcmpChecksum(b: Uint8Array, o: number, len: number): void {
  setIcmpChecksum(b, o, 0);
  setIcmpChecksum(b, o, finishChecksum(sumWords(b, o, len, 0)));
}

/**
 * Rewrites the echo identifier (ICMP query NAT) and patches the checksum
 * (RFC 1624). As with any incremental update, a message whose every byte ends
 * up zero gets checksum 0x0000 where recomputation gives 0xffff: only an echo
 * reply with id, seq and data all zero, which NAT never produces from a
 * non-zero id.
 */
export function setIcmpEchoIdWithCsum(b: Uint8Array, o: number, id: number): void {
  const old = icmpEchoId(b, o);
  setIcmpEchoId(b, o, id);
  setIcmpChecksum(b, o, updateChecksum16(icmpChecksum(b, o), old, id & 0xffff));
}

/**
 * How many bytes of an original datagram to quote in an error so that the
 * whole error datagram stays within 576 bytes (RFC 1812 4.3.2.3).
 * `available` is what we have of the original (IP header on), `outerIpHeaderLen`
 * the header length of the error datagram itself.
 */
export function icmpErrorQuoteLen(available: number, outerIpHeaderLen = 20): number {
  const room = ICMP_ERROR_MAX_LEN - outerIpHeaderLen - ICMP_HEADER_LEN;
  return available < room ? available : room;
}

// ---- repr -------------------------------------------------------------------

/** Echo request (8) / echo reply (0). */
export interface IcmpEchoRepr {
  type: number;
  code: number;
  id: number;
  seq: number;
  data: Uint8Array;
}

/** Unreachable, source quench, redirect, time exceeded, parameter problem. */
export interface IcmpErrorRepr {
  type: number;
  code: number;
  /** Type 3 code 4: next-hop MTU (RFC 1191). */
  mtu?: number;
  /** Type 12: pointer into the quote. */
  pointer?: number;
  /** Type 5: gateway address. */
  gateway?: string;
  /** The bytes after the 8-byte header: the original datagram, possibly cut short (and any RFC 4884 extension). */
  quote: Uint8Array;
}

export interface IcmpTimestampRepr {
  type: number;
  code: number;
  id: number;
  seq: number;
  originate: number;
  receive: number;
  transmit: number;
}

/** Any other type: bytes 4-7 as a number and the data, untouched. */
export interface IcmpOtherRepr {
  type: number;
  code: number;
  rest: number;
  data: Uint8Array;
}

export type IcmpRepr = IcmpEchoRepr | IcmpErrorRepr | IcmpTimestampRepr | IcmpOtherRepr;

export function isIcmpErrorRepr(r: IcmpRepr): r is IcmpErrorRepr {
  return 'quote' in r;
}
export function isIcmpTimestampRepr(r: IcmpRepr): r is IcmpTimestampRepr {
  return 'originate' in r;
}
export function isIcmpEchoRepr(r: IcmpRepr): r is IcmpEchoRepr {
  return 'id' in r && !('originate' in r);
}

/**
 * checkIcmp, then the repr by type: 0/8 echo, 3/4/5/11/12 error, 13/14
 * timestamp (first 20 bytes), anything else kept raw. The checksum is not
 * verified here: see icmpChecksumOk.
 */
export function parseIcmp(b: Uint8Array, o: number, len: number): ParseResult<IcmpRepr> {
  const reason = checkIcmp(b, o, len);
  if (reason !== WireDrop.OK) return { ok: false, reason };
  const type = b[o];
  const code = b[o + ICMP_CODE];
  if (type === ICMP_ECHO_REQUEST || type === ICMP_ECHO_REPLY) {
    const data = b.slice(o + ICMP_HEADER_LEN, o + len);
    return { ok: true, repr: { type, code, id: icmpEchoId(b, o), seq: icmpEchoSeq(b, o), data } };
  }
  if (icmpIsError(type)) {
    const repr: IcmpErrorRepr = { type, code, quote: b.slice(o + ICMP_QUOTE_OFFSET, o + len) };
    if (type === ICMP_DEST_UNREACHABLE && code === ICMP_UNREACH_FRAG_NEEDED) repr.mtu = icmpNextHopMtu(b, o);
    else if (type === ICMP_PARAMETER_PROBLEM) repr.pointer = icmpPointer(b, o);
    else if (type === ICMP_REDIRECT) repr.gateway = ipv4ToString(icmpGateway(b, o));
    return { ok: true, repr };
  }
  if (type === ICMP_TIMESTAMP || type === ICMP_TIMESTAMP_REPLY) {
    return {
      ok: true,
      repr: {
        type, code, id: icmpEchoId(b, o), seq: icmpEchoSeq(b, o),
        originate: icmpTimestampOriginate(b, o), receive: icmpTimestampReceive(b, o), transmit: icmpTimestampTransmit(b, o),
      },
    };
  }
  return { ok: true, repr: { type, code, rest: icmpRest(b, o), data: b.slice(o + ICMP_HEADER_LEN, o + len) } };
}

/** Length emitIcmp writes for `repr`. */
export function icmpReprLen(repr: IcmpRepr): number {
  if ('quote' in repr) return ICMP_HEADER_LEN + repr.quote.length;
  if ('originate' in repr) return ICMP_TIMESTAMP_LEN;
  return ICMP_HEADER_LEN + repr.data.length;
}

/**
 * Writes the message at b[o..] and computes its checksum; returns its length.
 * The layout follows the repr's shape (quote / timestamps / id+seq / rest).
 * Throws RangeError on bad gateway text.
 */
export function emitIcmp(repr: IcmpRepr, b: Uint8Array, o: number): number {
  b[o] = repr.type;
  b[o + ICMP_CODE] = repr.code;
  let len: number;
  if ('quote' in repr) {
    let rest = 0;
    if (repr.gateway !== undefined) rest = parseIpv4Address(repr.gateway);
    else if (repr.pointer !== undefined) rest = (repr.pointer & 0xff) * 0x1000000;
    else if (repr.mtu !== undefined) rest = repr.mtu & 0xffff;
    setIcmpRest(b, o, rest);
    b.set(repr.quote, o + ICMP_QUOTE_OFFSET);
    len = ICMP_HEADER_LEN + repr.quote.length;
  } else if ('originate' in repr) {
    setIcmpEchoId(b, o, repr.id);
    setIcmpEchoSeq(b, o, repr.seq);
    setIcmpTimestampOriginate(b, o, repr.originate);
    setIcmpTimestampReceive(b, o, repr.receive);
    setIcmpTimestampTransmit(b, o, repr.transmit);
    len = ICMP_TIMESTAMP_LEN;
  } else if ('id' in repr) {
    setIcmpEchoId(b, o, repr.id);
    setIcmpEchoSeq(b, o, repr.seq);
    b.set(repr.data, o + ICMP_HEADER_LEN);
    len = ICMP_HEADER_LEN + repr.data.length;
  } else {
    setIcmpRest(b, o, repr.rest);
    b.set(repr.data, o + ICMP_HEADER_LEN);
    len = ICMP_HEADER_LEN + repr.data.length;
  }
  fillIcmpChecksum(b, o, len);
  return len;
}

export { parseIcmpQuote, type IcmpQuote } from './icmp-quote.js';
