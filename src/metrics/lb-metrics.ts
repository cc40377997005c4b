// The load balancer (config `loadBalancer:`): per VIP and backend, flows,
// packets, bytes, active flows, weight and health state. Backends are the
// config's (reloads add and remove them; a removed one stays listed, state
// "removed", until restart), so the label set is bounded by it. Per VIP
// figures are sums: sum by (vip) (...).
import { BACKEND_STATE_NAMES } from '../lb/lb-tables.js';
import { counterFamily, gaugeFamily, stableLabels, type FamilyContext } from './families.js';
import type { BackendStatus } from '../lb/lb-control.js';

/** The states a backend can report (not "unused", a free registry slot). */
const STATES = BACKEND_STATE_NAMES.filter((s) => s !== 'unused');

export function registerLbMetrics(ctx: FamilyContext): void {
  const backendLabels = stableLabels(['vip', 'backend']);
  const stateLabels = stableLabels(['vip', 'backend', 'state']);
  const labels = (b: BackendStatus) => backendLabels(b.vip, b.address);
  const each = (kind: 'counter' | 'gauge', name: string, help: string, value: (b: BackendStatus) => number) =>
    (kind === 'counter' ? counterFamily : gaugeFamily)(ctx, name, help, ['vip', 'backend'], (r, emit) => {
      for (const b of r.backends) emit(labels(b), value(b));
    });
  each('counter', 'dataplane_lb_backend_flows_total', 'New flows the VIP sent to the backend.', (b) => b.newFlows);
  each('counter', 'dataplane_lb_backend_packets_total', 'Packets the VIP sent to the backend.', (b) => b.packets);
  each('counter', 'dataplane_lb_backend_bytes_total', 'Bytes of the IP packets the VIP sent to the backend (from the IP header, before any encapsulation).', (b) => b.bytes);
  each('gauge', 'dataplane_lb_backend_active_flows', 'Flows pinned to the backend now.', (b) => b.activeFlows);
  each('gauge', 'dataplane_lb_backend_effective_weight', 'The backend\'s weight now: the configured one, or what dynamic weights made of it; a backend down or draining gets no new flows whatever its weight.', (b) => b.effectiveWeight);
  gaugeFamily(
    ctx,
    'dataplane_lb_backend_state',
    `The backend's state: 1 for the state it is in, 0 for the others (${STATES.join(', ')}); health checks move it between active and down.`,
    ['vip', 'backend', 'state'],
    (r, emit) => {
      for (const b of r.backends) for (const state of STATES) emit(stateLabels(b.vip, b.address, state), b.state === state ? 1 : 0);
    },
  );
}
