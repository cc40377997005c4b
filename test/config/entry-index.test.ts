// An entry the schema refused is left out so the rest is still checked
// (load.ts salvage): every later message still names each entry as it
// stands in the file, never its place in the shortened list.
import { describe, expect, it } from 'vitest';
import { configProblems } from './config-problems.js';

const PORTS = `
ports:
  - { name: lan, address: 192.0.2.1/24 }
  - { name: wan, address: 198.51.100.1/24 }
`;

describe('entries named as written after a bad entry is left out', () => {
  it('routes: objects and lines', () => {
    expect(configProblems(PORTS + 'routes:\n  - { via: 198.51.100.2 }\n  - { prefix: 10.2.0.0/16, type: blackhole, via: 198.51.100.2 }\n')).toContain(
      'routes[1]: a blackhole route takes no next hop',
    );
    const lines = configProblems(PORTS + 'routes:\n  - ""\n  - 10.10.0.0/16 via 198.51.100.2 via 198.51.100.3\n');
    expect(lines).toContain('routes[1]: a next hop has two "via"');
    expect(lines).not.toContain('routes[0]: a next hop has two "via"');
  });

  it('routes: the line number of a route is its own line', () => {
    // Lines 6-8: the bad entry, then two routes for one prefix, named by their own lines.
    const out = configProblems(PORTS + 'routes:\n  - { via: 198.51.100.2 }\n  - 10.0.0.0/8 via 198.51.100.2\n  - 10.0.0.0/8 via 198.51.100.3\n', '.', 'c.yaml');
    expect(out.find((p) => p.includes('duplicate prefix'))).toMatch(/^routes\[2\]: duplicate prefix 10\.0\.0\.0\/8: c\.yaml:8 \(routes\[2\]\) and c\.yaml:7 \(routes\[1\]\)/);
  });

  it('neighbors', () => {
    const out = configProblems(
      PORTS +
        `neighbors:
  - { address: 198.51.100.2 }
  - { mac: "02:00:00:00:0a:02" }
  - { address: 10.0.0.1, mac: "02:00:00:00:0a:02" }
  - { address: 198.51.100.3, mac: "02:00:00:00:0a:03", dev: lan }
  - { address: 198.51.100.4, mac: "02:00:00:00:0a:04", dev: nosuch }
`,
    );
    expect(out).toContain('neighbors[2].address: 10.0.0.1 is not on a connected subnet; add "dev"');
    expect(out).toContain('neighbors[4].dev: "nosuch" is not a configured port');
    expect(out.filter((p) => p.startsWith('neighbors[0]') || p.startsWith('neighbors[1]')).every((p) => /required field missing/.test(p))).toBe(true);
  });

  it('nat.masquerade, including the entry another is compared with', () => {
    const out = configProblems(
      PORTS +
        `nat:
  masquerade:
    - { outPort: lan, ports: 0 }
    - { outPort: lan, ports: "2000-1000" }
    - { outPort: lan }
`,
    );
    expect(out).toContain('nat.masquerade[1].ports: 2000-1000 must be LOW-HIGH with 1 <= LOW <= HIGH <= 65535');
    expect(out).toContain('nat.masquerade[2].outPort: port "lan" is masqueraded by nat.masquerade[1] already');
  });

  it('nat.snat', () => {
    const out = configProblems(PORTS + 'nat:\n  snat:\n    - { outPort: wan, to: bogus }\n    - { outPort: wan, to: 198.51.100.20-198.51.100.10 }\n');
    expect(out).toContain('nat.snat[1].to: 198.51.100.20-198.51.100.10 runs backwards (198.51.100.10 is below 198.51.100.20)');
  });

  it('nat.dnat, including the entry another overlaps', () => {
    const out = configProblems(
      PORTS +
        `nat:
  dnat:
    - { inPort: wan, proto: tcp, dport: 0, to: 192.0.2.10:80 }
    - { inPort: wan, proto: tcp, dport: 80, to: 192.0.2.10 }
    - { inPort: wan, proto: tcp, dport: 80, to: 192.0.2.11 }
    - { inPort: nosuch, proto: tcp, dport: 82, to: 192.0.2.13 }
`,
    );
    expect(out).toContain('nat.dnat[2]: forwards 198.51.100.1 port 80 that nat.dnat[1] forwards already');
    expect(out).toContain('nat.dnat[3].inPort: "nosuch" is not a configured port (ports: lan, wan)');
  });

  it('loadBalancer.vips', () => {
    const out = configProblems(
      PORTS +
        `loadBalancer:
  vips:
    - { name: bad, address: 203.0.113.9, protocol: sctp, mode: nat, backends: [{address: 192.0.2.10}] }
    - { name: a, address: 198.51.100.1, protocol: tcp, port: 80, mode: nat, backends: [{address: 192.0.2.10}] }
`,
    );
    expect(out).toContain('loadBalancer.vips[1].address: 198.51.100.1 is port "wan"\'s own address; a VIP needs an address of its own');
  });
});
