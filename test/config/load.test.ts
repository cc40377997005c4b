// Config loading: every mistake is reported with the field it is in and the
// reason, and a good config comes out normalized.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { parseRouteLine, parseRoutesText, routeOrigin } from '../../src/config/routes.js';
import { configProblems } from './config-problems.js';

const PORTS = `
ports:
  - { name: lan, address: 192.0.2.1/24 }
  - { name: wan, address: 198.51.100.1/24, mtu: 1400 }
`;

const problems = (yaml: string) => configProblems(yaml, '.', 'test.yaml');

describe('config', () => {
  it('normalizes a good config: addresses as numbers, default MACs, MTU, ICMP and ARP defaults', () => {
    const c = parseConfig(PORTS + 'routes: ["203.0.113.0/24 via 198.51.100.2"]\n', 't', '.');
    expect(c.ports.map((p) => [p.name, Array.from(p.mac), p.address >>> 0, p.prefixLen, p.mtu])).toEqual([
      ['lan', [2, 0, 0, 0, 0, 1], 0xc0000201, 24, 1500],
      ['wan', [2, 0, 0, 0, 0, 2], 0xc6336401, 24, 1400],
    ]);
    expect(c.routes).toEqual([{ prefix: 0xcb007100, len: 24, type: 'unicast', nexthops: [{ gateway: 0xc6336402, port: undefined, weight: 1 }], origin: 'routes[0]' }]);
    expect(c.icmp).toEqual({ ratePerSecond: 1000, burst: 100 });
    expect(c.arp.resolveTimeoutMs).toBe(1000);
  });

  it('parses MAC text once, to six bytes, in any case', () => {
    const c = parseConfig(
      `ports:
  - { name: lan, mac: "02:AB:cd:00:00:0F", address: 192.0.2.1/24 }
neighbors:
  - { address: 192.0.2.10, mac: "02:Aa:00:00:00:10" }
`,
      't',
      '.',
    );
    expect(c.ports[0].mac).toEqual(new Uint8Array([0x02, 0xab, 0xcd, 0x00, 0x00, 0x0f]));
    expect(c.ports[0].macDefaulted).toBe(false);
    expect(c.neighbors).toEqual([{ address: 0xc000020a, mac: new Uint8Array([0x02, 0xaa, 0, 0, 0, 0x10]), port: 0 }]);
    expect(problems('ports:\n  - { name: lan, mac: "02:00:00:00:00", address: 192.0.2.1/24 }\n')).toEqual([
      'ports[0].mac: must be six hex bytes separated by colons such as 02:00:00:00:00:01',
    ]);
  });

  it('names the field and the reason for each bad value', () => {
    expect(problems('ports:\n  - { name: lan, address: 192.0.2.300/24 }\n')).toEqual([
      'ports[0].address: must be an address with prefix length such as 192.0.2.1/24',
    ]);
    expect(problems('ports:\n  - { name: lan, address: 192.0.2.1/24, mtu: 40 }\n')).toEqual(["ports[0].mtu: must be 68-9216 (at least IPv4's minimum of 68, RFC 791; at most 9216, the largest jumbo frame)"]);
    expect(problems('ports:\n  - { name: lan, address: 192.0.2.1/24, speed: 10 }\n')).toEqual(['ports[0]: unknown field "speed"']);
    expect(problems('ports: []\n')).toEqual(['ports: must list at least one port']);
    expect(problems(PORTS + 'icmp: { ratePerSecond: -1 }\n')).toEqual(['icmp.ratePerSecond: must be >= 0 (0 disables ICMP errors)']);
  });

  it('rejects what a schema cannot see: duplicate names and MACs, overlapping subnets, network and broadcast addresses', () => {
    expect(
      problems(`ports:
  - { name: a, mac: "02:00:00:00:00:09", address: 192.0.2.1/24 }
  - { name: a, mac: "02:00:00:00:00:09", address: 192.0.2.129/25 }
  - { name: c, address: 198.51.100.0/24 }
  - { name: d, address: 203.0.113.255/24 }
`),
    ).toEqual([
      'ports[1].io: interface "a" is already used by ports[0]',
      'ports[1].name: "a" is already the name of ports[0]',
      'ports[1].mac: 02:00:00:00:00:09 is already the MAC of port "a"',
      'ports[1].address: subnet 192.0.2.129/25 overlaps ports[0] (192.0.2.1/24)',
      'ports[2].address: 198.51.100.0/24 is the network address of its subnet; give the port a host address',
      'ports[3].address: 203.0.113.255/24 is the broadcast address of its subnet',
    ]);
  });

  it('checks routes: grammar errors, unknown ports, host bits', () => {
    expect(
      problems(
        PORTS +
          `routes:
  - 203.0.113.0/24 via
  - 203.0.113.0/24 dev eth9
  - 203.0.113.1/24 via 198.51.100.2
  - 203.0.113.0/33 blackhole
  - 203.0.113.0/24 frobnicate
`,
      ),
    ).toEqual([
      'routes[0]: "via" needs a value',
      'routes[3]: "203.0.113.0/33" has a bad prefix length (0-32)',
      'routes[4]: unknown keyword "frobnicate" (expected via, dev, nexthop, weight, blackhole, unreachable or prohibit)',
      'routes[1]: dev "eth9" is not a configured port',
      'routes[2]: prefix has host bits set for /24 (did you mean the network address?)',
    ]);
  });

  it('reads a routes file relative to the config and reports its line numbers', () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'dp-config-'));
    writeFileSync(join(dir, 'routes.txt'), '# comment\n203.0.113.0/24 via 198.51.100.2\n\n198.18.0.0/15 blackhole\nbogus line\n');
    writeFileSync(join(dir, 'router.yaml'), PORTS + 'routesFile: routes.txt\n');
    try {
      loadConfig(join(dir, 'router.yaml'));
      throw new Error('accepted');
    } catch (e) {
      expect((e as ConfigError).problems).toEqual([`routesFile: ${join(dir, 'routes.txt')}:5: "bogus" is not an IPv4 prefix (A.B.C.D/LEN)`]);
    }
    writeFileSync(join(dir, 'routes.txt'), '203.0.113.0/24 via 198.51.100.2\n198.18.0.0/15 blackhole\n');
    expect(loadConfig(join(dir, 'router.yaml')).routes.map(routeOrigin)).toEqual([`${join(dir, 'routes.txt')}:1`, `${join(dir, 'routes.txt')}:2`]);
  });

  it('reports a missing file and bad YAML clearly', () => {
    expect(() => loadConfig('/nonexistent/router.yaml')).toThrow(/router.yaml: invalid config:\n {2}cannot read \/nonexistent\/router.yaml: no such file \(ENOENT\)/);
    expect(problems('ports: [\n')[0]).toMatch(/^YAML: /);
  });

  it('rejects a gateway that is not on a connected subnet at load time, with the other problems in one pass', () => {
    expect(problems(PORTS + 'routes: ["203.0.113.0/24 via 198.18.0.1"]\n')).toEqual(['routes[0]: gateway 198.18.0.1 is not on a connected subnet of any port']);
    expect(problems(PORTS + 'routes: ["10.0.0.0/8 via 10.9.9.9", "11.0.0.0/8 bogus", "12.0.0.0/8 via 198.51.100.2 dev lan", "13.0.0.0/8 via 198.51.100.1"]\n')).toEqual([
      'routes[1]: unknown keyword "bogus" (expected via, dev, nexthop, weight, blackhole, unreachable or prohibit)',
      'routes[0]: gateway 10.9.9.9 is not on a connected subnet of any port',
      'routes[2]: gateway 198.51.100.2 is not on the subnet of port "lan"',
      'routes[3]: gateway 198.51.100.1 is the router\'s own address',
    ]);
    // A routes file's line too, under the config's name (every command that loads a config sees it).
    const dir = mkdtempSync(join(os.tmpdir(), 'dp-config-'));
    writeFileSync(join(dir, 'routes.txt'), '203.0.113.0/24 via 198.51.100.2\n10.0.0.0/8 via 10.9.9.9\n');
    writeFileSync(join(dir, 'router.yaml'), PORTS + 'routesFile: routes.txt\n');
    expect(() => loadConfig(join(dir, 'router.yaml'))).toThrow(ConfigError);
    expect(() => loadConfig(join(dir, 'router.yaml'))).toThrow(`router.yaml: invalid config:\n  ${join(dir, 'routes.txt')}:2: gateway 10.9.9.9 is not on a connected subnet of any port`);
  });

  it('blames no gateway for a port the schema refused', () => {
    expect(problems('ports:\n  - { name: lan, address: 192.0.2.1/24 }\n  - { name: wan, address: 198.51.100.1/99 }\nroutes: ["10.0.0.0/8 via 198.51.100.2"]\n')).toEqual([
      expect.stringMatching(/^ports\[1\]\.address: /),
    ]);
  });
});

describe('route line grammar', () => {
  it('accepts the iproute2 forms', () => {
    expect(parseRouteLine('default via 192.0.2.1')).toMatchObject({ prefix: 0, len: 0, type: 'unicast' });
    expect(parseRouteLine('192.0.2.7 dev lan')).toMatchObject({ len: 32, nexthops: [{ gateway: 0, port: 'lan', weight: 1 }] });
    expect(parseRouteLine('blackhole 198.18.0.0/15')).toMatchObject({ type: 'blackhole', nexthops: [] });
    expect(parseRouteLine('198.18.0.0/15 prohibit')).toMatchObject({ type: 'prohibit' });
    expect(parseRouteLine('198.18.0.0/15 nexthop via 192.0.2.1 weight 3 nexthop via 192.0.2.2 dev lan')).toMatchObject({
      nexthops: [
        { gateway: 0xc0000201, port: undefined, weight: 3 },
        { gateway: 0xc0000202, port: 'lan', weight: 1 },
      ],
    });
  });

  it('rejects each malformed form with a reason', () => {
    expect(parseRouteLine('198.18.0.0/15')).toMatch(/needs "via ADDR"/);
    expect(parseRouteLine('198.18.0.0/15 blackhole via 192.0.2.1')).toBe('a blackhole route takes no next hop');
    expect(parseRouteLine('198.18.0.0/15 via 192.0.2.01')).toBe('via "192.0.2.01" is not a usable IPv4 address');
    expect(parseRouteLine('198.18.0.0/15 via 192.0.2.1 via 192.0.2.2')).toBe('a next hop has two "via"');
    expect(parseRouteLine('198.18.0.0/15 via 192.0.2.1 weight 0')).toBe('weight "0" must be 1-255');
  });

  // Bad lines, each with the reason (ported from the routes-file tests when the two grammars became one).
  const bad: [string, string, RegExp][] = [
    ['bad address', '198.18.0/15 via 192.0.2.1', /"198.18.0\/15" is not an IPv4 prefix/],
    ['octet over 255', '198.18.0.256/32 blackhole', /is not an IPv4 prefix/],
    ['leading zero', '0198.18.0.0/15 blackhole', /is not an IPv4 prefix/],
    ['length over 32', '198.18.0.0/33 blackhole', /has a bad prefix length \(0-32\)/],
    ['empty length', '198.18.0.0/ blackhole', /has a bad prefix length/],
    ['unknown keyword', '198.18.0.0/15 gw 192.0.2.1', /unknown keyword "gw"/],
    ['via without address', '198.18.0.0/15 via', /"via" needs a value/],
    ['via with a bad address', '198.18.0.0/15 via 192.0.2', /via "192.0.2" is not a usable IPv4 address/],
    ['via 0.0.0.0', '198.18.0.0/15 via 0.0.0.0', /is not a usable IPv4 address/],
    ['dev without port', '198.18.0.0/15 dev', /"dev" needs a value/],
    ['type with a next hop', '198.18.0.0/15 blackhole dev lan', /a blackhole route takes no next hop/],
    ['no target', '198.18.0.0/15', /needs "via ADDR", "dev PORT"/],
    ['type without prefix', 'unreachable', /"unreachable" needs a prefix/],
  ];
  for (const [what, line, message] of bad) {
    it(`rejects a route line: ${what}`, () => {
      const r = parseRoutesText(`# header\n198.19.0.0/16 blackhole\n${line}\n`, 'f');
      expect(r.routes).toHaveLength(1);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatch(/^f:3: /);
      expect(r.errors[0]).toMatch(message);
    });
  }

  it('accepts dev before via and tabs between words', () => {
    expect(parseRouteLine('198.18.0.0/15\tdev lan  via 192.0.2.1')).toMatchObject({ nexthops: [{ gateway: 0xc0000201, port: 'lan', weight: 1 }] });
  });

  it('parses large tables quickly and caps the error list', () => {
    const lines: string[] = [];
    for (let i = 0; i < 50; i++) lines.push('nonsense');
    const res = parseRoutesText(lines.join('\n'), 'f');
    expect(res.errors).toHaveLength(21);
    expect(res.errors[20]).toBe('f: and 30 more errors like these');
  });
});
