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
  pcap: {
    title: 'pcap read from page cache vs tcpdump and node_pcap',
    run: async () => (await import('./pcap/read.js')).runPcapReadBench(),
  },
};

function usage(): string {
  return `usage: npm run bench [-- AREA ...]\n\nAreas: ${Object.keys(AREAS).join(', ')} (default: all)\nResults: printed, and written to bench/results/<area>.json`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage());
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
