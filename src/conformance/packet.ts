// Reading what a conformance case sent and got back: a frame's tuple (with
// the datagram an ICMP error quotes) and whether every checksum in it holds,
// and a one-line summary for the evidence column
// ("192.0.2.10:5000>198.51.100.10:53 udp"). Frames here may be damaged on
// purpose, so nothing assumes a sound header beyond what it checks.
import { ipv4ToString } from '../wire/address.js';
import { foldSum, internetChecksum, pseudoHeaderSum, sumWords } from '../wire/checksum.js';
import {
  IPOPT_LSRR, IPOPT_RR, IPOPT_SSRR, IPOPT_TS, ipv4OptionName, parseIpv4Options, parseIpv4RouteOption, parseIpv4TimestampOption,
} from '../wire/ipv4-options.js';

export interface Tuple {
  src: string;
  dst: string;
  proto: number;
  /** Ports, or the ICMP query id in both; -1 when there are none. */
  sport: number;
  dport: number;
  ttl: number;
  df: boolean;
  /** IP total length. */
  length: number;
  /** ICMP type and code, or -1. */
  type: number;
  code: number;
  /** The next-hop MTU of a fragmentation-needed error. */
  mtu: number;
  /** The pointer of a parameter problem, or -1. */
  pointer: number;
  /** The IPv4 options, one summary each ("rr ptr 8 [198.51.100.1 0.0.0.0]"); empty without. */
  options: string[];
  tcpFlags: number;
  /** The datagram an ICMP error quotes. */
  quoted?: Tuple;
  /** Every checksum verifies (a quoted L4 checksum only when whole; a fragment's L4 checksum not at all). */
  checksumsOk: boolean;
  id: number;
  /** Fragment offset in bytes, and the more-fragments flag. */
  fragOffset: number;
  mf: boolean;
}

const QUERY_TYPES = [0, 8, 13, 14, 15, 16, 17, 18];
const ERROR_TYPES = [3, 4, 5, 11, 12];

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** The tuple of the IPv4 datagram at b[o..end) (an Ethernet frame: o = 14); undefined when there is no IPv4 header there. */
export function tupleOf(b: Uint8Array, o = 14, end = b.length, quoted = false): Tuple | undefined {
  if (end - o < 20 || b[o] >> 4 !== 4) return undefined;
  const ihl = (b[o] & 15) * 4;
  const total = (b[o + 2] << 8) | b[o + 3];
  const stop = Math.min(end, o + total);
  const proto = b[o + 9];
  const l4 = o + ihl;
  const src = u32(b, o + 12);
  const dst = u32(b, o + 16);
  let ok = ihl >= 20 && o + ihl <= end && internetChecksum(b, o, ihl) === 0;
  const frag = (b[o + 6] << 8) | b[o + 7];
  const t: Tuple = {
    src: ipv4ToString(src), dst: ipv4ToString(dst), proto, sport: -1, dport: -1, ttl: b[o + 8], df: (frag & 0x4000) !== 0, length: total,
    type: -1, code: -1, mtu: -1, pointer: -1, tcpFlags: -1, checksumsOk: true, id: (b[o + 4] << 8) | b[o + 5], fragOffset: (frag & 0x1fff) * 8, mf: (frag & 0x2000) !== 0,
    options: ihl > 20 ? parseIpv4Options(b, o + 20, Math.min(end, o + ihl)).filter((x) => x.type !== 1).map((x) => describeOption(x.type, x.data)) : [],
  };
  const l4Len = stop - l4;
  if (t.fragOffset !== 0 || l4Len < 4) {
    t.checksumsOk = ok;
    return t;
  }
  const whole = (!quoted || o + total <= end) && !t.mf;
  if ((proto === 6 && l4Len >= 20) || (proto === 17 && l4Len >= 8) || (quoted && (proto === 6 || proto === 17))) {
    t.sport = (b[l4] << 8) | b[l4 + 1];
    t.dport = (b[l4 + 2] << 8) | b[l4 + 3];
    if (proto === 6 && l4Len >= 14) t.tcpFlags = b[l4 + 13];
    const at = l4 + (proto === 6 ? 16 : 6);
    const csum = at + 1 < stop ? (b[at] << 8) | b[at + 1] : 0;
    if (whole && !(proto === 17 && csum === 0)) ok = ok && foldSum(sumWords(b, l4, l4Len, pseudoHeaderSum(src, dst, proto, l4Len))) === 0xffff;
  } else if (proto === 1 && l4Len >= 8) {
    t.type = b[l4];
    t.code = b[l4 + 1];
    if (whole) ok = ok && internetChecksum(b, l4, l4Len) === 0;
    if (QUERY_TYPES.includes(t.type)) t.sport = t.dport = (b[l4 + 4] << 8) | b[l4 + 5];
    else if (!quoted && ERROR_TYPES.includes(t.type)) {
      if (t.type === 3 && t.code === 4) t.mtu = (b[l4 + 6] << 8) | b[l4 + 7];
      if (t.type === 12) t.pointer = b[l4 + 4];
      t.quoted = tupleOf(b, l4 + 8, stop, true);
      if (t.quoted) ok = ok && t.quoted.checksumsOk;
    }
  }
  t.checksumsOk = ok;
  return t;
}

/**
 * One option as text: a route option's pointer and slots, a Timestamp's
 * flag, pointer, overflow count and entries (address@ms), else its name.
 */
function describeOption(type: number, data: Uint8Array): string {
  const name = ipv4OptionName(type);
  if ((type === IPOPT_RR || type === IPOPT_LSRR || type === IPOPT_SSRR) && data.length >= 1) {
    const r = parseIpv4RouteOption(data);
    return `${name} ptr ${r.pointer} [${r.addresses.join(' ')}]`;
  }
  if (type === IPOPT_TS && data.length >= 2) {
    const t = parseIpv4TimestampOption(data);
    const entries = t.entries.map((e) => (e.address === undefined ? `${e.timestamp}` : `${e.address}@${e.timestamp}`));
    return `${name}/${t.flag} ptr ${t.pointer} oflw ${t.overflow} [${entries.join(' ')}]`;
  }
  return name;
}

/** "192.0.2.10:40000>198.51.100.10:53": the flow part of a summary. */
export function flat(t: Tuple): string {
  return t.sport < 0 ? `${t.src}>${t.dst}` : `${t.src}:${t.sport}>${t.dst}:${t.dport}`;
}

const ICMP_NAMES: Record<number, string> = { 0: 'echo-reply', 3: 'unreachable', 8: 'echo', 11: 'time-exceeded', 12: 'parameter-problem', 13: 'timestamp', 14: 'timestamp-reply' };

function tcpFlags(f: number): string {
  let s = '';
  if (f & 0x02) s += 'S';
  if (f & 0x01) s += 'F';
  if (f & 0x04) s += 'R';
  if (f & 0x08) s += 'P';
  if (f & 0x10) s += '.';
  return `[${s}]`;
}

/** One tuple as text: flow, protocol, what matters about it (ttl when not 64, DF, fragments, ICMP type/code, options, the quote). */
export function describeTuple(t: Tuple, quoted = false): string {
  const parts: string[] = [];
  if (t.proto === 17) parts.push(`${flat(t)} udp`);
  else if (t.proto === 6) parts.push(`${flat(t)} tcp${t.tcpFlags >= 0 ? ` ${tcpFlags(t.tcpFlags)}` : ''}`);
  else if (t.proto === 1) {
    const name = ICMP_NAMES[t.type] ?? `type ${t.type}`;
    if (QUERY_TYPES.includes(t.type)) parts.push(`${t.src}>${t.dst} icmp ${name} id ${t.sport}`);
    else if (t.type >= 0) parts.push(`${t.src}>${t.dst} icmp ${t.type}/${t.code} ${name}${t.mtu >= 0 ? ` mtu ${t.mtu}` : ''}${t.pointer >= 0 ? ` ptr ${t.pointer}` : ''}`);
    else parts.push(`${t.src}>${t.dst} icmp`);
  } else parts.push(`${t.src}>${t.dst} proto ${t.proto}`);
  if (!quoted && t.ttl !== 64) parts.push(`ttl ${t.ttl}`);
  if (t.df) parts.push('DF');
  if (t.mf || t.fragOffset > 0) parts.push(`frag off ${t.fragOffset}${t.mf ? '+' : ''}`);
  if (!quoted && (t.df || t.mf || t.fragOffset > 0 || t.length > 576)) parts.push(`len ${t.length}`);
  if (t.options.length > 0) parts.push(`opts ${t.options.join(', ')}`);
  if (t.quoted) parts.push(`[quotes ${describeTuple(t.quoted, true)}]`);
  if (!quoted && !t.checksumsOk) parts.push('(bad checksum)');
  return parts.join(' ');
}

/** A frame as text: its IPv4 summary, or what it is when it is not IPv4. */
export function describeFrame(f: Uint8Array): string {
  if (f.length < 14) return `runt (${f.length} bytes)`;
  const ethertype = (f[12] << 8) | f[13];
  if (ethertype === 0x0806) return 'arp';
  if (ethertype !== 0x0800) return `ethertype 0x${ethertype.toString(16).padStart(4, '0')}`;
  const t = tupleOf(f);
  return t ? describeTuple(t) : `damaged ipv4 (version ${f[14] >> 4}, ${f.length - 14} bytes)`;
}

/** The Ethernet frame of the datagram some fragments (any order) make up. */
export function reassemble(frames: readonly Uint8Array[]): Uint8Array {
  const parts = frames.map((f) => ({ f, off: (((f[20] << 8) | f[21]) & 0x1fff) * 8 })).sort((a, b) => a.off - b.off);
  const first = parts[0].f;
  const ihl = (first[14] & 15) * 4;
  const payload = parts.reduce((n, p) => Math.max(n, p.off + ((p.f[16] << 8) | p.f[17]) - (p.f[14] & 15) * 4), 0);
  const out = new Uint8Array(14 + ihl + payload);
  out.set(first.subarray(0, 14 + ihl));
  for (const p of parts) {
    const pIhl = (p.f[14] & 15) * 4;
    const len = ((p.f[16] << 8) | p.f[17]) - pIhl;
    out.set(p.f.subarray(14 + pIhl, 14 + pIhl + len), 14 + ihl + p.off);
  }
  const total = ihl + payload;
  out[16] = total >> 8;
  out[17] = total & 0xff;
  out[20] = out[21] = 0;
  out[24] = out[25] = 0;
  const c = internetChecksum(out, 14, ihl);
  out[24] = c >> 8;
  out[25] = c & 0xff;
  return out;
}
