// Where a route comes from, and which source wins when two give the same
// prefix: the administrative distance of routers (Cisco's numbers, FRR's and
// Juniper's "preference" work the same way). Longest-prefix match decides
// between different prefixes; for one prefix the FIB installs only the route
// of the lowest distance, and the others are shadowed (kept out and reported).
//
// Connected routes (a port's subnet, its own address, its subnet's broadcast
// address) come first: a static route for the same prefix would cut the
// subnet off (a full Internet table, for instance, carries 192.0.2.0/24).
// A later source (routes set through a control API, a routing protocol) gets
// its own line here and fits between or after these.

export type RouteSource = 'connected' | 'static';

/** Lower wins for the same prefix. */
export const ADMIN_DISTANCE: Readonly<Record<RouteSource, number>> = {
  connected: 0,
  static: 1,
};

/** True when a route from `a` takes the prefix from a route of `b` (ties: neither; the source's own rule decides). */
export function outranks(a: RouteSource, b: RouteSource): boolean {
  return ADMIN_DISTANCE[a] < ADMIN_DISTANCE[b];
}

/** Sources from the highest distance down: installing in this order leaves each prefix with its lowest-distance route. */
export function sourcesByFallingDistance(): RouteSource[] {
  return (Object.keys(ADMIN_DISTANCE) as RouteSource[]).sort((a, b) => ADMIN_DISTANCE[b] - ADMIN_DISTANCE[a]);
}
