// A route in iproute2's words, for `dataplane route lookup` and the packet
// trace: what the FIB answers for an address and the configured prefix it
// matched.
import { NO_ROUTE } from './fib-view.js';
import { ipv4ToString } from '../wire/address.js';
import type { FibConfig } from './fib-build.js';
import type { CompiledFib } from './fib.js';
import { NexthopKind } from './nexthops.js';

/** The most specific configured prefix containing `addr` (the control-side prefix set, not the trie). */
function matchingPrefix(addr: number, compiled: CompiledFib): string {
  for (let len = 32; len >= 0; len--) {
    const p = len === 0 ? 0 : (addr & ((0xffffffff << (32 - len)) >>> 0)) >>> 0;
    if (compiled.lpm.get(p, len) !== NO_ROUTE) return `${ipv4ToString(p)}/${len}`;
  }
  return '?';
}

/** The route `addr` matches, in iproute2's words: `PREFIX via GW dev PORT`, `PREFIX dev PORT`, `PREFIX blackhole`, `PREFIX nexthop via ... nexthop via ...`, or `unreachable` when none matches. */
export function describeRoute(addr: number, config: FibConfig, compiled: CompiledFib): string {
  const nh = compiled.lpm.lookup(addr);
  if (nh === NO_ROUTE) return 'unreachable';
  const prefix = matchingPrefix(addr, compiled);
  const t = compiled.nexthops;
  const hop = (i: number): string => {
    const port = config.ports[t.port[i]]?.name ?? '?';
    switch (t.kind[i]) {
      case NexthopKind.GATEWAY:
        return `via ${ipv4ToString(t.gateway[i])} dev ${port}`;
      case NexthopKind.ATTACHED:
        return `dev ${port}`;
      case NexthopKind.LOCAL:
        return `local dev ${port}`;
      case NexthopKind.BROADCAST:
        return `broadcast dev ${port}`;
      case NexthopKind.BLACKHOLE:
        return 'blackhole';
      case NexthopKind.UNREACHABLE:
        return 'unreachable';
      case NexthopKind.PROHIBIT:
        return 'prohibit';
      default:
        return '?';
    }
  };
  if (t.kind[nh] === NexthopKind.ECMP) {
    const seen = new Set<number>();
    for (let k = 0; k < t.groupSize[nh]; k++) seen.add(t.members[t.groupStart[nh] + k]);
    return `${prefix} ${[...seen].map((m) => `nexthop ${hop(m)}`).join(' ')}`;
  }
  return `${prefix} ${hop(nh)}`;
}

