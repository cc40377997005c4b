// The firewall as a router runs it: the classifier in force, its generation,
// and the rules' hit counters. The packet node (firewall-node.ts) judges a
// flow's first packet with it; ct-input asks it again about a flow judged
// under an older generation.
//
// Generations. A recompiled rule set is published as a new classifier with
// the next generation number. Every flow records the generation that judged
// it (a user word of its flow record, stamped by nat-output as it creates
// the flow). Only after a second generation has been published does ct-input
// read that word (one more load per packet, a cache miss at a million
// flows), so a firewall that never changes costs established packets
// nothing; once it has changed, a flow judged before is judged again on its
// next packet: kept (and restamped) if the new rules allow it, dropped
// otherwise.
import { Action, ACTION_NAMES, Section, type FirewallPlan } from './plan.js';
import type { FlowPolicy } from '../nat/flow-policy.js';

/** What the firewall needs of a classifier (classifier.ts builds the fast one). */
export interface FirewallJudge {
  readonly plan: FirewallPlan;
  /** An outcome id >= 0, or NOT_INVOLVED when neither address is an endpoint. */
  classify(src: number, dst: number, proto: number, dport: number): number;
  /** classify() of packets [0, n) of the arrays (addresses as int32), outcomes into out[0, n). */
  classifyBatch(src: Int32Array, dst: Int32Array, proto: Uint8Array, dport: Uint16Array, n: number, out: Int32Array): void;
  action(outcome: number): number;
  /** The index in plan.rules of the rule that decided `section`, or -1 (nothing matched: allowed). */
  rule(outcome: number, section: number): number;
  /** The section that denied or rejected, or -1 when allowed. */
  decidedBy(outcome: number): number;
}

export const NOT_INVOLVED = -1;

/** The flow record's user word that holds the generation that judged the flow (src/nat/bindings.ts FlowUser). */
export const FIREWALL_GENERATION_WORD = 3;

export class Firewall implements FlowPolicy {
  judge: FirewallJudge;
  /** 1 for the classifier the router started with; each publish() adds one. */
  generation = 1;
  /** A newer generation than the first is in force: flows stamped with an older one are judged again. */
  recheck = false;
  /** First packets each rule decided, by origin (plan.origins): this worker's share. */
  hits: Float64Array;
  /** plan.rules[i].origin, flat. */
  private ruleOrigin: Int32Array;

  constructor(judge: FirewallJudge, hitsBuffer?: ArrayBufferLike) {
    this.judge = judge;
    this.ruleOrigin = Int32Array.from(judge.plan.rules, (r) => r.origin);
    this.hits = new Float64Array(hitsBuffer ?? new ArrayBuffer(Firewall.hitsBytes(judge.plan)));
  }

  /** Bytes of a worker's hit counters for a plan. */
  static hitsBytes(plan: FirewallPlan): number {
    return Math.max(1, plan.origins.length) * 8;
  }

  /**
   * Puts a new classifier in force, between two batches. Its hit counters
   * start at zero (the origins may differ from the old plan's).
   */
  publish(judge: FirewallJudge, hitsBuffer?: ArrayBufferLike): void {
    this.judge = judge;
    this.ruleOrigin = Int32Array.from(judge.plan.rules, (r) => r.origin);
    this.hits = new Float64Array(hitsBuffer ?? new ArrayBuffer(Firewall.hitsBytes(judge.plan)));
    this.generation++;
    this.recheck = true;
  }

  /** Counts a first packet against the rule that decided each section of its outcome. */
  countHits(outcome: number): void {
    const j = this.judge;
    for (let s = 0; s < Section.COUNT; s++) {
      const r = j.rule(outcome, s);
      if (r >= 0) this.hits[this.ruleOrigin[r]]++;
    }
  }

  /** FlowPolicy (src/nat/flow-policy.ts): whether the rules in force let a flow with this first packet pass. */
  allows(src: number, dst: number, proto: number, dport: number): boolean {
    const outcome = this.judge.classify(src, dst, proto, dport);
    return outcome === NOT_INVOLVED || this.judge.action(outcome) === Action.ALLOW;
  }

  /** "denied by deny-ssh (vpc ingress priority 500 deny)": the rule that decided an outcome, in words (trace, tools). */
  describe(outcome: number): string {
    const j = this.judge;
    const rules: number[] = [];
    for (let k = 0; k < Section.COUNT; k++) rules.push(j.rule(outcome, k));
    return this.describeRules(j.decidedBy(outcome), rules);
  }

  /**
   * describe() of an outcome given as its parts (the deciding section, or -1
   * when allowed, and the plan's rule per section or -1): what a trace record
   * carries, since outcome ids are a worker's own (FirewallNode.traceNote).
   */
  describeRules(decidedBy: number, rules: ArrayLike<number>): string {
    const names: string[] = [];
    if (decidedBy >= 0) names.push(this.describeRule(rules[decidedBy], 'denied by'));
    else for (let k = 0; k < Section.COUNT; k++) if (rules[k] >= 0) names.push(this.describeRule(rules[k], 'allowed by'));
    return names.length === 0 ? 'allowed (no rule applies)' : names.join(', ');
  }

  private describeRule(rule: number, verb: string): string {
    const r = this.judge.plan.rules[rule];
    const o = this.judge.plan.origins[r.origin];
    const action = ACTION_NAMES[o.action] ?? String(o.action);
    if (verb === 'denied by' && o.action === 2) verb = 'rejected by';
    return `${verb} ${o.name} (${o.kind} ${o.direction} priority ${o.priority} ${action})`;
  }
}

export interface RuleHits {
  name: string;
  kind: string;
  direction: string;
  priority: number;
  action: string;
  hits: number;
}

/** Every rule and policy of a plan with its hits (summed over workers), in plan order. */
export function ruleHits(plan: FirewallPlan, hits: ArrayLike<number>): RuleHits[] {
  return plan.origins.map((o, i) => ({ name: o.name, kind: o.kind, direction: o.direction, priority: o.priority, action: ACTION_NAMES[o.action] ?? String(o.action), hits: hits[i] ?? 0 }));
}

/** The hits as lines for a summary. */
export function formatRuleHits(rules: readonly RuleHits[]): string[] {
  return ['firewall rule hits (first packets each rule decided):', ...rules.map((r) => `  ${String(r.hits).padStart(10)}  ${r.name} (${r.kind} ${r.direction} priority ${r.priority} ${r.action})`)];
}
