// 1,000 NetworkPolicy manifests as a cluster would have them, written as the
// YAML the config takes (namespaces, endpoints with labels and named ports,
// networkPolicies), for the benches that go through the real compiler
// (config/firewall.ts) instead of a plan made directly.
//
// The endpoints are the NAT workload's 1,024 client hosts (198.18.4.0/22),
// spread over 20 namespaces and 50 apps. Policy p, in namespace ns<p % 20>,
// selects app a<p % 50> there, for ingress and egress:
//   ingress  from the pods of the next app (same namespace), from tier web in
//            namespaces of team t<p % 5> (podSelector AND namespaceSelector),
//            and from an ipBlock with an except; TCP 80, 443 and the named
//            port http (8080 on every pod)
//   egress   to the servers (203.0.113.0/24) on UDP 53, 123, 443, 3478 and
//            TCP 443, and to the pods of app a<(p + 7) % 50> anywhere
// so every client's UDP to the servers is allowed (the union of its
// policies' egress rules), whatever policies select it.
import { clientAddress, HOSTS } from '../nat/workload.js';

const NAMESPACES = 20;
const APPS = 50;
const TEAMS = 5;
const TIERS = ['web', 'api', 'db'];

function dotted(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** The config sections (to append to a router config) for `count` policies. */
export function policyConfigYaml(count: number): string {
  const lines = ['namespaces:'];
  for (let n = 0; n < NAMESPACES; n++) lines.push(`  - { name: ns${n}, labels: { team: t${n % TEAMS} } }`);
  lines.push('endpoints:');
  for (let h = 0; h < HOSTS; h++) {
    lines.push(`  - { address: ${dotted(clientAddress(h))}, namespace: ns${h % NAMESPACES}, labels: { app: a${h % APPS}, tier: ${TIERS[h % 3]} }, ports: [{ name: http, port: 8080 }] }`);
  }
  lines.push('networkPolicies:');
  for (let p = 0; p < count; p++) {
    const block = `${10 + (p % 200)}.${(p * 7) % 256}.0.0`;
    lines.push(
      `  - apiVersion: networking.k8s.io/v1`,
      `    kind: NetworkPolicy`,
      `    metadata: { name: policy-${p}, namespace: ns${p % NAMESPACES} }`,
      `    spec:`,
      `      podSelector: { matchLabels: { app: a${p % APPS} } }`,
      `      policyTypes: [Ingress, Egress]`,
      `      ingress:`,
      `        - from:`,
      `            - podSelector: { matchLabels: { app: a${(p + 1) % APPS} } }`,
      `            - namespaceSelector: { matchLabels: { team: t${p % TEAMS} } }`,
      `              podSelector: { matchLabels: { tier: web } }`,
      `            - ipBlock: { cidr: ${block}/16, except: [${block.replace(/\.0\.0$/, '.1.0')}/24] }`,
      `          ports: [{ protocol: TCP, port: 80 }, { protocol: TCP, port: 443 }, { port: http }]`,
      `      egress:`,
      `        - to: [{ ipBlock: { cidr: 203.0.113.0/24 } }]`,
      `          ports: [{ protocol: UDP, port: 53 }, { protocol: UDP, port: 123 }, { protocol: UDP, port: 443 }, { protocol: UDP, port: 3478 }, { protocol: TCP, port: 443 }]`,
      `        - to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: a${(p + 7) % APPS} } } }]`,
    );
  }
  return lines.join('\n') + '\n';
}
