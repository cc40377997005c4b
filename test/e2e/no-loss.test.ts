// Issue 12's no-loss test, routes and load balancer together: traffic to a
// routed prefix and to a VIP crosses a running dataplane (the load balancer
// lab, nat mode, 2 workers) while, through the gRPC API, 10k routes are
// replaced again and again (the routed flows' own next hop alternating
// between two hosts that both answer) and the VIP's backends change: a
// weight, a drain, a hard removal, an addition, an undrain. Every datagram
// is numbered and counted per flow.
//
// What the changes explain, and so what may be lost: nothing. A replaced
// route sends the next datagram to the other next hop, which answers too; a
// VIP's flows are pinned to their backend in the flow table, so a weight
// change or a drain moves none, and in nat mode a removed backend's flows
// stay as translated (src/lb/README.md) while that host still answers. The
// test asserts exactly that: every flow answered in full, each VIP flow by
// one backend throughout, and new flows opened after the drain and the
// removal never reach the drained or removed backend.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nsRun, nsSpawn, sleep } from '../../src/host/commands.js';
import { ControlClient } from '../../src/control/client.js';
import { lbLabDown, lbLabUp, lbLogTail, uniqueLbPrefix, type LbLabState } from '../../src/lab/lb-lab.js';
import { LB_LAB } from '../../src/lab/lb-topology.js';
import { ipv4ToString } from '../../src/wire/address.js';
import { skipIf } from '../skip.js';
import { background, e2eSkipReason, killChildren } from './suite.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const VIP_PORT = 7000;
/** The routed flows' destination: on the loopback of b1 and b2, reached by a /29 among the 10k. */
const ROUTED_DST = '198.18.10.1';
const ROUTED_PORT = 7001;
const [B1, B2, B3] = LB_LAB.backends;
/** 10k /29s in 198.18.0.0/15, all via one backend host. */
const bulk = (via: string) => Array.from({ length: 10_000 }, (_, i) => ({ line: `${ipv4ToString(0xc6120000 + i * 8)}/29 via ${via}` }));
const INTERVAL_MS = 20;

interface FlowReport {
  port: number;
  sent: number;
  received: number;
  answers: [number, string][];
  lost: [number, number][];
}

/** udp-flows.mjs in `ns`: started, then stopped on demand with its per-flow report. */
async function flows(ns: string, dst: string, port: number, count: number, firstPort: number): Promise<{ stop: () => Promise<FlowReport[]>; child: ChildProcess }> {
  const child = nsSpawn(ns, process.execPath, [join(FIXTURES, 'udp-flows.mjs'), dst, String(port), String(count), String(firstPort), String(INTERVAL_MS), '1500'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const next = () => new Promise<string>((res, rej) => {
    lines.once('line', res);
    child.once('exit', (c) => rej(new Error(`udp-flows exited (${String(c)}): ${err}`)));
  });
  expect(await next()).toBe('sending');
  return {
    child,
    stop: async () => {
      const out = next();
      child.stdin!.write('stop\n');
      return (JSON.parse(await out) as { flows: FlowReport[] }).flows;
    },
  };
}

const lossReport = (rs: FlowReport[]) => rs.filter((r) => r.received !== r.sent).map((r) => `port ${r.port}: ${r.sent - r.received} of ${r.sent} lost (seq ${r.lost.slice(0, 5).map((l) => l[0]).join(', ')}...)`);

describe('no loss while 10k routes are replaced and VIP backends change (load balancer lab, nat mode, 2 workers)', skipIf(e2eSkipReason()), () => {
  let lab: LbLabState | undefined;
  let prefix = '';
  let api: ControlClient | undefined;
  const logs = () => (lab === undefined ? '' : lab.procs.map((p) => `\n--- ${p.role} log:\n${lbLogTail(p, 15)}`).join(''));

  beforeAll(async () => {
    prefix = await uniqueLbPrefix('dpe-noloss');
    lab = await lbLabUp({
      prefix,
      engine: 'dataplane',
      vip: { mode: 'nat', protocol: 'udp', port: VIP_PORT, weights: [1, 1, 1] },
      workers: 2,
      beforeRouters: async (names) => {
        // Every backend echoes on the VIP's port; b1 and b2 also own the routed destination.
        const echoes = LB_LAB.backends.map((b, i) => {
          const binds = [`0.0.0.0:${VIP_PORT}`];
          if (i < 2) {
            nsRun(names.backends[i], 'ip', ['addr', 'add', `${ROUTED_DST}/32`, 'dev', 'lo']);
            binds.push(`${ROUTED_DST}:${ROUTED_PORT}`);
          }
          return background(names.backends[i], [process.execPath, join(FIXTURES, 'udp-echo.mjs'), b.name, ...binds]);
        });
        for (const e of echoes) for (let i = 0; !e.text().includes('listening'); i++) {
          if (e.child.exitCode !== null || i > 100) throw new Error(`udp-echo did not start: ${e.text()}`);
          await sleep(50);
        }
      },
    });
    const socket = lab.procs.find((p) => p.role === 'balancer')!.controlSocket!;
    // The control API listens once the workers run, which can be after the pings answer.
    for (let i = 0; !existsSync(socket); i++) {
      if (i > 200) throw new Error(`no control socket at ${socket}${logs()}`);
      await sleep(50);
    }
    api = new ControlClient(socket);
  }, 60_000);

  afterAll(async () => {
    api?.close();
    killChildren();
    if (prefix !== '') await lbLabDown(prefix);
  }, 30_000);

  it('loses no datagram of a routed flow or a VIP flow that the changes do not explain (none)', async () => {
    const n = lab!.names;
    const call = <T = Record<string, unknown>>(service: string, method: string, req: object) => api!.call<T>(service, method, req);
    const backend = (b: { addr: string }, weight = 0) => ({ vip: 'web', address: b.addr, weight });
    // The 10k routes, the routed flows' via b1, before the traffic starts.
    await call('Routes', 'Change', { add: bulk(B1.addr) });
    const routed = await flows(n.clients[1], ROUTED_DST, ROUTED_PORT, 4, 41000);
    const vip = await flows(n.clients[0], LB_LAB.vip, VIP_PORT, 24, 42000);
    // Every flow pinned and every next hop's ARP entry learned before the first change.
    await sleep(1000);
    const steps: { what: string; ms: number }[] = [];
    const step = async (what: string, fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      steps.push({ what, ms: performance.now() - t });
      // Traffic between the changes too: each change lands on flows in flight.
      await sleep(150);
    };
    await step('replace 10k via b2', () => call('Routes', 'Change', { replace: bulk(B2.addr) }));
    await step('b3 weight 1 -> 3', () => call('LoadBalancer', 'SetWeight', backend(B3, 3)));
    await step('replace-all 10k via b1', () => call('Routes', 'Change', { replace_all: bulk(B1.addr), set_all: true }));
    await step('drain b1', () => call('LoadBalancer', 'Drain', backend(B1)));
    await step('replace 10k via b2', () => call('Routes', 'Change', { replace: bulk(B2.addr) }));
    await step('remove b2', () => call('LoadBalancer', 'RemoveBackend', backend(B2)));
    // New flows now: b1 drained, b2 removed, so b3 only.
    const probe = await flows(n.clients[1], LB_LAB.vip, VIP_PORT, 32, 43000);
    await sleep(300);
    const probeAfterDrain = await probe.stop();
    await step('replace 10k via b1', () => call('Routes', 'Change', { replace: bulk(B1.addr) }));
    await step('add b2 (weight 2)', () => call('LoadBalancer', 'AddBackend', backend(B2, 2)));
    await step('undrain b1', () => call('LoadBalancer', 'Undrain', backend(B1)));
    await step('replace 10k via b2', () => call('Routes', 'Change', { replace: bulk(B2.addr) }));
    const [r, v] = [await routed.stop(), await vip.stop()];
    const done = steps.map((s) => `${s.what} ${s.ms.toFixed(0)} ms`).join('; ');
    console.log(`no-loss: ${done}; routed ${r.reduce((a, f) => a + f.sent, 0)} datagrams, VIP ${v.reduce((a, f) => a + f.sent, 0)}`);
    const why = `${done}${logs()}`;

    // The routed flows: every datagram answered, by the next hop the route named (both b1 and b2 answered over the run).
    expect(lossReport(r), why).toEqual([]);
    for (const f of r) expect(f.sent, why).toBeGreaterThan(100);
    const routedBy = new Set(r.flatMap((f) => f.answers.map((a) => a[1])));
    expect(routedBy, why).toEqual(new Set([B1.name, B2.name]));
    // Each replace moved the flows to the other next hop: at least one change of answering host per replace.
    for (const f of r) expect(f.answers.length, `port ${f.port}: ${JSON.stringify(f.answers)}; ${why}`).toBeGreaterThanOrEqual(6);

    // The VIP flows: every datagram answered, each flow by one backend from its first datagram to its last.
    expect(lossReport(v), why).toEqual([]);
    for (const f of v) expect(f.answers.map((a) => a[1]), `port ${f.port}; ${why}`).toHaveLength(1);
    // Spread over all three at first, so the drain and the removal had flows to keep.
    const pinned = new Set(v.map((f) => f.answers[0][1]));
    expect(pinned, why).toEqual(new Set([B1.name, B2.name, B3.name]));

    // New flows opened after the drain and the removal: all answered, all by b3.
    expect(lossReport(probeAfterDrain), why).toEqual([]);
    expect(new Set(probeAfterDrain.flatMap((f) => f.answers.map((a) => a[1]))), why).toEqual(new Set([B3.name]));

    // The API's view at the end: b1 active again, b2 back (a new registry entry), b3 at weight 3.
    const vips = await call<{ vips: { backends: { address: string; state: string; weight: number }[] }[] }>('LoadBalancer', 'ListVips', {});
    const live = vips.vips[0].backends.filter((b) => b.state !== 'removed').map((b) => [b.address, b.state, b.weight]);
    expect(live).toEqual(expect.arrayContaining([[B1.addr, 'active', 1], [B2.addr, 'active', 2], [B3.addr, 'active', 3]]));
  }, 120_000);
});
