// Software segmentation of a TCP/IPv4 super-packet (GSO metadata from an
// offload port), as Linux's tcp_gso_segment does: one segment per gso_size
// payload bytes, each with a copy of the IP and TCP headers; IP total
// length, id (+1 per segment) and header checksum, TCP sequence number and a
// full TCP checksum per segment; FIN and PSH only on the last segment, CWR
// only on the first. Used by ip4-gso (towards a port without offload) and
// lb-encap (a tunnel carries segments).
import { fillIpv4Checksum, IPPROTO_TCP } from '../wire/ipv4.js';
import { ETH_HEADER_LEN } from '../wire/ethernet.js';
import { fillTcpChecksum, TCP_CWR, TCP_FIN, TCP_PSH } from '../wire/tcp.js';
import { OffloadMeta, VNET_HDR_GSO_ECN, VNET_HDR_GSO_TCPV4, type Batch } from './batch.js';

/** segmentTcp failures (counts are >= 1). */
export const SEGMENT_UNSUPPORTED = -1;
export const SEGMENT_NO_BUFFER = -2;

/**
 * Cuts super-packet `s` into segments in generated slots (each with the
 * parent's txPort and nextHop), their slot numbers into `out`. Returns how
 * many, SEGMENT_UNSUPPORTED (not TCP/IPv4 with a sane gso_size) or
 * SEGMENT_NO_BUFFER (not enough free slots: nothing was made). The parent
 * slot is left as it was, for the caller to free.
 */
export function segmentTcp(batch: Batch, s: number, out: Uint16Array): number {
  const b = batch.arena;
  const meta = batch.offload;
  const m = s * OffloadMeta.WORDS;
  const o = batch.l3[s];
  const ihl = (b[o] & 0x0f) << 2;
  const total = (b[o + 2] << 8) | b[o + 3];
  const t = o + ihl;
  const thl = (b[t + 12] >> 4) << 2;
  const hdr = ihl + thl;
  const mss = meta[m + OffloadMeta.GSO_SIZE];
  if ((meta[m + OffloadMeta.GSO_TYPE] & ~VNET_HDR_GSO_ECN) !== VNET_HDR_GSO_TCPV4 || b[o + 9] !== IPPROTO_TCP || mss === 0 || thl < 20 || hdr > total) return SEGMENT_UNSUPPORTED;
  const payload = total - hdr;
  const segments = payload <= mss ? 1 : Math.ceil(payload / mss);
  if (segments > batch.generatedFree || segments > out.length) return SEGMENT_NO_BUFFER;
  const seq0 = ((b[t + 4] << 24) | (b[t + 5] << 16) | (b[t + 6] << 8) | b[t + 7]) >>> 0;
  const id0 = (b[o + 4] << 8) | b[o + 5];
  const tcpFlags = b[t + 13];
  for (let i = 0; i < segments; i++) {
    const off = i * mss;
    const chunk = payload - off < mss ? payload - off : mss;
    const f = batch.allocGenerated(s);
    const fo = batch.slotStart(f) + ETH_HEADER_LEN;
    const ft = fo + ihl;
    b.copyWithin(fo, o, o + hdr);
    b.copyWithin(fo + hdr, o + hdr + off, o + hdr + off + chunk);
    const len = hdr + chunk;
    b[fo + 2] = len >> 8;
    b[fo + 3] = len & 0xff;
    const id = (id0 + i) & 0xffff;
    b[fo + 4] = id >> 8;
    b[fo + 5] = id & 0xff;
    fillIpv4Checksum(b, fo);
    const seq = (seq0 + off) >>> 0;
    b[ft + 4] = seq >>> 24;
    b[ft + 5] = (seq >>> 16) & 0xff;
    b[ft + 6] = (seq >>> 8) & 0xff;
    b[ft + 7] = seq & 0xff;
    let fl = tcpFlags;
    if (i < segments - 1) fl &= ~(TCP_FIN | TCP_PSH);
    if (i > 0) fl &= ~TCP_CWR;
    b[ft + 13] = fl;
    fillTcpChecksum(b, fo, ft, thl + chunk);
    batch.l3[f] = fo;
    batch.start[f] = fo - ETH_HEADER_LEN;
    batch.length[f] = ETH_HEADER_LEN + len;
    batch.txPort[f] = batch.txPort[s];
    batch.nextHop[f] = batch.nextHop[s];
    out[i] = f;
  }
  return segments;
}
