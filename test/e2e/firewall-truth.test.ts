// The firewall truth table live: nine network namespaces, one per pod
// (x/a ... z/c), each a TAP port of `dataplane run` (2 workers, so a flow's
// two directions cross workers), a TCP server on 80 and 81 in each, and
// per case the dataplane started with the case's config (NetworkPolicy from
// a networkPolicyFile, as `kubectl get netpol -o yaml` would give it) and
// probed with `nc -vz -w 1` from every pod to every other pod on both ports,
// all at once. The observed matrices must be the hand-written expected ones
// (test/firewall/truth/cases.ts), as in the replay runner.
//
// A probe that expected reachable found blocked is tried once more with a
// longer timeout before it counts (a loaded machine can delay a handshake
// past 1 s; a rule that blocks a flow blocks the retry's new flow as well).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, closeSync, openSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNetns, ip, listNetns, nsRun, pidAlive, sleep, sysctl, tryRun } from '../../src/host/commands.js';
import { cliPath } from '../../src/lab/topology.js';
import { CASES, compareMatrices, PODS, PORTS, Reachability, type Pod, type Port, type TruthCase } from '../firewall/truth/cases.js';
import { truthConfigYaml } from '../firewall/truth/config.js';
import { skipIf } from '../skip.js';
import { background, e2eSkipReason, killChildren, processesMentioning, waitListening } from './suite.js';

const WORKERS = 2;
const BASE = 'dpe-fwt';
const skip = e2eSkipReason();

/** Accepts and closes every connection on TCP 80 and 81 (any address: the TAP and its address come and go with each case's dataplane). */
const SERVER_PY = `
import selectors, socket
sel = selectors.DefaultSelector()
for port in (${PORTS.join(', ')}):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', port))
    s.listen(256)
    sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept()
        c.close()
`;

/** Runs argv in `ns` without blocking the event loop: status and output. */
function nsAsync(ns: string, argv: string[], timeoutMs: number): Promise<{ status: number; out: string }> {
  const [cmd, args] = inNetns(ns, argv[0], argv.slice(1));
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ status: code ?? -1, out }));
  });
}

/** One shell per source pod, its probes in parallel: lines "ok|no ADDRESS PORT [what nc said]", each one write. */
function probeScript(targets: { to: Pod; port: Port }[], waitSec: number): string {
  const one = (t: { to: Pod; port: Port }) =>
    `(if e=$(timeout ${waitSec + 2} nc -vz -w ${waitSec} ${t.to.address} ${t.port} 2>&1); then echo "ok ${t.to.address} ${t.port}"; else printf '%s\\n' "no ${t.to.address} ${t.port} $(printf %s "$e" | tr '\\n' ' ')"; fi) &`;
  return `${targets.map(one).join('\n')}\nwait\n`;
}

/** ICMP unreachable code 13 (a reject rule) as a connecting socket reports it: EHOSTUNREACH. */
const REJECTED = /No route to host/;

/** Probes from each pod to its targets at once; returns the pairs found reachable. */
async function probe(nsOf: (p: Pod) => string, targets: Map<Pod, { to: Pod; port: Port }[]>, waitSec: number): Promise<{ from: Pod; to: Pod; port: Port; ok: boolean; said: string }[]> {
  const runs = [...targets].map(async ([from, list]) => {
    const r = await nsAsync(nsOf(from), ['sh', '-c', probeScript(list, waitSec)], (waitSec + 10) * 1000);
    const lines = r.out.split('\n');
    return list.map(({ to, port }) => {
      const line = lines.find((l) => l.startsWith(`ok ${to.address} ${port}`) || l.startsWith(`no ${to.address} ${port} `) || l === `no ${to.address} ${port}`);
      if (line === undefined) throw new Error(`probe ${from.id} -> ${to.id}:${port} gave no answer (status ${r.status}): ${r.out}`);
      return { from, to, port, ok: line.startsWith('ok'), said: line };
    });
  });
  return (await Promise.all(runs)).flat();
}

/** Removes the namespaces of earlier runs of this file whose test process is gone (a run killed before its afterAll). */
function sweepStale(): void {
  for (const ns of listNetns()) {
    const m = new RegExp(`^${BASE}-([0-9a-z]+)-`).exec(ns);
    if (m && !pidAlive(parseInt(m[1], 36))) tryRun('ip', ['netns', 'del', ns]);
  }
}

function newNetns(name: string): void {
  ip('netns', 'add', name);
  nsRun(name, 'ip', ['link', 'set', 'lo', 'up']);
  // No IPv6: no router solicitations or DAD frames through the dataplane.
  sysctl(name, 'net.ipv6.conf.all.disable_ipv6', '1');
  sysctl(name, 'net.ipv6.conf.default.disable_ipv6', '1');
}

describe(`firewall truth table live: 9 namespaces on TAP ports of dataplane run (${WORKERS} workers), nc probes on TCP 80 and 81`, skipIf(skip), () => {
  const prefix = `${BASE}-${process.pid.toString(36)}`;
  const router = `${prefix}-r`;
  const nsOf = (p: Pod) => `${prefix}-${p.ns}-${p.name}`;
  const tmp = join(os.tmpdir(), `${prefix}-truth`);
  const made: string[] = [];
  let dataplane: { child: ChildProcess; exited: Promise<void>; log: string } | undefined;

  const logOf = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
    } catch {
      return '(no log)';
    }
  };

  async function stopDataplane(): Promise<string> {
    const d = dataplane;
    dataplane = undefined;
    if (d === undefined) return 'none';
    if (d.child.exitCode !== null || d.child.signalCode !== null) return 'exited by itself';
    d.child.kill('SIGTERM');
    const how = await Promise.race([d.exited.then(() => 'SIGTERM'), sleep(5000).then(() => 'timeout')]);
    if (how === 'timeout') {
      d.child.kill('SIGKILL');
      await d.exited;
      return 'SIGKILL';
    }
    return how;
  }

  /** Starts the dataplane with the case's config and waits until every pod pings its gateway through its TAP. */
  async function startDataplane(c: TruthCase, n: number): Promise<void> {
    const policyFile = join(tmp, `case-${n}-policies.yaml`);
    if (c.policies.length > 0) writeFileSync(policyFile, c.policyYaml);
    const configPath = join(tmp, `case-${n}.yaml`);
    writeFileSync(configPath, truthConfigYaml(c, { netns: nsOf, policyFile }));
    const logPath = join(tmp, `case-${n}.log`);
    const fd = openSync(logPath, 'w');
    const [cmd, args] = inNetns(router, process.execPath, [cliPath(), 'run', '--config', configPath, '--workers', String(WORKERS)]);
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    dataplane = { child, exited: new Promise((r) => child.on('exit', () => r())), log: logPath };
    const deadline = Date.now() + 15_000;
    await Promise.all(
      PODS.map(async (p) => {
        for (;;) {
          if (child.exitCode !== null) throw new Error(`the dataplane exited during start-up (case ${c.name}); its log:\n${logOf(logPath)}`);
          if ((await nsAsync(nsOf(p), ['ping', '-n', '-q', '-c1', '-W1', p.gateway], 5000)).status === 0) return;
          if (Date.now() > deadline) throw new Error(`${p.id} cannot ping its gateway ${p.gateway} after 15 s; dataplane log:\n${logOf(logPath)}`);
          await sleep(100);
        }
      }),
    );
  }

  beforeAll(async () => {
    sweepStale();
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    for (const ns of [router, ...PODS.map(nsOf)]) {
      newNetns(ns);
      made.push(ns);
    }
    sysctl(router, 'net.ipv4.ip_forward', '0');
    for (const p of PODS) background(nsOf(p), ['python3', '-u', '-c', SERVER_PY]);
    for (const p of PODS) for (const port of PORTS) await waitListening(nsOf(p), 't', port);
  }, 60_000);

  afterAll(async () => {
    const how = await stopDataplane();
    killChildren();
    for (const ns of made) tryRun('ip', ['netns', 'del', ns]);
    // Killed servers are gone once reaped.
    for (let i = 0; i < 40 && processesMentioning(tmp).length > 0; i++) await sleep(50);
    const left = processesMentioning(tmp);
    rmSync(tmp, { recursive: true, force: true });
    expect(left).toEqual([]);
    expect(listNetns().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    expect(['none', 'SIGTERM']).toContain(how);
  }, 30_000);

  CASES.forEach((c, n) => {
    it(c.name, async () => {
      await startDataplane(c, n);
      let stopped: string;
      try {
        const all = new Map<Pod, { to: Pod; port: Port }[]>(PODS.map((from) => [from, PODS.filter((to) => to !== from).flatMap((to) => PORTS.map((port) => ({ to, port })))]));
        const results = await probe(nsOf, all, 1);
        // Expected reachable, found blocked: once more, with time to spare.
        const again = new Map<Pod, { to: Pod; port: Port }[]>();
        for (const r of results) if (!r.ok && c.expected[r.port].get(r.from.index, r.to.index)) again.set(r.from, [...(again.get(r.from) ?? []), { to: r.to, port: r.port }]);
        const retried = again.size === 0 ? [] : await probe(nsOf, again, 3);
        const observed: Record<Port, Reachability> = { 80: new Reachability(false), 81: new Reachability(false) };
        for (const r of [...results, ...retried]) if (r.ok) observed[r.port].expect(r.from.id, r.to.id, true);
        const { ok, report } = compareMatrices(c, observed);
        const log = dataplane === undefined ? '' : `\ndataplane log:\n${logOf(dataplane.log)}`;
        expect(ok, `${report}\n(${retried.length} probes retried with -w 3)${log}`).toBe(true);
        // Rejected probes fail at once with the ICMP error; denied ones time out.
        const rejected = results.filter((r) => REJECTED.test(r.said));
        expect(rejected.length, `probes answered "No route to host":\n${rejected.map((r) => r.said).join('\n')}`).toBe(c.rejects ?? 0);
      } finally {
        stopped = await stopDataplane();
      }
      expect(stopped, 'the dataplane stops on SIGTERM').toBe('SIGTERM');
    }, 40_000);
  });
});
