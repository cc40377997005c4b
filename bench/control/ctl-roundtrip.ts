// `npm run bench -- control` (sub-bench ctl-roundtrip, root): how long a
// control API call takes, from the client's call to its answer, against a
// real `dataplane run` (a lab, 2 workers) on its Unix socket. Reads
// (Control.Status, Counters.Get) and a change that every worker must take
// (Routes.Change adding then deleting one route: the answer comes once each
// worker uses the new generation). Also the wall time of a whole `dataplane
// ctl route show` process, which adds Node's start-up to the call.
// Each call kind also reports the dataplane's CPU time per call (all its
// threads, /proc/PID/stat, and its main thread alone, which serves gRPC),
// which the other tenants of a shared machine do not inflate much.
// Two runs, so a figure says what it was measured under: the workers idle
// (no traffic), then the workers forwarding UDP (iperf3, small datagrams,
// client to server through the dataplane) while the calls run. Each row
// gives the load average around its run: on the project's 2-core VM, other
// tenants' load, not the dataplane, makes most of the p99.
// Target (issue 12): a ctl call round trip < 5 ms (judged on the idle run).
// What it measures is the API round trip of a long-lived client (one gRPC
// channel, as `dataplane ctl` opens per process): the process row shows what
// the CLI adds (Node start-up), which the target does not cover.
// Where the tail comes from: each row gives the client's own event-loop delay
// p99 over its run; a Routes.Change row also the time inside the dataplane
// (from the call to every worker using the new table, from its answer); the
// idle run names the call kinds among its slowest 1%; and a last, probed run
// (not judged: its sampler wakes the dataplane 1000 times a second) reports
// the dataplane main thread's event-loop delay and GC pauses per call kind
// (loop-probe.ts, preloaded into the dataplane, armed by SIGUSR2).
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { LoopProbeReport } from './loop-probe.js';
import { ControlClient } from '../../src/control/client.js';
import { labDown, labUp } from '../../src/lab/lab.js';
import { cliPath, LAB, labNames } from '../../src/lab/topology.js';
import { nsSpawn, sleep } from '../../src/host/commands.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';

const CALLS = 2000;
const CHANGES = 200;
const PROCESSES = 10;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** CPU seconds (user + system) of process `pid`, every thread (or thread `tid` alone): /proc stat fields 14 and 15. */
function processCpuSeconds(pid: number, tid?: number): number {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface Timed {
  ms: number[];
  /** Each call's duration in call order (ms has them sorted). */
  inOrder: number[];
  /** The client's (this process's) event-loop delay p99 over the run, ms. */
  clientDelayP99: number;
  /** Routes.Change: the dataplane's own figure, from the call to every worker's acknowledgement (ms, sorted). */
  inside: number[];
  /** The dataplane's CPU per call, all threads and its main thread (the gRPC server). */
  cpuMsPerCall: number;
  mainCpuMsPerCall: number;
  /** One-minute load average before and after. */
  load: [number, number];
}

/**
 * Wall time of each call, and the dataplane's CPU time per call: the wall
 * clock on a shared machine mostly measures the other tenants, the CPU
 * time what a call costs.
 */
async function timeCalls(n: number, call: (i: number) => Promise<unknown>, pid?: number): Promise<Timed> {
  const ms: number[] = [];
  const inside: number[] = [];
  const load0 = os.loadavg()[0];
  const cpu0 = pid === undefined ? 0 : processCpuSeconds(pid);
  const main0 = pid === undefined ? 0 : processCpuSeconds(pid, pid);
  // Resolution 10 ms (the default): it samples the client without waking it much.
  const delay = monitorEventLoopDelay();
  delay.enable();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await call(i);
    ms.push(performance.now() - t);
    const msInside = (r as { ms?: unknown } | undefined)?.ms;
    if (typeof msInside === 'number') inside.push(msInside);
  }
  delay.disable();
  const cpuMsPerCall = pid === undefined ? NaN : ((processCpuSeconds(pid) - cpu0) * 1000) / n;
  const mainCpuMsPerCall = pid === undefined ? NaN : ((processCpuSeconds(pid, pid) - main0) * 1000) / n;
  return {
    inOrder: ms,
    ms: [...ms].sort((a, b) => a - b),
    inside: inside.sort((a, b) => a - b),
    clientDelayP99: delay.percentile(99) / 1e6,
    cpuMsPerCall,
    mainCpuMsPerCall,
    load: [load0, os.loadavg()[0]],
  };
}

/** UDP through the dataplane while the loaded run's calls go on: iperf3 client -> server, small datagrams at a fixed rate. */
async function startTraffic(prefix: string): Promise<{ stop: () => void; what: string } | undefined> {
  if (spawnSync('iperf3', ['--version']).status !== 0) return undefined;
  const names = labNames(prefix);
  const children: ChildProcess[] = [nsSpawn(names.server, 'iperf3', ['-s', '-B', LAB.server.addr], { stdio: 'ignore' })];
  await sleep(500);
  children.push(nsSpawn(names.client, 'iperf3', ['-c', LAB.server.addr, '-u', '-l', String(TRAFFIC.bytes), '-b', `${TRAFFIC.mbit}M`, '-t', '600'], { stdio: 'ignore' }));
  await sleep(1000);
  return { stop: () => children.forEach((c) => c.kill('SIGKILL')), what: `iperf3 UDP ${TRAFFIC.bytes}-byte datagrams at ${TRAFFIC.mbit} Mbit/s (~${Math.round((TRAFFIC.mbit * 1e6) / 8 / TRAFFIC.bytes / 1000)}k pps) client to server through the dataplane` };
}
const TRAFFIC = { bytes: 200, mbit: 20 };
const CHANGE_NAME = 'Routes.Change (1 route, 2 workers ack)';

/**
 * Which call kinds make the tail: the slowest 1% of the idle run's calls
 * (all kinds pooled), counted by kind, with each call's place in its run (a
 * tail bunched at one moment is a pause; spread out, it is scheduling).
 */
function tailRow(cases: readonly ({ name: string } & Timed)[], cpu: string): BenchRow {
  const all = cases.flatMap((c) => c.inOrder.map((ms, i) => ({ kind: c.name, ms, at: i / c.inOrder.length })));
  all.sort((a, b) => b.ms - a.ms);
  const tail = all.slice(0, Math.max(1, Math.ceil(all.length / 100)));
  const byKind = cases.map((c) => {
    const mine = tail.filter((t) => t.kind === c.name);
    return `${c.name} ${mine.length} of ${c.inOrder.length} calls${mine.length > 0 ? ` (at ${mine.map((t) => `${Math.round(t.at * 100)}%`).join(' ')} of its run)` : ''}`;
  });
  return {
    name: 'control/ctl-roundtrip/slowest 1% (workers idle)',
    subject: 'dataplane',
    value: tail[tail.length - 1].ms,
    unit: 'ms (fastest of the slowest 1%)',
    notes: `${tail.length} calls from ${tail[tail.length - 1].ms.toFixed(2)} to ${tail[0].ms.toFixed(2)} ms: ${byKind.join('; ')}; ${cpu}`,
  };
}
/** The dataplane session's autogroup nice in the prioritized run. */
const PRIORITY_NICE = -10;

export async function runCtlRoundtripBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  if (process.getuid?.() !== 0) {
    console.error('bench control/ctl-roundtrip: skipped (needs root for the lab)');
    return { rows: [], targets: [] };
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const prefix = 'dp-bench-ctl';
  await labDown(prefix);
  // The dataplane starts with the loop probe preloaded (disarmed: no timer, no observer until SIGUSR2).
  const probeFile = join(os.tmpdir(), `dp-bench-ctl-probe-${process.pid}.jsonl`);
  rmSync(probeFile, { force: true });
  const savedEnv = { NODE_OPTIONS: process.env.NODE_OPTIONS, DP_LOOP_PROBE_FILE: process.env.DP_LOOP_PROBE_FILE };
  process.env.NODE_OPTIONS = `${savedEnv.NODE_OPTIONS ?? ''} --import ${pathToFileURL(join(import.meta.dirname, 'loop-probe.js')).href}`.trim();
  process.env.DP_LOOP_PROBE_FILE = probeFile;
  let lab: Awaited<ReturnType<typeof labUp>>;
  try {
    lab = await labUp({ prefix, ports: 'tap', engine: 'dataplane', workers: 2, readyTimeoutMs: 15_000 });
  } finally {
    for (const [k, v] of Object.entries(savedEnv)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const client = new ControlClient(lab.controlSocket!);
  try {
    await timeCalls(200, () => client.call('Control', 'Status'));
    const pid = lab.pid;
    // `around` wraps each call kind's run (the probed run arms and reads the dataplane's probe around it).
    const runCases = async (around: <T>(run: () => Promise<T>) => Promise<T> = (run) => run()): Promise<({ name: string } & Timed)[]> => [
      { name: 'Control.Status', ...(await around(() => timeCalls(CALLS, () => client.call('Control', 'Status'), pid))) },
      { name: 'Counters.Get', ...(await around(() => timeCalls(CALLS, () => client.call('Counters', 'Get', {}), pid))) },
      {
        name: CHANGE_NAME,
        ...(await around(() => timeCalls(CHANGES, (i) => client.call('Routes', 'Change', i % 2 === 0 ? { add: [{ line: `198.18.200.0/24 via ${LAB.server.addr}` }] } : { delete: ['198.18.200.0/24'] }), pid))),
      },
    ];
    const idle = await runCases();
    const traffic = await startTraffic(prefix);
    let loaded: Awaited<ReturnType<typeof runCases>> = [];
    try {
      if (traffic) loaded = await runCases();
    } finally {
      traffic?.stop();
    }
    if (!traffic) console.error('bench control/ctl-roundtrip: no iperf3, so no run with traffic');
    // What CPU priority against the other tenants buys: the dataplane's session (the lab starts it in
    // its own, so its own autogroup) at autogroup nice -10, as `echo -10 > /proc/PID/autogroup` (or
    // CPUWeight= under systemd) would give it. The idle run again, then the nice set back.
    let prioritized: Awaited<ReturnType<typeof runCases>> = [];
    const autogroup = `/proc/${pid}/autogroup`;
    const before = /nice (-?\d+)/.exec(readFileSync(autogroup, 'utf8'))?.[1];
    if (before !== undefined) {
      writeFileSync(autogroup, String(PRIORITY_NICE));
      try {
        prioritized = await runCases();
      } finally {
        writeFileSync(autogroup, before);
      }
    }
    // The probed run: the dataplane's main-thread event-loop delay and GC pauses around each call kind.
    const probes: LoopProbeReport[] = [];
    const readProbe = async (): Promise<LoopProbeReport | undefined> => {
      for (let i = 0; i < 50; i++) {
        const lines = existsSync(probeFile) ? readFileSync(probeFile, 'utf8').trim().split('\n').filter((l) => l !== '') : [];
        if (lines.length > probes.length) return JSON.parse(lines[probes.length]) as LoopProbeReport;
        await sleep(20);
      }
      return undefined;
    };
    const probed = await runCases(async (run) => {
      process.kill(pid, 'SIGUSR2');
      await sleep(50);
      const r = await run();
      process.kill(pid, 'SIGUSR2');
      const report = await readProbe();
      if (report === undefined) throw new Error(`bench control/ctl-roundtrip: the dataplane's loop probe wrote nothing to ${probeFile} (was it preloaded?)`);
      probes.push(report);
      return r;
    });
    rmSync(probeFile, { force: true });
    const procs: number[] = [];
    for (let i = 0; i < PROCESSES; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, [cliPath(), 'ctl', '--socket', lab.controlSocket!, 'route', 'show'], { encoding: 'utf8' });
      procs.push(performance.now() - t);
      if (r.status !== 0) throw new Error(`dataplane ctl route show failed: ${r.stderr}`);
    }
    procs.sort((a, b) => a - b);
    const row = (c: { name: string } & Timed, run: string): BenchRow => ({
      name: `control/ctl-roundtrip/${c.name}${run === '' ? '' : ` ${run}`}`,
      subject: 'dataplane',
      value: quantile(c.ms, 0.5),
      unit: 'ms p50',
      nsPerOp: quantile(c.ms, 0.5) * 1e6,
      notes:
        `p99 ${quantile(c.ms, 0.99).toFixed(3)} ms, max ${c.ms[c.ms.length - 1].toFixed(3)} ms over ${c.ms.length} calls, Unix socket; ` +
        (c.inside.length > 0 ? `inside the dataplane (call to every worker's ack) p50 ${quantile(c.inside, 0.5).toFixed(3)} p99 ${quantile(c.inside, 0.99).toFixed(3)} ms; ` : '') +
        `the client's event-loop delay p99 ${c.clientDelayP99.toFixed(2)} ms; the dataplane's CPU ${c.cpuMsPerCall.toFixed(2)} ms per call (all threads), its main thread's ${c.mainCpuMsPerCall.toFixed(2)} ms; load average ${c.load[0].toFixed(1)} -> ${c.load[1].toFixed(1)} on ${os.cpus().length} cores; ${cpu}`,
    });
    const rows: BenchRow[] = [
      ...idle.map((c) => row(c, '')),
      ...loaded.map((c) => row(c, `(workers forwarding: ${traffic?.what})`)),
      ...prioritized.map((c) => row(c, `(workers idle; the dataplane's autogroup at nice ${PRIORITY_NICE})`)),
      ...probed.map((c, i): BenchRow => {
        const p = probes[i];
        return {
          name: `control/ctl-roundtrip/${c.name} (probed: the dataplane's main-thread event-loop delay, sampled every 1 ms; not judged)`,
          subject: 'dataplane',
          value: p.delay.p99,
          unit: 'ms event-loop delay p99',
          notes: `event-loop delay p50 ${p.delay.p50} p99.9 ${p.delay.p999} max ${p.delay.max} ms (${p.delay.samples} samples); GC pauses ${p.gc.count} (${p.gc.over1ms} over 1 ms, longest ${p.gc.maxMs.toFixed(2)} ms, ${p.gc.totalMs.toFixed(1)} ms in all); the calls meanwhile p50 ${quantile(c.ms, 0.5).toFixed(3)} p99 ${quantile(c.ms, 0.99).toFixed(3)} ms; load average ${c.load[0].toFixed(1)} -> ${c.load[1].toFixed(1)}; ${cpu}`,
        };
      }),
    ];
    rows.push(tailRow(idle, cpu));
    rows.push({
      name: 'control/ctl-roundtrip/`dataplane ctl route show` process',
      subject: 'dataplane',
      value: quantile(procs, 0.5),
      unit: 'ms p50',
      notes: `wall time of the whole process (Node start-up, module load, one call), ${PROCESSES} runs; ${cpu}`,
    });
    const worst = Math.max(...idle.map((c) => quantile(c.ms, 0.99)));
    const loads = idle.flatMap((c) => c.load);
    const p99 = (cs: readonly { ms: number[] }[]) => Math.max(...cs.map((c) => quantile(c.ms, 0.99))).toFixed(2);
    const loadedWorst =
      (loaded.length > 0 ? `; with the workers forwarding ${p99(loaded)} ms` : '') + (prioritized.length > 0 ? `; idle again with the dataplane's autogroup at nice ${PRIORITY_NICE} ${p99(prioritized)} ms` : '');
    const targets: BenchTarget[] = [
      {
        description: 'a ctl call round trip < 5 ms (p99 of every call kind, changes included; workers idle)',
        met: worst < 5,
        measured: `${worst.toFixed(2)} ms p99 at load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}${loadedWorst} (${cpu}, ${os.cpus().length} cores)`,
      },
    ];
    return { rows, targets };
  } finally {
    client.close();
    await labDown(prefix);
  }
}
