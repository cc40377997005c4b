// Every mistake in the firewall's config is a problem naming its field, all
// of them in one ConfigError; nothing starts.
import { describe, expect, it } from 'vitest';
import { problems } from './config-helpers.js';

const EP = 'endpoints:\n  - { address: 198.51.100.10, namespace: prod, labels: { app: db } }\n';
const rule = (r: string) => `${EP}firewall:\n  rules:\n    - ${r}\n`;
const policy = (spec: string) => `${EP}networkPolicies:\n  - { metadata: { name: p, namespace: prod }, spec: ${spec} }\n`;

describe('firewall config errors name their field', () => {
  it.each([
    ['priority out of range', rule('{ name: a, direction: ingress, action: allow, priority: 70000 }'), ['firewall.rules[0].priority: must be 0-65535']],
    ['unknown action', rule('{ name: a, direction: ingress, action: drop }'), [expect.stringMatching(/^firewall\.rules\[0\]\.action: .*"allow"/)]],
    ['unknown protocol', rule('{ name: a, direction: ingress, action: allow, protocols: [{ protocol: gre }] }'), ['firewall.rules[0].protocols[0].protocol: "gre" is not tcp, udp, icmp, sctp, all or a protocol number 0-255']],
    ['protocol number out of range', rule('{ name: a, direction: ingress, action: allow, protocols: [{ protocol: 256 }] }'), ['firewall.rules[0].protocols[0].protocol: 256 is not tcp, udp, icmp, sctp, all or a protocol number 0-255']],
    ['ports on icmp', rule('{ name: a, direction: ingress, action: allow, protocols: [{ protocol: icmp, ports: [8] }] }'), ['firewall.rules[0].protocols[0].ports: only tcp, udp and sctp have ports (protocol icmp)']],
    ['backwards range', rule('{ name: a, direction: ingress, action: allow, protocols: [{ protocol: tcp, ports: ["8080-80"] }] }'), ['firewall.rules[0].protocols[0].ports[0]: 8080-80 must be 1-65535 (a range LOW-HIGH with LOW <= HIGH)']],
    ['cidr with host bits', rule('{ name: a, direction: ingress, action: allow, source: { cidrs: [203.0.113.7/24] } }'), ['firewall.rules[0].source.cidrs[0]: 203.0.113.7/24 has host bits set for /24 (did you mean 203.0.113.0/24?)']],
    ['empty source', rule('{ name: a, direction: ingress, action: allow, source: {} }'), ['firewall.rules[0].source: give "cidrs" or "labels" (or leave source out for any address)']],
    ['unknown rule field', rule('{ name: a, direction: ingress, action: allow, target: { labels: { app: db } } }'), ['firewall.rules[0]: unknown field "target"']],
    ['label value not a string', `endpoints:\n  - { address: 198.51.100.10, labels: { tier: 1 } }\nfirewall: {}\n`, ['endpoints[0].labels.tier: must be a string (quote numbers and booleans: "1", "true")']],
    ['bad label key', `endpoints:\n  - { address: 198.51.100.10, labels: { "app name": db } }\nfirewall: {}\n`, [expect.stringMatching(/^endpoints\[0\]\.labels\.app name: invalid label key "app name": name part must consist of /)]],
    ['endPort with a named port', policy('{ podSelector: {}, ingress: [{}, { ports: [{ port: pg, endPort: 6000 }] }] }'), ['networkPolicies[0].spec.ingress[1].ports[0].endPort: needs a numeric port']],
    ['endPort without a port', policy('{ podSelector: {}, egress: [{ ports: [{ endPort: 6000 }] }] }'), ['networkPolicies[0].spec.egress[0].ports[0].endPort: needs a numeric port']],
    ['endPort below port', policy('{ podSelector: {}, ingress: [{ ports: [{ port: 6000, endPort: 5000 }] }] }'), ['networkPolicies[0].spec.ingress[0].ports[0].endPort: 5000 must be at least port 6000']],
    ['quoted port number', policy('{ podSelector: {}, ingress: [{ ports: [{ port: "80" }] }] }'), ['networkPolicies[0].spec.ingress[0].ports[0].port: "80" is a string: write 80 (no quotes) for the number']],
    ['peer with nothing', policy('{ podSelector: {}, ingress: [{ from: [{}] }] }'), ['networkPolicies[0].spec.ingress[0].from[0]: a peer needs podSelector, namespaceSelector or ipBlock']],
    ['ipBlock with a selector', policy('{ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: 203.0.113.0/24 }, podSelector: {} }] }] }'), ['networkPolicies[0].spec.ingress[0].from[0]: ipBlock cannot be combined with podSelector or namespaceSelector in one peer (use two peers)']],
    ['except outside the cidr', policy('{ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: 203.0.113.0/24, except: [192.0.2.0/25] } }] }] }'), ['networkPolicies[0].spec.ingress[0].from[0].ipBlock.except[0]: 192.0.2.0/25 is not strictly inside cidr 203.0.113.0/24']],
    ['In without values', policy('{ podSelector: { matchExpressions: [{ key: app, operator: In }] } }'), ['networkPolicies[0].spec.podSelector.matchExpressions[0].values: In needs at least one value']],
    ['Exists with values', policy('{ podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: env, operator: Exists, values: [x] }] } }] }] }'), ['networkPolicies[0].spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values: Exists takes no values']],
    ['unknown operator', policy('{ podSelector: { matchExpressions: [{ key: app, operator: Equals, values: [x] }] } }'), [expect.stringMatching(/^networkPolicies\[0\]\.spec\.podSelector\.matchExpressions\[0\]\.operator: /)]],
    ['unknown protocol in a policy', policy('{ podSelector: {}, ingress: [{ ports: [{ protocol: ICMP }] }] }'), [expect.stringMatching(/^networkPolicies\[0\]\.spec\.ingress\[0\]\.ports\[0\]\.protocol: /)]],
    ['wrong apiVersion', `${EP}networkPolicies:\n  - { apiVersion: networking.k8s.io/v1beta1, metadata: { name: p }, spec: {} }\n`, ['networkPolicies[0].apiVersion: must be networking.k8s.io/v1']],
    ['policy without a name', `${EP}networkPolicies:\n  - { metadata: { namespace: prod }, spec: {} }\n`, [expect.stringMatching(/^networkPolicies\[0\]\.metadata\.name: /)]],
  ])('%s', (_, yaml, expected) => {
    expect(problems(yaml)).toEqual(expected);
  });

  it('duplicates: endpoint addresses, rule names, policy names, port names, namespaces', () => {
    expect(problems(`
namespaces: [{ name: prod }, { name: prod }]
endpoints:
  - { address: 198.51.100.10 }
  - { address: 198.51.100.11, ports: [{ name: http, port: 80 }, { name: http, port: 8080 }] }
  - { address: 198.51.100.12 }
  - { address: 198.51.100.10 }
firewall:
  rules:
    - { name: a, direction: ingress, action: allow }
    - { name: a, direction: egress, action: deny }
networkPolicies:
  - { metadata: { name: p }, spec: {} }
  - { metadata: { name: p, namespace: default }, spec: {} }
`)).toEqual([
      'endpoints[1].ports[1].name: "http" is already endpoints[1].ports[0]',
      'endpoints[3].address: 198.51.100.10 is listed twice (endpoints[0])',
      'namespaces[1].name: "prod" is listed twice',
      'firewall.rules[1].name: "a" is already the name of firewall.rules[0]',
      'networkPolicies[1].metadata.name: policy default/p is already defined by networkPolicies[0]',
    ]);
  });

  it('a firewall or policies without endpoints is an error; so are namespaces without endpoints', () => {
    expect(problems('firewall: { rules: [] }\n')).toEqual([expect.stringMatching(/^endpoints: firewall is configured but no endpoints are listed/)]);
    expect(problems('networkPolicyFile: x.yaml\nendpoints: []\n').some((p) => p.startsWith('endpoints: networkPolicyFile is configured but no endpoints'))).toBe(true);
    expect(problems('namespaces: [{ name: prod }]\n')).toEqual(['namespaces: declared without endpoints (they label the endpoints\' namespaces)']);
  });

  it('every problem of a broken config at once, firewall and the rest', () => {
    const found = problems(`${EP}firewall:\n  rules:\n    - { name: a, direction: ingress, action: allow, priority: -1 }\nneighbors:\n  - { address: 203.0.113.1, mac: "02:00:00:00:00:09" }\n`);
    expect(found).toEqual(['firewall.rules[0].priority: must be 0-65535', 'neighbors[0].address: 203.0.113.1 is not on a connected subnet; add "dev"']);
  });

  it('a rule with several mistakes shows all of them at once, each naming its field, with the checks that need parsed values (they waited for the schema errors to be fixed)', () => {
    const found = problems(`${EP}firewall:
  rules:
    - { name: web, direction: ingress, action: allow }
    - { name: web, direction: ingress, priority: 70000, action: drop, source: { cidrs: [10.0.0.0/33, 10.0.0.1/8] }, protocols: [{ protocol: gre }, { protocol: icmp, ports: [8] }] }
    - { name: Bad_Name, direction: sideways, action: allow }
    - { name: Bad_Name, direction: egress, action: allow, destination: {} }
networkPolicies:
  - { metadata: { name: p, namespace: prod }, spec: { podSelector: {}, ingress: [{ from: [{}] }] } }
`);
    expect(found).toEqual([
      'firewall.rules[1].priority: must be 0-65535',
      'firewall.rules[1].action: must be one of "allow", "deny", "reject"',
      'firewall.rules[1].source.cidrs[0]: must be an IPv4 prefix such as 192.0.2.0/24',
      expect.stringMatching(/^firewall\.rules\[2\]\.name: must be a rule name/),
      expect.stringMatching(/^firewall\.rules\[2\]\.direction: .*"ingress"/),
      expect.stringMatching(/^firewall\.rules\[3\]\.name: must be a rule name/),
      'firewall.rules[1].name: "web" is already the name of firewall.rules[0]',
      'firewall.rules[1].protocols[0].protocol: "gre" is not tcp, udp, icmp, sctp, all or a protocol number 0-255',
      'firewall.rules[1].protocols[1].ports: only tcp, udp and sctp have ports (protocol icmp)',
      'firewall.rules[1].source.cidrs[1]: 10.0.0.1/8 has host bits set for /8 (did you mean 10.0.0.0/8?)',
      'firewall.rules[3].destination: give "cidrs" or "labels" (or leave destination out for any address)',
      'networkPolicies[0].spec.ingress[0].from[0]: a peer needs podSelector, namespaceSelector or ipBlock',
    ]);
  });
});
