// Small, synchronous wrappers around the tools a lab drives (ip, sysctl,
// ethtool, ping): every failure becomes an Error that names the command and
// its stderr. Only used by `dataplane lab`, `demo`, the e2e tests and the
// live benchmarks, never on the packet path. Which package a tool comes from
// is in tools.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { missingToolsMessage, packageOf } from './tools.js';

export class LabError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabError';
  }
}

/** Runs a command; returns stdout; throws a LabError naming the command on failure. */
export function run(cmd: string, args: readonly string[], timeoutMs = 10_000): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string | Buffer; code?: string };
    const stderr = String(err.stderr ?? '').trim();
    if (err.code === 'ENOENT') throw new LabError(`${cmd} is not installed: apt-get install -y ${packageOf(cmd)}`, { cause: e });
    throw new LabError(`${cmd} ${args.join(' ')}: ${stderr || String(e)}`, { cause: e });
  }
}

/** Runs a command and returns its status and output, never throwing. */
export function tryRun(cmd: string, args: readonly string[], timeoutMs = 10_000): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

export function ip(...args: string[]): string {
  return run('ip', args);
}

/** Runs a command inside a named network namespace. */
export function nsRun(ns: string, cmd: string, args: readonly string[], timeoutMs = 10_000): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
}

export function nsTry(ns: string, cmd: string, args: readonly string[], timeoutMs = 10_000): { status: number; stdout: string; stderr: string } {
  return tryRun('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
}

export function sysctl(ns: string, key: string, value: string): void {
  nsRun(ns, 'sysctl', ['-qw', `${key}=${value}`]);
}

export function listNetns(): string[] {
  return tryRun('ip', ['netns', 'list'])
    .stdout.split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n !== '');
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Why a lab cannot be built here, or undefined. */
export function labUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'the lab needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the lab needs root (network namespaces, TAP devices, AF_PACKET): run it with sudo';
  return missingToolsMessage(['ip']);
}
