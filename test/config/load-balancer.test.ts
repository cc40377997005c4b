// The `loadBalancer:` section and the ports' `decap:` option: the issue's
// example loads exactly as written, defaults are filled in, and each
// mistake is one problem naming its field.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { DEFAULT_GUE_PORT, type VipConfig } from '../../src/lb/lb-config.js';
import { parseIpv4Address } from '../../src/wire/address.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/wire/ipv4.js';
import { configProblems } from './config-problems.js';

const PORTS = `
ports:
  - { name: lan, address: 198.51.100.1/24 }
  - { name: wan, address: 192.0.2.1/24 }
`;

/** Issue 11, section 1, as written. */
const EXAMPLE = `
loadBalancer:
  vips:
    - name: web
      address: 203.0.113.10
      protocol: tcp              # tcp | udp
      port: 80                   # omit: all ports
      mode: dsr-l2               # dsr-l2 | dsr-ipip | dsr-gue | nat
      tableSize: 65537           # prime
      affinity: { type: clientIP, timeoutSeconds: 10800 }   # optional
      healthCheck: { type: tcp, port: 80, intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 }
      backends:
        - { address: 198.51.100.11, weight: 100 }
        - { address: 198.51.100.12, weight: 100 }
`;

const ip = parseIpv4Address;

const problems = (yaml: string) => configProblems(yaml);

/** A config with these VIPs (YAML flow mappings, one a line). */
function vips(...lines: string[]): string {
  return `${PORTS}loadBalancer:\n  vips:\n${lines.map((l) => `    - ${l}\n`).join('')}`;
}

const B1 = '{ address: 198.51.100.11 }';
const B2 = '{ address: 198.51.100.12 }';

function vip(yaml: string): VipConfig {
  return parseConfig(yaml, 'c.yaml', '.').loadBalancer!.vips[0];
}

describe('loadBalancer config', () => {
  it('loads the issue example exactly as written', () => {
    const c = parseConfig(PORTS + EXAMPLE, 'c.yaml', '.');
    expect(c.loadBalancer!.vips).toEqual([
      {
        name: 'web',
        address: ip('203.0.113.10'),
        protocol: IPPROTO_TCP,
        port: 80,
        mode: 'dsr-l2',
        tableSize: 65537,
        hash: 'five-tuple',
        affinity: { timeoutMs: 10_800_000, sourcePrefixLength: 32 },
        healthCheck: { type: 'tcp', port: 80, intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 },
        dynamicWeights: undefined,
        snat: false,
        guePort: 0,
        backends: [
          { address: ip('198.51.100.11'), weight: 100 },
          { address: ip('198.51.100.12'), weight: 100 },
        ],
      },
    ]);
    expect(c.notices.warnings).toEqual([]);
    expect(c.ports.map((p) => p.decap)).toEqual([undefined, undefined]);
  });

  it('without loadBalancer: no load balancer', () => {
    expect(parseConfig(PORTS, 'c.yaml', '.').loadBalancer).toBeUndefined();
  });

  it('fills in the defaults: all ports, a 65537-entry table, the 5-tuple, weight 1, the default GUE port', () => {
    const v = vip(vips(`{ name: dns, address: 203.0.113.53, protocol: udp, mode: dsr-gue, backends: [${B1}, { address: 203.0.113.99, weight: 0 }] }`));
    expect(v).toMatchObject({ protocol: IPPROTO_UDP, port: 0, tableSize: 65537, hash: 'five-tuple', affinity: undefined, healthCheck: undefined, snat: false, guePort: DEFAULT_GUE_PORT });
    // Weight 0 is a drained backend, not a mistake; dsr-gue backends need not be on a connected subnet.
    expect(v.backends).toEqual([
      { address: ip('198.51.100.11'), weight: 1 },
      { address: ip('203.0.113.99'), weight: 0 },
    ]);
  });

  it('takes the further options: hash inputs, affinity netmask, HTTP and ICMP probes, dynamic weights, SNAT, GUE port', () => {
    const c = parseConfig(
      vips(
        `{ name: a, address: 203.0.113.10, protocol: tcp, port: 443, mode: nat, snat: true, hash: no-source-port, affinity: { type: ClientIP, sourcePrefixLength: 24 }, healthCheck: { type: http }, dynamicWeights: { signal: both }, backends: [${B1}] }`,
        `{ name: b, address: 203.0.113.10, protocol: tcp, port: 80, mode: dsr-gue, guePort: 7000, tableSize: 251, healthCheck: { type: http, port: 8080, path: /healthz, expectStatus: 204, intervalMs: 2000, timeoutMs: 1999, rise: 1, fall: 1 }, backends: [${B1}] }`,
        `{ name: c, address: 203.0.113.10, protocol: udp, mode: dsr-ipip, healthCheck: { type: icmp }, dynamicWeights: { signal: flows, intervalMs: 100, maxSlotShare: 1 }, backends: [${B1}] }`,
      ),
      'c.yaml',
      '.',
    );
    const [a, b, v] = c.loadBalancer!.vips;
    expect(a).toMatchObject({ mode: 'nat', snat: true, hash: 'no-source-port', guePort: 0, affinity: { timeoutMs: 10_800_000, sourcePrefixLength: 24 } });
    // An HTTP probe without a port probes the VIP's port.
    expect(a.healthCheck).toEqual({ type: 'http', port: 443, path: '/', expectStatus: 200, intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 });
    expect(a.dynamicWeights).toEqual({ signal: 'both', intervalMs: 5000, maxSlotShare: 0.01 });
    expect(b).toMatchObject({ guePort: 7000, tableSize: 251, snat: false });
    expect(b.healthCheck).toEqual({ type: 'http', port: 8080, path: '/healthz', expectStatus: 204, intervalMs: 2000, timeoutMs: 1999, rise: 1, fall: 1 });
    expect(v).toMatchObject({ protocol: IPPROTO_UDP, port: 0, mode: 'dsr-ipip' });
    expect(v.healthCheck).toEqual({ type: 'icmp', intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 });
    expect(v.dynamicWeights).toEqual({ signal: 'flows', intervalMs: 100, maxSlotShare: 1 });
    // 251 slots for one backend is above 100 per backend: no warning.
    expect(c.notices.warnings).toEqual([]);
  });

  it('a table under 100 slots per backend loads, with a warning naming the field', () => {
    const c = parseConfig(vips(`{ name: web, address: 203.0.113.10, protocol: tcp, mode: dsr-l2, tableSize: 101, backends: [${B1}, ${B2}] }`), 'c.yaml', '.');
    expect(c.loadBalancer!.vips[0].tableSize).toBe(101);
    expect(c.notices.warnings).toEqual(['c.yaml: loadBalancer.vips[0].tableSize: 101 slots for 2 backends; at least 100 × backends (200) is recommended, so Maglev balances within about 1%']);
  });

  it('tableSize: prime, at least one slot per backend, at most 2^24', () => {
    expect(problems(vips(`{ name: web, address: 203.0.113.10, protocol: tcp, mode: dsr-l2, tableSize: 65536, backends: [${B1}] }`))).toEqual([
      "loadBalancer.vips[0].tableSize: 65536 is not prime (Maglev's permutation needs a prime table size; 65521 or 65537 is)",
    ]);
    expect(problems(vips(`{ name: web, address: 203.0.113.10, protocol: tcp, mode: dsr-l2, tableSize: 1, backends: [${B1}] }`))).toEqual([
      "loadBalancer.vips[0].tableSize: 1 is not prime (Maglev's permutation needs a prime table size; 2 is)",
    ]);
    expect(problems(vips(`{ name: web, address: 203.0.113.10, protocol: tcp, mode: dsr-l2, tableSize: 2, backends: [${B1}, ${B2}, { address: 198.51.100.13 }] }`))).toEqual([
      'loadBalancer.vips[0].tableSize: 2 is less than the 3 backends (every backend needs a slot)',
    ]);
    expect(problems(vips(`{ name: web, address: 203.0.113.10, protocol: tcp, mode: dsr-l2, tableSize: 16777259, backends: [${B1}] }`))).toEqual([
      'loadBalancer.vips[0].tableSize: 16777259 is more than 16777216 (2^24), the largest table',
    ]);
    expect(problems(vips(`{ name: web, address: 203.0.113.10, protocol: tcp, mode: dsr-l2, tableSize: 65537.5, backends: [${B1}] }`))).toEqual([
      'loadBalancer.vips[0].tableSize: must be a whole number',
    ]);
  });

  it('VIP names are unique and VIPs do not overlap (all ports overlaps every port)', () => {
    expect(
      problems(
        vips(
          `{ name: web, address: 203.0.113.10, protocol: tcp, port: 80, mode: dsr-l2, backends: [${B1}] }`,
          `{ name: web, address: 203.0.113.10, protocol: tcp, port: 80, mode: dsr-l2, backends: [${B1}] }`,
          `{ name: all, address: 203.0.113.10, protocol: tcp, mode: dsr-l2, backends: [${B1}] }`,
          // Another protocol, another port or another address is no overlap.
          `{ name: udp, address: 203.0.113.10, protocol: udp, port: 80, mode: dsr-l2, backends: [${B1}] }`,
          `{ name: tls, address: 203.0.113.10, protocol: tcp, port: 443, mode: dsr-ipip, backends: [${B1}] }`,
          `{ name: other, address: 203.0.113.11, protocol: tcp, mode: dsr-l2, backends: [${B1}] }`,
        ),
      ),
    ).toEqual([
      'loadBalancer.vips[1].name: "web" is already the name of loadBalancer.vips[0]',
      'loadBalancer.vips[1].port: 203.0.113.10 tcp port 80 overlaps loadBalancer.vips[0] ("web", tcp port 80)',
      'loadBalancer.vips[2].port: 203.0.113.10 tcp all ports overlaps loadBalancer.vips[0] ("web", tcp port 80)',
      'loadBalancer.vips[4].port: 203.0.113.10 tcp port 443 overlaps loadBalancer.vips[2] ("all", tcp all ports)',
    ]);
  });

  it('backends: at least one, no duplicates, not the VIP, not the dataplane, on a connected subnet in dsr-l2', () => {
    expect(problems(vips('{ name: web, address: 203.0.113.10, protocol: tcp, mode: dsr-l2, backends: [] }'))).toEqual(['loadBalancer.vips[0].backends: must list at least one backend']);
    expect(
      problems(
        vips(
          `{ name: web, address: 203.0.113.10, protocol: tcp, mode: dsr-l2, backends: [${B1}, ${B1}, { address: 203.0.113.10 }, { address: 198.51.100.1 }, { address: 203.0.113.20 }] }`,
          // The same backends off every subnet are fine when they are reached through a tunnel or by NAT.
          '{ name: ipip, address: 203.0.113.11, protocol: tcp, mode: dsr-ipip, backends: [{ address: 203.0.113.20 }] }',
          '{ name: nat, address: 203.0.113.12, protocol: tcp, mode: nat, backends: [{ address: 203.0.113.20 }] }',
        ),
      ),
    ).toEqual([
      'loadBalancer.vips[0].backends[1].address: 198.51.100.11 is already loadBalancer.vips[0].backends[0]',
      "loadBalancer.vips[0].backends[2].address: 203.0.113.10 is the VIP's own address",
      'loadBalancer.vips[0].backends[2].address: 203.0.113.10 is on no port\'s subnet (lan 198.51.100.0/24, wan 192.0.2.0/24); dsr-l2 reaches a backend by rewriting the MAC, so it must be on a connected subnet (or use dsr-ipip, dsr-gue or nat)',
      'loadBalancer.vips[0].backends[3].address: 198.51.100.1 is port "lan"\'s own address (the dataplane itself)',
      'loadBalancer.vips[0].backends[4].address: 203.0.113.20 is on no port\'s subnet (lan 198.51.100.0/24, wan 192.0.2.0/24); dsr-l2 reaches a backend by rewriting the MAC, so it must be on a connected subnet (or use dsr-ipip, dsr-gue or nat)',
    ]);
  });

  it("a VIP is neither a port's own address nor a non-unicast address", () => {
    expect(
      problems(
        vips(
          `{ name: a, address: 192.0.2.1, protocol: tcp, mode: dsr-l2, backends: [${B1}] }`,
          `{ name: b, address: 224.0.0.5, protocol: udp, mode: dsr-l2, backends: [${B1}] }`,
          `{ name: c, address: 127.0.0.1, protocol: udp, mode: dsr-l2, backends: [${B1}] }`,
        ),
      ),
    ).toEqual([
      'loadBalancer.vips[0].address: 192.0.2.1 is port "wan"\'s own address; a VIP needs an address of its own',
      'loadBalancer.vips[1].address: 224.0.0.5 is a multicast address (224.0.0.0/4); a VIP is a unicast address a client can reach',
      'loadBalancer.vips[2].address: 127.0.0.1 is a loopback address (127.0.0.0/8); a VIP is a unicast address a client can reach',
    ]);
  });

  it("a VIP or backend is not a connected subnet's network or broadcast address", () => {
    expect(
      problems(
        vips(
          `{ name: z2, address: 192.0.2.255, protocol: udp, mode: dsr-ipip, backends: [${B1}] }`,
          `{ name: z3, address: 198.51.100.0, protocol: udp, mode: dsr-ipip, backends: [${B1}] }`,
          `{ name: z4, address: 203.0.113.10, protocol: udp, mode: dsr-ipip, backends: [{ address: 198.51.100.255 }, { address: 255.255.255.255 }] }`,
        ),
      ),
    ).toEqual([
      'loadBalancer.vips[0].address: 192.0.2.255 is the broadcast address of port "wan"\'s subnet 192.0.2.0/24; a VIP is a unicast address a client can reach',
      'loadBalancer.vips[1].address: 198.51.100.0 is the network address of port "lan"\'s subnet 198.51.100.0/24; a VIP is a unicast address a client can reach',
      'loadBalancer.vips[2].backends[0].address: 198.51.100.255 is the broadcast address of port "lan"\'s subnet 198.51.100.0/24; a backend is one host',
      'loadBalancer.vips[2].backends[1].address: 255.255.255.255 is the limited broadcast address 255.255.255.255; a backend is one host',
    ]);
  });

  it('the tables of all VIPs together hold at most 2^24 entries: the VIP that goes over is named, with the cost', () => {
    const big = (n: number) => `{ name: v${n}, address: 203.0.113.${n}, protocol: tcp, port: 80, mode: nat, tableSize: 16777213, backends: [${B1}] }`;
    expect(problems(vips(big(1), big(2), big(3)))).toEqual([
      'loadBalancer.vips[1].tableSize: VIP "v2" takes the Maglev tables to 33554426 entries, more than 16777216 (2^24) over all VIPs; at 12 bytes an entry (two generations and a build buffer) the 3 VIPs\' 50331639 entries would hold 576 MiB and take seconds to build at every start: use smaller tables (100 × backends is enough, e.g. 65537 for up to 655 backends)',
    ]);
    // A table that is a problem of its own is not counted as well.
    expect(problems(vips(big(1), `{ name: w, address: 203.0.113.9, protocol: tcp, port: 80, mode: nat, tableSize: 16777259, backends: [${B1}] }`))).toEqual([
      'loadBalancer.vips[1].tableSize: 16777259 is more than 16777216 (2^24), the largest table',
    ]);
    // One table of the largest size alone loads (without building it: parseConfig only checks).
    expect(parseConfig(vips(big(1)), 'c.yaml', '.').loadBalancer?.vips[0].tableSize).toBe(16777213);
  });

  it("the issue's own sizes load with room to spare: 655373 entries for 1000 backends and a few VIPs of 65537", () => {
    const thousand = Array.from({ length: 1000 }, (_, k) => `{ address: 10.${k >> 8}.${k & 255}.10 }`).join(', ');
    const small = (n: number) => `{ name: s${n}, address: 203.0.113.${n}, protocol: udp, port: 53, mode: dsr-ipip, backends: [${B1}] }`;
    const config = parseConfig(vips(`{ name: big, address: 203.0.113.100, protocol: tcp, port: 443, mode: dsr-ipip, tableSize: 655373, backends: [${thousand}] }`, small(1), small(2), small(3), small(4)), 'c.yaml', '.');
    expect(config.loadBalancer?.vips.map((v) => v.tableSize)).toEqual([655373, 65537, 65537, 65537, 65537]);
  });

  it('options that belong to other modes or need other options are named', () => {
    expect(
      problems(
        vips(
          `{ name: a, address: 203.0.113.10, protocol: tcp, mode: dsr-l2, snat: false, guePort: 6080, backends: [${B1}] }`,
          `{ name: b, address: 203.0.113.11, protocol: tcp, mode: dsr-gue, snat: true, backends: [${B1}] }`,
          `{ name: c, address: 203.0.113.12, protocol: tcp, mode: nat, dynamicWeights: { signal: latency }, healthCheck: { type: tcp, intervalMs: 500 }, backends: [${B1}] }`,
          `{ name: d, address: 203.0.113.13, protocol: tcp, port: 80, mode: nat, dynamicWeights: { signal: both }, backends: [${B1}] }`,
        ),
      ),
    ).toEqual([
      'loadBalancer.vips[0].snat: applies to mode nat only (this VIP is dsr-l2: the backend answers the client directly)',
      'loadBalancer.vips[0].guePort: applies to mode dsr-gue only (this VIP is dsr-l2)',
      'loadBalancer.vips[1].snat: applies to mode nat only (this VIP is dsr-gue: the backend answers the client directly)',
      'loadBalancer.vips[2].healthCheck.timeoutMs: 500 must be less than intervalMs (500): a probe ends before the next starts',
      'loadBalancer.vips[2].healthCheck.port: required when the VIP has no port (it serves all ports)',
      'loadBalancer.vips[3].dynamicWeights.signal: both needs a healthCheck (its probes measure the latency)',
    ]);
  });

  it('shapes and ranges are named by field, and one bad VIP does not hide the others\' problems', () => {
    expect(
      problems(
        vips(
          `{ name: web, address: 203.0.113.10, protocol: sctp, mode: dsr-l3, backends: [${B1}] }`,
          `{ name: "bad name", address: 203.0.113.300, protocol: tcp, port: 0, mode: nat, backends: [{ address: 198.51.100.11, weight: 70000 }, { address: 198.51.100.12, weight: 1.5 }, { address: 198.51.100.13, wieght: 1 }] }`,
          `{ name: c, address: 203.0.113.12, protocol: tcp, mode: nat, affinity: { type: clientIP, timeoutSeconds: 0, sourcePrefixLength: 33 }, dynamicWeights: { signal: cpu, maxSlotShare: 0 }, backends: [${B1}] }`,
          `{ name: d, address: 203.0.113.13, protocol: tcp, mode: nat, healthCheck: { type: icmp, port: 80 }, backends: [${B1}] }`,
          `{ name: e, address: 203.0.113.14, protocol: tcp, mode: nat, healthCheck: { type: udp }, backends: [${B1}] }`,
          `{ name: f, address: 203.0.113.15, protocol: tcp, port: 80, mode: nat, healthCheck: { type: http, path: "/ HTTP/1.1", expectStatus: 600, rise: 0 }, dynamicWeights: { signal: flows, maxSlotShare: 1.5 }, backends: [${B1}] }`,
          // Still checked in the same pass, under its own index.
          '{ name: g, address: 203.0.113.16, protocol: tcp, mode: dsr-l2, backends: [{ address: 203.0.113.20 }] }',
        ),
      ),
    ).toEqual([
      'loadBalancer.vips[0].protocol: must be tcp or udp',
      'loadBalancer.vips[0].mode: must be one of dsr-l2, dsr-ipip, dsr-gue, nat',
      'loadBalancer.vips[1].name: must be 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
      'loadBalancer.vips[1].address: must be a dotted-quad IPv4 address such as 192.0.2.1',
      'loadBalancer.vips[1].port: must be 1-65535 (leave port out for all ports)',
      'loadBalancer.vips[1].backends[0].weight: must be 0-65535',
      'loadBalancer.vips[1].backends[1].weight: must be a whole number',
      'loadBalancer.vips[1].backends[2]: unknown field "wieght"',
      "loadBalancer.vips[2].affinity.timeoutSeconds: must be 1-86400 (Kubernetes' range)",
      'loadBalancer.vips[2].affinity.sourcePrefixLength: must be 0-32',
      'loadBalancer.vips[2].dynamicWeights.signal: must be flows, latency or both',
      'loadBalancer.vips[2].dynamicWeights.maxSlotShare: must be above 0 (and at most 1)',
      'loadBalancer.vips[3].healthCheck: unknown field "port"',
      'loadBalancer.vips[4].healthCheck.type: must be one of "tcp", "http", "icmp"',
      'loadBalancer.vips[5].healthCheck.path: must start with "/" and hold no spaces or control characters',
      'loadBalancer.vips[5].healthCheck.expectStatus: must be an HTTP status 100-599',
      'loadBalancer.vips[5].healthCheck.rise: must be at least 1',
      'loadBalancer.vips[5].dynamicWeights.maxSlotShare: must be at most 1 (the whole table)',
      "loadBalancer.vips[6].backends[0].address: 203.0.113.20 is on no port's subnet (lan 198.51.100.0/24, wan 192.0.2.0/24); dsr-l2 reaches a backend by rewriting the MAC, so it must be on a connected subnet (or use dsr-ipip, dsr-gue or nat)",
    ]);
  });

  it('affinity: {} says the type is missing (Kubernetes takes no sessionAffinityConfig without sessionAffinity: ClientIP), and a choice left out is missing, not wrong', () => {
    expect(problems(vips(`{ name: a, address: 203.0.113.10, protocol: tcp, mode: nat, affinity: {}, backends: [${B1}] }`))).toEqual([
      'loadBalancer.vips[0].affinity.type: required field missing: write type: clientIP (Kubernetes sessionAffinity: ClientIP), or leave affinity out for none',
    ]);
    expect(problems(vips(`{ name: a, address: 203.0.113.10, protocol: tcp, mode: nat, affinity: { timeoutSeconds: 60 }, backends: [${B1}] }`))).toEqual([
      'loadBalancer.vips[0].affinity.type: required field missing: write type: clientIP (Kubernetes sessionAffinity: ClientIP), or leave affinity out for none',
    ]);
    expect(problems(vips(`{ name: a, address: 203.0.113.10, protocol: tcp, mode: nat, affinity: { type: None }, backends: [${B1}] }`))).toEqual([
      'loadBalancer.vips[0].affinity.type: must be clientIP (Kubernetes sessionAffinity: ClientIP); for no affinity (sessionAffinity: None) leave affinity out',
    ]);
    expect(problems(vips(`{ name: a, address: 203.0.113.10, healthCheck: {}, dynamicWeights: {}, backends: [${B1}] }`))).toEqual([
      'loadBalancer.vips[0].protocol: required field missing (tcp or udp)',
      'loadBalancer.vips[0].mode: required field missing (one of dsr-l2, dsr-ipip, dsr-gue, nat)',
      'loadBalancer.vips[0].healthCheck.type: required field missing (one of "tcp", "http", "icmp")',
      'loadBalancer.vips[0].dynamicWeights.signal: required field missing (flows, latency or both)',
    ]);
  });

  it('a backend is not blamed for a port that failed its own checks', () => {
    expect(problems(`ports:\n  - { name: lan, address: 198.51.100.1 }\n  - { name: wan, address: 192.0.2.1/24 }\nloadBalancer:\n  vips:\n    - { name: web, address: 203.0.113.10, protocol: tcp, mode: dsr-l2, backends: [${B1}] }\n`)).toEqual([
      'ports[0].address: must be an address with prefix length such as 192.0.2.1/24',
    ]);
  });

  it('malformed sections are problems, never a crash', () => {
    const cases: [string, string][] = [
      ['loadBalancer: 5', 'loadBalancer: expected a mapping, got a number'],
      ['loadBalancer: {}', 'loadBalancer.vips: required field missing (expected a list)'],
      ['loadBalancer: { vips: [] }', 'loadBalancer.vips: must list at least one VIP (leave loadBalancer out for none)'],
      ['loadBalancer: { vips: x }', 'loadBalancer.vips: expected a list, got a string'],
      ['loadBalancer: { vips: [null] }', 'loadBalancer.vips[0]: expected a mapping, got nothing (an empty value)'],
      ['loadBalancer: { vips: [{ name: a, address: 203.0.113.10, protocol: tcp, mode: nat, backends: [null, 7] }] }', 'loadBalancer.vips[0].backends[0]: expected a mapping, got nothing (an empty value)'],
      ['loadBalancer: { vips: [], extra: 1 }', 'loadBalancer: unknown field "extra"'],
    ];
    for (const [yaml, problem] of cases) expect(problems(`${PORTS}${yaml}\n`), yaml).toContain(problem);
  });
});

describe('port decap option', () => {
  const port = (decap: string) => `ports:\n  - { name: lan, address: 198.51.100.1/24, decap: ${decap} }\n  - { name: wan, address: 192.0.2.1/24 }\n`;
  const decapOf = (decap: string) => parseConfig(port(decap), 'c.yaml', '.').ports[0].decap;

  it('true unwraps IPIP and GUE on the default GUE port; false or absent, nothing', () => {
    expect(decapOf('true')).toEqual({ ipip: true, gue: true, guePort: DEFAULT_GUE_PORT });
    expect(decapOf('false')).toBeUndefined();
    expect(parseConfig(port('true'), 'c.yaml', '.').ports[1].decap).toBeUndefined();
  });

  it('an object names the encapsulations (each false unless given) and the GUE port', () => {
    expect(decapOf('{ ipip: true }')).toEqual({ ipip: true, gue: false, guePort: 0 });
    expect(decapOf('{ gue: true, guePort: 7000 }')).toEqual({ ipip: false, gue: true, guePort: 7000 });
    expect(decapOf('{ ipip: true, gue: true }')).toEqual({ ipip: true, gue: true, guePort: DEFAULT_GUE_PORT });
  });

  it('mistakes are named by field', () => {
    expect(problems(port('{}'))).toEqual(['ports[0].decap: unwraps nothing; give ipip: true and/or gue: true (or decap: true for both)']);
    expect(problems(port('{ ipip: true, guePort: 7000 }'))).toEqual(['ports[0].decap.guePort: applies with gue: true only']);
    expect(problems(port('{ gue: true, guePort: 0 }'))).toEqual(['ports[0].decap.guePort: must be 1-65535']);
    expect(problems(port('{ gue: true, port: 7000 }'))).toEqual(['ports[0].decap: unknown field "port"']);
    expect(problems(port('yes'))).toEqual(['ports[0].decap: must be true, false or { ipip: BOOL, gue: BOOL, guePort: PORT }']);
  });
});
