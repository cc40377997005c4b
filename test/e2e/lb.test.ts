// The load balancer end to end (issue 11, item 7), in each mode: two client
// namespaces make HTTP requests, each on a new TCP connection, to the VIP
// 203.0.113.10:80; three backend namespaces on one bridge answer with their
// name and the client address they saw (fixtures/whoami-server.mjs). DSR
// modes: the backends own the VIP on their loopback and answer directly
// (dsr-ipip and dsr-gue through a second dataplane that terminates the
// tunnel, src/lab/lb-topology.ts). The backends' side is counted too: an
// nftables counter of the clients' SYNs on each.
//
//   DATAPLANE_LB_ENGINE=kernel npx vitest run test/e2e/lb.test.ts
//     runs the nat case against Linux (nftables DNAT to a `numgen random`
//     map, kube-proxy's way, in the router namespace): the reference these
//     checks were proven against (it has no health checks: that test skips).
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../src/host/commands.js';
import { lbLabDown, lbLabUp, lbLogTail, lbStateDir, setWeights, uniqueLbPrefix, type LbLabState } from '../../src/lab/lb-lab.js';
import type { LbHealthCheckSpec, LbVipSpec } from '../../src/lab/lb-router-config.js';
import { LB_LAB, lbNamespaces } from '../../src/lab/lb-topology.js';
import type { LbModeName } from '../../src/lb/lb-config.js';
import { skipIf } from '../skip.js';
import { dataplane } from '../cli-run.js';
import { burst, flowCounts, hold, HTTP_PORT, installFlowCounters, killBackend, startBackends, type Backend, type RequestResult } from './lb-probes.js';
import { e2eSkipReason, killChildren, nsExec, processesMentioning } from './suite.js';

const ENGINE_ENV = process.env.DATAPLANE_LB_ENGINE ?? 'dataplane';
const engineError = ENGINE_ENV === 'dataplane' || ENGINE_ENV === 'kernel' ? undefined : `DATAPLANE_LB_ENGINE must be dataplane or kernel, got '${ENGINE_ENV}'`;
const ENGINE = ENGINE_ENV === 'kernel' ? 'kernel' : 'dataplane';
const skip = engineError ?? e2eSkipReason(['nft']);

const WORKERS = 2;
const REQUESTS_PER_CLIENT = 300;
const HEALTH: LbHealthCheckSpec = { type: 'tcp', port: HTTP_PORT, intervalMs: 500, timeoutMs: 300, rise: 2, fall: 2 };
/** Scheduling on a shared 2-core machine, and the new table's publication, on top of fall intervals + timeout. */
const SLACK_MS = 500;

const CASES: { mode: LbModeName; weights: number[] }[] = [
  { mode: 'dsr-l2', weights: [1, 1, 1] },
  { mode: 'dsr-ipip', weights: [1, 1, 1] },
  { mode: 'dsr-gue', weights: [1, 1, 2] },
  { mode: 'nat', weights: [1, 1, 2] },
];

const byBackend = (rs: readonly RequestResult[]) => LB_LAB.backends.map((b) => rs.filter((r) => r.backend === b.name).length);
const errorsOf = (rs: readonly RequestResult[]) => rs.filter((r) => r.error !== undefined);
const summary = (rs: readonly RequestResult[]) => {
  const errs = errorsOf(rs);
  return `per backend ${byBackend(rs).join('/')} of ${rs.length}, ${errs.length} failed${errs.length > 0 ? ` (${[...new Set(errs.map((e) => e.error))].join(', ')})` : ''}`;
};

function lbSuite(mode: LbModeName, weights: number[]): void {
  const dsr = mode !== 'nat';
  const kernelNote = ENGINE === 'kernel' ? (mode === 'nat' ? undefined : 'the kernel engine balances by nftables DNAT: nat mode only') : undefined;
  describe(`${mode}, weights ${weights.join(':')}`, skipIf(kernelNote), () => {
    let lab: LbLabState | undefined;
    let backends: Backend[] = [];
    let prefix = '';
    const L = () => {
      if (lab === undefined) throw new Error('the lab did not come up');
      return lab;
    };
    const logs = () => (lab === undefined ? '' : lab.procs.map((p) => `\n--- ${p.role} log:\n${lbLogTail(p, 15)}`).join(''));

    beforeAll(async () => {
      prefix = await uniqueLbPrefix('dpe-lb');
      const vip: LbVipSpec = { mode, protocol: 'tcp', port: HTTP_PORT, weights, healthCheck: HEALTH };
      lab = await lbLabUp({
        prefix,
        engine: ENGINE,
        vip,
        workers: WORKERS,
        beforeRouters: async (names) => {
          backends = await startBackends(names);
          installFlowCounters(names);
        },
      });
      // The bursts bind fixed local ports (20000-44999): keep the clients'
      // ephemeral ports (the long-lived connections, and their TIME_WAIT) out
      // of that range, or a burst's bind can fail with EADDRINUSE (client side).
      for (const ns of lab.names.clients) {
        const r = nsExec(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=50000 60999']);
        expect(r.status, r.out).toBe(0);
      }
      // Every backend up: `rise` good probes (the servers listen before the dataplane starts).
      if (ENGINE === 'dataplane') await sleep(HEALTH.rise * HEALTH.intervalMs + HEALTH.timeoutMs + SLACK_MS);
    }, 60_000);

    afterAll(async () => {
      killChildren();
      if (prefix === '') return;
      const dir = lbStateDir(prefix);
      const log = logs();
      const r = await lbLabDown(prefix);
      expect(lbNamespaces(prefix)).toEqual([]);
      expect(existsSync(dir)).toBe(false);
      expect(processesMentioning(dir)).toEqual([]);
      for (const s of r.stopped) expect(s.how, `the ${s.role} dataplane should stop on SIGTERM${log}`).toBe('SIGTERM');
    }, 30_000);

    it(`spreads ${2 * REQUESTS_PER_CLIENT} new connections from two clients within ±15% of the weights${dsr ? ', and the backends see the clients’ own addresses' : ''}`, async () => {
      const n = L().names;
      const before = flowCounts(n);
      // Fixed local ports: the same 600 flows on every run (a deterministic balancer gives the same spread).
      const [r1, r2] = await Promise.all(n.clients.map((ns) => burst(ns, { count: REQUESTS_PER_CLIENT, firstLocalPort: 20000 })));
      const after = flowCounts(n);
      const all = [...r1, ...r2];
      const why = `${summary(all)}${logs()}`;
      expect(all.length, why).toBe(2 * REQUESTS_PER_CLIENT);
      expect(errorsOf(all), why).toEqual([]);
      const got = byBackend(all);
      const total = weights.reduce((a, b) => a + b, 0);
      got.forEach((g, i) => {
        const want = (all.length * weights[i]) / total;
        expect(Math.abs(g - want), `${LB_LAB.backends[i].name}: ${g} connections, ${want} wanted (±15%); ${why}`).toBeLessThanOrEqual(0.15 * want);
      });
      // Each backend saw the client's own address and port (no SNAT), and the backends' counters agree.
      [r1, r2].forEach((rs, c) => {
        for (const r of rs) expect({ client: r.client, clientPort: r.clientPort }).toEqual({ client: LB_LAB.clients[c].addr, clientPort: r.localPort });
      });
      got.forEach((g, i) => expect(after[i] - before[i], `SYNs counted on ${LB_LAB.backends[i].name}`).toBeGreaterThanOrEqual(g));
      console.log(`lb e2e ${mode}: ${got.join('/')} of ${all.length} new connections for weights ${weights.join(':')}`);
    }, 60_000);

    it(`drains a backend set to weight 0 (${ENGINE !== 'kernel' && mode === 'nat' ? '`dataplane ctl lb backend drain`' : 'SIGHUP'}): its long-lived connection keeps working while new connections go elsewhere`, async () => {
      const l = L();
      const n = l.names;
      const h = hold(n.clients[0], 5000, 100);
      let ended = false;
      void h.done.then(() => (ended = true));
      for (let i = 0; h.echoes().length < 3; i++) {
        if (ended || i > 100) throw new Error(`the long-lived connection got ${h.echoes().length} echoes: ${JSON.stringify(await Promise.race([h.done, sleep(100)]))}${logs()}`);
        await sleep(50);
      }
      const target = LB_LAB.backends.findIndex((b) => b.name === h.echoes()[0].backend);
      expect(target).toBeGreaterThanOrEqual(0);
      const drained = weights.map((w, i) => (i === target ? 0 : w));
      // nat mode drains through the control API (`dataplane ctl lb backend drain`); the others by SIGHUP.
      const balancer = l.procs.find((p) => p.role === 'balancer');
      const viaCtl = ENGINE !== 'kernel' && mode === 'nat' && balancer?.controlSocket !== undefined;
      const ctl = (verb: string) => {
        const r = dataplane(['ctl', '--socket', balancer!.controlSocket!, 'lb', 'backend', verb, 'web', LB_LAB.backends[target].addr]);
        expect(r.status, r.stderr).toBe(0);
        return r.stdout;
      };
      if (viaCtl) expect(ctl('drain')).toMatch(/web: backend .* weight \d+ -> 0 \(draining\)/);
      else setWeights(l, drained);
      const tDrain = Date.now();
      try {
        await sleep(1000);
        const before = flowCounts(n);
        const [r1, r2] = await Promise.all(n.clients.map((ns) => burst(ns, { count: 100, firstLocalPort: 30000 })));
        const after = flowCounts(n);
        const all = [...r1, ...r2];
        const why = `drained ${LB_LAB.backends[target].name}: ${summary(all)}${logs()}`;
        expect(errorsOf(all), why).toEqual([]);
        expect(byBackend(all)[target], why).toBe(0);
        expect(after[target] - before[target], `SYNs counted on ${LB_LAB.backends[target].name} after the drain; ${why}`).toBe(0);
        // The long-lived connection: every line echoed, by the drained backend, well after the drain.
        const d = await h.done;
        const hwhy = `long-lived connection: ${d.output.slice(-400)}${logs()}`;
        expect(d.error, hwhy).toBeUndefined();
        expect(d.received, hwhy).toBe(d.sent);
        expect(new Set(d.echoes.map((e) => e.backend)), hwhy).toEqual(new Set([LB_LAB.backends[target].name]));
        expect(d.echoes.filter((e) => e.t > tDrain + 1000).length, hwhy).toBeGreaterThanOrEqual(20);
      } finally {
        if (viaCtl) ctl('undrain');
        else setWeights(l, weights);
        await sleep(500);
      }
    }, 60_000);

    it(
      `stops sending new connections to a stopped backend within fall (${HEALTH.fall}) × ${HEALTH.intervalMs} ms + the ${HEALTH.timeoutMs} ms timeout`,
      { ...skipIf(ENGINE === 'kernel' ? 'nftables DNAT has no health checks' : undefined), timeout: 60_000 },
      async () => {
        const n = L().names;
        const victim = 2;
        const runs = Promise.all(n.clients.map((ns) => burst(ns, { count: 5000, durationMs: 4500, firstLocalPort: 40000 })));
        await sleep(1000);
        const tKill = Date.now();
        await killBackend(backends[victim]);
        const deadline = tKill + HEALTH.fall * HEALTH.intervalMs + HEALTH.timeoutMs + SLACK_MS;
        await sleep(deadline - Date.now());
        const atDeadline = flowCounts(n);
        const all = (await runs).flat();
        const atEnd = flowCounts(n);
        const before = all.filter((r) => r.t + r.ms < tKill);
        const between = all.filter((r) => r.t + r.ms >= tKill && r.t < deadline);
        const later = all.filter((r) => r.t >= deadline);
        const why = `before the kill: ${summary(before)}; until ${deadline - tKill} ms after: ${summary(between)}; later: ${summary(later)}${logs()}`;
        expect(errorsOf(before), why).toEqual([]);
        expect(byBackend(before)[victim], `the victim got flows before it was stopped; ${why}`).toBeGreaterThan(0);
        expect(later.length, why).toBeGreaterThanOrEqual(50);
        expect(errorsOf(later), why).toEqual([]);
        expect(byBackend(later)[victim], why).toBe(0);
        expect(atEnd[victim] - atDeadline[victim], `SYNs reaching ${LB_LAB.backends[victim].name} after the deadline; ${why}`).toBe(0);
        // What the clients lost meanwhile (refused by the stopped backend), for the record.
        console.log(`lb e2e ${mode}: ${errorsOf(between).length} of ${between.length} requests failed in the ${deadline - tKill} ms after ${LB_LAB.backends[victim].name} stopped`);
      },
    );
  });
}

describe(`load balancer through the ${ENGINE === 'kernel' ? 'Linux kernel (nftables DNAT, numgen random)' : 'dataplane'}, ${WORKERS} workers`, skipIf(skip), () => {
  for (const c of CASES) lbSuite(c.mode, c.weights);
});
