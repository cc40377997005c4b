// Label keys and values wherever the config takes them (endpoints' and
// namespaces' labels, a rule's targets and sources, NetworkPolicy selectors
// inline and in a networkPolicyFile) follow the Kubernetes syntax and are
// refused in the API server's words, naming the field. A key "__proto__"
// used to vanish without a word (zod's record leaves it out), so a rule
// whose targets were { __proto__: web } targeted every endpoint; keys such
// as "constructor" are labels like any other.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { labelKeyProblems, labelValueProblems } from '../../src/config/label-syntax.js';
import { dataplane } from '../cli-run.js';
import { plan, verdicts } from '../firewall/config-helpers.js';
import { configProblems } from './config-problems.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-labels-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PORTS = 'ports:\n  - { name: lan, address: 198.51.100.1/24 }\n  - { name: wan, address: 203.0.113.1/24 }\n';
const EP = 'endpoints:\n  - { address: 198.51.100.10, namespace: prod, labels: { app: db } }\n  - { address: 198.51.100.11, namespace: prod, labels: { app: web } }\n';

const NAME_RULE = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', 'my.name' or '123-abc')";
const VALUE_RULE = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue', 'my_value' or '12345')";
const badKey = (k: string) => `invalid label key "${k}": ${NAME_RULE}`;

describe('label keys and values: the Kubernetes syntax, in its words', () => {
  it('a key: [PREFIX/]NAME, the prefix a lowercase RFC 1123 subdomain of at most 253 characters, the name at most 63', () => {
    for (const k of ['app', 'App.Name_1', 'a', 'example.com/app', 'kubernetes.io/metadata.name', `${'a'.repeat(63)}`, `${'a'.repeat(61)}.b.${'c'.repeat(189)}/${'n'.repeat(63)}`, 'constructor', 'toString']) {
      expect(labelKeyProblems(k), k).toEqual([]);
    }
    expect(labelKeyProblems('__proto__')).toEqual([NAME_RULE]);
    expect(labelKeyProblems('-x')).toEqual([NAME_RULE]);
    expect(labelKeyProblems('a'.repeat(64))).toEqual(['name part must be no more than 63 characters']);
    expect(labelKeyProblems('/app')).toEqual(['prefix part must be non-empty']);
    expect(labelKeyProblems('example.com/')).toEqual(['name part must be non-empty']);
    expect(labelKeyProblems(`${'a'.repeat(254)}/app`)).toEqual(['prefix part must be no more than 253 characters']);
    expect(labelKeyProblems('Example.com/app')).toEqual([
      "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')",
    ]);
    expect(labelKeyProblems('a/b/c')).toEqual([
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', 'my.name' or '123-abc') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ]);
  });

  it('a value: empty, or at most 63 of the name characters', () => {
    for (const v of ['', 'db', 'My_Value.1', 'v'.repeat(63)]) expect(labelValueProblems(v), v).toEqual([]);
    expect(labelValueProblems('-bad')).toEqual([VALUE_RULE]);
    expect(labelValueProblems('v'.repeat(64))).toEqual(['must be no more than 63 characters']);
    expect(labelValueProblems(`-${'v'.repeat(64)}`)).toEqual(['must be no more than 63 characters', VALUE_RULE]);
  });
});

describe('labels in the config: each bad key and value named by its field, exit 2', () => {
  it('__proto__ as a key is refused wherever labels are taken (it vanished before, unseen)', () => {
    expect(
      configProblems(`${PORTS}namespaces:\n  - { name: prod, labels: { __proto__: p, env: prod } }\nendpoints:\n  - { address: 198.51.100.10, labels: { __proto__: x, app: db } }\n`),
    ).toEqual([`endpoints[0].labels.__proto__: ${badKey('__proto__')}`, `namespaces[0].labels.__proto__: ${badKey('__proto__')}`]);
    expect(
      configProblems(`${PORTS}${EP}firewall:\n  rules:\n    - { name: a, direction: ingress, action: allow, targets: { labels: { __proto__: web } }, source: { labels: { __proto__: db } } }\n`),
    ).toEqual([`firewall.rules[0].source.labels.__proto__: ${badKey('__proto__')}`, `firewall.rules[0].targets.labels.__proto__: ${badKey('__proto__')}`]);
    const selector = '{ matchLabels: { __proto__: db }, matchExpressions: [{ key: __proto__, operator: In, values: [db, "-x"] }] }';
    expect(configProblems(`${PORTS}${EP}networkPolicies:\n  - { metadata: { name: p, namespace: prod }, spec: { podSelector: ${selector}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { __proto__: x } } }] }] } }\n`)).toEqual([
      `networkPolicies[0].spec.podSelector.matchLabels.__proto__: ${badKey('__proto__')}`,
      `networkPolicies[0].spec.podSelector.matchExpressions[0].key: ${badKey('__proto__')}`,
      `networkPolicies[0].spec.podSelector.matchExpressions[0].values[1]: invalid label value "-x": ${VALUE_RULE}`,
      `networkPolicies[0].spec.ingress[0].from[0].namespaceSelector.matchLabels.__proto__: ${badKey('__proto__')}`,
    ]);
  });

  it('a bad key and a bad value of one mapping are both named in one pass; a value that is no string says to quote it', () => {
    expect(configProblems(`${PORTS}endpoints:\n  - { address: 198.51.100.10, labels: { "-k": "v-", "Example.com/app": "${'v'.repeat(64)}", tier: 1 } }\nfirewall: {}\n`)).toEqual([
      `endpoints[0].labels.-k: ${badKey('-k')}`,
      `endpoints[0].labels.-k: invalid label value "v-": ${VALUE_RULE}`,
      "endpoints[0].labels.Example.com/app: invalid label key \"Example.com/app\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')",
      `endpoints[0].labels.Example.com/app: invalid label value "${'v'.repeat(64)}": must be no more than 63 characters`,
      'endpoints[0].labels.tier: must be a string (quote numbers and booleans: "1", "true")',
    ]);
  });

  it('a networkPolicyFile document names the file and the document', () => {
    writeFileSync(join(dir, 'netpol.yaml'), [
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: ok, namespace: prod }\nspec: { podSelector: { matchLabels: { app: db } } }',
      'apiVersion: v1\nkind: List\nitems:\n  - metadata: { name: bad, namespace: prod }\n    spec:\n      podSelector: { matchLabels: { __proto__: db } }\n      ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: "a/b/c", operator: Exists }] } }] }]',
    ].join('\n---\n'));
    expect(configProblems(`${PORTS}${EP}networkPolicyFile: netpol.yaml\n`, dir)).toEqual([
      `networkPolicyFile: netpol.yaml documents[1].items[0].spec.podSelector.matchLabels.__proto__: ${badKey('__proto__')}`,
      "networkPolicyFile: netpol.yaml documents[1].items[0].spec.ingress[0].from[0].podSelector.matchExpressions[0].key: invalid label key \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName', 'my.name' or '123-abc') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ]);
  });

  it('dataplane firewall: exit 2 with the field and the reason (before: a rule targeting { __proto__: web } opened every endpoint)', () => {
    const file = join(dir, 'proto.yaml');
    writeFileSync(file, `${PORTS}${EP}firewall:\n  rules:\n    - { name: ssh, direction: ingress, action: allow, protocols: [{ protocol: tcp, ports: [22] }], targets: { labels: { __proto__: web } } }\n`);
    const r = dataplane(['firewall', '--config', file, '--judge', '203.0.113.5:40000 -> 198.51.100.10:22 tcp']);
    expect([r.status, r.stdout, r.stderr]).toEqual([2, '', `dataplane firewall: ${file}: invalid config:\n  firewall.rules[0].targets.labels.__proto__: ${badKey('__proto__')}\n`]);
  });
});

describe('keys that name Object.prototype members are labels like any other', () => {
  // Each endpoint has one of these keys; a selector on it must pick that endpoint alone.
  const KEYS = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];
  const endpoints = KEYS.map((k, i) => `  - { address: 198.51.100.${10 + i}, namespace: prod, labels: { ${k}: "yes" } }\n`).join('');
  const cluster = `namespaces:\n  - { name: prod, labels: { constructor: ns } }\n  - { name: dev }\nendpoints:\n${endpoints}  - { address: 198.51.100.20, namespace: dev, labels: { app: client } }\n`;
  const packets = KEYS.map((_, i) => `198.51.100.20:40000 -> 198.51.100.${10 + i}:22 tcp`);

  it.each(KEYS)('a VPC rule targets { %s: "yes" }: that endpoint only', (key) => {
    const p = plan(`${cluster}firewall:\n  rules:\n    - { name: a, direction: ingress, action: allow, targets: { labels: { ${key}: "yes" } }, source: { labels: { app: client } } }\n`);
    expect(Object.values(verdicts(p, packets))).toEqual(KEYS.map((k) => (k === key ? 'allow' : 'deny')));
  });

  it('NetworkPolicy: matchLabels, Exists and NotIn on such keys, and a namespace label "constructor"', () => {
    const policy = (selector: string) =>
      plan(`${cluster}networkPolicies:\n  - { metadata: { name: p, namespace: prod }, spec: { podSelector: ${selector}, ingress: [{ from: [{ namespaceSelector: { matchLabels: { constructor: ns } } }] }] } }\n`);
    // Isolated (only prod may reach it): the selected endpoints deny the client in dev.
    const isolated = (selector: string) => Object.values(verdicts(policy(selector), packets)).map((v) => v === 'deny');
    expect(isolated('{ matchLabels: { toString: "yes" } }')).toEqual([false, true, false, false, false]);
    expect(isolated('{ matchExpressions: [{ key: constructor, operator: Exists }] }')).toEqual([true, false, false, false, false]);
    expect(isolated('{ matchExpressions: [{ key: valueOf, operator: DoesNotExist }] }')).toEqual([true, true, true, false, true]);
    expect(isolated('{ matchExpressions: [{ key: hasOwnProperty, operator: In, values: ["yes"] }] }')).toEqual([false, false, true, false, false]);
    expect(isolated('{ matchExpressions: [{ key: isPrototypeOf, operator: NotIn, values: ["yes"] }] }')).toEqual([true, true, true, true, false]);
    // The namespace selector { constructor: ns } picks prod, so an endpoint of prod may reach a selected one.
    expect(verdicts(policy('{ matchLabels: { toString: "yes" } }'), ['198.51.100.10:40000 -> 198.51.100.11:22 tcp'])).toEqual({ '198.51.100.10:40000 -> 198.51.100.11:22 tcp': 'allow' });
  });
});
