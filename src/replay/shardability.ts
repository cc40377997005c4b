// When a parallel replay gives the result of a one-worker replay, and when it
// cannot. Two kinds of reasons:
//
// - Known from the config (staticReason): a config that translates addresses
//   (nat: masquerade, snat, dnat; a load balancer VIP in nat mode) sends a
//   reply to the translated address, so the reply's address pair is not the
//   request's and no per-packet key puts both on one worker; and the port a
//   binding gets depends on every flow that came before it, in every shard.
//   A tunnel-terminating port (decap) with flow state hides the flow inside
//   the tunnel. A trace takes the first N matching packets of the whole
//   capture. These replay on one worker.
// - Known only after the run (runtimeReason): state that several flows share
//   was used in a way whose outcome depends on the order of flows in other
//   shards: ARP resolution (the neighbor table), the ICMP error rate limit
//   (one bucket), the reassembly contexts, and the flow table's capacity and
//   idle timeouts (a flow ends when the sweep reaches it, and where the sweep
//   is depends on the table's other flows). When any of these happened, the
//   capture is replayed again on one worker.
import type { RouterConfig } from '../config/load.js';
import type { CounterValue } from '../pipeline/counters.js';

/** Most workers a replay takes: each is a thread with its own router and tables. */
export const MAX_WORKERS = 64;

export function staticReason(config: RouterConfig, tracing: boolean): string | undefined {
  const nat = config.nat;
  if (nat !== undefined && nat.masquerade.length + nat.snat.length + nat.dnat.length > 0) {
    return "the config translates addresses (nat:): a translated flow's replies carry another address pair than its requests, and NAT ports are given out in the order of all flows";
  }
  const natVip = config.loadBalancer?.vips.find((v) => v.mode === 'nat');
  if (natVip !== undefined) return `load balancer VIP ${natVip.name} is in nat mode: its replies come from the backend, another address pair than the requests`;
  const tracking = config.nat !== undefined || config.firewall !== undefined || config.loadBalancer !== undefined;
  const decap = config.ports.find((p) => p.decap !== undefined);
  if (decap !== undefined && tracking) return `port ${decap.name} terminates tunnels (decap) and the config tracks flows: a flow's packets in the tunnel carry the tunnel's addresses`;
  if (tracing) return '--trace follows the first packets of the whole capture';
  return undefined;
}

/** What one shard saw of the state shared between flows. */
export interface ShardSharedUse {
  counters: Record<string, CounterValue>;
  /** Flow table figures, when the config tracks flows. */
  flows?: { expired: number; evicted: number; tableFull: number; indexFull: number; stale: number; peakLive: number };
}

const SHARED_STATE_COUNTERS: [RegExp, string][] = [
  [/^arp-resolve\/(?!packets$)/, 'a next hop needed ARP resolution (the neighbor table is shared by all flows)'],
  [/^icmp-error\/rate-limited$/, 'ICMP errors were rate-limited (one limit for all flows)'],
  [/^ip4-reassembly\/no-context$/, 'the reassembly contexts ran out (shared by all datagrams)'],
];

export function runtimeReason(shards: readonly ShardSharedUse[], flowCapacity: number): string | undefined {
  for (const [pattern, why] of SHARED_STATE_COUNTERS) {
    for (const s of shards) for (const name of Object.keys(s.counters)) if (pattern.test(name) && s.counters[name].packets > 0) return `${why}: ${name}`;
  }
  let peak = 0;
  for (const s of shards) {
    const f = s.flows;
    if (f === undefined) continue;
    if (f.expired > 0 || f.stale > 0) return 'flows were idle past their timeout (when a flow ends depends on where the sweep of the whole table is)';
    if (f.evicted + f.tableFull + f.indexFull > 0) return 'the flow table was full';
    peak += f.peakLive;
  }
  if (peak > flowCapacity) return `the shards held ${peak} flows together, more than conntrack.capacity (${flowCapacity})`;
  return undefined;
}
