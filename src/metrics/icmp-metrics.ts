// ICMP errors the router sends (time exceeded, unreachable, fragmentation
// needed, ...) and those the RFC 1812 4.3.2.8 rate limit held back.
import type { CounterRegistry } from '../pipeline/counters.js';
import { pipelineCounter, type FamilyContext } from './families.js';

export function registerIcmpMetrics(ctx: FamilyContext, registry: CounterRegistry): void {
  pipelineCounter(ctx, registry.indexOf('icmp-error/sent'), 'dataplane_icmp_errors_sent_total', 'ICMP errors the router sent.');
  pipelineCounter(ctx, registry.indexOf('icmp-error/rate-limited'), 'dataplane_icmp_errors_rate_limited_total', 'ICMP errors not sent: over the rate limit (icmp.ratePerSecond, icmp.burst).');
}
