// UDP header (RFC 768).
//
//    0      7 8     15 16    23 24    31
//   +--------+--------+--------+--------+
//   |     Source      |   Destination   |
//   |      Port       |      Port       |
//   +--------+--------+--------+--------+
//   |                 |                 |
//   |     Length      |    Checksum     |
//   +--------+--------+--------+--------+
//   |          data octets ...
//   +---------------- ...
//
// Length covers header and data. The checksum covers the IPv4 pseudo-header
// (src, dst, 0, 17, UDP length), the header and the data; 0 on the wire means
// "no checksum", so a computed 0 is sent as 0xffff (RFC 768).
//
// Checksums: every plain setter except setUdpChecksum leaves the checksum
// stale (unless it is 0 = absent); the ...WithCsum setters patch it and keep
// an absent checksum absent. Rewriting the IPv4 source or destination stales
// it too: call updateUdpChecksumForAddress. setUdpLength can invalidate checkUdp.

import { toIpv4Number } from './address.js';
import { finishChecksum, foldSum, pseudoHeaderSum, pseudoHeaderSumFromIpv4, sumWords, udpWireChecksum, updateUdpChecksum16, updateUdpChecksum32 } from './checksum.js';
import { WireDrop, type ParseResult } from './drop-reason.js';
import { IPPROTO_UDP } from './ipv4.js';

export const UDP_SRC_PORT = 0;
export const UDP_DST_PORT = 2;
export const UDP_LENGTH = 4;
export const UDP_CHECKSUM = 6;
export const UDP_HEADER_LEN = 8;

export function udpSrcPort(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
export function udpDstPort(b: Uint8Array, o: number): number {
  return (b[o + UDP_DST_PORT] << 8) | b[o + UDP_DST_PORT + 1];
}
/** The length field: header plus data, in bytes. */
export function udpLength(b: Uint8Array, o: number): number {
  return (b[o + UDP_LENGTH] << 8) | b[o + UDP_LENGTH + 1];
}
export function udpChecksum(b: Uint8Array, o: number): number {
  return (b[o + UDP_CHECKSUM] << 8) | b[o + UDP_CHECKSUM + 1];
}

export function setUdpSrcPort(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}
export function setUdpDstPort(b: Uint8Array, o: number, v: number): void {
  b[o + UDP_DST_PORT] = v >>> 8;
  b[o + UDP_DST_PORT + 1] = v;
}
export function setUdpLength(b: Uint8Array, o: number, v: number): void {
  b[o + UDP_LENGTH] = v >>> 8;
  b[o + UDP_LENGTH + 1] = v;
}
export function setUdpChecksum(b: Uint8Array, o: number, v: number): void {
  b[o + UDP_CHECKSUM] = v >>> 8;
  b[o + UDP_CHECKSUM + 1] = v;
}

/**
 * Structural check of the datagram at b[o, o+len), where len is the IP
 * payload length: UDP_TRUNCATED below 8 bytes, UDP_BAD_LENGTH when the length
 * field is below 8 or above len. A length below len is allowed (the rest is
 * trailing bytes, as Linux trims them). The checksum is separate.
 */
export function checkUdp(b: Uint8Array, o: number, len: number): number {
  if (len < UDP_HEADER_LEN) return WireDrop.UDP_TRUNCATED;
  const ulen = udpLength(b, o);
  if (ulen < UDP_HEADER_LEN || ulen > len) return WireDrop.UDP_BAD_LENGTH;
  return WireDrop.OK;
}

/**
 * Verifies the checksum of the udpLen-byte datagram at udpOff (pass the length
 * field), with the pseudo-header from the IPv4 header at ipOff. True when the
 * checksum is 0 (absent).
 */
export function udpChecksumOk(b: Uint8Array, ipOff: number, udpOff: number, udpLen: number): boolean {
  if (udpChecksum(b, udpOff) === 0) return true;
  return foldSum(sumWords(b, udpOff, udpLen, pseudoHeaderSumFromIpv4(b, ipOff, IPPROTO_UDP, udpLen))) === 0xffff;
}

/** Computes and writes the checksum; a computed 0 is written as 0xffff. */
export function fillUdpChecksum(b: Uint8Array, ipOff: number, udpOff: number, udpLen: number): void {
  setUdpChecksum(b, udpOff, 0);
  const sum = sumWords(b, udpOff, udpLen, pseudoHeaderSumFromIpv4(b, ipOff, IPPROTO_UDP, udpLen));
  setUdpChecksum(b, udpOff, udpWireChecksum(finishChecksum(sum)));
}

/** Rewrites the source port and patches the checksum (RFC 1624; 0 stays 0). */
export function setUdpSrcPortWithCsum(b: Uint8Array, o: number, port: number): void {
  const old = udpSrcPort(b, o);
  setUdpSrcPort(b, o, port);
  setUdpChecksum(b, o, updateUdpChecksum16(udpChecksum(b, o), old, port & 0xffff));
}

/** Rewrites the destination port and patches the checksum (RFC 1624; 0 stays 0). */
export function setUdpDstPortWithCsum(b: Uint8Array, o: number, port: number): void {
  const old = udpDstPort(b, o);
  setUdpDstPort(b, o, port);
  setUdpChecksum(b, o, updateUdpChecksum16(udpChecksum(b, o), old, port & 0xffff));
}

/** Patches the checksum after a pseudo-header address changed (NAT); 0 stays 0. */
export function updateUdpChecksumForAddress(b: Uint8Array, udpOff: number, oldAddr: number, newAddr: number): void {
  setUdpChecksum(b, udpOff, updateUdpChecksum32(udpChecksum(b, udpOff), oldAddr >>> 0, newAddr >>> 0));
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** As on the wire; 0 = no checksum. */
  checksum: number;
  /** The data: length field minus 8 bytes. */
  payload: Uint8Array;
}

/** checkUdp, then the repr (payload copied, up to the length field). The checksum is reported, not verified. */
export function parseUdp(b: Uint8Array, o: number, len: number): ParseResult<UdpRepr> {
  const reason = checkUdp(b, o, len);
  if (reason !== WireDrop.OK) return { ok: false, reason };
  return {
    ok: true,
    repr: {
      srcPort: udpSrcPort(b, o),
      dstPort: udpDstPort(b, o),
      checksum: udpChecksum(b, o),
      payload: b.slice(o + UDP_HEADER_LEN, o + udpLength(b, o)),
    },
  };
}

export interface UdpEmitOptions {
  /** false: write repr.checksum as given (0 sends no checksum). Default true. */
  computeChecksum?: boolean;
}

/**
 * Writes header and payload at b[o..]; returns 8 + payload length. The
 * checksum is computed over the pseudo-header of src -> dst (dotted text or
 * 32-bit numbers). Throws RangeError on bad address text or a payload over 65527 bytes.
 */
export function emitUdp(
  repr: UdpRepr, b: Uint8Array, o: number, src: string | number, dst: string | number, opts?: UdpEmitOptions,
): number {
  const len = UDP_HEADER_LEN + repr.payload.length;
  if (len > 0xffff) throw new RangeError(`UDP datagram of ${len} bytes exceeds the 16-bit length field`);
  setUdpSrcPort(b, o, repr.srcPort);
  setUdpDstPort(b, o, repr.dstPort);
  setUdpLength(b, o, len);
  b.set(repr.payload, o + UDP_HEADER_LEN);
  if (opts?.computeChecksum === false) {
    setUdpChecksum(b, o, repr.checksum);
  } else {
    setUdpChecksum(b, o, 0);
    const sum = sumWords(b, o, len, pseudoHeaderSum(toIpv4Number(src), toIpv4Number(dst), IPPROTO_UDP, len));
    setUdpChecksum(b, o, udpWireChecksum(finishChecksum(sum)));
  }
  return len;
}
