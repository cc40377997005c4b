// `npm run bench -- firewall`: everything issue 10 asks measured, in one run.
//   classifier   firewall.ts: first-packet classification alone at 10, 1k,
//                10k rules and 1k policies (warm, cold, miss, build, memory,
//                the linear reference as a peer)
//   pipeline     pipeline.ts: first packets and established flows through
//                the whole router with those rule sets, against the router
//                without a firewall on the same frames
//   live         bench/live/firewall.ts (root): the same rules in the lab,
//                the dataplane against nftables (a linear chain, sets and
//                maps) on the same traffic
import { machineLabel, type BenchRow, type BenchTarget } from '../lib/report.js';
import { runFirewallBench } from './firewall.js';
import { runFirewallPipelineBench } from './pipeline.js';

export async function runFirewallArea(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const classifier = await runFirewallBench();
  const rows = [...classifier.rows];
  const targets = [...classifier.targets];
  const machine = machineLabel();

  const p = await runFirewallPipelineBench();
  rows.push(...p.rows);
  const first10 = p.firstNs.get('vpc-10') ?? NaN;
  const first10k = p.firstNs.get('vpc-10k') ?? NaN;
  targets.push({
    description: `first-packet cost at 10,000 rules <= 2x the cost at 10 rules, through the whole pipeline (${machine})`,
    met: first10k / first10 <= 2,
    measured: `${(first10k / first10).toFixed(2)}x (${first10k.toFixed(0)} vs ${first10.toFixed(0)} ns per first packet: judged, allowed, a flow started)`,
  });
  const ratios = [...p.establishedRatio.entries()];
  const vsFewest = [...p.establishedVsFewest.entries()];
  targets.push({
    description: `established flows at any rule count >= 0.9x the rate with the fewest rules (the firewall's rule count costs established packets nothing; every plan's router in the same rounds) (${machine})`,
    met: vsFewest.every(([, r]) => r >= 0.9),
    measured: vsFewest.map(([name, r]) => `${name} ${r.toFixed(2)}x`).join(', '),
  });
  targets.push({
    description: `established flows at any rule count >= 0.9x the rate with no firewall at all (plain L3: no tracking) (${machine})`,
    met: ratios.every(([, r]) => r >= 0.9),
    measured: `${ratios.map(([name, r]) => `${name} ${r.toFixed(2)}x`).join(', ')} (1M flows at random: the flow-table lookup of connection tracking, DRAM-bound, as for NAT; hot-set rows in the table)`,
  });

  if (process.env.DP_FW_SKIP_LIVE === '1') {
    rows.push({ name: 'firewall-live', subject: 'dataplane', value: NaN, unit: 'Mpps', notes: 'not run: DP_FW_SKIP_LIVE=1' });
  } else {
    const live = await (await import('../live/firewall.js')).runFirewallLiveBench();
    rows.push(...live.rows);
    targets.push(...live.targets);
  }
  return { rows, targets };
}
