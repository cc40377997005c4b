// Runs the LPM benchmark alone: `node --expose-gc dist/bench/route/main.js`
// (after `npx tsc -p tsconfig.json`); `npm run bench -- lpm` runs the same area.
import { printTable, printTargets, writeResults } from '../lib/report.js';
import { runLpmBench } from './lpm.js';

const { rows, targets } = await runLpmBench();
printTable('LPM lookups vs DPDK rte_lpm and DIR-24-8 (dpdk-lpm-rounds, or dpdk-test-fib without libdpdk headers), same routes and addresses', rows);
printTargets(targets);
console.log(`\nwrote ${writeResults('lpm', rows, targets)}`);
