// The config's firewall (endpoints, `firewall:` VPC rules, NetworkPolicy)
// compiled into the FirewallPlan the classifier judges (src/firewall/plan.ts).
// Every mistake is a problem naming its field; labels, selectors and named
// ports become addresses and numbers here.
//
// A VPC rule is one plan rule: its targets (and the optional extra
// constraint on the same side) resolve to endpoint /32s, its source or
// destination cidrs and labels go into one include list (they OR). The
// implied rules (deny all ingress, allow all egress, priority 65535) come
// with a `firewall:` section only: with NetworkPolicy alone the VPC layer is
// absent, as in a cluster whose VPC allows everything between its nodes, so
// policies decide by themselves (an implied ingress deny would block every
// endpoint that no policy opens).
import { Action, addressMatches, Section, type AddressMatch, type ClassifierRule, type FirewallPlan, type PortMatch, type RuleOrigin } from '../firewall/plan.js';
import { ANY, checkEndpoints, hasLabels, hostsOf, parseCidr, type Endpoint } from './firewall-endpoints.js';
import type { FirewallSource } from './firewall-schema.js';
import type { AddressCheckPort } from './address-check.js';
import { UNNAMED_RULE } from './firewall-salvage.js';
import { compileNetworkPolicies } from './network-policy.js';
import { policiesOf } from './network-policy-file.js';

const PROTOCOLS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, icmp: 1, sctp: 132, all: -1 };
const ACTIONS = { allow: Action.ALLOW, deny: Action.DENY, reject: Action.REJECT } as const;

type VpcRule = NonNullable<FirewallSource['firewall']>['rules'][number];
type AddressSet = VpcRule['source'];

/** A port or "LOW-HIGH" as a range, or a problem. */
function portRange(v: number | string, field: string, problems: string[]): { lo: number; hi: number } | undefined {
  const m = typeof v === 'number' ? [String(v), String(v)] : /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(v)?.slice(1);
  if (m === undefined || (typeof v === 'number' && !Number.isInteger(v))) {
    problems.push(`${field}: ${JSON.stringify(v)} must be a port or a range such as 8000-8080`);
    return undefined;
  }
  const lo = Number(m[0]);
  const hi = m[1] === undefined ? lo : Number(m[1]);
  if (lo < 1 || hi > 65535 || lo > hi) {
    problems.push(`${field}: ${v} must be 1-65535 (a range LOW-HIGH with LOW <= HIGH)`);
    return undefined;
  }
  return { lo, hi };
}

/** `protocols:` as PortMatches; [] (every protocol) when absent. */
function protocolsOf(rule: VpcRule, field: string, problems: string[]): PortMatch[] {
  const out: PortMatch[] = [];
  (rule.protocols ?? []).forEach((p, j) => {
    const f = `${field}.protocols[${j}]`;
    const proto = typeof p.protocol === 'number' ? p.protocol : PROTOCOLS[p.protocol.toLowerCase()];
    if (proto === undefined || !Number.isInteger(proto) || proto < -1 || proto > 255) {
      problems.push(`${f}.protocol: ${JSON.stringify(p.protocol)} is not tcp, udp, icmp, sctp, all or a protocol number 0-255`);
      return;
    }
    const ports = p.ports ?? [];
    if (ports.length > 0 && proto !== 6 && proto !== 17 && proto !== 132) {
      problems.push(`${f}.ports: only tcp, udp and sctp have ports (protocol ${p.protocol})`);
      return;
    }
    if (ports.length === 0) out.push({ proto, lo: 0, hi: 65535 });
    ports.forEach((v, k) => {
      const r = portRange(v, `${f}.ports[${k}]`, problems);
      if (r !== undefined) out.push({ proto, lo: r.lo, hi: r.hi });
    });
  });
  return out;
}

/** A source or destination: its cidrs and the /32s of the endpoints with its labels, in one list (they OR). */
function addressSet(set: AddressSet, endpoints: readonly Endpoint[], field: string, problems: string[]): AddressMatch {
  if (set === undefined) return ANY;
  if ((set.cidrs ?? []).length === 0 && set.labels === undefined) problems.push(`${field}: give "cidrs" or "labels" (or leave ${field.split('.').pop()} out for any address)`);
  const include = (set.cidrs ?? []).map((c, k) => parseCidr(c, `${field}.cidrs[${k}]`, problems));
  if (set.labels !== undefined) for (const e of endpoints) if (hasLabels(e.labels, set.labels)) include.push({ addr: e.address, len: 32 });
  return { include, except: [] };
}

/** The targets of a rule that the extra constraint on their side (ingress: destination; egress: source) lets through. */
function targetsOf(rule: VpcRule, side: AddressSet, endpoints: readonly Endpoint[], field: string, problems: string[]): Endpoint[] {
  const wanted = rule.targets?.labels ?? {};
  const picked = endpoints.filter((e) => hasLabels(e.labels, wanted));
  if (side === undefined) return picked;
  const m = addressSet(side, endpoints, field, problems);
  return picked.filter((e) => addressMatches(m, e.address));
}

function compileVpcRules(rules: readonly VpcRule[], endpoints: readonly Endpoint[], plan: FirewallPlan, problems: string[]): void {
  const names = new Map<string, number>();
  rules.forEach((r, i) => {
    const field = `firewall.rules[${i}]`;
    // A rule whose name the schema refused (firewall-salvage.ts) is nobody's duplicate.
    if (r.name !== UNNAMED_RULE) {
      const first = names.get(r.name);
      if (first !== undefined) problems.push(`${field}.name: "${r.name}" is already the name of firewall.rules[${first}]`);
      else names.set(r.name, i);
    }
    const ports = protocolsOf(r, field, problems);
    const ingress = r.direction === 'ingress';
    const targets = ingress ? targetsOf(r, r.destination, endpoints, `${field}.destination`, problems) : targetsOf(r, r.source, endpoints, `${field}.source`, problems);
    const peer = ingress ? addressSet(r.source, endpoints, `${field}.source`, problems) : addressSet(r.destination, endpoints, `${field}.destination`, problems);
    const origin = plan.origins.push({ kind: 'vpc', name: r.name, direction: r.direction, priority: r.priority, action: ACTIONS[r.action] }) - 1;
    // No target or no peer left: the rule matches nothing (listed, compiled to no rule).
    if (targets.length === 0 || peer.include.length === 0) return;
    const mine = hostsOf(targets);
    plan.rules.push({
      section: ingress ? Section.VPC_INGRESS : Section.VPC_EGRESS,
      priority: r.priority,
      action: ACTIONS[r.action],
      src: ingress ? peer : mine,
      dst: ingress ? mine : peer,
      ports,
      origin,
    });
  });
}

function addImplied(plan: FirewallPlan, endpoints: readonly Endpoint[]): void {
  const all = hostsOf(endpoints);
  const implied: [RuleOrigin, Omit<ClassifierRule, 'origin'>][] = [
    [
      { kind: 'implied', name: 'implied-deny-ingress', direction: 'ingress', priority: 65535, action: Action.DENY },
      { section: Section.VPC_INGRESS, priority: 65535, action: Action.DENY, src: ANY, dst: all, ports: [] },
    ],
    [
      { kind: 'implied', name: 'implied-allow-egress', direction: 'egress', priority: 65535, action: Action.ALLOW },
      { section: Section.VPC_EGRESS, priority: 65535, action: Action.ALLOW, src: all, dst: ANY, ports: [] },
    ],
  ];
  for (const [o, r] of implied) plan.rules.push({ ...r, origin: plan.origins.push(o) - 1 });
}

/**
 * The plan, or undefined when no firewall is configured (endpoints alone turn
 * nothing on). `configDir` resolves networkPolicyFile. Problems are pushed
 * to `problems`; the plan returned then is not to be used. `ports` are the
 * router's (an endpoint is neither one of them nor their subnets' edges).
 * `endpointsRefused`: endpoints were written but the schema refused each of
 * them (firewall-salvage.ts); the rules and policies are checked all the
 * same, rather than blamed for a list that is not empty as written.
 */
export function compileFirewall(raw: FirewallSource, configDir: string, problems: string[], ports: readonly AddressCheckPort[] = [], endpointsRefused = false): FirewallPlan | undefined {
  const { endpoints, namespaces } = checkEndpoints(raw, problems, ports);
  const policies = policiesOf(raw, configDir, problems);
  const configured = raw.firewall !== undefined || raw.networkPolicies !== undefined || raw.networkPolicyFile !== undefined;
  if (!configured) {
    if (raw.namespaces !== undefined && raw.endpoints === undefined) problems.push('namespaces: declared without endpoints (they label the endpoints\' namespaces)');
    return undefined;
  }
  if (endpoints.length === 0 && !endpointsRefused) {
    const what = raw.firewall !== undefined ? 'firewall' : raw.networkPolicies !== undefined ? 'networkPolicies' : 'networkPolicyFile';
    problems.push(`endpoints: ${what} is configured but no endpoints are listed (the firewall protects endpoints: endpoints: [{ address: 198.51.100.10, labels: { app: db } }])`);
    return undefined;
  }
  const plan: FirewallPlan = { rules: [], origins: [], endpoints: endpoints.map((e) => e.address) };
  if (raw.firewall !== undefined) {
    compileVpcRules(raw.firewall.rules, endpoints, plan, problems);
    addImplied(plan, endpoints);
  }
  compileNetworkPolicies(policies, { endpoints, namespaces }, plan, problems);
  return plan;
}
