// Thin wrapper over benchmark.js: runs one function until the estimate is
// stable and returns operations per second with its margin of error.
import Benchmark from 'benchmark';

export interface Measurement {
  hz: number;
  rmePct: number;
  samples: number;
}

export function measure(name: string, fn: () => void, opts: { maxTime?: number; minSamples?: number } = {}): Measurement {
  const bench = new Benchmark(name, fn, { maxTime: opts.maxTime ?? 2, minSamples: opts.minSamples ?? 10 });
  bench.run({ async: false });
  if (bench.error) throw bench.error;
  return { hz: bench.hz, rmePct: bench.stats.rme, samples: bench.stats.sample.length };
}

/** Keeps a value alive so the optimizer cannot drop the work that produced it. */
export let sink = 0;
export function consume(v: number): void {
  sink = (sink + v) | 0;
}

export function rssMiB(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/**
 * Checks that `fn` allocates nothing: runs it `iterations` times after a full
 * GC and reports the heap growth and how many garbage collections ran (a GC
 * observer counts them). Needs `node --expose-gc` for the initial GC; without
 * it the figures are still reported but noisier.
 */
export async function allocationCheck(fn: () => void, iterations: number): Promise<{ heapDeltaBytes: number; gcRuns: number }> {
  const { PerformanceObserver } = await import('node:perf_hooks');
  for (let i = 0; i < 1000; i++) fn(); // warm up: let the JIT settle first
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  let gcRuns = 0;
  const obs = new PerformanceObserver((list) => (gcRuns += list.getEntries().length));
  obs.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < iterations; i++) fn();
  const after = process.memoryUsage().heapUsed;
  await new Promise((r) => setImmediate(r)); // let the observer deliver
  obs.disconnect();
  return { heapDeltaBytes: after - before, gcRuns };
}
