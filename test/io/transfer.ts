// TCP through a `dataplane run` between a client and a server namespace, as
// the offload tests drive it: the bytes checked end to end (a connection
// carrying N random bytes, sha256 on both sides, in bounded time), a short
// iperf3 run for a figure, and the dataplane's own summary (ports and
// counters) after SIGTERM.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { CLI } from '../cli-run.js';

/** Receives one TCP connection on ADDR:5001 and prints {bytes, sha256} when it ends. */
const RECEIVER = `
  const h = require('node:crypto').createHash('sha256');
  let n = 0;
  const srv = require('node:net').createServer((s) => {
    s.on('data', (d) => { n += d.length; h.update(d); });
    s.on('end', () => { console.log(JSON.stringify({ bytes: n, sha256: h.digest('hex') })); srv.close(); });
  });
  srv.listen(5001, process.argv[1], () => console.log('listening'));`;

/** Sends BYTES random bytes to ADDR:5001 and prints {bytes, sha256} of what it sent. */
const SENDER = `
  const data = require('node:crypto').randomBytes(Number(process.argv[2]));
  const sha256 = require('node:crypto').createHash('sha256').update(data).digest('hex');
  const s = require('node:net').connect(5001, process.argv[1], () => s.end(data));
  s.on('close', () => console.log(JSON.stringify({ bytes: data.length, sha256 })));`;

export interface PortSummary {
  name: string;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  rxDropped: number;
  /** Lost by the port before the pipeline (offload it cannot take, too big, the kernel's socket drops). */
  rxLost: number;
  txDropped: number;
}

export interface TransferOutcome {
  sent: { bytes: number; sha256: string };
  received: { bytes: number; sha256: string };
  iperfBitsPerSecond: number;
  ports: PortSummary[];
  counters: Record<string, { packets: number }>;
  /** Everything the dataplane printed (for failure messages). */
  log: string;
}

export interface TransferOptions {
  router: string;
  client: string;
  server: string;
  /** The server's address (the receiver and iperf3 bind it). */
  serverAddr: string;
  config: string;
  bytes: number;
  /** Child processes started here go in this list too (the caller kills leftovers in afterAll). */
  children: ChildProcess[];
}

/** Resolves with the child's stdout once `pattern` shows up in it (rejects after `ms` or on exit). */
export function waitFor(child: ChildProcess, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`timed out waiting for ${pattern}: ${out}`)), ms);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        res(out);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`exited ${code} before ${pattern}: ${out}`));
    });
  });
}

export interface RunOutcome<T> {
  /** What `body` returned. */
  result: T;
  ports: PortSummary[];
  counters: Record<string, { packets: number }>;
  /** The start-up lines, one per port (and notes). */
  portLines: string[];
  /** Everything the dataplane printed (for failure messages). */
  log: string;
}

/** Runs `dataplane run --json` in `router` while `body` runs, then stops it (SIGTERM) and reads its summary. */
export async function withDataplane<T>(router: string, config: string, children: ChildProcess[], body: () => Promise<T>): Promise<RunOutcome<T>> {
  const dp = spawn('ip', ['netns', 'exec', router, process.execPath, CLI, 'run', '--config', config, '--workers', '1', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(dp);
  let log = '';
  dp.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  dp.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise((res) => dp.once('exit', res));
  let result: T;
  try {
    await waitFor(dp, /"event":"started"/, 8000);
    result = await body();
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\ndataplane: ${log}`, { cause: e });
  } finally {
    // SIGTERM: the dataplane stops, prints its summary (and deletes any TAP it made).
    if (dp.exitCode === null && dp.pid !== undefined) process.kill(dp.pid, 'SIGTERM');
    await exited;
  }
  const lines = log.split('\n');
  const stopped = lines.find((l) => l.includes('"event":"stopped"'));
  if (!stopped) throw new Error(`no summary from dataplane run: ${log}`);
  const summary = JSON.parse(stopped) as { ports: PortSummary[]; counters: Record<string, { packets: number }> };
  const started = JSON.parse(lines.find((l) => l.includes('"event":"started"')) ?? '{}') as { ports?: string[] };
  return { result, ports: summary.ports, counters: summary.counters, portLines: started.ports ?? [], log };
}

/** Starts `dataplane run` in the router namespace, moves the bytes, runs iperf3 for 2 s, stops it and reads its summary. */
export async function dataplaneTransfer(o: TransferOptions): Promise<TransferOutcome> {
  const start = (cmd: string, args: string[]): ChildProcess => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    o.children.push(c);
    return c;
  };
  const run = await withDataplane(o.router, o.config, o.children, async () => {
    // The bytes, checked end to end, in bounded time: the sender gets 10 s, the receiver 12 s.
    const rx = start('ip', ['netns', 'exec', o.server, process.execPath, '-e', RECEIVER, o.serverAddr]);
    const rxDone = waitFor(rx, /"sha256"/, 12_000);
    await waitFor(rx, /listening/, 5000);
    const sent = spawnSync('ip', ['netns', 'exec', o.client, process.execPath, '-e', SENDER, o.serverAddr, String(o.bytes)], { encoding: 'utf8', timeout: 10_000 }).stdout;
    const received = await rxDone;
    // And a short iperf3 run for the throughput figure.
    const srv = start('ip', ['netns', 'exec', o.server, 'iperf3', '-s', '-1', '--forceflush', '-B', o.serverAddr]);
    await waitFor(srv, /Server listening/, 5000);
    const iperf = spawnSync('ip', ['netns', 'exec', o.client, 'iperf3', '-c', o.serverAddr, '-t', '2', '-J'], { encoding: 'utf8', timeout: 8000 }).stdout;
    return { sent, received, iperf };
  });
  const result = JSON.parse(run.result.iperf) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
  if (result.error) throw new Error(`iperf3: ${result.error}; dataplane: ${run.log}`);
  const lastJson = (out: string) => JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1) ?? '{}') as TransferOutcome['sent'];
  return {
    sent: lastJson(run.result.sent),
    received: lastJson(run.result.received),
    iperfBitsPerSecond: result.end?.sum_received?.bits_per_second ?? 0,
    ports: run.ports,
    counters: run.counters,
    log: run.log,
  };
}

/** Average frame size a port received (bytes per frame). */
export function averageRxFrame(p: PortSummary): number {
  return p.rxPackets > 0 ? p.rxBytes / p.rxPackets : 0;
}

export function averageTxFrame(p: PortSummary): number {
  return p.txPackets > 0 ? p.txBytes / p.txPackets : 0;
}
