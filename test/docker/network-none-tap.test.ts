// Two containers with `--network none` (only lo), wired the way a CNI plugin
// wires a container: `dataplane run` outside them creates a TAP per port and
// moves its kernel side into each container's namespace by
// `netns: /proc/PID/ns/net`, with an address and a default route via the
// dataplane. The containers then reach each other only through it.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ip, listNetns, nsSpawn, pidAlive, tryRun } from '../../src/host/commands.js';
import { CLI } from '../cli-run.js';
import { skipIf } from '../skip.js';
import { dockerSkipReason } from './engine.js';
import { dexec, expectRoutedBetween, removeContainers, startNoNetwork, waitFor } from './helpers.js';

const e = inject('dockerEngine');
const tag = process.pid.toString(36);
const A = `dp-none-a-${tag}`;
const B = `dp-none-b-${tag}`;
// `dataplane run` gets a namespace of its own: it creates its TAPs there
// before moving them, so the host's namespace never sees them.
const RUN_NS = `dp-docker-${tag}-run`;

describe('two --network none containers wired by `dataplane run` with TAP ports into /proc/PID/ns/net', skipIf(dockerSkipReason()), () => {
  let dp: ChildProcess | undefined;
  let log = '';

  beforeAll(async () => {
    if (e === undefined) return;
    const pidA = startNoNetwork(e, e.image, A);
    const pidB = startNoNetwork(e, e.image, B);
    const config = join(e.dir, `none-${tag}.yaml`);
    writeFileSync(
      config,
      `ports:
  - name: lan
    address: 192.0.2.1/24
    io: { type: tap, ifname: dpn-lan-${tag}, netns: /proc/${pidA}/ns/net, peerName: eth0, peerAddress: 192.0.2.10/24 }
  - name: wan
    address: 198.51.100.1/24
    io: { type: tap, ifname: dpn-wan-${tag}, netns: /proc/${pidB}/ns/net, peerName: eth0, peerAddress: 198.51.100.10/24 }
icmp: { ratePerSecond: 1000, burst: 100 }
`,
    );
    if (listNetns().includes(RUN_NS)) ip('netns', 'del', RUN_NS);
    ip('netns', 'add', RUN_NS);
    dp = nsSpawn(RUN_NS, process.execPath, [CLI, 'run', '--config', config, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    dp.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    dp.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(() => log, 'dataplane running');
    expect(log).toContain('dataplane running');
  }, 120_000);

  afterAll(async () => {
    if (dp?.pid !== undefined && dp.exitCode === null) {
      const exited = new Promise((r) => dp?.once('exit', r));
      process.kill(dp.pid, 'SIGTERM');
      await exited;
    }
    if (e !== undefined) removeContainers(e, [A, B]);
    if (listNetns().includes(RUN_NS)) tryRun('ip', ['netns', 'del', RUN_NS]);
    expect(listNetns()).not.toContain(RUN_NS);
    if (dp?.pid !== undefined) expect(pidAlive(dp.pid)).toBe(false);
  }, 60_000);

  it('gives each container an eth0 with its address and a default route via the dataplane', () => {
    if (e === undefined) return;
    expect(log).toMatch(new RegExp(`kernel side eth0 in /proc/\\d+/ns/net with 192\\.0\\.2\\.10/24, default via 192\\.0\\.2\\.1`));
    const addr = dexec(e, A, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    expect(addr.stdout).toContain('192.0.2.10/24');
    expect(dexec(e, A, ['ip', 'route', 'show', 'default']).stdout).toMatch(/default via 192\.0\.2\.1 dev eth0/);
    expect(dexec(e, B, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']).stdout).toContain('198.51.100.10/24');
    // Nothing else: the containers' only way anywhere is the dataplane's TAP.
    const links = dexec(e, A, ['ip', '-o', 'link', 'show']).stdout.split('\n').filter((l) => l !== '');
    expect(links.map((l) => l.split(':')[1].trim().split('@')[0]).sort()).toEqual(['eth0', 'lo']);
  });

  it('the two containers reach each other through the dataplane (ping TTL 63 both ways, traceroute, HTTP)', () => {
    if (e === undefined) return;
    expectRoutedBetween(e, A, B);
  });

  it('counts what it forwarded (SIGUSR1)', async () => {
    if (dp?.pid === undefined || e === undefined) return;
    expect(dexec(e, A, ['ping', '-c', '5', '-i', '0.2', '-W', '2', '198.51.100.10']).output).toMatch(/5 received/);
    process.kill(dp.pid, 'SIGUSR1');
    const text = await waitFor(() => log, /counters \(SIGUSR1\)[\s\S]*\n\s+wan\s+rx/);
    const part = text.slice(text.indexOf('counters (SIGUSR1)'));
    const lan = /\n\s+lan\s+rx \d+ \(\d+ B\): forwarded (\d+)/.exec(part);
    const wan = /\n\s+wan\s+rx \d+ \(\d+ B\): forwarded (\d+)/.exec(part);
    expect(Number(lan?.[1]), part).toBeGreaterThanOrEqual(5);
    expect(Number(wan?.[1]), part).toBeGreaterThanOrEqual(5);
  });
});
