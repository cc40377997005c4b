// The outer headers of a tunnel-mode VIP's packet (dsr-ipip, dsr-gue), in
// one place: lb-encap writes them in the full graph, flow-encap
// (pipeline/nodes/flow-encap.ts) on the fast path, and the two must give the
// same bytes.
//
//   dsr-ipip  outer IPv4, protocol 4 (RFC 2003)
//   dsr-gue   outer IPv4 + UDP to the VIP's GUE port + a 4-byte GUE header
//             (version 0, protocol 4: draft-ietf-intarea-gue). The UDP
//             source port comes from the inner flow's hash (lbFlowHash), so a
//             receiver that spreads by UDP ports (RSS) spreads the flows, and
//             every instance with the same config picks the same one; the UDP
//             checksum is 0 (allowed for IPv4, as Linux's fou sends it).
//
// DF and TOS are copied from the inner header, the protocol is 4 or UDP.
//
// The outer IPv4 ID is a function of the inner packet, not a counter: a
// counter per worker (lb-encap had one) gives the same IDs on every worker
// to the same backend, and its values depend on the order packets reach it,
// which the fast path changes (it sends a batch's established flows before
// the full graph runs the rest). So:
//   DF set    0: the outer datagram is atomic, its ID means nothing (RFC
//             6864 4.1); Linux's ip_select_ident does the same without a socket.
//   DF clear  the inner ID plus a per-(client, VIP, protocol) offset plus the
//             fragment offset spread by an odd multiplier: the client's own
//             IDs are unique for its datagrams (RFC 6864 4.2 asks it to), the
//             map is one to one for each client, and the inner fragments of
//             one datagram (one inner ID, different offsets) get different
//             outer IDs, so the backend never mixes their outer fragments.
import { IPPROTO_UDP } from '../wire/ipv4.js';
import { lbFlowHashBits } from './lb-hash.js';

export const IPPROTO_IPIP = 4;
/** TTL of the outer header as lb-encap writes it (ip4-rewrite then takes one off, as for any routed datagram). */
export const OUTER_TTL = 64;
/** GUE's outer UDP source ports: the dynamic range's top 16384, picked by flow hash. */
export const GUE_SPORT_BASE = 49152;

/** The outer IPv4 ID for the inner datagram whose header is at o (see the header). */
export function outerIpv4Id(b: Uint8Array, o: number): number {
  if ((b[o + 6] & 0x40) !== 0) return 0;
  const src = (b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15];
  const dst = (b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19];
  const h = Math.imul(src ^ Math.imul(dst ^ b[o + 9], 0x9e3779b1), 0x85ebca6b);
  const offset = ((b[o + 6] & 0x1f) << 8) | b[o + 7];
  return (((b[o + 4] << 8) | b[o + 5]) + (h >>> 16) + Math.imul(offset, 0x9e37)) & 0xffff;
}

/** GUE's outer source port for the inner datagram at o: from its flow hash (5-tuple where it has ports, not in a fragment). */
export function gueSourcePort(b: Uint8Array, o: number): number {
  const src = (b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15];
  const dst = (b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19];
  const l4 = o + ((b[o] & 0x0f) << 2);
  const fragmented = (((b[o + 6] << 8) | b[o + 7]) & 0x3fff) !== 0;
  const ports = fragmented ? 0 : (b[l4] << 24) | (b[l4 + 1] << 16) | (b[l4 + 2] << 8) | b[l4 + 3];
  // The hash's low 14 bits as a small integer: a call V8 does not inline returns it unboxed (lbFlowHash's
  // uint32 above 2^31 would be a new heap number per packet).
  return GUE_SPORT_BASE + lbFlowHashBits(src, dst, ports, b[o + 9], 0x3fff);
}

/**
 * Writes the outer headers at byte n for the inner datagram at o (n + the
 * tunnel's overhead = o): outer IPv4 from src to dst (int32: a uint32 above
 * 2^31 passed to a call V8 does not inline is a new heap number) with `ttl` and its
 * checksum, and for GUE the UDP header (source port `sport`, destination
 * `gport`) and the GUE header. Returns the outer total length.
 */
export function writeTunnelHeaders(b: Uint8Array, n: number, o: number, gue: boolean, src: number, dst: number, sport: number, gport: number, id: number, ttl: number): number {
  const inner = (b[o + 2] << 8) | b[o + 3];
  const total = inner + (o - n);
  const tos = b[o + 1];
  const df = b[o + 6] & 0x40;
  const proto = gue ? IPPROTO_UDP : IPPROTO_IPIP;
  b[n] = 0x45;
  b[n + 1] = tos;
  b[n + 2] = total >> 8;
  b[n + 3] = total & 0xff;
  b[n + 4] = id >> 8;
  b[n + 5] = id & 0xff;
  b[n + 6] = df;
  b[n + 7] = 0;
  b[n + 8] = ttl;
  b[n + 9] = proto;
  b[n + 12] = src >>> 24;
  b[n + 13] = (src >>> 16) & 0xff;
  b[n + 14] = (src >>> 8) & 0xff;
  b[n + 15] = src & 0xff;
  b[n + 16] = dst >>> 24;
  b[n + 17] = (dst >>> 16) & 0xff;
  b[n + 18] = (dst >>> 8) & 0xff;
  b[n + 19] = dst & 0xff;
  // RFC 1071 over the ten words, from the values rather than the bytes just written. The sum is never 0
  // (the first word is 0x45xx), so the result is never 0xffff: what fillIpv4Checksum gives.
  let sum = (0x4500 | tos) + total + id + (df << 8) + ((ttl << 8) | proto) + (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  const csum = ~sum & 0xffff;
  b[n + 10] = csum >> 8;
  b[n + 11] = csum & 0xff;
  if (gue) {
    const u = n + 20;
    const ulen = total - 20;
    b[u] = sport >> 8;
    b[u + 1] = sport & 0xff;
    b[u + 2] = gport >> 8;
    b[u + 3] = gport & 0xff;
    b[u + 4] = ulen >> 8;
    b[u + 5] = ulen & 0xff;
    b[u + 6] = 0;
    b[u + 7] = 0;
    // GUE header: version 0, no control, no optional fields, protocol 4 (IPv4), no flags.
    b[u + 8] = 0;
    b[u + 9] = IPPROTO_IPIP;
    b[u + 10] = 0;
    b[u + 11] = 0;
  }
  return total;
}
