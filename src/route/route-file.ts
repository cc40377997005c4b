// Routes files: one route per line, as iproute2 writes them.
//
//   PREFIX via ADDR [dev PORT]     (or dev PORT via ADDR)
//   PREFIX dev PORT
//   PREFIX blackhole | unreachable | prohibit   (or the type first: "blackhole PREFIX")
//
// PREFIX is A.B.C.D/LEN, A.B.C.D (a /32) or `default` (0.0.0.0/0). `#` starts
// a comment; blank lines are skipped. A prefix with host bits set
// (10.1.0.0/8) is rejected by default, as iproute2 rejects it ("Invalid prefix
// for given prefix length"); `hostBits: 'mask'` accepts it as its network
// (10.0.0.0/8) and records a warning instead. A later line for the same prefix
// replaces the earlier one, as `ip route replace` would.
//
// Errors are values naming the line and the reason; parsing never throws. The
// scanner walks character codes and only slices out port names, so a
// BGP-sized file parses at millions of lines per second.

import { readFileSync } from 'node:fs';
import type { Lpm } from './lpm.js';
import { formatPrefix, isCanonicalPrefix, parseIpv4Range, prefixMask } from './prefix.js';
import { TargetTable, type RouteEntry, type RouteKind } from './route-kind.js';

export interface RouteFileIssue {
  line: number;
  message: string;
}

export interface ParseOptions {
  /** 'reject' (default, like iproute2) or 'mask' (use the network, warn). */
  hostBits?: 'reject' | 'mask';
  /** Errors kept in the result (all are counted). Default 100. */
  maxErrors?: number;
}

export interface ParsedRoutes {
  routes: RouteEntry[];
  errors: RouteFileIssue[];
  /** All bad lines, including those beyond maxErrors. */
  errorCount: number;
  warnings: RouteFileIssue[];
}

const TYPES: readonly RouteKind[] = ['blackhole', 'unreachable', 'prohibit'];

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

/** Splits s[start, end) into token ranges; returns the count written to `bounds` (start, end pairs). */
function tokenize(s: string, start: number, end: number, bounds: number[]): number {
  let n = 0;
  let i = start;
  while (i < end) {
    while (i < end && isSpace(s.charCodeAt(i))) i++;
    if (i >= end) break;
    const t = i;
    while (i < end && !isSpace(s.charCodeAt(i))) i++;
    bounds[2 * n] = t;
    bounds[2 * n + 1] = i;
    n++;
  }
  return n;
}

function tokenIs(s: string, start: number, end: number, word: string): boolean {
  return end - start === word.length && s.startsWith(word, start);
}

function typeOf(s: string, start: number, end: number): RouteKind | undefined {
  for (const t of TYPES) if (tokenIs(s, start, end, t)) return t;
  return undefined;
}

/** Parses a prefix token; returns [prefix, len] or an error message. */
function parsePrefix(s: string, start: number, end: number): [number, number] | string {
  if (tokenIs(s, start, end, 'default')) return [0, 0];
  const tok = s.slice(start, end);
  let slash = s.indexOf('/', start);
  if (slash < 0 || slash >= end) slash = end;
  const addr = parseIpv4Range(s, start, slash);
  if (addr < 0) return `bad prefix "${tok}": expected A.B.C.D/LEN, A.B.C.D or default`;
  if (slash === end) return [addr, 32];
  let len = 0;
  const digits = end - slash - 1;
  for (let i = slash + 1; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return `bad prefix length in "${tok}": expected 0-32`;
    len = len * 10 + (c - 48);
  }
  if (digits < 1 || digits > 2 || len > 32) return `bad prefix length in "${tok}": expected 0-32`;
  return [addr, len];
}

const scratch: number[] = [];

/**
 * Parses one line (comment already stripped, not blank). Returns the route or
 * an error message; `onMask` is called when host bits were masked off.
 */
export function parseRouteLine(text: string, start = 0, end = text.length, opts: ParseOptions = {}, onMask?: (msg: string) => void): Omit<RouteEntry, 'line'> | string {
  const b = scratch;
  const n = tokenize(text, start, end, b);
  if (n === 0) return 'empty route';
  let k = 0;
  let kind: RouteKind | undefined = typeOf(text, b[0], b[1]);
  if (kind !== undefined) k++;
  if (k >= n) return `"${kind}" needs a prefix`;
  const p = parsePrefix(text, b[2 * k], b[2 * k + 1]);
  if (typeof p === 'string') return p;
  let prefix = p[0];
  const len = p[1];
  k++;
  if (!isCanonicalPrefix(prefix, len)) {
    const network = (prefix & prefixMask(len)) >>> 0;
    const given = text.slice(b[2 * k - 2], b[2 * k - 1]);
    if (opts.hostBits !== 'mask') {
      return `invalid prefix for given prefix length: ${given} has host bits set (the network is ${formatPrefix(network, len)})`;
    }
    onMask?.(`${given} has host bits set; using ${formatPrefix(network, len)}`);
    prefix = network;
  }
  let gateway = -1;
  let port: string | undefined;
  for (; k < n; k++) {
    const ts = b[2 * k];
    const te = b[2 * k + 1];
    const asType = typeOf(text, ts, te);
    if (asType !== undefined) {
      if (kind !== undefined) return `"${asType}" after "${kind}": a route has one type`;
      kind = asType;
      continue;
    }
    const isVia = tokenIs(text, ts, te, 'via');
    if (!isVia && !tokenIs(text, ts, te, 'dev')) {
      return `unknown keyword "${text.slice(ts, te)}" (expected via, dev, blackhole, unreachable or prohibit)`;
    }
    const word = isVia ? 'via' : 'dev';
    if (k + 1 >= n) return `"${word}" needs ${isVia ? 'an IPv4 address' : 'a port name'}`;
    k++;
    const vs = b[2 * k];
    const ve = b[2 * k + 1];
    if (isVia) {
      if (gateway >= 0) return '"via" given twice';
      gateway = parseIpv4Range(text, vs, ve);
      if (gateway < 0) return `via "${text.slice(vs, ve)}" is not an IPv4 address`;
      if (gateway === 0) return 'via 0.0.0.0 is not a usable gateway';
    } else {
      if (port !== undefined) return '"dev" given twice';
      port = text.slice(vs, ve);
    }
  }
  if (kind !== undefined) {
    if (gateway >= 0 || port !== undefined) return `a ${kind} route takes no "via" or "dev"`;
    return { prefix, len, target: { kind, gateway: 0, port: '' } };
  }
  if (gateway >= 0) return { prefix, len, target: { kind: 'via', gateway, port: port ?? '' } };
  if (port !== undefined) return { prefix, len, target: { kind: 'dev', gateway: 0, port } };
  return `${formatPrefix(prefix, len)} needs a target: via ADDR, dev PORT, blackhole, unreachable or prohibit`;
}

/** Parses a whole routes file's text. */
export function parseRouteText(text: string, opts: ParseOptions = {}): ParsedRoutes {
  const maxErrors = opts.maxErrors ?? 100;
  const out: ParsedRoutes = { routes: [], errors: [], errorCount: 0, warnings: [] };
  let lineNo = 0;
  let pos = 0;
  const length = text.length;
  // The next '#' at or after pos, found once and reused (searching per line would be quadratic).
  let hash = text.indexOf('#');
  while (pos < length) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = length;
    lineNo++;
    if (hash >= 0 && hash < pos) hash = text.indexOf('#', pos);
    const end = hash >= 0 && hash < eol ? hash : eol;
    let s = pos;
    while (s < end && isSpace(text.charCodeAt(s))) s++;
    if (s < end) {
      const line = lineNo;
      const r = parseRouteLine(text, s, end, opts, (msg) => out.warnings.push({ line, message: msg }));
      if (typeof r === 'string') {
        if (out.errorCount++ < maxErrors) out.errors.push({ line, message: r });
      } else {
        out.routes.push({ prefix: r.prefix, len: r.len, target: r.target, line });
      }
    }
    pos = eol + 1;
  }
  return out;
}

/** "NAME:LINE: message" lines for a person. */
export function formatIssues(name: string, issues: readonly RouteFileIssue[], total = issues.length): string {
  const lines = issues.map((e) => `${name}:${e.line}: ${e.message}`);
  if (total > issues.length) lines.push(`${name}: ${total - issues.length} more error(s) not shown`);
  return lines.join('\n');
}

export interface LoadResult {
  /** Prefixes that were new to the LPM. */
  added: number;
  /** Prefixes already present whose next hop was replaced (including repeats in the file). */
  replaced: number;
  targets: TargetTable;
}

/** Installs parsed routes into `lpm`, interning their targets as next-hop indexes. */
export function loadRoutes(lpm: Lpm, routes: readonly RouteEntry[], targets = new TargetTable()): LoadResult {
  let added = 0;
  let replaced = 0;
  for (const r of routes) {
    if (lpm.insert(r.prefix, r.len, targets.intern(r.target))) added++;
    else replaced++;
  }
  return { added, replaced, targets };
}

/**
 * Reads, parses and installs a routes file. Nothing is installed when any line
 * is bad: the result carries the errors instead.
 */
export function loadRouteFile(path: string, lpm: Lpm, opts: ParseOptions & { targets?: TargetTable } = {}): (LoadResult & { warnings: RouteFileIssue[] }) | { errors: RouteFileIssue[]; errorCount: number; message: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const message = `${path}: cannot read: ${(err as Error).message}`;
    return { errors: [{ line: 0, message }], errorCount: 1, message };
  }
  const parsed = parseRouteText(text, opts);
  if (parsed.errorCount > 0) {
    return { errors: parsed.errors, errorCount: parsed.errorCount, message: formatIssues(path, parsed.errors, parsed.errorCount) };
  }
  return { ...loadRoutes(lpm, parsed.routes, opts.targets), warnings: parsed.warnings };
}
