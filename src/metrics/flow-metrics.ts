// The flow table all workers share (when NAT, the firewall or the load
// balancer keeps flows): occupancy, and entries created and ended. Entries
// are flows, NAT bindings, filtering permissions and fragment entries alike:
// they share the capacity.
import type { CounterRegistry } from '../pipeline/counters.js';
import { counterFamily, gaugeFamily, pipelineCounter, type FamilyContext, type Labels } from './families.js';

const NONE: Labels = {};

export function registerFlowMetrics(ctx: FamilyContext, registry: CounterRegistry): void {
  pipelineCounter(ctx, registry.indexOf('nat-output/flows-created'), 'dataplane_flows_created_total', 'Connections whose first packet started a flow (translated, load-balanced or only tracked).');
  gaugeFamily(ctx, 'dataplane_flow_table_entries', 'Entries live in the flow table (flows, NAT bindings, permissions, fragment entries).', [], (r, emit) => {
    if (r.nat) emit(NONE, r.nat.live);
  });
  gaugeFamily(ctx, 'dataplane_flow_table_capacity', 'Entries the flow table holds at most (conntrack.capacity).', [], (r, emit) => {
    if (r.nat) emit(NONE, r.nat.capacity);
  });
  counterFamily(ctx, 'dataplane_flow_table_inserts_total', 'Entries created in the flow table (new flows and their bindings).', [], (r, emit) => {
    if (r.nat) emit(NONE, r.nat.inserted);
  });
  counterFamily(ctx, 'dataplane_flow_table_expired_total', 'Entries ended by their timeout.', [], (r, emit) => {
    if (r.nat) emit(NONE, r.nat.expired);
  });
  counterFamily(ctx, 'dataplane_flow_table_evicted_total', 'Entries evicted to make room (flows that never saw a reply).', [], (r, emit) => {
    if (r.nat) emit(NONE, r.nat.evicted);
  });
  counterFamily(ctx, 'dataplane_flow_table_full_total', 'New entries refused because the table (or its index) was full.', [], (r, emit) => {
    if (r.nat) emit(NONE, r.nat.tableFull);
  });
}
