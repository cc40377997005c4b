// Forwarding pipeline throughput: 64-byte Ethernet/IPv4/UDP frames through
// the run loop (rx -> ethernet-input -> ip4-input -> ip4-lookup -> ip4-rewrite
// -> ip4-output -> tx by port), one thread, frames fed from memory in batches
// of 256, the same loop the live workers and `replay` run. The FIB holds
// the two connected subnets only: this measures the per-packet path, not
// cache misses in a big trie (the lpm area does that).
import { parseConfig } from '../../src/config/load.js';
import { Batch, MAX_BATCH } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';
import { allocationCheck, measure } from '../lib/measure.js';
import { RunLoop } from '../../src/runtime/run-loop.js';
import { CountingOutput, RepeatInput } from './bench-ports.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';
import { synthetic64 } from '../decode/frames.js';

/** Two ports, the sink's neighbor known: 64-byte frames from gen are forwarded to sink. */
export const FORWARD_CONFIG = `
ports:
  - { name: gen, mac: "02:00:00:00:00:01", address: 203.0.113.1/24 }
  - { name: sink, mac: "02:00:00:00:00:02", address: 198.19.0.254/24 }
neighbors:
  - { address: 198.19.0.1, mac: "02:bb:00:00:00:01" }
`;

export async function runForwardBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const config = parseConfig(FORWARD_CONFIG, 'bench', '.');
  const { fib, nexthops } = compileFib(config);
  const batch = new Batch();
  const router = new Router(config, fib, nexthops, { clock: new ManualClock(1), batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
  // synthetic64 frames go 198.18.x.y -> 198.19.0.1, to the router's MAC 02:00:00:00:00:01.
  const frames = synthetic64(MAX_BATCH);
  // One view per frame, made once: feeding the batch allocates nothing.
  const views = Array.from({ length: MAX_BATCH }, (_, i) => frames.arena.subarray(frames.offsets[i], frames.offsets[i] + frames.lengths[i]));
  const out = new CountingOutput();
  const loop = new RunLoop({ router, batch, inputs: [new RepeatInput(0, views)], outputs: [out, out] });
  const run = () => {
    loop.step();
  };
  run();
  if (out.frames !== MAX_BATCH) throw new Error(`forward bench: ${out.frames} of ${MAX_BATCH} frames forwarded: ${JSON.stringify(router.counters.nonZero())}`);
  const alloc = await allocationCheck(run, 20_000);
  const m = measure('forward 64B', run);
  const mpps = (m.hz * MAX_BATCH) / 1e6;
  const rows: BenchRow[] = [
    {
      name: 'pipeline/forward-64B',
      subject: 'dataplane (1 thread, batch 256)',
      value: mpps,
      unit: 'Mpps',
      nsPerOp: 1e3 / mpps,
      rmePct: m.rmePct,
      notes: `${alloc.gcRuns} GCs, heap ${alloc.heapDeltaBytes >= 0 ? '+' : ''}${(alloc.heapDeltaBytes / 1024).toFixed(0)} KiB over ${((20_000 * MAX_BATCH) / 1e6).toFixed(1)}M packets; includes the copy into the batch and tx by port`,
    },
  ];
  return { rows, targets: [{ description: 'forwarding pipeline >= 20 Mpps per core (64-byte frames, from memory)', met: mpps >= 20, measured: `${mpps.toFixed(1)} Mpps` }] };
}
