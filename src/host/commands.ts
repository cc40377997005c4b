// Running the host's tools (iproute2, sysctl, ethtool, ping, nsenter) from
// the control side: `dataplane run`'s port setup, the lab and live demo, the
// live benchmark, and the tests that build network namespaces. One way to run
// a command, in the host's namespace or in another: synchronous, every
// failure a CommandError naming the command and what it printed. Never on
// the packet path. Which package a tool comes from, and whether it is on
// PATH at all, is in tools.ts.
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { packageOf } from './tools.js';

export class CommandError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CommandError';
  }
}

export interface CommandOptions {
  /** Killed after this long (default 10 s). */
  timeoutMs?: number;
  /** Written to the command's standard input. */
  input?: string;
}

export interface CommandResult {
  /** Exit status; -1 when the command could not run or was killed. */
  status: number;
  stdout: string;
  stderr: string;
  /** stdout then stderr, for messages and for tools that mix them (ping, traceroute). */
  output: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Runs a command; returns its stdout; throws a CommandError naming the command (and, when missing, its Debian package). */
export function run(cmd: string, args: readonly string[], opts: CommandOptions = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, input: opts.input, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string | Buffer; code?: string };
    const stderr = String(err.stderr ?? '').trim();
    if (err.code === 'ENOENT') throw new CommandError(`${cmd} is not installed: apt-get install -y ${packageOf(cmd)}`, { cause: e });
    throw new CommandError(`${cmd} ${args.join(' ')}: ${stderr || String(e)}`, { cause: e });
  }
}

/** Runs a command and returns its status and output, never throwing. */
export function tryRun(cmd: string, args: readonly string[], opts: CommandOptions = {}): CommandResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, input: opts.input, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const stdout = r.stdout ?? '';
  const stderr = r.stderr || (r.error ? String(r.error) : '');
  return { status: r.status ?? -1, stdout, stderr, output: stdout + stderr };
}

/**
 * The command line that runs `cmd args` inside network namespace `netns`:
 * a name from `ip netns` (ip netns exec), or a path to a namespace file such
 * as /proc/PID/ns/net (nsenter). Both exec the command in place, so a spawned
 * child's pid is the command's.
 */
export function inNetns(netns: string, cmd: string, args: readonly string[]): [string, string[]] {
  return netns.includes('/') ? ['nsenter', [`--net=${netns}`, cmd, ...args]] : ['ip', ['netns', 'exec', netns, cmd, ...args]];
}

/** run() inside a network namespace. */
export function nsRun(netns: string, cmd: string, args: readonly string[], opts?: CommandOptions): string {
  const [c, a] = inNetns(netns, cmd, args);
  return run(c, a, opts);
}

/** tryRun() inside a network namespace. */
export function nsTry(netns: string, cmd: string, args: readonly string[], opts?: CommandOptions): CommandResult {
  const [c, a] = inNetns(netns, cmd, args);
  return tryRun(c, a, opts);
}

/** Starts a command inside a network namespace without waiting for it (servers, senders, the dataplane itself). */
export function nsSpawn(netns: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  const [c, a] = inNetns(netns, cmd, args);
  return spawn(c, a, opts);
}

/** `ip ARGS` in this namespace; returns stdout. */
export function ip(...args: string[]): string {
  return run('ip', args);
}

/** Sets a sysctl in `netns` (this namespace when undefined); throws when the key is missing or the write fails. */
export function sysctl(netns: string | undefined, key: string, value: string): void {
  const args = ['-qw', `${key}=${value}`];
  if (netns === undefined) run('sysctl', args);
  else nsRun(netns, 'sysctl', args);
}

/** Names of the network namespaces `ip netns` knows. */
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
