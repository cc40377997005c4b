// The packet an explain is about, as a person writes it:
//
//   PROTO [ICMP-TYPE] SRC[:PORT] > DST[:PORT] in PORT [OPTION ...]
//
//   tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan
//   udp 192.0.2.10:5353 > 198.51.100.10:53 in lan ttl 1
//   icmp echo 192.0.2.10 > 198.51.100.10 in lan len 1500 df
//
// Options, in any order after the addresses: `in NAME` (required: the port
// it arrives on), `ttl N`, `len N` (the IPv4 total length), `flags S|SA|A|
// FA|R|PA|none` (TCP), `df`, `frag` (more fragments: a first fragment),
// `offset N` (a later fragment, bytes, a multiple of 8), `type N|NAME` and
// `code N` (ICMP), `id N` (the ICMP query id), `tos N`. A wrong word is an
// error that names the word and says what was expected there, so a person
// can fix the line without reading this file.
import { ipv4ToString, tryParseIpv4Address } from '../wire/address.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';

export class ExplainSpecError extends Error {
  constructor(
    /** The word that is wrong ("" when something is missing). */
    readonly word: string,
    readonly reason: string,
  ) {
    super(word === '' ? reason : `"${word}": ${reason}`);
    this.name = 'ExplainSpecError';
  }
}

export interface ExplainSpec {
  protocol: number;
  src: number;
  dst: number;
  /** TCP/UDP ports (0 for other protocols). */
  sport: number;
  dport: number;
  /** The port it arrives on: index into config.ports, and its name. */
  inPort: number;
  inPortName: string;
  ttl: number;
  tos: number;
  /** IPv4 total length (header and payload). */
  length: number;
  df: boolean;
  mf: boolean;
  /** Fragment offset in bytes (a multiple of 8; > 0: a later fragment, no L4 header). */
  fragmentOffset: number;
  /** TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128). */
  tcpFlags: number;
  icmpType: number;
  icmpCode: number;
  /** ICMP query identifier. */
  icmpId: number;
}

const PROTOCOLS: Readonly<Record<string, number>> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, icmp: IPPROTO_ICMP };

/** ICMP type names (tcpdump's and ping's words). */
export const ICMP_TYPES: Readonly<Record<string, number>> = {
  'echo-reply': 0,
  unreachable: 3,
  'source-quench': 4,
  redirect: 5,
  echo: 8,
  'echo-request': 8,
  'time-exceeded': 11,
  'parameter-problem': 12,
  timestamp: 13,
  'timestamp-reply': 14,
  'info-request': 15,
  'info-reply': 16,
  'mask-request': 17,
  'mask-reply': 18,
};

const TCP_FLAG_LETTERS = 'FSRPAUEC';
/** The first dynamic port (RFC 6335): the source port when the spec gives none. */
export const DEFAULT_SOURCE_PORT = 49152;
const IPV4_HEADER = 20;
/** Header bytes after the IPv4 header, by protocol (later fragments carry none). */
function l4HeaderLen(proto: number): number {
  return proto === IPPROTO_TCP ? 20 : proto === IPPROTO_UDP || proto === IPPROTO_ICMP ? 8 : 0;
}
/** Default total lengths: a bare SYN, a small datagram, ping's 56 data bytes. */
function defaultLength(proto: number): number {
  return proto === IPPROTO_TCP ? 40 : proto === IPPROTO_UDP ? 60 : proto === IPPROTO_ICMP ? 84 : 40;
}

const OPTIONS = 'in, ttl, len, flags, df, frag, offset, type, code, id, tos';

function integer(word: string, what: string, lo: number, hi: number): number {
  if (!/^\d+$/.test(word) || Number(word) < lo || Number(word) > hi) throw new ExplainSpecError(word, `${what} must be a whole number from ${lo} to ${hi}`);
  return Number(word);
}

function address(word: string, side: string, proto: number): { addr: number; port: number | undefined } {
  const m = /^([^:]+)(?::(.*))?$/.exec(word);
  const addr = m === null ? -1 : tryParseIpv4Address(m[1]);
  if (m === null || addr < 0) throw new ExplainSpecError(word, `the ${side} must be an IPv4 address, with :PORT for tcp and udp (e.g. 192.0.2.10:40000)`);
  if (m[2] === undefined) return { addr, port: undefined };
  if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) throw new ExplainSpecError(word, `only tcp and udp have ports (write the ${side} address alone)`);
  // Said apart: "from 1 to 65535" alone reads as if 0 were a typo for something.
  if (/^0+$/.test(m[2])) throw new ExplainSpecError(m[2], `the ${side} port must be 1-65535 (port 0 is reserved, RFC 6335: no socket sends from or to it)`);
  return { addr, port: integer(m[2], `the ${side} port`, 1, 65535) };
}

function tcpFlags(word: string): number {
  if (word === 'none' || word === '.') return 0;
  let f = 0;
  for (const c of word.toUpperCase()) {
    const bit = TCP_FLAG_LETTERS.indexOf(c);
    if (bit < 0) throw new ExplainSpecError(word, `TCP flags are letters of ${TCP_FLAG_LETTERS} (F fin, S syn, R rst, P psh, A ack, U urg, E ece, C cwr) or "none"`);
    f |= 1 << bit;
  }
  return f;
}

/** "SA" for SYN|ACK (the letters tcpdump prints, in FSRPAUEC order; "none" for 0). */
export function tcpFlagsText(flags: number): string {
  let s = '';
  for (let i = 0; i < 8; i++) if ((flags >> i) & 1) s += TCP_FLAG_LETTERS[i];
  return s === '' ? 'none' : s;
}

/**
 * Parses an explain spec against the config's port names, or 'any' to check
 * the syntax alone (ctl, which does not know the running dataplane's ports:
 * any name is taken as port 0, and the dataplane checks it); throws
 * ExplainSpecError naming the word at fault.
 */
export function parseExplainSpec(text: string, portNames: readonly string[] | 'any'): ExplainSpec {
  // "->" as firewall --judge writes it is taken too.
  const words = text.replace(/->|>/g, ' > ').trim().split(/\s+/).filter((w) => w !== '');
  let i = 0;
  const next = (what: string): string => {
    const w = words[i++];
    if (w === undefined) throw new ExplainSpecError('', `${what} is missing (the form is "PROTO SRC[:PORT] > DST[:PORT] in PORT [options]", e.g. "tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan")`);
    return w;
  };
  const protoWord = next('the protocol').toLowerCase();
  const protocol = PROTOCOLS[protoWord] ?? (/^\d+$/.test(protoWord) ? integer(protoWord, 'a protocol number', 0, 255) : undefined);
  if (protocol === undefined) throw new ExplainSpecError(protoWord, 'not a protocol: tcp, udp, icmp or a number 0-255');
  let icmpType: number | undefined;
  if (protocol === IPPROTO_ICMP && ICMP_TYPES[words[i]?.toLowerCase() ?? ''] !== undefined) icmpType = ICMP_TYPES[next('').toLowerCase()];
  const src = address(next('the source address'), 'source', protocol);
  const arrow = next('">" between the source and the destination');
  if (arrow !== '>') throw new ExplainSpecError(arrow, 'expected ">" between the source and the destination');
  const dst = address(next('the destination address'), 'destination', protocol);
  if ((protocol === IPPROTO_TCP || protocol === IPPROTO_UDP) && dst.port === undefined) {
    throw new ExplainSpecError(words[i - 1], `${protoWord} needs a destination port (DST:PORT)`);
  }
  const seen = new Set<string>();
  const opt: { inPort?: number; inPortName?: string; ttl?: number; len?: number; flags?: number; df?: boolean; mf?: boolean; offset?: number; type?: number; code?: number; id?: number; tos?: number } = {};
  while (i < words.length) {
    const key = words[i++].toLowerCase();
    if (seen.has(key)) throw new ExplainSpecError(key, 'given twice');
    seen.add(key);
    switch (key) {
      case 'in': {
        const name = next('the port name after "in"');
        const p = portNames === 'any' ? 0 : portNames.indexOf(name);
        if (portNames !== 'any' && p < 0) throw new ExplainSpecError(name, `not a port of the config (ports: ${portNames.join(', ')})`);
        opt.inPort = p;
        opt.inPortName = name;
        break;
      }
      case 'ttl':
        opt.ttl = integer(next('the TTL after "ttl"'), 'ttl', 0, 255);
        break;
      case 'tos':
        opt.tos = integer(next('the TOS byte after "tos"'), 'tos', 0, 255);
        break;
      case 'len':
      case 'length':
        opt.len = integer(next('the length after "len"'), 'len (the IPv4 total length)', IPV4_HEADER, 65535);
        break;
      case 'flags':
        if (protocol !== IPPROTO_TCP) throw new ExplainSpecError(key, 'only tcp has flags');
        opt.flags = tcpFlags(next('the TCP flags after "flags"'));
        break;
      case 'df':
        opt.df = true;
        break;
      case 'frag':
      case 'mf':
        opt.mf = true;
        break;
      case 'offset': {
        const w = next('the fragment offset after "offset"');
        const n = integer(w, 'offset (bytes)', 0, 65528);
        if (n % 8 !== 0) throw new ExplainSpecError(w, 'a fragment offset is a multiple of 8 bytes');
        opt.offset = n;
        break;
      }
      case 'type': {
        if (protocol !== IPPROTO_ICMP) throw new ExplainSpecError(key, 'only icmp has a type');
        const w = next('the ICMP type after "type"');
        opt.type = ICMP_TYPES[w.toLowerCase()] ?? integer(w, `the ICMP type (a number or ${Object.keys(ICMP_TYPES).join(', ')})`, 0, 255);
        break;
      }
      case 'code':
        if (protocol !== IPPROTO_ICMP) throw new ExplainSpecError(key, 'only icmp has a code');
        opt.code = integer(next('the ICMP code after "code"'), 'code', 0, 255);
        break;
      case 'id':
        if (protocol !== IPPROTO_ICMP) throw new ExplainSpecError(key, 'only icmp has a query id');
        opt.id = integer(next('the ICMP id after "id"'), 'id', 0, 65535);
        break;
      default:
        throw new ExplainSpecError(words[i - 1], `not an option (options: ${OPTIONS})`);
    }
  }
  if (opt.inPort === undefined || opt.inPortName === undefined) throw new ExplainSpecError('', `say which port the packet arrives on: "in PORT"${portNames === 'any' ? '' : ` (ports: ${portNames.join(', ')})`}`);
  if (icmpType !== undefined && opt.type !== undefined) throw new ExplainSpecError('type', 'the ICMP type is given twice (after "icmp" and as "type")');
  const offset = opt.offset ?? 0;
  const min = IPV4_HEADER + (offset > 0 ? 1 : l4HeaderLen(protocol));
  const length = opt.len ?? Math.max(defaultLength(protocol), min);
  if (length < min) throw new ExplainSpecError(String(length), `len is below the ${min} bytes of the headers`);
  if (offset + length - IPV4_HEADER > 65535) throw new ExplainSpecError(String(opt.offset), 'offset and len reach past 65535 bytes');
  return {
    protocol,
    src: src.addr,
    dst: dst.addr,
    sport: protocol === IPPROTO_TCP || protocol === IPPROTO_UDP ? (src.port ?? DEFAULT_SOURCE_PORT) : 0,
    dport: dst.port ?? 0,
    inPort: opt.inPort,
    inPortName: opt.inPortName,
    ttl: opt.ttl ?? 64,
    tos: opt.tos ?? 0,
    length,
    df: opt.df ?? false,
    mf: opt.mf ?? false,
    fragmentOffset: offset,
    tcpFlags: opt.flags ?? 0x02,
    icmpType: icmpType ?? opt.type ?? 8,
    icmpCode: opt.code ?? 0,
    icmpId: opt.id ?? 1,
  };
}

/** The spec written out whole, defaults included: "tcp 192.0.2.10:49152 > 203.0.113.10:80 in lan flags S ttl 64 len 40". */
export function specText(s: ExplainSpec): string {
  const name = Object.entries(PROTOCOLS).find(([, n]) => n === s.protocol)?.[0] ?? String(s.protocol);
  const ports = s.protocol === IPPROTO_TCP || s.protocol === IPPROTO_UDP;
  const end = (a: number, p: number) => `${ipv4ToString(a)}${ports ? `:${p}` : ''}`;
  const icmpName = Object.entries(ICMP_TYPES).find(([, t]) => t === s.icmpType)?.[0];
  const words = [name];
  if (s.protocol === IPPROTO_ICMP) words.push(icmpName ?? `type ${s.icmpType}`);
  words.push(end(s.src, s.sport), '>', end(s.dst, s.dport), 'in', s.inPortName);
  if (s.protocol === IPPROTO_TCP) words.push('flags', tcpFlagsText(s.tcpFlags));
  if (s.protocol === IPPROTO_ICMP) {
    if (s.icmpCode !== 0) words.push('code', String(s.icmpCode));
    words.push('id', String(s.icmpId));
  }
  words.push('ttl', String(s.ttl), 'len', String(s.length));
  if (s.tos !== 0) words.push('tos', String(s.tos));
  if (s.df) words.push('df');
  if (s.mf) words.push('frag');
  if (s.fragmentOffset !== 0) words.push('offset', String(s.fragmentOffset));
  return words.join(' ');
}
