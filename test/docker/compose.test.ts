// docker/compose.yaml on a real engine: client -- dataplane -- server, the
// client and server started only once the dataplane's healthcheck passes
// (depends_on: service_healthy); ping (TTL 63: one router), traceroute and an
// HTTP download checked by sha256 cross the dataplane container; its counters
// are read from the running container (SIGUSR1 prints them to its log).
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { skipIf } from '../skip.js';
import { clientEnv, docker, dockerOk, dockerSkipReason, runWithEnv } from './engine.js';

const COMPOSE_FILE = join(import.meta.dirname, '..', '..', 'docker', 'compose.yaml');
const PROJECT = `dptest${process.pid.toString(36)}`;
const e = inject('dockerEngine');

/** Debian's docker-compose 1.29 when present, else the `docker compose` plugin. */
function compose(args: readonly string[], timeoutMs = 120_000) {
  if (e === undefined) throw new Error('no engine');
  const env = clientEnv(e.host, e.dir);
  const pre = ['-f', COMPOSE_FILE, '-p', PROJECT];
  const v1 = runWithEnv('docker-compose', ['version'], env, 10_000).status === 0;
  return v1 ? runWithEnv('docker-compose', [...pre, ...args], env, timeoutMs) : runWithEnv('docker', ['compose', ...pre, ...args], env, timeoutMs);
}

/** `compose exec -T SERVICE ARGV`: status and everything printed. */
function exec(service: string, argv: string[], timeoutMs = 60_000) {
  return compose(['exec', '-T', service, ...argv], timeoutMs);
}

/** The container id of a service of the project. */
function containerOf(service: string): string {
  const r = compose(['ps', '-q', service]);
  const id = r.stdout.trim();
  if (r.status !== 0 || id === '') throw new Error(`no container for ${service}: ${r.output}`);
  return id;
}

describe('docker/compose.yaml on a real Docker engine', skipIf(dockerSkipReason()), () => {
  beforeAll(() => {
    const up = compose(['up', '-d'], 240_000);
    expect(up.status, up.output).toBe(0);
  }, 300_000);

  afterAll(() => {
    const down = compose(['down', '--volumes', '--timeout', '5'], 120_000);
    expect(down.status, down.output).toBe(0);
    if (e === undefined) return;
    expect(dockerOk(e, ['ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`]).trim()).toBe('');
    expect(dockerOk(e, ['network', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`]).trim()).toBe('');
  }, 150_000);

  it('starts the client and the server only after the dataplane became healthy', () => {
    if (e === undefined) return;
    const dp = containerOf('dataplane');
    const health = JSON.parse(dockerOk(e, ['inspect', '--format', '{{json .State.Health}}', dp])) as { Status: string; Log: { End: string; ExitCode: number }[] };
    expect(health.Status).toBe('healthy');
    const firstHealthy = health.Log.find((l) => l.ExitCode === 0);
    expect(firstHealthy).toBeDefined();
    for (const s of ['client', 'server']) {
      const started = dockerOk(e, ['inspect', '--format', '{{.State.StartedAt}}', containerOf(s)]).trim();
      expect(Date.parse(started), `${s} started ${started}, dataplane first healthy ${firstHealthy?.End}`).toBeGreaterThanOrEqual(Date.parse(firstHealthy?.End ?? ''));
    }
  });

  it('ping from the client reaches the server through the dataplane with TTL 63', () => {
    const r = exec('client', ['ping', '-c', '3', '-W', '2', '198.51.100.10']);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toMatch(/3 packets transmitted, 3 received/);
    expect(r.output.match(/ttl=(\d+)/g)).toEqual(['ttl=63', 'ttl=63', 'ttl=63']);
    // The dataplane answers for its own address too.
    const own = exec('client', ['ping', '-c', '1', '-W', '2', '192.0.2.1']);
    expect(own.output).toMatch(/1 received/);
    expect(own.output).toMatch(/ttl=64/);
  });

  it('traceroute shows the dataplane as the one hop before the server', () => {
    const r = exec('client', ['traceroute', '-n', '-q', '1', '-w', '2', '-m', '5', '198.51.100.10']);
    expect(r.status, r.output).toBe(0);
    const hops = r.output
      .split('\n')
      .filter((l) => /^\s*\d+\s/.test(l))
      .map((l) => l.trim().split(/\s+/)[1]);
    expect(hops, r.output).toEqual(['192.0.2.1', '198.51.100.10']);
  });

  it('an unrouted destination gets Destination Net Unreachable from the dataplane', () => {
    const r = exec('client', ['ping', '-c', '1', '-W', '2', '203.0.113.9']);
    expect(r.output).toMatch(/From 192\.0\.2\.1 .*Destination Net Unreachable/);
  });

  it('an HTTP download from the server arrives intact (sha256)', () => {
    if (e === undefined) return;
    // 8 MiB of random bytes into the server container, served on port 8080
    // next to the compose file's own server on 80.
    const blob = randomBytes(8 << 20);
    const want = createHash('sha256').update(blob).digest('hex');
    const file = join(e.dir, 'blob');
    writeFileSync(file, blob);
    const server = containerOf('server');
    dockerOk(e, ['cp', file, `${server}:/tmp/blob`]);
    const serve = "require('node:http').createServer((q, s) => require('node:fs').createReadStream('/tmp/blob').pipe(s)).listen(8080, '198.51.100.10')";
    dockerOk(e, ['exec', '-d', server, 'node', '-e', serve]);
    const hello = exec('client', ['curl', '-sS', '--retry', '5', '--retry-connrefused', '--retry-delay', '1', 'http://198.51.100.10/']);
    expect(hello.stdout).toBe('hello from 198.51.100.10\n');
    const got = exec('client', ['sh', '-c', 'curl -sS --retry 5 --retry-connrefused --retry-delay 1 -o /tmp/got http://198.51.100.10:8080/ && sha256sum /tmp/got && stat -c %s /tmp/got']);
    expect(got.status, got.output).toBe(0);
    expect(got.stdout).toContain(want);
    expect(got.stdout).toContain(`\n${blob.length}\n`);
  });

  it("reads the dataplane's counters from the running container (SIGUSR1)", async () => {
    if (e === undefined) return;
    const dp = containerOf('dataplane');
    expect(docker(e, ['logs', dp]).output).toContain('dataplane running');
    expect(exec('client', ['ping', '-c', '5', '-i', '0.2', '-W', '2', '198.51.100.10']).output).toMatch(/5 received/);
    dockerOk(e, ['kill', '--signal', 'USR1', dp]);
    let log = '';
    for (let i = 0; i < 50; i++) {
      const r = docker(e, ['logs', dp]);
      log = r.output;
      if (log.includes('counters (SIGUSR1)') && /wan\s+rx \d+/.test(log.slice(log.indexOf('counters (SIGUSR1)')))) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    const part = log.slice(log.indexOf('counters (SIGUSR1)'));
    const lan = /\n\s+lan\s+rx (\d+) \(\d+ B\): forwarded (\d+)/.exec(part);
    const wan = /\n\s+wan\s+rx (\d+) \(\d+ B\): forwarded (\d+)/.exec(part);
    expect(lan, part).not.toBeNull();
    expect(wan, part).not.toBeNull();
    // At least the five pings just sent went through each way.
    expect(Number(lan?.[2])).toBeGreaterThanOrEqual(5);
    expect(Number(wan?.[2])).toBeGreaterThanOrEqual(5);
    // The container still runs (SIGUSR1 does not stop it).
    expect(dockerOk(e, ['inspect', '--format', '{{.State.Running}}', dp]).trim()).toBe('true');
  });
});
