// What a route does with a packet, as iproute2 users write it. The FIB only
// stores a next-hop index; this module names the targets behind the indexes
// so the pipeline can build next hops (and ECMP groups) on top of them.
//
//   via ADDR [dev PORT]   forward to gateway ADDR (ARP-resolve it)
//   dev PORT              the destination is on PORT's link (ARP-resolve it)
//   blackhole             drop silently
//   unreachable           drop, ICMP destination unreachable (net unreachable)
//   prohibit              drop, ICMP communication administratively prohibited

import { formatIpv4, formatPrefix } from './prefix.js';

export type RouteKind = 'via' | 'dev' | 'blackhole' | 'unreachable' | 'prohibit';

export const ROUTE_KINDS: readonly RouteKind[] = ['via', 'dev', 'blackhole', 'unreachable', 'prohibit'];

export interface RouteTarget {
  kind: RouteKind;
  /** Gateway address (uint32) for `via`; 0 otherwise. */
  gateway: number;
  /** Port name for `dev` (and optionally `via`); '' when not given. */
  port: string;
}

export interface RouteEntry {
  prefix: number;
  len: number;
  target: RouteTarget;
  /** 1-based line of the routes file it came from (0 when not from a file). */
  line: number;
}

export function formatTarget(t: RouteTarget): string {
  if (t.kind === 'via') return t.port === '' ? `via ${formatIpv4(t.gateway)}` : `via ${formatIpv4(t.gateway)} dev ${t.port}`;
  if (t.kind === 'dev') return `dev ${t.port}`;
  return t.kind;
}

/** One line of a routes file, e.g. "10.0.0.0/8 via 192.0.2.1 dev eth0". */
export function formatRoute(r: Pick<RouteEntry, 'prefix' | 'len' | 'target'>): string {
  return `${formatPrefix(r.prefix, r.len)} ${formatTarget(r.target)}`;
}

/**
 * Interns route targets as dense next-hop indexes (thousands of routes via one
 * gateway share one index), the numbers that the LPM's leaves carry.
 */
export class TargetTable {
  readonly targets: RouteTarget[] = [];
  private readonly index = new Map<string, number>();

  intern(t: RouteTarget): number {
    const key = `${t.kind} ${t.gateway >>> 0} ${t.port}`;
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.targets.length;
      this.targets.push({ kind: t.kind, gateway: t.gateway >>> 0, port: t.port });
      this.index.set(key, i);
    }
    return i;
  }

  get(nextHop: number): RouteTarget | undefined {
    return this.targets[nextHop];
  }
}
