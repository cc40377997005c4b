// Reading what came out of the NAT: the tuple of a frame, and whether every
// checksum in it (IPv4 header, TCP/UDP with the pseudo-header, ICMP, and the
// IPv4 header and L4 checksum an ICMP error quotes) verifies.
import { expect } from 'vitest';
import { internetChecksum, pseudoHeaderSum, sumWords, foldSum } from '../../src/wire/checksum.js';
import { ipv4ToString } from '../../src/wire/address.js';

export interface Tuple {
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
  ttl: number;
  /** ICMP type and code, or -1. */
  type: number;
  code: number;
  /** The datagram an ICMP error quotes. */
  quoted?: Tuple;
  /** Every checksum verifies (a quoted L4 checksum only when whole; a fragment's L4 checksum not at all: see reassemble). */
  checksumsOk: boolean;
  /** IP id, fragment offset (bytes) and more-fragments flag. */
  id: number;
  fragOffset: number;
  mf: boolean;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** The tuple of the IPv4 datagram at b[o..end) (an Ethernet frame: o = 14). */
export function tupleOf(b: Uint8Array, o = 14, end = b.length, quoted = false): Tuple {
  const ihl = (b[o] & 15) * 4;
  const total = (b[o + 2] << 8) | b[o + 3];
  const stop = Math.min(end, o + total);
  const proto = b[o + 9];
  const l4 = o + ihl;
  const src = u32(b, o + 12);
  const dst = u32(b, o + 16);
  let ok = internetChecksum(b, o, ihl) === 0;
  const frag = (b[o + 6] << 8) | b[o + 7];
  const fragOffset = (frag & 0x1fff) * 8;
  const mf = (frag & 0x2000) !== 0;
  const t: Tuple = {
    src: ipv4ToString(src), dst: ipv4ToString(dst), proto, sport: -1, dport: -1, ttl: b[o + 8], type: -1, code: -1, checksumsOk: true,
    id: (b[o + 4] << 8) | b[o + 5], fragOffset, mf,
  };
  if (fragOffset !== 0) {
    t.checksumsOk = ok;
    return t;
  }
  const l4Len = stop - l4;
  const whole = (!quoted || o + total <= end) && !mf;
  if (proto === 6 || proto === 17) {
    t.sport = (b[l4] << 8) | b[l4 + 1];
    t.dport = (b[l4 + 2] << 8) | b[l4 + 3];
    const csum = (b[l4 + (proto === 6 ? 16 : 6)] << 8) | b[l4 + (proto === 6 ? 17 : 7)];
    if (whole && !(proto === 17 && csum === 0)) ok = ok && foldSum(sumWords(b, l4, l4Len, pseudoHeaderSum(src, dst, proto, l4Len))) === 0xffff;
  } else if (proto === 1) {
    t.type = b[l4];
    t.code = b[l4 + 1];
    if (whole) ok = ok && internetChecksum(b, l4, l4Len) === 0;
    if ([0, 8, 13, 14, 15, 16, 17, 18].includes(t.type)) t.sport = t.dport = (b[l4 + 4] << 8) | b[l4 + 5];
    else if (!quoted && [3, 4, 5, 11, 12].includes(t.type) && l4Len >= 28) {
      t.quoted = tupleOf(b, l4 + 8, stop, true);
      ok = ok && t.quoted.checksumsOk;
    }
  }
  t.checksumsOk = ok;
  return t;
}

/** "192.0.2.10:40000 > 198.51.100.10:53/17" for assertions that read well. */
export function flat(t: Tuple): string {
  return `${t.src}:${t.sport} > ${t.dst}:${t.dport}/${t.proto}`;
}

/** The Ethernet frame of the datagram the fragments (Ethernet frames, any order) make up, for tupleOf. */
export function reassemble(frames: readonly Uint8Array[]): Uint8Array {
  const parts = frames.map((f) => ({ f, t: tupleOf(f) })).sort((a, b) => a.t.fragOffset - b.t.fragOffset);
  const first = parts[0].f;
  const ihl = (first[14] & 15) * 4;
  const payload = parts.reduce((n, p) => Math.max(n, p.t.fragOffset + ((p.f[16] << 8) | p.f[17]) - (p.f[14] & 15) * 4), 0);
  const out = new Uint8Array(14 + ihl + payload);
  out.set(first.subarray(0, 14 + ihl));
  for (const p of parts) {
    const pIhl = (p.f[14] & 15) * 4;
    const len = ((p.f[16] << 8) | p.f[17]) - pIhl;
    out.set(p.f.subarray(14 + pIhl, 14 + pIhl + len), 14 + ihl + p.t.fragOffset);
  }
  const total = ihl + payload;
  out[16] = total >> 8;
  out[17] = total & 0xff;
  out[20] = 0; // no MF, offset 0
  out[21] = 0;
  out[24] = out[25] = 0;
  const c = internetChecksum(out, 14, ihl);
  out[24] = c >> 8;
  out[25] = c & 0xff;
  return out;
}

/** The one frame a step sent: it must leave by `port`, every checksum sound. Its tuple. */
export function only(r: { out: readonly { port: string; bytes: Uint8Array }[] }, port: string): Tuple {
  expect(r.out.map((o) => o.port)).toEqual([port]);
  const t = tupleOf(r.out[0].bytes);
  expect(t.checksumsOk, `checksums of ${flat(t)}`).toBe(true);
  return t;
}
