// `dataplane run | head`: when the reader of its standard output goes away,
// the dataplane stops as it does on SIGTERM (src/host/stdout-gone.ts): it
// gives back its TAPs and its port lock files and exits 0. It used to exit on
// the spot at the first EPIPE, skipping the teardown: the lock files stayed
// in /run/dataplane (and `dataplane demo | head` left its whole lab of
// namespaces and a running dataplane behind). Everything runs in namespaces
// made here, with the lock files in a directory of the test's own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNetns } from '../../src/host/commands.js';
import { CLI } from '../cli-run.js';
import { skipIf } from '../skip.js';
import { e2eSkipReason, nsExec, uniquePrefix } from './suite.js';

describe('dataplane run whose stdout reader goes away', skipIf(e2eSkipReason()), () => {
  let prefix = '';
  let dp: ChildProcess | undefined;
  let out = '';
  let err = '';
  const dir = mkdtempSync(join(os.tmpdir(), 'dp-stdout-gone-'));
  const locks = join(dir, 'locks');
  const namespaces = () => [`${prefix}-router`, `${prefix}-client`];

  beforeAll(async () => {
    prefix = await uniquePrefix('dpe-epipe');
    for (const ns of namespaces()) expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    const config = join(dir, 'router.yaml');
    writeFileSync(config, `ports:\n  - { name: lan, address: 192.0.2.1/24, io: { type: tap, netns: ${prefix}-client, peerAddress: 192.0.2.2/24 } }\ncontrol: { socket: "" }\n`);
    dp = spawn('ip', ['netns', 'exec', `${prefix}-router`, process.execPath, CLI, 'run', '--config', config, '--workers', '1', '--status-interval', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DATAPLANE_LOCK_DIR: locks },
    });
    dp.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    dp.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    for (let i = 0; i < 200 && !/^ {2}lan: /m.test(out) && dp.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(out, err).toMatch(/lan: tap lan .*kernel side lan in /);
  }, 30_000);

  afterAll(async () => {
    if (dp?.pid !== undefined && dp.exitCode === null && dp.signalCode === null) {
      dp.kill('SIGKILL');
      await new Promise<void>((res) => dp?.once('exit', () => res()));
    }
    for (const ns of namespaces()) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
    expect(listNetns().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
  }, 30_000);

  it('stops as on SIGTERM: the TAP and the lock file are gone, exit 0', async () => {
    expect(readdirSync(locks).filter((f) => f.endsWith('.lock'))).toHaveLength(1);
    expect(nsExec(`${prefix}-client`, ['ip', 'link', 'show', 'lan']).status).toBe(0);
    // The reader goes away; the next status line (1 s) meets EPIPE.
    dp!.stdout!.destroy();
    const code = await new Promise<number | null>((res) => {
      if (dp!.exitCode !== null) res(dp!.exitCode);
      else dp!.once('exit', (c) => res(c));
    });
    expect(code, err).toBe(0);
    expect(err).toContain('dataplane run: standard output closed: stopping');
    expect(readdirSync(locks).filter((f) => f.endsWith('.lock')), err).toEqual([]);
    expect(nsExec(`${prefix}-client`, ['ip', 'link', 'show', 'lan']).status, 'the TAP outlives the dataplane').not.toBe(0);
  }, 20_000);
});
