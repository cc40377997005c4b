// The load balancer lab as a library (the e2e tests, the live benchmark):
// builds lb-topology.ts's namespaces, starts the routers (the dataplane as
// balancer and, for the tunnel modes, as decap router; or the kernel with
// nftables DNAT), waits until every leg answers, and records what it started
// in /run/dataplane-lab-lb/<prefix>/ so that lbLabDown stops exactly those
// processes (by pid, checked against their command line) and namespaces.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nsRun, nsSpawn, pidAlive, sleep, tryRun } from '../host/commands.js';
import { missingToolsMessage } from '../host/tools.js';
import { LabError, labUnavailable } from './lab-error.js';
import { balancerYaml, decapYaml, nftDnatRuleset, topologyOf, type LbPortIo, type LbVipSpec } from './lb-router-config.js';
import { buildLbNamespaces, deleteLbNamespaces, LB_LAB, lbLabNames, lbNamespaces, lbTopologyTools, type LbEngine, type LbLabNames, type LbTopology } from './lb-topology.js';
import { cliPath, pingOnce } from './topology.js';

export const LB_STATE_ROOT = '/run/dataplane-lab-lb';

export interface LbLabOptions {
  prefix: string;
  engine: LbEngine;
  vip: LbVipSpec;
  /** The balancer's workers (the decap router runs one). */
  workers: number;
  /** YAML appended to the balancer's config (engine dataplane): `conntrack:` and the like. */
  extraConfig?: string;
  /** How long to wait until every leg answers (default 15 s). */
  readyTimeoutMs?: number;
  /** The balancer's port I/O (default AF_PACKET; the live benchmark runs AF_XDP too). */
  io?: LbPortIo;
  /** Runs once the namespaces exist, before any router starts (servers the health checks should find up from the first probe). */
  beforeRouters?: (names: LbLabNames) => void | Promise<void>;
  /** More `dataplane run` options for the balancer (the live benchmark: `--realtime N`, `--spin-us N`). */
  runArgs?: readonly string[];
}

interface Proc {
  role: 'balancer' | 'decap';
  pid: number;
  configPath: string;
  logPath: string;
  /** Its control API (`dataplane ctl --socket ...`). */
  controlSocket?: string;
}

export interface LbLabState {
  prefix: string;
  engine: LbEngine;
  topology: LbTopology;
  workers: number;
  extraConfig: string;
  /** The VIP as configured now (setWeights changes it). */
  vip: LbVipSpec;
  names: LbLabNames;
  stateDir: string;
  /** The dataplane processes (none for the kernel). */
  procs: Proc[];
  /** The balancer's port I/O (absent: AF_PACKET). */
  io?: LbPortIo;
}

export function lbStateDir(prefix: string): string {
  return join(LB_STATE_ROOT, prefix);
}

function stateFile(prefix: string): string {
  return join(lbStateDir(prefix), 'state.json');
}

function writeState(s: LbLabState): void {
  writeFileSync(stateFile(s.prefix), JSON.stringify(s, null, 2) + '\n');
}

export function readLbState(prefix: string): LbLabState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(prefix), 'utf8')) as LbLabState;
  } catch {
    return undefined;
  }
}

/** The balancer's dataplane process (engine dataplane). */
export function balancerProc(s: LbLabState): Proc {
  const p = s.procs.find((x) => x.role === 'balancer');
  if (p === undefined) throw new LabError(`the lab "${s.prefix}" has no dataplane balancer (engine ${s.engine})`);
  return p;
}

/** True while `p.pid` is our dataplane: alive, not a zombie, its command line naming our config (never signal a stranger). */
export function isOurs(p: Proc): boolean {
  for (let i = 0; i < 20; i++) {
    if (p.pid <= 0 || !pidAlive(p.pid)) return false;
    let stat: string;
    let cmdline: string;
    try {
      stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
      cmdline = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8');
    } catch {
      return false;
    }
    if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) return false;
    // While `ip netns exec` execs node, the command line reads empty for a moment.
    if (cmdline !== '') return cmdline.split('\0').includes(p.configPath);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
  return false;
}

export function lbLogTail(p: Proc, lines = 20): string {
  try {
    return readFileSync(p.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function logs(s: LbLabState, lines = 15): string {
  return s.procs.map((p) => `--- ${p.role} (pid ${p.pid}) log:\n${lbLogTail(p, lines)}`).join('\n');
}

function startDataplane(ns: string, p: Omit<Proc, 'pid'>, workers: number, runArgs: readonly string[] = []): number {
  const log = openSync(p.logPath, 'a');
  try {
    // `ip netns exec` execs node in place, so the child's pid is the dataplane's.
    const child = nsSpawn(ns, process.execPath, [cliPath(), 'run', '--config', p.configPath, '--workers', String(workers), ...runArgs], { detached: true, stdio: ['ignore', log, log] });
    child.unref();
    if (child.pid === undefined) throw new LabError(`could not start the ${p.role} dataplane`);
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** Every leg must answer: each client its port, each backend its router, the tunnel end across the balancer, the backends the health-check leg. */
async function waitReady(s: LbLabState, timeoutMs: number): Promise<void> {
  const n = s.names;
  const want: [string, string][] = LB_LAB.clients.map((c, i) => [n.clients[i], c.portAddr]);
  for (const b of n.backends) want.push([b, LB_LAB.be.addr]);
  if (s.topology === 'tunnel') want.push([n.clients[0], LB_LAB.transit.decap.addr]);
  if (s.engine === 'dataplane') for (const b of LB_LAB.backends) want.push([n.lb, b.addr]);
  else want.push([n.clients[0], LB_LAB.backends[0].addr]);
  const deadline = Date.now() + timeoutMs;
  while (want.length > 0) {
    const dead = s.procs.find((p) => !isOurs(p));
    if (dead !== undefined) throw new LabError(`the ${dead.role} dataplane (pid ${dead.pid}) exited during start-up:\n${logs(s)}`);
    const [ns, addr] = want[0];
    if (pingOnce(ns, addr, 1)) want.shift();
    else if (Date.now() > deadline) throw new LabError(`no ping reply from ${addr} in ${ns} within ${timeoutMs / 1000} s:\n${logs(s)}`);
  }
}

/** Builds the lab and starts its routers; on failure leaves nothing behind. */
export async function lbLabUp(o: LbLabOptions): Promise<LbLabState> {
  const why = labUnavailable() ?? missingToolsMessage([...lbTopologyTools(o.engine), 'ping']);
  if (why !== undefined) throw new LabError(why);
  const topology = topologyOf(o.vip.mode);
  if (o.engine === 'kernel' && (topology !== 'direct' || o.vip.mode !== 'nat')) throw new LabError(`the kernel balances by nftables DNAT: mode nat only (got ${o.vip.mode})`);
  if (lbNamespaces(o.prefix).length > 0 || existsSync(lbStateDir(o.prefix))) throw new LabError(`a load balancer lab with prefix "${o.prefix}" exists already`);
  const dir = lbStateDir(o.prefix);
  mkdirSync(dir, { recursive: true });
  const s: LbLabState = { prefix: o.prefix, engine: o.engine, topology, workers: o.workers, extraConfig: o.extraConfig ?? '', vip: o.vip, names: lbLabNames(o.prefix), stateDir: dir, procs: [], io: o.io };
  writeState(s);
  try {
    buildLbNamespaces({ prefix: o.prefix, topology, engine: o.engine, vipOnBackends: o.vip.mode !== 'nat' });
    await o.beforeRouters?.(s.names);
    if (o.engine === 'kernel') {
      applyNft(s);
    } else {
      const balancer = { role: 'balancer' as const, configPath: join(dir, 'balancer.yaml'), logPath: join(dir, 'balancer.log'), controlSocket: join(dir, 'balancer.sock') };
      writeFileSync(balancer.configPath, withControl(balancerYaml(topology, o.vip, s.extraConfig, s.io), balancer.controlSocket));
      s.procs.push({ ...balancer, pid: startDataplane(s.names.lb, balancer, o.workers, o.runArgs) });
      writeState(s);
      if (topology === 'tunnel') {
        const decap = { role: 'decap' as const, configPath: join(dir, 'decap.yaml'), logPath: join(dir, 'decap.log'), controlSocket: join(dir, 'decap.sock') };
        writeFileSync(decap.configPath, withControl(decapYaml(), decap.controlSocket));
        s.procs.push({ ...decap, pid: startDataplane(s.names.decap, decap, 1) });
        writeState(s);
      }
    }
    await waitReady(s, o.readyTimeoutMs ?? 15_000);
    return s;
  } catch (e) {
    await lbLabDown(o.prefix);
    throw e;
  }
}

function applyNft(s: LbLabState): void {
  const file = join(s.stateDir, 'dnat.nft');
  writeFileSync(file, nftDnatRuleset(s.vip));
  nsRun(s.names.lb, 'nft', ['-f', file]);
}

/** A lab router's config with its control API in the lab's state directory (not the default socket another dataplane may hold). */
function withControl(yaml: string, socket: string | undefined): string {
  return socket === undefined ? yaml : `${yaml.endsWith('\n') ? yaml : `${yaml}\n`}control: { socket: ${socket} }\n`;
}

/**
 * New backend weights: the dataplane reads its config file again on SIGHUP
 * (only the weights changed, so only the load balancer's tables move); the
 * kernel loads the DNAT map again. Returns when the signal is sent (or the
 * ruleset loaded): the dataplane publishes its new table shortly after.
 */
export function setWeights(s: LbLabState, weights: readonly number[]): void {
  s.vip = { ...s.vip, weights: [...weights] };
  if (s.engine === 'kernel') applyNft(s);
  else {
    const p = balancerProc(s);
    writeFileSync(p.configPath, withControl(balancerYaml(s.topology, s.vip, s.extraConfig, s.io), p.controlSocket));
    if (!isOurs(p)) throw new LabError(`the balancer dataplane (pid ${p.pid}) is not running:\n${lbLogTail(p)}`);
    process.kill(p.pid, 'SIGHUP');
  }
  writeState(s);
}

export interface LbDownResult {
  /** How each dataplane stopped. */
  stopped: { role: string; pid: number; how: 'SIGTERM' | 'SIGKILL' | 'gone' }[];
  namespaces: string[];
}

/** Stops the lab's dataplanes (SIGTERM, then SIGKILL after `termWaitMs`), deletes its namespaces and its state. */
export async function lbLabDown(prefix: string, termWaitMs = 5000): Promise<LbDownResult> {
  const s = readLbState(prefix);
  const result: LbDownResult = { stopped: [], namespaces: [] };
  for (const p of s?.procs ?? []) {
    if (!isOurs(p)) {
      result.stopped.push({ role: p.role, pid: p.pid, how: 'gone' });
      continue;
    }
    process.kill(p.pid, 'SIGTERM');
    const deadline = Date.now() + termWaitMs;
    while (isOurs(p) && Date.now() < deadline) await sleep(50);
    if (isOurs(p)) {
      process.kill(p.pid, 'SIGKILL');
      while (pidAlive(p.pid) && Date.now() < deadline + 2000) await sleep(20);
      result.stopped.push({ role: p.role, pid: p.pid, how: 'SIGKILL' });
    } else result.stopped.push({ role: p.role, pid: p.pid, how: 'SIGTERM' });
  }
  result.namespaces = deleteLbNamespaces(prefix);
  rmSync(lbStateDir(prefix), { recursive: true, force: true });
  return result;
}

/**
 * A prefix unique to this process (`base-<pid base 36>`); the labs of
 * earlier runs with this base whose process is gone are taken down first.
 */
export async function uniqueLbPrefix(base: string): Promise<string> {
  const re = new RegExp(`^(${base}-([0-9a-z]+))-(lb|dc|sw|c1|c2|b1|b2|b3)$`);
  const stale = new Set<string>();
  for (const ns of tryRun('ip', ['netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0])) {
    const m = re.exec(ns);
    if (m && !pidAlive(parseInt(m[2], 36))) stale.add(m[1]);
  }
  const dirRe = new RegExp(`^${base}-([0-9a-z]+)$`);
  if (existsSync(LB_STATE_ROOT)) {
    for (const d of readdirSync(LB_STATE_ROOT)) {
      const m = dirRe.exec(d);
      if (m && !pidAlive(parseInt(m[1], 36))) stale.add(d);
    }
  }
  for (const p of stale) await lbLabDown(p);
  return `${base}-${process.pid.toString(36)}`;
}
