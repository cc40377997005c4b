// The port locks behind "one dataplane per port": a lock held by a live
// process refuses and names it (from the lock file, or from /proc/locks when
// the file says nothing), a lock file left by a killed process does not
// block, and taking several ports is all or nothing. Needs the addon (flock),
// not root: the locks go to a temporary directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { skipIf } from '../skip.js';
import { parseConfig, type PortConfig } from '../../src/config/load.js';
import { nativeAvailable } from '../../src/io/native.js';
import { lockPorts, NetnsNotFoundError, PortBusyError, portPlace } from '../../src/runtime/port-lock.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-port-lock-'));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DIST_LOCK = join(import.meta.dirname, '..', '..', 'dist', 'src', 'runtime', 'port-lock.js');

function ports(yaml: string): PortConfig[] {
  return parseConfig(`ports:\n${yaml}`, 't.yaml', '.').ports;
}
const AFP = ports('  - { name: a, address: 192.0.2.1/24, io: { type: afpacket, interface: dpl-a } }\n  - { name: b, address: 198.51.100.1/24, io: { type: afpacket, interface: dpl-b } }\n');
const ownNetns = statSync('/proc/self/ns/net').ino;
const lockOf = (ifname: string) => join(dir, `netns-${ownNetns}-${ifname}.lock`);

function busyMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PortBusyError);
    return (e as Error).message;
  }
  throw new Error('the lock was taken');
}

/** A child process that holds the locks of `portsYaml` (through the built module) until killed. */
async function holder(portsYaml: string): Promise<ChildProcess> {
  const script = `import { parseConfig } from ${JSON.stringify(join(DIST_LOCK, '..', '..', 'config', 'load.js'))};
import { lockPorts } from ${JSON.stringify(DIST_LOCK)};
lockPorts(parseConfig(${JSON.stringify(`ports:\n${portsYaml}`)}, 't', '.').ports, ${JSON.stringify(dir)});
console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, 'holder-of-dpl'], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((res, rej) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('locked') && res());
    child.once('exit', (code) => rej(new Error(`holder exited ${code}`)));
  });
  return child;
}

describe('port locks', skipIf(nativeAvailable() ? undefined : 'the native addon is not built (npm install)'), () => {
  it('writes our pid and command line into the lock, and a clean release deletes it', () => {
    const locks = lockPorts(AFP, dir);
    expect(locks.files).toEqual([lockOf('dpl-a'), lockOf('dpl-b')]);
    expect(readFileSync(lockOf('dpl-a'), 'utf8')).toBe(`${process.pid}\n${process.argv.join(' ')}\n`);
    locks.release();
    locks.release();
    expect(existsSync(lockOf('dpl-a'))).toBe(false);
    lockPorts(AFP, dir).release();
  });

  it('refuses a port another process holds, naming its pid and command line; takes none of the ports', async () => {
    const child = await holder('  - { name: x, address: 203.0.113.1/24, io: { type: afpacket, interface: dpl-b } }\n');
    const msg = busyMessage(() => lockPorts(AFP, dir));
    expect(msg.startsWith(`port b: interface dpl-b in the dataplane's network namespace is already served by another dataplane: pid ${child.pid} (${process.execPath} --input-type=module -e `)).toBe(true);
    expect(msg.endsWith(` holder-of-dpl). One dataplane per port: stop that one first (lock ${lockOf('dpl-b')})`)).toBe(true);
    // Port a was locked first and let go again.
    lockPorts([AFP[0]], dir).release();
  });

  it('is not blocked by the lock file of a process that was killed (the kernel dropped its lock)', async () => {
    const child = await holder('  - { name: x, address: 203.0.113.1/24, io: { type: afpacket, interface: dpl-a } }\n');
    child.kill('SIGKILL');
    await new Promise<void>((res) => child.once('exit', () => res()));
    expect(readFileSync(lockOf('dpl-a'), 'utf8').split('\n')[0]).toBe(String(child.pid));
    const locks = lockPorts(AFP, dir);
    expect(readFileSync(lockOf('dpl-a'), 'utf8').split('\n')[0]).toBe(String(process.pid));
    locks.release();
  });

  it('names the holder from /proc/locks when the lock file does not say (another locker, or one not done writing)', async () => {
    writeFileSync(lockOf('dpl-b'), '');
    const child = spawn('flock', ['-x', lockOf('dpl-b'), 'sleep', '30'], { stdio: 'ignore' });
    children.push(child);
    // flock(1) holds the lock itself and runs sleep as its child.
    for (let i = 0; i < 100 && !readFileSync('/proc/locks', 'utf8').includes(`FLOCK  ADVISORY  WRITE ${child.pid} `); i++) await new Promise((r) => setTimeout(r, 20));
    expect(busyMessage(() => lockPorts(AFP, dir))).toMatch(new RegExp(`already served by another dataplane: pid ${child.pid} \\(flock -x \\S+ sleep 30\\)\\. `));
  });

  it('refuses two ports that end up as one interface', () => {
    const two = ports(
      '  - { name: a, address: 192.0.2.1/24, io: { type: tap, ifname: t1, netns: /proc/self/ns/net, peerName: eth7 } }\n' +
        '  - { name: b, address: 198.51.100.1/24, io: { type: tap, ifname: t2, netns: /proc/self/ns/net, peerName: eth7 } }\n',
    );
    expect(busyMessage(() => lockPorts(two, dir))).toBe('ports a and b are both interface eth7 in network namespace /proc/self/ns/net');
    expect(existsSync(join(dir, `netns-${ownNetns}-eth7.lock`))).toBe(false);
  });

  it('names a TAP by where it lives: its peerName in the namespace it moves to', () => {
    const [moved, here] = ports(
      '  - { name: a, address: 192.0.2.1/24, io: { type: tap, ifname: t1, netns: /proc/self/ns/net, peerName: eth7 } }\n' +
        '  - { name: b, address: 198.51.100.1/24, io: { type: tap, ifname: t2 } }\n',
    );
    expect(portPlace(moved)).toEqual({ ifname: 'eth7', netnsText: 'network namespace /proc/self/ns/net', netnsId: ownNetns });
    expect(portPlace(here)).toEqual({ ifname: 't2', netnsText: "the dataplane's network namespace", netnsId: ownNetns });
    const [missing] = ports('  - { name: c, address: 192.0.2.1/24, io: { type: tap, netns: dp-no-such-ns } }\n');
    expect(() => portPlace(missing)).toThrow(NetnsNotFoundError);
    expect(() => portPlace(missing)).toThrow('port c: network namespace "dp-no-such-ns" not found (/run/netns/dp-no-such-ns: ENOENT)');
  });
});
