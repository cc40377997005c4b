// Flow hash for ECMP: the 5-tuple for TCP/UDP first fragments and whole
// datagrams, the 3-tuple (src, dst, protocol) otherwise, so every packet of a
// flow (fragments included, which Linux's policy 1 also hashes by L3 only)
// takes the same next hop. A murmur3-style finalizer spreads the bits.
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';

export function flowHash(b: Uint8Array, l3: number): number {
  const ihl = (b[l3] & 0x0f) << 2;
  const proto = b[l3 + 9];
  let h = Math.imul(((b[l3 + 12] << 24) | (b[l3 + 13] << 16) | (b[l3 + 14] << 8) | b[l3 + 15]) ^ 0x811c9dc5, 0x85ebca6b);
  h ^= ((b[l3 + 16] << 24) | (b[l3 + 17] << 16) | (b[l3 + 18] << 8) | b[l3 + 19]) + 0x9e3779b9;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= proto;
  const fragmented = ((b[l3 + 6] & 0x3f) | b[l3 + 7]) !== 0 || (b[l3 + 6] & 0x20) !== 0;
  if (!fragmented && (proto === IPPROTO_TCP || proto === IPPROTO_UDP)) {
    const p = l3 + ihl;
    h ^= Math.imul((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3], 0x27d4eb2d);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
