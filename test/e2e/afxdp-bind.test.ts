// The start line of an afxdp port says how the kernel bound its sockets, not
// the mode the config asked for: on a veth (no zero-copy driver) `mode: auto`
// ends in copy mode, and the sockets are bound with need_wakeup. The line is
// written once the workers have opened their sockets (the addon reports the
// bind flags each socket ended with); a worker beyond the queues only sends
// and has no bind mode to report.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ip, nsRun, tryRun } from '../../src/host/commands.js';
import { CLI } from '../cli-run.js';
import { skipIf } from '../skip.js';
import { e2eSkipReason } from './suite.js';

const skip = e2eSkipReason();

describe('afxdp port start line: the bind mode the kernel gave', skipIf(skip), () => {
  const ns = `contract-axb-${process.pid.toString(36)}`;
  let dir = '';

  beforeAll(() => {
    tryRun('ip', ['netns', 'del', ns]);
    ip('netns', 'add', ns);
    nsRun(ns, 'ip', ['link', 'add', 'contract-x0', 'type', 'veth', 'peer', 'name', 'contract-x1']);
    nsRun(ns, 'ip', ['link', 'set', 'contract-x0', 'up']);
    nsRun(ns, 'ip', ['link', 'set', 'contract-x1', 'up']);
    dir = mkdtempSync(join(os.tmpdir(), 'contract-axb-'));
  });

  afterAll(() => {
    tryRun('ip', ['netns', 'del', ns]);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    expect(tryRun('ip', ['netns', 'list']).stdout).not.toContain(ns);
  });

  /** Starts `dataplane run` on contract-x1 with `mode`, returns what it printed once running, and stops it. */
  async function startLine(mode: string, workers: number): Promise<string> {
    const file = join(dir, `${mode}.yaml`);
    writeFileSync(file, `ports:\n  - name: lan\n    address: 192.0.2.1/24\n    io: { type: afxdp, interface: contract-x1, mode: ${mode} }\n`);
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, 'run', '--config', file, '--workers', String(workers)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 15_000;
    while (!out.includes('dataplane running') && child.exitCode === null && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    if (child.exitCode === null) child.kill('SIGTERM');
    await new Promise((res) => (child.exitCode !== null ? res(undefined) : child.once('exit', res)));
    expect(out, out).toContain('dataplane running');
    return out;
  }

  it('mode auto on a veth: the line says copy with need_wakeup (what the kernel gave), and the mode asked', async () => {
    const out = await startLine('auto', 1);
    expect(out).toMatch(/lan: afxdp contract-x1 \(1 queue, XDP (native|generic)[^\n]*, bind copy with need_wakeup \(mode auto\), \d+ frames per socket\)/);
    expect(out).not.toContain('bind auto');
  }, 30_000);

  it('mode copy with a send-only second worker: one mode, from the socket that has a queue', async () => {
    const out = await startLine('copy', 2);
    expect(out).toMatch(/lan: afxdp contract-x1 \(1 queue, [^\n]*bind copy with need_wakeup \(mode copy\), [^\n]*; workers 1-1 only send on it/);
  }, 30_000);
});
