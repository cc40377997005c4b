// The one way the project runs host tools (src/host/commands.ts): errors that
// name the command, results with both streams, and commands inside a network
// namespace given by name (ip netns exec) or by path (nsenter).
import { afterAll, describe, expect, it } from 'vitest';
import { CommandError, inNetns, ip, listNetns, nsRun, nsSpawn, nsTry, run, sysctl, tryRun } from '../../src/host/commands.js';
import { skipIf } from '../skip.js';

describe('running a command', () => {
  it('run returns stdout', () => {
    expect(run('sh', ['-c', 'echo out; echo err >&2'])).toBe('out\n');
  });

  it('run throws a CommandError naming the command line and what it printed on stderr', () => {
    expect(() => run('sh', ['-c', 'echo no such thing >&2; exit 3'])).toThrow(CommandError);
    expect(() => run('sh', ['-c', 'echo no such thing >&2; exit 3'])).toThrow('sh -c echo no such thing >&2; exit 3: no such thing');
  });

  it('a missing tool is "not installed" with the Debian package to install (src/host/tools.ts; its own name when unknown)', () => {
    expect(() => run('ip-no-such-tool', [])).toThrow('ip-no-such-tool is not installed: apt-get install -y ip-no-such-tool');
    expect(() => run('ip-no-such-tool', [])).toThrow(CommandError);
  });

  it('tryRun never throws: status, both streams, and output as stdout then stderr', () => {
    const r = tryRun('sh', ['-c', 'echo out; echo err >&2; exit 4']);
    expect(r).toEqual({ status: 4, stdout: 'out\n', stderr: 'err\n', output: 'out\nerr\n' });
    const missing = tryRun('ip-no-such-tool', []);
    expect(missing.status).toBe(-1);
    expect(missing.stderr).toMatch(/ENOENT/);
  });

  it('input goes to standard input; a command past its timeout is killed', () => {
    expect(run('cat', [], { input: 'route get 192.0.2.1\n' })).toBe('route get 192.0.2.1\n');
    expect(tryRun('sleep', ['5'], { timeoutMs: 100 }).status).toBe(-1);
  });

  it('a namespace by name runs through ip netns exec, by path through nsenter', () => {
    expect(inNetns('dp-x', 'ip', ['link'])).toEqual(['ip', ['netns', 'exec', 'dp-x', 'ip', 'link']]);
    expect(inNetns('/proc/42/ns/net', 'ip', ['link'])).toEqual(['nsenter', ['--net=/proc/42/ns/net', 'ip', 'link']]);
  });
});

const rootSkip = process.platform !== 'linux' ? 'needs Linux' : process.getuid?.() !== 0 ? 'needs root to create a network namespace' : undefined;

describe('inside a network namespace', skipIf(rootSkip), () => {
  const ns = `dp-host-${process.pid}`;
  afterAll(() => {
    tryRun('ip', ['netns', 'del', ns]);
    expect(listNetns()).not.toContain(ns);
  });

  it('sysctl writes in the namespace, read back by name and by path; the host namespace is untouched', async () => {
    const hostForwarding = run('sysctl', ['-n', 'net.ipv4.ip_forward']);
    tryRun('ip', ['netns', 'del', ns]);
    ip('netns', 'add', ns);
    expect(listNetns()).toContain(ns);
    const want = hostForwarding.trim() === '1' ? '0' : '1';
    sysctl(ns, 'net.ipv4.ip_forward', want);
    expect(nsRun(ns, 'sysctl', ['-n', 'net.ipv4.ip_forward']).trim()).toBe(want);
    expect(nsRun(`/run/netns/${ns}`, 'sysctl', ['-n', 'net.ipv4.ip_forward']).trim()).toBe(want);
    expect(run('sysctl', ['-n', 'net.ipv4.ip_forward'])).toBe(hostForwarding);
    // A fresh namespace has only lo, down.
    expect(nsTry(ns, 'ip', ['-o', 'link']).stdout).toMatch(/^1: lo: .*state DOWN/);
    expect(() => sysctl(ns, 'net.ipv4.no_such_key', '1')).toThrow(CommandError);
    // A spawned child runs in the namespace too.
    const child = nsSpawn(ns, 'ip', ['-o', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((res) => child.on('close', res));
    expect(out.trim().split('\n')).toHaveLength(1);
  });
});
