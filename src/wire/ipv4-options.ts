// IPv4 options (RFC 791 section 3.1, RFC 2113 Router Alert).
//
//   single-byte options:      +--------+
//                             |  type  |      0 = End of Option List, 1 = No Operation
//                             +--------+
//   all others:               +--------+--------+--------//--------+
//                             |  type  | length |   data (length-2) |
//                             +--------+--------+--------//--------+
//   type byte:                | C | class | number |   C = copied into every fragment
//                               1     2        5
//
//   Record Route (7), Loose / Strict Source Route (131 / 137):
//   +--------+--------+--------+---------//--------+
//   |  type  | length | pointer|  route data (4n)  |   pointer >= 4, 1-based within the option
//   +--------+--------+--------+---------//--------+
//   Timestamp (68):
//   +--------+--------+--------+--------+---------//--------+
//   |   68   | length | pointer|oflw|flg|  [address] timestamp ... |   pointer >= 5
//   +--------+--------+--------+--------+---------//--------+
//   Router Alert (148): type 148, length 4, 16-bit value (0 = "examine packet").
//
// EOL ends the list: the bytes after it are padding and are not decoded. In a
// repr the list holds every option before EOL (NOPs included, so that a parsed
// header emits back byte for byte); EOL and the padding are written by emit.

import { ipv4ToString, readIpv4 } from './address.js';

export const IPOPT_EOL = 0;
export const IPOPT_NOP = 1;
export const IPOPT_RR = 7;
export const IPOPT_TS = 68;
export const IPOPT_SEC = 130;
export const IPOPT_LSRR = 131;
export const IPOPT_SSRR = 137;
export const IPOPT_RA = 148;

export interface Ipv4Option {
  /** The whole type byte (copied flag, class and number). */
  type: number;
  /** The bytes after type and length; empty for NOP. */
  data: Uint8Array;
}

/** The copied flag: the option must be repeated in every fragment (RFC 791). */
export function ipv4OptionCopied(type: number): boolean {
  return (type & 0x80) !== 0;
}

export function ipv4OptionName(type: number): string {
  switch (type) {
    case IPOPT_EOL: return 'eol';
    case IPOPT_NOP: return 'nop';
    case IPOPT_RR: return 'rr';
    case IPOPT_TS: return 'ts';
    case IPOPT_SEC: return 'sec';
    case IPOPT_LSRR: return 'lsrr';
    case IPOPT_SSRR: return 'ssrr';
    case IPOPT_RA: return 'ra';
    default: return `opt-${type}`;
  }
}

/**
 * Validates the options in b[start, end). Returns -1 when they are well
 * formed, else the offset (from `start`) of the offending byte, which is what
 * an ICMP Parameter Problem pointer wants once the 20 fixed bytes are added.
 * Rules: every multi-byte option has a length byte, length >= 2 and fits;
 * route options have length >= 3 and pointer >= 4; timestamp length >= 4 and
 * pointer >= 5; router alert length is 4.
 */
export function ipv4OptionsError(b: Uint8Array, start: number, end: number): number {
  let p = start;
  while (p < end) {
    const type = b[p];
    if (type === IPOPT_EOL) return -1;
    if (type === IPOPT_NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) return p - start;
    const len = b[p + 1];
    if (len < 2 || p + len > end) return p + 1 - start;
    switch (type) {
      case IPOPT_RR:
      case IPOPT_LSRR:
      case IPOPT_SSRR:
        if (len < 3) return p + 1 - start;
        if (b[p + 2] < 4) return p + 2 - start;
        break;
      case IPOPT_TS:
        if (len < 4) return p + 1 - start;
        if (b[p + 2] < 5) return p + 2 - start;
        break;
      case IPOPT_RA:
        if (len !== 4) return p + 1 - start;
        break;
    }
    p += len;
  }
  return -1;
}

/**
 * Decodes the options in b[start, end) up to EOL. Never reads past `end`: an
 * option that would run past it ends the list (checkIpv4 has already refused
 * such a header; this tolerance is for ICMP quotes and garbage).
 */
export function parseIpv4Options(b: Uint8Array, start: number, end: number): Ipv4Option[] {
  const out: Ipv4Option[] = [];
  let p = start;
  while (p < end) {
    const type = b[p];
    if (type === IPOPT_EOL) break;
    if (type === IPOPT_NOP) {
      out.push({ type, data: new Uint8Array(0) });
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    const len = b[p + 1];
    if (len < 2 || p + len > end) break;
    out.push({ type, data: b.slice(p + 2, p + len) });
    p += len;
  }
  return out;
}

/** Bytes the options take on the wire, before EOL and padding. */
export function ipv4OptionsLength(options: readonly Ipv4Option[]): number {
  let n = 0;
  for (const opt of options) n += opt.type === IPOPT_NOP || opt.type === IPOPT_EOL ? 1 : 2 + opt.data.length;
  return n;
}

/**
 * Writes `options` into b[start, end) and fills the rest with zeros (EOL, then
 * padding). Throws RangeError when they do not fit or an option is longer
 * than a length byte can say.
 */
export function writeIpv4Options(options: readonly Ipv4Option[], b: Uint8Array, start: number, end: number): void {
  if (start + ipv4OptionsLength(options) > end) {
    throw new RangeError(`IPv4 options take ${ipv4OptionsLength(options)} bytes, the header has room for ${end - start}`);
  }
  let p = start;
  for (const opt of options) {
    b[p++] = opt.type;
    if (opt.type === IPOPT_NOP || opt.type === IPOPT_EOL) continue;
    b[p++] = 2 + opt.data.length;
    b.set(opt.data, p);
    p += opt.data.length;
  }
  b.fill(0, p, end);
}

export interface Ipv4RouteOption {
  /** 1-based offset within the option of the next slot (4 = first). */
  pointer: number;
  /** Every slot, filled or not. */
  addresses: string[];
}

/** Record Route / LSRR / SSRR data (after type and length). */
export function parseIpv4RouteOption(data: Uint8Array): Ipv4RouteOption {
  const addresses: string[] = [];
  for (let p = 1; p + 4 <= data.length; p += 4) addresses.push(ipv4ToString(readIpv4(data, p)));
  return { pointer: data.length > 0 ? data[0] : 0, addresses };
}

export const IPOPT_TS_TSONLY = 0;
export const IPOPT_TS_TSANDADDR = 1;
export const IPOPT_TS_PRESPEC = 3;

export interface Ipv4TimestampOption {
  pointer: number;
  /** Hops that could not record for lack of room. */
  overflow: number;
  /** 0: timestamps only; 1: address + timestamp; 3: prespecified addresses. */
  flag: number;
  entries: { address?: string; timestamp: number }[];
}

/** Timestamp option data (after type and length). */
export function parseIpv4TimestampOption(data: Uint8Array): Ipv4TimestampOption {
  const pointer = data.length > 0 ? data[0] : 0;
  const overflow = data.length > 1 ? data[1] >>> 4 : 0;
  const flag = data.length > 1 ? data[1] & 0x0f : 0;
  const entries: { address?: string; timestamp: number }[] = [];
  if (flag === IPOPT_TS_TSONLY) {
    for (let p = 2; p + 4 <= data.length; p += 4) entries.push({ timestamp: readIpv4(data, p) });
  } else {
    for (let p = 2; p + 8 <= data.length; p += 8) {
      entries.push({ address: ipv4ToString(readIpv4(data, p)), timestamp: readIpv4(data, p + 4) });
    }
  }
  return { pointer, overflow, flag, entries };
}

/** Router Alert value (RFC 2113): 0 = routers shall examine the packet. */
export function parseIpv4RouterAlert(data: Uint8Array): number {
  return data.length >= 2 ? (data[0] << 8) | data[1] : 0;
}
