// Which shard of a parallel replay (`replay --workers N`) a captured frame
// goes to. Every frame that can touch one flow's state must reach the same
// worker, so the key is built from what all of them share:
//
// - Both directions: the *unordered* pair of IPv4 addresses (min, max) and
//   the protocol. A reply swaps source and destination; the pair does not
//   change.
// - Fragments: later fragments carry no ports, so ports are never part of
//   the key; the addresses and protocol are in every fragment, so a
//   datagram's pieces (and the flow they belong to) stay together whatever
//   order they come in.
// - ICMP errors about a flow (from a host or router on the path) are keyed
//   by the datagram they quote, so they meet the flow's state (a firewall
//   passes them as related; the load balancer finds the flow's backend).
//   A fragmented ICMP error is keyed by its outer header, so its pieces stay
//   together (RFC 1812 makes errors small: this does not happen in practice).
// - Everything else (ARP, IPv6, runts) goes to one shard (shard 0, or
//   shard 1 when shard 0 routes no flows), so the neighbor table learns and
//   answers exactly once, as with one worker.
//
// What the pair cannot do is follow a translated flow: after NAT the reply's
// address pair is not the request's (it is addressed to the NAT address), and
// no key computed from one packet alone could know that. Configs that
// translate are not sharded (see shardability.ts).
import { ETH_HEADER_LEN, ETHERTYPE_IPV4, ETH_MAX_VLAN_TAGS, isVlanTpid, VLAN_TAG_LEN } from '../wire/ethernet.js';

const IPPROTO_ICMP = 1;
/** ICMP types that quote the datagram they are about (RFC 792, RFC 1812 4.3.2.3). */
const ICMP_QUOTING = (1 << 3) | (1 << 4) | (1 << 5) | (1 << 11) | (1 << 12);

function mix(lo: number, hi: number, proto: number): number {
  let h = Math.imul(lo ^ 0x811c9dc5, 0x85ebca6b);
  h ^= hi + 0x9e3779b9;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= proto;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function addr(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** The flow key of the IPv4 header at `l3` (the quoted one for an ICMP error), or -1 when it is too short to have one. */
function pairKey(b: Uint8Array, l3: number, end: number): number {
  if (l3 + 20 > end || b[l3] >> 4 !== 4) return -1;
  let src = addr(b, l3 + 12);
  let dst = addr(b, l3 + 16);
  let proto = b[l3 + 9];
  const fragmented = (b[l3 + 6] & 0x3f) !== 0 || b[l3 + 7] !== 0;
  const ihl = (b[l3] & 0x0f) << 2;
  if (proto === IPPROTO_ICMP && !fragmented && ihl >= 20 && l3 + ihl + 8 + 20 <= end) {
    const icmp = l3 + ihl;
    const type = b[icmp];
    const inner = icmp + 8;
    if (type < 32 && ((ICMP_QUOTING >>> type) & 1) !== 0 && b[inner] >> 4 === 4) {
      // The quoted datagram went from the flow's sender to its peer: the same pair.
      src = addr(b, inner + 12);
      dst = addr(b, inner + 16);
      proto = b[inner + 9];
    }
  }
  return src < dst ? mix(src, dst, proto) : mix(dst, src, proto);
}

/** A pool shard's weight in the split of flows; shard 0's is mainShare (0..MAX_MAIN_SHARE). */
export const POOL_SHARE = 8;
export const MAX_MAIN_SHARE = 2 * POOL_SHARE;

/**
 * A flow key's shard. Shard 0 runs on the main thread, which also merges and
 * writes the output: it takes mainShare / POOL_SHARE of another shard's share
 * of the flows (0: none; then shard 0 does not run, and the caller gives
 * what has no key to shard 1: capture-input.ts, ShardFilter.keyless).
 */
function shardOfKey(k: number, shards: number, mainShare: number): number {
  const r = k % (mainShare + POOL_SHARE * (shards - 1));
  return r < mainShare ? 0 : 1 + ((r - mainShare) % (shards - 1));
}

/** The shard in [0, shards) of the Ethernet frame b[off, off + len); 0 too for a frame with no flow key (not IPv4). */
export function shardOf(b: Uint8Array, off: number, len: number, shards: number, mainShare: number): number {
  if (shards <= 1) return 0;
  const end = off + len;
  let o = off + ETH_HEADER_LEN - 2;
  for (let tags = 0; tags <= ETH_MAX_VLAN_TAGS; tags++) {
    if (o + 2 > end) return 0;
    const type = (b[o] << 8) | b[o + 1];
    if (type === ETHERTYPE_IPV4) {
      const k = pairKey(b, o + 2, end);
      return k < 0 ? 0 : shardOfKey(k, shards, mainShare);
    }
    if (!isVlanTpid(type)) return 0;
    o += VLAN_TAG_LEN;
  }
  return 0;
}
