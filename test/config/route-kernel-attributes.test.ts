// A route line pasted from `ip route` carries the kernel's own attributes
// (proto, scope, src, metric...). They mean nothing to the dataplane: the
// line is refused naming each of them and saying to drop them, where it said
// `unknown keyword "proto"`, with the file and line (or the routes: entry).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRouteLine } from '../../src/config/routes.js';
import { dataplane } from '../cli-run.js';
import { configProblems } from './config-problems.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-kernel-attrs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PORTS = 'ports:\n  - { name: lan, address: 192.0.2.1/24 }\n  - { name: wan, address: 198.51.100.1/24 }\n';
const ONE = 'is a kernel route attribute (as `ip route` prints it) with no meaning here: drop it';
const SEVERAL = 'are kernel route attributes (as `ip route` prints them) with no meaning here: drop them';

describe('kernel route attributes', () => {
  it.each([
    ['198.18.0.0/24 via 198.51.100.2 dev wan proto static metric 100', `"proto static" and "metric 100" ${SEVERAL}`],
    ['192.0.2.0/24 dev lan proto kernel scope link src 192.0.2.1', `"proto kernel", "scope link" and "src 192.0.2.1" ${SEVERAL}`],
    ['default via 198.51.100.254 dev wan proto dhcp src 198.51.100.7 metric 100', `"proto dhcp", "src 198.51.100.7" and "metric 100" ${SEVERAL}`],
    ['198.18.0.0/24 via 198.51.100.2 dev wan onlink', `"onlink" ${ONE}`],
    ['198.18.0.0/24 via 198.51.100.2 dev wan linkdown', `"linkdown" ${ONE}`],
    ['198.18.0.0/24 via 198.51.100.2 table main', `"table main" ${ONE}`],
    ['198.18.0.0/24 via 198.51.100.2 metric', `"metric" ${ONE}`],
    ['blackhole 198.18.0.0/15 proto static', `"proto static" ${ONE}`],
    ['198.18.0.0/24 proto static nexthop via 198.51.100.2 weight 1 nexthop via 198.51.100.3 weight 1', `"proto static" ${ONE}`],
  ])('%s', (line, message) => {
    expect(parseRouteLine(line)).toBe(message);
  });

  it('the same line without them is a route; any other unknown word is still named as one', () => {
    expect(parseRouteLine('198.18.0.0/24 via 198.51.100.2 dev wan')).toMatchObject({ len: 24, type: 'unicast' });
    expect(parseRouteLine('198.18.0.0/24 via 198.51.100.2 realm 3')).toBe('unknown keyword "realm" (expected via, dev, nexthop, weight, blackhole, unreachable or prohibit)');
  });

  it('in a routes file and in routes:, with the file and line or the entry; exit 2', () => {
    writeFileSync(join(dir, 'routes.txt'), '# from ip route\n198.18.0.0/24 via 198.51.100.2 dev wan proto static metric 100\n198.19.0.0/24 via 198.51.100.2\n');
    const yaml = `${PORTS}routesFile: routes.txt\nroutes:\n  - 198.20.0.0/24 via 198.51.100.2 proto static\n`;
    expect(configProblems(yaml, dir)).toEqual([`routes[0]: "proto static" ${ONE}`, `routesFile: ${join(dir, 'routes.txt')}:2: "proto static" and "metric 100" ${SEVERAL}`]);
    writeFileSync(join(dir, 'c.yaml'), yaml);
    const r = dataplane(['route', 'lookup', '--config', join(dir, 'c.yaml'), '198.18.0.1']);
    expect([r.status, r.stdout, r.stderr]).toEqual([
      2,
      '',
      `dataplane route lookup: ${join(dir, 'c.yaml')}: invalid config:\n  routes[0]: "proto static" ${ONE}\n  routesFile: ${join(dir, 'routes.txt')}:2: "proto static" and "metric 100" ${SEVERAL}\n`,
    ]);
  });
});
