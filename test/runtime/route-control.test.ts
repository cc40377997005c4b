// The live route table's changes: checked whole, refused with the item and
// field named, and a refused change leaves every lookup as it was.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { compileFib } from '../../src/route/fib.js';
import { NO_ROUTE } from '../../src/route/fib-view.js';
import { NexthopKind } from '../../src/route/nexthops.js';
import { RouteChangeError, RouteControl, type RouteChange } from '../../src/runtime/route-control.js';
import { ipv4ToString, parseIpv4Address } from '../../src/wire/address.js';
import { BASE_CONFIG } from '../pipeline/harness.js';

function setup() {
  const config = parseConfig(BASE_CONFIG, 't', '.');
  const compiled = compileFib(config);
  return { config, compiled, rc: new RouteControl(config.ports, config.routes, compiled) };
}

/** Where a set of addresses goes: kind, port and gateway of the next hop each looks up. */
function lookups(rc: RouteControl, addrs: readonly string[]): string[] {
  const { lpm, nexthops: t } = rc.compiled;
  return addrs.map((a) => {
    const nh = lpm.lookup(parseIpv4Address(a));
    return nh === NO_ROUTE ? `${a}: none` : `${a}: kind ${t.kind[nh]} port ${t.port[nh]} gw ${ipv4ToString(t.gateway[nh])}`;
  });
}

const PROBES = ['192.0.2.200', '198.18.0.7', '198.18.1.7', '198.18.3.9', '198.19.4.4', '198.18.200.1', '203.0.113.50', '8.8.8.8'];

function refused(rc: RouteControl, change: RouteChange): string[] {
  try {
    rc.plan(change);
  } catch (e) {
    expect(e).toBeInstanceOf(RouteChangeError);
    return [...(e as RouteChangeError).problems];
  }
  throw new Error('the change was accepted');
}

describe('RouteControl', () => {
  it('adds, replaces and deletes routes, counting each', () => {
    const { rc } = setup();
    const r1 = rc.apply(rc.plan({ add: ['198.18.200.0/24 via 198.51.100.20', { prefix: '198.18.201.0/24', via: '203.0.113.20' }] }));
    expect(r1).toEqual({ added: 2, deleted: 0, replaced: 0 });
    expect(lookups(rc, ['198.18.200.1', '198.18.201.1'])).toEqual(['198.18.200.1: kind 0 port 1 gw 198.51.100.20', '198.18.201.1: kind 0 port 2 gw 203.0.113.20']);
    const r2 = rc.apply(rc.plan({ replace: ['198.18.200.0/24 via 203.0.113.21', '198.18.202.0/24 blackhole'], delete: ['198.18.201.0/24'] }));
    expect(r2).toEqual({ added: 1, deleted: 1, replaced: 1 });
    expect(lookups(rc, ['198.18.200.1', '198.18.201.1'])).toEqual(['198.18.200.1: kind 0 port 2 gw 203.0.113.21', '198.18.201.1: none']);
    const e = rc.table().find((x) => x.prefix === '198.18.200.0/24');
    expect(e).toMatchObject({ source: 'api', type: 'unicast', via: '203.0.113.21', dev: 'dmz', text: '198.18.200.0/24 via 203.0.113.21 dev dmz' });
    expect(rc.table().find((x) => x.prefix === '198.19.0.0/16')?.source).toBe('config');
    expect(rc.table().find((x) => x.prefix === '198.51.100.0/24')?.source).toBe('connected');
  });

  it('a reload of the unchanged file after a route add plans nothing, keeping the API route, and counts only what the file changes', () => {
    const { config, rc } = setup();
    rc.apply(rc.plan({ add: ['198.18.200.0/24 via 198.51.100.20'] }));
    // The running routes (API one included) differ from the file's, so every reload plans; it used to "replace" every config route.
    const same = rc.planConfig(config.routes);
    expect({ removals: same.removals, sets: same.sets.size, apiKept: same.apiKept }).toEqual({ removals: [], sets: 0, apiKept: 1 });
    expect(rc.apply(same)).toEqual({ added: 0, deleted: 0, replaced: 0 });
    // The file with one route changed and one gone: one replaced, one deleted, the API route still kept.
    const edited = parseConfig(BASE_CONFIG.replace('  - { prefix: 198.19.0.0/16, via: 198.51.100.253 }\n', '').replace('198.18.0.0/24 blackhole', '198.18.0.0/24 unreachable'), 't', '.');
    expect(edited.routes).toHaveLength(config.routes.length - 1);
    const changed = rc.planConfig(edited.routes);
    expect(changed.apiKept).toBe(1);
    expect(rc.apply(changed)).toEqual({ added: 0, deleted: 1, replaced: 1 });
    expect(rc.table().find((x) => x.prefix === '198.18.200.0/24')?.source).toBe('api');
    expect(rc.table().find((x) => x.prefix === '198.18.0.0/24')?.type).toBe('unreachable');
  });

  it('counts what table() lists, connected routes included, as routes come and go', () => {
    const { rc } = setup();
    expect(rc.count()).toBe(rc.table().length);
    rc.apply(rc.plan({ add: ['198.18.200.0/24 via 198.51.100.20', '198.18.201.0/24 blackhole'] }));
    expect(rc.count()).toBe(rc.table().length);
    rc.apply(rc.plan({ replaceAll: ['198.18.100.0/24 via 198.51.100.20'] }));
    expect(rc.table().filter((x) => x.source !== 'connected')).toHaveLength(1);
    expect(rc.count()).toBe(rc.table().length);
  });

  it('replaceAll makes the static table exactly the list (config routes included)', () => {
    const { rc } = setup();
    const r = rc.apply(rc.plan({ replaceAll: ['198.19.0.0/16 via 198.51.100.253', '198.18.100.0/24 via 198.51.100.20'] }));
    // Six config routes: one kept (the same prefix, now replaced), five deleted, one new.
    expect(r).toEqual({ added: 1, deleted: 5, replaced: 1 });
    expect(rc.size).toBe(2);
    expect(lookups(rc, ['198.18.0.7', '198.18.100.1'])).toEqual(['198.18.0.7: none', '198.18.100.1: kind 0 port 1 gw 198.51.100.20']);
  });

  it('names the item and field of every bad route, and applies nothing', () => {
    const { rc } = setup();
    const before = lookups(rc, PROBES);
    const table = JSON.stringify(rc.table());
    const problems = refused(rc, {
      add: [
        '198.18.210.0/24 via 198.51.100.20', // fine: refused only because others fail
        '198.18.211.0/24 via 10.9.9.9',
        { prefix: '198.18.212.0/24', via: '198.51.100.300' },
        { prefix: '198.18.213.0/24', dev: 'nope' },
        '198.18.214.1/24 via 198.51.100.20',
        '198.51.100.0/24 via 203.0.113.9',
        '198.19.0.0/16 via 198.51.100.20',
        { prefix: '198.18.215.0/24', via: '198.51.100.255' },
        42 as unknown as string,
      ],
      delete: ['198.18.99.0/24', 'nonsense'],
    });
    expect(problems).toEqual([
      'delete[0]: no route for 198.18.99.0/24',
      'delete[1]: "nonsense" is not an IPv4 prefix (A.B.C.D/LEN or default)',
      'add[1].via: gateway 10.9.9.9 is not on a connected subnet of any port',
      expect.stringMatching(/^add\[2\]\.via: /),
      'add[3].dev: dev "nope" is not a configured port',
      'add[4].prefix: prefix has host bits set for /24 (did you mean the network address?)',
      expect.stringMatching(/^add\[5\]\.prefix: 198\.51\.100\.0\/24 is the connected subnet of port "wan"/),
      'add[6].prefix: 198.19.0.0/16 already has a route (installed (config)); use replace to change it',
      expect.stringMatching(/^add\[7\]\.via: gateway 198\.51\.100\.255 is the broadcast address/),
      expect.stringMatching(/^add\[8\]: must be a route line/),
    ]);
    expect(lookups(rc, PROBES)).toEqual(before);
    expect(JSON.stringify(rc.table())).toBe(table);
  });

  it('refuses a route object with via or dev and nexthops as the config does', () => {
    const { rc } = setup();
    expect(refused(rc, { add: [{ prefix: '198.18.216.0/24', via: '198.51.100.20', nexthops: [{ via: '198.51.100.21' }] }] })).toEqual([
      'add[0]: give either "via" or "nexthops", not both (each next hop of nexthops takes its own via and dev)',
    ]);
  });

  it('refuses two routes for one prefix in one change, and an add of a prefix the same change adds', () => {
    const { rc } = setup();
    expect(refused(rc, { add: ['198.18.50.0/24 via 198.51.100.20', '198.18.50.0/24 via 198.51.100.21'] })).toEqual([
      'add[1].prefix: 198.18.50.0/24 already has a route (add[0]); use replace to change it',
    ]);
    expect(refused(rc, { replaceAll: ['198.18.50.0/24 blackhole', 'blackhole 198.18.50.0/24'] })).toEqual(['replaceAll[1].prefix: 198.18.50.0/24 is also replaceAll[0]; give one route per prefix']);
  });

  it('keeps next-hop indexes stable: existing ones never move, new gateways are appended', () => {
    const { rc } = setup();
    const t = rc.compiled.nexthops;
    const gwIndex = rc.compiled.lpm.lookup(parseIpv4Address('198.19.1.1'));
    const count = t.count;
    const snapshot = Array.from(t.gateway.subarray(0, count));
    rc.apply(rc.plan({ replaceAll: Array.from({ length: 150 }, (_, i) => `198.18.${100 + i}.0/24 via 198.51.100.${20 + (i % 3)}`) }));
    rc.apply(rc.plan({ replace: ['198.19.0.0/16 via 198.51.100.253'] }));
    expect(rc.compiled.lpm.lookup(parseIpv4Address('198.19.1.1'))).toBe(gwIndex);
    expect(Array.from(t.gateway.subarray(0, count))).toEqual(snapshot);
    expect(rc.compiled.nexthops.count).toBe(count + 3);
    expect(t.kind[gwIndex]).toBe(NexthopKind.GATEWAY);
  });

  it('applies 10k routes in 198.18.0.0/15 in one change, then toggles their next hop', () => {
    const { rc } = setup();
    // 198.18.0.0/15 holds 512 /24s: 10k distinct routes there are /29s.
    const list = (gw: number) => Array.from({ length: 10_000 }, (_, i) => `${ipv4ToString(0xc6120000 + i * 8)}/29 via 198.51.100.${gw}`);
    const first = rc.apply(rc.plan({ add: list(20) }));
    expect(first).toEqual({ added: 10_000, deleted: 0, replaced: 0 });
    const second = rc.apply(rc.plan({ replace: list(21) }));
    expect(second).toEqual({ added: 0, deleted: 0, replaced: 10_000 });
    // The last /29 ends at 198.19.56.127; past it the config's 198.19.0.0/16 answers.
    expect(lookups(rc, ['198.18.7.1', '198.19.56.127', '198.19.56.128'])).toEqual(['198.18.7.1: kind 0 port 1 gw 198.51.100.21', '198.19.56.127: kind 0 port 1 gw 198.51.100.21', '198.19.56.128: kind 0 port 1 gw 198.51.100.253']);
  });
});
