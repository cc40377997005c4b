// Kubernetes NetworkPolicy (networking.k8s.io/v1) compiled into the plan's
// POLICY_INGRESS and POLICY_EGRESS sections, with the meaning
// https://kubernetes.io/docs/concepts/services-networking/network-policies/
// gives it:
//
// - A policy selects endpoints of its namespace (spec.podSelector) for the
//   directions of its policyTypes (defaulted as the API server does:
//   Ingress always, Egress when spec.egress has a rule). A selected endpoint
//   allows, in that direction, only the union of its policies' rules; an
//   endpoint no policy selects is open.
// - So each (rule x peer x port group) is an ALLOW at priority 0 whose own
//   side (ingress: dst; egress: src) is the selected endpoints' /32s, and
//   per direction one DENY at priority 1 covers every selected endpoint.
//   A selection is one rule with many /32s: the count grows with peers and
//   ports, not endpoints; only named ports split a rule, by the number each
//   endpoint gives the name.
// - A peer with podSelector and namespaceSelector is their AND; podSelector
//   alone means the policy's namespace; separate peers OR. No `from`/`to`:
//   every address. ipBlock: cidr minus except.
// - A named port resolves on the endpoint that receives: for ingress the
//   selected endpoint, for egress the peer endpoint (an ipBlock peer, being
//   no endpoint, gets nothing for a named port).
import { Action, Section, type AddressMatch, type FirewallPlan, type PortMatch } from '../firewall/plan.js';
import { ANY, checkSelector, hostsOf, NO_LABELS, parseCidr, selects, type Endpoint, type EndpointSet } from './firewall-endpoints.js';
import { PORT_NAME, type NetworkPolicy } from './firewall-schema.js';
import type { SourcedPolicy } from './network-policy-file.js';

const PROTOCOLS = { TCP: 6, UDP: 17, SCTP: 132 } as const;

type Direction = 'ingress' | 'egress';
type PolicyRule = NonNullable<NetworkPolicy['spec']['ingress']>[number] & NonNullable<NetworkPolicy['spec']['egress']>[number];
type Peer = NonNullable<PolicyRule['from']>[number];
type PolicyPort = NonNullable<PolicyRule['ports']>[number];

/** Who a peer is: addresses (ipBlock, or anyone) and the endpoints among them that a named port can resolve on. */
interface PeerAddresses {
  cidr: AddressMatch | undefined;
  endpoints: Endpoint[];
}

interface PortGroups {
  /** Numeric ports and whole protocols; [] with `all` means every protocol and port. */
  numeric: PortMatch[];
  all: boolean;
  /** Named ports: "name/PROTOCOL" and the protocol number. */
  named: { key: string; proto: number }[];
}

function contains(outer: { addr: number; len: number }, inner: { addr: number; len: number }): boolean {
  return inner.len > outer.len && (outer.len === 0 || inner.addr >>> (32 - outer.len) === outer.addr >>> (32 - outer.len));
}

function peerOf(p: Peer, ns: string, set: EndpointSet, field: string, problems: string[]): PeerAddresses | undefined {
  const selectors = p.podSelector !== undefined || p.namespaceSelector !== undefined;
  if (p.ipBlock !== undefined) {
    if (selectors) problems.push(`${field}: ipBlock cannot be combined with podSelector or namespaceSelector in one peer (use two peers)`);
    const cidr = parseCidr(p.ipBlock.cidr, undefined, problems);
    const except = (p.ipBlock.except ?? []).map((c, m) => {
      const x = parseCidr(c, undefined, problems);
      if (!contains(cidr, x)) problems.push(`${field}.ipBlock.except[${m}]: ${c} is not strictly inside cidr ${p.ipBlock!.cidr}`);
      return x;
    });
    return { cidr: { include: [cidr], except }, endpoints: [] };
  }
  if (!selectors) {
    problems.push(`${field}: a peer needs podSelector, namespaceSelector or ipBlock`);
    return undefined;
  }
  if (p.podSelector !== undefined) checkSelector(p.podSelector, `${field}.podSelector`, problems);
  if (p.namespaceSelector !== undefined) checkSelector(p.namespaceSelector, `${field}.namespaceSelector`, problems);
  const inNamespace = (e: Endpoint): boolean => (p.namespaceSelector === undefined ? e.namespace === ns : selects(p.namespaceSelector, set.namespaces.get(e.namespace) ?? NO_LABELS));
  const endpoints = set.endpoints.filter((e) => inNamespace(e) && (p.podSelector === undefined || selects(p.podSelector, e.labels)));
  return { cidr: undefined, endpoints };
}

function portsOf(ports: readonly PolicyPort[] | undefined, field: string, problems: string[]): PortGroups {
  const g: PortGroups = { numeric: [], all: (ports ?? []).length === 0, named: [] };
  (ports ?? []).forEach((q, m) => {
    const f = `${field}.ports[${m}]`;
    const proto = PROTOCOLS[q.protocol];
    if (q.endPort !== undefined && typeof q.port !== 'number') problems.push(`${f}.endPort: needs a numeric port`);
    if (q.port === undefined) g.numeric.push({ proto, lo: 0, hi: 65535 });
    else if (typeof q.port === 'number') {
      if (!Number.isInteger(q.port) || q.port < 1 || q.port > 65535) problems.push(`${f}.port: ${q.port} must be 1-65535`);
      else if (q.endPort !== undefined && q.endPort < q.port) problems.push(`${f}.endPort: ${q.endPort} must be at least port ${q.port}`);
      else g.numeric.push({ proto, lo: q.port, hi: q.endPort ?? q.port });
    } else if (/^\d+$/.test(q.port)) problems.push(`${f}.port: "${q.port}" is a string: write ${q.port} (no quotes) for the number`);
    else if (!PORT_NAME.test(q.port)) problems.push(`${f}.port: "${q.port}" must be a port number or a port name (1-15 lowercase letters, digits and "-", with a letter)`);
    else g.named.push({ key: `${q.port}/${q.protocol}`, proto });
  });
  return g;
}

/** Endpoints by the number they give a named port (those without it are left out). */
function byPortNumber(endpoints: readonly Endpoint[], key: string): Map<number, Endpoint[]> {
  const groups = new Map<number, Endpoint[]>();
  for (const e of endpoints) {
    const n = e.ports.get(key);
    if (n === undefined) continue;
    const g = groups.get(n);
    if (g === undefined) groups.set(n, [e]);
    else g.push(e);
  }
  return groups;
}

/** Validates every part of a policy; compiles its rules of the directions it affects into `plan`. Returns the endpoints it isolates per direction. */
function compilePolicy({ policy, field }: SourcedPolicy, set: EndpointSet, plan: FirewallPlan, problems: string[]): Record<Direction, Endpoint[]> {
  const ns = policy.metadata.namespace;
  const spec = policy.spec;
  checkSelector(spec.podSelector, `${field}.spec.podSelector`, problems);
  const selected = set.endpoints.filter((e) => e.namespace === ns && selects(spec.podSelector, e.labels));
  // The API server's defaulting: an empty or absent policyTypes is Ingress, plus Egress when there are egress rules.
  const types = spec.policyTypes !== undefined && spec.policyTypes.length > 0 ? spec.policyTypes : ['Ingress', ...((spec.egress ?? []).length > 0 ? ['Egress'] : [])];
  const isolated: Record<Direction, Endpoint[]> = { ingress: [], egress: [] };
  for (const dir of ['ingress', 'egress'] as const) {
    const affects = types.includes(dir === 'ingress' ? 'Ingress' : 'Egress');
    const origin = affects ? plan.origins.push({ kind: 'policy', name: `${ns}/${policy.metadata.name}`, direction: dir, priority: 0, action: Action.ALLOW }) - 1 : -1;
    if (affects) isolated[dir] = selected;
    const section = dir === 'ingress' ? Section.POLICY_INGRESS : Section.POLICY_EGRESS;
    const mine = hostsOf(selected);
    const allow = (peer: AddressMatch, own: AddressMatch, ports: PortMatch[]) => {
      if (!affects || peer.include.length === 0 || own.include.length === 0) return;
      plan.rules.push({ section, priority: 0, action: Action.ALLOW, src: dir === 'ingress' ? peer : own, dst: dir === 'ingress' ? own : peer, ports, origin });
    };
    (spec[dir] ?? []).forEach((rule: PolicyRule, k) => {
      const rf = `${field}.spec.${dir}[${k}]`;
      const key = dir === 'ingress' ? 'from' : 'to';
      const list = (dir === 'ingress' ? rule.from : rule.to) ?? [];
      const peers: PeerAddresses[] = [];
      if (list.length === 0) peers.push({ cidr: ANY, endpoints: set.endpoints });
      list.forEach((p, j) => {
        const r = peerOf(p, ns, set, `${rf}.${key}[${j}]`, problems);
        if (r !== undefined) peers.push(r);
      });
      const ports = portsOf(rule.ports, rf, problems);
      for (const peer of peers) {
        const addresses = peer.cidr ?? hostsOf(peer.endpoints);
        if (ports.all || ports.numeric.length > 0) allow(addresses, mine, ports.all ? [] : ports.numeric);
        for (const n of ports.named) {
          // Ingress: the selected endpoint names the port; egress: the peer endpoint does.
          const groups = byPortNumber(dir === 'ingress' ? selected : peer.endpoints, n.key);
          for (const [num, group] of groups) {
            const port = [{ proto: n.proto, lo: num, hi: num }];
            if (dir === 'ingress') allow(addresses, hostsOf(group), port);
            else allow(hostsOf(group), mine, port);
          }
        }
      }
    });
  }
  return isolated;
}

/** Every policy into `plan`, then one isolation DENY per direction over the endpoints some policy selects for it. */
export function compileNetworkPolicies(policies: readonly SourcedPolicy[], set: EndpointSet, plan: FirewallPlan, problems: string[]): void {
  const names = new Map<string, string>();
  const isolated: Record<Direction, Set<Endpoint>> = { ingress: new Set(), egress: new Set() };
  for (const p of policies) {
    const id = `${p.policy.metadata.namespace}/${p.policy.metadata.name}`;
    const first = names.get(id);
    if (first !== undefined) problems.push(`${p.field}.metadata.name: policy ${id} is already defined by ${first}`);
    else names.set(id, p.field);
    const iso = compilePolicy(p, set, plan, problems);
    for (const dir of ['ingress', 'egress'] as const) for (const e of iso[dir]) isolated[dir].add(e);
  }
  for (const dir of ['ingress', 'egress'] as const) {
    if (isolated[dir].size === 0) continue;
    const origin = plan.origins.push({ kind: 'isolation', name: `isolation-${dir}`, direction: dir, priority: 1, action: Action.DENY }) - 1;
    const own = hostsOf([...isolated[dir]]);
    plan.rules.push({ section: dir === 'ingress' ? Section.POLICY_INGRESS : Section.POLICY_EGRESS, priority: 1, action: Action.DENY, src: dir === 'ingress' ? ANY : own, dst: dir === 'ingress' ? own : ANY, ports: [], origin });
  }
}
