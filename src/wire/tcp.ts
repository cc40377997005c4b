// TCP header (RFC 9293 section 3.1).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |          Source Port          |       Destination Port        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                        Sequence Number                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Acknowledgment Number                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Data |     |N|C|E|U|A|P|R|S|F|                               |
//   | Offset| Rsrv|S|W|C|R|C|S|S|Y|I|            Window             |
//   |       |     | |R|E|G|K|H|T|N|N|                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Checksum            |         Urgent Pointer        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                    Options                    |    Padding    |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Data offset counts 32-bit words (5..15). NS (RFC 3540, now historic; AccECN
// reuses the bit as AE) is the low bit of byte 12; the eight flags are byte 13.
// The checksum covers the IPv4 pseudo-header (src, dst, 0, 6, TCP length), the
// header and the payload.
//
// Checksums: every plain setter except setTcpChecksum leaves the checksum
// stale; the ...WithCsum setters patch it (RFC 1624). Rewriting the IPv4
// source or destination stales it too: call updateTcpChecksumForAddress.
// setTcpDataOffset can invalidate checkTcp.

import { readIpv4, toIpv4Number, writeIpv4 } from './address.js';
import { finishChecksum, foldSum, pseudoHeaderSum, pseudoHeaderSumFromIpv4, sumWords, updateChecksum16, updateChecksum32 } from './checksum.js';
import { WireDrop, type ParseResult } from './drop-reason.js';
import { IPPROTO_TCP } from './ipv4.js';
import { parseTcpOptions, tcpFindMssOffset, tcpOptionsLength, tcpOptionsWellFormed, writeTcpOptions, type TcpOption } from './tcp-options.js';

export const TCP_SRC_PORT = 0;
export const TCP_DST_PORT = 2;
/** Offsets of the sequence and acknowledgment numbers (TCP_ACK is the flag). */
export const TCP_SEQ_NUM = 4;
export const TCP_ACK_NUM = 8;
export const TCP_DATA_OFFSET = 12;
export const TCP_FLAGS = 13;
export const TCP_WINDOW = 14;
export const TCP_CHECKSUM = 16;
export const TCP_URGENT = 18;
export const TCP_OPTIONS = 20;
export const TCP_MIN_HEADER_LEN = 20;
export const TCP_MAX_HEADER_LEN = 60;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;


// ---- accessors --------------------------------------------------------------

export function tcpSrcPort(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
export function tcpDstPort(b: Uint8Array, o: number): number {
  return (b[o + TCP_DST_PORT] << 8) | b[o + TCP_DST_PORT + 1];
}
export function tcpSeq(b: Uint8Array, o: number): number {
  return readIpv4(b, o + TCP_SEQ_NUM);
}
export function tcpAck(b: Uint8Array, o: number): number {
  return readIpv4(b, o + TCP_ACK_NUM);
}
/** Header length in 32-bit words. */
export function tcpDataOffset(b: Uint8Array, o: number): number {
  return b[o + TCP_DATA_OFFSET] >>> 4;
}
/** Header length in bytes. */
export function tcpHeaderLen(b: Uint8Array, o: number): number {
  return (b[o + TCP_DATA_OFFSET] >>> 4) << 2;
}
/** The three reserved bits between the data offset and NS (must be zero). */
export function tcpReserved(b: Uint8Array, o: number): number {
  return (b[o + TCP_DATA_OFFSET] >>> 1) & 7;
}
export function tcpNs(b: Uint8Array, o: number): boolean {
  return (b[o + TCP_DATA_OFFSET] & 1) !== 0;
}
/** FIN=1 SYN=2 RST=4 PSH=8 ACK=16 URG=32 ECE=64 CWR=128. */
export function tcpFlags(b: Uint8Array, o: number): number {
  return b[o + TCP_FLAGS];
}
export function tcpWindow(b: Uint8Array, o: number): number {
  return (b[o + TCP_WINDOW] << 8) | b[o + TCP_WINDOW + 1];
}
export function tcpChecksum(b: Uint8Array, o: number): number {
  return (b[o + TCP_CHECKSUM] << 8) | b[o + TCP_CHECKSUM + 1];
}
export function tcpUrgent(b: Uint8Array, o: number): number {
  return (b[o + TCP_URGENT] << 8) | b[o + TCP_URGENT + 1];
}

// ---- setters (all but setTcpChecksum stale the checksum) --------------------

export function setTcpSrcPort(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}
export function setTcpDstPort(b: Uint8Array, o: number, v: number): void {
  b[o + TCP_DST_PORT] = v >>> 8;
  b[o + TCP_DST_PORT + 1] = v;
}
export function setTcpSeq(b: Uint8Array, o: number, v: number): void {
  writeIpv4(b, o + TCP_SEQ_NUM, v);
}
export function setTcpAck(b: Uint8Array, o: number, v: number): void {
  writeIpv4(b, o + TCP_ACK_NUM, v);
}
/** In words; keeps the reserved and NS bits. */
export function setTcpDataOffset(b: Uint8Array, o: number, words: number): void {
  const p = o + TCP_DATA_OFFSET;
  b[p] = (b[p] & 0x0f) | ((words & 0x0f) << 4);
}
export function setTcpReserved(b: Uint8Array, o: number, v: number): void {
  const p = o + TCP_DATA_OFFSET;
  b[p] = (b[p] & 0xf1) | ((v & 7) << 1);
}
export function setTcpNs(b: Uint8Array, o: number, v: boolean): void {
  const p = o + TCP_DATA_OFFSET;
  b[p] = v ? b[p] | 1 : b[p] & 0xfe;
}
export function setTcpFlags(b: Uint8Array, o: number, v: number): void {
  b[o + TCP_FLAGS] = v;
}
export function setTcpWindow(b: Uint8Array, o: number, v: number): void {
  b[o + TCP_WINDOW] = v >>> 8;
  b[o + TCP_WINDOW + 1] = v;
}
export function setTcpChecksum(b: Uint8Array, o: number, v: number): void {
  b[o + TCP_CHECKSUM] = v >>> 8;
  b[o + TCP_CHECKSUM + 1] = v;
}
export function setTcpUrgent(b: Uint8Array, o: number, v: number): void {
  b[o + TCP_URGENT] = v >>> 8;
  b[o + TCP_URGENT + 1] = v;
}

// ---- check ------------------------------------------------------------------

/**
 * Structural check of the segment at b[o, o+len), where len is the IP payload
 * length (total length minus IP header). TCP_TRUNCATED below 20 bytes,
 * TCP_BAD_DATA_OFFSET below 5 words or past len, TCP_BAD_OPTIONS for an
 * option with a length below 2 or past the header. The checksum is separate.
 */
export function checkTcp(b: Uint8Array, o: number, len: number): number {
  if (len < TCP_MIN_HEADER_LEN) return WireDrop.TCP_TRUNCATED;
  const hl = (b[o + TCP_DATA_OFFSET] >>> 4) << 2;
  if (hl < TCP_MIN_HEADER_LEN || hl > len) return WireDrop.TCP_BAD_DATA_OFFSET;
  if (hl > TCP_MIN_HEADER_LEN && !tcpOptionsWellFormed(b, o + TCP_OPTIONS, o + hl)) return WireDrop.TCP_BAD_OPTIONS;
  return WireDrop.OK;
}

// ---- checksum -----------------------------------------------------------------

/** Verifies the checksum of the tcpLen-byte segment at tcpOff, with the pseudo-header from the IPv4 header at ipOff. */
export function tcpChecksumOk(b: Uint8Array, ipOff: number, tcpOff: number, tcpLen: number): boolean {
  return foldSum(sumWords(b, tcpOff, tcpLen, pseudoHeaderSumFromIpv4(b, ipOff, IPPROTO_TCP, tcpLen))) === 0xffff;
}

/** Computes and writes the checksum of the tcpLen-byte segment at tcpOff. */
export function fillTcpChecksum(b: Uint8Array, ipOff: number, tcpOff: number, tcpLen: number): void {
  b[tcpOff + TCP_CHECKSUM] = 0;
  b[tcpOff + TCP_CHECKSUM + 1] = 0;
  setTcpChecksum(b, tcpOff, finishChecksum(sumWords(b, tcpOff, tcpLen, pseudoHeaderSumFromIpv4(b, ipOff, IPPROTO_TCP, tcpLen))));
}

/** Rewrites the source port and patches the checksum (RFC 1624). */
export function setTcpSrcPortWithCsum(b: Uint8Array, o: number, port: number): void {
  const old = tcpSrcPort(b, o);
  setTcpSrcPort(b, o, port);
  setTcpChecksum(b, o, updateChecksum16(tcpChecksum(b, o), old, port & 0xffff));
}

/** Rewrites the destination port and patches the checksum (RFC 1624). */
export function setTcpDstPortWithCsum(b: Uint8Array, o: number, port: number): void {
  const old = tcpDstPort(b, o);
  setTcpDstPort(b, o, port);
  setTcpChecksum(b, o, updateChecksum16(tcpChecksum(b, o), old, port & 0xffff));
}

/**
 * Patches the checksum of the segment at tcpOff after an IPv4 address in its
 * pseudo-header changed from oldAddr to newAddr (NAT). The IPv4 header is the
 * caller's (setIpv4SrcWithCsum / setIpv4DstWithCsum).
 */
export function updateTcpChecksumForAddress(b: Uint8Array, tcpOff: number, oldAddr: number, newAddr: number): void {
  setTcpChecksum(b, tcpOff, updateChecksum32(tcpChecksum(b, tcpOff), oldAddr >>> 0, newAddr >>> 0));
}

/**
 * MSS clamping: when the segment is a SYN whose MSS option exceeds maxMss,
 * lowers it to maxMss and patches the checksum. Returns true when it changed
 * the segment. Needs checkTcp to have passed.
 */
export function clampTcpMss(b: Uint8Array, o: number, maxMss: number): boolean {
  if ((b[o + TCP_FLAGS] & TCP_SYN) === 0) return false;
  const p = tcpFindMssOffset(b, o + TCP_OPTIONS, o + tcpHeaderLen(b, o));
  if (p < 0) return false;
  const mss = (b[p] << 8) | b[p + 1];
  if (mss <= maxMss) return false;
  b[p] = maxMss >>> 8;
  b[p + 1] = maxMss;
  // Options need not be word aligned, so the value can sit at an odd offset.
  setTcpChecksum(b, o, patchUnaligned16(tcpChecksum(b, o), (p - o) & 1, mss, maxMss & 0xffff));
  return true;
}

/**
 * RFC 1624 update for a 16-bit value that may sit at an odd offset. At an odd
 * offset its bytes fall in the low half of one word and the high half of the
 * next; byte-swapping both values gives the same ones-complement difference.
 */
function patchUnaligned16(csum: number, odd: number, oldV: number, newV: number): number {
  if (odd === 0) return updateChecksum16(csum, oldV, newV);
  return updateChecksum16(csum, swapBytes16(oldV), swapBytes16(newV));
}

function swapBytes16(v: number): number {
  return ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
}

// ---- repr -------------------------------------------------------------------

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Header length in words; emit computes the smallest that holds the options when absent. */
  dataOffset?: number;
  /** TCP_FIN | TCP_SYN | ... (low 8 bits). */
  flags: number;
  /** The NS / AE bit; absent means clear. */
  ns?: boolean;
  /** The 3 reserved bits; absent means zero. */
  reserved?: number;
  window: number;
  checksum: number;
  urgent: number;
  options: TcpOption[];
  payload: Uint8Array;
}

/** checkTcp, then the repr of the len-byte segment (payload copied). The checksum is reported, not verified. */
export function parseTcp(b: Uint8Array, o: number, len: number): ParseResult<TcpRepr> {
  const reason = checkTcp(b, o, len);
  if (reason !== WireDrop.OK) return { ok: false, reason };
  const hl = tcpHeaderLen(b, o);
  const repr: TcpRepr = {
    srcPort: tcpSrcPort(b, o),
    dstPort: tcpDstPort(b, o),
    seq: tcpSeq(b, o),
    ack: tcpAck(b, o),
    dataOffset: hl >>> 2,
    flags: tcpFlags(b, o),
    window: tcpWindow(b, o),
    checksum: tcpChecksum(b, o),
    urgent: tcpUrgent(b, o),
    options: parseTcpOptions(b, o + TCP_OPTIONS, o + hl),
    payload: b.slice(o + hl, o + len),
  };
  if (tcpNs(b, o)) repr.ns = true;
  if (tcpReserved(b, o) !== 0) repr.reserved = tcpReserved(b, o);
  return { ok: true, repr };
}

/** Header length emitTcp writes for `repr`, in bytes. */
export function tcpReprHeaderLen(repr: TcpRepr): number {
  return repr.dataOffset !== undefined ? repr.dataOffset << 2 : TCP_MIN_HEADER_LEN + ((tcpOptionsLength(repr.options) + 3) & ~3);
}

export interface TcpEmitOptions {
  /** false: write repr.checksum as given. Default true. */
  computeChecksum?: boolean;
}

/**
 * Writes header, options (zero padded) and payload at b[o..]; returns the
 * segment length. The checksum is computed over the pseudo-header of
 * src -> dst (dotted text or 32-bit numbers). Throws RangeError when the
 * options do not fit the data offset, the segment exceeds 65535 bytes, or on
 * bad address text.
 */
export function emitTcp(
  repr: TcpRepr, b: Uint8Array, o: number, src: string | number, dst: string | number, opts?: TcpEmitOptions,
): number {
  const hl = tcpReprHeaderLen(repr);
  if (hl < TCP_MIN_HEADER_LEN || hl > TCP_MAX_HEADER_LEN) throw new RangeError(`TCP header length ${hl} is outside 20..60`);
  const segLen = hl + repr.payload.length;
  if (segLen > 0xffff) throw new RangeError(`TCP segment of ${segLen} bytes does not fit an IPv4 datagram`);
  setTcpSrcPort(b, o, repr.srcPort);
  setTcpDstPort(b, o, repr.dstPort);
  setTcpSeq(b, o, repr.seq);
  setTcpAck(b, o, repr.ack);
  b[o + TCP_DATA_OFFSET] = ((hl >>> 2) << 4) | (((repr.reserved ?? 0) & 7) << 1) | (repr.ns ? 1 : 0);
  b[o + TCP_FLAGS] = repr.flags;
  setTcpWindow(b, o, repr.window);
  setTcpUrgent(b, o, repr.urgent);
  writeTcpOptions(repr.options, b, o + TCP_OPTIONS, o + hl);
  b.set(repr.payload, o + hl);
  if (opts?.computeChecksum === false) {
    setTcpChecksum(b, o, repr.checksum);
  } else {
    setTcpChecksum(b, o, 0);
    const pseudo = pseudoHeaderSum(toIpv4Number(src), toIpv4Number(dst), IPPROTO_TCP, segLen);
    setTcpChecksum(b, o, finishChecksum(sumWords(b, o, segLen, pseudo)));
  }
  return segLen;
}

// Options live in tcp-options.ts; re-exported so that callers need one import.
export * from './tcp-options.js';
