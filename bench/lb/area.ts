// `npm run bench -- lb`: the load balancer's benchmarks (issue 11), one run,
// one results file (bench/results/lb.json). Each entry below is a sub-bench
// returning rows and targets; add one by adding an entry. DP_LB_BENCH=a,b
// runs only the named ones (e.g. DP_LB_BENCH=maglev-build without root).
import type { BenchRow, BenchTarget } from '../lib/report.js';

type SubBench = () => Promise<{ rows: BenchRow[]; targets: BenchTarget[] }>;

const SUB_BENCHES: { name: string; run: SubBench }[] = [
  // Maglev table build at 65537 x 100 and 655373 x 1000 (the paper's sizes).
  { name: 'maglev-build', run: async () => (await import('./maglev-build.js')).runMaglevBuildBench() },
];

export async function runLbArea(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const only = process.env.DP_LB_BENCH?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = only?.filter((n) => !SUB_BENCHES.some((b) => b.name === n)) ?? [];
  if (unknown.length > 0) throw new Error(`DP_LB_BENCH: unknown sub-bench '${unknown[0]}' (known: ${SUB_BENCHES.map((b) => b.name).join(', ')})`);
  const rows: BenchRow[] = [];
  const targets: BenchTarget[] = [];
  for (const b of SUB_BENCHES) {
    if (only !== undefined && !only.includes(b.name)) continue;
    console.error(`bench lb: ${b.name} ...`);
    const r = await b.run();
    rows.push(...r.rows);
    targets.push(...r.targets);
  }
  return { rows, targets };
}
