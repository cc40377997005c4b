// A route as the FIB takes it, whoever wrote it (the config's routes: list, a
// routes file, later the control API), and how it is put in words for
// messages. The grammar that reads route lines is the config's
// (src/config/routes.ts); this is only the model.
import { ipv4ToString } from '../wire/address.js';

export type RouteType = 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';

export interface NexthopSpec {
  /** Gateway address (uint32); 0 when the destination is on the link (`dev` only). */
  gateway: number;
  /** Port name; undefined when the port is found by looking up the gateway. */
  port: string | undefined;
  weight: number;
}

export interface RouteSpec {
  prefix: number;
  len: number;
  type: RouteType;
  /** Empty for blackhole/unreachable/prohibit; one or more for unicast (several = ECMP). */
  nexthops: NexthopSpec[];
  /** Where the route came from, for error messages: "routes[3]", or the routes file's path (with `line`). */
  origin: string;
  /** Line in the routes file (1-based); absent for routes from the config itself. */
  line?: number;
}

/** "routes[3]" or "path/routes.txt:12": formatted only when an error needs it (large files stay cheap). */
export function routeOrigin(r: Pick<RouteSpec, 'origin' | 'line'>): string {
  return r.line === undefined ? r.origin : `${r.origin}:${r.line}`;
}

/** The route as a line of this grammar, for messages ("192.0.2.0/24 via 198.51.100.10", "blackhole 198.18.0.0/15"). */
export function formatRoute(r: Pick<RouteSpec, 'prefix' | 'len' | 'type' | 'nexthops'>): string {
  const prefix = r.len === 0 && r.prefix === 0 ? 'default' : `${ipv4ToString(r.prefix)}/${r.len}`;
  if (r.type !== 'unicast') return `${r.type} ${prefix}`;
  const hop = (n: NexthopSpec) =>
    (n.gateway !== 0 ? `via ${ipv4ToString(n.gateway)}` : '') + (n.port !== undefined ? `${n.gateway !== 0 ? ' ' : ''}dev ${n.port}` : '') + (n.weight !== 1 ? ` weight ${n.weight}` : '');
  if (r.nexthops.length === 1 && r.nexthops[0].weight === 1) return `${prefix} ${hop(r.nexthops[0])}`;
  return `${prefix} ${r.nexthops.map((n) => `nexthop ${hop(n)}`).join(' ')}`;
}
