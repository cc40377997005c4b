// `npm run bench [-- AREA ...]`: runs the benchmark areas (all by default),
// prints a table per area with the peers measured in the same run, and writes
// bench/results/<area>.json.
import { printTable, printTargets, writeResults, type BenchRow, type BenchTarget } from './lib/report.js';

type AreaRun = () => Promise<{ rows: BenchRow[]; targets: BenchTarget[] }>;

const AREAS: Record<string, { title: string; run: AreaRun }> = {
  decode: {
    title: 'Decode with validation vs cap and node_pcap decoders',
    run: async () => (await import('./decode/decode.js')).runDecodeBench(),
  },
  checksum: {
    title: 'Checksum: full recompute vs RFC 1624 incremental',
    run: async () => ({ rows: (await import('./wire/checksum.js')).runChecksumBench(), targets: [] }),
  },
  lpm: {
    title: 'LPM lookups vs DPDK rte_lpm and DIR-24-8 (dpdk-test-fib), same routes and addresses',
    run: async () => (await import('./route/lpm.js')).runLpmBench(),
  },
  'route-load': {
    title: 'Loading a routes file through the config (RouteViews, 694k routes)',
    run: async () => (await import('./config/route-load.js')).runRouteLoadBench(),
  },
  pipeline: {
    title: 'Forwarding pipeline, 64-byte frames from memory, 1 thread',
    run: async () => (await import('./pipeline/forward.js')).runForwardBench(),
  },
  live: {
    title: 'Live forwarding: generator ns -> router -> sink ns (dataplane TAP/AF_PACKET, Linux kernel, dpdk-testpmd)',
    run: async () => (await import('./live/live.js')).runLiveBench(),
  },
  'nat-live': {
    title: 'Live NAT: client ns -> masquerade -> server ns (dataplane vs Linux nftables+conntrack, same traffic)',
    run: async () => (await import('./live/nat.js')).runNatLiveBench(),
  },
  'firewall-live': {
    title: 'Live firewall: client ns -> router -> server ns (dataplane vs nftables linear chain and sets, same rules and traffic)',
    run: async () => (await import('./live/firewall.js')).runFirewallLiveBench(),
  },
  'lb-live': {
    title: 'Live load balancer: client ns -> balancer -> three backends (dataplane dsr-l2 and nat vs nftables DNAT numgen random, same traffic)',
    run: async () => (await import('./live/lb.js')).runLbLiveBench(),
  },
  flow: {
    title: 'Flow table (conntrack) at 1M flows vs JS Map, one thread',
    run: async () => (await import('./flow/flow.js')).runFlowBench(),
  },
  nat: {
    title: 'NAT from memory, one thread: 1M masqueraded flows, established vs plain L3 in the same run, new flows, memory, reply steering',
    run: async () => (await import('./nat/nat.js')).runNatBench(),
  },
  firewall: {
    title: 'Firewall: classification at 10 / 1k / 10k VPC rules and 1k policies (vs the linear reference), first and established packets through the pipeline (vs no firewall), live vs nftables (root)',
    run: async () => (await import('./firewall/area.js')).runFirewallArea(),
  },
  lb: {
    title: 'Load balancer: Maglev table build (65537 x 100, 655373 x 1000; the paper: 1.8 and 22.9 ms); live vs nftables DNAT (root)',
    run: async () => (await import('./lb/area.js')).runLbArea(),
  },
  control: {
    title: 'Control plane: 10k route changes live, from the call to every worker applying the new generation (route-update)',
    run: async () => (await import('./control/route-update.js')).runRouteUpdateBench(),
  },
  pcap: {
    title: 'pcap read from page cache vs tcpdump and node_pcap',
    run: async () => (await import('./pcap/read.js')).runPcapReadBench(),
  },
};

function usage(): string {
  return [
    'usage: npm run bench [-- AREA ...] [--vs REF [--rounds N]]',
    '',
    `Areas: ${Object.keys(AREAS).join(', ')} (default: all)`,
    'Results: printed, and written to bench/results/<area>.json',
    '',
    '--vs REF     pipeline only: the forwarding pipeline of this tree and of git revision REF (a revision with the run loop, 8b7fe64 or later)',
    '             built in a temporary worktree, timed in alternating chunks in one process (CPU time), pairwise ratio',
    '             (written to bench/results/pipeline-vs.json)',
    '--rounds N   pairs of chunks (256k packets each) for --vs (default 60)',
  ].join('\n');
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage());
    return 0;
  }
  const vs = args.indexOf('--vs');
  if (vs >= 0) {
    const ref = args[vs + 1];
    const r = args.indexOf('--rounds');
    const rounds = r >= 0 ? Number(args[r + 1]) : 60;
    const rest = args.filter((_, i) => i !== vs && i !== vs + 1 && (r < 0 || (i !== r && i !== r + 1)));
    if (ref === undefined || ref.startsWith('--') || !Number.isInteger(rounds) || rounds < 1 || rounds > 100 || rest.some((a) => a !== 'pipeline')) {
      console.error(`bench: --vs takes a git revision, --rounds 1-100, and only the pipeline area\n${usage()}`);
      return 2;
    }
    const { runPipelineVsRef } = await import('./pipeline/vs-ref.js');
    const { rows, targets } = await runPipelineVsRef(ref, rounds);
    printTable(`Forwarding pipeline, this tree vs ${ref}, same run`, rows);
    printTargets(targets);
    console.log(`\nwrote ${writeResults('pipeline-vs', rows, targets)}`);
    return 0;
  }
  const unknown = args.filter((a) => !(a in AREAS));
  if (unknown.length > 0) {
    console.error(`bench: unknown area '${unknown[0]}'\n${usage()}`);
    return 2;
  }
  const chosen = args.length > 0 ? args : Object.keys(AREAS);
  let missed = 0;
  for (const area of chosen) {
    const { title, run } = AREAS[area];
    console.error(`bench: running ${area} ...`);
    const { rows, targets } = await run();
    printTable(title, rows);
    printTargets(targets);
    missed += targets.filter((t) => !t.met).length;
    console.log(`\nwrote ${writeResults(area, rows, targets)}`);
  }
  if (missed > 0) console.log(`\n${missed} target(s) missed; see the rows above.`);
  return 0;
}

process.exitCode = await main();
