// The messages a user sees when the machine is not set up for live ports:
// run without privileges (as `nobody`, via setpriv) and without /dev/net/tun
// (a tmpfs over /dev/net in a private mount namespace). Both need root to
// arrange; nothing outside the child processes and one temp dir changes.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addonPath } from '../../src/io/native.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { skipIf } from '../skip.js';

const skip = process.getuid?.() !== 0 ? 'needs root (to drop to nobody, and to hide /dev/net/tun)' : missingToolsMessage(['setpriv', 'unshare']);

const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

/** Where a child finds the addon, and a cwd it may enter. */
interface Runtime {
  addon: string;
  cwd: string;
}

/**
 * The checkout may sit under a directory nobody cannot enter (root's home is
 * 0700), so the unprivileged child gets the same addon file copied into a
 * world-readable temp dir, and that dir as its cwd. Node itself needs no
 * copy even when it lives under /root: setpriv keeps root's capabilities up
 * to its execvp (PR_SET_KEEPCAPS), and the kernel drops them in that exec.
 */
function stageForNobody(dir: string): Runtime {
  chmodSync(dir, 0o755);
  const addon = join(dir, 'dataplane_io.node');
  copyFileSync(addonPath(), addon);
  chmodSync(addon, 0o644);
  return { addon, cwd: dir };
}

/** Runs each expression against the addon in a child; returns the error messages and codes. */
function errorsIn(rt: Runtime, prefix: string[], calls: string[]): string[] {
  const script = `
    const io = require(${JSON.stringify(rt.addon)});
    for (const call of ${JSON.stringify(calls)}) {
      try { new Function('io', call)(io); console.log('no error: ' + call); }
      catch (e) { console.log(e.code + ' ' + e.message); }
    }`;
  const r = spawnSync(prefix[0], [...prefix.slice(1), process.execPath, '-e', script], { cwd: rt.cwd, encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${prefix.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout.trim().split('\n');
}

describe('errors that name the cause', skipIf(skip), () => {
  let dir = '';
  let nobody: Runtime;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dp-errors-'));
    nobody = stageForNobody(dir);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('without privileges: TAP, AF_PACKET and interface changes say they need CAP_NET_ADMIN / root', () => {
    const out = errorsIn(nobody, NOBODY, ["io.tapOpen('dpnopriv0')", "io.packetOpen('lo')", "io.ifSetMtu('lo', 1500)"]);
    expect(out[0]).toMatch(/^EPERM tapOpen\("dpnopriv0"\): needs CAP_NET_ADMIN \(run as root\)/);
    expect(out[1]).toMatch(/^EPERM packetOpen\("lo"\): needs CAP_NET_RAW\/CAP_NET_ADMIN \(run as root\)/);
    expect(out[2]).toMatch(/^EPERM ifSetMtu\("lo"\): needs CAP_NET_ADMIN \(run as root\)/);
  });

  it('without /dev/net/tun: says to load the tun module or pass the device to docker', () => {
    const root: Runtime = { addon: addonPath(), cwd: process.cwd() };
    const out = errorsIn(root, ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /dev/net && exec "$@"', 'sh'], [
      "io.tapOpen('dpnotun0')",
    ]);
    expect(out[0]).toBe(
      'ENOENT tapOpen("dpnotun0"): no /dev/net/tun (load the tun module / pass --device /dev/net/tun to docker) [ENOENT: No such file or directory]',
    );
  });
});
