// Rule hits since the process started, across firewall plans: what the
// Prometheus counter dataplane_firewall_rule_hits_total reports. A published
// plan's hit counters start at zero (they are indexed by its origins, which
// may differ from the old plan's; `ctl firewall show` reports hits since the
// plan), so a counter that must only go up carries what each rule counted
// under earlier plans. A rule is the same rule in a new plan when its labels
// are (name, kind, direction): it keeps counting. A rule the new plan drops
// is forgotten with its series; were it added back later, its series would
// start again from zero, which rate() reads as a counter reset.
import type { FirewallPlan, RuleOrigin } from './plan.js';

function key(o: RuleOrigin): string {
  return `${o.kind}\u0000${o.direction}\u0000${o.name}`;
}

export class RuleHitTotals {
  /** Per origin of the plan in force: hits counted under the plans before it. */
  private before: Float64Array;

  constructor(private plan: FirewallPlan) {
    this.before = new Float64Array(plan.origins.length);
  }

  /** `next` replaces the plan in force, under which the rules counted `hits` (final: no worker counts into them any more). */
  replace(next: FirewallPlan, hits: ArrayLike<number>): void {
    const carried = new Map<string, number>();
    this.plan.origins.forEach((o, i) => {
      const k = key(o);
      carried.set(k, (carried.get(k) ?? 0) + this.before[i] + (hits[i] ?? 0));
    });
    this.before = new Float64Array(next.origins.length);
    next.origins.forEach((o, i) => {
      const k = key(o);
      // Origins sharing labels (never in a valid config) would add up in the series: carry the count once.
      this.before[i] = carried.get(k) ?? 0;
      carried.delete(k);
    });
    this.plan = next;
  }

  /** Per origin of the plan in force: hits since the start, given its hits since it was published. */
  totals(hits: ArrayLike<number>): Float64Array {
    const out = new Float64Array(this.before.length);
    for (let i = 0; i < out.length; i++) out[i] = this.before[i] + (hits[i] ?? 0);
    return out;
  }
}
