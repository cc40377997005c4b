// YAML merge keys (`<<: *anchor`, docker-compose style) in every YAML a user
// writes: the config, its networkPolicyFile and the control section ctl reads.
// The protections stay: duplicate keys and alias bombs (merged ones too) are
// still refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ctlTarget } from '../../src/cli/ctl-command.js';
import { parseConfig } from '../../src/config/load.js';
import { policiesOfText } from '../../src/config/network-policy-file.js';
import { ACTION_NAMES } from '../../src/firewall/plan.js';
import { dataplane } from '../cli-run.js';
import { configProblems } from './config-problems.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-yaml-merge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const problems = (yaml: string) => configProblems(yaml, dir);

describe('YAML merge keys', () => {
  it('a config using <<: *defaults loads with the merged values; a key given beside << wins', () => {
    const c = parseConfig(
      `
x-port: &port { mtu: 9000, io: { type: tap, vnetHdr: false } }
x-rule: &rule { direction: ingress, priority: 500, action: allow }
ports:
  - { <<: *port, name: lan, address: 192.0.2.1/24 }
  - <<: *port
    name: wan
    address: 198.51.100.1/24
    mtu: 1400
endpoints:
  - { address: 198.51.100.10, labels: { app: db } }
firewall:
  rules:
    - { <<: *rule, name: web }
    - { <<: *rule, name: ssh, action: deny }
`,
      'c.yaml',
      dir,
    );
    expect(c.ports.map((p) => [p.name, p.mtu, p.io.type])).toEqual([
      ['lan', 9000, 'tap'],
      ['wan', 1400, 'tap'],
    ]);
    expect(c.firewall?.origins.filter((o) => o.kind === 'vpc').map((r) => [r.name, r.direction, r.priority, ACTION_NAMES[r.action]])).toEqual([
      ['web', 'ingress', 500, 'allow'],
      ['ssh', 'ingress', 500, 'deny'],
    ]);
  });

  it('anchored on the first entry (no extension field) works too', () => {
    const c = parseConfig('ports:\n  - &p { name: lan, address: 192.0.2.1/24, mtu: 9000 }\n  - { <<: *p, name: wan, address: 198.51.100.1/24 }\n', 'c.yaml', dir);
    expect(c.ports.map((p) => [p.name, p.mtu])).toEqual([['lan', 9000], ['wan', 9000]]);
  });

  it('only top-level x- keys are extension fields: one inside a section is still an unknown field', () => {
    expect(problems('ports:\n  - { name: lan, address: 192.0.2.1/24, x-note: hi }\n')).toEqual(['ports[0]: unknown field "x-note"']);
  });

  it('a duplicate key is still an error, merge keys or not', () => {
    const p = problems('x-d: &d { mtu: 9000 }\nports:\n  - { <<: *d, name: lan, name: wan, address: 192.0.2.1/24 }\n');
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^YAML: Map keys must be unique/);
  });

  it('a merge key given something other than a mapping is a problem naming its line (yaml threw a bare "Merge sources must be maps" that crashed run)', () => {
    const yaml = 'x-n: &n 5\nx-m: &m { mtu: 9000 }\nports:\n  - { <<: "1e3", name: lan, address: 192.0.2.1/24 }\n  - <<: [*m, *n]\n    name: wan\n    address: 198.51.100.1/24\n  - <<:\n    name: dmz\n    address: 203.0.113.1/24\n  - { <<: [a, b], name: x, address: 198.18.0.1/24 }\n';
    const where = (line: number, given: string) => `YAML: the merge key "<<" at line ${line} takes a mapping, an alias of one (*NAME), or a list of those; it was given ${given}`;
    expect(problems(yaml)).toEqual([where(4, 'the value "1e3"'), where(5, 'the value "5"'), where(8, 'nothing'), where(11, 'the value "a"')]);
    writeFileSync(join(dir, 'merge-scalar.yaml'), yaml);
    const r = dataplane(['route', 'lookup', '--config', join(dir, 'merge-scalar.yaml'), '192.0.2.1']);
    expect({ status: r.status, stderr: r.stderr.split('\n').slice(0, 2) }).toEqual({ status: 2, stderr: [`dataplane route lookup: ${join(dir, 'merge-scalar.yaml')}: invalid config:`, `  ${where(4, 'the value "1e3"')}`] });
  });

  it('an alias bomb built of merge keys is still refused by the alias limit', () => {
    const levels = ['x-l0: &l0 { a: 1, b: 2 }'];
    for (let i = 1; i <= 9; i++) levels.push(`x-l${i}: &l${i} { <<: [${Array(10).fill(`*l${i - 1}`).join(', ')}], k${i}: [*l${i - 1}, *l${i - 1}] }`);
    const p = problems(`${levels.join('\n')}\nports: []\n`);
    expect(p).toHaveLength(1);
    expect(p[0]).toBe('YAML: too many alias expansions (more than 1000; an alias bomb is refused)');
  });

  it('a networkPolicyFile document merges as the config does', () => {
    const problems: string[] = [];
    const text = `kind: List
items:
  - &base { metadata: { name: a, namespace: prod }, spec: { podSelector: {}, policyTypes: [Ingress] } }
  - { <<: *base, metadata: { name: b, namespace: prod } }
`;
    const out = policiesOfText(text, 'np.yaml', problems);
    expect(problems).toEqual([]);
    expect(out.map((p) => [p.policy.metadata.name, p.policy.spec.policyTypes])).toEqual([
      ['a', ['Ingress']],
      ['b', ['Ingress']],
    ]);
  });

  it('a networkPolicyFile merge key given a scalar, an alias with no anchor, a broken document: named with the line in the file, as the config does (was yaml\'s bare "Merge sources must be maps")', () => {
    const problems: string[] = [];
    const text = `kind: NetworkPolicy
metadata: { name: a, namespace: prod }
spec: { podSelector: {} }
---
kind: NetworkPolicy
metadata: { name: b, namespace: prod }
spec: { <<: 3, podSelector: {} }
---
kind: NetworkPolicy
metadata: { name: c, namespace: *nope }
`;
    const out = policiesOfText(text, 'np.yaml', problems);
    expect(problems).toEqual([
      'networkPolicyFile: np.yaml documents[1]: YAML: the merge key "<<" at line 7 takes a mapping, an alias of one (*NAME), or a list of those; it was given the value "3"',
      'networkPolicyFile: np.yaml documents[2]: YAML: alias "*nope" names no anchor set before it (an anchor is written &NAME on an earlier value)',
    ]);
    // The good document is still read.
    expect(out.map((p) => p.policy.metadata.name)).toEqual(['a']);
  });

  it('ctl --config reads a control section written with a merge key', async () => {
    const file = join(dir, 'ctl.yaml');
    writeFileSync(file, 'x-control: &c { socket: /run/dp-merged.sock }\ncontrol: { <<: *c }\n');
    expect(await ctlTarget({ config: file })).toBe('/run/dp-merged.sock');
  });
});
