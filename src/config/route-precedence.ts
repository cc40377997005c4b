// Which configured routes reach the FIB, decided when the config loads so
// that each decision can name its line. One route per prefix:
//
// - A route for the same prefix as a connected one (a port's subnet, its own
//   address, its subnet's broadcast address) is shadowed: the connected
//   route has the lower administrative distance (route/route-source.ts). It
//   is left out, counted (fib/shadowed-routes) and reported with its line.
// - Two routes for one prefix in the config's `routes:` list are an error
//   naming both: a hand-written list should say what it means.
// - In a routes file (a dumped table) the last line for a prefix wins, as
//   with `ip -batch` and `route replace`; the earlier one is left out,
//   counted (config/duplicate-routes) and reported.
// - A prefix in both the `routes:` list and the routes file: the list wins
//   (it is the deliberate override of a bulk table), counted and reported.
//
// Cost: the usual table has no repeated prefix, and finding that out is one
// bit test per route (PrefixBitmap); only a repeated prefix costs more.
import { PrefixBitmap } from '../route/prefix-bitmap.js';
import { formatPrefix } from '../route/prefix.js';
import { ADMIN_DISTANCE, outranks, type RouteSource } from '../route/route-source.js';
import { ipv4ToString } from '../wire/address.js';
import { formatRoute, type RouteSpec } from './routes.js';

/** Counter names (shown beside the packet counters by `replay` and `run`). */
export const SHADOWED_ROUTES = 'fib/shadowed-routes';
export const DUPLICATE_ROUTES = 'config/duplicate-routes';

/** Warning lines kept per kind; the count covers them all. */
const MAX_WARNINGS = 20;

/** What the loader decided on its own: warnings for stderr and their counts. */
export interface ConfigNotices {
  /** "FILE:LINE: what happened and why", at most 20 per kind plus a line saying how many more. */
  warnings: string[];
  /** Non-zero counts only: SHADOWED_ROUTES, DUPLICATE_ROUTES. */
  counters: Record<string, number>;
}

export interface RouteSelection {
  /** The routes to install (the input array itself when nothing was left out). */
  routes: RouteSpec[];
  problems: string[];
  notices: ConfigNotices;
}

/** A prefix the router claims from its port config. */
interface ConnectedClaim {
  prefix: number;
  len: number;
  source: RouteSource;
  what: string;
}

/** What a port claims of the address space: its subnet, its address and the broadcast address. */
interface PortSubnet {
  name: string;
  address: number;
  prefixLen: number;
}

function connectedClaims(ports: readonly PortSubnet[]): ConnectedClaim[] {
  const out: ConnectedClaim[] = [];
  for (const p of ports) {
    const hostBits = p.prefixLen === 32 ? 0 : 0xffffffff >>> p.prefixLen;
    const cidr = `${ipv4ToString(p.address)}/${p.prefixLen}`;
    out.push({ prefix: (p.address & ~hostBits) >>> 0, len: p.prefixLen, source: 'connected', what: `the connected subnet of port "${p.name}" (${cidr})` });
    out.push({ prefix: p.address >>> 0, len: 32, source: 'connected', what: `the address of port "${p.name}" (${cidr})` });
    if (p.prefixLen < 31) out.push({ prefix: (p.address | hostBits) >>> 0, len: 32, source: 'connected', what: `the broadcast address of port "${p.name}" (${cidr})` });
  }
  return out;
}

/**
 * The prefixes connected routes hold, each with why a static route for it is
 * never installed ("the connected subnet of port ... : connected routes win
 * ..."), keyed prefix * 64 + len. The live route API refuses such routes.
 */
export function connectedShadows(ports: readonly PortSubnet[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const c of connectedClaims(ports)) {
    if (outranks(c.source, 'static')) out.set(keyOf(c.prefix, c.len), `${c.what}: ${c.source} routes win (administrative distance ${ADMIN_DISTANCE[c.source]}, static ${ADMIN_DISTANCE.static})`);
  }
  return out;
}

const fromList = (r: RouteSpec): boolean => r.line === undefined;
const keyOf = (prefix: number, len: number): number => (prefix >>> 0) * 64 + len;
const hasHostBits = (r: RouteSpec): boolean => r.len < 32 && (r.prefix & (0xffffffff >>> r.len)) !== 0;

/**
 * Sees every route once, in order (the `routes:` list first, then the routes
 * file), then selects. The loader calls see() from the loop that already
 * checks each route, so a large table is walked once.
 */
export class RouteSelector {
  private readonly claims: ConnectedClaim[];
  private readonly seen = new PrefixBitmap();
  /** Prefixes seen more than once (a connected one counts as seen): undefined while there are none. */
  private repeated: PrefixBitmap | undefined;

  constructor(ports: readonly PortSubnet[]) {
    this.claims = connectedClaims(ports);
    for (const c of this.claims) this.seen.testAndSet(c.prefix, c.len);
  }

  /** One route's prefix (host bits clear). */
  see(prefix: number, len: number): void {
    if (this.seen.testAndSet(prefix, len)) (this.repeated ??= new PrefixBitmap()).testAndSet(prefix, len);
  }

  /**
   * The routes to install, problems and notices, for the routes see() saw (routes with host
   * bits set are passed over). where(r): where a route was written, for messages
   * ("router.yaml:12 (routes[3])", "routes.txt:40").
   */
  select(routes: RouteSpec[], where: (r: RouteSpec) => string): RouteSelection {
    if (this.repeated === undefined) return { routes, problems: [], notices: { warnings: [], counters: {} } };
    return resolveRepeats(this.claims, routes, this.repeated, where);
  }
}

/** The rare path: some prefix is given more than once (or is connected). Decides each one, in file order. */
function resolveRepeats(claims: ConnectedClaim[], routes: RouteSpec[], repeated: PrefixBitmap, where: (r: RouteSpec) => string): RouteSelection {
  // Every route of a repeated prefix, in order: one more pass, only now.
  const groups = new Map<number, number[]>();
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    if (hasHostBits(r) || !repeated.has(r.prefix, r.len)) continue;
    const k = keyOf(r.prefix, r.len);
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [i]);
    else g.push(i);
  }
  const claimOf = new Map<number, ConnectedClaim>();
  for (const c of claims) claimOf.set(keyOf(c.prefix, c.len), c);

  const problems: string[] = [];
  const dropped = new Uint8Array(routes.length);
  const shadowed: number[] = [];
  const replaced: { i: number; text: string }[] = [];
  const shadowText = new Map<number, string>();
  for (const [k, ids] of groups) {
    const claim = claimOf.get(k);
    if (claim !== undefined && outranks(claim.source, 'static')) {
      for (const i of ids) {
        dropped[i] = 1;
        shadowed.push(i);
        shadowText.set(
          i,
          `${where(routes[i])}: ${formatRoute(routes[i])} is shadowed by ${claim.what}: ${claim.source} routes win ` +
            `(administrative distance ${ADMIN_DISTANCE[claim.source]}, static ${ADMIN_DISTANCE.static}); not installed`,
        );
      }
      continue;
    }
    if (ids.length < 2) continue; // a connected claim that does not outrank static would land here
    const prefix = formatPrefix(routes[ids[0]].prefix, routes[ids[0]].len);
    const list = ids.filter((i) => fromList(routes[i]));
    for (const i of list.slice(1)) {
      problems.push(`${routes[i].origin}: duplicate prefix ${prefix}: ${where(routes[i])} and ${where(routes[list[0]])}; give one route per prefix (several next hops: "nexthop via A nexthop via B")`);
    }
    const file = ids.filter((i) => !fromList(routes[i]));
    if (list.length > 0) {
      for (const i of file) {
        dropped[i] = 1;
        replaced.push({ i, text: `${where(routes[i])}: ${prefix} is also in the config's routes (${where(routes[list[0]])}), which wins over the routes file; this line is not used` });
      }
    } else {
      for (let j = 1; j < file.length; j++) {
        dropped[file[j - 1]] = 1;
        replaced.push({ i: file[j], text: `${where(routes[file[j]])}: ${prefix} replaces the route of line ${routes[file[j - 1]].line} (in a routes file the last one wins)` });
      }
    }
  }

  const warnings: string[] = [];
  const counters: Record<string, number> = {};
  const report = (texts: string[], name: string) => {
    if (texts.length === 0) return;
    counters[name] = texts.length;
    warnings.push(...texts.slice(0, MAX_WARNINGS));
    if (texts.length > MAX_WARNINGS) warnings.push(`... and ${texts.length - MAX_WARNINGS} more (${texts.length} in all, counted as ${name})`);
  };
  report(shadowed.sort((a, b) => a - b).map((i) => shadowText.get(i) ?? ''), SHADOWED_ROUTES);
  report(replaced.sort((a, b) => a.i - b.i).map((x) => x.text), DUPLICATE_ROUTES);
  return { routes: routes.filter((_, i) => dropped[i] === 0), problems, notices: { warnings, counters } };
}
