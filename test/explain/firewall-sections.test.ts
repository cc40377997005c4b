// `explain` names every firewall section as `dataplane firewall --judge` does:
// VPC egress, policy egress (of the source), VPC ingress, policy ingress (of
// the destination), each with its verdict and the rule or policy that gave
// it ("no rule matched" where none did), the deciding one marked. A packet
// allowed between two endpoints with policies on both ends used to show
// only the rules that matched, so an open section (or, for a packet leaving
// the endpoints, everything but the egress rule) was left unsaid.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explainOffline } from '../../src/explain/offline.js';
import { dataplane } from '../cli-run.js';
import { config } from './configs.js';

const YAML = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 198.51.100.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 192.0.2.1/24 }
neighbors:
  - { address: 198.51.100.10, mac: "02:aa:00:00:00:01" }
  - { address: 198.51.100.11, mac: "02:aa:00:00:00:02" }
  - { address: 192.0.2.50, mac: "02:bb:00:00:00:01" }
namespaces:
  - { name: prod }
endpoints:
  - { address: 198.51.100.10, namespace: prod, labels: { app: db } }
  - { address: 198.51.100.11, namespace: prod, labels: { app: web } }
firewall:
  rules:
    - { name: web-out, direction: egress, priority: 500, action: allow, targets: { labels: { app: web } } }
    - { name: db-in, direction: ingress, priority: 1000, action: allow, protocols: [{ protocol: tcp, ports: [5432] }], targets: { labels: { app: db } } }
networkPolicies:
  - metadata: { name: db-from-web, namespace: prod }
    spec:
      podSelector: { matchLabels: { app: db } }
      ingress: [{ from: [{ podSelector: { matchLabels: { app: web } } }], ports: [{ port: 5432 }] }]
conntrack: { capacity: 1024 }
`;

const dir = mkdtempSync(join(tmpdir(), `explain-sections-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'router.yaml');
writeFileSync(file, YAML);

/** [explain's packet, the same packet as --judge takes it]. */
const PACKETS: [string, string][] = [
  ['tcp 198.51.100.11:40000 > 198.51.100.10:5432 in lan', '198.51.100.11:40000 -> 198.51.100.10:5432 tcp'], // allowed, all four sections
  ['tcp 198.51.100.11:40000 > 192.0.2.50:443 in lan', '198.51.100.11:40000 -> 192.0.2.50:443 tcp'], // allowed leaving the endpoints: egress only matched
  ['tcp 198.51.100.10:40000 > 198.51.100.11:80 in lan', '198.51.100.10:40000 -> 198.51.100.11:80 tcp'], // denied by the implied ingress deny
  ['tcp 192.0.2.50:40000 > 198.51.100.10:5432 in wan', '192.0.2.50:40000 -> 198.51.100.10:5432 tcp'], // denied by the policy's isolation
];

describe('explain: every firewall section, as firewall --judge shows them', () => {
  it('an allowed packet between two endpoints names the rule of each section that matched, and the section no rule matched', () => {
    const r = explainOffline(config(YAML), PACKETS[0][0]);
    expect(r.firewall?.decision).toBe('allow');
    expect(r.firewall?.sections.map((s) => [s.section, s.action, s.rule?.name ?? null, s.rule?.priority ?? null, s.decides])).toEqual([
      ['vpc-egress', 'allow', 'web-out', 500, false],
      ['policy-egress', 'allow', null, null, false],
      ['vpc-ingress', 'allow', 'db-in', 1000, false],
      ['policy-ingress', 'allow', 'prod/db-from-web', 0, false],
    ]);
  });

  it('the command prints the same section lines as firewall --judge, for allowed and denied packets', () => {
    for (const [spec, judge] of PACKETS) {
      const j = dataplane(['firewall', '--config', file, '--judge', judge]);
      expect(j.status, j.stderr).toBe(0);
      const judged = j.stdout.trimEnd().split('\n').slice(1).map((l) => l.trim());
      expect(judged).toHaveLength(4);
      const e = dataplane(['explain', '--config', file, spec]);
      expect(e.status, e.stderr).toBe(0);
      const lines = e.stdout.split('\n');
      const at = lines.findIndex((l) => l.startsWith('firewall: '));
      expect(at, e.stdout).toBeGreaterThan(0);
      expect(lines.slice(at + 1, at + 5).map((l) => l.trim()), spec).toEqual(judged);
    }
  });

  it('--json carries the sections; a packet neither from nor to an endpoint has none', () => {
    const e = dataplane(['explain', '--config', file, '--json', PACKETS[2][0]]);
    const r = JSON.parse(e.stdout) as { firewall: { decision: string; sections: { section: string; action: string; rule: { name: string } | null; decides: boolean }[] } };
    expect(r.firewall.decision).toBe('deny');
    expect(r.firewall.sections.filter((s) => s.decides).map((s) => [s.section, s.rule?.name])).toEqual([['vpc-ingress', 'implied-deny-ingress']]);
    expect(explainOffline(config(YAML), 'tcp 192.0.2.50:40000 > 198.51.100.99:80 in wan').firewall).toMatchObject({ decision: 'not-judged', sections: [] });
  });
});
