// The firewall's meaning, written plainly: every rule of every section tried
// in order, no precomputation. The classifier (classifier.ts) must give the
// same answer for every packet; tests hold it to this, and `explain`-style
// tools can use it to say why (it is linear in the rules: never on the
// packet path).
import { Action, ruleMatches, ruleOrder, Section, type FirewallPlan } from './plan.js';

export interface Judgement {
  /** Action.ALLOW, DENY or REJECT. */
  action: number;
  /** Per section: the index (into plan.rules) of the rule that decided it, or -1 when none matched (allowed). */
  rule: number[];
  /** The section that denied or rejected, or -1 when allowed. */
  decidedBy: number;
}

export class ReferenceFirewall {
  private readonly order: number[];

  constructor(readonly plan: FirewallPlan) {
    this.order = ruleOrder(plan.rules);
  }

  judge(src: number, dst: number, proto: number, dport: number): Judgement {
    const rule = new Array<number>(Section.COUNT).fill(-1);
    for (const i of this.order) {
      const r = this.plan.rules[i];
      if (rule[r.section] !== -1) continue;
      if (ruleMatches(r, src, dst, proto, dport)) rule[r.section] = i;
    }
    for (let s = 0; s < Section.COUNT; s++) {
      const i = rule[s];
      if (i !== -1 && this.plan.rules[i].action !== Action.ALLOW) return { action: this.plan.rules[i].action, rule, decidedBy: s };
    }
    return { action: Action.ALLOW, rule, decidedBy: -1 };
  }
}
