// `dataplane firewall`: the listing (origins in the order packets meet them,
// implied rules marked, compiled counts) and --judge, through the built CLI.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePacket } from '../../src/cli/firewall-command.js';
import { dataplane } from '../cli-run.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-fwcli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = join(dir, 'router.yaml');
writeFileSync(config, `
ports:
  - { name: lan, address: 192.0.2.1/24 }
endpoints:
  - { address: 198.51.100.10, namespace: prod, labels: { app: db } }
  - { address: 198.51.100.11, namespace: prod, labels: { app: web } }
firewall:
  rules:
    - { name: allow-web, direction: ingress, action: allow, protocols: [{ protocol: tcp, ports: [80] }], targets: { labels: { app: web } } }
    - { name: ghost, direction: ingress, action: deny, priority: 10, targets: { labels: { app: none } } }
networkPolicies:
  - { metadata: { name: db, namespace: prod }, spec: { podSelector: { matchLabels: { app: db } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: web } } }] }] } }
`);

describe('dataplane firewall', () => {
  it('lists each user rule with its section, kind and compiled count, in evaluation order', () => {
    const r = dataplane(['firewall', '--config', config]);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '))).toEqual([
      'firewall: 2 endpoints, 3 rules and 3 implied, compiled to 5 plan rules',
      'SECTION PRIORITY ACTION KIND RULES NAME',
      'vpc-egress 65535 allow implied 1 implied-allow-egress',
      'vpc-ingress 10 deny vpc 0 ghost',
      'vpc-ingress 1000 allow vpc 1 allow-web',
      'vpc-ingress 65535 deny implied 1 implied-deny-ingress',
      'policy-ingress 0 allow policy 1 prod/db',
      'policy-ingress 1 deny isolation 1 isolation-ingress',
      '',
    ]);
    const json = JSON.parse(dataplane(['firewall', '--config', config, '--json']).stdout) as { origins: { name: string; kind: string; rules: number }[] };
    expect(json.origins.find((o) => o.name === 'implied-deny-ingress')).toMatchObject({ kind: 'implied', rules: 1 });
  });

  it('--judge names the verdict and the deciding rule per section', () => {
    const r = dataplane(['firewall', '--config', config, '--judge', '198.51.100.11:40000 -> 198.51.100.10:5432 tcp']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('198.51.100.11:40000 -> 198.51.100.10:5432 tcp: deny');
    expect(r.stdout).toMatch(/vpc-ingress\s+deny\s+implied-deny-ingress \(implied, priority 65535\)\s+<- decides/);
    expect(r.stdout).toMatch(/policy-ingress\s+allow\s+prod\/db \(policy, priority 0\)/);
    const web = JSON.parse(dataplane(['firewall', '--config', config, '--json', '--judge', '203.0.113.5:1 -> 198.51.100.11:80 tcp']).stdout) as { verdict: string; decidedBy: unknown };
    expect(web).toMatchObject({ verdict: 'allow', decidedBy: null });
    expect(dataplane(['firewall', '--config', config, '--judge', '203.0.113.5 -> 192.0.2.9 icmp']).stdout).toContain('not judged');
    // explain's arrow ">" is taken too.
    expect(dataplane(['firewall', '--config', config, '--judge', '198.51.100.11:40000 > 198.51.100.10:5432 tcp']).stdout).toContain('198.51.100.11:40000 -> 198.51.100.10:5432 tcp: deny');
  });

  it('--judge refuses a packet it would have judged as another: ports on ICMP (dropped unsaid), no destination port (judged as port 0), port 0 (reserved)', () => {
    expect(parsePacket('198.51.100.11:40000 -> 198.51.100.10:5432 tcp')).toEqual({ src: 0xc633640b, dst: 0xc633640a, proto: 6, sport: 40000, dport: 5432 });
    expect(parsePacket('198.51.100.11 -> 198.51.100.10:5432 udp')).toMatchObject({ sport: 49152, dport: 5432 });
    expect(parsePacket('198.51.100.11 -> 198.51.100.10 icmp')).toMatchObject({ proto: 1, sport: 0, dport: 0 });
    for (const [packet, reason] of [
      ['192.0.2.10:5 -> 198.51.100.10 icmp', '"192.0.2.10:5": only tcp, udp and sctp have ports (write the address alone for icmp)'],
      ['192.0.2.10 -> 198.51.100.10:80 47', '"198.51.100.10:80": only tcp, udp and sctp have ports (write the address alone for protocol 47)'],
      ['192.0.2.10:40000 -> 198.51.100.10 tcp', '"198.51.100.10": tcp needs a destination port (198.51.100.10:PORT): the verdict depends on it'],
      ['192.0.2.10:0 -> 198.51.100.10:80 tcp', '"192.0.2.10:0": the source port must be 1-65535 (port 0 is reserved, RFC 6335: no socket sends from or to it)'],
      ['192.0.2.10:40000 -> 198.51.100.10:0 sctp', '"198.51.100.10:0": the destination port must be 1-65535 (port 0 is reserved, RFC 6335: no socket sends from or to it)'],
      ['192.0.2.10:40000 -> 198.51.100.10:65536 udp', '"198.51.100.10:65536": the destination port must be 1-65535'],
    ]) {
      expect(parsePacket(packet), packet).toBe(reason);
    }
    const r = dataplane(['firewall', '--config', config, '--judge', '203.0.113.5:7 -> 198.51.100.11 icmp']);
    expect([r.status, r.stdout, r.stderr]).toEqual([2, '', 'dataplane firewall: --judge: "203.0.113.5:7": only tcp, udp and sctp have ports (write the address alone for icmp)\n']);
  });

  it('a bad --judge or config exits 2 with the reason', () => {
    const bad = dataplane(['firewall', '--config', config, '--judge', '198.51.100.11 => 198.51.100.10 tcp']);
    expect([bad.status, bad.stderr]).toEqual([2, expect.stringContaining('is not "SRC[:PORT] -> DST[:PORT] PROTO"')]);
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, 'ports:\n  - { name: lan, address: 192.0.2.1/24 }\nfirewall: { rules: [] }\n');
    const r = dataplane(['firewall', '--config', cfg]);
    expect([r.status, r.stderr]).toEqual([2, expect.stringContaining('endpoints: firewall is configured but no endpoints are listed')]);
  });
});
