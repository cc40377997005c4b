// The flow filter: which flows or NAT mappings the control plane lists or
// deletes (`ctl flows --filter 'dst 203.0.113.10 and state established'`).
// The words are the trace filter's (src/trace/filter.ts, pcap-filter(7)
// style), over a flow instead of a frame, plus words only a flow has:
//
//   expr     := term { ("and" | "&&" | "or" | "||") term }   ("and" binds tighter)
//   term     := ("not" | "!") term | "(" expr ")" | primitive
//   primitive:= [side] [dir] ("host" ADDR | "net" CIDR | ADDR | CIDR)
//             | [side] [dir] ("port" N | "portrange" N-M) | [side] ("sport" | "dport") N
//             | "tcp" | "udp" | "icmp" | "proto" N
//             | "state" NAME | "nat" | "snat" | "dnat" | "replied" | "unreplied"
//             | "worker" N | "vip" NAME | "backend" ADDR
//   dir      := "src" | "dst"
//   side     := "orig" | "reply"            (flows)
//             | "internal" | "external"     (NAT mappings)
//
// A flow is two tuples: the original (its first packet as it arrived) and
// the reply (the answer as it arrives, after translation), as conntrack -L
// prints them. Without a side, an address or port word asks about the
// flow's packets as they arrived or as they left translated: `dst
// 203.0.113.10` finds flows to that address whether it is their destination
// before DNAT (a VIP) or after; the translated view is the reply tuple
// reversed. `orig` and `reply` ask about one tuple as printed (`reply src`
// is the answering side). ICMP query flows have no ports (their id is
// shown, not matched). `nat`: translated at all; `snat`/`dnat`: the source
// or destination changed. `vip` and `backend`: load-balanced flows.
//
// A NAT mapping (binding) is an internal endpoint and the external one it
// is mapped to; `internal`/`external` pick one, none means either, `src`
// and `dst` do not apply. Words that only make sense for flows are errors
// for mappings, and the reverse, each naming the word and why.
import { parseFilterExpression } from '../pipeline/filter-expression.js';
import { flowStateByName, flowStateName, FlowState } from '../conntrack/timeouts.js';
import { tryParseIpv4Address } from '../wire/address.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';

export class FlowFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlowFilterError';
  }
}

/** No address or port in this place (a mapping has no destination; ICMP has no ports). */
export const NONE = -1;

/**
 * What the filter looks at, filled once per entry. Addresses are unsigned
 * (>>> 0), NONE where absent. Tuple order: src, dst, sport, dport.
 */
export class FlowFields {
  /** 'flow' or 'mapping'. */
  kind: FilterKind = 'flow';
  proto = 0;
  /** Original tuple (a mapping: internal endpoint as source). */
  readonly orig = [NONE, NONE, NONE, NONE];
  /** Reply tuple as printed (a mapping: external endpoint as destination). */
  readonly reply = [NONE, NONE, NONE, NONE];
  state = 0;
  replied = false;
  worker = 0;
  /** Load-balanced flows: the VIP's name and the backend's address; else undefined / NONE. */
  vip: string | undefined = undefined;
  backend = NONE;
}

export type FilterKind = 'flow' | 'mapping';
export type FlowPredicate = (f: FlowFields) => boolean;

export interface FlowFilter {
  readonly text: string;
  readonly kind: FilterKind;
  readonly matches: FlowPredicate;
}

const PROTOCOLS: Record<string, number> = { icmp: IPPROTO_ICMP, tcp: IPPROTO_TCP, udp: IPPROTO_UDP };
const FLOW_ONLY = new Set(['src', 'dst', 'orig', 'reply', 'state', 'nat', 'snat', 'dnat', 'replied', 'unreplied', 'vip', 'backend']);
const MAPPING_ONLY = new Set(['internal', 'external']);
/** States a flow (not a mapping) can be in: what `state` accepts. */
const FLOW_STATES = Object.entries(FlowState)
  .filter(([k, v]) => k !== 'COUNT' && v !== FlowState.HELD && v !== FlowState.UNHELD && v !== FlowState.HELD_DYING && v !== FlowState.FRAGMENT && v !== FlowState.LB_AFFINITY)
  .map(([, v]) => flowStateName(v));

const SRC = 0;
const DST = 1;
const SPORT = 2;
const DPORT = 3;

/**
 * Parses a filter for flows or NAT mappings ("" matches everything). Throws
 * FlowFilterError naming the word, its position and what was expected.
 */
export function parseFlowFilter(text: string, kind: FilterKind = 'flow'): FlowFilter {
  const tokens = text.match(/\(|\)|!|&&|\|\||[^\s()!]+/g) ?? [];
  let pos = 0;
  const what = kind === 'flow' ? 'flow filter' : 'NAT mapping filter';
  const where = () => (pos < tokens.length ? `at '${tokens[pos]}' (word ${pos + 1})` : 'at the end');
  const fail = (expected: string): never => {
    throw new FlowFilterError(`${what} "${text}": ${where()}: expected ${expected}`);
  };
  const reject = (reason: string): never => {
    pos--;
    throw new FlowFilterError(`${what} "${text}": ${where()}: ${reason}`);
  };
  const peek = () => tokens[pos];
  const take = () => tokens[pos++];
  const TERMS = kind === 'flow' ? 'a filter term (host, net, port, src, dst, tcp, udp, icmp, state, nat, vip, ...)' : 'a filter term (host, net, port, internal, external, tcp, udp, icmp, worker)';

  const address = (word: string | undefined, expected: string): { net: number; mask: number } => {
    if (word === undefined) return fail(expected);
    const slash = word.indexOf('/');
    const addr = tryParseIpv4Address(slash < 0 ? word : word.slice(0, slash));
    const len = slash < 0 ? 32 : Number(word.slice(slash + 1));
    if (addr < 0 || !Number.isInteger(len) || len < 0 || len > 32 || (slash >= 0 && word.slice(slash + 1) === '')) {
      pos--;
      return fail(expected);
    }
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    if (((addr & mask) >>> 0) !== addr) reject(`${word} has host bits set below /${len} (a network address is expected)`);
    return { net: addr, mask };
  };

  const number = (word: string | undefined, max: number, expected: string): number => {
    if (word === undefined || !/^\d+$/.test(word) || Number(word) > max) {
      if (word !== undefined) pos--;
      return fail(expected);
    }
    return Number(word);
  };

  /** The tuples a side looks at: orig, reply as printed, or (no side) the packets as they arrived and left. */
  const tuples = (side: string | undefined): ((f: FlowFields) => number[])[] => {
    if (side === 'orig' || side === 'internal') return [(f) => f.orig];
    if (side === 'reply' || side === 'external') return [(f) => f.reply];
    if (kind === 'mapping') return [(f) => f.orig, (f) => f.reply];
    const translated = [NONE, NONE, NONE, NONE];
    return [
      (f) => f.orig,
      (f) => {
        translated[SRC] = f.reply[DST];
        translated[DST] = f.reply[SRC];
        translated[SPORT] = f.reply[DPORT];
        translated[DPORT] = f.reply[SPORT];
        return translated;
      },
    ];
  };

  /** Predicate: some tuple of `side` has a field of `fields` that `test` accepts. */
  const anyField = (side: string | undefined, fields: number[], test: (v: number) => boolean): FlowPredicate => {
    const ts = tuples(side);
    return (f) => ts.some((t) => {
      const tuple = t(f);
      return fields.some((i) => tuple[i] !== NONE && test(tuple[i]));
    });
  };

  const primitive = (): FlowPredicate => {
    const w = take();
    if (w === undefined) return fail(TERMS);
    if (kind === 'mapping' && FLOW_ONLY.has(w)) reject(`'${w}' applies to flows, not NAT mappings (use internal, external, host, port)`);
    if (kind === 'flow' && MAPPING_ONLY.has(w)) reject(`'${w}' applies to NAT mappings, not flows (use orig or reply)`);
    if (w in PROTOCOLS) {
      const p = PROTOCOLS[w];
      return (f) => f.proto === p;
    }
    if (w === 'proto') {
      const n = number(take(), 255, 'a protocol number 0-255');
      return (f) => f.proto === n;
    }
    if (w === 'worker') {
      const n = number(take(), 254, 'a worker number');
      return (f) => f.worker === n;
    }
    if (w === 'state') {
      const name = take();
      const st = name === undefined ? -1 : flowStateByName(name);
      if (st < 0 || !FLOW_STATES.includes(flowStateName(st))) {
        if (name !== undefined) pos--;
        return fail(`a flow state (${FLOW_STATES.join(', ')})`);
      }
      return (f) => (f.state & 63) === st;
    }
    if (w === 'nat') return (f) => f.orig[SRC] !== f.reply[DST] || f.orig[DST] !== f.reply[SRC] || f.orig[SPORT] !== f.reply[DPORT] || f.orig[DPORT] !== f.reply[SPORT];
    if (w === 'snat') return (f) => f.orig[SRC] !== f.reply[DST] || f.orig[SPORT] !== f.reply[DPORT];
    // An ICMP query's id stands in both port halves: for ICMP only the address tells DNAT.
    if (w === 'dnat') return (f) => f.orig[DST] !== f.reply[SRC] || (f.proto !== 1 && f.orig[DPORT] !== f.reply[SPORT]);
    if (w === 'replied') return (f) => f.replied;
    if (w === 'unreplied') return (f) => !f.replied;
    if (w === 'vip') {
      const name = take();
      if (name === undefined || name === '(' || name === ')') {
        if (name !== undefined) pos--;
        return fail("a VIP's name");
      }
      return (f) => f.vip === name;
    }
    if (w === 'backend') {
      const { net, mask } = address(take(), "a backend's address");
      return (f) => f.backend !== NONE && ((f.backend & mask) >>> 0) === net;
    }
    let side: string | undefined;
    let dir: string | undefined;
    let word: string | undefined = w;
    if (w === 'orig' || w === 'reply' || w === 'internal' || w === 'external') {
      side = w;
      word = take();
      if (word === undefined) return fail(`src, dst, host, net, port, sport, dport or an address after '${w}'`);
    }
    if (word === 'src' || word === 'dst') {
      if (kind === 'mapping') reject(`'${word}' applies to flows, not NAT mappings (use internal, external, host, port)`);
      dir = word;
      word = take();
      if (word === undefined) return fail(`host, net, port, portrange or an address after '${dir}'`);
    }
    if (word === 'sport' || word === 'dport') {
      if (dir !== undefined) reject(`'${dir} ${word}' says the direction twice (use '${word}' or '${dir} port')`);
      if (kind === 'mapping' && word === 'dport') reject("'dport' applies to flows, not NAT mappings (a mapping has one port per side: use port)");
      const p = number(take(), 65535, 'a port number 0-65535');
      return anyField(side, [word === 'sport' ? SPORT : DPORT], (v) => v === p);
    }
    if (word === 'port' || word === 'portrange') {
      let lo: number;
      let hi: number;
      if (word === 'port') lo = hi = number(take(), 65535, 'a port number 0-65535');
      else {
        const r = take();
        const m = r === undefined ? null : /^(\d+)-(\d+)$/.exec(r);
        if (m === null || Number(m[1]) > 65535 || Number(m[2]) > 65535 || Number(m[1]) > Number(m[2])) {
          if (r !== undefined) pos--;
          return fail('a port range LOW-HIGH within 0-65535');
        }
        lo = Number(m[1]);
        hi = Number(m[2]);
      }
      const fields = dir === 'src' ? [SPORT] : dir === 'dst' ? [DPORT] : [SPORT, DPORT];
      return anyField(side, fields, (v) => v >= lo && v <= hi);
    }
    let target: { net: number; mask: number };
    if (word === 'host') target = address(take(), 'an IPv4 address');
    else if (word === 'net') target = address(take(), 'a network A.B.C.D/LEN');
    else {
      pos--;
      target = address(take(), side !== undefined || dir !== undefined ? `host, net, port, portrange or an address after '${dir ?? side}'` : TERMS);
    }
    const { net, mask } = target;
    const fields = dir === 'src' ? [SRC] : dir === 'dst' ? [DST] : [SRC, DST];
    return anyField(side, fields, (a) => ((a & mask) >>> 0) === net);
  };

  if (tokens.length === 0) return { text, kind, matches: () => true };
  const matches = parseFilterExpression<FlowFields>({ peek, take, back: () => void pos--, fail }, primitive);
  if (pos < tokens.length) fail("'and', 'or' or the end of the filter");
  return { text, kind, matches };
}
