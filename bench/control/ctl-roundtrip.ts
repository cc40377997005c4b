// `npm run bench -- control` (sub-bench ctl-roundtrip, root): how long a
// control API call takes, from the client's call to its answer, against a
// real `dataplane run` (a lab, 2 workers) on its Unix socket. Reads
// (Control.Status, Counters.Get) and a change that every worker must take
// (Routes.Change adding then deleting one route: the answer comes once each
// worker uses the new generation). Also the wall time of a whole `dataplane
// ctl route show` process, which adds Node's start-up to the call.
// Each call kind also reports the dataplane's CPU time per call (all its
// threads, /proc/PID/stat), which the other tenants of a shared machine do
// not inflate. Target (issue 12): a ctl call round trip < 5 ms.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ControlClient } from '../../src/control/client.js';
import { labDown, labUp } from '../../src/lab/lab.js';
import { cliPath, LAB } from '../../src/lab/topology.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';

const CALLS = 2000;
const CHANGES = 200;
const PROCESSES = 10;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** CPU seconds (user + system, every thread) process `pid` has used: /proc/PID/stat fields 14 and 15. */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * Wall time of each call, and the dataplane's CPU time per call (all its
 * threads): the wall clock on a shared machine mostly measures the other
 * tenants, the CPU time what a call costs.
 */
async function timeCalls(n: number, call: (i: number) => Promise<unknown>, pid?: number): Promise<{ ms: number[]; cpuMsPerCall: number }> {
  const ms: number[] = [];
  const cpu0 = pid === undefined ? 0 : processCpuSeconds(pid);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call(i);
    ms.push(performance.now() - t);
  }
  const cpuMsPerCall = pid === undefined ? NaN : ((processCpuSeconds(pid) - cpu0) * 1000) / n;
  return { ms: ms.sort((a, b) => a - b), cpuMsPerCall };
}

export async function runCtlRoundtripBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  if (process.getuid?.() !== 0) {
    console.error('bench control/ctl-roundtrip: skipped (needs root for the lab)');
    return { rows: [], targets: [] };
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const prefix = 'dp-bench-ctl';
  await labDown(prefix);
  const lab = await labUp({ prefix, ports: 'tap', engine: 'dataplane', workers: 2, readyTimeoutMs: 15_000 });
  const client = new ControlClient(lab.controlSocket!);
  try {
    await timeCalls(200, () => client.call('Control', 'Status'));
    const pid = lab.pid;
    const cases: { name: string; ms: number[]; cpuMsPerCall: number }[] = [
      { name: 'Control.Status', ...(await timeCalls(CALLS, () => client.call('Control', 'Status'), pid)) },
      { name: 'Counters.Get', ...(await timeCalls(CALLS, () => client.call('Counters', 'Get', {}), pid)) },
      {
        name: 'Routes.Change (1 route, 2 workers ack)',
        ...(await timeCalls(CHANGES, (i) => client.call('Routes', 'Change', i % 2 === 0 ? { add: [{ line: `198.18.200.0/24 via ${LAB.server.addr}` }] } : { delete: ['198.18.200.0/24'] }), pid)),
      },
    ];
    const procs: number[] = [];
    for (let i = 0; i < PROCESSES; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, [cliPath(), 'ctl', '--socket', lab.controlSocket!, 'route', 'show'], { encoding: 'utf8' });
      procs.push(performance.now() - t);
      if (r.status !== 0) throw new Error(`dataplane ctl route show failed: ${r.stderr}`);
    }
    procs.sort((a, b) => a - b);
    const rows: BenchRow[] = cases.map((c) => ({
      name: `control/ctl-roundtrip/${c.name}`,
      subject: 'dataplane',
      value: quantile(c.ms, 0.5),
      unit: 'ms p50',
      nsPerOp: quantile(c.ms, 0.5) * 1e6,
      notes: `p99 ${quantile(c.ms, 0.99).toFixed(3)} ms, max ${c.ms[c.ms.length - 1].toFixed(3)} ms over ${c.ms.length} calls, Unix socket; the dataplane's CPU ${c.cpuMsPerCall.toFixed(2)} ms per call (all threads); load average ${os.loadavg()[0].toFixed(1)}; ${cpu}`,
    }));
    rows.push({
      name: 'control/ctl-roundtrip/`dataplane ctl route show` process',
      subject: 'dataplane',
      value: quantile(procs, 0.5),
      unit: 'ms p50',
      notes: `wall time of the whole process (Node start-up, module load, one call), ${PROCESSES} runs; ${cpu}`,
    });
    const worst = Math.max(...cases.map((c) => quantile(c.ms, 0.99)));
    const targets: BenchTarget[] = [{ description: 'a ctl call round trip < 5 ms (p99 of every call kind, changes included)', met: worst < 5, measured: `${worst.toFixed(2)} ms p99 (${cpu})` }];
    return { rows, targets };
  } finally {
    client.close();
    await labDown(prefix);
  }
}
