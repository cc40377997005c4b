// The live-update lab: the lab's namespaces and TAP ports (topology.ts), a
// dataplane started by control-harness.ts in the router namespace, and a
// client for its requests. The no-loss test (test/e2e/live-update.test.ts)
// and the `control` benchmark (bench/control/) use it. Root only.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { nsSpawn, pidAlive } from '../host/commands.js';
import { buildNamespaces, cliPath, deleteNamespaces, labConfigYaml, labNames, pingOnce, LAB, type LabNames } from './topology.js';
import { LabError } from './lab-error.js';

export interface ControlLab {
  names: LabNames;
  configPath: string;
  /** One request to the dataplane; rejects with its error text. */
  call<T>(op: string, args?: unknown): Promise<T>;
  pid: number;
  down(): Promise<void>;
}

export interface ControlLabOptions {
  prefix: string;
  workers: number;
  /** YAML appended to the lab's router config (routes, neighbors...). */
  extraConfig?: string;
}

/** Builds the namespaces, starts the harness and waits until the router answers a ping from the client. */
export async function controlLabUp(o: ControlLabOptions): Promise<ControlLab> {
  const names = labNames(o.prefix);
  const dir = mkdtempSync(join(tmpdir(), `${o.prefix}-`));
  const configPath = join(dir, 'router.yaml');
  writeFileSync(configPath, labConfigYaml({ prefix: o.prefix, ports: 'tap', engine: 'dataplane', workers: o.workers, extraConfig: o.extraConfig }));
  buildNamespaces({ prefix: o.prefix, ports: 'tap', engine: 'none', workers: o.workers });
  const harness = join(dirname(cliPath()), '..', 'lab', 'control-harness.js');
  const child: ChildProcess = nsSpawn(names.router, process.execPath, [harness, configPath, String(o.workers)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let ready!: (v: { ready: boolean; error?: string }) => void;
  const readyP = new Promise<{ ready: boolean; error?: string }>((r) => (ready = r));
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (line) => {
    let m: { id?: number; ok?: boolean; result?: unknown; error?: string; ready?: boolean };
    try {
      m = JSON.parse(line) as typeof m;
    } catch {
      return;
    }
    if (m.ready !== undefined) return ready(m as { ready: boolean; error?: string });
    const w = m.id === undefined ? undefined : waiting.get(m.id);
    if (w === undefined) return;
    waiting.delete(m.id!);
    if (m.ok === true) w.resolve(m.result);
    else w.reject(new Error(m.error));
  });
  child.once('exit', (code) => {
    ready({ ready: false, error: `harness exited (${String(code)}): ${stderr.slice(-2000)}` });
    for (const w of waiting.values()) w.reject(new Error(`harness exited (${String(code)}): ${stderr.slice(-2000)}`));
    waiting.clear();
  });
  let nextId = 1;
  const call = <T>(op: string, args?: unknown) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.stdin!.write(JSON.stringify({ id, op, args }) + '\n');
    });
  const down = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      await Promise.race([call('stop').catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (pidAlive(child.pid) && child.exitCode === null) child.kill('SIGKILL');
    }
    deleteNamespaces(o.prefix);
    rmSync(dir, { recursive: true, force: true });
  };
  const lab: ControlLab = { names, configPath, call, pid: child.pid ?? 0, down };
  const r = await readyP;
  if (!r.ready) {
    await down();
    throw new LabError(`the dataplane did not start: ${r.error ?? ''}`);
  }
  for (let i = 0; i < 50; i++) {
    if (pingOnce(names.client, LAB.lan.addr) && pingOnce(names.server, LAB.wan.addr)) return lab;
    await new Promise((res) => setTimeout(res, 100));
  }
  await down();
  throw new LabError('the router did not answer pings from both sides');
}
