// NAT (config `nat:`): ports in use per external address of each rule's
// pool, and allocations that failed for want of ports. The
// addresses are the config's pools, so the label set is bounded by it.
import type { CounterRegistry } from '../pipeline/counters.js';
import { ipv4ToString } from '../wire/address.js';
import { counterFamily, gaugeFamily, stableLabels, type FamilyContext } from './families.js';

export function registerNatMetrics(ctx: FamilyContext, registry: CounterRegistry): void {
  const poolLabels = stableLabels(['rule', 'address']);
  gaugeFamily(ctx, 'dataplane_nat_ports_in_use', 'NAT ports held by bindings, per external address of a rule (TCP, UDP and ICMP ids together).', ['rule', 'address'], (r, emit) => {
    for (const p of r.nat?.portsInUse ?? []) emit(poolLabels(p.rule, ipv4ToString(p.address)), p.inUse);
  });
  gaugeFamily(ctx, 'dataplane_nat_ports', 'NAT ports the rule may use on the external address (TCP, UDP and ICMP ids together).', ['rule', 'address'], (r, emit) => {
    for (const p of r.nat?.portsInUse ?? []) emit(poolLabels(p.rule, ipv4ToString(p.address)), p.size);
  });
  const failures = [
    { index: registry.indexOf('nat-output/out-of-ports'), labels: { reason: 'out-of-ports' } },
    { index: registry.indexOf('nat-output/out-of-resources'), labels: { reason: 'out-of-resources' } },
  ].filter((f): f is { index: number; labels: { reason: string } } => f.index !== undefined);
  if (failures.length === 0) return;
  counterFamily(
    ctx,
    'dataplane_nat_out_of_resources_total',
    'New flows dropped for want of a NAT port: reason="out-of-ports" the address\'s ports are all in use, "out-of-resources" the internal host holds its minPortsPerEndpoint already.',
    ['reason'],
    (r, emit) => {
      for (const f of failures) emit(f.labels, r.counters.packets(f.index));
    },
  );
}
