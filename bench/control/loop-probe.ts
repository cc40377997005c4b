// Preloaded into the benched `dataplane run` (NODE_OPTIONS=--import, see
// ctl-roundtrip.ts): measures its main thread's event-loop delay and GC
// pauses while a run of control calls goes on. Disarmed it costs nothing (no
// timer, no observer); SIGUSR2 arms it, the next SIGUSR2 appends what it saw
// as one JSON line to $DP_LOOP_PROBE_FILE and disarms it. The histogram
// samples every millisecond (monitorEventLoopDelay's finest), so the probed
// run is not the judged one: the sampler itself wakes the thread 1000 times
// a second.
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

/** What one armed period saw: delays in ms. */
export interface LoopProbeReport {
  /** Event-loop delay quantiles and maximum (ms), and how many samples. */
  delay: { p50: number; p99: number; p999: number; max: number; samples: number };
  /** GC pauses on the main thread: how many, the longest and their sum (ms), and how many took more than 1 ms. */
  gc: { count: number; maxMs: number; totalMs: number; over1ms: number };
}

const file = process.env.DP_LOOP_PROBE_FILE;
if (isMainThread && file !== undefined && file !== '') {
  let armed: { h: IntervalHistogram; obs: PerformanceObserver; pauses: number[] } | undefined;
  process.on('SIGUSR2', () => {
    if (armed === undefined) {
      const h = monitorEventLoopDelay({ resolution: 1 });
      const pauses: number[] = [];
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) pauses.push(e.duration);
      });
      obs.observe({ entryTypes: ['gc'] });
      h.enable();
      armed = { h, obs, pauses };
      return;
    }
    const { h, obs, pauses } = armed;
    armed = undefined;
    h.disable();
    obs.disconnect();
    const ms = (ns: number) => Math.round(ns / 1e3) / 1e3;
    const report: LoopProbeReport = {
      delay: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), p999: ms(h.percentile(99.9)), max: ms(h.max), samples: h.count },
      gc: { count: pauses.length, maxMs: Math.max(0, ...pauses), totalMs: pauses.reduce((s, d) => s + d, 0), over1ms: pauses.filter((d) => d > 1).length },
    };
    appendFileSync(file, JSON.stringify(report) + '\n');
  });
}
