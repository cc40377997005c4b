// NetworkPolicy as https://kubernetes.io/docs/concepts/services-networking/network-policies/
// describes it, judged by the reference evaluator on the compiled plan.
import { describe, expect, it } from 'vitest';
import { Section } from '../../src/firewall/plan.js';
import { plan, verdict, verdicts } from './config-helpers.js';

// prod: db .10, web .11, api .12 (ports http 8080, metrics 9100); staging: web .20 (http 80); default: tool .30; monitoring: prom .40.
const CLUSTER = `
namespaces:
  - { name: prod, labels: { env: prod } }
  - { name: staging, labels: { env: staging } }
  - { name: monitoring, labels: { team: obs } }
endpoints:
  - { address: 198.51.100.10, namespace: prod, labels: { app: db }, ports: [{ name: pg, port: 5432 }] }
  - { address: 198.51.100.11, namespace: prod, labels: { app: web, tier: front }, ports: [{ name: http, port: 8080 }] }
  - { address: 198.51.100.12, namespace: prod, labels: { app: api, tier: back }, ports: [{ name: http, port: 8080 }, { name: metrics, port: 9100 }] }
  - { address: 198.51.100.20, namespace: staging, labels: { app: web }, ports: [{ name: http, port: 80 }, { name: dns, port: 53, protocol: UDP }] }
  - { address: 198.51.100.30, labels: { app: tool } }
  - { address: 198.51.100.40, namespace: monitoring, labels: { app: prom } }
`;

const policies = (...specs: string[]) => CLUSTER + 'networkPolicies:\n' + specs.map((s) => `  - ${s}\n`).join('');

describe('NetworkPolicy', () => {
  it('default deny: podSelector {} with no ingress rules isolates the whole namespace for ingress, and only it', () => {
    const p = plan(policies('{ metadata: { name: deny-all, namespace: prod }, spec: { podSelector: {}, policyTypes: [Ingress] } }'));
    expect(verdicts(p, ['198.51.100.30:40000 -> 198.51.100.10:5432 tcp', '198.51.100.11 -> 198.51.100.12 icmp', '198.51.100.10:40000 -> 198.51.100.20:80 tcp', '203.0.113.9:40000 -> 198.51.100.30:22 tcp'])).toEqual({
      '198.51.100.30:40000 -> 198.51.100.10:5432 tcp': 'deny',
      '198.51.100.11 -> 198.51.100.12 icmp': 'deny',
      '198.51.100.10:40000 -> 198.51.100.20:80 tcp': 'allow',
      '203.0.113.9:40000 -> 198.51.100.30:22 tcp': 'allow',
    });
    // An empty ingress list says the same.
    const q = plan(policies('{ metadata: { name: deny-all, namespace: prod }, spec: { podSelector: {}, ingress: [] } }'));
    expect(verdict(q, '198.51.100.30:40000 -> 198.51.100.10:5432 tcp')).toBe('deny');
  });

  it('policies are additive: a selected endpoint allows the union of its policies\' rules', () => {
    const p = plan(policies(
      '{ metadata: { name: from-web, namespace: prod }, spec: { podSelector: { matchLabels: { app: db } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: web } } }] }] } }',
      '{ metadata: { name: from-api, namespace: prod }, spec: { podSelector: { matchLabels: { app: db } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: api } } }], ports: [{ port: 5432 }] }] } }',
    ));
    expect(verdicts(p, ['198.51.100.11:40000 -> 198.51.100.10:22 tcp', '198.51.100.12:40000 -> 198.51.100.10:5432 tcp', '198.51.100.12:40000 -> 198.51.100.10:22 tcp', '198.51.100.30:40000 -> 198.51.100.10:5432 tcp'])).toEqual({
      '198.51.100.11:40000 -> 198.51.100.10:22 tcp': 'allow',
      '198.51.100.12:40000 -> 198.51.100.10:5432 tcp': 'allow',
      '198.51.100.12:40000 -> 198.51.100.10:22 tcp': 'deny',
      '198.51.100.30:40000 -> 198.51.100.10:5432 tcp': 'deny',
    });
  });

  it('podSelector and namespaceSelector in one peer AND; in two peers OR; podSelector alone means the policy\'s namespace', () => {
    const from = (peers: string) => plan(policies(`{ metadata: { name: p, namespace: prod }, spec: { podSelector: { matchLabels: { app: db } }, ingress: [{ from: ${peers} }] } }`));
    const packets = ['198.51.100.11 -> 198.51.100.10 icmp', '198.51.100.20 -> 198.51.100.10 icmp', '198.51.100.12 -> 198.51.100.10 icmp', '198.51.100.30 -> 198.51.100.10 icmp'];
    // web pods in staging namespaces only.
    expect(Object.values(verdicts(from('[{ podSelector: { matchLabels: { app: web } }, namespaceSelector: { matchLabels: { env: staging } } }]'), packets))).toEqual(['deny', 'allow', 'deny', 'deny']);
    // web pods of prod, or anything in staging.
    expect(Object.values(verdicts(from('[{ podSelector: { matchLabels: { app: web } } }, { namespaceSelector: { matchLabels: { env: staging } } }]'), packets))).toEqual(['allow', 'allow', 'deny', 'deny']);
    // podSelector alone: web pods of the policy's namespace (prod), not staging's.
    expect(Object.values(verdicts(from('[{ podSelector: { matchLabels: { app: web } } }]'), packets))).toEqual(['allow', 'deny', 'deny', 'deny']);
    // namespaceSelector {}: every pod of every namespace; the automatic name label picks one namespace.
    expect(Object.values(verdicts(from('[{ namespaceSelector: {} }]'), packets))).toEqual(['allow', 'allow', 'allow', 'allow']);
    expect(Object.values(verdicts(from('[{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: default } } }]'), packets))).toEqual(['deny', 'deny', 'deny', 'allow']);
  });

  it('matchExpressions: In, NotIn, Exists, DoesNotExist, ANDed with matchLabels', () => {
    const sel = (s: string) => plan(policies(`{ metadata: { name: p, namespace: prod }, spec: { podSelector: ${s}, policyTypes: [Ingress] } }`));
    const isolated = (s: string) => ['198.51.100.10', '198.51.100.11', '198.51.100.12'].map((a) => verdict(sel(s), `198.51.100.30 -> ${a} icmp`) === 'deny');
    expect(isolated('{ matchExpressions: [{ key: tier, operator: In, values: [front, edge] }] }')).toEqual([false, true, false]);
    expect(isolated('{ matchExpressions: [{ key: tier, operator: NotIn, values: [front] }] }')).toEqual([true, false, true]);
    expect(isolated('{ matchExpressions: [{ key: tier, operator: Exists }] }')).toEqual([false, true, true]);
    expect(isolated('{ matchExpressions: [{ key: tier, operator: DoesNotExist }] }')).toEqual([true, false, false]);
    expect(isolated('{ matchLabels: { app: api }, matchExpressions: [{ key: tier, operator: Exists }] }')).toEqual([false, false, true]);
  });

  it('ipBlock: cidr minus except', () => {
    const p = plan(policies('{ metadata: { name: p, namespace: prod }, spec: { podSelector: { matchLabels: { app: web } }, ingress: [{ from: [{ ipBlock: { cidr: 203.0.113.0/24, except: [203.0.113.128/25] } }] }] } }'));
    expect(Object.values(verdicts(p, ['203.0.113.5 -> 198.51.100.11 icmp', '203.0.113.200 -> 198.51.100.11 icmp', '192.0.2.5 -> 198.51.100.11 icmp']))).toEqual(['allow', 'deny', 'deny']);
  });

  it('ipBlock with host bits set loads as its network, as the Kubernetes API server accepts it (IsValidCIDRForLegacyField)', () => {
    const p = plan(policies('{ metadata: { name: p, namespace: prod }, spec: { podSelector: { matchLabels: { app: web } }, ingress: [{ from: [{ ipBlock: { cidr: 203.0.113.77/24, except: [203.0.113.129/25] } }] }] } }'));
    expect(Object.values(verdicts(p, ['203.0.113.5 -> 198.51.100.11 icmp', '203.0.113.200 -> 198.51.100.11 icmp', '192.0.2.5 -> 198.51.100.11 icmp']))).toEqual(['allow', 'deny', 'deny']);
  });

  it('named ports resolve on the receiving endpoint: the selected one for ingress, the peer for egress; an ipBlock peer gets nothing', () => {
    const ing = plan(policies('{ metadata: { name: http-in, namespace: prod }, spec: { podSelector: { matchLabels: { tier: front } }, ingress: [{ ports: [{ port: http }] }] } }',
      '{ metadata: { name: http-in2, namespace: prod }, spec: { podSelector: { matchLabels: { tier: back } }, ingress: [{ ports: [{ port: http }] }] } }'));
    expect(Object.values(verdicts(ing, ['203.0.113.5:1 -> 198.51.100.11:8080 tcp', '203.0.113.5:1 -> 198.51.100.11:80 tcp', '203.0.113.5:1 -> 198.51.100.11:8080 udp', '203.0.113.5:1 -> 198.51.100.12:8080 tcp', '203.0.113.5:1 -> 198.51.100.12:9100 tcp']))).toEqual(['allow', 'deny', 'deny', 'allow', 'deny']);
    // Egress: "http" is 8080 at prod's web and 80 at staging's; the source's own ports do not matter.
    const eg = plan(policies('{ metadata: { name: out, namespace: default }, spec: { podSelector: {}, policyTypes: [Egress], egress: [{ to: [{ namespaceSelector: {} }, { ipBlock: { cidr: 203.0.113.0/24 } }], ports: [{ port: http }, { protocol: UDP, port: dns }] }] } }'));
    expect(verdicts(eg, ['198.51.100.30:1 -> 198.51.100.11:8080 tcp', '198.51.100.30:1 -> 198.51.100.11:80 tcp', '198.51.100.30:1 -> 198.51.100.20:80 tcp', '198.51.100.30:1 -> 198.51.100.20:8080 tcp', '198.51.100.30:1 -> 198.51.100.20:53 udp', '198.51.100.30:1 -> 198.51.100.10:8080 tcp', '198.51.100.30:1 -> 203.0.113.5:80 tcp'])).toEqual({
      '198.51.100.30:1 -> 198.51.100.11:8080 tcp': 'allow',
      '198.51.100.30:1 -> 198.51.100.11:80 tcp': 'deny',
      '198.51.100.30:1 -> 198.51.100.20:80 tcp': 'allow',
      '198.51.100.30:1 -> 198.51.100.20:8080 tcp': 'deny',
      '198.51.100.30:1 -> 198.51.100.20:53 udp': 'allow',
      '198.51.100.30:1 -> 198.51.100.10:8080 tcp': 'deny',
      '198.51.100.30:1 -> 203.0.113.5:80 tcp': 'deny',
    });
  });

  it('endPort: a range from port to endPort, per protocol', () => {
    const p = plan(policies('{ metadata: { name: p, namespace: prod }, spec: { podSelector: { matchLabels: { app: api } }, ingress: [{ ports: [{ protocol: UDP, port: 32000, endPort: 32768 }] }] } }'));
    expect(Object.values(verdicts(p, ['203.0.113.5:1 -> 198.51.100.12:32000 udp', '203.0.113.5:1 -> 198.51.100.12:32768 udp', '203.0.113.5:1 -> 198.51.100.12:32769 udp', '203.0.113.5:1 -> 198.51.100.12:31999 udp', '203.0.113.5:1 -> 198.51.100.12:32100 tcp']))).toEqual(['allow', 'allow', 'deny', 'deny', 'deny']);
  });

  it('both ends decide: the source\'s egress and the destination\'s ingress must both allow', () => {
    const aOut = '{ metadata: { name: tool-out, namespace: default }, spec: { podSelector: {}, egress: [{ to: [{ namespaceSelector: { matchLabels: { env: prod } } }] }] } }';
    const bIn = '{ metadata: { name: db-in, namespace: prod }, spec: { podSelector: { matchLabels: { app: db } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: monitoring } } }] }] } }';
    const dbIn2 = '{ metadata: { name: db-in, namespace: prod }, spec: { podSelector: { matchLabels: { app: db } }, ingress: [{ from: [{ namespaceSelector: {} }] }] } }';
    const p = plan(policies(aOut, bIn));
    // tool's egress allows prod, db's ingress allows only monitoring: denied, by policy-ingress.
    expect(verdict(p, '198.51.100.30:1 -> 198.51.100.10:5432 tcp')).toBe('deny');
    // Vice versa: db's ingress allows everyone, tool's egress allows only prod: to staging denied (policy-egress).
    const q = plan(policies(aOut, dbIn2));
    expect(verdict(q, '198.51.100.30:1 -> 198.51.100.10:5432 tcp')).toBe('allow');
    expect(verdict(q, '198.51.100.30:1 -> 198.51.100.20:80 tcp')).toBe('deny');
    expect(verdict(q, '198.51.100.40:1 -> 198.51.100.10:5432 tcp')).toBe('allow');
    expect(verdict(p, '198.51.100.40:1 -> 198.51.100.10:5432 tcp')).toBe('allow');
  });

  it('policyTypes defaults as the API server sets it: Ingress always, Egress only when spec.egress has rules', () => {
    // egress rules and no policyTypes: both directions; the ingress side is then deny-all.
    const both = plan(policies('{ metadata: { name: p, namespace: prod }, spec: { podSelector: { matchLabels: { app: web } }, egress: [{ to: [{ ipBlock: { cidr: 203.0.113.0/24 } }] }] } }'));
    expect(verdicts(both, ['198.51.100.11 -> 203.0.113.5 icmp', '198.51.100.11 -> 192.0.2.5 icmp', '192.0.2.5 -> 198.51.100.11 icmp'])).toEqual({
      '198.51.100.11 -> 203.0.113.5 icmp': 'allow',
      '198.51.100.11 -> 192.0.2.5 icmp': 'deny',
      '192.0.2.5 -> 198.51.100.11 icmp': 'deny',
    });
    // egress: [] is no rules: Ingress only, egress stays open.
    const empty = plan(policies('{ metadata: { name: p, namespace: prod }, spec: { podSelector: { matchLabels: { app: web } }, egress: [] } }'));
    expect(verdict(empty, '198.51.100.11 -> 192.0.2.5 icmp')).toBe('allow');
    expect(verdict(empty, '192.0.2.5 -> 198.51.100.11 icmp')).toBe('deny');
    // policyTypes [Egress] given: ingress stays open even with ingress rules written.
    const egressOnly = plan(policies('{ metadata: { name: p, namespace: prod }, spec: { podSelector: { matchLabels: { app: web } }, policyTypes: [Egress], ingress: [{ from: [{ ipBlock: { cidr: 203.0.113.0/24 } }] }] } }'));
    expect(verdict(egressOnly, '192.0.2.5 -> 198.51.100.11 icmp')).toBe('allow');
    expect(verdict(egressOnly, '198.51.100.11 -> 192.0.2.5 icmp')).toBe('deny');
  });

  it('an ingress rule with no from (or an empty one) allows every source; an egress rule with no to every destination', () => {
    const p = plan(policies('{ metadata: { name: p, namespace: prod }, spec: { podSelector: { matchLabels: { app: db } }, policyTypes: [Ingress, Egress], ingress: [{ from: [], ports: [{ port: 5432 }] }], egress: [{ ports: [{ protocol: UDP, port: 53 }] }] } }'));
    expect(Object.values(verdicts(p, ['203.0.113.5:1 -> 198.51.100.10:5432 tcp', '203.0.113.5:1 -> 198.51.100.10:22 tcp', '198.51.100.10:1 -> 192.0.2.53:53 udp', '198.51.100.10:1 -> 192.0.2.53:53 tcp']))).toEqual(['allow', 'deny', 'allow', 'deny']);
  });

  it('compiles peers x ports rules, not x endpoints: a selection is one rule with many /32s', () => {
    const many = Array.from({ length: 200 }, (_, i) => `  - { address: 198.18.${i >> 8}.${i & 255}, namespace: big, labels: { app: w } }`).join('\n');
    const p = plan(`endpoints:\n${many}\nnetworkPolicies:\n  - { metadata: { name: p, namespace: big }, spec: { podSelector: { matchLabels: { app: w } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: w } } }, { ipBlock: { cidr: 203.0.113.0/24 } }], ports: [{ port: 80 }, { port: 443 }] }] } }\n`);
    const ingress = p.rules.filter((r) => r.section === Section.POLICY_INGRESS);
    // 2 peers x 1 numeric port group, plus the isolation deny.
    expect(ingress).toHaveLength(3);
    expect(ingress[0].dst.include).toHaveLength(200);
    expect(verdict(p, '198.18.0.7:1 -> 198.18.0.9:443 tcp')).toBe('allow');
    expect(verdict(p, '192.0.2.7:1 -> 198.18.0.9:443 tcp')).toBe('deny');
  });
});
