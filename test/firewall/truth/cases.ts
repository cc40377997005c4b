// The firewall's truth table, in the manner of the Kubernetes e2e netpol
// tests (test/e2e/network/netpol in kubernetes/kubernetes): pods a, b and c
// in namespaces x, y and z, each serving TCP 80 and 81, and per case a set
// of NetworkPolicy objects (and VPC firewall rules) with the reachability
// of every pod from every other pod on each port, written by hand: start
// from "all allowed" (or all denied) and state what the policies change.
// Nothing here is computed by the code under test; the replay runner
// (test/firewall/truth-replay.test.ts) and the live one
// (test/e2e/firewall-truth.test.ts) hold the dataplane to these matrices.
//
// Topology: pod i (0-8, in the order x/a x/b x/c y/a ... z/c) has address
// 198.18.<i+1>.2 on its own /24; the router's port for it is 198.18.<i+1>.1.
// Loopback (a pod to itself) is left out, as upstream ignores it: it never
// crosses the router.
import { parseAllDocuments } from 'yaml';

export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
export const PORTS = [80, 81] as const;
export type Port = (typeof PORTS)[number];
export type Namespace = (typeof NAMESPACES)[number];
export type PodName = (typeof POD_NAMES)[number];
export type PodId = `${Namespace}/${PodName}`;

export interface Pod {
  id: PodId;
  ns: Namespace;
  name: PodName;
  /** 0-8: x/a, x/b, x/c, y/a, ... */
  index: number;
  /** 198.18.<index+1>.2 */
  address: string;
  /** The router's address on this pod's link: 198.18.<index+1>.1 */
  gateway: string;
}

export const PODS: readonly Pod[] = NAMESPACES.flatMap((ns, n) =>
  POD_NAMES.map((name, p) => {
    const index = n * 3 + p;
    return { id: `${ns}/${name}` as PodId, ns, name, index, address: `198.18.${index + 1}.2`, gateway: `198.18.${index + 1}.1` };
  }),
);

export function pod(id: PodId): Pod {
  const p = PODS.find((q) => q.id === id);
  if (p === undefined) throw new Error(`no pod ${id}`);
  return p;
}

/** Namespace labels (each also gets kubernetes.io/metadata.name from the config front end, as from the API server). */
export const NAMESPACE_LABELS: Record<Namespace, Record<string, string>> = {
  x: { ns: 'x' },
  y: { ns: 'y', env: 'qa' },
  z: { ns: 'z', env: 'qa' },
};

/** The endpoints section of the config: every pod labelled pod=<name>, with the two named ports upstream gives its agnhost servers. */
export function endpointsConfig(): object[] {
  return PODS.map((p) => ({
    address: p.address,
    namespace: p.ns,
    labels: { pod: p.name },
    ports: PORTS.map((port) => ({ name: `serve-${port}-tcp`, port, protocol: 'TCP' })),
  }));
}

export function namespacesConfig(): object[] {
  return NAMESPACES.map((name) => ({ name, labels: NAMESPACE_LABELS[name] }));
}

/** Who a peer is in an expectation: every pod, a namespace's pods, a pod name in every namespace, or one pod. */
export interface Peer {
  ns?: Namespace;
  pod?: PodName;
}

const matches = (p: Pod, peer: Peer) => (peer.ns === undefined || p.ns === peer.ns) && (peer.pod === undefined || p.name === peer.pod);
const asPeer = (p: PodId | Peer): Peer => (typeof p === 'string' ? { ns: pod(p).ns, pod: pod(p).name } : p);

/** A from x to matrix of expectations, built like upstream's Reachability (later calls override earlier ones). */
export class Reachability {
  private readonly m: boolean[][];

  constructor(all: boolean) {
    this.m = PODS.map(() => PODS.map(() => all));
  }

  expect(from: PodId, to: PodId, allowed: boolean): this {
    this.m[pod(from).index][pod(to).index] = allowed;
    return this;
  }

  expectPeer(from: PodId | Peer, to: PodId | Peer, allowed: boolean): this {
    const f = asPeer(from);
    const t = asPeer(to);
    for (const a of PODS) for (const b of PODS) if (matches(a, f) && matches(b, t)) this.m[a.index][b.index] = allowed;
    return this;
  }

  expectAllIngress(to: PodId, allowed: boolean): this {
    return this.expectPeer({}, to, allowed);
  }

  expectAllEgress(from: PodId, allowed: boolean): this {
    return this.expectPeer(from, {}, allowed);
  }

  get(from: number, to: number): boolean {
    return this.m[from][to];
  }

  copy(): Reachability {
    const r = new Reachability(true);
    PODS.forEach((_, i) => PODS.forEach((__, j) => (r.m[i][j] = this.m[i][j])));
    return r;
  }
}

/** A VPC firewall rule as the config's `firewall.rules` takes it. */
export interface VpcRule {
  name: string;
  direction: 'ingress' | 'egress';
  priority: number;
  action: 'allow' | 'deny' | 'reject';
  protocols?: { protocol: string; ports?: (number | string)[] }[];
  source?: { cidrs?: string[]; labels?: Record<string, string> };
  destination?: { cidrs?: string[]; labels?: Record<string, string> };
  targets?: { labels: Record<string, string> };
}

export interface TruthCase {
  name: string;
  /** The NetworkPolicy objects, parsed from the YAML a person would `kubectl apply`. */
  policies: object[];
  /** The YAML they were parsed from (multi-document), for a networkPolicyFile. */
  policyYaml: string;
  /** VPC firewall rules (their implied rules come with them). */
  vpcRules?: VpcRule[];
  expected: Record<Port, Reachability>;
  /** How many of the blocked probes a reject rule answers (ICMP unreachable 13) rather than drops; 0 when absent. */
  rejects?: number;
}

function policies(yaml: string): object[] {
  return parseAllDocuments(yaml).map((d) => {
    if (d.errors.length > 0) throw new Error(`case YAML: ${d.errors[0].message}`);
    return d.toJS() as object;
  });
}

/** The same expectation on both ports. */
const both = (r: Reachability): Record<Port, Reachability> => ({ 80: r, 81: r.copy() });

function truthCase(name: string, yaml: string, expected: Record<Port, Reachability>, vpcRules?: VpcRule[], rejects?: number): TruthCase {
  return { name, policies: policies(yaml), policyYaml: yaml, vpcRules, expected, rejects };
}

const NP = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy';

export const CASES: readonly TruthCase[] = [
  truthCase(
    'default deny ingress in x',
    `${NP}
metadata: { name: deny-ingress, namespace: x }
spec:
  podSelector: {}
  policyTypes: [Ingress]
`,
    both(new Reachability(true).expectPeer({}, { ns: 'x' }, false)),
  ),

  truthCase(
    'default deny egress in x',
    `${NP}
metadata: { name: deny-egress, namespace: x }
spec:
  podSelector: {}
  policyTypes: [Egress]
`,
    both(new Reachability(true).expectPeer({ ns: 'x' }, {}, false)),
  ),

  truthCase(
    'deny all (ingress and egress) in x',
    `${NP}
metadata: { name: deny-all, namespace: x }
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`,
    both(new Reachability(true).expectPeer({}, { ns: 'x' }, false).expectPeer({ ns: 'x' }, {}, false)),
  ),

  truthCase(
    'allow ingress from the same namespace only',
    `${NP}
metadata: { name: allow-same-namespace, namespace: x }
spec:
  podSelector: {}
  ingress:
    - from:
        - podSelector: {}
`,
    both(new Reachability(true).expectPeer({ ns: 'y' }, { ns: 'x' }, false).expectPeer({ ns: 'z' }, { ns: 'x' }, false)),
  ),

  truthCase(
    'allow ingress to x/a from namespaces labelled env=qa',
    `${NP}
metadata: { name: allow-from-qa, namespace: x }
spec:
  podSelector: { matchLabels: { pod: a } }
  ingress:
    - from:
        - namespaceSelector: { matchLabels: { env: qa } }
`,
    both(new Reachability(true).expectPeer({ ns: 'x' }, 'x/a', false)),
  ),

  truthCase(
    'podSelector AND namespaceSelector in one peer',
    `${NP}
metadata: { name: allow-b-outside-x, namespace: x }
spec:
  podSelector: { matchLabels: { pod: a } }
  ingress:
    - from:
        - namespaceSelector:
            matchExpressions: [{ key: kubernetes.io/metadata.name, operator: NotIn, values: [x] }]
          podSelector: { matchLabels: { pod: b } }
`,
    both(new Reachability(true).expectAllIngress('x/a', false).expect('y/b', 'x/a', true).expect('z/b', 'x/a', true)),
  ),

  truthCase(
    'podSelector OR namespaceSelector as two peers',
    `${NP}
metadata: { name: allow-b-or-outside-x, namespace: x }
spec:
  podSelector: { matchLabels: { pod: a } }
  ingress:
    - from:
        - namespaceSelector:
            matchExpressions: [{ key: kubernetes.io/metadata.name, operator: NotIn, values: [x] }]
        - podSelector: { matchLabels: { pod: b } }
`,
    // x/b by the pod peer (its namespace is the policy's), y and z by the namespace peer.
    both(new Reachability(true).expect('x/c', 'x/a', false)),
  ),

  truthCase(
    'matchExpressions on pods and namespaces (In, NotIn, Exists)',
    `${NP}
metadata: { name: expressions, namespace: y }
spec:
  podSelector:
    matchExpressions: [{ key: pod, operator: In, values: [a, b] }]
  ingress:
    - from:
        - podSelector:
            matchExpressions: [{ key: pod, operator: NotIn, values: [a] }]
          namespaceSelector:
            matchExpressions: [{ key: env, operator: Exists }]
`,
    // y/a and y/b take only pods b and c of y and z (the namespaces with an env label).
    both(
      new Reachability(true)
        .expectAllIngress('y/a', false)
        .expectAllIngress('y/b', false)
        .expectPeer({ ns: 'y', pod: 'b' }, 'y/a', true)
        .expectPeer({ ns: 'y', pod: 'c' }, 'y/a', true)
        .expectPeer({ ns: 'z', pod: 'b' }, 'y/a', true)
        .expectPeer({ ns: 'z', pod: 'c' }, 'y/a', true)
        .expectPeer({ ns: 'y', pod: 'c' }, 'y/b', true)
        .expectPeer({ ns: 'z', pod: 'b' }, 'y/b', true)
        .expectPeer({ ns: 'z', pod: 'c' }, 'y/b', true),
    ),
  ),

  truthCase(
    'ipBlock with except (ingress)',
    `${NP}
metadata: { name: allow-block-except, namespace: x }
spec:
  podSelector: { matchLabels: { pod: a } }
  ingress:
    - from:
        - ipBlock:
            cidr: 198.18.0.0/20
            except: [198.18.4.0/24, 198.18.8.0/24]
`,
    // 198.18.4.2 is y/a, 198.18.8.2 is z/b.
    both(new Reachability(true).expect('y/a', 'x/a', false).expect('z/b', 'x/a', false)),
  ),

  truthCase(
    'ipBlock with except (egress)',
    `${NP}
metadata: { name: egress-block-except, namespace: x }
spec:
  podSelector: { matchLabels: { pod: c } }
  policyTypes: [Egress]
  egress:
    - to:
        - ipBlock:
            cidr: 198.18.0.0/21
            except: [198.18.6.0/23]
`,
    // /21: 198.18.0-7 (x/a to z/a); the except takes 198.18.6-7 (y/c, z/a); z/b and z/c are outside.
    both(
      new Reachability(true)
        .expectAllEgress('x/c', false)
        .expect('x/c', 'x/a', true)
        .expect('x/c', 'x/b', true)
        .expect('x/c', 'y/a', true)
        .expect('x/c', 'y/b', true),
    ),
  ),

  truthCase(
    'ingress on port 80 only',
    `${NP}
metadata: { name: allow-80, namespace: x }
spec:
  podSelector: {}
  ingress:
    - ports: [{ port: 80, protocol: TCP }]
`,
    { 80: new Reachability(true), 81: new Reachability(true).expectPeer({}, { ns: 'x' }, false) },
  ),

  truthCase(
    'ingress on a named port (serve-81-tcp)',
    `${NP}
metadata: { name: allow-named-81, namespace: x }
spec:
  podSelector: {}
  ingress:
    - from:
        - namespaceSelector: {}
      ports: [{ port: serve-81-tcp }]
`,
    { 80: new Reachability(true).expectPeer({}, { ns: 'x' }, false), 81: new Reachability(true) },
  ),

  truthCase(
    'egress on a named port; a name with the wrong protocol opens nothing',
    `${NP}
metadata: { name: egress-named, namespace: y }
spec:
  podSelector: { matchLabels: { pod: a } }
  policyTypes: [Egress]
  egress:
    - ports:
        - { port: serve-80-tcp, protocol: TCP }
        - { port: serve-81-tcp, protocol: UDP }
`,
    { 80: new Reachability(true), 81: new Reachability(true).expectAllEgress('y/a', false) },
  ),

  truthCase(
    'endPort ranges (ingress 81-8080 to x/c, egress 75-80 from y/b)',
    `${NP}
metadata: { name: ingress-range, namespace: x }
spec:
  podSelector: { matchLabels: { pod: c } }
  ingress:
    - ports: [{ protocol: TCP, port: 81, endPort: 8080 }]
---
${NP}
metadata: { name: egress-range, namespace: y }
spec:
  podSelector: { matchLabels: { pod: b } }
  policyTypes: [Egress]
  egress:
    - ports: [{ protocol: TCP, port: 75, endPort: 80 }]
`,
    { 80: new Reachability(true).expectAllIngress('x/c', false), 81: new Reachability(true).expectAllEgress('y/b', false) },
  ),

  truthCase(
    'egress to one pod only (x/a to y/b)',
    `${NP}
metadata: { name: egress-to-y-b, namespace: x }
spec:
  podSelector: { matchLabels: { pod: a } }
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector: { matchLabels: { ns: y } }
          podSelector: { matchLabels: { pod: b } }
`,
    both(new Reachability(true).expectAllEgress('x/a', false).expect('x/a', 'y/b', true)),
  ),

  truthCase(
    'union of two policies selecting the same pod',
    `${NP}
metadata: { name: allow-x-b, namespace: x }
spec:
  podSelector: { matchLabels: { pod: a } }
  ingress:
    - from:
        - podSelector: { matchLabels: { pod: b } }
---
${NP}
metadata: { name: allow-z-on-81, namespace: x }
spec:
  podSelector: { matchLabels: { pod: a } }
  ingress:
    - from:
        - namespaceSelector: { matchLabels: { ns: z } }
      ports: [{ port: 81 }]
`,
    {
      80: new Reachability(true).expectAllIngress('x/a', false).expect('x/b', 'x/a', true),
      81: new Reachability(true).expectAllIngress('x/a', false).expect('x/b', 'x/a', true).expectPeer({ ns: 'z' }, 'x/a', true),
    },
  ),

  truthCase(
    'a policy selecting one pod with empty ingress denies it all; one empty rule allows all',
    `${NP}
metadata: { name: isolate-x-c, namespace: x }
spec:
  podSelector: { matchLabels: { pod: c } }
  ingress: []
---
${NP}
metadata: { name: open-y-c, namespace: y }
spec:
  podSelector: { matchLabels: { pod: c } }
  ingress:
    - {}
`,
    both(new Reachability(true).expectAllIngress('x/c', false)),
  ),

  truthCase(
    "ingress and egress at both ends: the source's egress denies what the destination allows",
    `${NP}
metadata: { name: x-a-from-y, namespace: x }
spec:
  podSelector: { matchLabels: { pod: a } }
  ingress:
    - from:
        - namespaceSelector: { matchLabels: { ns: y } }
---
${NP}
metadata: { name: y-b-to-z, namespace: y }
spec:
  podSelector: { matchLabels: { pod: b } }
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector: { matchLabels: { ns: z } }
`,
    // y/b -> x/a: x/a's ingress allows y, y/b's egress does not allow x.
    both(
      new Reachability(true)
        .expectAllIngress('x/a', false)
        .expectPeer({ ns: 'y' }, 'x/a', true)
        .expectAllEgress('y/b', false)
        .expectPeer('y/b', { ns: 'z' }, true),
    ),
  ),

  truthCase(
    'default deny ingress in x, then allow all to x/a',
    `${NP}
metadata: { name: deny-all, namespace: x }
spec:
  podSelector: {}
  ingress: []
---
${NP}
metadata: { name: allow-all-to-a, namespace: x }
spec:
  podSelector: { matchLabels: { pod: a } }
  ingress:
    - from:
        - podSelector: {}
          namespaceSelector: {}
`,
    both(new Reachability(true).expectPeer({}, { ns: 'x' }, false).expectAllIngress('x/a', true)),
  ),

  truthCase(
    'a UDP port opens no TCP port',
    `${NP}
metadata: { name: udp-80-tcp-81, namespace: z }
spec:
  podSelector: {}
  ingress:
    - ports:
        - { protocol: UDP, port: 80 }
        - { protocol: TCP, port: 81 }
`,
    { 80: new Reachability(true).expectPeer({}, { ns: 'z' }, false), 81: new Reachability(true) },
  ),

  truthCase(
    'policyTypes [Ingress]: the egress rules the policy also has are ignored',
    `${NP}
metadata: { name: ingress-only, namespace: y }
spec:
  podSelector: { matchLabels: { pod: c } }
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector: { matchLabels: { pod: a } }
  egress:
    - to:
        - podSelector: { matchLabels: { pod: a } }
`,
    both(new Reachability(true).expectAllIngress('y/c', false).expect('y/a', 'y/c', true)),
  ),

  truthCase(
    'VPC rules: priority, deny before allow at equal priority, the implied ingress deny',
    '',
    {
      // allow-80 opens 80 to all; deny-from-c (same priority) wins for pods c.
      80: new Reachability(true).expectPeer({ pod: 'c' }, {}, false),
      // 81: only allow-81-to-b (priority 500, ahead of deny-from-c) opens it; the rest meets the implied deny.
      81: new Reachability(false).expectPeer({}, { pod: 'b' }, true),
    },
    [
      { name: 'allow-80', direction: 'ingress', priority: 1000, action: 'allow', protocols: [{ protocol: 'tcp', ports: [80] }], source: { cidrs: ['198.18.0.0/15'] } },
      { name: 'deny-from-c', direction: 'ingress', priority: 1000, action: 'deny', protocols: [{ protocol: 'tcp', ports: ['80-81'] }], source: { labels: { pod: 'c' } } },
      { name: 'allow-81-to-b', direction: 'ingress', priority: 500, action: 'allow', protocols: [{ protocol: 'tcp', ports: [81] }], source: { cidrs: ['198.18.0.0/20'] }, targets: { labels: { pod: 'b' } } },
    ],
  ),

  truthCase(
    'VPC egress deny and reject together with a NetworkPolicy',
    `${NP}
metadata: { name: x-c-from-x, namespace: x }
spec:
  podSelector: { matchLabels: { pod: c } }
  ingress:
    - from:
        - podSelector: {}
`,
    {
      // reject-z-c-to-b: z/c reaches no pod b on 80 (rejected); x/c takes only x (the policy).
      80: new Reachability(true).expectPeer('z/c', { pod: 'b' }, false).expectPeer({ ns: 'y' }, 'x/c', false).expectPeer({ ns: 'z' }, 'x/c', false),
      // deny-a-to-x-81: pods a reach nothing in x on 81 (x/a itself is loopback, not probed).
      81: new Reachability(true).expectPeer({ pod: 'a' }, { ns: 'x' }, false).expectPeer({ ns: 'y' }, 'x/c', false).expectPeer({ ns: 'z' }, 'x/c', false),
    },
    [
      { name: 'allow-all-ingress', direction: 'ingress', priority: 65000, action: 'allow', source: { cidrs: ['198.18.0.0/15'] } },
      { name: 'deny-a-to-x-81', direction: 'egress', priority: 100, action: 'deny', protocols: [{ protocol: 'tcp', ports: [81] }], destination: { cidrs: ['198.18.0.0/22'] }, targets: { labels: { pod: 'a' } } },
      { name: 'reject-z-c-to-b', direction: 'ingress', priority: 200, action: 'reject', protocols: [{ protocol: 'tcp', ports: [80] }], source: { cidrs: ['198.18.9.0/24'] }, targets: { labels: { pod: 'b' } } },
    ],
    // z/c to x/b, y/b and z/b on 80.
    3,
  ),
];

/** The probes of a case: every ordered pair of distinct pods on each port. */
export function probes(): { from: Pod; to: Pod; port: Port }[] {
  return PODS.flatMap((from) => PODS.filter((to) => to !== from).flatMap((to) => PORTS.map((port) => ({ from, to, port }))));
}

/** A matrix as upstream prints one: rows from, columns to, "." reachable, "X" not, "-" loopback (not probed). */
export function formatMatrix(r: Reachability): string {
  const lines = [['-', ...PODS.map((p) => p.id)].join('\t')];
  for (const from of PODS) lines.push([from.id, ...PODS.map((to) => (to === from ? '-' : r.get(from.index, to.index) ? '.' : 'X'))].join('\t'));
  return lines.join('\n');
}

/** Expected and observed, and where they differ ("X" in the comparison), for a failure message. */
export function compareMatrices(c: TruthCase, observed: Record<Port, Reachability>): { ok: boolean; report: string } {
  let ok = true;
  const parts: string[] = [];
  for (const port of PORTS) {
    const exp = c.expected[port];
    const obs = observed[port];
    const diff = new Reachability(true);
    const wrong: string[] = [];
    for (const a of PODS)
      for (const b of PODS) {
        if (a === b) continue;
        const same = exp.get(a.index, b.index) === obs.get(a.index, b.index);
        if (!same) {
          diff.expect(a.id, b.id, false);
          wrong.push(`${a.id} -> ${b.id}: expected ${exp.get(a.index, b.index) ? 'reachable' : 'blocked'}`);
        }
      }
    if (wrong.length === 0) continue;
    ok = false;
    parts.push(`port ${port}: ${wrong.length} mismatch(es): ${wrong.join('; ')}`, 'expected:', formatMatrix(exp), 'observed:', formatMatrix(obs), 'comparison (X: differs):', formatMatrix(diff));
  }
  return { ok, report: `${c.name}\n${parts.join('\n')}` };
}
