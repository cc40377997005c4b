// The flow stage's translation of a TCP or UDP packet (ip4-fast-flow.ts):
// nat/translate.ts's rewriteTcpUdp for what the fast path can meet (IHL 5,
// no checksum offload, so never a partial L4 checksum, and the IPv4 header
// at an even offset: ip4-fast's pass 1 leaves odd slot starts to the full
// graph). FastFlows.applyTaken writes this function's body out in its loop
// for the usual packet: its bytecode (680 bytes on Node 20) is past V8's
// limit for inlining (460), so a call would cost one per packet; the cold
// cases (applyOther) call it. The two are held to the full graph's bytes by
// the same test.
//
// Words are read and written through a 16-bit view in host byte order: the
// ones' complement sum is the same in either byte order (RFC 1071 2(B)), so
// the checksums' incremental updates (RFC 1624, HC' = ~(~HC + ~m + m'), one
// fold per checksum) are computed on byte-swapped words and stored as such;
// only the new values, which come from the flow key in network order, are
// swapped once. The result is rewriteTcpUdp's byte for byte: the fast path's
// frames are compared with the full graph's (which uses rewriteTcpUdp) in
// test/pipeline/fast-path-flow.test.ts.

/**
 * Rewrites the TCP (`tcp`) or UDP datagram whose IPv4 header (IHL 5) is at
 * byte i (even) of the arena seen as `h` (host order) to ns -> nd with
 * the ports of `rp`, the other direction's key word (its sport << 16 |
 * dport: this packet's new dport and sport). A packet already carrying that
 * tuple (a flow NAT does not translate) is left as it is, as ct-input does.
 */
export function translateTcpUdp(h: Uint16Array<ArrayBufferLike>, i: number, tcp: boolean, ns: number, nd: number, rp: number): void {
  const w = i >>> 1;
  // The new values with the bytes of each 16-bit half swapped: the view's order, two words in one.
  const sn = ((ns >>> 8) & 0xff00ff) | ((ns & 0xff00ff) << 8);
  const dn = ((nd >>> 8) & 0xff00ff) | ((nd & 0xff00ff) << 8);
  const pn = ((rp >>> 8) & 0xff00ff) | ((rp & 0xff00ff) << 8);
  const s0 = h[w + 6];
  const s1 = h[w + 7];
  const d0 = h[w + 8];
  const d1 = h[w + 9];
  const p0 = h[w + 10];
  const p1 = h[w + 11];
  if ((((s0 << 16) | s1) ^ sn | ((d0 << 16) | d1) ^ dn | ((p1 << 16) | p0) ^ pn) === 0) return;
  // Sum of ~old + new over the address words (0xffff - x is ~x within 16 bits).
  const addrDelta = 0x3fffc - s0 - s1 - d0 - d1 + (sn >>> 16) + (sn & 0xffff) + (dn >>> 16) + (dn & 0xffff);
  h[w + 6] = sn >>> 16;
  h[w + 7] = sn;
  h[w + 8] = dn >>> 16;
  h[w + 9] = dn;
  h[w + 10] = pn;
  h[w + 11] = pn >>> 16;
  let x = 0xffff - h[w + 5] + addrDelta;
  x = (x & 0xffff) + (x >>> 16);
  h[w + 5] = 0xffff - ((x & 0xffff) + (x >>> 16));
  const at = w + (tcp ? 18 : 13);
  const csum = h[at];
  if (!tcp && csum === 0) return; // UDP without a checksum stays without one
  let y = 0xffff - csum + addrDelta + 0x1fffe - p0 - p1 + (pn >>> 16) + (pn & 0xffff);
  y = (y & 0xffff) + (y >>> 16);
  y = 0xffff - ((y & 0xffff) + (y >>> 16));
  h[at] = !tcp && y === 0 ? 0xffff : y;
}
