// One route per prefix: connected routes win over configured ones
// (administrative distance 0 vs 1), duplicate prefixes in the config's list
// are an error naming both lines, and in a routes file the last line wins.
// Every route left out is reported with its line and counted.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, type RouterConfig } from '../../src/config/load.js';
import { DUPLICATE_ROUTES, SHADOWED_ROUTES } from '../../src/config/route-precedence.js';
import { compileFib } from '../../src/route/fib.js';
import { NexthopKind } from '../../src/route/nexthops.js';
import { PrefixBitmap } from '../../src/route/prefix-bitmap.js';
import { prefixMask } from '../../src/route/prefix.js';
import { ADMIN_DISTANCE, outranks, sourcesByFallingDistance } from '../../src/route/route-source.js';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { PcapngWriter } from '../../src/pcap/writer.js';
import { ipv4ToString, parseIpv4Address } from '../../src/wire/address.js';
import { udpFrame } from '../pipeline/build.js';
import { dataplane } from '../cli-run.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-route-precedence-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PORTS = `ports:
  - { name: lan, address: 192.0.2.1/24 }
  - { name: wan, address: 198.51.100.1/24 }
`;

/** What the compiled FIB answers for addr: "dev lan", "via 198.51.100.10 dev wan", "local dev lan", "broadcast dev lan", "blackhole", "none". */
function fibAnswer(config: RouterConfig, addr: string): string {
  const { lpm, nexthops: t } = compileFib(config);
  const nh = lpm.lookup(parseIpv4Address(addr));
  if (nh < 0) return 'none';
  const port = config.ports[t.port[nh]]?.name;
  switch (t.kind[nh]) {
    case NexthopKind.ATTACHED:
      return `dev ${port}`;
    case NexthopKind.GATEWAY:
      return `via ${ipv4ToString(t.gateway[nh])} dev ${port}`;
    case NexthopKind.LOCAL:
      return `local dev ${port}`;
    case NexthopKind.BROADCAST:
      return `broadcast dev ${port}`;
    case NexthopKind.BLACKHOLE:
      return 'blackhole';
    default:
      return `kind ${t.kind[nh]}`;
  }
}

function configProblems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'router.yaml', dir);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  throw new Error('config was accepted');
}

describe('administrative distance', () => {
  it('ranks connected (0) before static (1) and installs from the highest distance down', () => {
    expect(ADMIN_DISTANCE).toEqual({ connected: 0, static: 1 });
    expect(outranks('connected', 'static')).toBe(true);
    expect(outranks('static', 'connected')).toBe(false);
    expect(outranks('static', 'static')).toBe(false);
    expect(sourcesByFallingDistance()).toEqual(['static', 'connected']);
  });

  it('keeps the connected route in the FIB even for a config that did not come through the loader', () => {
    const c = parseConfig(PORTS, 'router.yaml', dir);
    // As a control API might hand it over: a static route for the LAN subnet, its address and its broadcast.
    const hijack = (prefix: string, len: number) => ({ prefix: parseIpv4Address(prefix), len, type: 'unicast' as const, nexthops: [{ gateway: parseIpv4Address('198.51.100.10'), port: undefined, weight: 1 }], origin: 'api' });
    const config = { ...c, routes: [hijack('192.0.2.0', 24), hijack('192.0.2.1', 32), hijack('192.0.2.255', 32), hijack('203.0.113.0', 24)] };
    expect(fibAnswer(config, '192.0.2.77')).toBe('dev lan');
    expect(fibAnswer(config, '192.0.2.1')).toBe('local dev lan');
    expect(fibAnswer(config, '192.0.2.255')).toBe('broadcast dev lan');
    expect(fibAnswer(config, '203.0.113.9')).toBe('via 198.51.100.10 dev wan');
  });
});

describe('static routes against connected subnets', () => {
  it('leaves out a static route for a connected subnet, names its line and counts it; the LAN stays reachable', () => {
    const yaml = `${PORTS}routes:
  - 203.0.113.0/24 via 198.51.100.2
  - 192.0.2.0/24 via 198.51.100.10
`;
    const c = parseConfig(yaml, join(dir, 'router.yaml'), dir);
    expect(c.routes.map((r) => r.origin)).toEqual(['routes[0]']);
    expect(c.notices.counters).toEqual({ [SHADOWED_ROUTES]: 1 });
    expect(c.notices.warnings).toEqual([
      `${join(dir, 'router.yaml')}:6 (routes[1]): 192.0.2.0/24 via 198.51.100.10 is shadowed by the connected subnet of port "lan" (192.0.2.1/24): ` +
        'connected routes win (administrative distance 0, static 1); not installed',
    ]);
    expect(fibAnswer(c, '192.0.2.77')).toBe('dev lan');
    expect(fibAnswer(c, '203.0.113.5')).toBe('via 198.51.100.2 dev wan');
  });

  it('shadows static routes for the router\'s own address and its subnet broadcast too', () => {
    const c = parseConfig(`${PORTS}routes:\n  - 192.0.2.1/32 via 198.51.100.10\n  - 192.0.2.255 blackhole\n`, 'router.yaml', dir);
    expect(c.routes).toEqual([]);
    expect(c.notices.counters).toEqual({ [SHADOWED_ROUTES]: 2 });
    expect(c.notices.warnings[0]).toMatch(/^router\.yaml:5 \(routes\[0\]\): 192\.0\.2\.1\/32 via 198\.51\.100\.10 is shadowed by the address of port "lan"/);
    expect(c.notices.warnings[1]).toMatch(/^router\.yaml:6 \(routes\[1\]\): blackhole 192\.0\.2\.255\/32 is shadowed by the broadcast address of port "lan"/);
    expect(fibAnswer(c, '192.0.2.1')).toBe('local dev lan');
    expect(fibAnswer(c, '192.0.2.255')).toBe('broadcast dev lan');
  });

  it('keeps a more specific route inside a connected subnet and a covering one around it (longest prefix decides)', () => {
    const c = parseConfig(`${PORTS}routes:\n  - 192.0.2.128/25 via 198.51.100.10\n  - 192.0.0.0/16 via 198.51.100.11\n`, 'router.yaml', dir);
    expect(c.notices).toEqual({ warnings: [], counters: {} });
    expect(fibAnswer(c, '192.0.2.200')).toBe('via 198.51.100.10 dev wan');
    expect(fibAnswer(c, '192.0.2.77')).toBe('dev lan');
    expect(fibAnswer(c, '192.0.9.1')).toBe('via 198.51.100.11 dev wan');
  });
});

describe('duplicate prefixes', () => {
  it('refuses two routes for one prefix in the config, naming both lines', () => {
    expect(
      configProblems(`${PORTS}routes:
  - 203.0.113.0/24 via 198.51.100.2
  - 198.18.0.0/15 blackhole
  - { prefix: 203.0.113.0/24, via: 198.51.100.3 }
`),
    ).toEqual([
      'routes[2]: duplicate prefix 203.0.113.0/24: router.yaml:7 (routes[2]) and router.yaml:5 (routes[0]); give one route per prefix (several next hops: "nexthop via A nexthop via B")',
    ]);
  });

  it('lets the last line of a routes file win, and names and counts each line it replaces', () => {
    const routes = join(dir, 'dup-routes.txt');
    writeFileSync(routes, '203.0.113.0/24 via 198.51.100.2\n198.18.0.0/15 blackhole\n# moved\n203.0.113.0/24 via 198.51.100.3\n203.0.113.0/24 via 198.51.100.4\n');
    const c = parseConfig(`${PORTS}routesFile: dup-routes.txt\n`, 'router.yaml', dir);
    expect(c.routes.map((r) => r.line)).toEqual([2, 5]);
    expect(c.notices.counters).toEqual({ [DUPLICATE_ROUTES]: 2 });
    expect(c.notices.warnings).toEqual([
      `${routes}:4: 203.0.113.0/24 replaces the route of line 1 (in a routes file the last one wins)`,
      `${routes}:5: 203.0.113.0/24 replaces the route of line 4 (in a routes file the last one wins)`,
    ]);
    expect(fibAnswer(c, '203.0.113.9')).toBe('via 198.51.100.4 dev wan');
  });

  it('prefers the config\'s route over the routes file\'s for the same prefix', () => {
    const routes = join(dir, 'override-routes.txt');
    writeFileSync(routes, '198.18.0.0/15 via 198.51.100.2\n203.0.113.0/24 via 198.51.100.3\n');
    const c = parseConfig(`${PORTS}routes:\n  - 198.18.0.0/15 blackhole\nroutesFile: override-routes.txt\n`, 'router.yaml', dir);
    expect(c.routes.map((r) => r.line ?? r.origin)).toEqual(['routes[0]', 2]);
    expect(c.notices.counters).toEqual({ [DUPLICATE_ROUTES]: 1 });
    expect(c.notices.warnings).toEqual([`${routes}:1: 198.18.0.0/15 is also in the config's routes (router.yaml:5 (routes[0])), which wins over the routes file; this line is not used`]);
    expect(fibAnswer(c, '198.18.7.7')).toBe('blackhole');
  });

  it('keeps at most 20 warning lines per kind but counts them all', () => {
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) lines.push(`198.18.${i}.0/24 via 198.51.100.2`, `198.18.${i}.0/24 via 198.51.100.3`, '192.0.2.0/24 via 198.51.100.9');
    writeFileSync(join(dir, 'many.txt'), lines.join('\n') + '\n');
    const c = parseConfig(`${PORTS}routesFile: many.txt\n`, 'router.yaml', dir);
    expect(c.notices.counters).toEqual({ [SHADOWED_ROUTES]: 30, [DUPLICATE_ROUTES]: 30 });
    expect(c.notices.warnings).toHaveLength(42);
    expect(c.notices.warnings[20]).toBe(`... and 10 more (30 in all, counted as ${SHADOWED_ROUTES})`);
    expect(c.notices.warnings[41]).toBe(`... and 10 more (30 in all, counted as ${DUPLICATE_ROUTES})`);
    expect(c.routes).toHaveLength(30);
    expect(c.routes.every((r) => r.nexthops[0].gateway === parseIpv4Address('198.51.100.3'))).toBe(true);
  });
});

describe('PrefixBitmap', () => {
  it('agrees with a Set of (prefix, len) over random prefixes of every length, /0 and /32 included', () => {
    const bm = new PrefixBitmap();
    const ref = new Set<string>();
    let seed = 7;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    // A small pool of addresses, so that prefixes repeat at every length.
    const pool = Array.from({ length: 48 }, () => rnd());
    pool.push(0, 0xffffffff);
    for (let k = 0; k < 20000; k++) {
      const len = rnd() % 33;
      const prefix = len === 0 ? 0 : (pool[rnd() % pool.length] & prefixMask(len)) >>> 0;
      const key = `${prefix}/${len}`;
      expect(bm.testAndSet(prefix, len)).toBe(ref.has(key));
      ref.add(key);
      expect(bm.has(prefix, len)).toBe(true);
    }
    expect(ref.size).toBeGreaterThan(900);
    expect(bm.has(0x01020304, 32)).toBe(ref.has(`${0x01020304}/32`));
  });
});

describe('the commands report shadowed routes', () => {
  const config = join(dir, 'cli-router.yaml');
  writeFileSync(
    config,
    `ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }
routes:
  - 192.0.2.0/24 via 198.51.100.10
neighbors:
  - { address: 192.0.2.77, mac: "02:aa:00:00:00:77" }
  - { address: 198.51.100.10, mac: "02:bb:00:00:00:10" }
`,
  );
  const warning = `dataplane replay: warning: ${config}:5 (routes[0]): 192.0.2.0/24 via 198.51.100.10 is shadowed by the connected subnet of port "lan" (192.0.2.1/24)`;

  it('replay forwards to the LAN (not to the static gateway), warns with file:line and shows fib/shadowed-routes', () => {
    const input = join(dir, 'from-wan.pcapng');
    const w = new PcapngWriter(input, { interfaces: ['lan', 'wan'].map((name) => ({ name, linkType: LINKTYPE_ETHERNET })) });
    w.write(1, udpFrame({ src: '198.51.100.10', dst: '192.0.2.77', srcMac: '02:bb:00:00:00:10', dstMac: '02:00:00:00:00:02' }, 1000, 2000), 1_700_000_000, 0);
    w.close();
    const out = join(dir, 'out.pcapng');
    const r = dataplane(['replay', input, '--config', config, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.startsWith(warning)).toBe(true);
    expect(r.stdout).toMatch(/^ {2}lan +rx +0 +tx +1 /m);
    expect(r.stdout).toMatch(/^ {2}wan +rx +1 +tx +0 /m);
    expect(r.stdout).toMatch(/^counters \(routes, at load\):\n {2}fib\/shadowed-routes {2}1$/m);
    const json = dataplane(['replay', input, '--config', config, '--out', out, '--json']);
    expect((JSON.parse(json.stdout) as { configCounters: Record<string, number> }).configCounters).toEqual({ [SHADOWED_ROUTES]: 1 });
    if (spawnSync('tshark', ['--version']).status === 0) {
      const t = spawnSync('tshark', ['-r', out, '-T', 'fields', '-e', 'frame.interface_name', '-e', 'eth.dst', '-e', 'ip.dst'], { encoding: 'utf8' });
      expect(t.stdout.trim()).toBe('lan\t02:aa:00:00:00:77\t192.0.2.77');
    }
  });

  it('route lookup answers with the connected route and warns on stderr', () => {
    const r = dataplane(['route', 'lookup', '--config', config, '192.0.2.77']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('192.0.2.77 192.0.2.0/24 dev lan\n');
    expect(r.stderr.startsWith(warning.replace('replay', 'route lookup'))).toBe(true);
  });

  it('loadConfig of a file reports the same', () => {
    expect(loadConfig(config).notices.counters).toEqual({ [SHADOWED_ROUTES]: 1 });
  });
});
