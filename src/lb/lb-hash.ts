// The load balancer's hashes, seedless so that every worker and every other
// dataplane instance with the same config computes the same values (an ECMP
// router in front may send a flow's packets to any of them):
//
//   lbFlowHash      a flow's 5-tuple (or 4-tuple: `hash: no-source-port`)
//                   -> the Maglev slot, hash % tableSize
//   lbFragmentHash  src, dst, protocol: fragments carry no ports after the
//                   first, so all of a datagram's fragments hash on these
//   lbKeyHash       a backend's key (its address) -> Maglev's offset and skip
//
// All are MurmurHash3 (x86, 32-bit) over 32-bit words: its block mix and
// finalizer give full avalanche (every input bit flips each output bit with
// probability ~1/2), which keeps hash % tableSize even for inputs that differ
// in a few low bits (neighbouring client ports and addresses). Pure Math.imul
// arithmetic on int32: nothing allocates.
import type { LbHashInputs } from './lb-config.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
/** Fixed seeds (not random: identical tables and hashes across processes). */
const FLOW_SEED = 0x4d61676c; // "Magl"
const FRAGMENT_SEED = 0x46726167; // "Frag"

/** Murmur3's block step: mixes one 32-bit word k into the state h. */
function mixWord(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Murmur3's finalizer (with the input length in bytes), as int32 (the same bits as uint32). */
function finish32(h: number, lengthBytes: number): number {
  h ^= lengthBytes;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Murmur3's finalizer, as uint32. */
function finish(h: number, lengthBytes: number): number {
  return finish32(h, lengthBytes) >>> 0;
}

/**
 * The hash that picks a flow's Maglev slot (slot = hash % tableSize).
 * `ports` is srcPort << 16 | dstPort; mask it with lbPortMask(vip.hash)
 * first so that `no-source-port` VIPs hash without the source port.
 */
export function lbFlowHash(src: number, dst: number, ports: number, proto: number): number {
  let h = mixWord(FLOW_SEED, src);
  h = mixWord(h, dst);
  h = mixWord(h, ports);
  h = mixWord(h, proto);
  return finish(h, 16);
}

/**
 * The low bits of lbFlowHash (`mask` below 2^31), computed without the
 * uint32: an int32 is a small integer to V8, so a call it does not inline
 * returns it unboxed, where lbFlowHash's values above 2^31 are a new heap
 * number each (GUE's per-packet source port on the fast path uses this).
 */
export function lbFlowHashBits(src: number, dst: number, ports: number, proto: number, mask: number): number {
  let h = mixWord(FLOW_SEED, src);
  h = mixWord(h, dst);
  h = mixWord(h, ports);
  h = mixWord(h, proto);
  return finish32(h, 16) & mask;
}

/** The hash for fragments (and the first fragment too): src, dst and protocol only. */
export function lbFragmentHash(src: number, dst: number, proto: number): number {
  let h = mixWord(FRAGMENT_SEED, src);
  h = mixWord(h, dst);
  h = mixWord(h, proto);
  return finish(h, 12);
}

/**
 * The Maglev slot of a flow: lbFlowHash % tableSize. A small integer, so a
 * call that V8 does not inline still returns it unboxed (a uint32 above
 * 2^31 would be a heap number).
 */
export function lbFlowSlot(src: number, dst: number, ports: number, proto: number, tableSize: number): number {
  return lbFlowHash(src, dst, ports, proto) % tableSize;
}

/** The Maglev slot of a fragment: lbFragmentHash % tableSize. */
export function lbFragmentSlot(src: number, dst: number, proto: number, tableSize: number): number {
  return lbFragmentHash(src, dst, proto) % tableSize;
}

/** What to AND `srcPort << 16 | dstPort` with before lbFlowHash, per the VIP's `hash` setting. */
export function lbPortMask(inputs: LbHashInputs): number {
  return inputs === 'no-source-port' ? 0x0000ffff : 0xffffffff | 0;
}

/**
 * A backend key's hash under one of two seeds (Maglev needs two independent
 * hashes per backend: offset and skip). Numbers must be uint32 (an address);
 * strings hash their UTF-16 code units, two per word.
 */
export function lbKeyHash(key: string | number, seed: number): number {
  if (typeof key === 'number') return finish(mixWord(seed, key), 4);
  let h = seed;
  const n = key.length;
  let i = 0;
  for (; i + 1 < n; i += 2) h = mixWord(h, key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16));
  if (i < n) h = mixWord(h, key.charCodeAt(i));
  return finish(h, n * 2);
}
