// VPC firewall rules (`firewall:`): implied rules, priority, deny over allow,
// protocols and ports, targets, labels as addresses, and when the firewall
// is on at all. Each judged by the reference evaluator on the compiled plan.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { plan, PORTS, verdict, verdicts } from './config-helpers.js';

const ENDPOINTS = `
endpoints:
  - { address: 198.51.100.10, namespace: prod, labels: { app: db } }
  - { address: 198.51.100.11, labels: { app: web } }
  - { address: 198.51.100.12, labels: { app: lb } }
`;

describe('VPC firewall rules', () => {
  it('the issue\'s endpoint line loads exactly as written', () => {
    const p = plan('endpoints:\n  - { address: 198.51.100.10, namespace: prod, labels: { app: db } }\nfirewall: {}\n');
    expect(p.endpoints).toEqual([0xc633640a]);
  });

  it('implied rules: ingress to an endpoint is denied, its egress allowed, traffic between others not judged', () => {
    const p = plan(ENDPOINTS + 'firewall: { rules: [] }\n');
    expect(verdicts(p, ['203.0.113.5:40000 -> 198.51.100.10:5432 tcp', '198.51.100.10:40000 -> 203.0.113.5:443 tcp', '203.0.113.5 -> 192.0.2.9 icmp'])).toEqual({
      '203.0.113.5:40000 -> 198.51.100.10:5432 tcp': 'deny',
      '198.51.100.10:40000 -> 203.0.113.5:443 tcp': 'allow',
      '203.0.113.5 -> 192.0.2.9 icmp': 'not judged',
    });
    expect(p.origins.filter((o) => o.kind === 'implied').map((o) => [o.name, o.direction, o.priority])).toEqual([
      ['implied-deny-ingress', 'ingress', 65535],
      ['implied-allow-egress', 'egress', 65535],
    ]);
  });

  it('the issue\'s rule: tcp ports and ranges plus icmp, from cidrs or labelled endpoints, to the targets only', () => {
    const p = plan(ENDPOINTS + `
firewall:
  rules:
    - name: allow-web
      direction: ingress
      priority: 1000
      action: allow
      protocols: [{ protocol: tcp, ports: [80, "8000-8080"] }, { protocol: icmp }]
      source: { cidrs: [203.0.113.0/24], labels: { app: lb } }
      targets: { labels: { app: web } }
`);
    expect(verdicts(p, [
      '203.0.113.5:40000 -> 198.51.100.11:80 tcp',
      '203.0.113.5:40000 -> 198.51.100.11:8080 tcp',
      '203.0.113.5:40000 -> 198.51.100.11:8081 tcp',
      '203.0.113.5 -> 198.51.100.11 icmp',
      '203.0.113.5:40000 -> 198.51.100.11:80 udp',
      '198.51.100.12:40000 -> 198.51.100.11:8000 tcp',
      '198.51.100.10:40000 -> 198.51.100.11:80 tcp',
      '192.0.2.7:40000 -> 198.51.100.11:80 tcp',
      '203.0.113.5:40000 -> 198.51.100.10:80 tcp',
    ])).toEqual({
      '203.0.113.5:40000 -> 198.51.100.11:80 tcp': 'allow',
      '203.0.113.5:40000 -> 198.51.100.11:8080 tcp': 'allow',
      '203.0.113.5:40000 -> 198.51.100.11:8081 tcp': 'deny',
      '203.0.113.5 -> 198.51.100.11 icmp': 'allow',
      '203.0.113.5:40000 -> 198.51.100.11:80 udp': 'deny',
      '198.51.100.12:40000 -> 198.51.100.11:8000 tcp': 'allow',
      '198.51.100.10:40000 -> 198.51.100.11:80 tcp': 'deny',
      '192.0.2.7:40000 -> 198.51.100.11:80 tcp': 'deny',
      '203.0.113.5:40000 -> 198.51.100.10:80 tcp': 'deny',
    });
  });

  it('a lower priority number wins, whatever the order in the list; default priority is 1000', () => {
    const rules = (a: string, b: string) => ENDPOINTS + `
firewall:
  rules:
    - { name: a, direction: ingress, action: ${a.split(':')[0]}, priority: ${a.split(':')[1]} }
    - { name: b, direction: ingress, action: ${b.split(':')[0]}${b.includes(':') ? `, priority: ${b.split(':')[1]}` : ''} }
`;
    const packet = '203.0.113.5:40000 -> 198.51.100.11:80 tcp';
    expect(verdict(plan(rules('deny:2000', 'allow:100')), packet)).toBe('allow');
    expect(verdict(plan(rules('allow:2000', 'deny:100')), packet)).toBe('deny');
    expect(verdict(plan(rules('deny:999', 'allow')), packet)).toBe('deny');
    expect(verdict(plan(rules('deny:1001', 'allow')), packet)).toBe('allow');
  });

  it('at equal priority deny (and reject) beat allow, in either list order', () => {
    const two = (first: string, second: string) => ENDPOINTS + `
firewall:
  rules:
    - { name: one, direction: ingress, action: ${first}, priority: 500 }
    - { name: two, direction: ingress, action: ${second}, priority: 500 }
`;
    const packet = '203.0.113.5:40000 -> 198.51.100.11:80 tcp';
    expect(verdict(plan(two('allow', 'deny')), packet)).toBe('deny');
    expect(verdict(plan(two('deny', 'allow')), packet)).toBe('deny');
    expect(verdict(plan(two('allow', 'reject')), packet)).toBe('reject');
  });

  it('a rule of priority below 65535 overrides the implied rules both ways', () => {
    const p = plan(ENDPOINTS + `
firewall:
  rules:
    - { name: open-db, direction: ingress, action: allow, priority: 65534, targets: { labels: { app: db } } }
    - { name: no-egress, direction: egress, action: deny, priority: 65534, destination: { cidrs: [203.0.113.0/24] } }
`);
    expect(verdicts(p, ['203.0.113.5:40000 -> 198.51.100.10:5432 tcp', '203.0.113.5:40000 -> 198.51.100.11:80 tcp', '198.51.100.11:40000 -> 203.0.113.5:443 tcp', '198.51.100.11:40000 -> 192.0.2.9:443 tcp'])).toEqual({
      '203.0.113.5:40000 -> 198.51.100.10:5432 tcp': 'allow',
      '203.0.113.5:40000 -> 198.51.100.11:80 tcp': 'deny',
      '198.51.100.11:40000 -> 203.0.113.5:443 tcp': 'deny',
      '198.51.100.11:40000 -> 192.0.2.9:443 tcp': 'allow',
    });
  });

  it('egress targets constrain the source; ingress destination is an extra constraint on the targets; protocol numbers and all', () => {
    const p = plan(ENDPOINTS + `
firewall:
  rules:
    - { name: web-egress-gre, direction: egress, action: reject, protocols: [{ protocol: 47 }], targets: { labels: { app: web } } }
    - { name: in-10, direction: ingress, action: allow, protocols: [{ protocol: all }], destination: { cidrs: [198.51.100.10/32] } }
`);
    expect(verdicts(p, ['198.51.100.11 -> 203.0.113.5 47', '198.51.100.12 -> 203.0.113.5 47', '203.0.113.5 -> 198.51.100.10:53 udp', '203.0.113.5 -> 198.51.100.11:53 udp'])).toEqual({
      '198.51.100.11 -> 203.0.113.5 47': 'reject',
      '198.51.100.12 -> 203.0.113.5 47': 'allow',
      '203.0.113.5 -> 198.51.100.10:53 udp': 'allow',
      '203.0.113.5 -> 198.51.100.11:53 udp': 'deny',
    });
  });

  it('a rule whose targets match no endpoint is listed but compiles to no plan rule', () => {
    const p = plan(ENDPOINTS + 'firewall:\n  rules:\n    - { name: ghost, direction: ingress, action: allow, targets: { labels: { app: nope } } }\n');
    expect(p.origins[0].name).toBe('ghost');
    expect(p.rules.filter((r) => r.origin === 0)).toHaveLength(0);
  });

  it('endpoints alone configure no firewall; NetworkPolicy alone adds no VPC rules (no implied ingress deny)', () => {
    expect(parseConfig(PORTS + ENDPOINTS, 'c.yaml', '.').firewall).toBeUndefined();
    expect(parseConfig(PORTS, 'c.yaml', '.').firewall).toBeUndefined();
    const p = plan(ENDPOINTS + 'networkPolicies:\n  - { metadata: { name: db, namespace: prod }, spec: { podSelector: { matchLabels: { app: db } } } }\n');
    expect(p.origins.some((o) => o.kind === 'implied' || o.kind === 'vpc')).toBe(false);
    expect(verdict(p, '203.0.113.5:40000 -> 198.51.100.11:80 tcp')).toBe('allow');
    expect(verdict(p, '203.0.113.5:40000 -> 198.51.100.10:5432 tcp')).toBe('deny');
  });
});
