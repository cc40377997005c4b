// A private Docker engine for the Docker suite (npm run test:docker): Debian's
// dockerd in a network namespace of its own, with its data, state, socket,
// pidfile and containers' cgroups under names this run made up, so that the
// host's network (eth0, routes, iptables) is never touched and stopping it
// leaves nothing behind. `ip netns exec` cannot start it (it remounts /sys and
// dockerd then fails with "Devices cgroup isn't mounted"): nsenter --net= can.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ip, listNetns, pidAlive, tryRun, type CommandResult } from '../../src/host/commands.js';

/** What the tests get (vitest provide/inject) to reach the engine. */
export interface EngineInfo {
  /** DOCKER_HOST for the clients: unix://<dir>/docker.sock. */
  host: string;
  /** The engine's network namespace (under /run/netns). */
  ns: string;
  /** The run's temp dir (engine state, client config, logs). */
  dir: string;
  /** The dataplane image built from this checkout (tag). */
  image: string;
  /** Its size in bytes as the engine reports it. */
  imageBytes: number;
}

export interface Engine {
  ns: string;
  dir: string;
  host: string;
  pid: number;
  cgroupParent: string;
  /** Host paths dockerd creates on its own when missing (not movable by flags): removed on stop if this run made them. */
  madeHere: string[];
}

/** Debian's docker client (docker.io), else whichever `docker` is on PATH. */
export const DOCKER_CLI = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

/** Why this suite cannot run here, or undefined. Only not being root skips: a missing engine is a failure. */
export function dockerSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'the Docker suite needs Linux';
  if (process.getuid?.() !== 0) return 'the Docker suite needs root (it starts its own dockerd in a network namespace): run it with sudo';
  return undefined;
}

/** The environment the docker and docker-compose clients run with against `host`. */
export function clientEnv(host: string, dir: string): NodeJS.ProcessEnv {
  // DOCKER_CONFIG: the clients keep nothing under ~/.docker.
  return { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: join(dir, 'client'), DOCKER_BUILDKIT: '1', COMPOSE_DOCKER_CLI_BUILD: '1' };
}

/** `docker ARGS` against the engine; status and output, never throwing. */
export function docker(e: { host: string; dir: string }, args: readonly string[], timeoutMs = 60_000): CommandResult {
  return runWithEnv(DOCKER_CLI, args, clientEnv(e.host, e.dir), timeoutMs);
}

/** `docker ARGS` that must succeed: its stdout. */
export function dockerOk(e: { host: string; dir: string }, args: readonly string[], timeoutMs = 60_000): string {
  const r = docker(e, args, timeoutMs);
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: exit ${r.status}: ${r.output.trim().slice(-2000)}`);
  return r.stdout;
}

export function runWithEnv(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number): CommandResult {
  // tryRun has no env option: spawnSync directly, the same result shape.
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const stdout = r.stdout ?? '';
  const stderr = r.stderr || (r.error ? String(r.error) : '');
  return { status: r.status ?? -1, stdout, stderr, output: stdout + stderr };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Host paths dockerd creates when they are missing, deepest first. */
const DOCKERD_HOST_PATHS = ['/etc/docker/key.json', '/etc/docker', '/run/docker/plugins', '/run/docker', '/run/containerd/s', '/run/containerd'];

/** Starts dockerd in a new network namespace `dp-docker-<pid>`; resolves once it answers. */
export async function startEngine(): Promise<Engine> {
  if (tryRun('dockerd', ['--version']).status !== 0) throw new Error('dockerd is not installed: apt-get install -y docker.io');
  const tag = process.pid.toString(36);
  const ns = `dp-docker-${tag}`;
  const dir = mkdtempSync(join(tmpdir(), 'dp-docker-'));
  const sock = join(dir, 'docker.sock');
  const host = `unix://${sock}`;
  const cgroupParent = `/${ns}`;
  // BuildKit's cgroup is <hierarchy>/docker/buildkit whatever --cgroup-parent says.
  const cgroupDockerDirs = ['/sys/fs/cgroup', ...listDirs('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h))].map((r) => join(r, 'docker'));
  const madeHere = [...DOCKERD_HOST_PATHS, ...cgroupDockerDirs].filter((p) => !existsSync(p));
  if (listNetns().includes(ns)) ip('netns', 'del', ns);
  ip('netns', 'add', ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  const args = [
    `--net=/run/netns/${ns}`,
    'dockerd',
    // The namespace has no way out and nothing to NAT for: no iptables rules at all.
    '--iptables=false',
    '--ip-masq=false',
    '--data-root', join(dir, 'data'),
    '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'docker.pid'),
    '-H', host,
    '--cgroup-parent', cgroupParent,
    // The default bridge inside the namespace, on an address of the benchmark range.
    '--bip', '198.19.255.1/24',
  ];
  // dockerd logs to a file of the run (read when it fails to start).
  const logFd = openSync(join(dir, 'dockerd.log'), 'a');
  const d = spawn('nsenter', args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  if (d.pid === undefined) throw new Error('nsenter dockerd did not start');
  const e: Engine = { ns, dir, host, pid: d.pid, cgroupParent, madeHere };
  for (let i = 0; i < 600; i++) {
    if (d.exitCode !== null) break;
    if (existsSync(sock) && docker(e, ['version', '--format', '{{.Server.Version}}'], 10_000).status === 0) return e;
    await sleep(100);
  }
  const why = d.exitCode !== null ? `dockerd exited with ${d.exitCode}` : 'dockerd did not answer within 60 s';
  const log = readFileSync(join(dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-15).join('\n');
  await stopEngine(e);
  throw new Error(`${why} (nsenter ${args.join(' ')}):\n${log}`);
}

/** Pids whose command line mentions `needle` (the run's temp dir): dockerd, containerd, shims. */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle)) pids.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Mount points under `dir` (overlays, shm, netns files of containers), deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

/**
 * Removes every container, stops dockerd (SIGTERM: it stops containerd and
 * unmounts), removes the namespace, the temp dir, the containers' cgroup
 * parent and what dockerd made on the host; returns what is still left
 * (empty when clean).
 */
export async function stopEngine(e: Engine): Promise<string[]> {
  if (pidAlive(e.pid)) {
    const ids = docker(e, ['ps', '-aq'], 30_000).stdout.split('\n').filter((s) => s !== '');
    if (ids.length > 0) docker(e, ['rm', '-f', ...ids], 60_000);
    process.kill(e.pid, 'SIGTERM');
    for (let i = 0; i < 300 && pidAlive(e.pid); i++) await sleep(100);
    if (pidAlive(e.pid)) process.kill(e.pid, 'SIGKILL');
  }
  // containerd and shims of this engine (their command lines name the temp dir).
  for (let i = 0; i < 100 && processesMentioning(e.dir).length > 0; i++) await sleep(100);
  for (const pid of processesMentioning(e.dir)) process.kill(pid, 'SIGKILL');
  for (const m of mountsUnder(e.dir)) tryRun('umount', ['-l', m]);
  rmSync(e.dir, { recursive: true, force: true });
  if (listNetns().includes(e.ns)) tryRun('ip', ['netns', 'del', e.ns]);
  // Cgroup directories of the containers' parent, in every v1 hierarchy (and v2).
  for (const root of ['/sys/fs/cgroup', ...listDirs('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h))]) {
    const cg = join(root, e.cgroupParent);
    if (existsSync(cg)) removeCgroup(cg);
  }
  for (const p of e.madeHere) {
    if (p.startsWith('/sys/fs/cgroup/')) {
      if (existsSync(p)) removeCgroup(p);
      continue;
    }
    try {
      if (statSync(p).isDirectory()) rmdirSync(p);
      else rmSync(p);
    } catch {
      // not there, or not empty (then it is someone else's): left alone
    }
  }
  const left: string[] = [];
  if (listNetns().includes(e.ns)) left.push(`network namespace ${e.ns}`);
  for (const pid of processesMentioning(e.dir)) left.push(`process ${pid}`);
  if (pidAlive(e.pid)) left.push(`dockerd ${e.pid}`);
  if (existsSync(e.dir)) left.push(`directory ${e.dir}`);
  return left;
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

/** rmdir a cgroup and its (empty, process-free) children, deepest first. */
function removeCgroup(dir: string): void {
  for (const c of listDirs(dir)) removeCgroup(join(dir, c));
  try {
    rmdirSync(dir);
  } catch {
    // still has processes: reported by the process check
  }
}
