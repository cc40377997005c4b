// Zero-allocation frame classifier: one validating pass over a captured frame,
// the subject of the decode benchmark (`npm run bench -- decode`) against
// other decoders. decodeFrame (`dataplane decode`) shares its link walk,
// classifyLink. The pipeline does not use it: ethernet-input and ip4-input
// check what a router needs, node by node.
//
// One call walks the link header (Ethernet with stacked VLAN tags, raw IPv4,
// Linux SLL/SLL2, BSD NULL/LOOP), then the IPv4 header (structure + header
// checksum), then the TCP/UDP/ICMP header (structure + checksum) when the
// datagram is complete and not a fragment. It writes what it found into fixed
// slots of a caller-owned Int32Array and returns a WireDrop code (0 = OK), or
// CLASSIFY_NOT_IPV4 for a well-formed frame that carries something else (ARP,
// IPv6, ...): that is a branch for the caller, not a drop.
//
// "Complete" means the frame holds the whole datagram its IPv4 total length
// claims; a shorter frame is IPV4_BAD_TOTAL_LENGTH, because on the live path
// that is what it is. (decodeFrame tells snaplen truncation apart using the
// capture's wire length; this function has no such thing to look at.)
//
// No allocation, no exceptions, no closures: every branch reads bytes and
// writes integers. Checksums are summed with checksum.ts's int32 fast
// variants (sumWordsSplit, ipv4FixedHeaderSum) rather than sumWords, and
// untagged Ethernet/IPv4 skips the general link walk: together that took
// 64-byte Ethernet/IPv4/UDP frames from ~9 to ~18 Mpps (one core of the
// project's 2-vCPU EPYC VM, `npm run bench -- decode`). The property tests
// hold the verdicts equal to decodeFrame's, which uses the wire module's
// checks.
import { WireDrop } from '../wire/drop-reason.js';
import {
  checkEthernet,
  ETH_HEADER_LEN,
  ETH_MAX_VLAN_TAGS,
  ethHeaderLen,
  ethPayloadType,
  ethVlanCount,
  ETHERTYPE_IPV4,
  ETHERTYPE_IPV6,
  isVlanTpid,
  VLAN_TAG_LEN,
} from '../wire/ethernet.js';
import {
  checkIpv4,
  ipv4FragOffset,
  ipv4HeaderLen,
  ipv4Mf,
  ipv4Protocol,
  ipv4TotalLength,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_MIN_HEADER_LEN,
} from '../wire/ipv4.js';
import { checkTcp } from '../wire/tcp.js';
import { checkUdp, UDP_CHECKSUM, udpLength } from '../wire/udp.js';
import { checkIcmp } from '../wire/icmp.js';
import { ipv4AddressSum, ipv4FixedHeaderSum, sumIsAllOnes, sumWordsSplit } from '../wire/checksum.js';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  NULL_HEADER_LEN,
  SLL2_HEADER_LEN,
  SLL_HEADER_LEN,
} from '../pcap/link-type.js';

/** Absolute offset in `b` of the L3 header (IPv4, or whatever the link carries); -1 when the link header is bad. */
export const SLOT_L3_OFFSET = 0;
/** Absolute offset of the IPv4 payload; an L4 header starts there unless FLAG_LATER_FRAGMENT. -1 before a valid IPv4 header. */
export const SLOT_L4_OFFSET = 1;
/** IPv4 protocol number; -1 when no valid IPv4 header. */
export const SLOT_IP_PROTO = 2;
/** The (innermost, after VLAN tags) ethertype; for NULL/LOOP and raw links, 0x0800/0x86dd by family or version; -1 when unknown. */
export const SLOT_ETHERTYPE = 3;
/** Number of 802.1Q/802.1ad tags walked. */
export const SLOT_VLAN_COUNT = 4;
/** FLAG_* bits. */
export const SLOT_FLAGS = 5;
/** IPv4 total length (the header's own claim, once it passed the structural check). */
export const SLOT_L3_LENGTH = 6;
/** IPv4 payload length: total length minus header length. */
export const SLOT_L4_LENGTH = 7;
/** Size of the `out` array classifyFrame expects. */
export const CLASSIFY_SLOTS = 8;

/** An IPv4 header was found and passed the structural check. */
export const FLAG_IPV4 = 1 << 0;
/** The IPv4 header checksum verified. */
export const FLAG_IP_CSUM_OK = 1 << 1;
/** MF set or fragment offset > 0: L4 is not validated. */
export const FLAG_FRAGMENT = 1 << 2;
/** Fragment offset > 0: the payload does not start with an L4 header. */
export const FLAG_LATER_FRAGMENT = 1 << 3;
/** The TCP/UDP/ICMP checksum verified. */
export const FLAG_L4_CSUM_OK = 1 << 4;
/** A UDP datagram sent without checksum (0x0000): nothing to verify. */
export const FLAG_L4_CSUM_ABSENT = 1 << 5;
/** The IPv4 header carries options (IHL > 5). */
export const FLAG_IP_OPTIONS = 1 << 6;
/** The frame is well formed but does not carry IPv4 (see SLOT_ETHERTYPE). */
export const FLAG_NOT_IPV4 = 1 << 7;

/** Returned for a frame that carries something other than IPv4: not a drop. Negative so it never collides with a WireDrop code. */
export const CLASSIFY_NOT_IPV4 = -1;

const AF_INET = 2;
/** DLT_RAW as BSDs number it (12, or 14 on OpenBSD); the reader normalizes these to 101, other callers may not. */
const LINKTYPE_RAW_BSD12 = 12;
const LINKTYPE_RAW_BSD14 = 14;

/** AF_INET6 as Linux, the BSDs, FreeBSD, Darwin and Windows number it. */
function isAfInet6(af: number): boolean {
  return af === 10 || af === 24 || af === 28 || af === 30 || af === 23;
}

/**
 * Walks VLAN tags after a link header whose ethertype field is at `typeOff`
 * and whose payload starts at `payOff` (SLL, SLL2), the way ethVlanCount does
 * for Ethernet (at most ETH_MAX_VLAN_TAGS). Fills SLOT_ETHERTYPE,
 * SLOT_VLAN_COUNT and SLOT_L3_OFFSET.
 */
function walkTags(b: Uint8Array, typeOff: number, payOff: number, end: number, out: Int32Array): number {
  let type = (b[typeOff] << 8) | b[typeOff + 1];
  let p = payOff;
  let count = 0;
  while (count < ETH_MAX_VLAN_TAGS && isVlanTpid(type)) {
    if (p + VLAN_TAG_LEN > end) return WireDrop.VLAN_TRUNCATED;
    type = (b[p + 2] << 8) | b[p + 3];
    p += VLAN_TAG_LEN;
    count++;
  }
  out[SLOT_ETHERTYPE] = type;
  out[SLOT_VLAN_COUNT] = count;
  out[SLOT_L3_OFFSET] = p;
  return WireDrop.OK;
}

/**
 * The link layer alone: fills SLOT_L3_OFFSET, SLOT_ETHERTYPE and
 * SLOT_VLAN_COUNT, returns OK or a link/Ethernet/VLAN drop. Exported for
 * decodeFrame, which walks the same way and then reads more fields.
 */
export function classifyLink(b: Uint8Array, off: number, len: number, linkType: number, out: Int32Array): number {
  const end = off + len;
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      const r = checkEthernet(b, off, len);
      if (r !== WireDrop.OK) return r;
      const vlans = ethVlanCount(b, off, len);
      out[SLOT_VLAN_COUNT] = vlans;
      out[SLOT_ETHERTYPE] = ethPayloadType(b, off, vlans);
      out[SLOT_L3_OFFSET] = off + ethHeaderLen(vlans);
      return WireDrop.OK;
    }
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_BSD12:
    case LINKTYPE_RAW_BSD14:
      // Version 6 is IPv6; anything else goes to the IPv4 check, which names what is wrong.
      out[SLOT_ETHERTYPE] = len > 0 && b[off] >> 4 === 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;
      out[SLOT_L3_OFFSET] = off;
      return WireDrop.OK;
    case LINKTYPE_IPV4:
      out[SLOT_ETHERTYPE] = ETHERTYPE_IPV4;
      out[SLOT_L3_OFFSET] = off;
      return WireDrop.OK;
    case LINKTYPE_IPV6:
      out[SLOT_ETHERTYPE] = ETHERTYPE_IPV6;
      out[SLOT_L3_OFFSET] = off;
      return WireDrop.OK;
    case LINKTYPE_LINUX_SLL:
      if (len < SLL_HEADER_LEN) return WireDrop.LINK_TRUNCATED;
      return walkTags(b, off + 14, off + SLL_HEADER_LEN, end, out);
    case LINKTYPE_LINUX_SLL2:
      if (len < SLL2_HEADER_LEN) return WireDrop.LINK_TRUNCATED;
      return walkTags(b, off, off + SLL2_HEADER_LEN, end, out);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (len < NULL_HEADER_LEN) return WireDrop.LINK_TRUNCATED;
      // The family is in the capturing host's byte order for NULL (and some
      // LOOP writers get it wrong too): a value with high bits set is swapped.
      let af = ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
      if (af > 0xffff) af = (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
      out[SLOT_ETHERTYPE] = af === AF_INET ? ETHERTYPE_IPV4 : isAfInet6(af) ? ETHERTYPE_IPV6 : -1;
      out[SLOT_L3_OFFSET] = off + NULL_HEADER_LEN;
      return WireDrop.OK;
    }
    default:
      return WireDrop.LINK_UNSUPPORTED;
  }
}

/**
 * Validates the L4 header and checksum of a complete, unfragmented datagram.
 * `addrSum` is the unfolded sum of the source and destination addresses,
 * already computed for the IPv4 header checksum and reused for the
 * pseudo-header.
 */
function classifyL4(b: Uint8Array, l4: number, l4len: number, proto: number, addrSum: number, out: Int32Array): number {
  let r: number;
  switch (proto) {
    case IPPROTO_UDP: {
      r = checkUdp(b, l4, l4len);
      if (r !== WireDrop.OK) return r;
      if ((b[l4 + UDP_CHECKSUM] | b[l4 + UDP_CHECKSUM + 1]) === 0) {
        out[SLOT_FLAGS] |= FLAG_L4_CSUM_ABSENT;
        return WireDrop.OK;
      }
      const ulen = udpLength(b, l4);
      if (!sumIsAllOnes(sumWordsSplit(b, l4, ulen, addrSum + IPPROTO_UDP + ulen))) return WireDrop.UDP_BAD_CHECKSUM;
      out[SLOT_FLAGS] |= FLAG_L4_CSUM_OK;
      return WireDrop.OK;
    }
    case IPPROTO_TCP:
      r = checkTcp(b, l4, l4len);
      if (r !== WireDrop.OK) return r;
      if (!sumIsAllOnes(sumWordsSplit(b, l4, l4len, addrSum + IPPROTO_TCP + l4len))) return WireDrop.TCP_BAD_CHECKSUM;
      out[SLOT_FLAGS] |= FLAG_L4_CSUM_OK;
      return WireDrop.OK;
    case IPPROTO_ICMP:
      r = checkIcmp(b, l4, l4len);
      if (r !== WireDrop.OK) return r;
      if (!sumIsAllOnes(sumWordsSplit(b, l4, l4len, 0))) return WireDrop.ICMP_BAD_CHECKSUM;
      out[SLOT_FLAGS] |= FLAG_L4_CSUM_OK;
      return WireDrop.OK;
    default:
      // Unknown protocols pass through untouched.
      return WireDrop.OK;
  }
}

/** The IPv4 header at b[ip] (`avail` bytes to the end of the frame), then L4. */
function classifyIpv4(b: Uint8Array, ip: number, avail: number, out: Int32Array): number {
  const r = checkIpv4(b, ip, avail);
  if (r !== WireDrop.OK) return r;
  const hl = ipv4HeaderLen(b, ip);
  const total = ipv4TotalLength(b, ip);
  const proto = ipv4Protocol(b, ip);
  out[SLOT_IP_PROTO] = proto;
  out[SLOT_L3_LENGTH] = total;
  out[SLOT_L4_OFFSET] = ip + hl;
  out[SLOT_L4_LENGTH] = total - hl;
  let flags = hl > IPV4_MIN_HEADER_LEN ? FLAG_IPV4 | FLAG_IP_OPTIONS : FLAG_IPV4;
  // The address words are kept for the L4 pseudo-header.
  const addrSum = ipv4AddressSum(b, ip);
  let hsum = ipv4FixedHeaderSum(b, ip, addrSum);
  if (hl > IPV4_MIN_HEADER_LEN) hsum = sumWordsSplit(b, ip + IPV4_MIN_HEADER_LEN, hl - IPV4_MIN_HEADER_LEN, hsum);
  if (!sumIsAllOnes(hsum)) {
    out[SLOT_FLAGS] = flags;
    return WireDrop.IPV4_BAD_CHECKSUM;
  }
  flags |= FLAG_IP_CSUM_OK;
  const fragOffset = ipv4FragOffset(b, ip);
  if (fragOffset !== 0 || ipv4Mf(b, ip)) {
    flags |= fragOffset !== 0 ? FLAG_FRAGMENT | FLAG_LATER_FRAGMENT : FLAG_FRAGMENT;
    out[SLOT_FLAGS] = flags;
    return WireDrop.OK;
  }
  out[SLOT_FLAGS] = flags;
  return classifyL4(b, ip + hl, total - hl, proto, addrSum, out);
}

/**
 * Classifies one frame of `len` bytes at b[off] captured on `linkType`.
 * Returns WireDrop.OK, a WireDrop code, or CLASSIFY_NOT_IPV4; `out` (at least
 * CLASSIFY_SLOTS long) holds the SLOT_* values whatever the verdict, as far as
 * the walk got.
 */
export function classifyFrame(b: Uint8Array, off: number, len: number, linkType: number, out: Int32Array): number {
  out[SLOT_L3_OFFSET] = -1;
  out[SLOT_L4_OFFSET] = -1;
  out[SLOT_IP_PROTO] = -1;
  out[SLOT_ETHERTYPE] = -1;
  out[SLOT_VLAN_COUNT] = 0;
  out[SLOT_FLAGS] = 0;
  out[SLOT_L3_LENGTH] = 0;
  out[SLOT_L4_LENGTH] = 0;
  // Never read past the array, whatever the caller claims.
  const avail = off + len <= b.length ? len : Math.max(0, b.length - off);
  let l3: number;
  if (linkType === LINKTYPE_ETHERNET && avail >= ETH_HEADER_LEN && ((b[off + 12] << 8) | b[off + 13]) === ETHERTYPE_IPV4) {
    // Untagged IPv4 over Ethernet, by far the common case: no tag walk.
    l3 = off + ETH_HEADER_LEN;
    out[SLOT_ETHERTYPE] = ETHERTYPE_IPV4;
    out[SLOT_L3_OFFSET] = l3;
  } else {
    const link = classifyLink(b, off, avail, linkType, out);
    if (link !== WireDrop.OK) return link;
    if (out[SLOT_ETHERTYPE] !== ETHERTYPE_IPV4) {
      out[SLOT_FLAGS] = FLAG_NOT_IPV4;
      return CLASSIFY_NOT_IPV4;
    }
    l3 = out[SLOT_L3_OFFSET];
  }
  return classifyIpv4(b, l3, off + avail - l3, out);
}
