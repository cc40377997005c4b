// The firewall as people read it (`dataplane firewall`): each user-facing
// rule (a VPC rule, an implied rule, a NetworkPolicy's direction, an
// isolation deny) with the number of plan rules it compiled to, in the order
// packets meet them; and one judgement explained section by section.
import type { Judgement } from './evaluate.js';
import { Action, ACTION_NAMES, hasPorts, Section, type FirewallPlan, type RuleOrigin } from './plan.js';
import { ipv4ToString } from '../wire/address.js';

export const SECTION_NAMES = ['vpc-egress', 'policy-egress', 'vpc-ingress', 'policy-ingress'] as const;
export const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };

export interface OriginRow {
  kind: RuleOrigin['kind'];
  name: string;
  direction: RuleOrigin['direction'];
  priority: number;
  action: (typeof ACTION_NAMES)[number];
  section: (typeof SECTION_NAMES)[number];
  /** Plan rules compiled from it (0: it matches nothing, e.g. its labels select no endpoint). */
  rules: number;
}

function sectionOf(o: RuleOrigin): number {
  const vpc = o.kind === 'vpc' || o.kind === 'implied';
  if (o.direction === 'egress') return vpc ? Section.VPC_EGRESS : Section.POLICY_EGRESS;
  return vpc ? Section.VPC_INGRESS : Section.POLICY_INGRESS;
}

/**
 * The origins' indexes in the order a packet meets them: section, priority,
 * deny/reject before allow, then as written. The offline listing and `ctl
 * firewall show` (control-plane.ts) both list in this order.
 */
export function originOrder(plan: FirewallPlan): number[] {
  const order = plan.origins.map((_, i) => i);
  const key = (i: number) => plan.origins[i];
  order.sort((a, b) => sectionOf(key(a)) - sectionOf(key(b)) || key(a).priority - key(b).priority || (key(a).action === Action.ALLOW ? 1 : 0) - (key(b).action === Action.ALLOW ? 1 : 0) || a - b);
  return order;
}

/** One row per origin, in the order a packet meets them (originOrder). */
export function originRows(plan: FirewallPlan): OriginRow[] {
  const counts = new Array<number>(plan.origins.length).fill(0);
  for (const r of plan.rules) counts[r.origin]++;
  return originOrder(plan).map((i) => {
    const o = plan.origins[i];
    return { kind: o.kind, name: o.name, direction: o.direction, priority: o.priority, action: ACTION_NAMES[o.action], section: SECTION_NAMES[sectionOf(o)], rules: counts[i] };
  });
}

function table(rows: readonly string[][]): string {
  // A loop, not Math.max(...column): a plan can have more origins than a call can take arguments (RangeError).
  const widths = rows[0].map(() => 0);
  for (const r of rows) for (let c = 0; c < widths.length; c++) widths[c] = Math.max(widths[c], r[c].length);
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')).join('\n');
}

/** The listing: a summary line, then one line per origin. */
export function describePlan(plan: FirewallPlan): string {
  const rows = originRows(plan);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const implied = rows.filter((r) => r.kind === 'implied' || r.kind === 'isolation').length;
  const head = `firewall: ${plural(plan.endpoints.length, 'endpoint')}, ${plural(rows.length - implied, 'rule')} and ${implied} implied, compiled to ${plural(plan.rules.length, 'plan rule')}`;
  const body = [['SECTION', 'PRIORITY', 'ACTION', 'KIND', 'RULES', 'NAME'], ...rows.map((r) => [r.section, String(r.priority), r.action, r.kind, String(r.rules), r.name])];
  return `${head}\n${table(body)}`;
}

/** "name (kind, priority N)" for the rule at plan index i. */
export function ruleText(plan: FirewallPlan, i: number): string {
  const o = plan.origins[plan.rules[i].origin];
  return `${o.name} (${o.kind}, priority ${o.priority})`;
}

export interface Packet {
  src: number;
  dst: number;
  proto: number;
  sport: number;
  dport: number;
}

/** One section of a judgement: its verdict, the rule that gave it (null: none matched, so it allows) and whether it decided. */
export interface SectionVerdict<R> {
  section: (typeof SECTION_NAMES)[number];
  action: string;
  rule: R | null;
  decides: boolean;
}

/** Judgement `j` section by section, each matched rule given by `rule(plan index)`. */
export function judgementSections<R>(plan: FirewallPlan, j: Judgement, rule: (i: number) => R): SectionVerdict<R>[] {
  return SECTION_NAMES.map((name, s) => {
    const i = j.rule[s];
    return { section: name, action: i === -1 ? 'allow' : ACTION_NAMES[plan.rules[i].action], rule: i === -1 ? null : rule(i), decides: j.decidedBy === s };
  });
}

/** The sections as `--judge` and `explain` print them, one aligned line each: "vpc-ingress     deny    NAME (KIND, priority N)  <- decides". */
export function sectionLines(sections: readonly SectionVerdict<{ name: string; kind: string; priority: number }>[], indent = '  '): string[] {
  const width = Math.max(...SECTION_NAMES.map((n) => n.length));
  return sections.map((s) => `${indent}${s.section.padEnd(width)}  ${s.action.padEnd(6)}  ${s.rule === null ? 'no rule matched' : `${s.rule.name} (${s.rule.kind}, priority ${s.rule.priority})`}${s.decides ? '  <- decides' : ''}`);
}

/** A judgement section by section; `judged` false when neither end is an endpoint (the firewall leaves such traffic alone). */
export function describeJudgement(plan: FirewallPlan, p: Packet, j: Judgement | undefined): { text: string; json: object } {
  const name = PROTOCOL_NAMES[p.proto];
  const head = hasPorts(p.proto) ? `${ipv4ToString(p.src)}:${p.sport} -> ${ipv4ToString(p.dst)}:${p.dport} ${name}` : `${ipv4ToString(p.src)} -> ${ipv4ToString(p.dst)} ${name ?? `proto ${p.proto}`}`;
  if (j === undefined) return { text: `${head}: not judged (neither address is an endpoint)`, json: { packet: head, judged: false, verdict: 'allow' } };
  const sections = judgementSections(plan, j, (i) => ({ ...plan.origins[plan.rules[i].origin], action: ACTION_NAMES[plan.rules[i].action] }));
  const verdict = ACTION_NAMES[j.action];
  return { text: `${head}: ${verdict}\n${sectionLines(sections).join('\n')}`, json: { packet: head, judged: true, verdict, decidedBy: j.decidedBy === -1 ? null : SECTION_NAMES[j.decidedBy], sections } };
}
