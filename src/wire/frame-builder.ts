// Whole Ethernet + IPv4 frames for the cases that make packets rather than
// parse them: the conformance report's cases and the tests. Built once per
// case step (never on a hot path), so plain objects and fresh buffers are
// fine here; every checksum comes out right.
import { internetChecksum } from './checksum.js';
import { emitEthernet, ETHERTYPE_IPV4 } from './ethernet.js';
import type { Ipv4Option } from './ipv4-options.js';
import { emitIpv4, type Ipv4Repr } from './ipv4.js';

/** The IPv4 header fields a frame may set (the rest: TTL 64, id 0x1234, no flags). */
export interface Ipv4HeaderOpts {
  ttl?: number;
  df?: boolean;
  mf?: boolean;
  fragOffset?: number;
  id?: number;
  tos?: number;
  options?: Ipv4Option[];
}

/** Where a frame goes: the addresses, and the MACs of the link it is sent on. */
export interface FrameLink {
  src: string;
  dst: string;
  srcMac: string;
  dstMac: string;
}

/**
 * Ethernet + IPv4 (with options, padded to whole words) + an L4 part that
 * `l4` writes at the offset it is given, returning its length (at most
 * `l4Max`). The IPv4 total length and checksum cover what `l4` wrote.
 */
export function buildIpv4Frame(
  link: FrameLink,
  ip: Ipv4HeaderOpts,
  protocol: number,
  l4: (b: Uint8Array, offset: number) => number,
  l4Max: number,
): Uint8Array {
  const b = new Uint8Array(14 + 60 + l4Max);
  emitEthernet({ dst: link.dstMac, src: link.srcMac, vlans: [], ethertype: ETHERTYPE_IPV4 }, b, 0);
  const opts = ip.options ?? [];
  let optLen = 0;
  for (const o of opts) optLen += o.type <= 1 ? 1 : 2 + o.data.length;
  const ihl = 5 + ((optLen + 3) >> 2);
  const l4Len = l4(b, 14 + ihl * 4);
  const repr: Ipv4Repr = {
    ihl,
    tos: ip.tos ?? 0,
    totalLength: ihl * 4 + l4Len,
    id: ip.id ?? 0x1234,
    df: ip.df ?? false,
    mf: ip.mf ?? false,
    fragOffset: ip.fragOffset ?? 0,
    ttl: ip.ttl ?? 64,
    protocol,
    checksum: 0,
    src: link.src,
    dst: link.dst,
    options: opts,
  };
  emitIpv4(repr, b, 14);
  return b.slice(0, 14 + repr.totalLength);
}

/**
 * A frame cut in two fragments at `at` bytes of its IP payload (a multiple
 * of 8): the first (offset 0, more fragments) holds the L4 header, the
 * second the rest. Both keep the IP id and get their own header checksum.
 */
export function fragmentFrame(f: Uint8Array, at: number): [Uint8Array, Uint8Array] {
  const ihl = (f[14] & 15) * 4;
  const total = (f[16] << 8) | f[17];
  if (at % 8 !== 0 || at <= 0 || at >= total - ihl) throw new Error(`cannot cut a ${total - ihl}-byte payload at ${at}`);
  const part = (from: number, to: number, mf: boolean): Uint8Array => {
    const b = new Uint8Array(14 + ihl + (to - from));
    b.set(f.subarray(0, 14 + ihl));
    b.set(f.subarray(14 + ihl + from, 14 + ihl + to), 14 + ihl);
    const len = ihl + to - from;
    b[16] = len >> 8;
    b[17] = len & 0xff;
    const frag = (mf ? 0x2000 : 0) | (from / 8);
    b[20] = frag >> 8;
    b[21] = frag & 0xff;
    b[24] = b[25] = 0;
    const c = internetChecksum(b, 14, ihl);
    b[24] = c >> 8;
    b[25] = c & 0xff;
    return b;
  };
  return [part(0, at, true), part(at, total - ihl, false)];
}
