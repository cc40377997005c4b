// A port whose name has a dot (a VLAN-style "lan.1") as the kernel side of a
// TAP in a namespace: its IPv6 is turned off like any other's. sysctl reads
// every dot of a key as a separator, so `net.ipv6.conf.lan.1.disable_ipv6`
// named lan/1 and failed (quietly: the step is best effort), leaving router
// solicitations and DAD on the port. Everything runs in namespaces made here.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNetns } from '../../src/host/commands.js';
import { CLI } from '../cli-run.js';
import { skipIf } from '../skip.js';
import { e2eSkipReason, nsExec, uniquePrefix } from './suite.js';

describe('a TAP port named lan.1', skipIf(e2eSkipReason()), () => {
  let prefix = '';
  let dp: ChildProcess | undefined;
  let log = '';
  const dir = mkdtempSync(join(os.tmpdir(), 'dp-names-'));
  const namespaces = () => [`${prefix}-router`, `${prefix}-client`];

  beforeAll(async () => {
    prefix = await uniquePrefix('dpe-names');
    for (const ns of namespaces()) expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    const config = join(dir, 'router.yaml');
    writeFileSync(config, `ports:\n  - { name: lan.1, address: 192.0.2.1/24, io: { type: tap, netns: ${prefix}-client, peerAddress: 192.0.2.2/24 } }\ncontrol: { socket: "" }\n`);
    dp = spawn('ip', ['netns', 'exec', `${prefix}-router`, process.execPath, CLI, 'run', '--config', config, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    dp.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    dp.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    for (let i = 0; i < 200 && !/^ {2}lan\.1: /m.test(log) && dp.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(log).toMatch(/lan\.1: tap lan\.1 .*kernel side lan\.1 in /);
  }, 30_000);

  afterAll(async () => {
    if (dp?.pid !== undefined && dp.exitCode === null) {
      dp.kill('SIGTERM');
      await new Promise<void>((res) => dp?.once('exit', () => res()));
    }
    for (const ns of namespaces()) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
    expect(listNetns().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    expect(dp?.exitCode, log).toBe(0);
  }, 30_000);

  it('has IPv6 off on its kernel side, and forwards as usual', () => {
    expect(nsExec(`${prefix}-client`, ['cat', '/proc/sys/net/ipv6/conf/lan.1/disable_ipv6']).out.trim()).toBe('1');
    const r = nsExec(`${prefix}-client`, ['ping', '-n', '-c2', '-i0.2', '-W2', '192.0.2.1']);
    expect(r.status, r.out + log).toBe(0);
  });
});
