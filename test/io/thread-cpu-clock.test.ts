// sched.cc's threadCpuTimeNs: the calling thread's exact CPU clock
// (CLOCK_THREAD_CPUTIME_ID), which the LPM bench times its rounds with. It
// must advance by the CPU this thread spends, in steps far finer than the
// 4 ms of /proc/thread-self/schedstat, and not while the thread sleeps.
import { describe, expect, it } from 'vitest';
import { loadNative, nativeAvailable } from '../../src/io/native.js';
import { skipIf } from '../skip.js';

const reason = nativeAvailable() ? undefined : 'the native addon is not built';

describe('threadCpuTimeNs', () => {
  it("advances with this thread's CPU in fine steps, and not while it sleeps", skipIf(reason), () => {
    const clock = loadNative().threadCpuTimeNs!;
    // Fine steps: successive distinct readings while spinning differ by well under a tick.
    const steps: number[] = [];
    let last = clock();
    while (steps.length < 50) {
      const v = clock();
      expect(v).toBeGreaterThanOrEqual(last);
      if (v !== last) steps.push(v - last);
      last = v;
    }
    steps.sort((a, b) => a - b);
    expect(steps[steps.length >> 1]).toBeLessThan(1e6);
    // Sleeping 50 ms of wall time costs this thread almost no CPU.
    const c0 = clock();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    expect(clock() - c0).toBeLessThan(10e6);
    // 20 ms of spinning is at most 20 ms of CPU (preemption can only make it less), and more than nothing.
    const c1 = clock();
    const t1 = performance.now();
    while (performance.now() - t1 < 20);
    const spent = clock() - c1;
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(21e6);
  });
});
