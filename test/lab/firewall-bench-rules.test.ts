// The live firewall benchmark's rule sets (bench/live/firewall-rules.ts): the
// admitting rule is the last and the only one that matches the benchmark's
// traffic, and the kernel takes all three nftables renderings with every
// rule in them (loaded in a namespace of the test's own). That they filter
// alike is what the benchmark checks before measuring (a probe to a port no
// rule opens must not reach the sink).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCH_DPORT, benchRuleSet, CLIENT_NET, nftLinear, nftMaps, nftSets, OTHER_ENDPOINTS } from '../../bench/live/firewall-rules.js';
import { ROUTEVIEWS_FILE } from '../../bench/route/table.js';
import { ip, nsTry, tryRun } from '../../src/host/commands.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { labConfigYaml, LAB } from '../../src/lab/topology.js';
import { cidrContains } from '../../src/firewall/plan.js';
import { skipIf } from '../skip.js';

const addr = (a: string) => a.split('.').reduce((x, o) => x * 256 + Number(o), 0) >>> 0;
const cidr = (c: string) => ({ addr: addr(c.split('/')[0]), len: Number(c.split('/')[1]) });
const noData = existsSync(ROUTEVIEWS_FILE) ? undefined : `no routing table at ${ROUTEVIEWS_FILE}`;

describe('benchRuleSet', skipIf(noData), () => {
  it('puts the admitting rule last and lets no other rule match the client', () => {
    const set = benchRuleSet(2000);
    expect(set.rules).toHaveLength(2000);
    expect(set.endpoints).toHaveLength(OTHER_ENDPOINTS + 1);
    expect(new Set(set.endpoints).size).toBe(set.endpoints.length);
    expect(set.endpoints[0]).toBe(LAB.server.addr);
    const last = set.rules[set.rules.length - 1];
    expect(last).toMatchObject({ src: CLIENT_NET, dst: LAB.server.addr, proto: 'udp', lo: BENCH_DPORT, hi: BENCH_DPORT });
    const client = addr(LAB.client.addr);
    for (const r of set.rules.slice(0, -1)) {
      expect(cidrContains(cidr(r.src), client), r.src).toBe(false);
      expect(set.endpoints).toContain(r.dst);
      expect(r.lo).toBeGreaterThan(0);
      expect(r.hi).toBeGreaterThanOrEqual(r.lo);
      expect(r.hi).toBeLessThan(65536);
    }
    // Drawn from the table: many distinct source prefixes, not one repeated.
    expect(new Set(set.rules.map((r) => r.src)).size).toBeGreaterThan(1900);
  });

  it('is the same rule set every time', () => {
    expect(benchRuleSet(50)).toEqual(benchRuleSet(50));
  });

  it('rejects an empty rule set', () => {
    expect(() => benchRuleSet(0)).toThrow(/at least the admitting rule/);
  });
});

describe('labConfigYaml extraConfig', () => {
  it('appends the extra sections to the router config', () => {
    const yaml = labConfigYaml({ prefix: 'dp-fw', ports: 'afpacket', engine: 'dataplane', workers: 1, extraConfig: 'conntrack: { capacity: 4096 }\n' });
    expect(yaml.endsWith('icmp: { ratePerSecond: 1000, burst: 100 }\nconntrack: { capacity: 4096 }\n')).toBe(true);
  });
});

const notRoot = process.getuid?.() === 0 ? undefined : 'not root (nft needs a network namespace)';
const why = noData ?? notRoot ?? missingToolsMessage(['nft', 'ip']);

describe('the nftables renderings', skipIf(why), () => {
  const ns = `dp-fwrt-${process.pid.toString(36)}`;
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fwbench-'));
    tryRun('ip', ['netns', 'del', ns]);
    ip('netns', 'add', ns);
  });
  afterAll(() => {
    tryRun('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  // Built only where the suite runs: without the routing table the rule set cannot be drawn (the skip says so).
  const set = why === undefined ? benchRuleSet(300) : undefined;
  it.each([
    ['linear', nftLinear],
    ['maps', nftMaps],
    ['one set', nftSets],
  ] as const)('%s loads, and carries every rule', (_name, render) => {
    if (set === undefined) throw new Error(`unreachable: the suite is skipped (${why})`);
    const file = join(dir, 'rules.nft');
    writeFileSync(file, render(set));
    const load = nsTry(ns, 'nft', ['-f', file]);
    expect(load.status, load.output).toBe(0);
    const listed = nsTry(ns, 'nft', ['list', 'ruleset']).output;
    nsTry(ns, 'nft', ['flush', 'ruleset']);
    // Each rule's source prefix and the admitting rule are in what the kernel holds.
    for (const r of set.rules) expect(listed).toContain(r.src);
    expect(listed).toContain('ct state established,related accept');
    expect(listed).toContain('ip daddr @endpoints drop');
  });
});
