// `npm run bench -- control`, sub-bench route-update: how long 10k route
// changes take to be in force on every worker of a running dataplane, from
// the call (Dataplane.changeRoutes) to the last worker's acknowledgement:
// checks, the trie update, the snapshot, the post and each worker's swap
// between two batches. Live in the lab (root): the dataplane runs in the
// router namespace with 2 workers and TAP ports while a ping flow crosses it.
// Without root only the main thread's share is measured (plan + apply +
// snapshot, in this process).
import { labUnavailable } from '../../src/lab/lab-error.js';
import { controlLabUp } from '../../src/lab/control-lab.js';
import { parseConfig } from '../../src/config/load.js';
import { compileFib } from '../../src/route/fib.js';
import { RouteControl } from '../../src/runtime/route-control.js';
import { ipv4ToString } from '../../src/wire/address.js';
import { nsSpawn } from '../../src/host/commands.js';
import os from 'node:os';
import { machineLabel, type BenchRow, type BenchTarget } from '../lib/report.js';

const ROUTES = 10_000;
const ROUNDS = 10;
const TARGET_MS = 1000;
const bulk = (gw: number) => Array.from({ length: ROUTES }, (_, i) => `${ipv4ToString(0xc6120000 + i * 8)}/29 via 198.51.100.${gw}`);

function stats(ms: number[]): { median: number; max: number; min: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], max: s[s.length - 1], min: s[0] };
}

/** The main thread's share: checks, trie and next-hop updates, and the snapshot the workers get. */
function mainThreadOnly(): number[] {
  const config = parseConfig('ports:\n  - { name: lan, address: 192.0.2.1/24 }\n  - { name: wan, address: 198.51.100.1/24 }\n', 'bench', '.');
  const compiled = compileFib(config);
  const rc = new RouteControl(config.ports, config.routes, compiled);
  rc.apply(rc.plan({ add: bulk(20) }));
  const out: number[] = [];
  for (let k = 1; k <= ROUNDS; k++) {
    const t0 = performance.now();
    rc.apply(rc.plan({ replace: bulk(20 + (k % 2)) }));
    compiled.lpm.snapshot(k);
    compiled.nexthops.toPlain();
    out.push(performance.now() - t0);
  }
  return out;
}

export async function runRouteUpdateBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const rows: BenchRow[] = [];
  const targets: BenchTarget[] = [];
  const local = stats(mainThreadOnly());
  rows.push({ name: 'control/route-update/main-thread', subject: 'dataplane', value: local.median, unit: 'ms', notes: `10k replaced routes: plan + apply + snapshot, median of ${ROUNDS} (min ${local.min.toFixed(0)}, max ${local.max.toFixed(0)}) ${machineLabel()}` });
  const why = labUnavailable();
  if (why !== undefined) {
    rows.push({ name: 'control/route-update/live', subject: 'dataplane', value: NaN, unit: 'ms', notes: `not run: ${why}` });
    return { rows, targets };
  }
  const lab = await controlLabUp({ prefix: `dp-bench-ctl-${process.pid.toString(36)}`, workers: 2, extraConfig: 'routes:\n  - 203.0.113.0/24 via 198.51.100.10\n' });
  try {
    await lab.call('changeRoutes', { add: bulk(20) });
    // Traffic while the changes land: 500 pings a second for as long as the rounds take.
    const ping = nsSpawn(lab.names.client, 'ping', ['-q', '-i', '0.002', '-w', '30', '198.51.100.10'], { stdio: 'ignore' });
    const ms: number[] = [];
    try {
      for (let k = 1; k <= ROUNDS; k++) ms.push((await lab.call<{ ms: number }>('changeRoutes', { replace: bulk(20 + (k % 2)) })).ms);
    } finally {
      ping.kill('SIGINT');
    }
    const s = stats(ms);
    rows.push({ name: 'control/route-update/live', subject: 'dataplane', value: s.median, unit: 'ms', notes: `10k replaced routes in force on 2 workers (TAP lab, ping flow), median of ${ROUNDS} (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)}) ${machineLabel()}, load average ${os.loadavg()[0].toFixed(1)}` });
    targets.push({ description: `10k route changes applied live in < ${TARGET_MS} ms (call to every worker's acknowledgement)`, met: s.max < TARGET_MS, measured: `median ${s.median.toFixed(0)} ms, max ${s.max.toFixed(0)} ms` });
  } finally {
    await lab.down();
  }
  return { rows, targets };
}
