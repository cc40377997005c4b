// Builds the forwarding tables from a checked config: the next-hop table and
// the LPM from prefixes to next-hop indexes. Different prefixes are decided
// by longest-prefix match; for the same prefix the route of the source with
// the lowest administrative distance (route-source.ts) is the one installed:
// the router's own addresses (local, /32), its subnets' broadcast addresses
// and its connected subnets before any configured route, so no route can
// hide them. The config loader already leaves shadowed routes out and
// reports them; the install order here keeps that true for any config.
import { routeOrigin, type RouteSpec } from './route-spec.js';
import { ipv4ToString } from '../wire/address.js';
import { NexthopKind, NexthopTable } from './nexthops.js';
import { sourcesByFallingDistance, type RouteSource } from './route-source.js';

/** The LPM operations the builder needs; the data plane's trie implements them. */
export interface LpmWriter {
  insert(prefix: number, len: number, value: number): void;
  lookup(addr: number): number;
}

/**
 * What the FIB is built from: the router's ports (their connected subnets
 * and own addresses) and its routes. The config (RouterConfig) is one.
 */
export interface FibConfig {
  ports: readonly { name: string; index: number; address: number; prefixLen: number }[];
  routes: readonly RouteSpec[];
}

export class RouteBuildError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid routes:\n  ${problems.join('\n  ')}`);
    this.name = 'RouteBuildError';
  }
}

function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export interface BuiltFib<L extends LpmWriter> {
  lpm: L;
  nexthops: NexthopTable;
}

/** The port a route's next hop `n` leaves by, or an error message (gateways must be on a connected subnet, as in the kernel). */
function hopPort(n: RouteSpec['nexthops'][number], config: FibConfig): number | string {
  const port = n.port === undefined ? -1 : config.ports.findIndex((p) => p.name === n.port);
  if (n.gateway === 0) return port < 0 ? `dev "${String(n.port)}" is not a configured port` : port;
  const onLink = config.ports.findIndex((p) => ((n.gateway & maskOf(p.prefixLen)) >>> 0) === ((p.address & maskOf(p.prefixLen)) >>> 0));
  const out = port < 0 ? onLink : port;
  if (out < 0) return `gateway ${ipv4ToString(n.gateway)} is not on a connected subnet of any port`;
  if (onLink !== out) return `gateway ${ipv4ToString(n.gateway)} is not on the subnet of port "${config.ports[out].name}"`;
  if (config.ports.some((p) => p.address === n.gateway)) return `gateway ${ipv4ToString(n.gateway)} is the router's own address`;
  return out;
}

/** Why a route's next hops cannot be installed (the first problem), or undefined; changes nothing. */
export function nexthopProblem(route: RouteSpec, config: FibConfig): string | undefined {
  for (const n of route.nexthops) {
    const port = hopPort(n, config);
    if (typeof port === 'string') return port;
  }
  return undefined;
}

/** Resolves a route's next hops to next-hop indexes (interning new ones); returns an error message or the index. */
export function nexthopFor(route: RouteSpec, config: FibConfig, nexthops: NexthopTable): number | string {
  if (route.type === 'blackhole') return nexthops.intern(NexthopKind.BLACKHOLE, 0, 0);
  if (route.type === 'unreachable') return nexthops.intern(NexthopKind.UNREACHABLE, 0, 0);
  if (route.type === 'prohibit') return nexthops.intern(NexthopKind.PROHIBIT, 0, 0);
  // Checked first, so a route that fails adds no entry to the table.
  const problem = nexthopProblem(route, config);
  if (problem !== undefined) return problem;
  const ids: number[] = [];
  const weights: number[] = [];
  for (const n of route.nexthops) {
    const port = hopPort(n, config) as number;
    ids.push(n.gateway === 0 ? nexthops.intern(NexthopKind.ATTACHED, port, 0) : nexthops.intern(NexthopKind.GATEWAY, port, n.gateway));
    weights.push(n.weight);
  }
  return ids.length === 1 ? ids[0] : nexthops.internGroup(ids, weights);
}

export function buildFib<L extends LpmWriter>(config: FibConfig, lpm: L, nexthops = new NexthopTable()): BuiltFib<L> {
  const problems: string[] = [];
  const install: Record<RouteSource, () => void> = {
    static: () => {
      for (const r of config.routes) {
        const nh = nexthopFor(r, config, nexthops);
        if (typeof nh === 'string') problems.push(`${routeOrigin(r)}: ${nh}`);
        else lpm.insert(r.prefix, r.len, nh);
      }
    },
    connected: () => {
      for (const p of config.ports) lpm.insert((p.address & maskOf(p.prefixLen)) >>> 0, p.prefixLen, nexthops.intern(NexthopKind.ATTACHED, p.index, 0));
      // After the subnets: a /32 port's own address is local, not attached.
      for (const p of config.ports) {
        lpm.insert(p.address, 32, nexthops.intern(NexthopKind.LOCAL, p.index, 0));
        if (p.prefixLen < 31) lpm.insert((p.address | ~maskOf(p.prefixLen)) >>> 0, 32, nexthops.intern(NexthopKind.BROADCAST, p.index, 0));
      }
    },
  };
  // The LPM keeps one next hop per prefix, the last inserted: installing from
  // the highest distance down leaves each prefix with its lowest-distance route.
  for (const source of sourcesByFallingDistance()) install[source]();
  if (problems.length > 0) throw new RouteBuildError(problems);
  return { lpm, nexthops };
}
