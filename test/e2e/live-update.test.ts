// Issue 12's no-loss test: steady traffic through a running dataplane while
// 10k routes are replaced live, again and again. Every change is a new table
// generation the workers take between two batches; the flow's own route
// (203.0.113.0/24 via the server) is part of every replacement with the same
// next hop, so nothing about the change explains a lost packet, and none
// may be lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlLabUp, type ControlLab } from '../../src/lab/control-lab.js';
import { LAB } from '../../src/lab/topology.js';
import { ipv4ToString } from '../../src/wire/address.js';
import { skipIf } from '../skip.js';
import { background, e2eSkipReason, killChildren, nsExec, uniquePrefix } from './suite.js';

const FLOW_DST = '203.0.113.10';
const FLOW_ROUTE = `203.0.113.0/24 via ${LAB.server.addr}`;
/** 10k /29s in 198.18.0.0/15 (which holds only 512 /24s), toggled between two gateways on the server's link. */
const bulk = (gw: string) => Array.from({ length: 10_000 }, (_, i) => `${ipv4ToString(0xc6120000 + i * 8)}/29 via ${gw}`);
const GW = ['198.51.100.20', '198.51.100.21'];

interface Result {
  generation: number;
  added: number;
  deleted: number;
  replaced: number;
  ms: number;
}

describe('live route changes under traffic', skipIf(e2eSkipReason()), () => {
  let lab: ControlLab | undefined;

  beforeAll(async () => {
    const prefix = await uniquePrefix('dp-live');
    lab = await controlLabUp({ prefix, workers: 2, extraConfig: `routes:\n  - ${FLOW_ROUTE}\n` });
    // The flow's destination lives on the server behind the routed prefix.
    nsExec(lab.names.server, ['ip', 'addr', 'add', `${FLOW_DST}/32`, 'dev', 'lo']);
  }, 60_000);

  afterAll(async () => {
    killChildren();
    await lab?.down();
  }, 30_000);

  it('replaces 10k routes six times while 3000 pings cross, losing none', async () => {
    const l = lab!;
    expect(nsExec(l.names.client, ['ping', '-c1', '-W2', FLOW_DST]).status).toBe(0);
    const dropsBefore = await l.call<Record<string, number>>('drops');
    // 500 echo requests a second for 6 s: each one and its reply cross the dataplane.
    const ping = background(l.names.client, ['ping', '-q', '-i', '0.002', '-c', '3000', '-W', '3', FLOW_DST]);
    await new Promise((r) => setTimeout(r, 500));
    const results: Result[] = [];
    results.push(await l.call<Result>('changeRoutes', { add: bulk(GW[0]) }));
    for (let k = 1; k < 6; k++) {
      const routes = bulk(GW[k % 2]);
      // Alternately the whole table (the flow's route given again, unchanged) and a replace of the 10k.
      const change = k % 2 === 1 ? { replaceAll: [FLOW_ROUTE, ...routes] } : { replace: routes };
      results.push(await l.call<Result>('changeRoutes', change));
    }
    // The changes happened while the pings flowed.
    expect(ping.child.exitCode, 'the pings ended before the last change').toBeNull();
    console.log(`10k-route changes under traffic: ${results.map((r) => r.ms.toFixed(0)).join(', ')} ms (call to every worker's acknowledgement)`);
    const out = await ping.output;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    expect(m, out).not.toBeNull();
    const [sent, received] = [Number(m![1]), Number(m![2])];
    expect(sent).toBe(3000);
    expect(received, `lost ${sent - received} of ${sent}; route changes took ${results.map((r) => r.ms.toFixed(0)).join(', ')} ms`).toBe(sent);
    // Every change was in force on every worker when its call returned, one generation each.
    expect(results.map((r) => r.generation)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(results[0]).toMatchObject({ added: 10_000, deleted: 0, replaced: 0 });
    expect(results[1]).toMatchObject({ added: 0, deleted: 0, replaced: 10_001 });
    expect(results[2]).toMatchObject({ added: 0, deleted: 0, replaced: 10_000 });
    const table = await l.call<{ prefix: string; via?: string; source: string }[]>('routeTable');
    expect(table.find((r) => r.prefix === '198.18.0.0/29')).toMatchObject({ via: GW[1], source: 'api' });
    expect(table.find((r) => r.prefix === '203.0.113.0/24')).toMatchObject({ via: LAB.server.addr });
    // Nor did the dataplane drop anything on the way (no drop counter moved).
    expect(await l.call<Record<string, number>>('drops')).toEqual(dropsBefore);
  }, 60_000);

  it('refuses a bad change whole: the routes in force stay as they were', async () => {
    const l = lab!;
    const count = await l.call<number>('routeCount');
    await expect(l.call('changeRoutes', { add: ['198.19.200.0/24 via 198.51.100.20', '198.19.201.0/24 via 10.1.1.1'] })).rejects.toThrow(/add\[1\]\.via: gateway 10\.1\.1\.1 is not on a connected subnet/);
    expect(await l.call<number>('routeCount')).toBe(count);
    expect(nsExec(l.names.client, ['ping', '-c1', '-W2', FLOW_DST]).status).toBe(0);
  });

  it('shows learned neighbors, sets and removes a static one', async () => {
    const l = lab!;
    type N = { address: string; mac: string; dev: string; state: string; source: string };
    const learned = await l.call<N[]>('neighbors');
    expect(learned).toEqual(expect.arrayContaining([expect.objectContaining({ address: LAB.server.addr, dev: 'wan', source: 'learned', state: 'reachable' })]));
    const set = await l.call<{ added: number }>('changeNeighbors', { add: [{ address: '198.51.100.20', mac: '02:00:00:00:00:20' }] });
    expect(set.added).toBe(1);
    expect(await l.call<N[]>('neighbors')).toEqual(expect.arrayContaining([{ address: '198.51.100.20', mac: '02:00:00:00:00:20', dev: 'wan', state: 'permanent', source: 'static' }]));
    await expect(l.call('changeNeighbors', { add: [{ address: '10.0.0.1', mac: '02:00:00:00:00:21' }], delete: ['198.51.100.20'] })).rejects.toThrow(/add\[0\]\.address: 10\.0\.0\.1 is not on a connected subnet/);
    await l.call('changeNeighbors', { delete: ['198.51.100.20'] });
    expect((await l.call<N[]>('neighbors')).some((n) => n.address === '198.51.100.20')).toBe(false);
  });

  it('traces packets live: started, read and stopped without a restart', async () => {
    const l = lab!;
    const started = await l.call<{ session: number; count: number }>('traceStart', { filter: 'icmp and dst host 203.0.113.10', count: 3 });
    expect(started).toMatchObject({ session: 1, count: 3 });
    expect(nsExec(l.names.client, ['ping', '-c', '5', '-i', '0.05', '-W', '2', FLOW_DST]).status).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    const traced = await l.call<{ inPort: number; outPorts: number[]; records: number }[]>('traceRead', { max: 10 });
    // The budget: 3 of the 5 echo requests, each in on lan (0) and out on wan (1), with the nodes' records.
    expect(traced.map((p) => [p.inPort, p.outPorts])).toEqual([[0, [1]], [0, [1]], [0, [1]]]);
    expect(traced.every((p) => p.records > 0)).toBe(true);
    await l.call('traceStop');
    await expect(l.call('traceStart', { filter: 'icmp and bogus', count: 3 })).rejects.toThrow(/^filter: /);
  });

  it('reloads a config: live parts apply as one generation, a port change applies nothing', async () => {
    const l = lab!;
    const { readFileSync, writeFileSync } = await import('node:fs');
    const base = readFileSync(l.configPath, 'utf8');
    const next = `${l.configPath}.next.yaml`;
    writeFileSync(next, base.replace('icmp: { ratePerSecond: 1000, burst: 100 }', 'icmp: { ratePerSecond: 500, burst: 50 }') + '  - 198.18.250.0/24 blackhole\n');
    const r = await l.call<{ applied: string[]; needsRestart: string[] }>('reload', { config: next });
    expect(r.needsRestart).toEqual([]);
    expect(r.applied).toEqual(expect.arrayContaining(['icmp: 500/s, burst 50', expect.stringMatching(/^routes: 1 added, \d+ deleted, /)]));
    const table = await l.call<{ prefix: string; type: string; source: string }[]>('routeTable');
    expect(table.find((x) => x.prefix === '198.18.250.0/24')).toMatchObject({ type: 'blackhole', source: 'config' });
    expect(nsExec(l.names.client, ['ping', '-c1', '-W2', FLOW_DST]).status).toBe(0);
    writeFileSync(next, base.replace('address: 198.51.100.1/24', 'address: 198.51.100.1/24\n    mtu: 1400'));
    const refused = await l.call<{ applied: string[]; needsRestart: string[] }>('reload', { config: next });
    expect(refused.applied).toEqual([]);
    expect(refused.needsRestart).toEqual([expect.stringMatching(/^ports\[\d+\]\.mtu \(port "wan"\): changed from \d+ to 1400: /)]);
    expect((await l.call<{ prefix: string }[]>('routeTable')).some((x) => x.prefix === '198.18.250.0/24')).toBe(true);
  });
});
