// The load balancer lab's router configs (src/lab/lb-router-config.ts) are
// configs the dataplane takes, saying what the lab means: the VIP, its mode
// and weights, and the decap router's unwrapping port; and the kernel takes
// the nftables DNAT of the reference, weights as repeated map entries
// (loaded in a namespace of the test's own).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ip, nsTry, tryRun } from '../../src/host/commands.js';
import { labUnavailable } from '../../src/lab/lab-error.js';
import { balancerYaml, decapYaml, nftDnatRuleset, topologyOf, NFT_TABLE } from '../../src/lab/lb-router-config.js';
import { LB_LAB } from '../../src/lab/lb-topology.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { LB_MODES } from '../../src/lb/lb-config.js';
import { skipIf } from '../skip.js';

const u32 = (a: string) => a.split('.').reduce((x, o) => x * 256 + Number(o), 0) >>> 0;
const HC = { type: 'tcp' as const, port: 80, intervalMs: 500, timeoutMs: 300, rise: 2, fall: 2 };

describe('the load balancer lab configs', () => {
  for (const mode of LB_MODES) {
    it(`${mode}: the balancer's config loads with its VIP, weights and health check (${topologyOf(mode)} topology)`, () => {
      const c = parseConfig(balancerYaml(topologyOf(mode), { mode, protocol: 'tcp', port: 80, weights: [1, 0, 2], healthCheck: HC }, 'conntrack: { capacity: 65536 }\n'), 'balancer.yaml', '/');
      const v = c.loadBalancer?.vips[0];
      expect(v).toMatchObject({ name: 'web', address: u32(LB_LAB.vip), protocol: 6, port: 80, mode, healthCheck: HC });
      expect(v?.backends).toEqual(LB_LAB.backends.map((b, i) => ({ address: u32(b.addr), weight: [1, 0, 2][i] })));
      expect(c.ports.map((p) => p.name)).toEqual(['lan1', 'lan2', topologyOf(mode) === 'tunnel' ? 'transit' : 'be']);
      expect(c.ports.every((p) => p.io.type === 'afpacket' && p.decap === undefined)).toBe(true);
      expect(c.conntrack?.capacity).toBe(65536);
    });
  }

  it('the balancer takes AF_XDP ports on every leg when asked (the live benchmark), AF_PACKET otherwise', () => {
    for (const mode of ['dsr-l2', 'dsr-ipip'] as const) {
      const c = parseConfig(balancerYaml(topologyOf(mode), { mode, protocol: 'udp', weights: [1, 1, 1] }, '', 'afxdp'), 'balancer.yaml', '/');
      expect(c.ports.map((p) => [p.name, p.io.type])).toEqual([['lan1', 'afxdp'], ['lan2', 'afxdp'], [topologyOf(mode) === 'tunnel' ? 'transit' : 'be', 'afxdp']]);
      expect(c.ports.every((p) => p.io.type === 'afxdp' && p.io.interface === p.name)).toBe(true);
    }
  });

  it("the decap router's backend port unwraps IPIP and GUE; it routes the clients back via the balancer", () => {
    const c = parseConfig(decapYaml(), 'decap.yaml', '/');
    expect(c.ports.find((p) => p.name === 'be')?.decap).toMatchObject({ ipip: true, gue: true });
    expect(c.ports.find((p) => p.name === 'transit')?.decap).toBeUndefined();
    expect(c.loadBalancer).toBeUndefined();
  });
});

const noRoot = labUnavailable() ?? missingToolsMessage(['nft']);

describe('the kernel reference: nftables DNAT, numgen random', skipIf(noRoot), () => {
  it('loads, with a map entry per unit of weight, and loads again with new weights (as setWeights does)', () => {
    const ns = `dp-lbcfg-${process.pid.toString(36)}`;
    ip('netns', 'add', ns);
    try {
      for (const weights of [[1, 1, 2], [0, 1, 1]]) {
        const r = nsTry(ns, 'nft', ['-f', '-'], { input: nftDnatRuleset({ mode: 'nat', protocol: 'tcp', port: 80, weights }) });
        expect(r.status, r.stderr).toBe(0);
        const listed = nsTry(ns, 'nft', ['list', 'table', 'ip', NFT_TABLE]).stdout;
        const n = weights.reduce((a, b) => a + b, 0);
        expect(listed).toMatch(new RegExp(`ip daddr 203\\.0\\.113\\.10 tcp dport 80 dnat to numgen random mod ${n} map \\{ (.*) \\}`));
        const entries = /map \{ (.*) \}/.exec(listed)?.[1].split(', ') ?? [];
        expect(entries.map((e) => e.split(' : ')[1]).sort()).toEqual(LB_LAB.backends.flatMap((b, i) => Array<string>(weights[i]).fill(b.addr)).sort());
      }
      expect(() => nftDnatRuleset({ mode: 'nat', protocol: 'tcp', port: 80, weights: [0, 0, 0] })).toThrow(/weight above 0/);
    } finally {
      tryRun('ip', ['netns', 'del', ns]);
    }
  });
});
