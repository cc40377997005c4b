// TEMPORARY local stand-in (not committed): the fast classifier comes from the fwclass branch.
import { ReferenceFirewall } from './evaluate.js';
import type { FirewallPlan } from './plan.js';
export const NOT_INVOLVED = -1;
export class FirewallClassifier {
  private readonly ref: ReferenceFirewall;
  private readonly outcomes: { action: number; rule: number[]; decidedBy: number }[] = [];
  private readonly endpoints: Set<number>;
  private constructor(readonly plan: FirewallPlan) {
    this.ref = new ReferenceFirewall(plan);
    this.endpoints = new Set(plan.endpoints.map((a) => a >>> 0));
  }
  static build(plan: FirewallPlan): FirewallClassifier {
    return new FirewallClassifier(plan);
  }
  classify(src: number, dst: number, proto: number, dport: number): number {
    if (!this.endpoints.has(src >>> 0) && !this.endpoints.has(dst >>> 0)) return NOT_INVOLVED;
    this.outcomes.push(this.ref.judge(src, dst, proto, dport));
    return this.outcomes.length - 1;
  }
  action(o: number): number { return this.outcomes[o].action; }
  rule(o: number, s: number): number { return this.outcomes[o].rule[s]; }
  decidedBy(o: number): number { return this.outcomes[o].decidedBy; }
}
