// The messages a user sees when the machine is not set up for live ports:
// run without privileges (as `nobody`, via setpriv) and without /dev/net/tun
// (a tmpfs over /dev/net in a private mount namespace). Both need root to
// arrange; nothing outside the child processes changes.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { addonPath } from '../../src/io/native.js';

const skip = process.getuid?.() !== 0 ? 'needs root (to drop to nobody, and to hide /dev/net/tun)' : undefined;

/** Runs each expression against the addon in a child; returns the error messages and codes. */
function errorsIn(prefix: string[], calls: string[]): string[] {
  const script = `
    const io = require(${JSON.stringify(addonPath())});
    for (const call of ${JSON.stringify(calls)}) {
      try { new Function('io', call)(io); console.log('no error: ' + call); }
      catch (e) { console.log(e.code + ' ' + e.message); }
    }`;
  const r = spawnSync(prefix[0], [...prefix.slice(1), process.execPath, '-e', script], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${prefix.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout.trim().split('\n');
}

describe.skipIf(skip !== undefined)(`errors that name the cause${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('without privileges: TAP, AF_PACKET and interface changes say they need CAP_NET_ADMIN / root', () => {
    const out = errorsIn(
      ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
      ["io.tapOpen('dpnopriv0')", "io.packetOpen('lo')", "io.ifSetMtu('lo', 1500)"],
    );
    expect(out[0]).toMatch(/^EPERM tapOpen\("dpnopriv0"\): needs CAP_NET_ADMIN \(run as root\)/);
    expect(out[1]).toMatch(/^EPERM packetOpen\("lo"\): needs CAP_NET_RAW\/CAP_NET_ADMIN \(run as root\)/);
    expect(out[2]).toMatch(/^EPERM ifSetMtu\("lo"\): needs CAP_NET_ADMIN \(run as root\)/);
  });

  it('without /dev/net/tun: says to load the tun module or pass the device to docker', () => {
    const out = errorsIn(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /dev/net && exec "$@"', 'sh'], [
      "io.tapOpen('dpnotun0')",
    ]);
    expect(out[0]).toBe(
      'ENOENT tapOpen("dpnotun0"): no /dev/net/tun (load the tun module / pass --device /dev/net/tun to docker) [ENOENT: No such file or directory]',
    );
  });
});
