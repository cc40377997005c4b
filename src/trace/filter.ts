// The trace filter: a small expression language, in the spirit of
// pcap-filter(7), that picks which received packets are traced.
//
//   expr     := term { ("and" | "&&" | "or" | "||") term }   ("and" binds tighter)
//   term     := ("not" | "!") term | "(" expr ")" | primitive
//   primitive:= "in" PORT
//             | [dir] "host" ADDR | [dir] "net" CIDR | [dir] ADDR | [dir] CIDR
//             | [dir] "port" N | [dir] "portrange" N-M
//             | "tcp" | "udp" | "icmp" | "ip" | "arp" | "proto" N
//   dir      := "src" | "dst"          (none: either)
//
// Examples: `src 192.0.2.0/24 and udp and dst port 53`, `in lan`,
// `icmp or (tcp and port 80)`, `not arp`.
//
// Parsing happens once; the result is a predicate over a received frame. It
// reads the frame's headers itself (the pipeline has not run yet), with
// bounds checks, so any frame, however short or malformed, gives an answer.
import { parseFilterExpression } from '../pipeline/filter-expression.js';
import { ETH_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../wire/ethernet.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { tryParseIpv4Address } from '../wire/address.js';

export class TraceFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceFilterError';
  }
}

/** The fields of a frame the filter looks at, read once per frame. */
export class FrameFields {
  rxPort = 0;
  isArp = false;
  isIp = false;
  src = 0;
  dst = 0;
  proto = -1;
  /** -1 when the packet has no ports (not TCP/UDP, a later fragment, or cut short). */
  sport = -1;
  dport = -1;

  read(b: Uint8Array, start: number, length: number, rxPort: number): this {
    this.rxPort = rxPort;
    this.isArp = this.isIp = false;
    this.proto = this.sport = this.dport = -1;
    if (length < ETH_HEADER_LEN) return this;
    const type = (b[start + 12] << 8) | b[start + 13];
    if (type === ETHERTYPE_ARP) this.isArp = true;
    if (type !== ETHERTYPE_IPV4) return this;
    const o = start + ETH_HEADER_LEN;
    const end = start + length;
    if (o + 20 > end || b[o] >> 4 !== 4) return this;
    this.isIp = true;
    this.src = ((b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]) >>> 0;
    this.dst = ((b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19]) >>> 0;
    this.proto = b[o + 9];
    const l4 = o + ((b[o] & 0x0f) << 2);
    const firstFragment = ((b[o + 6] & 0x1f) | b[o + 7]) === 0;
    if ((this.proto === IPPROTO_TCP || this.proto === IPPROTO_UDP) && firstFragment && l4 + 4 <= end) {
      this.sport = (b[l4] << 8) | b[l4 + 1];
      this.dport = (b[l4 + 2] << 8) | b[l4 + 3];
    }
    return this;
  }
}

export type TracePredicate = (f: FrameFields) => boolean;

export interface TraceFilter {
  /** The expression as given ("" matches every packet). */
  readonly text: string;
  readonly matches: TracePredicate;
}

const PROTOCOLS: Record<string, number> = { icmp: IPPROTO_ICMP, tcp: IPPROTO_TCP, udp: IPPROTO_UDP };

/**
 * Parses a filter expression; `ports` are the names `in PORT` may use, or
 * 'any' to check the syntax alone (ctl, which does not know the running
 * dataplane's ports: any name is taken, and the dataplane checks it). Throws
 * TraceFilterError naming the word and what was expected.
 */
export function parseTraceFilter(text: string, ports: readonly string[] | 'any'): TraceFilter {
  const tokens = text.match(/\(|\)|!|&&|\|\||[^\s()!]+/g) ?? [];
  let pos = 0;
  const where = () => (pos < tokens.length ? `at '${tokens[pos]}' (word ${pos + 1})` : 'at the end');
  const fail = (expected: string): never => {
    throw new TraceFilterError(`trace filter "${text}": ${where()}: expected ${expected}`);
  };
  const peek = () => tokens[pos];
  const take = () => tokens[pos++];

  const address = (word: string | undefined, what: string): { net: number; mask: number } => {
    if (word === undefined) return fail(what);
    const slash = word.indexOf('/');
    const addr = tryParseIpv4Address(slash < 0 ? word : word.slice(0, slash));
    const len = slash < 0 ? 32 : Number(word.slice(slash + 1));
    if (addr < 0 || !Number.isInteger(len) || len < 0 || len > 32 || (slash >= 0 && word.slice(slash + 1) === '')) {
      pos--;
      return fail(what);
    }
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    if (((addr & mask) >>> 0) !== addr) {
      pos--;
      fail(`a network address (${word} has host bits set below /${len})`);
    }
    return { net: addr, mask };
  };

  const portNumber = (word: string | undefined): number => {
    const n = Number(word);
    if (word === undefined || !/^\d+$/.test(word) || n > 65535) {
      if (word !== undefined) pos--;
      return fail('a port number 0-65535');
    }
    return n;
  };

  const primitive = (): TracePredicate => {
    const w = take();
    if (w === undefined) return fail('a filter term (in PORT, host, net, port, tcp, udp, icmp, ...)');
    if (w === 'in') {
      const name = take();
      const port = name === undefined ? -1 : ports === 'any' ? (/^[\w.-]+$/.test(name) ? 0 : -1) : ports.indexOf(name);
      if (port < 0) {
        if (name !== undefined) pos--;
        return fail(ports === 'any' ? 'a port name' : `a port name (${ports.join(', ')})`);
      }
      return (f) => f.rxPort === port;
    }
    if (w in PROTOCOLS) {
      const p = PROTOCOLS[w];
      return (f) => f.proto === p;
    }
    if (w === 'ip') return (f) => f.isIp;
    if (w === 'arp') return (f) => f.isArp;
    if (w === 'proto') {
      const word = take();
      const n = Number(word);
      if (word === undefined || !/^\d+$/.test(word) || n > 255) {
        if (word !== undefined) pos--;
        return fail('a protocol number 0-255');
      }
      return (f) => f.proto === n;
    }
    let dir: 'src' | 'dst' | undefined;
    let kind = w;
    if (w === 'src' || w === 'dst') {
      dir = w;
      const next = take();
      if (next === undefined) return fail('host, net, port, portrange or an address after ' + w);
      kind = next;
    }
    if (kind === 'port' || kind === 'portrange') {
      let lo: number;
      let hi: number;
      if (kind === 'port') lo = hi = portNumber(take());
      else {
        const word = take();
        const m = word === undefined ? null : /^(\d+)-(\d+)$/.exec(word);
        if (m === null || Number(m[1]) > 65535 || Number(m[2]) > 65535 || Number(m[1]) > Number(m[2])) {
          if (word !== undefined) pos--;
          return fail('a port range LOW-HIGH within 0-65535');
        }
        lo = Number(m[1]);
        hi = Number(m[2]);
      }
      const inRange = (p: number) => p >= lo && p <= hi;
      if (dir === 'src') return (f) => f.sport >= 0 && inRange(f.sport);
      if (dir === 'dst') return (f) => f.dport >= 0 && inRange(f.dport);
      return (f) => f.sport >= 0 && (inRange(f.sport) || inRange(f.dport));
    }
    let target: { net: number; mask: number };
    if (kind === 'host') target = address(take(), 'an IPv4 address');
    else if (kind === 'net') target = address(take(), 'a network A.B.C.D/LEN');
    else {
      pos--;
      target = address(take(), dir ? 'host, net, port, portrange or an address after ' + dir : 'a filter term (in PORT, host, net, port, tcp, udp, icmp, ...)');
    }
    const { net, mask } = target;
    const match = (a: number) => ((a & mask) >>> 0) === net;
    if (dir === 'src') return (f) => f.isIp && match(f.src);
    if (dir === 'dst') return (f) => f.isIp && match(f.dst);
    return (f) => f.isIp && (match(f.src) || match(f.dst));
  };

  if (tokens.length === 0) return { text, matches: () => true };
  const matches = parseFilterExpression<FrameFields>({ peek, take, back: () => void pos--, fail }, primitive);
  if (pos < tokens.length) fail("'and', 'or' or the end of the filter");
  return { text, matches };
}
