// `dataplane lab up|down|status` as a library: builds the namespaces, starts
// the router (the dataplane in the background inside <prefix>-router, or the
// kernel), waits until it answers pings, and records what it started in a
// state directory so `down` stops exactly that process and those namespaces.
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommandError, nsSpawn, pidAlive, sleep, tryRun } from '../host/commands.js';
import { missingToolsMessage, type Tool } from '../host/tools.js';
import { LabError } from './lab-error.js';
import { applyKernelNat, checkLabNat, natCapacity, natFiltering, setUpNatServer, type NatFiltering } from './lab-nat.js';
import {
  buildNamespaces,
  cliPath,
  deleteNamespaces,
  existingNamespaces,
  LAB,
  labConfigYaml,
  labNames,
  namespaceTools,
  pingOnce,
  type LabEngine,
  type LabNames,
  type LabOptions,
  type LabPorts,
} from './topology.js';

export const STATE_ROOT = '/run/dataplane-lab';

export interface LabState {
  prefix: string;
  ports: LabPorts;
  engine: LabEngine;
  workers: number;
  wanMtu?: number;
  /** The dataplane's workers poll without sleeping. */
  busyPoll?: boolean;
  /** The dataplane's workers run SCHED_FIFO at this priority (`run --realtime N`). */
  realtime?: number;
  /** The workers' spin window after a frame (`run --spin-us N`; default: the dataplane's). */
  spinUs?: number;
  /** The workers' longest receive-coalescing nap (`run --coalesce-us N`; default: the dataplane's). */
  coalesceUs?: number;
  /** The dataplane's workers are pinned to these CPUs (`run --cpus LIST`). */
  cpus?: string;
  /** The dataplane traces packets to this file. */
  trace?: LabOptions['trace'];
  /** NAT mode: the filtering and conntrack capacity configured, and what the engine could not do as asked. */
  nat?: { filtering: NatFiltering; capacity: number; notes: string[] };
  names: LabNames;
  /** The dataplane's pid (0 when the kernel or nothing routes). */
  pid: number;
  stateDir: string;
  configPath: string;
  logPath: string;
  /** The dataplane's control API (`dataplane ctl --socket ...`). */
  controlSocket?: string;
  startedAt: string;
}

export function stateDir(prefix: string): string {
  return join(STATE_ROOT, prefix);
}

export function readState(prefix: string): LabState | undefined {
  const file = join(stateDir(prefix), 'state.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

function writeState(s: LabState): void {
  writeFileSync(join(s.stateDir, 'state.json'), JSON.stringify(s, null, 2) + '\n');
}

/** True when `pid` is our dataplane (its command line names our config), so we never signal a stranger. */
function isOurDataplane(s: LabState): boolean {
  // While `ip netns exec` execs node, the cmdline reads empty for a moment: look again.
  for (let i = 0; i < 20; i++) {
    if (s.pid <= 0 || !running(s.pid)) return false;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${s.pid}/cmdline`, 'utf8');
    } catch {
      return false;
    }
    if (cmdline !== '') return cmdline.split('\0').includes(s.configPath);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
  return false;
}

/** The process exists and is not a zombie. */
function running(pid: number): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

export function routerAlive(s: LabState): boolean {
  return s.engine !== 'dataplane' ? existingNamespaces(s.prefix).includes(s.names.router) : isOurDataplane(s);
}

/** Why the lab's router is not running, for `lab status`; undefined while it runs. */
export function routerGone(s: LabState): string | undefined {
  if (routerAlive(s)) return undefined;
  if (s.engine !== 'dataplane') return `the router namespace ${s.names.router} is gone`;
  const what = `the dataplane process (pid ${s.pid}) is gone`;
  if (pidAlive(s.pid) && running(s.pid)) return `${what}: pid ${s.pid} is now another program`;
  // On SIGTERM/SIGINT the dataplane prints its final counters; a log without them means it never got to.
  let log: string;
  try {
    log = readFileSync(s.logPath, 'utf8');
  } catch {
    return `${what}, and its log ${s.logPath} is missing`;
  }
  return log.includes('stopped. ports:')
    ? `${what}: it stopped (SIGTERM or SIGINT) and printed its final counters to its log`
    : `${what}: its log does not end with its final counters, so it was killed (SIGKILL) or crashed (its last lines are below)`;
}

/** The programs a lab with these options runs (ping: the wait until the router answers). */
export function labTools(o: LabOptions): Tool[] {
  return o.engine === 'none' ? namespaceTools(o) : [...namespaceTools(o), 'ping'];
}

export function logTail(s: LabState, lines = 20): string {
  try {
    return readFileSync(s.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function startDataplane(s: LabState): number {
  const log = openSync(s.logPath, 'a');
  try {
    const args = [cliPath(), 'run', '--config', s.configPath, '--workers', String(s.workers)];
    if (s.busyPoll === true) args.push('--busy-poll');
    if (s.realtime !== undefined) args.push('--realtime', String(s.realtime));
    if (s.spinUs !== undefined) args.push('--spin-us', String(s.spinUs));
    if (s.coalesceUs !== undefined) args.push('--coalesce-us', String(s.coalesceUs));
    if (s.cpus !== undefined) args.push('--cpus', s.cpus);
    if (s.trace !== undefined) {
      args.push('--trace', s.trace.file);
      if (s.trace.filter !== undefined) args.push('--trace-filter', s.trace.filter);
      if (s.trace.count !== undefined) args.push('--trace-count', String(s.trace.count));
    }
    // `ip netns exec` execs node in place, so the child's pid is the dataplane's.
    const child = nsSpawn(s.names.router, process.execPath, args, { detached: true, stdio: ['ignore', log, log] });
    child.unref();
    if (child.pid === undefined) throw new LabError('could not start the dataplane');
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** Waits until each router port answers a ping from its side; throws (with the log) when the router dies or time runs out. */
async function waitReady(s: LabState, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const want: [string, string][] = [
    [s.names.client, LAB.lan.addr],
    [s.names.server, LAB.wan.addr],
  ];
  while (want.length > 0) {
    if (s.engine === 'dataplane' && !isOurDataplane(s)) throw new LabError(`the dataplane (pid ${s.pid}) exited during start-up; its log:\n${logTail(s)}`);
    const [ns, addr] = want[0];
    // The TAP ports appear in client/server only once the dataplane moved them.
    const hasIf = tryRun('ip', ['-n', ns, 'link', 'show', LAB.hostIf]).status === 0;
    if (hasIf && pingOnce(ns, addr, 1)) want.shift();
    else if (Date.now() > deadline) throw new LabError(`the router did not answer a ping from ${ns} to ${addr} within ${timeoutMs / 1000} s; its log:\n${logTail(s)}`);
    else if (!hasIf) await sleep(100);
  }
  // The control API starts right after the ports: `dataplane ctl` works once `lab up` returns.
  const socket = s.engine === 'dataplane' ? s.controlSocket : undefined;
  while (socket !== undefined && !existsSync(socket)) {
    if (!isOurDataplane(s)) throw new LabError(`the dataplane (pid ${s.pid}) exited during start-up; its log:\n${logTail(s)}`);
    if (Date.now() > deadline) throw new LabError(`the dataplane did not open its control socket ${socket} within ${timeoutMs / 1000} s; its log:\n${logTail(s)}`);
    await sleep(50);
  }
}

export interface UpOptions extends LabOptions {
  /** How long to wait for the router to answer (default 10 s). */
  readyTimeoutMs?: number;
}

/** Builds the lab and starts its router; on failure leaves nothing behind. */
export async function labUp(o: UpOptions): Promise<LabState> {
  if (existingNamespaces(o.prefix).length > 0 || readState(o.prefix) !== undefined) {
    throw new LabError(`a lab with prefix "${o.prefix}" exists already: run \`dataplane lab down --prefix ${o.prefix}\` first`);
  }
  // Before anything is made: a missing ping would otherwise read as a router that does not answer.
  const missing = missingToolsMessage(labTools(o));
  if (missing !== undefined) throw new LabError(missing);
  const badNat = o.nat === undefined ? undefined : o.engine === 'none' ? 'NAT mode needs a router: engine dataplane or kernel' : checkLabNat(o.nat);
  if (badNat !== undefined) throw new LabError(badNat);
  const dir = stateDir(o.prefix);
  mkdirSync(dir, { recursive: true });
  const s: LabState = {
    prefix: o.prefix,
    ports: o.ports,
    engine: o.engine,
    workers: o.workers,
    wanMtu: o.wanMtu,
    busyPoll: o.busyPoll,
    realtime: o.realtime,
    spinUs: o.spinUs,
    coalesceUs: o.coalesceUs,
    cpus: o.cpus,
    trace: o.trace,
    nat: o.nat === undefined ? undefined : { filtering: natFiltering(o.nat), capacity: natCapacity(o.nat), notes: [] },
    names: labNames(o.prefix),
    pid: 0,
    stateDir: dir,
    configPath: join(dir, 'router.yaml'),
    logPath: join(dir, 'dataplane.log'),
    controlSocket: join(dir, 'control.sock'),
    startedAt: new Date().toISOString(),
  };
  writeFileSync(s.configPath, labConfigYaml(o, s.controlSocket));
  writeState(s);
  try {
    buildNamespaces(o);
    if (o.nat !== undefined && s.nat !== undefined && o.engine === 'kernel') {
      s.nat.notes.push(...applyKernelNat(s.names.router, o.nat, LAB.wan.addr));
      writeState(s);
    }
    if (o.engine === 'dataplane') {
      s.pid = startDataplane(s);
      writeState(s);
    }
    if (o.engine !== 'none') await waitReady(s, o.readyTimeoutMs ?? 10_000);
    // After the router answers: a TAP (and its default route) exists only once the dataplane made it.
    if (o.nat !== undefined) setUpNatServer(s.names.server, LAB.hostIf);
    return s;
  } catch (e) {
    await labDown(o.prefix, { keepState: true });
    // Keep the dataplane's log for a post-mortem; the state directory goes.
    const kept = join(tmpdir(), `dataplane-lab-${o.prefix}-failed.log`);
    try {
      copyFileSync(s.logPath, kept);
    } catch {
      // no log written
    }
    rmSync(dir, { recursive: true, force: true });
    if ((e instanceof LabError || e instanceof CommandError) && existsSync(kept)) throw new LabError(`${e.message}\n(full log kept in ${kept})`, { cause: e });
    throw e;
  }
}

export interface DownResult {
  stopped?: { pid: number; how: 'SIGTERM' | 'SIGKILL' | 'gone' };
  namespaces: string[];
}

/** Stops the router the state names (SIGTERM, then SIGKILL), deletes the prefix's namespaces and its state. */
export async function labDown(prefix: string, opts: { keepState?: boolean; termWaitMs?: number } = {}): Promise<DownResult> {
  const s = readState(prefix);
  const result: DownResult = { namespaces: [] };
  if (s !== undefined && s.pid > 0) {
    if (!isOurDataplane(s)) result.stopped = { pid: s.pid, how: 'gone' };
    else {
      process.kill(s.pid, 'SIGTERM');
      const deadline = Date.now() + (opts.termWaitMs ?? 5000);
      while (isOurDataplane(s) && Date.now() < deadline) await sleep(50);
      if (isOurDataplane(s)) {
        process.kill(s.pid, 'SIGKILL');
        while (pidAlive(s.pid) && Date.now() < deadline + 2000) await sleep(20);
        result.stopped = { pid: s.pid, how: 'SIGKILL' };
      } else result.stopped = { pid: s.pid, how: 'SIGTERM' };
    }
  }
  result.namespaces = deleteNamespaces(prefix);
  if (opts.keepState !== true) rmSync(stateDir(prefix), { recursive: true, force: true });
  return result;
}
