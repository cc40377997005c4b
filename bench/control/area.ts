// `npm run bench -- control`: the control plane's benchmarks (issue 12), one
// run, one results file (bench/results/control.json). Each entry is a
// sub-bench returning rows and targets; add one by adding an entry.
// DP_CONTROL_BENCH=a,b runs only the named ones.
import type { BenchRow, BenchTarget } from '../lib/report.js';

type SubBench = () => Promise<{ rows: BenchRow[]; targets: BenchTarget[] }>;

const SUB_BENCHES: { name: string; run: SubBench }[] = [
  // One scrape's CPU time with a big config, and the busy-time accumulator's cost in the run loop.
  { name: 'metrics', run: async () => (await import('./metrics.js')).runMetricsBench() },
  // 10k route changes live: from the call to every worker using the new generation (root for the live half).
  { name: 'route-update', run: async () => (await import('./route-update.js')).runRouteUpdateBench() },
  // A control API call's round trip against a live `dataplane run` (root): reads, and a route change every worker acknowledges.
  { name: 'ctl-roundtrip', run: async () => (await import('./ctl-roundtrip.js')).runCtlRoundtripBench() },
];

export async function runControlArea(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const only = process.env.DP_CONTROL_BENCH?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = only?.filter((n) => !SUB_BENCHES.some((b) => b.name === n)) ?? [];
  if (unknown.length > 0) throw new Error(`DP_CONTROL_BENCH: unknown sub-bench '${unknown[0]}' (known: ${SUB_BENCHES.map((b) => b.name).join(', ')})`);
  const rows: BenchRow[] = [];
  const targets: BenchTarget[] = [];
  for (const b of SUB_BENCHES) {
    if (only !== undefined && !only.includes(b.name)) continue;
    console.error(`bench control: ${b.name} ...`);
    const r = await b.run();
    rows.push(...r.rows);
    targets.push(...r.targets);
  }
  return { rows, targets };
}
