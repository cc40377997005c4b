// `npm run bench -- control` (sub-bench ctl-roundtrip, root): how long a
// control API call takes, from the client's call to its answer, against a
// real `dataplane run` (a lab, 2 workers) on its Unix socket. Reads
// (Control.Status, Counters.Get) and a change that every worker must take
// (Routes.Change adding then deleting one route: the answer comes once each
// worker uses the new generation). Also the wall time of a whole `dataplane
// ctl route show` process, which adds Node's start-up to the call.
// Target (issue 12): a ctl call round trip < 5 ms.
import { spawnSync } from 'node:child_process';
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

async function timeCalls(n: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call(i);
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b);
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
    const cases: { name: string; ms: number[] }[] = [
      { name: 'Control.Status', ms: await timeCalls(CALLS, () => client.call('Control', 'Status')) },
      { name: 'Counters.Get', ms: await timeCalls(CALLS, () => client.call('Counters', 'Get', {})) },
      {
        name: 'Routes.Change (1 route, 2 workers ack)',
        ms: await timeCalls(CHANGES, (i) => client.call('Routes', 'Change', i % 2 === 0 ? { add: [{ line: `198.18.200.0/24 via ${LAB.server.addr}` }] } : { delete: ['198.18.200.0/24'] })),
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
      notes: `p99 ${quantile(c.ms, 0.99).toFixed(3)} ms, max ${c.ms[c.ms.length - 1].toFixed(3)} ms over ${c.ms.length} calls, Unix socket; ${cpu}`,
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
