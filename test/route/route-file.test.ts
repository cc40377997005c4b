import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Lpm, NO_ROUTE } from '../../src/route/lpm.js';
import { parseIpv4 } from '../../src/route/prefix.js';
import { formatRoute } from '../../src/route/route-kind.js';
import { loadRouteFile, loadRoutes, parseRouteText } from '../../src/route/route-file.js';

const ip = parseIpv4;

describe('routes file: good lines', () => {
  it('parses every target form, comments, blank lines, default and bare /32', () => {
    const text = [
      '# a comment',
      '',
      '10.0.0.0/8 via 192.0.2.1',
      '10.1.0.0/16 via 192.0.2.2 dev eth1   # trailing comment',
      '10.2.0.0/16 dev eth2 via 192.0.2.3',
      '198.51.100.0/24 dev eth0',
      '203.0.113.0/24 blackhole',
      'unreachable 203.0.113.128/25',
      '203.0.113.64/26 prohibit',
      'default via 192.0.2.254',
      '\t192.0.2.77\tdev\teth3\r',
    ].join('\n');
    const r = parseRouteText(text);
    expect(r.errors).toEqual([]);
    expect(r.routes.map(formatRoute)).toEqual([
      '10.0.0.0/8 via 192.0.2.1',
      '10.1.0.0/16 via 192.0.2.2 dev eth1',
      '10.2.0.0/16 via 192.0.2.3 dev eth2',
      '198.51.100.0/24 dev eth0',
      '203.0.113.0/24 blackhole',
      '203.0.113.128/25 unreachable',
      '203.0.113.64/26 prohibit',
      '0.0.0.0/0 via 192.0.2.254',
      '192.0.2.77/32 dev eth3',
    ]);
    expect(r.routes.map((x) => x.line)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('loads into the LPM with one next-hop index per distinct target; a repeated prefix replaces', () => {
    const r = parseRouteText('10.0.0.0/8 via 192.0.2.1\n10.1.0.0/16 via 192.0.2.1\n10.2.0.0/16 blackhole\n10.2.0.0/16 via 192.0.2.9\n');
    const lpm = new Lpm();
    const res = loadRoutes(lpm, r.routes);
    expect([res.added, res.replaced, res.targets.targets.length]).toEqual([3, 1, 3]);
    expect(lpm.lookup(ip('10.1.2.3'))).toBe(lpm.lookup(ip('10.9.9.9')));
    expect(res.targets.get(lpm.lookup(ip('10.2.0.1')))).toEqual({ kind: 'via', gateway: ip('192.0.2.9'), port: '' });
  });
});

describe('routes file: bad lines name the line and the reason', () => {
  const cases: [string, string, RegExp][] = [
    ['bad address', '10.0.0/8 via 192.0.2.1', /bad prefix "10.0.0\/8"/],
    ['octet over 255', '10.0.0.256/32 blackhole', /bad prefix/],
    ['leading zero', '010.0.0.0/8 blackhole', /bad prefix/],
    ['length over 32', '10.0.0.0/33 blackhole', /bad prefix length in "10.0.0.0\/33": expected 0-32/],
    ['empty length', '10.0.0.0/ blackhole', /bad prefix length/],
    ['host bits set (rejected like iproute2)', '10.1.0.0/8 via 192.0.2.1', /invalid prefix for given prefix length: 10.1.0.0\/8 has host bits set \(the network is 10.0.0.0\/8\)/],
    ['unknown keyword', '10.0.0.0/8 gw 192.0.2.1', /unknown keyword "gw" \(expected via, dev, blackhole, unreachable or prohibit\)/],
    ['via without address', '10.0.0.0/8 via', /"via" needs an IPv4 address/],
    ['via with a bad address', '10.0.0.0/8 via 192.0.2', /via "192.0.2" is not an IPv4 address/],
    ['via 0.0.0.0', '10.0.0.0/8 via 0.0.0.0', /not a usable gateway/],
    ['dev without port', '10.0.0.0/8 dev', /"dev" needs a port name/],
    ['via twice', '10.0.0.0/8 via 192.0.2.1 via 192.0.2.2', /"via" given twice/],
    ['type with a next hop', '10.0.0.0/8 blackhole via 192.0.2.1', /a blackhole route takes no "via" or "dev"/],
    ['two types', 'blackhole 10.0.0.0/8 prohibit', /a route has one type/],
    ['no target', '10.0.0.0/8', /10.0.0.0\/8 needs a target/],
    ['type without prefix', 'unreachable', /"unreachable" needs a prefix/],
  ];
  for (const [what, line, message] of cases) {
    it(what, () => {
      const r = parseRouteText(`# header\n10.9.0.0/16 blackhole\n${line}\n`);
      expect(r.routes).toHaveLength(1);
      expect(r.errorCount).toBe(1);
      expect(r.errors[0].line).toBe(3);
      expect(r.errors[0].message).toMatch(message);
    });
  }

  it("hostBits: 'mask' uses the network and warns instead", () => {
    const r = parseRouteText('10.1.0.0/8 via 192.0.2.1\n', { hostBits: 'mask' });
    expect(r.errors).toEqual([]);
    expect(r.routes[0].prefix).toBe(ip('10.0.0.0'));
    expect(r.warnings).toEqual([{ line: 1, message: '10.1.0.0/8 has host bits set; using 10.0.0.0/8' }]);
  });

  it('keeps at most maxErrors messages but counts them all', () => {
    const r = parseRouteText('x\n'.repeat(10), { maxErrors: 3 });
    expect(r.errors.map((e) => e.line)).toEqual([1, 2, 3]);
    expect(r.errorCount).toBe(10);
  });

  it('loadRouteFile installs nothing when a line is bad, and names file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dp-routes-'));
    try {
      const path = join(dir, 'routes.txt');
      writeFileSync(path, '10.0.0.0/8 via 192.0.2.1\n10.0.0.0/8 via\n');
      const lpm = new Lpm();
      const res = loadRouteFile(path, lpm);
      expect('message' in res && res.message).toBe(`${path}:2: "via" needs an IPv4 address`);
      expect(lpm.lookup(ip('10.0.0.1'))).toBe(NO_ROUTE);
      writeFileSync(path, '10.0.0.0/8 via 192.0.2.1\n');
      const ok = loadRouteFile(path, lpm);
      expect('added' in ok && ok.added).toBe(1);
      expect(lpm.lookup(ip('10.0.0.1'))).toBe(0);
      expect('message' in loadRouteFile(join(dir, 'missing.txt'), lpm)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
