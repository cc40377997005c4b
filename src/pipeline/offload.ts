// Offload metadata helpers (see OffloadMeta in batch.ts): the per-segment
// size of a TCP super-packet, and completing a partial checksum in software
// for a packet that leaves where nobody else will.
import { internetChecksum } from '../wire/checksum.js';
import { UDP_CHECKSUM } from '../wire/udp.js';
import { OffloadMeta, VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_ECN, VNET_HDR_GSO_TCPV4, type Batch } from './batch.js';

/**
 * IPv4 length of each segment a super-packet (GSO type `gsoType`, `gsoSize`
 * payload bytes per segment) becomes, as Linux's skb_gso_network_seglen: IP
 * header + TCP header + gso_size, at most `total`. For a GSO type other than
 * TCPv4 (never negotiated) it is `total`, so such a packet is judged whole.
 */
export function gsoSegmentLength(b: Uint8Array, o: number, gsoType: number, gsoSize: number, total: number): number {
  if ((gsoType & ~VNET_HDR_GSO_ECN) !== VNET_HDR_GSO_TCPV4 || gsoSize === 0) return total;
  const ihl = (b[o] & 0x0f) << 2;
  const seg = ihl + ((b[o + ihl + 12] >> 4) << 2) + gsoSize;
  return seg < total ? seg : total;
}

/**
 * Completes slot `s`'s partial TCP/UDP checksum (VNET_HDR_F_NEEDS_CSUM: the
 * field holds the pseudo-header sum; the checksum covers CSUM_START to the
 * end of the frame) and clears the flag. Nothing to do without the flag.
 */
export function completeChecksum(batch: Batch, s: number): void {
  const meta = batch.offload;
  const m = s * OffloadMeta.WORDS;
  if ((meta[m + OffloadMeta.FLAGS] & VNET_HDR_F_NEEDS_CSUM) === 0) return;
  meta[m + OffloadMeta.FLAGS] = 0;
  const b = batch.arena;
  const from = batch.start[s] + meta[m + OffloadMeta.CSUM_START];
  const at = from + meta[m + OffloadMeta.CSUM_OFFSET];
  const end = batch.start[s] + batch.length[s];
  if (at + 2 > end) return; // nonsense from the kernel side: leave the bytes alone
  let c = internetChecksum(b, from, end - from);
  if (c === 0 && meta[m + OffloadMeta.CSUM_OFFSET] === UDP_CHECKSUM) c = 0xffff; // UDP: 0 means "no checksum"
  b[at] = c >> 8;
  b[at + 1] = c & 0xff;
}
