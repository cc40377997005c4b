// End to end through `dataplane run` with AF_XDP ports on veth pairs: the
// whole lab suite (ping with the TTL decremented, traceroute, unreachables,
// PMTU, TCP, HTTP and UDP transfers checked by sha256) with one worker and
// with two (two queues per veth, one socket per queue per worker), and with
// two where the hosts' veths keep TX checksum offload on (Docker's default),
// so their TCP and UDP checksums arrive partial and the ports complete them. Then what
// a user sees when XDP cannot attach: no such interface, or another XDP
// program already on it; and that no program is left behind, even when the
// process holding it is killed (the bpf_link goes with its last fd).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ip, nsRun, tryRun } from '../../src/host/commands.js';
import { CLI } from '../cli-run.js';
import { skipIf } from '../skip.js';
import { e2eSkipReason, labSuite, nsExec } from './suite.js';

labSuite('afxdp', 1, 'dpe-axp1');
labSuite('afxdp', 2, 'dpe-axp2');
labSuite('afxdp', 2, 'dpe-axo2', { offload: true });

const skip = e2eSkipReason();

function runIn(ns: string, config: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, CLI, 'run', '--config', config, '--workers', '1'], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function configFor(dir: string, ifname: string): string {
  const file = join(dir, `${ifname}.yaml`);
  writeFileSync(file, `ports:\n  - name: lan\n    address: 192.0.2.1/24\n    io: { type: afxdp, interface: ${ifname} }\n`);
  return file;
}

/** True when `ifname` in `ns` has an XDP program attached (ip link shows "prog/xdp"). */
function hasXdp(ns: string, ifname: string): boolean {
  return /prog\/xdp|xdpgeneric|xdpdrv|\bxdp\b/.test(nsExec(ns, ['ip', '-d', 'link', 'show', 'dev', ifname]).out);
}

describe('afxdp ports: clear errors where XDP cannot attach', skipIf(skip), () => {
  const ns = `dpe-axe-${process.pid.toString(36)}`;
  let dir = '';
  let holder: ChildProcess | undefined;

  beforeAll(() => {
    tryRun('ip', ['netns', 'del', ns]);
    ip('netns', 'add', ns);
    nsRun(ns, 'ip', ['link', 'add', 'xe0', 'type', 'veth', 'peer', 'name', 'xe1']);
    nsRun(ns, 'ip', ['link', 'set', 'xe0', 'up']);
    nsRun(ns, 'ip', ['link', 'set', 'xe1', 'up']);
    dir = mkdtempSync(join(os.tmpdir(), 'dpe-axe-'));
  });

  afterAll(() => {
    if (holder?.pid !== undefined && holder.exitCode === null) holder.kill('SIGKILL');
    tryRun('ip', ['netns', 'del', ns]);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    expect(tryRun('ip', ['netns', 'list']).stdout).not.toContain(ns);
  });

  it('names the port and the missing interface (no stack trace)', () => {
    const r = runIn(ns, configFor(dir, 'nope0'));
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/port lan: cannot attach XDP to nope0: .*interface nope0 not found/);
    expect(r.stderr, 'a message, not a stack trace').not.toMatch(/\n\s+at /);
  });

  it('refuses an interface that has another XDP program, says how to remove it, and leaves it alone', async () => {
    // Another program: ours, attached by a separate process that keeps its link open.
    const script = `const io = require(${JSON.stringify(join(import.meta.dirname, '..', '..', 'native', 'build', 'Release', 'dataplane_io.node'))});
io.xdpAttach('xe0', { mode: 'generic' }); process.stdout.write('attached\\n'); setInterval(() => {}, 1000);`;
    holder = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      holder?.stdout?.once('data', () => res());
      holder?.once('exit', (code) => rej(new Error(`the holder exited (${code})`)));
    });
    expect(hasXdp(ns, 'xe0')).toBe(true);
    const r = runIn(ns, configFor(dir, 'xe0'));
    expect(r.status, r.stdout + r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/port lan: cannot attach XDP to xe0: .*another XDP program is attached to xe0 .*xdp off/);
    expect(hasXdp(ns, 'xe0'), 'the other program stays').toBe(true);
    // Killed outright, the holder leaves nothing: the bpf_link dies with its last fd.
    holder.kill('SIGKILL');
    await new Promise((res) => holder?.once('exit', res));
    expect(hasXdp(ns, 'xe0')).toBe(false);
  });

  it('starts on a free interface and leaves no XDP program after SIGTERM', async () => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, 'run', '--config', configFor(dir, 'xe1'), '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 15_000;
    // The port's line comes after "dataplane running": wait for it, not for that.
    const portLine = /lan: afxdp xe1 \(1 queue, XDP (native|generic)/;
    while (!portLine.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    expect(out).toMatch(portLine);
    expect(hasXdp(ns, 'xe1')).toBe(true);
    child.kill('SIGTERM');
    await new Promise((res) => child.once('exit', res));
    expect(hasXdp(ns, 'xe1')).toBe(false);
  }, 30_000);
});
