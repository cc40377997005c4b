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
//
// What a router does with them (RFC 1812 5.3.13, RFC 791) is at the end of
// this file: ipv4OptionsVerdict on arrival (ip4-input), recordIpv4Options on
// the way out, once the egress port is known (ip4-rewrite).

import { ipv4ToString, readIpv4, writeIpv4 } from './address.js';
import { finishChecksum, sumWords } from './checksum.js';

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

/** Options RFC 791 allows once in a datagram, as bits of ipv4OptionsError's `seen` (the two source routes count as one: RFC 1122 3.2.1.8). */
const ONCE_RR = 1;
const ONCE_TS = 2;
const ONCE_SOURCE_ROUTE = 4;

/**
 * Validates the options in b[start, end). Returns -1 when they are well
 * formed, else the offset (from `start`) of the offending byte, which is what
 * an ICMP Parameter Problem pointer wants once the 20 fixed bytes are added.
 * Rules: every multi-byte option has a length byte, length >= 2 and fits;
 * route options have length >= 3 and pointer >= 4; timestamp length >= 4 and
 * pointer >= 5; router alert length is 4. RFC 791 besides: a route or
 * timestamp option whose pointer leaves some room but not enough for the
 * next entry (an address; a timestamp, or an address and a timestamp for
 * flags 1 and 3) "is considered to be in error" (the pointer byte is
 * named), and Record Route, Timestamp and a source route each appear at most
 * once (the second copy's type byte is named, as Linux does).
 */
export function ipv4OptionsError(b: Uint8Array, start: number, end: number): number {
  let p = start;
  let seen = 0;
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
      case IPOPT_SSRR: {
        const once = type === IPOPT_RR ? ONCE_RR : ONCE_SOURCE_ROUTE;
        if ((seen & once) !== 0) return p - start;
        seen |= once;
        if (len < 3) return p + 1 - start;
        const ptr = b[p + 2];
        if (ptr < 4 || (ptr <= len && ptr + 3 > len)) return p + 2 - start;
        break;
      }
      case IPOPT_TS: {
        if ((seen & ONCE_TS) !== 0) return p - start;
        seen |= ONCE_TS;
        if (len < 4) return p + 1 - start;
        const ptr = b[p + 2];
        const entry = timestampEntryLength(b[p + 3] & 0x0f);
        if (ptr < 5 || (ptr <= len && ptr + entry - 1 > len)) return p + 2 - start;
        break;
      }
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

/** Bytes one hop's entry takes in a Timestamp option of this flag: 4, 8, or 1 for flags RFC 791 does not define (no room rule applies to them). */
function timestampEntryLength(flag: number): number {
  return flag === IPOPT_TS_TSONLY ? 4 : flag === IPOPT_TS_TSANDADDR || flag === IPOPT_TS_PRESPEC ? 8 : 1;
}

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

// ---- what a router does with them (RFC 1812 5.3.13, RFC 791) ---------------
//
// On arrival (ip4-input, after ipv4OptionsError found nothing malformed),
// ipv4OptionsVerdict says whether the datagram may go on: a source route is
// refused (the router does not source-route: docs/ARCHITECTURE.md, "IPv4
// options"), and so is a full Timestamp option whose overflow count is at 15
// already, since the count of this hop would overflow it (RFC 791: "the
// original datagram is considered to be in error").
//
// On the way out (ip4-rewrite, egress port known), recordIpv4Options writes
// this hop into Record Route and Timestamp, before the TTL decrement and any
// fragmentation (ip4-frag then carries the updated options in the first
// fragment, the copied ones in every fragment). It runs on every datagram
// that leaves with options, the router's own echo replies included (RFC 1812
// 4.3.3.6: the reply's Record Route and Timestamp include this router).

/** ipv4OptionsVerdict: the datagram may be forwarded or delivered. */
export const IPV4_OPTIONS_OK = -1;
/** ipv4OptionsVerdict: it carries a Loose or Strict Source Route. */
export const IPV4_OPTIONS_SOURCE_ROUTE = -2;

/**
 * What the router makes of the well-formed options in b[start, end) of a
 * datagram it received: IPV4_OPTIONS_OK, IPV4_OPTIONS_SOURCE_ROUTE, or (a
 * Parameter Problem, before any source route) the offset from `start` of
 * the overflow/flags byte of a full Timestamp option whose overflow count
 * is 15. Stops at a malformed option (the caller checked them).
 */
export function ipv4OptionsVerdict(b: Uint8Array, start: number, end: number): number {
  let verdict = IPV4_OPTIONS_OK;
  let p = start;
  while (p < end) {
    const type = b[p];
    if (type === IPOPT_EOL) break;
    if (type === IPOPT_NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    const len = b[p + 1];
    if (len < 2 || p + len > end) break;
    if (type === IPOPT_LSRR || type === IPOPT_SSRR) verdict = IPV4_OPTIONS_SOURCE_ROUTE;
    else if (type === IPOPT_TS && len >= 4 && b[p + 2] > len && b[p + 3] >>> 4 === 15) return p + 3 - start;
    p += len;
  }
  return verdict;
}

/** Milliseconds in a day: a timestamp counts from midnight UT (RFC 791). */
const DAY_MS = 86_400_000;

/**
 * RFC 791's timestamp, milliseconds since midnight UT, from a clock that
 * counts milliseconds since the Unix epoch (pipeline/clock.ts: the system
 * clock does, and a replay's clock follows the capture's timestamps).
 */
export function msSinceMidnightUt(epochMs: number): number {
  const ms = Math.floor(epochMs) % DAY_MS;
  return ms < 0 ? ms + DAY_MS : ms;
}

/**
 * Records this hop in the options of the IPv4 header at b[o] as the
 * datagram leaves by the interface whose address is `egress` (RFC 1812
 * 5.3.13.5 and 5.3.13.6, RFC 791), and recomputes the header checksum when
 * it changed something; returns whether it did.
 *
 * - Record Route: `egress` goes in the slot at the pointer, which moves on by
 *   4. A full option (pointer past the length) is left as it is.
 * - Timestamp, flag 0: the timestamp at the pointer; flag 1: `egress` and
 *   the timestamp; flag 3: the timestamp, when the prespecified address at
 *   the pointer is any of the router's addresses (own[0, ownCount)), else
 *   nothing. A full option has its overflow count raised by one, whatever
 *   the flag (RFC 791 makes no exception; BSD does the same, Linux leaves a
 *   full flag-3 option alone); a count already at 15 stays (ip4-input
 *   refused such a datagram: ipv4OptionsVerdict). Flags RFC 791 does not
 *   define are left alone.
 *
 * `timestamp` is msSinceMidnightUt of the time the batch is handled. The
 * options must have passed ipv4OptionsError; an option that does not fit
 * ends the walk, so nothing is written outside the header whatever the bytes.
 */
export function recordIpv4Options(b: Uint8Array, o: number, egress: number, own: Uint32Array, ownCount: number, timestamp: number): boolean {
  const hl = (b[o] & 0x0f) << 2;
  const end = o + hl;
  let changed = false;
  let p = o + 20;
  while (p < end) {
    const type = b[p];
    if (type === IPOPT_EOL) break;
    if (type === IPOPT_NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    const len = b[p + 1];
    if (len < 2 || p + len > end) break;
    if (type === IPOPT_RR && len >= 3) {
      const ptr = b[p + 2];
      if (ptr >= 4 && ptr + 3 <= len) {
        writeIpv4(b, p + ptr - 1, egress);
        b[p + 2] = ptr + 4;
        changed = true;
      }
    } else if (type === IPOPT_TS && len >= 4 && stampTimestamp(b, p, len, egress, own, ownCount, timestamp)) {
      changed = true;
    }
    p += len;
  }
  if (changed) {
    b[o + 10] = 0;
    b[o + 11] = 0;
    const c = finishChecksum(sumWords(b, o, hl, 0));
    b[o + 10] = c >>> 8;
    b[o + 11] = c & 0xff;
  }
  return changed;
}

/** This hop's entry in the Timestamp option at b[p] of length `len` (recordIpv4Options); true when it wrote one or counted an overflow. */
function stampTimestamp(b: Uint8Array, p: number, len: number, egress: number, own: Uint32Array, ownCount: number, timestamp: number): boolean {
  const ptr = b[p + 2];
  const oflwFlag = b[p + 3];
  if (ptr > len) {
    if (oflwFlag >>> 4 === 15) return false;
    b[p + 3] = oflwFlag + 0x10;
    return true;
  }
  if (ptr < 5) return false;
  const slot = p + ptr - 1;
  switch (oflwFlag & 0x0f) {
    case IPOPT_TS_TSONLY:
      if (ptr + 3 > len) return false;
      writeIpv4(b, slot, timestamp);
      b[p + 2] = ptr + 4;
      return true;
    case IPOPT_TS_TSANDADDR:
      if (ptr + 7 > len) return false;
      writeIpv4(b, slot, egress);
      writeIpv4(b, slot + 4, timestamp);
      b[p + 2] = ptr + 8;
      return true;
    case IPOPT_TS_PRESPEC: {
      if (ptr + 7 > len) return false;
      const named = readIpv4(b, slot);
      let mine = false;
      for (let i = 0; i < ownCount; i++) if (own[i] === named) mine = true;
      if (!mine) return false;
      writeIpv4(b, slot + 4, timestamp);
      b[p + 2] = ptr + 8;
      return true;
    }
    default:
      return false;
  }
}
