// Route specs and the route line grammar shared by the config's `routes:`
// list and routes files. The grammar follows iproute2 where it can, so lines
// can be pasted from `ip route`:
//
//   PREFIX via ADDR [dev PORT]            gateway route
//   PREFIX dev PORT                       directly reachable out of PORT
//   PREFIX nexthop via A [dev P] [weight W] nexthop via B ...   ECMP
//   PREFIX blackhole | unreachable | prohibit   (or the type first, as iproute2 prints it)
//
// PREFIX is A.B.C.D/LEN, A.B.C.D (a /32) or `default`. `#` starts a comment.
// The kernel's own attributes that `ip route` prints (proto, scope, src,
// metric...) mean nothing here: a line with them is refused, naming them.
// Errors are returned as values (a message naming the token), never thrown.
// A routes file's usual line, "PREFIX via ADDR", is read in place
// (simpleRouteAt); any other goes through the token walk (parseRouteLine).

import { tryParseIpv4Address, tryParseIpv4At } from '../wire/address.js';
import { quoted } from './quoted.js';
import { formatRoute, routeOrigin, type NexthopSpec, type RouteSpec, type RouteType } from '../route/route-spec.js';

export { formatRoute, routeOrigin, type NexthopSpec, type RouteSpec, type RouteType };


const EMPTY_ROUTE = 'empty route';

/** Splits on spaces and tabs without a regular expression (route files are large). */
function tokens(line: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= line.length; i++) {
    const c = i < line.length ? line.charCodeAt(i) : 32;
    const space = c === 32 || c === 9 || c === 13;
    if (space) {
      if (start >= 0) {
        out.push(line.slice(start, i));
        start = -1;
      }
    } else if (start < 0) start = i;
  }
  return out;
}

const TYPES = new Set<string>(['blackhole', 'unreachable', 'prohibit']);

/**
 * What `ip route` prints besides the route itself, with whether a value
 * follows. None means anything to the dataplane: which program installed
 * the route (proto), the kernel's scope of its addresses (scope), the source
 * address the host picks for packets of its own (src), the rank among
 * routes for one prefix (metric: the dataplane keeps one route per prefix),
 * the kernel's table (table: the dataplane has one), a gateway taken as on
 * the link without a subnet (onlink: a gateway must be on a port's subnet),
 * a link's state (linkdown). A line pasted with them is refused, naming
 * each, rather than with "unknown keyword".
 */
const KERNEL_ATTRIBUTES = new Map<string, boolean>([
  ['proto', true],
  ['scope', true],
  ['src', true],
  ['metric', true],
  ['table', true],
  ['onlink', false],
  ['linkdown', false],
]);

function kernelAttributesProblem(found: readonly string[]): string {
  const list = found.map(quoted);
  const names = list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}`;
  return list.length === 1
    ? `${names} is a kernel route attribute (as \`ip route\` prints it) with no meaning here: drop it`
    : `${names} are kernel route attributes (as \`ip route\` prints them) with no meaning here: drop them`;
}

function parsePrefix(tok: string): { prefix: number; len: number } | string {
  if (tok === 'default') return { prefix: 0, len: 0 };
  const slash = tok.indexOf('/');
  const addr = tryParseIpv4Address(slash < 0 ? tok : tok.slice(0, slash));
  if (addr < 0) return `${quoted(tok)} is not an IPv4 prefix (A.B.C.D/LEN)`;
  if (slash < 0) return { prefix: addr, len: 32 };
  const lenText = tok.slice(slash + 1);
  const len = /^\d{1,2}$/.test(lenText) ? Number(lenText) : -1;
  if (len < 0 || len > 32) return `${quoted(tok)} has a bad prefix length (0-32)`;
  return { prefix: addr, len };
}

/** Parses one route line (no comment, not blank) into a spec without origin, or an error message. */
export function parseRouteLine(line: string): Omit<RouteSpec, 'origin'> | string {
  const toks = tokens(line);
  if (toks.length === 0) return EMPTY_ROUTE;
  let type: RouteType = 'unicast';
  let i = 0;
  if (TYPES.has(toks[0])) type = toks[i++] as RouteType;
  if (i >= toks.length) return `"${type}" needs a prefix`;
  const p = parsePrefix(toks[i++]);
  if (typeof p === 'string') return p;
  if (type === 'unicast' && i < toks.length && TYPES.has(toks[i])) type = toks[i++] as RouteType;
  const nexthops: NexthopSpec[] = [];
  let current: NexthopSpec | undefined;
  const fresh = (): NexthopSpec => {
    const n: NexthopSpec = { gateway: 0, port: undefined, weight: 1 };
    nexthops.push(n);
    return n;
  };
  const kernel: string[] = [];
  while (i < toks.length) {
    const key = toks[i++];
    if (key === 'nexthop') {
      current = fresh();
      continue;
    }
    const takesValue = KERNEL_ATTRIBUTES.get(key);
    if (takesValue !== undefined) {
      kernel.push(takesValue && i < toks.length ? `${key} ${toks[i++]}` : key);
      continue;
    }
    if (key !== 'via' && key !== 'dev' && key !== 'weight') return `unknown keyword ${quoted(key)} (expected via, dev, nexthop, weight, blackhole, unreachable or prohibit)`;
    if (i >= toks.length) return `${quoted(key)} needs a value`;
    const value = toks[i++];
    current ??= fresh();
    if (key === 'via') {
      if (current.gateway !== 0) return 'a next hop has two "via"';
      const gw = tryParseIpv4Address(value);
      if (gw < 0 || gw === 0) return `via ${quoted(value)} is not a usable IPv4 address`;
      current.gateway = gw;
    } else if (key === 'dev') {
      if (current.port !== undefined) return 'a next hop has two "dev"';
      current.port = value;
    } else {
      const w = /^\d{1,3}$/.test(value) ? Number(value) : 0;
      if (w < 1 || w > 255) return `weight ${quoted(value)} must be 1-255`;
      current.weight = w;
    }
  }
  if (kernel.length > 0) return kernelAttributesProblem(kernel);
  if (type !== 'unicast' && nexthops.length > 0) return `a ${type} route takes no next hop`;
  if (type === 'unicast' && nexthops.length === 0) return 'needs "via ADDR", "dev PORT", "nexthop ..." or a type (blackhole, unreachable, prohibit)';
  for (const n of nexthops) if (n.gateway === 0 && n.port === undefined) return 'a next hop needs "via" or "dev"';
  return { prefix: p.prefix, len: p.len, type, nexthops };
}

/** Parses a routes file: every line, collecting at most 20 errors (each "FILE:LINE: message"). */
/** Errors of one routes file shown in full; the rest are counted. */
const MAX_ERRORS_SHOWN = 20;
/** No route line is this long: a longer one means the file is something else. */
export const MAX_ROUTE_LINE = 4096;

/** What simpleRouteAt() read of its line. */
let simplePrefix = 0;
let simpleLen = 0;
let simpleGateway = 0;

const isBlank = (c: number) => c === 32 || c === 9 || c === 13;

/**
 * The usual line of a large routes file, "A.B.C.D[/LEN] via A.B.C.D" (blanks
 * around the tokens, a comment after), read in place: true and
 * simplePrefix/Len/Gateway set, or false for any other line, which
 * parseRouteLine then reads (the same result for every line this takes;
 * test/config/routes-file.test.ts checks both on many lines). A line through parseRouteLine
 * made ~10 objects (its slice, the tokens, the prefix); 694k of them took
 * 1.2-1.8 s of parsing and collection.
 */
function simpleRouteAt(text: string, pos: number, end: number): boolean {
  let i = pos;
  while (i < end && isBlank(text.charCodeAt(i))) i++;
  // The prefix: address, then an optional "/LEN" of one or two digits.
  const a0 = i;
  while (i < end && text.charCodeAt(i) !== 0x2f && !isBlank(text.charCodeAt(i))) i++;
  const prefix = tryParseIpv4At(text, a0, i);
  if (prefix < 0) return false;
  let len = 32;
  if (i < end && text.charCodeAt(i) === 0x2f) {
    const l0 = ++i;
    while (i < end && !isBlank(text.charCodeAt(i))) i++;
    const n = i - l0;
    if (n < 1 || n > 2) return false;
    const d0 = text.charCodeAt(l0) - 0x30;
    const d1 = n === 2 ? text.charCodeAt(l0 + 1) - 0x30 : 0;
    if (d0 < 0 || d0 > 9 || d1 < 0 || d1 > 9) return false;
    len = n === 2 ? d0 * 10 + d1 : d0;
    if (len > 32) return false;
  }
  // Blanks, "via", blanks.
  const b0 = i;
  while (i < end && isBlank(text.charCodeAt(i))) i++;
  if (i === b0 || i + 3 >= end || text.charCodeAt(i) !== 0x76 || text.charCodeAt(i + 1) !== 0x69 || text.charCodeAt(i + 2) !== 0x61) return false;
  i += 3;
  const b1 = i;
  while (i < end && isBlank(text.charCodeAt(i))) i++;
  if (i === b1) return false;
  // The gateway, then only blanks or a comment.
  const g0 = i;
  while (i < end && !isBlank(text.charCodeAt(i)) && text.charCodeAt(i) !== 0x23) i++;
  const gateway = tryParseIpv4At(text, g0, i);
  if (gateway <= 0) return false;
  while (i < end && isBlank(text.charCodeAt(i))) i++;
  if (i < end && text.charCodeAt(i) !== 0x23) return false;
  simplePrefix = prefix;
  simpleLen = len;
  simpleGateway = gateway;
  return true;
}

export function parseRoutesText(text: string, name: string): { routes: RouteSpec[]; errors: string[] } {
  const routes: RouteSpec[] = [];
  const errors: string[] = [];
  let hidden = 0;
  const error = (message: string) => {
    if (errors.length < MAX_ERRORS_SHOWN) errors.push(message);
    else hidden++;
  };
  let lineNo = 0;
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    lineNo++;
    if (end - pos > MAX_ROUTE_LINE) {
      error(`${name}:${lineNo}: line longer than ${MAX_ROUTE_LINE} characters (not a routes file?)`);
      pos = end + 1;
      continue;
    }
    if (simpleRouteAt(text, pos, end)) {
      pos = end + 1;
      routes.push({ prefix: simplePrefix, len: simpleLen, type: 'unicast', nexthops: [{ gateway: simpleGateway, port: undefined, weight: 1 }], origin: name, line: lineNo });
      continue;
    }
    let line = text.slice(pos, end);
    pos = end + 1;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    const res = parseRouteLine(line);
    if (res === EMPTY_ROUTE) continue;
    if (typeof res === 'string') error(`${name}:${lineNo}: ${res}`);
    else routes.push({ prefix: res.prefix, len: res.len, type: res.type, nexthops: res.nexthops, origin: name, line: lineNo });
  }
  if (hidden > 0) errors.push(`${name}: and ${hidden} more error${hidden === 1 ? '' : 's'} like these`);
  return { routes, errors };
}
