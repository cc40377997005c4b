// Ethernet II (DIX) frames with optional stacked 802.1Q / 802.1ad tags.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                 Destination MAC address                       |
//   +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                               |                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//   |                    Source MAC address                         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     EtherType (or TPID)       |  [PCP|D| VLAN ID  ] (tag TCI) |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  EtherType after the tag ...  |  ... more tags, then payload
//
// A tag (IEEE 802.1Q) is 4 bytes: the TPID sits where the EtherType would be
// (0x8100 for a customer tag, 0x88a8 for an 802.1ad service tag, 0x9100 for the
// older pre-standard QinQ), followed by the TCI: PCP (3 bits), DEI (1 bit) and
// the 12-bit VLAN ID. The payload's EtherType follows the last tag. The FCS is
// not part of what we see.
//
// Setters do not change the frame's length; adding or removing a tag is the
// caller's job (move the bytes, then call these).

import { macToString, writeMac } from './address.js';
import { WireDrop, type ParseResult } from './drop-reason.js';

export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;
export const ETH_HEADER_LEN = 14;

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_QINQ = 0x88a8;
/** Pre-802.1ad service tag TPID still sent by some switches. */
export const ETHERTYPE_QINQ_9100 = 0x9100;

export const VLAN_TAG_LEN = 4;
/**
 * Tags beyond this many are not counted: the count stops and the next TPID is
 * reported as the payload type (which ethernet-input does not know, so drops).
 * Bounds the per-packet work on a frame stuffed with tags.
 */
export const ETH_MAX_VLAN_TAGS = 8;

/** True for the TPIDs we treat as a VLAN tag. */
export function isVlanTpid(t: number): boolean {
  return t === ETHERTYPE_VLAN || t === ETHERTYPE_QINQ || t === ETHERTYPE_QINQ_9100;
}

// ---- fixed header ---------------------------------------------------------

/** The 16-bit field at offset 12: the EtherType, or the first tag's TPID. */
export function ethType(b: Uint8Array, o: number): number {
  return (b[o + ETH_TYPE] << 8) | b[o + ETH_TYPE + 1];
}

export function setEthType(b: Uint8Array, o: number, t: number): void {
  b[o + ETH_TYPE] = t >>> 8;
  b[o + ETH_TYPE + 1] = t;
}

/** Destination MAC as text (allocates: control plane, tracing, tests). */
export function ethDstString(b: Uint8Array, o: number): string {
  return macToString(b, o + ETH_DST);
}

/** Source MAC as text (allocates). */
export function ethSrcString(b: Uint8Array, o: number): string {
  return macToString(b, o + ETH_SRC);
}

/** Writes the destination MAC from text; throws RangeError on bad text. Per packet, use copyEthAddr. */
export function setEthDst(b: Uint8Array, o: number, mac: string): void {
  writeMac(b, o + ETH_DST, mac);
}

/** Writes the source MAC from text; throws RangeError on bad text. Per packet, use copyEthAddr. */
export function setEthSrc(b: Uint8Array, o: number, mac: string): void {
  writeMac(b, o + ETH_SRC, mac);
}

/**
 * Copies a 6-byte MAC address from `from[fromOff..]` to `b[o..]`: the
 * allocation-free way to set ETH_DST / ETH_SRC (or ARP addresses) per packet.
 * Safe when both ranges are in the same buffer and overlap.
 */
export function copyEthAddr(b: Uint8Array, o: number, from: Uint8Array, fromOff: number): void {
  const b0 = from[fromOff], b1 = from[fromOff + 1], b2 = from[fromOff + 2];
  const b3 = from[fromOff + 3], b4 = from[fromOff + 4], b5 = from[fromOff + 5];
  b[o] = b0; b[o + 1] = b1; b[o + 2] = b2; b[o + 3] = b3; b[o + 4] = b4; b[o + 5] = b5;
}

/** Group bit of the destination: broadcast and multicast frames. */
export function ethDstIsMulticast(b: Uint8Array, o: number): boolean {
  return (b[o + ETH_DST] & 1) !== 0;
}

export function ethDstIsBroadcast(b: Uint8Array, o: number): boolean {
  return (b[o] & b[o + 1] & b[o + 2] & b[o + 3] & b[o + 4] & b[o + 5]) === 0xff;
}

/** True when the 6 bytes at b[o..] equal those at m[mo..]. */
export function ethAddrEquals(b: Uint8Array, o: number, m: Uint8Array, mo: number): boolean {
  return (
    b[o] === m[mo] && b[o + 1] === m[mo + 1] && b[o + 2] === m[mo + 2] &&
    b[o + 3] === m[mo + 3] && b[o + 4] === m[mo + 4] && b[o + 5] === m[mo + 5]
  );
}

// ---- tags -----------------------------------------------------------------

/**
 * Number of stacked VLAN tags (TPID 0x8100, 0x88a8 or 0x9100), at most
 * ETH_MAX_VLAN_TAGS. A tag counts only when it and the EtherType after it fit
 * in `len` bytes, so this never reads past the frame; after checkEthernet
 * passes, the count is exact.
 */
export function ethVlanCount(b: Uint8Array, o: number, len: number): number {
  let n = 0;
  let p = o + ETH_TYPE;
  const end = o + len;
  while (n < ETH_MAX_VLAN_TAGS && p + 2 + VLAN_TAG_LEN <= end && isVlanTpid((b[p] << 8) | b[p + 1])) {
    n++;
    p += VLAN_TAG_LEN;
  }
  return n;
}

/** Header length in bytes with `vlanCount` tags: 14 + 4 * vlanCount. */
export function ethHeaderLen(vlanCount: number): number {
  return ETH_HEADER_LEN + VLAN_TAG_LEN * vlanCount;
}

/** The EtherType after `vlanCount` tags (the payload's type). */
export function ethPayloadType(b: Uint8Array, o: number, vlanCount: number): number {
  const p = o + ETH_TYPE + VLAN_TAG_LEN * vlanCount;
  return (b[p] << 8) | b[p + 1];
}

/** TPID of tag i (0 = outermost). */
export function ethVlanTpid(b: Uint8Array, o: number, i: number): number {
  const p = o + ETH_TYPE + VLAN_TAG_LEN * i;
  return (b[p] << 8) | b[p + 1];
}

/** The 16-bit TCI of tag i: PCP << 13 | DEI << 12 | VID. */
export function ethVlanTci(b: Uint8Array, o: number, i: number): number {
  const p = o + ETH_HEADER_LEN + VLAN_TAG_LEN * i;
  return (b[p] << 8) | b[p + 1];
}

/** 12-bit VLAN ID of tag i. */
export function ethVlanId(b: Uint8Array, o: number, i: number): number {
  const p = o + ETH_HEADER_LEN + VLAN_TAG_LEN * i;
  return ((b[p] & 0x0f) << 8) | b[p + 1];
}

/** Priority code point (802.1p, 0-7) of tag i. */
export function ethVlanPcp(b: Uint8Array, o: number, i: number): number {
  return b[o + ETH_HEADER_LEN + VLAN_TAG_LEN * i] >>> 5;
}

/** Drop eligible indicator of tag i. */
export function ethVlanDei(b: Uint8Array, o: number, i: number): boolean {
  return (b[o + ETH_HEADER_LEN + VLAN_TAG_LEN * i] & 0x10) !== 0;
}

export function setEthVlanTpid(b: Uint8Array, o: number, i: number, tpid: number): void {
  const p = o + ETH_TYPE + VLAN_TAG_LEN * i;
  b[p] = tpid >>> 8;
  b[p + 1] = tpid;
}

export function setEthVlanTci(b: Uint8Array, o: number, i: number, tci: number): void {
  const p = o + ETH_HEADER_LEN + VLAN_TAG_LEN * i;
  b[p] = tci >>> 8;
  b[p + 1] = tci;
}

export function setEthVlanId(b: Uint8Array, o: number, i: number, vid: number): void {
  const p = o + ETH_HEADER_LEN + VLAN_TAG_LEN * i;
  b[p] = (b[p] & 0xf0) | ((vid >>> 8) & 0x0f);
  b[p + 1] = vid;
}

export function setEthVlanPcp(b: Uint8Array, o: number, i: number, pcp: number): void {
  const p = o + ETH_HEADER_LEN + VLAN_TAG_LEN * i;
  b[p] = (b[p] & 0x1f) | ((pcp & 7) << 5);
}

export function setEthVlanDei(b: Uint8Array, o: number, i: number, dei: boolean): void {
  const p = o + ETH_HEADER_LEN + VLAN_TAG_LEN * i;
  b[p] = dei ? b[p] | 0x10 : b[p] & ~0x10;
}

/** Sets the EtherType after `vlanCount` tags. */
export function setEthPayloadType(b: Uint8Array, o: number, vlanCount: number, t: number): void {
  const p = o + ETH_TYPE + VLAN_TAG_LEN * vlanCount;
  b[p] = t >>> 8;
  b[p + 1] = t;
}

// ---- check ----------------------------------------------------------------

/**
 * Structural check of the frame at b[o, o+len): ETHERNET_TRUNCATED below 14
 * bytes, VLAN_TRUNCATED when the frame ends inside a tag or before the
 * EtherType that follows it. The EtherType itself is not judged here.
 */
export function checkEthernet(b: Uint8Array, o: number, len: number): number {
  if (len < ETH_HEADER_LEN) return WireDrop.ETHERNET_TRUNCATED;
  const n = ethVlanCount(b, o, len);
  if (n < ETH_MAX_VLAN_TAGS && isVlanTpid(ethPayloadType(b, o, n))) return WireDrop.VLAN_TRUNCATED;
  return WireDrop.OK;
}

// ---- repr -----------------------------------------------------------------

export interface VlanTag {
  /** 802.1p priority, 0-7. */
  pcp: number;
  /** Drop eligible indicator. */
  dei: boolean;
  /** 12-bit VLAN ID. */
  id: number;
  /** 0x8100, 0x88a8 or 0x9100. */
  tpid: number;
}

export interface EthernetRepr {
  dst: string;
  src: string;
  /** Outermost first. */
  vlans: VlanTag[];
  /** EtherType of the payload, after the tags. */
  ethertype: number;
}

export function parseEthernet(b: Uint8Array, o: number, len: number): ParseResult<EthernetRepr> {
  const reason = checkEthernet(b, o, len);
  if (reason !== WireDrop.OK) return { ok: false, reason };
  const n = ethVlanCount(b, o, len);
  const vlans: VlanTag[] = [];
  for (let i = 0; i < n; i++) {
    vlans.push({ pcp: ethVlanPcp(b, o, i), dei: ethVlanDei(b, o, i), id: ethVlanId(b, o, i), tpid: ethVlanTpid(b, o, i) });
  }
  return {
    ok: true,
    repr: { dst: ethDstString(b, o), src: ethSrcString(b, o), vlans, ethertype: ethPayloadType(b, o, n) },
  };
}

/** Header length that emitEthernet writes for `repr`. */
export function ethernetReprHeaderLen(repr: EthernetRepr): number {
  return ethHeaderLen(repr.vlans.length);
}

/** Writes the header (and tags) at b[o..]; returns its length. Throws RangeError on a bad MAC text. */
export function emitEthernet(repr: EthernetRepr, b: Uint8Array, o: number): number {
  writeMac(b, o + ETH_DST, repr.dst);
  writeMac(b, o + ETH_SRC, repr.src);
  for (let i = 0; i < repr.vlans.length; i++) {
    const t = repr.vlans[i];
    setEthVlanTpid(b, o, i, t.tpid);
    setEthVlanTci(b, o, i, ((t.pcp & 7) << 13) | (t.dei ? 0x1000 : 0) | (t.id & 0x0fff));
  }
  setEthPayloadType(b, o, repr.vlans.length, repr.ethertype);
  return ethHeaderLen(repr.vlans.length);
}
