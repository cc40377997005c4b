// The IPv4 section of a FrameSummary, shared by the outer header and the
// header an ICMP error quotes (which is usually cut short).
import { ipv4ToString } from '../wire/address.js';
import {
  IPV4_MIN_HEADER_LEN,
  ipv4ChecksumOk,
  ipv4Df,
  ipv4Dst,
  ipv4FragOffset,
  ipv4Id,
  ipv4Ihl,
  ipv4Mf,
  ipv4Protocol,
  ipv4Src,
  ipv4TotalLength,
  ipv4Ttl,
} from '../wire/ipv4.js';
import { IPOPT_NOP, parseIpv4Options } from '../wire/ipv4-options.js';
import type { IpOption, IpSection } from './summary.js';


/** Options of an IPv4 header of `hl` bytes at b[o], up to EOL (not listed); stops at an option that does not fit. */
function ipv4Options(b: Uint8Array, o: number, hl: number): IpOption[] {
  return parseIpv4Options(b, o + IPV4_MIN_HEADER_LEN, o + hl).map((opt) => ({ type: opt.type, len: opt.type === IPOPT_NOP ? 1 : opt.data.length + 2 }));
}

/**
 * The IPv4 section of a header at b[o] of which `avail` bytes are readable
 * (at least 20, version 4, IHL >= 5 checked by the caller). The checksum is
 * reported only when the whole header is readable.
 */
export function ipv4Section(b: Uint8Array, o: number, avail: number): IpSection {
  const hl = ipv4Ihl(b, o) * 4;
  const sec: IpSection = {
    src: ipv4ToString(ipv4Src(b, o)),
    dst: ipv4ToString(ipv4Dst(b, o)),
    proto: ipv4Protocol(b, o),
    ttl: ipv4Ttl(b, o),
    id: ipv4Id(b, o),
    len: ipv4TotalLength(b, o),
    ihl: ipv4Ihl(b, o),
    df: ipv4Df(b, o),
    mf: ipv4Mf(b, o),
    frag: ipv4FragOffset(b, o),
    ...(hl <= avail ? { csumOk: ipv4ChecksumOk(b, o) } : {}),
    options: ipv4Options(b, o, Math.min(hl, avail)),
  };
  return sec;
}

/** True when b[o] starts a readable IPv4 header: 20 bytes, version 4, IHL >= 5. */
export function ipv4HeaderReadable(b: Uint8Array, o: number, avail: number): boolean {
  return avail >= IPV4_MIN_HEADER_LEN && b[o] >> 4 === 4 && (b[o] & 0x0f) >= 5;
}

