// networkPolicyFile: what `kubectl get netpol -A -o yaml` writes (a List with
// server fields such as uid and resourceVersion), a NetworkPolicyList, or
// manifests one per YAML document; problems name the file and the document.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { plan, problems, verdicts } from './config-helpers.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const dir = mkdtempSync(join(os.tmpdir(), 'dp-fw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLUSTER = `
namespaces: [{ name: prod }, { name: staging }, { name: monitoring }, { name: kube-system }]
endpoints:
  - { address: 198.51.100.10, namespace: prod, labels: { app: db }, ports: [{ name: pg, port: 5432 }] }
  - { address: 198.51.100.11, namespace: prod, labels: { app: web }, ports: [{ name: http, port: 8080 }] }
  - { address: 198.51.100.20, namespace: staging, labels: { app: web } }
  - { address: 198.51.100.40, namespace: monitoring, labels: { app: prometheus }, ports: [{ name: metrics, port: 9090 }] }
  - { address: 198.51.100.53, namespace: kube-system, labels: { k8s-app: kube-dns } }
`;

describe('networkPolicyFile', () => {
  it('reads kubectl get netpol -A -o yaml output (a List with server fields), relative to the config', () => {
    const p = plan(CLUSTER + 'networkPolicyFile: netpol-all.yaml\n', FIXTURES);
    expect(p.origins.filter((o) => o.kind === 'policy').map((o) => `${o.name} ${o.direction}`)).toEqual([
      'prod/db-from-web ingress',
      'prod/web-from-lb-and-monitoring ingress',
      'staging/default-deny ingress',
      'staging/default-deny egress',
      'staging/allow-dns egress',
    ]);
    expect(verdicts(p, [
      '198.51.100.11:1 -> 198.51.100.10:5432 tcp',
      '198.51.100.20:1 -> 198.51.100.10:5432 tcp',
      '203.0.113.9:1 -> 198.51.100.11:8080 tcp',
      '203.0.113.200:1 -> 198.51.100.11:8080 tcp',
      '203.0.113.9:1 -> 198.51.100.11:8443 tcp',
      '198.51.100.40:1 -> 198.51.100.11:9090 tcp',
      '198.51.100.20:1 -> 198.51.100.53:53 udp',
      '198.51.100.20:1 -> 198.51.100.11:8080 tcp',
      '198.51.100.10:1 -> 198.51.100.20:80 tcp',
    ])).toEqual({
      '198.51.100.11:1 -> 198.51.100.10:5432 tcp': 'allow',
      '198.51.100.20:1 -> 198.51.100.10:5432 tcp': 'deny',
      '203.0.113.9:1 -> 198.51.100.11:8080 tcp': 'allow',
      '203.0.113.200:1 -> 198.51.100.11:8080 tcp': 'deny',
      '203.0.113.9:1 -> 198.51.100.11:8443 tcp': 'allow',
      // "metrics" is a port of prometheus, not of web: resolves on the selected (web) endpoint to nothing.
      '198.51.100.40:1 -> 198.51.100.11:9090 tcp': 'deny',
      '198.51.100.20:1 -> 198.51.100.53:53 udp': 'allow',
      '198.51.100.20:1 -> 198.51.100.11:8080 tcp': 'deny',
      '198.51.100.10:1 -> 198.51.100.20:80 tcp': 'deny',
    });
  });

  it('reads one policy per document (--- between them) and NetworkPolicyList items, after inline policies', () => {
    writeFileSync(join(dir, 'multi.yaml'), `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: db-deny, namespace: prod }
spec: { podSelector: { matchLabels: { app: db } } }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicyList
items:
  - metadata: { name: web-deny, namespace: prod, resourceVersion: "7" }
    spec: { podSelector: { matchLabels: { app: web } }, policyTypes: [Egress] }
---
`);
    const p = plan(CLUSTER + 'networkPolicies:\n  - { metadata: { name: stg, namespace: staging }, spec: { podSelector: {}, ingress: [{}] } }\nnetworkPolicyFile: multi.yaml\n', dir);
    expect(p.origins.filter((o) => o.kind === 'policy').map((o) => `${o.name} ${o.direction}`)).toEqual(['staging/stg ingress', 'prod/db-deny ingress', 'prod/web-deny egress']);
    expect(Object.values(verdicts(p, ['198.51.100.11:1 -> 198.51.100.10:5432 tcp', '198.51.100.11:1 -> 198.51.100.20:80 tcp', '198.51.100.10:1 -> 198.51.100.20:80 tcp']))).toEqual(['deny', 'deny', 'allow']);
  });

  it('problems name the file and the document (and the item of a List)', () => {
    writeFileSync(join(dir, 'bad.yaml'), `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: a, namespace: prod }
spec: { podSelector: {}, ingres: [] }
---
kind: List
items:
  - metadata: { name: b }
    spec: { podSelector: {}, ingress: [{ ports: [{ port: http, endPort: 90 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: s }
---
a: [unclosed
`);
    expect(problems(CLUSTER + 'networkPolicyFile: bad.yaml\n', dir)).toEqual([
      'networkPolicyFile: bad.yaml documents[0].spec: unknown field "ingres"',
      'networkPolicyFile: bad.yaml documents[2].kind: "Service" is not a NetworkPolicy (or a List of them)',
      expect.stringMatching(/^networkPolicyFile: bad\.yaml documents\[3\]: YAML: /),
      'networkPolicyFile: bad.yaml documents[1].items[0].spec.ingress[0].ports[0].endPort: needs a numeric port',
    ]);
    expect(problems(CLUSTER + 'networkPolicyFile: missing.yaml\n', dir)).toEqual([`networkPolicyFile: cannot read ${join(dir, 'missing.yaml')}: no such file (ENOENT)`]);
  });
});
