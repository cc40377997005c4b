// The checks one route must pass against the router's ports, shared by the
// config loader and the live route API (src/runtime/route-control.ts): the
// prefix has no host bits, a `dev` names a port, and a gateway is a host
// (never its subnet's network or broadcast address). Whether the gateway is
// on a connected subnet is the FIB builder's check (route/fib-build.ts).
import { ipv4ToString } from '../wire/address.js';
import { quoted } from './quoted.js';
import { routeOrigin, type RouteSpec } from './routes.js';

export interface RouteCheckPort {
  name: string;
  address: number;
  prefixLen: number;
}

/** A problem with one field of a route: `field` is "prefix", "dev" or "via". */
export interface RouteProblem {
  field: 'prefix' | 'dev' | 'via';
  message: string;
}

function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/**
 * The problems of route `r`. `portKnown(name)` says whether a port exists;
 * a port that exists but failed its own checks can answer "known" so the
 * route is not blamed for it (the loader does).
 */
export function routeProblems(r: Pick<RouteSpec, 'prefix' | 'len' | 'nexthops'>, ports: readonly RouteCheckPort[], portKnown: (name: string) => boolean): RouteProblem[] {
  const out: RouteProblem[] = [];
  if ((r.prefix & ~maskOf(r.len)) !== 0) out.push({ field: 'prefix', message: `prefix has host bits set for /${r.len} (did you mean the network address?)` });
  for (const n of r.nexthops) {
    if (n.port !== undefined && !portKnown(n.port)) {
      out.push({ field: 'dev', message: `dev ${quoted(n.port)} is not a configured port` });
      continue;
    }
    if (n.gateway === 0) continue;
    for (const p of ports) {
      if (p.prefixLen >= 31) continue;
      const m = maskOf(p.prefixLen);
      if (((n.gateway & m) >>> 0) !== ((p.address & m) >>> 0)) continue;
      const host = (n.gateway & ~m) >>> 0;
      if (host === 0 || host === (~m >>> 0)) {
        out.push({ field: 'via', message: `gateway ${ipv4ToString(n.gateway)} is the ${host === 0 ? 'network' : 'broadcast'} address of port "${p.name}"'s subnet ${ipv4ToString(p.address & m)}/${p.prefixLen}` });
      }
    }
  }
  return out;
}

/**
 * A route object with `nexthops` and also `via` or `dev` (which would be
 * dropped without a word): the problem, or undefined. The loader and the
 * route API both ask before routeFromObject.
 */
export function mixedNexthopProblem(r: { via?: string; dev?: string; nexthops?: readonly unknown[] }): string | undefined {
  if (r.nexthops === undefined || (r.via === undefined && r.dev === undefined)) return undefined;
  return `give either ${r.via !== undefined && r.dev !== undefined ? '"via"/"dev"' : r.via !== undefined ? '"via"' : '"dev"'} or "nexthops", not both (each next hop of nexthops takes its own via and dev)`;
}

/** routeProblems as the loader words them: "ORIGIN: message". */
export function routeProblemLines(r: RouteSpec, ports: readonly RouteCheckPort[], portKnown: (name: string) => boolean): string[] {
  return routeProblems(r, ports, portKnown).map((p) => `${routeOrigin(r)}: ${p.message}`);
}
