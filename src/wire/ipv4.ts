// IPv4 header (RFC 791).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Version|  IHL  |    DSCP   |ECN|          Total Length         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         Identification        |R|D|M|     Fragment Offset     |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Time to Live |    Protocol   |         Header Checksum       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                       Source Address                          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Destination Address                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Options                    |    Padding    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// IHL counts 32-bit words (5..15); DSCP/ECN per RFC 2474 / RFC 3168; R is the
// reserved flag bit, D = Don't Fragment, M = More Fragments; the fragment
// offset counts 8-byte units. Addresses are unsigned 32-bit numbers here.
//
// Checksums: every plain setter except setIpv4Checksum leaves the header
// checksum stale (call fillIpv4Checksum, or use a ...WithCsum setter, which
// patches it per RFC 1624). Changing the source or destination also stales the
// TCP/UDP checksum through the pseudo-header: see updateTcpChecksumForAddress /
// updateUdpChecksumForAddress. setIpv4Version, setIpv4Ihl and
// setIpv4TotalLength can also invalidate checkIpv4.

import { ipv4ToString, parseIpv4Address, readIpv4, writeIpv4 } from './address.js';
import { finishChecksum, foldSum, sumWords, updateChecksum16, updateChecksum32 } from './checksum.js';
import { WireDrop, type ParseResult } from './drop-reason.js';
import { ipv4OptionsError, ipv4OptionsLength, parseIpv4Options, writeIpv4Options, type Ipv4Option } from './ipv4-options.js';

export const IPV4_VERSION_IHL = 0;
export const IPV4_TOS = 1;
export const IPV4_TOTAL_LENGTH = 2;
export const IPV4_ID = 4;
export const IPV4_FLAGS_FRAG = 6;
export const IPV4_TTL = 8;
export const IPV4_PROTOCOL = 9;
export const IPV4_CHECKSUM = 10;
export const IPV4_SRC = 12;
export const IPV4_DST = 16;
export const IPV4_OPTIONS = 20;
export const IPV4_MIN_HEADER_LEN = 20;
export const IPV4_MAX_HEADER_LEN = 60;
/** The largest datagram, header included: the total length field is 16 bits. */
export const IPV4_MAX_DATAGRAM = 65535;

export const IPPROTO_ICMP = 1;
export const IPPROTO_IGMP = 2;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_DCCP = 33;
export const IPPROTO_GRE = 47;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;

/** RFC 791 precedence 6, internetwork control: what Linux sends ICMP errors with (RFC 1812 4.3.2.5). */
export const IPTOS_PREC_INTERNETCONTROL = 0xc0;

/** TTL of datagrams the router originates (ICMP errors, echo replies): Linux's net.ipv4.ip_default_ttl, RFC 1700's recommendation. */
export const IPV4_DEFAULT_TTL = 64;

const FLAG_RESERVED = 0x80;
const FLAG_DF = 0x40;
const FLAG_MF = 0x20;

// ---- accessors --------------------------------------------------------------

export function ipv4Version(b: Uint8Array, o: number): number {
  return b[o] >>> 4;
}
/** Header length in 32-bit words. */
export function ipv4Ihl(b: Uint8Array, o: number): number {
  return b[o] & 0x0f;
}
/** Header length in bytes. */
export function ipv4HeaderLen(b: Uint8Array, o: number): number {
  return (b[o] & 0x0f) << 2;
}
export function ipv4Tos(b: Uint8Array, o: number): number {
  return b[o + IPV4_TOS];
}
export function ipv4Dscp(b: Uint8Array, o: number): number {
  return b[o + IPV4_TOS] >>> 2;
}
export function ipv4Ecn(b: Uint8Array, o: number): number {
  return b[o + IPV4_TOS] & 3;
}
export function ipv4TotalLength(b: Uint8Array, o: number): number {
  return (b[o + IPV4_TOTAL_LENGTH] << 8) | b[o + IPV4_TOTAL_LENGTH + 1];
}
/** Total length minus header length: the bytes of L4 this datagram carries. */
export function ipv4PayloadLen(b: Uint8Array, o: number): number {
  return ipv4TotalLength(b, o) - ipv4HeaderLen(b, o);
}
export function ipv4Id(b: Uint8Array, o: number): number {
  return (b[o + IPV4_ID] << 8) | b[o + IPV4_ID + 1];
}
/** The reserved flag bit (must be zero, RFC 791). */
export function ipv4ReservedFlag(b: Uint8Array, o: number): boolean {
  return (b[o + IPV4_FLAGS_FRAG] & FLAG_RESERVED) !== 0;
}
export function ipv4Df(b: Uint8Array, o: number): boolean {
  return (b[o + IPV4_FLAGS_FRAG] & FLAG_DF) !== 0;
}
export function ipv4Mf(b: Uint8Array, o: number): boolean {
  return (b[o + IPV4_FLAGS_FRAG] & FLAG_MF) !== 0;
}
/** Fragment offset in 8-byte units, as on the wire. */
export function ipv4FragOffset(b: Uint8Array, o: number): number {
  return ((b[o + IPV4_FLAGS_FRAG] & 0x1f) << 8) | b[o + IPV4_FLAGS_FRAG + 1];
}
/** True for any fragment: MF set or a non-zero offset. */
export function ipv4IsFragment(b: Uint8Array, o: number): boolean {
  return ((b[o + IPV4_FLAGS_FRAG] & 0x3f) | b[o + IPV4_FLAGS_FRAG + 1]) !== 0;
}
export function ipv4Ttl(b: Uint8Array, o: number): number {
  return b[o + IPV4_TTL];
}
export function ipv4Protocol(b: Uint8Array, o: number): number {
  return b[o + IPV4_PROTOCOL];
}
export function ipv4Checksum(b: Uint8Array, o: number): number {
  return (b[o + IPV4_CHECKSUM] << 8) | b[o + IPV4_CHECKSUM + 1];
}
export function ipv4Src(b: Uint8Array, o: number): number {
  return readIpv4(b, o + IPV4_SRC);
}
export function ipv4Dst(b: Uint8Array, o: number): number {
  return readIpv4(b, o + IPV4_DST);
}

// ---- setters (see the header comment for which ones stale the checksum) -----

/**
 * Starts a header the router originates: b[o, o+20) becomes version 4, IHL 5
 * (no options), every other field zero (no flags, fragment offset 0, checksum
 * 0). Set the rest with the setters below, then fillIpv4Checksum.
 */
export function initIpv4Header(b: Uint8Array, o: number): void {
  b.fill(0, o, o + IPV4_MIN_HEADER_LEN);
  b[o] = 0x45;
}

export function setIpv4Version(b: Uint8Array, o: number, v: number): void {
  b[o] = (b[o] & 0x0f) | ((v & 0x0f) << 4);
}
export function setIpv4Ihl(b: Uint8Array, o: number, words: number): void {
  b[o] = (b[o] & 0xf0) | (words & 0x0f);
}
export function setIpv4Tos(b: Uint8Array, o: number, v: number): void {
  b[o + IPV4_TOS] = v;
}
export function setIpv4Dscp(b: Uint8Array, o: number, v: number): void {
  b[o + IPV4_TOS] = (b[o + IPV4_TOS] & 3) | ((v & 0x3f) << 2);
}
export function setIpv4Ecn(b: Uint8Array, o: number, v: number): void {
  b[o + IPV4_TOS] = (b[o + IPV4_TOS] & 0xfc) | (v & 3);
}
export function setIpv4TotalLength(b: Uint8Array, o: number, v: number): void {
  b[o + IPV4_TOTAL_LENGTH] = v >>> 8;
  b[o + IPV4_TOTAL_LENGTH + 1] = v;
}
export function setIpv4Id(b: Uint8Array, o: number, v: number): void {
  b[o + IPV4_ID] = v >>> 8;
  b[o + IPV4_ID + 1] = v;
}
export function setIpv4ReservedFlag(b: Uint8Array, o: number, v: boolean): void {
  const p = o + IPV4_FLAGS_FRAG;
  b[p] = v ? b[p] | FLAG_RESERVED : b[p] & ~FLAG_RESERVED;
}
export function setIpv4Df(b: Uint8Array, o: number, v: boolean): void {
  const p = o + IPV4_FLAGS_FRAG;
  b[p] = v ? b[p] | FLAG_DF : b[p] & ~FLAG_DF;
}
export function setIpv4Mf(b: Uint8Array, o: number, v: boolean): void {
  const p = o + IPV4_FLAGS_FRAG;
  b[p] = v ? b[p] | FLAG_MF : b[p] & ~FLAG_MF;
}
/** Offset in 8-byte units (13 bits); keeps the flag bits. */
export function setIpv4FragOffset(b: Uint8Array, o: number, units: number): void {
  const p = o + IPV4_FLAGS_FRAG;
  b[p] = (b[p] & 0xe0) | ((units >>> 8) & 0x1f);
  b[p + 1] = units;
}
export function setIpv4Ttl(b: Uint8Array, o: number, v: number): void {
  b[o + IPV4_TTL] = v;
}
export function setIpv4Protocol(b: Uint8Array, o: number, v: number): void {
  b[o + IPV4_PROTOCOL] = v;
}
export function setIpv4Checksum(b: Uint8Array, o: number, v: number): void {
  b[o + IPV4_CHECKSUM] = v >>> 8;
  b[o + IPV4_CHECKSUM + 1] = v;
}
export function setIpv4Src(b: Uint8Array, o: number, addr: number): void {
  writeIpv4(b, o + IPV4_SRC, addr);
}
export function setIpv4Dst(b: Uint8Array, o: number, addr: number): void {
  writeIpv4(b, o + IPV4_DST, addr);
}

// ---- check ------------------------------------------------------------------

/**
 * Structural check of the datagram at b[o, o+len), where len is what was
 * captured (it may exceed the total length: Ethernet padding). In order:
 * IPV4_TRUNCATED (< 20 bytes), IPV4_BAD_VERSION, IPV4_BAD_IHL (< 5),
 * IPV4_TRUNCATED (header longer than len), IPV4_BAD_TOTAL_LENGTH (below the
 * header length or above len), IPV4_BAD_OPTIONS. The checksum is not verified
 * here: see ipv4ChecksumOk.
 */
export function checkIpv4(b: Uint8Array, o: number, len: number): number {
  if (len < IPV4_MIN_HEADER_LEN) return WireDrop.IPV4_TRUNCATED;
  const vihl = b[o];
  if (vihl >>> 4 !== 4) return WireDrop.IPV4_BAD_VERSION;
  const hl = (vihl & 0x0f) << 2;
  if (hl < IPV4_MIN_HEADER_LEN) return WireDrop.IPV4_BAD_IHL;
  if (hl > len) return WireDrop.IPV4_TRUNCATED;
  const total = (b[o + IPV4_TOTAL_LENGTH] << 8) | b[o + IPV4_TOTAL_LENGTH + 1];
  if (total < hl || total > len) return WireDrop.IPV4_BAD_TOTAL_LENGTH;
  if (hl > IPV4_MIN_HEADER_LEN && ipv4OptionsError(b, o + IPV4_OPTIONS, o + hl) >= 0) return WireDrop.IPV4_BAD_OPTIONS;
  return WireDrop.OK;
}

/**
 * For an ICMP Parameter Problem (RFC 792 / RFC 1812 4.3.3.5): the byte offset
 * from the start of the header of the first malformed option, or -1 when the
 * options are well formed. Assumes the header's IHL bytes are present.
 */
export function ipv4OptionsErrorPointer(b: Uint8Array, o: number): number {
  const at = ipv4OptionsError(b, o + IPV4_OPTIONS, o + ipv4HeaderLen(b, o));
  return at < 0 ? -1 : IPV4_OPTIONS + at;
}

// ---- checksum -----------------------------------------------------------------

/** True when the header checksum verifies (RFC 1071: the sum over the header is all ones). */
export function ipv4ChecksumOk(b: Uint8Array, o: number): boolean {
  return foldSum(sumWords(b, o, ipv4HeaderLen(b, o), 0)) === 0xffff;
}

/** Computes and writes the header checksum. */
export function fillIpv4Checksum(b: Uint8Array, o: number): void {
  b[o + IPV4_CHECKSUM] = 0;
  b[o + IPV4_CHECKSUM + 1] = 0;
  setIpv4Checksum(b, o, finishChecksum(sumWords(b, o, ipv4HeaderLen(b, o), 0)));
}

/** Sets the TTL and patches the header checksum (RFC 1624). */
export function setIpv4TtlWithCsum(b: Uint8Array, o: number, ttl: number): void {
  const p = o + IPV4_TTL;
  const oldWord = (b[p] << 8) | b[p + 1];
  b[p] = ttl;
  setIpv4Checksum(b, o, updateChecksum16(ipv4Checksum(b, o), oldWord, (b[p] << 8) | b[p + 1]));
}

/**
 * Forwarding's TTL decrement with the RFC 1624 checksum patch; returns the new
 * TTL. A TTL of 0 is left as is and 0 is returned: the caller should have sent
 * Time Exceeded for TTL <= 1 before forwarding (RFC 1812 5.3.1).
 */
export function decrementIpv4Ttl(b: Uint8Array, o: number): number {
  const ttl = b[o + IPV4_TTL];
  if (ttl === 0) return 0;
  b[o + IPV4_TTL] = ttl - 1;
  // RFC 1624 specialised to TTL - 1, as Linux's ip_decrease_ttl: the TTL is
  // the high byte of its word, so the checksum grows by 0x0100 with an
  // end-around carry. Carrying at c >= 0xffff (not > 0xffff) also turns a
  // result of 0xffff into 0x0000, the form recomputation gives, so this equals
  // setIpv4TtlWithCsum exactly (test/wire/incremental.property.test.ts).
  const c = ((b[o + IPV4_CHECKSUM] << 8) | b[o + IPV4_CHECKSUM + 1]) + 0x0100;
  const folded = (c + ((c + 1) >>> 16)) & 0xffff;
  b[o + IPV4_CHECKSUM] = folded >>> 8;
  b[o + IPV4_CHECKSUM + 1] = folded & 0xff;
  return ttl - 1;
}

/** Rewrites the source (SNAT) and patches the header checksum. The L4 checksum is the caller's. */
export function setIpv4SrcWithCsum(b: Uint8Array, o: number, addr: number): void {
  const old = readIpv4(b, o + IPV4_SRC);
  writeIpv4(b, o + IPV4_SRC, addr);
  setIpv4Checksum(b, o, updateChecksum32(ipv4Checksum(b, o), old, addr >>> 0));
}

/** Rewrites the destination (DNAT) and patches the header checksum. The L4 checksum is the caller's. */
export function setIpv4DstWithCsum(b: Uint8Array, o: number, addr: number): void {
  const old = readIpv4(b, o + IPV4_DST);
  writeIpv4(b, o + IPV4_DST, addr);
  setIpv4Checksum(b, o, updateChecksum32(ipv4Checksum(b, o), old, addr >>> 0));
}

// ---- repr -------------------------------------------------------------------

export interface Ipv4Repr {
  /** Header length in 32-bit words (5..15). */
  ihl: number;
  tos: number;
  totalLength: number;
  id: number;
  df: boolean;
  mf: boolean;
  /** In 8-byte units, as on the wire. */
  fragOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  src: string;
  dst: string;
  /** Options before EOL (NOPs included); EOL and padding are implied. */
  options: Ipv4Option[];
  /** The reserved flag bit; absent means clear. */
  reservedFlag?: boolean;
}

/**
 * Builds a repr from the header at b[o..] without judging it (parseIpv4
 * checks first; ICMP quote parsing checks less). Options are decoded from the
 * bytes before min(header length, `available`), so a header cut short yields
 * the options that are there.
 */
export function readIpv4Repr(b: Uint8Array, o: number, available = IPV4_MAX_HEADER_LEN): Ipv4Repr {
  const hl = ipv4HeaderLen(b, o);
  const repr: Ipv4Repr = {
    ihl: ipv4Ihl(b, o),
    tos: ipv4Tos(b, o),
    totalLength: ipv4TotalLength(b, o),
    id: ipv4Id(b, o),
    df: ipv4Df(b, o),
    mf: ipv4Mf(b, o),
    fragOffset: ipv4FragOffset(b, o),
    ttl: ipv4Ttl(b, o),
    protocol: ipv4Protocol(b, o),
    checksum: ipv4Checksum(b, o),
    src: ipv4ToString(ipv4Src(b, o)),
    dst: ipv4ToString(ipv4Dst(b, o)),
    options: parseIpv4Options(b, o + IPV4_OPTIONS, o + (hl < available ? hl : available)),
  };
  if (ipv4ReservedFlag(b, o)) repr.reservedFlag = true;
  return repr;
}

/** checkIpv4, then the repr. The checksum is reported, not verified. */
export function parseIpv4(b: Uint8Array, o: number, len: number): ParseResult<Ipv4Repr> {
  const reason = checkIpv4(b, o, len);
  if (reason !== WireDrop.OK) return { ok: false, reason };
  return { ok: true, repr: readIpv4Repr(b, o) };
}

export interface Ipv4EmitOptions {
  /** false: write repr.checksum as given instead of computing it. Default true. */
  computeChecksum?: boolean;
}

/**
 * Writes the header (ihl * 4 bytes, options then zero padding) at b[o..];
 * returns its length. The payload is the caller's. Throws RangeError on bad
 * address text or when the options do not fit in ihl.
 */
export function emitIpv4(repr: Ipv4Repr, b: Uint8Array, o: number, opts?: Ipv4EmitOptions): number {
  const hl = (repr.ihl & 0x0f) << 2;
  if (hl < IPV4_MIN_HEADER_LEN) throw new RangeError(`IPv4 ihl ${repr.ihl} is below 5`);
  b[o] = 0x40 | (repr.ihl & 0x0f);
  b[o + IPV4_TOS] = repr.tos;
  setIpv4TotalLength(b, o, repr.totalLength);
  setIpv4Id(b, o, repr.id);
  b[o + IPV4_FLAGS_FRAG] =
    (repr.reservedFlag ? FLAG_RESERVED : 0) | (repr.df ? FLAG_DF : 0) | (repr.mf ? FLAG_MF : 0) | ((repr.fragOffset >>> 8) & 0x1f);
  b[o + IPV4_FLAGS_FRAG + 1] = repr.fragOffset;
  b[o + IPV4_TTL] = repr.ttl;
  b[o + IPV4_PROTOCOL] = repr.protocol;
  writeIpv4(b, o + IPV4_SRC, parseIpv4Address(repr.src));
  writeIpv4(b, o + IPV4_DST, parseIpv4Address(repr.dst));
  writeIpv4Options(repr.options, b, o + IPV4_OPTIONS, o + hl);
  if (opts?.computeChecksum === false) setIpv4Checksum(b, o, repr.checksum);
  else fillIpv4Checksum(b, o);
  return hl;
}

/** The smallest IHL (words) that holds `options`. */
export function ipv4IhlForOptions(options: readonly Ipv4Option[]): number {
  return 5 + ((ipv4OptionsLength(options) + 3) >>> 2);
}

// Options live in ipv4-options.ts; re-exported so that callers need one import.
export * from './ipv4-options.js';
