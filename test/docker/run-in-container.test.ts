// The dataplane itself in a container, started with the very `docker run`
// line of docker/README.md (--cap-add NET_ADMIN --device /dev/net/tun, the
// config mounted read-only). Its config has two TAP ports; from outside, as
// a CNI plugin would, the test moves each TAP's kernel side into a
// `--network none` container and addresses it. Traffic between those two
// containers then crosses the containerized dataplane.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { run } from '../../src/host/commands.js';
import { skipIf } from '../skip.js';
import { docker, dockerOk, dockerSkipReason } from './engine.js';
import { containerPid, expectRoutedBetween, removeContainers, startNoNetwork, waitFor } from './helpers.js';

const README = join(import.meta.dirname, '..', '..', 'docker', 'README.md');
const e = inject('dockerEngine');
const tag = process.pid.toString(36);
const DP = `dp-run-${tag}`;
const A = `dp-run-a-${tag}`;
const B = `dp-run-b-${tag}`;

/** The README's `docker run ... dataplane run --config ...` command, continuation lines joined, as argv. */
export function readmeRunCommand(): string[] {
  const lines = readFileSync(README, 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith('    docker run --rm --cap-add NET_ADMIN'));
  if (start < 0) throw new Error('docker/README.md has no `docker run --rm --cap-add NET_ADMIN ...` command');
  let end = start;
  while (lines[end].endsWith('\\') && end + 1 < lines.length) end++;
  const line = lines
    .slice(start, end + 1)
    .map((l) => l.replace(/\\$/, ''))
    .join(' ');
  // Words, double-quoted strings kept whole (the README quotes only the -v argument).
  return (line.match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"(.*)"$/, '$1'));
}

/** Runs `ip ARGS` in the network namespace of host pid `pid` (the test is outside every container). */
function ipIn(pid: number, ...args: string[]): void {
  run('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', ...args]);
}

describe('the dataplane in a container, run as docker/README.md says', skipIf(dockerSkipReason()), () => {
  const logs = () => (e === undefined ? '' : docker(e, ['logs', DP]).output);

  it('the README runs it with exactly --cap-add NET_ADMIN and --device /dev/net/tun, config mounted read-only', () => {
    expect(readmeRunCommand()).toEqual([
      'docker', 'run', '--rm', '--cap-add', 'NET_ADMIN', '--device', '/dev/net/tun',
      '-v', '$PWD/router.yaml:/etc/dataplane/router.yaml:ro',
      'dataplane', 'run', '--config', '/etc/dataplane/router.yaml',
    ]);
  });

  beforeAll(async () => {
    if (e === undefined) return;
    // $PWD of the README: a directory with a router.yaml of two TAP ports.
    writeFileSync(
      join(e.dir, 'router.yaml'),
      `ports:
  - { name: lan, address: 192.0.2.1/24, io: { type: tap, ifname: lan } }
  - { name: wan, address: 198.51.100.1/24, io: { type: tap, ifname: wan } }
icmp: { ratePerSecond: 1000, burst: 100 }
`,
    );
    const [, sub, ...rest] = readmeRunCommand().map((w) => w.replace('$PWD', e.dir));
    // Detached and named so the test can reach it; every flag as the README has it.
    dockerOk(e, [sub, '-d', '--name', DP, ...rest]);
    const text = await waitFor(logs, 'dataplane running');
    expect(text).toContain('dataplane running');
    const dpPid = containerPid(e, DP);
    const pidA = startNoNetwork(e, e.image, A);
    const pidB = startNoNetwork(e, e.image, B);
    for (const [tap, pid, addr, via] of [['lan', pidA, '192.0.2.10/24', '192.0.2.1'], ['wan', pidB, '198.51.100.10/24', '198.51.100.1']] as const) {
      ipIn(dpPid, 'link', 'set', 'dev', tap, 'netns', String(pid));
      ipIn(pid, 'link', 'set', 'dev', tap, 'name', 'eth0');
      ipIn(pid, 'addr', 'add', addr, 'dev', 'eth0');
      ipIn(pid, 'link', 'set', 'dev', 'eth0', 'up');
      ipIn(pid, 'route', 'add', 'default', 'via', via, 'dev', 'eth0');
    }
  }, 120_000);

  afterAll(() => {
    if (e === undefined) return;
    removeContainers(e, [DP, A, B]);
    expect(docker(e, ['ps', '-aq', '--filter', `name=${tag}`]).stdout.trim()).toBe('');
  }, 60_000);

  it('routes between two containers through the containerized dataplane', () => {
    if (e === undefined) return;
    expectRoutedBetween(e, A, B);
  });

  it('prints its counters on SIGUSR1 and stops cleanly on docker stop (SIGTERM), removed by --rm', async () => {
    if (e === undefined) return;
    dockerOk(e, ['kill', '--signal', 'USR1', DP]);
    const text = await waitFor(logs, /counters \(SIGUSR1\)[\s\S]*\n\s+wan\s+rx/);
    const part = text.slice(text.indexOf('counters (SIGUSR1)'));
    expect(Number(/\n\s+lan\s+rx \d+ \(\d+ B\): forwarded (\d+)/.exec(part)?.[1]), part).toBeGreaterThanOrEqual(5);
    expect(Number(/\n\s+wan\s+rx \d+ \(\d+ B\): forwarded (\d+)/.exec(part)?.[1]), part).toBeGreaterThanOrEqual(5);
    // dataplane run is the container's PID 1 and handles SIGTERM itself: it
    // stops within docker stop's grace time (no SIGKILL after 10 s).
    const t0 = Date.now();
    dockerOk(e, ['stop', '--time', '10', DP], 30_000);
    expect(Date.now() - t0).toBeLessThan(9_000);
    // --rm removes it after it stopped (asynchronously to `docker stop`).
    const gone = await waitFor(() => (docker(e, ['ps', '-aq', '--filter', `name=^/${DP}$`]).stdout.trim() === '' ? 'gone' : ''), 'gone', 15_000);
    expect(gone).toBe('gone');
  });
});
