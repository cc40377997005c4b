// `npm run bench -- control`, sub-bench route-update: how long 10k route
// changes take to be in force on every worker of a running dataplane, from
// the call (Dataplane.changeRoutes) to the last worker's acknowledgement:
// checks, the trie update, the snapshot, the post and each worker's swap
// between two batches. Live in the lab (root): the dataplane runs in the
// router namespace with 2 workers and TAP ports while a ping flow crosses it
// through one of the replaced routes: 198.18.10.1 (on the server's loopback)
// is reached by 198.18.10.0/29, whose next hop alternates between two
// addresses of the server (.20 and .21) with each replacement, so every
// change moves the flow. The "zero unexplained drops": the flow's
// losses while the changes land are counted (a change explains none: both
// next hops answer and are resolved before), beside the losses of the same
// flow over as long a time with no change (what the machine alone loses).
// Without root only the main thread's share is measured (plan + apply +
// snapshot, in this process).
import { labUnavailable } from '../../src/lab/lab-error.js';
import { controlLabUp } from '../../src/lab/control-lab.js';
import { parseConfig } from '../../src/config/load.js';
import { compileFib } from '../../src/route/fib.js';
import { RouteControl } from '../../src/runtime/route-control.js';
import { ipv4ToString } from '../../src/wire/address.js';
import { nsRun, nsSpawn } from '../../src/host/commands.js';
import { LAB, pingOnce } from '../../src/lab/topology.js';
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import { machineLabel, type BenchRow, type BenchTarget } from '../lib/report.js';

const ROUTES = 10_000;
const ROUNDS = 10;
const TARGET_MS = 1000;
/** The ping flow's destination: in 198.18.10.0/29, one of the 10k. */
const FLOW_DST = '198.18.10.1';
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
    // Both next hops are the server (its TAP end exists once the dataplane runs), and so is the flow's destination.
    const server = lab.names.server;
    for (const gw of [20, 21]) nsRun(server, 'ip', ['addr', 'add', `198.51.100.${gw}/24`, 'dev', LAB.hostIf]);
    nsRun(server, 'ip', ['addr', 'add', `${FLOW_DST}/32`, 'dev', 'lo']);
    // Each next hop resolved (ARP) before anything is counted: a route to a neighbour not yet known waits for it, which a change would explain.
    for (const gw of [21, 20]) {
      await lab.call('changeRoutes', { [gw === 21 ? 'add' : 'replace']: bulk(gw) });
      if (!pingOnce(lab.names.client, FLOW_DST)) throw new Error(`bench control/route-update: ${FLOW_DST} does not answer via 198.51.100.${gw}`);
    }
    // 500 pings a second, a fixed count that outlasts the rounds (ping then waits for the last replies, so none is in flight when it is counted);
    // then as many with no change (what the machine alone loses).
    const during = pingFlow(lab.names.client);
    const ms: number[] = [];
    let changing: PingCount;
    let roundsOutlastedPing = false;
    try {
      for (let k = 1; k <= ROUNDS; k++) ms.push((await lab.call<{ ms: number }>('changeRoutes', { replace: bulk(20 + (k % 2)) })).ms);
      roundsOutlastedPing = during.done();
    } finally {
      changing = await during.result();
    }
    const still = await pingFlow(lab.names.client).result();
    const s = stats(ms);
    const lostText = (c: PingCount) => `${c.sent - c.received} of ${c.sent}`;
    rows.push({
      name: 'control/route-update/live',
      subject: 'dataplane',
      value: s.median,
      unit: 'ms',
      notes: `10k replaced routes in force on 2 workers (TAP lab), median of ${ROUNDS} (min ${s.min.toFixed(0)}, max ${s.max.toFixed(0)}); a ping flow (500/s) through a replaced route whose next hop alternates: lost ${lostText(changing)} around the changes${roundsOutlastedPing ? ' (the rounds outlasted it: not all covered)' : ''}, ${lostText(still)} with no change; ${machineLabel()}, load average ${os.loadavg()[0].toFixed(1)}`,
    });
    targets.push({ description: `10k route changes applied live in < ${TARGET_MS} ms (call to every worker's acknowledgement)`, met: s.max < TARGET_MS, measured: `median ${s.median.toFixed(0)} ms, max ${s.max.toFixed(0)} ms` });
    targets.push({
      description: 'zero unexplained drops while 10k routes are replaced (a ping flow through a replaced route; no change explains a loss)',
      met: !roundsOutlastedPing && changing.sent > 0 && changing.received === changing.sent,
      measured: `lost ${lostText(changing)} during the changes; the same flow with no change lost ${lostText(still)} (load average ${os.loadavg()[0].toFixed(1)})`,
    });
  } finally {
    await lab.down();
  }
  return { rows, targets };
}

interface PingCount {
  sent: number;
  received: number;
}

/** Pings of the flow, sent 2 ms apart: 5000 (10 s, more than the rounds take). */
const PINGS = 5000;

/** `PINGS` pings from `ns` to the flow's destination; the summary line counts what was sent and what came back. */
function pingFlow(ns: string): { done: () => boolean; result: () => Promise<PingCount> } {
  const child: ChildProcess = nsSpawn(ns, 'ping', ['-q', '-i', '0.002', '-c', String(PINGS), '-W', '1', FLOW_DST], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  let exited = false;
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  return {
    done: () => exited,
    result: async () => {
      await exit;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (m === null) throw new Error(`bench control/route-update: no ping summary in: ${out}`);
      return { sent: Number(m[1]), received: Number(m[2]) };
    },
  };
}
