// The port a packet the router makes (an ICMP error) will leave by, known
// before it is routed: its source must be that port's address (RFC 1812
// 4.3.2.4), and icmp-error picks it when it writes the header, while NAT may
// change the destination afterwards (ct-input's translation of the router's
// own error about a translated flow), which picks it again.
import { NO_ROUTE } from '../route/fib-view.js';
import { NexthopKind } from '../route/nexthops.js';
import type { ForwardingContext } from './context.js';

/** The route's port toward `dst` (the first member of an ECMP group), or `fallback` when the route does not leave by a port (none, local, blackhole, ...). */
export function portToward(ctx: ForwardingContext, dst: number, fallback: number): number {
  const nh = ctx.fib.lookup(dst);
  if (nh === NO_ROUTE) return fallback;
  const nhs = ctx.nexthops;
  const m = nhs.kind[nh] === NexthopKind.ECMP ? nhs.members[nhs.groupStart[nh]] : nh;
  const kind = nhs.kind[m];
  return kind === NexthopKind.GATEWAY || kind === NexthopKind.ATTACHED ? nhs.port[m] : fallback;
}
