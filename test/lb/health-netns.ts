// The namespace and the child process the health-checker tests run in (see
// health-child.mjs): 198.51.100.11-.14/32 on the namespace's loopback for the
// servers, and a veth pair whose far end answers nothing, with permanent
// neighbour entries, so 198.51.100.99 (and any address taken off loopback)
// is a backend that drops every packet in silence: probes time out. (A
// blackhole route would not do: connect() to one fails at once with EINVAL.)
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { listNetns, nsRun, nsSpawn, pidAlive, run, tryRun } from '../../src/host/commands.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import type { VipConfig } from '../../src/lb/lb-config.js';

export const SERVER_ADDRESSES = ['198.51.100.11', '198.51.100.12', '198.51.100.13', '198.51.100.14'];
export const SILENT_ADDRESS = '198.51.100.99';

/** Why these tests cannot run here, or undefined. */
export function netnsSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, raw ICMP socket)';
  return missingToolsMessage(['ip', 'setpriv']);
}

/** A namespace named for this test process; those of dead runs are removed first. */
export function netnsUp(base: string): string {
  for (const ns of listNetns()) {
    const m = new RegExp(`^${base}-([0-9a-z]+)$`).exec(ns);
    if (m && !pidAlive(parseInt(m[1], 36))) tryRun('ip', ['netns', 'del', ns]);
  }
  const ns = `${base}-${process.pid.toString(36)}`;
  run('ip', ['netns', 'add', ns]);
  const nip = (...a: string[]): string => nsRun(ns, 'ip', a);
  nip('link', 'set', 'lo', 'up');
  for (const a of SERVER_ADDRESSES) nip('addr', 'add', `${a}/32`, 'dev', 'lo');
  nip('link', 'add', 'hc0', 'type', 'veth', 'peer', 'name', 'hc1');
  nip('link', 'set', 'hc0', 'up');
  nip('link', 'set', 'hc1', 'up');
  nip('addr', 'add', '198.51.100.1/24', 'dev', 'hc0');
  for (const a of [SILENT_ADDRESS, ...SERVER_ADDRESSES]) nip('neigh', 'replace', a, 'lladdr', '02:00:00:00:00:99', 'dev', 'hc0', 'nud', 'permanent');
  return ns;
}

export function netnsDown(ns: string): void {
  tryRun('ip', ['netns', 'del', ns]);
}

export interface ServerSpec {
  id: string;
  kind: 'tcp' | 'http' | 'silent';
  address: string;
  port: number;
  status?: number;
}

export interface ChildEvent {
  ev: string;
  t: number;
  [k: string]: unknown;
}

const CHILD = join(import.meta.dirname, 'health-child.mjs');

/** The child process: servers and a HealthChecker in `ns`, driven by commands, reporting events. */
export class HealthChild {
  readonly events: ChildEvent[] = [];
  private readonly proc: ChildProcess;
  private stderr = '';
  private waiters: (() => void)[] = [];

  constructor(ns: string, spec: { vips: VipConfig[]; servers: ServerSpec[] }, wrap: string[] = []) {
    const argv = [...wrap, process.execPath, CHILD, JSON.stringify(spec)];
    this.proc = nsSpawn(ns, argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    this.proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.events.push(JSON.parse(buf.slice(0, nl)) as ChildEvent);
        buf = buf.slice(nl + 1);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.proc.on('exit', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  send(cmd: Record<string, unknown>): void {
    this.proc.stdin!.write(JSON.stringify(cmd) + '\n');
  }

  /** The first event (after index `from`) that matches, or an error naming what was awaited and what came. */
  async waitFor(what: string, match: (e: ChildEvent) => boolean, timeoutMs: number, from = 0): Promise<ChildEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.events.slice(from).find(match);
      if (e !== undefined) return e;
      if (this.proc.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no ${what} within ${timeoutMs} ms (exit ${this.proc.exitCode}); events:\n${this.events.map((x) => JSON.stringify(x)).join('\n')}\nstderr: ${this.stderr}`);
      }
      await new Promise<void>((res) => {
        const timer = setTimeout(res, Math.max(0, deadline - Date.now()) + 1);
        this.waiters.push(() => (clearTimeout(timer), res()));
      });
    }
  }

  /** Sends a command and waits for the event that acknowledges it. */
  async command(cmd: Record<string, unknown>, ack: string, timeoutMs = 5000): Promise<ChildEvent> {
    const from = this.events.length;
    this.send(cmd);
    return this.waitFor(ack, (e) => e.ev === ack, timeoutMs, from);
  }

  async quit(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((res) => this.proc.once('exit', res));
    this.send({ cmd: 'quit' });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}
