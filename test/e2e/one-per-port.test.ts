// One dataplane per port: a second `dataplane run` on ports a running one
// serves must refuse (exit 2, a message naming the first one's pid, no stack
// trace) instead of starting beside it, where it would get every AF_PACKET
// frame a second time (ping shows DUP!) or join the TAP as more queues (the
// kernel splits flows between two routers). The first one goes on as if
// nothing happened. Everything runs in namespaces made here, removed by name
// and pid in afterAll.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, logTail, type LabState, labUp } from '../../src/lab/lab.js';
import { listNetns, pidAlive } from '../../src/host/commands.js';
import { LAB, type LabPorts } from '../../src/lab/topology.js';
import { CLI } from '../cli-run.js';
import { skipIf } from '../skip.js';
import { e2eSkipReason, nsExec, uniquePrefix } from './suite.js';

const skip = e2eSkipReason();

/** `dataplane run` in `ns`, to completion (a refusal returns at once; a start would hit the timeout). */
function runIn(ns: string, config: string, env: NodeJS.ProcessEnv = process.env): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, CLI, 'run', '--config', config, '--workers', '1'], { encoding: 'utf8', timeout: 20_000, env });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function expectRefusal(r: { status: number; stdout: string; stderr: string }, firstPid: number, why: RegExp): void {
  expect(r.status, r.stdout + r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(why);
  expect(r.stderr).toMatch(new RegExp(`pid ${firstPid} \\([^)]*run --config `));
  expect(r.stderr, 'a message, not a stack trace').not.toMatch(/\n\s+at /);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}

function pingThrough(lab: LabState): string {
  const r = nsExec(lab.names.client, ['ping', '-n', '-c5', '-i0.2', '-W2', LAB.server.addr]);
  expect(r.status, r.out + logTail(lab)).toBe(0);
  return r.out;
}

for (const ports of ['afpacket', 'tap'] as LabPorts[]) {
  describe(`a second dataplane run on the ${ports} ports of a running one`, skipIf(skip), () => {
    let lab: LabState | undefined;
    let prefix = '';
    let lockFile = '';

    beforeAll(async () => {
      prefix = await uniquePrefix(`dpe-1pp-${ports === 'tap' ? 't' : 'a'}`);
      lab = await labUp({ prefix, ports, engine: 'dataplane', workers: 1, readyTimeoutMs: 10_000 });
    }, 30_000);

    afterAll(async () => {
      const r = await labDown(prefix);
      expect(listNetns().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
      expect(r.stopped?.how, 'the first dataplane should still be there to stop').toBe('SIGTERM');
      // A clean stop removes its lock files.
      expect(lockFile).not.toBe('');
      expect(existsSync(lockFile)).toBe(false);
    }, 30_000);

    it('refuses with exit 2, naming the running one by pid and command line', () => {
      if (lab === undefined) throw new Error('no lab');
      const r = runIn(lab.names.router, lab.configPath);
      const where = ports === 'tap' ? `interface eth0 in network namespace ${lab.names.client}` : "interface lan in the dataplane's network namespace";
      expectRefusal(r, lab.pid, new RegExp(`^dataplane run: port lan: ${where} is already served by another dataplane: `));
      const lock = new RegExp(`One dataplane per port: stop that one first \\(lock (/run/dataplane/netns-\\d+-${ports === 'tap' ? 'eth0' : 'lan'}\\.lock)\\)$`, 'm').exec(r.stderr);
      expect(lock, r.stderr).not.toBe(null);
      lockFile = lock?.[1] ?? '';
      expect(readFileSync(lockFile, 'utf8').split('\n')[0]).toBe(String(lab.pid));
    }, 30_000);

    it('leaves the first one forwarding, every packet once (no DUP!)', () => {
      if (lab === undefined) throw new Error('no lab');
      expect(pidAlive(lab.pid)).toBe(true);
      const out = pingThrough(lab);
      expect(out).toMatch(/5 packets transmitted, 5 received/);
      expect(out).not.toMatch(/DUP!/);
    }, 30_000);
  });
}

describe("a TAP in the dataplane's own namespace", skipIf(skip), () => {
  let ns = '';
  let first: ChildProcess | undefined;
  let log = '';
  let lockFile = '';
  const dir = mkdtempSync(join(os.tmpdir(), 'dp-1pp-'));
  const config = join(dir, 'router.yaml');

  beforeAll(async () => {
    ns = `${await uniquePrefix('dpe-1pp-own')}-router`;
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    writeFileSync(config, 'ports:\n  - { name: lan, address: 192.0.2.1/24, io: { type: tap, ifname: dp1pp0 } }\n');
    first = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, 'run', '--config', config, '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    first.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    first.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    // The port lines follow the "running" line in writes of their own: wait for the port's.
    for (let i = 0; i < 200 && !/lan: tap dp1pp0/.test(log); i++) await new Promise((r) => setTimeout(r, 50));
    expect(log).toMatch(/lan: tap dp1pp0 \(2 queues\)/);
  }, 30_000);

  afterAll(async () => {
    if (first?.pid !== undefined && first.exitCode === null) {
      first.kill('SIGTERM');
      await new Promise<void>((res) => first?.once('exit', () => res()));
    }
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
    expect(listNetns()).not.toContain(ns);
    expect(first?.exitCode, log).toBe(0);
    expect(lockFile).not.toBe('');
    expect(existsSync(lockFile)).toBe(false);
  }, 30_000);

  it('refuses a second dataplane (the lock), and the TAP keeps its 2 queues', () => {
    const r = runIn(ns, config);
    expectRefusal(r, first?.pid ?? -1, /^dataplane run: port lan: interface dp1pp0 in the dataplane's network namespace is already served by another dataplane: /);
    lockFile = /\(lock (\S+)\)$/m.exec(r.stderr)?.[1] ?? '';
    // The kernel lists the queues attached to a TAP under /sys (remounted for the namespace by ip netns exec).
    expect(nsExec(ns, ['ls', '/sys/class/net/dp1pp0/queues']).out.trim().split(/\s+/).sort()).toEqual(['rx-0', 'rx-1', 'tx-0', 'tx-1']);
  });

  it('refuses to join the TAP even without the lock (IFF_TUN_EXCL), naming who holds it', () => {
    // Another lock directory stands for a dataplane that cannot see ours (a container with its own /run).
    const r = runIn(ns, config, { ...process.env, DATAPLANE_LOCK_DIR: join(dir, 'locks') });
    expectRefusal(r, first?.pid ?? -1, /^dataplane run: port lan: interface dp1pp0 already exists in the dataplane's network namespace; a TAP of that name is held open by /);
    expect(first?.exitCode).toBe(null);
  });
});
