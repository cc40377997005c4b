// Rewriting a packet's addresses and ports (or ICMP query id) in place, with
// every checksum updated incrementally (RFC 1624: HC' = ~(~HC + ~m + m')),
// and translating ICMP errors about a translated flow (RFC 5508 REQ-4: the
// outer header, the embedded IP header and L4 ports or id, and every
// checksum).
//
// Addresses are Int32 words as flow keys hold them (big-endian 32 bits).
// Checksum deltas are sums of 16-bit words: ~old + new per changed word, so
// one fold per checksum whatever changed.
import { internetChecksum } from '../wire/checksum.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';

const IP_CSUM = 10;
const IP_SRC = 12;
const IP_DST = 16;
const TCP_CSUM = 16;
const UDP_CSUM = 6;
const ICMP_CSUM = 2;
const ICMP_ID = 4;

function read32(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

function write32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

function read16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

function write16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

function fold(x: number): number {
  x = (x & 0xffff) + (x >>> 16);
  return (x & 0xffff) + (x >>> 16);
}

/** ~old + new for the two words of a 32-bit value. */
function delta32(oldV: number, newV: number): number {
  return (~oldV & 0xffff) + ((~oldV >>> 16) & 0xffff) + (newV & 0xffff) + ((newV >>> 16) & 0xffff);
}

function delta16(oldV: number, newV: number): number {
  return (~oldV & 0xffff) + (newV & 0xffff);
}

/** A checksum field updated by `delta`. */
function updated(csum: number, delta: number): number {
  return ~fold((~csum & 0xffff) + delta) & 0xffff;
}

/**
 * Rewrites the datagram at l3 (its L4 header at l4) to src:sport -> dst:dport.
 * TCP and UDP: addresses, ports and both checksums. ICMP query messages: the
 * id is `sport` (dport is ignored) and the ICMP checksum covers it. Other
 * protocols, and fragments after the first (`l4 < 0`): the addresses and
 * the IP checksum only. `partialL4`: the L4 checksum field holds the
 * pseudo-header sum of an offloaded checksum (virtio NEEDS_CSUM), which the
 * address change moves and the port change does not (it is summed later).
 */
export function rewriteTuple(b: Uint8Array, l3: number, l4: number, proto: number, src: number, dst: number, sport: number, dport: number, partialL4: boolean): void {
  const oldSrc = read32(b, l3 + IP_SRC);
  const oldDst = read32(b, l3 + IP_DST);
  if (l4 >= 0 && (proto === IPPROTO_TCP || proto === IPPROTO_UDP)) {
    rewriteTcpUdp(b, l3, l4, proto === IPPROTO_TCP, oldSrc, oldDst, read32(b, l4), src, dst, (sport << 16) | dport, partialL4);
    return;
  }
  if ((oldSrc ^ src) | (oldDst ^ dst)) {
    write32(b, l3 + IP_SRC, src);
    write32(b, l3 + IP_DST, dst);
    write16(b, l3 + IP_CSUM, updated(read16(b, l3 + IP_CSUM), delta32(oldSrc, src) + delta32(oldDst, dst)));
  }
  if (l4 >= 0 && proto === IPPROTO_ICMP) {
    const oldId = read16(b, l4 + ICMP_ID);
    if (oldId !== sport) {
      write16(b, l4 + ICMP_ID, sport);
      write16(b, l4 + ICMP_CSUM, updated(read16(b, l4 + ICMP_CSUM), delta16(oldId, sport)));
    }
  }
}

/**
 * rewriteTuple for a whole TCP or UDP datagram whose tuple the caller has
 * read already (`src`, `dst`, `ports` = sport << 16 | dport): what
 * rewriteTuple does for TCP and UDP, and what the flow's established path
 * calls directly, without reading the old values again.
 */
export function rewriteTcpUdp(b: Uint8Array, l3: number, l4: number, tcp: boolean, src: number, dst: number, ports: number, nsrc: number, ndst: number, nports: number, partialL4: boolean): void {
  const addrDelta = delta32(src, nsrc) + delta32(dst, ndst);
  b[l3 + 12] = nsrc >>> 24;
  b[l3 + 13] = nsrc >>> 16;
  b[l3 + 14] = nsrc >>> 8;
  b[l3 + 15] = nsrc;
  b[l3 + 16] = ndst >>> 24;
  b[l3 + 17] = ndst >>> 16;
  b[l3 + 18] = ndst >>> 8;
  b[l3 + 19] = ndst;
  const ic = (b[l3 + IP_CSUM] << 8) | b[l3 + IP_CSUM + 1];
  const nic = updated(ic, addrDelta);
  b[l3 + IP_CSUM] = nic >>> 8;
  b[l3 + IP_CSUM + 1] = nic;
  b[l4] = nports >>> 24;
  b[l4 + 1] = nports >>> 16;
  b[l4 + 2] = nports >>> 8;
  b[l4 + 3] = nports;
  const at = l4 + (tcp ? TCP_CSUM : UDP_CSUM);
  const csum = (b[at] << 8) | b[at + 1];
  let next: number;
  if (partialL4) next = fold(csum + addrDelta);
  else if (!tcp && csum === 0) return; // UDP without a checksum stays without one
  else {
    next = updated(csum, addrDelta + delta32(ports, nports));
    if (!tcp && next === 0) next = 0xffff;
  }
  b[at] = next >>> 8;
  b[at + 1] = next;
}

/** The ports word (sport << 16 | dport) of the packet at l4, or for ICMP queries the id in both halves. */
export function l4Word(b: Uint8Array, l4: number, proto: number): number {
  if (proto === IPPROTO_ICMP) {
    const id = read16(b, l4 + ICMP_ID);
    return (id << 16) | id;
  }
  return read32(b, l4);
}

/**
 * Translates an ICMP error in place. The error's IPv4 header is at l3 (ihl
 * bytes), the ICMP message at l4 up to `end`, the quoted datagram's header at
 * qL3. The quoted datagram becomes qSrc:ports -> qDst (its ports word
 * `qPorts`, sport << 16 | dport, or the query id in both halves), the error's
 * source and destination become `src` and `dst`. Checksums: the quoted IP
 * header's and its L4 checksum incrementally (as far as the quote holds
 * them), the ICMP and outer IP checksums recomputed (errors are rare and
 * small).
 */
export function rewriteIcmpError(b: Uint8Array, l3: number, l4: number, end: number, qL3: number, qSrc: number, qDst: number, qPorts: number, src: number, dst: number): void {
  const qIhl = (b[qL3] & 0x0f) << 2;
  const qProto = b[qL3 + 9];
  const qL4 = qL3 + qIhl;
  const have = end - qL4; // bytes of the quoted L4 header present
  const oldSrc = read32(b, qL3 + IP_SRC);
  const oldDst = read32(b, qL3 + IP_DST);
  const addrDelta = delta32(oldSrc, qSrc) + delta32(oldDst, qDst);
  write32(b, qL3 + IP_SRC, qSrc);
  write32(b, qL3 + IP_DST, qDst);
  write16(b, qL3 + IP_CSUM, updated(read16(b, qL3 + IP_CSUM), addrDelta));
  const sport = qPorts >>> 16;
  const dport = qPorts & 0xffff;
  if ((qProto === IPPROTO_TCP || qProto === IPPROTO_UDP) && have >= 4) {
    const portDelta = delta16(read16(b, qL4), sport) + delta16(read16(b, qL4 + 2), dport);
    write16(b, qL4, sport);
    write16(b, qL4 + 2, dport);
    const at = qL4 + (qProto === IPPROTO_TCP ? TCP_CSUM : UDP_CSUM);
    if (at + 2 <= end) {
      const csum = read16(b, at);
      if (qProto === IPPROTO_TCP || csum !== 0) {
        const next = updated(csum, addrDelta + portDelta);
        write16(b, at, qProto === IPPROTO_UDP && next === 0 ? 0xffff : next);
      }
    }
  } else if (qProto === IPPROTO_ICMP && have >= 6) {
    const oldId = read16(b, qL4 + ICMP_ID);
    write16(b, qL4 + ICMP_ID, sport);
    write16(b, qL4 + ICMP_CSUM, updated(read16(b, qL4 + ICMP_CSUM), delta16(oldId, sport)));
  }
  write32(b, l3 + IP_SRC, src);
  write32(b, l3 + IP_DST, dst);
  const ihl = (b[l3] & 0x0f) << 2;
  write16(b, l3 + IP_CSUM, 0);
  write16(b, l3 + IP_CSUM, internetChecksum(b, l3, ihl));
  write16(b, l4 + ICMP_CSUM, 0);
  write16(b, l4 + ICMP_CSUM, internetChecksum(b, l4, end - l4));
}
