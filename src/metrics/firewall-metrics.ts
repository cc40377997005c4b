// The firewall (config `firewall:` and NetworkPolicies): first packets each
// rule or policy decided, and first packets by verdict. Rules are those of
// the plan in force, so the label set is bounded by it; a rule kept by name
// in a new plan keeps counting, a rule dropped loses its series
// (src/firewall/rule-hit-totals.ts). Series of the same name, kind and
// direction (never in a valid config) would add up.
import type { FirewallPlan } from '../firewall/plan.js';
import type { CounterRegistry } from '../pipeline/counters.js';
import { counterFamily, type FamilyContext, type Labels } from './families.js';

export function registerFirewallMetrics(ctx: FamilyContext, registry: CounterRegistry): void {
  // The labels of the plan in force: `ctl firewall set` and a reload publish a new one (its rules' series follow it).
  let labelsOf: FirewallPlan | undefined;
  let labels: Labels[] = [];
  counterFamily(
    ctx,
    'dataplane_firewall_rule_hits_total',
    'First packets of flows each rule or policy decided (kind: vpc, implied, policy, isolation).',
    ['rule', 'kind', 'direction'],
    (r, emit) => {
      const fw = r.firewall;
      if (fw === undefined) return;
      if (fw.plan !== labelsOf) {
        labels = fw.plan.origins.map((o) => ({ rule: o.name, kind: o.kind, direction: o.direction }));
        labelsOf = fw.plan;
      }
      for (let i = 0; i < labels.length; i++) emit(labels[i], fw.hits[i] ?? 0);
    },
  );
  const verdicts = ['allowed', 'denied', 'rejected']
    .map((v) => ({ index: registry.indexOf(`firewall/${v}`), labels: { verdict: v } }))
    .filter((v): v is { index: number; labels: { verdict: string } } => v.index !== undefined);
  if (verdicts.length === 0) return;
  counterFamily(ctx, 'dataplane_firewall_first_packets_total', 'First packets of flows the firewall judged, by verdict.', ['verdict'], (r, emit) => {
    for (const v of verdicts) emit(v.labels, r.counters.packets(v.index));
  });
}
