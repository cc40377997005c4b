// ARP for IPv4 over Ethernet (RFC 826).
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   Hardware type (HTYPE) = 1   |  Protocol type (PTYPE) 0x0800 |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  HLEN = 6     |  PLEN = 4     |        Operation (OPER)       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                Sender hardware address (SHA)                  |
//   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                               |  Sender protocol address (SPA)|
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         SPA (cont.)           |                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//   |                Target hardware address (THA)                  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                Target protocol address (TPA)                  |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Only the Ethernet/IPv4 shape is decoded: checkArp answers ARP_UNSUPPORTED
// for other hardware or protocol types or address lengths, so after it passes
// the address offsets below are fixed. Operations other than request and
// reply (RARP, InARP) are not judged here.

import { ipv4ToString, macToString, parseIpv4Address, readIpv4, writeIpv4, writeMac } from './address.js';
import { WireDrop, type ParseResult } from './drop-reason.js';
import { ETHERTYPE_IPV4 } from './ethernet.js';

export const ARP_HTYPE = 0;
export const ARP_PTYPE = 2;
export const ARP_HLEN = 4;
export const ARP_PLEN = 5;
export const ARP_OPER = 6;
export const ARP_SHA = 8;
export const ARP_SPA = 14;
export const ARP_THA = 18;
export const ARP_TPA = 24;
/** The fixed part before the addresses. */
export const ARP_FIXED_LEN = 8;
/** Ethernet/IPv4 ARP packet: 8 + 2 * (6 + 4). */
export const ARP_LEN = 28;

export const ARP_HTYPE_ETHERNET = 1;
export const ARP_PTYPE_IPV4 = ETHERTYPE_IPV4;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

export function arpHtype(b: Uint8Array, o: number): number {
  return (b[o + ARP_HTYPE] << 8) | b[o + ARP_HTYPE + 1];
}
export function arpPtype(b: Uint8Array, o: number): number {
  return (b[o + ARP_PTYPE] << 8) | b[o + ARP_PTYPE + 1];
}
export function arpHlen(b: Uint8Array, o: number): number {
  return b[o + ARP_HLEN];
}
export function arpPlen(b: Uint8Array, o: number): number {
  return b[o + ARP_PLEN];
}
export function arpOper(b: Uint8Array, o: number): number {
  return (b[o + ARP_OPER] << 8) | b[o + ARP_OPER + 1];
}
/** Sender MAC as text (allocates; per packet, copy ARP_SHA with copyEthAddr). */
export function arpSha(b: Uint8Array, o: number): string {
  return macToString(b, o + ARP_SHA);
}
/** Sender IPv4 address, unsigned 32-bit. */
export function arpSpa(b: Uint8Array, o: number): number {
  return readIpv4(b, o + ARP_SPA);
}
/** Target MAC as text (allocates). */
export function arpTha(b: Uint8Array, o: number): string {
  return macToString(b, o + ARP_THA);
}
/** Target IPv4 address, unsigned 32-bit. */
export function arpTpa(b: Uint8Array, o: number): number {
  return readIpv4(b, o + ARP_TPA);
}

// Setters of htype/ptype/hlen/plen invalidate checkArp.
export function setArpHtype(b: Uint8Array, o: number, v: number): void {
  b[o + ARP_HTYPE] = v >>> 8;
  b[o + ARP_HTYPE + 1] = v;
}
export function setArpPtype(b: Uint8Array, o: number, v: number): void {
  b[o + ARP_PTYPE] = v >>> 8;
  b[o + ARP_PTYPE + 1] = v;
}
export function setArpHlen(b: Uint8Array, o: number, v: number): void {
  b[o + ARP_HLEN] = v;
}
export function setArpPlen(b: Uint8Array, o: number, v: number): void {
  b[o + ARP_PLEN] = v;
}
export function setArpOper(b: Uint8Array, o: number, v: number): void {
  b[o + ARP_OPER] = v >>> 8;
  b[o + ARP_OPER + 1] = v;
}
/** From text; throws RangeError on bad text. */
export function setArpSha(b: Uint8Array, o: number, mac: string): void {
  writeMac(b, o + ARP_SHA, mac);
}
export function setArpSpa(b: Uint8Array, o: number, addr: number): void {
  writeIpv4(b, o + ARP_SPA, addr);
}
/** From text; throws RangeError on bad text. */
export function setArpTha(b: Uint8Array, o: number, mac: string): void {
  writeMac(b, o + ARP_THA, mac);
}
export function setArpTpa(b: Uint8Array, o: number, addr: number): void {
  writeIpv4(b, o + ARP_TPA, addr);
}

/**
 * ARP_TRUNCATED when the fixed part or the addresses do not fit in `len`;
 * ARP_UNSUPPORTED for anything but HTYPE 1 / PTYPE 0x0800 / HLEN 6 / PLEN 4.
 * Bytes after the 28 (Ethernet padding) are allowed.
 */
export function checkArp(b: Uint8Array, o: number, len: number): number {
  if (len < ARP_FIXED_LEN) return WireDrop.ARP_TRUNCATED;
  if (
    arpHtype(b, o) !== ARP_HTYPE_ETHERNET ||
    arpPtype(b, o) !== ARP_PTYPE_IPV4 ||
    b[o + ARP_HLEN] !== 6 ||
    b[o + ARP_PLEN] !== 4
  ) {
    return WireDrop.ARP_UNSUPPORTED;
  }
  if (len < ARP_LEN) return WireDrop.ARP_TRUNCATED;
  return WireDrop.OK;
}

/** Gratuitous ARP / RFC 5227 announcement: the sender asks for (or announces) its own address. */
export function arpIsGratuitous(b: Uint8Array, o: number): boolean {
  return arpSpa(b, o) === arpTpa(b, o);
}

export interface ArpRepr {
  /** ARP_REQUEST, ARP_REPLY, or another operation code. */
  oper: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

export function parseArp(b: Uint8Array, o: number, len: number): ParseResult<ArpRepr> {
  const reason = checkArp(b, o, len);
  if (reason !== WireDrop.OK) return { ok: false, reason };
  return {
    ok: true,
    repr: {
      oper: arpOper(b, o),
      sha: arpSha(b, o),
      spa: ipv4ToString(arpSpa(b, o)),
      tha: arpTha(b, o),
      tpa: ipv4ToString(arpTpa(b, o)),
    },
  };
}

/** Writes the 28-byte Ethernet/IPv4 ARP packet; returns ARP_LEN. Throws RangeError on bad address text. */
export function emitArp(repr: ArpRepr, b: Uint8Array, o: number): number {
  setArpHtype(b, o, ARP_HTYPE_ETHERNET);
  setArpPtype(b, o, ARP_PTYPE_IPV4);
  b[o + ARP_HLEN] = 6;
  b[o + ARP_PLEN] = 4;
  setArpOper(b, o, repr.oper);
  writeMac(b, o + ARP_SHA, repr.sha);
  writeIpv4(b, o + ARP_SPA, parseIpv4Address(repr.spa));
  writeMac(b, o + ARP_THA, repr.tha);
  writeIpv4(b, o + ARP_TPA, parseIpv4Address(repr.tpa));
  return ARP_LEN;
}
