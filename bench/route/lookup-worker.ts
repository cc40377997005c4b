// Lookup measurements in a worker thread, the way the data plane uses the FIB:
// the main thread builds the table, publishes a snapshot in SharedArrayBuffers
// and this worker opens it (openFib: dir16 or 20-4-8, as the snapshot is). A fresh thread per table also
// keeps one table's JIT feedback from slowing the next table's loops.
import { readFileSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Worker, isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { FibBuffers } from '../../src/route/fib-view.js';
import { Dir16View, openFib } from '../../src/route/fib-dir16.js';
import { nativeDir16Available, nativeDir16Batch } from '../../src/runtime/fib-dir16-native.js';
import { consume, measure } from '../lib/measure.js';
import { loadNative } from '../../src/io/native.js';
import { openDir16Wasm, type Dir16Wasm } from './dir16-wasm-module.js';

export interface LookupFigures {
  single: number;
  batch: number;
  rmeSingle: number;
  rmeBatch: number;
  /** Batch lookups/s by CPU time per round (one pass over the addresses): fastest and median of ROUNDS rounds. */
  batchBestRound: number;
  batchMedianRound: number;
  /**
   * The same rounds with the addon's batch lookup (fib-dir16-native.ts) over
   * the same tables, alternating round by round with the JS loop; undefined
   * when the snapshot is not dir16 or the addon cannot (then `nativeWhyNot`).
   */
  native?: { bestRound: number; medianRound: number; disagree: number };
  nativeWhyNot?: string;
  /** The wasm prototype (dir16-wasm-module.ts) against the JS loop: addresses it answered differently (-1: not measured, the snapshot is 20-4-8). */
  wasmDisagree: number;
  /** This worker process's AnonHugePages in KiB while it measured (see anonHugeKiB). */
  anonHugeKiB: number;
}

/** Rounds of the CPU-time measurement; the DPDK peer (dpdk-lpm-rounds.c) runs as many. */
export const ROUNDS = 40;

/** The addon's exact thread CPU clock (sched.cc's threadCpuTimeNs), when the addon has it. */
const exactThreadCpuNs: (() => number) | undefined = (() => {
  try {
    const f = loadNative().threadCpuTimeNs;
    return typeof f === 'function' ? f : undefined;
  } catch {
    return undefined;
  }
})();

/** Which clock times our rounds (for the bench's notes). */
export const THREAD_CLOCK = exactThreadCpuNs !== undefined ? 'CLOCK_THREAD_CPUTIME_ID' : '/proc/thread-self/schedstat (4 ms ticks)';

/**
 * This thread's CPU time in ns: CLOCK_THREAD_CPUTIME_ID, the clock the C
 * peer reads, through the addon. Without it, /proc/thread-self/schedstat's
 * sum_exec_runtime, which the kernel brings up to date only at a tick or a
 * context switch: it moves in steps of about 4 ms (HZ=250), as long as one
 * pass over the addresses, so a round read 4 or 8 ms where it took 6 and the
 * medians of our rounds were quantized (131.1 M/s on RouteViews was exactly
 * 8 ms a pass) while the peer's were exact. Failing both, the process's
 * CPU time (every thread: V8's compiler and GC helpers, the main thread).
 */
function threadCpuNs(): number {
  if (exactThreadCpuNs !== undefined) return exactThreadCpuNs();
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]);
  } catch {
    const c = process.cpuUsage();
    return (c.user + c.system) * 1000;
  }
}

/** The CPU this thread last ran on (/proc/thread-self/stat's "processor"), -1 when unknown. */
function threadCpu(): number {
  try {
    const st = readFileSync('/proc/thread-self/stat', 'latin1');
    return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[36]);
  } catch {
    return -1;
  }
}

/**
 * This process's AnonHugePages in KiB (smaps_rollup): with THP in "madvise"
 * mode only advised memory gets 2 MiB pages, so this is what the FIB's
 * buffers got (hugeSharedBuffer); -1 when unknown.
 */
function anonHugeKiB(): number {
  try {
    const m = /^AnonHugePages:\s+(\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'latin1'));
    return m === null ? -1 : Number(m[1]);
  } catch {
    return -1;
  }
}

interface Job {
  label: string;
  fib: FibBuffers;
  addrs: SharedArrayBuffer;
  burst: number;
}

/** ns per lookup of each round: the JS loop's, and the addon's (empty when not measured). */
export interface ServedRounds {
  js: number[];
  native: number[];
  /** The wasm prototype's rounds (empty when not measured). */
  wasm: number[];
  /** The CPU each JS round ended on. */
  cpus: number[];
}

let serve: ((rounds: number) => ServedRounds) | undefined;

/** The wasm prototype's unroll: the whole burst of 64 with constant offsets (dir16-wasm.ts measured U=64 fastest). */
const WASM_UNROLL = 64;

/** The addon's adviseHugePages, for the wasm memory, when built. */
function adviseNative(): ((view: Int32Array) => number) | undefined {
  try {
    return loadNative().adviseHugePages;
  } catch {
    return undefined;
  }
}

/**
 * Pins the calling thread to one CPU: `taskset -p -c CPU TID` on this
 * thread's id (sched_setaffinity on a thread id binds that thread alone).
 * Throws with taskset's message when it fails.
 */
function pinThisThread(cpu: number): void {
  const tid = readlinkSync('/proc/thread-self').split('/').pop() ?? '';
  const p = spawnSync('taskset', ['-p', '-c', String(cpu), tid], { encoding: 'utf8' });
  if (p.error !== undefined || p.status !== 0) throw new Error(`taskset -p -c ${cpu} ${tid} (the lookup worker's thread): ${p.error?.message ?? p.stderr.trim()}`);
}

function measureLookups(job: Job): LookupFigures {
  const view = openFib(job.fib);
  const addrs = new Uint32Array(job.addrs);
  const n = addrs.length;
  const burst = job.burst;
  const bursts: Uint32Array[] = [];
  for (let off = 0; off + burst <= n; off += burst) bursts.push(addrs.subarray(off, off + burst));
  const out = new Int32Array(burst);
  const lookup = view.lookup;
  const lookupBatch = view.lookupBatch;
  const single = measure(`${job.label} single`, () => {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += lookup(addrs[i]);
    consume(acc);
  });
  const batch = measure(`${job.label} batch`, () => {
    let acc = 0;
    for (let b = 0; b < bursts.length; b++) {
      lookupBatch(bursts[b], out, burst);
      acc += out[burst - 1];
    }
    consume(acc);
  });
  // The addon's batch lookup over the same buffers, timed in the same rounds.
  const nativeView = view instanceof Dir16View ? openFib(job.fib, nativeDir16Batch) : undefined;
  const nativeBatch = nativeView instanceof Dir16View && nativeView.native ? nativeView.lookupBatch : undefined;
  const nativeWhyNot = nativeBatch !== undefined ? undefined : !(view instanceof Dir16View) ? 'the snapshot is 20-4-8' : nativeDir16Available() ? 'the snapshot is not in SharedArrayBuffers' : 'the addon is not built or predates dir16LookupBatch';
  // The wasm prototype over copies of the same tables and addresses (dir16-wasm-module.ts).
  const wasm = view instanceof Dir16View && burst % WASM_UNROLL === 0 ? openDir16Wasm(view.root, view.tbl8, addrs, WASM_UNROLL, adviseNative()) : undefined;
  let wasmDisagree = -1;
  if (wasm !== undefined) {
    wasmDisagree = 0;
    for (let b = 0; b < bursts.length; b++) {
      lookupBatch(bursts[b], out, burst);
      wasm.lookupBatch(bursts[b], out, burst);
      for (let k = 0; k < burst; k++) if (out[k] !== wasm.out[k]) wasmDisagree++;
    }
  }
  // CPU time per pass, as the C peer measures it: preemption by the other
  // processes of a shared machine does not count, and the fastest and median
  // rounds are the statistics both sides report. The JS loop and the native
  // one alternate round by round, so both see the same machine.
  const pass = (fn: typeof lookupBatch): number => {
    const c0 = threadCpuNs();
    let acc = 0;
    for (let b = 0; b < bursts.length; b++) {
      fn(bursts[b], out, burst);
      acc += out[burst - 1];
    }
    consume(acc);
    return (bursts.length * burst) / ((threadCpuNs() - c0) / 1e9);
  };
  // The wasm prototype's pass calls its export straight (offsets into its
  // memory), as a pipeline holding its vector there would: through the
  // lookupBatch wrapper it measured 1.14-1.16x the JS loop in the bench,
  // called straight 1.30-1.37x (Intel Xeon VM, load 6-9).
  const passWasm = (w: Dir16Wasm): number => {
    const lookupWasm = w.lookup;
    const outAt = w.outAt;
    const wout = w.out;
    const step = burst * 4;
    const c0 = threadCpuNs();
    let acc = 0;
    for (let b = 0, at = w.addrsAt; b < bursts.length; b++, at += step) {
      lookupWasm(at, outAt, burst);
      acc += wout[burst - 1];
    }
    consume(acc);
    return (bursts.length * burst) / ((threadCpuNs() - c0) / 1e9);
  };
  // Both answer every address alike (checked before timing).
  let disagree = 0;
  if (nativeBatch !== undefined) {
    const nout = new Int32Array(burst);
    for (let b = 0; b < bursts.length; b++) {
      lookupBatch(bursts[b], out, burst);
      nativeBatch(bursts[b], nout, burst);
      for (let k = 0; k < burst; k++) if (out[k] !== nout[k]) disagree++;
    }
  }
  const perRound: number[] = [];
  const nativeRounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    perRound.push(pass(lookupBatch));
    if (nativeBatch !== undefined) nativeRounds.push(pass(nativeBatch));
  }
  perRound.sort((a, b) => b - a);
  nativeRounds.sort((a, b) => b - a);
  // Rounds on demand, between the peer's (measureLookupsServed).
  // The paths take turns going first in a round: the first pass after the
  // peer's rounds finds the caches full of the peer's tables (one run put
  // whichever path went third 1.1-1.4x ahead of the one that went first).
  let turn = 0;
  serve = (r) => {
    const js: number[] = [];
    const nat: number[] = [];
    const wa: number[] = [];
    const cpus: number[] = [];
    const steps: (() => void)[] = [
      () => {
        js.push(1e9 / pass(lookupBatch));
        cpus.push(threadCpu());
      },
    ];
    if (nativeBatch !== undefined) steps.push(() => nat.push(1e9 / pass(nativeBatch)));
    if (wasm !== undefined) steps.push(() => wa.push(1e9 / passWasm(wasm)));
    for (let k = 0; k < r; k++, turn++) for (let j = 0; j < steps.length; j++) steps[(turn + j) % steps.length]();
    return { js, native: nat, wasm: wa, cpus };
  };
  return {
    native: nativeBatch !== undefined ? { bestRound: nativeRounds[0], medianRound: nativeRounds[nativeRounds.length >> 1], disagree } : undefined,
    nativeWhyNot,
    wasmDisagree,
    anonHugeKiB: anonHugeKiB(),
    single: single.hz * n,
    batch: batch.hz * bursts.length * burst,
    rmeSingle: single.rmePct,
    rmeBatch: batch.rmePct,
    batchBestRound: perRound[0],
    batchMedianRound: perRound[perRound.length >> 1],
  };
}

/** Runs the lookup measurements for one published FIB in a new worker thread. */
export function measureLookupsInWorker(job: Job): Promise<LookupFigures> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: job });
    w.once('message', (m: LookupFigures) => resolve(m));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`lookup worker exited with ${code}`));
    });
  });
}

/**
 * A lookup worker that stays up after its fixed measurements: `rounds(r)`
 * runs r more rounds (JS and native alternating, as above) and returns their
 * ns per lookup, so the caller can interleave them with the peer's rounds.
 */
export interface ServedLookups {
  figures: LookupFigures;
  /** r rounds; on CPU `cpu` alone when given (the worker pins its thread first). */
  rounds(r: number, cpu?: number): Promise<ServedRounds>;
  close(): Promise<void>;
}

export function measureLookupsServed(job: Job): Promise<ServedLookups> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { ...job, serve: true } });
    let pending: { res: (r: ServedRounds) => void; rej: (e: Error) => void } | undefined;
    w.on('message', (m: { figures?: LookupFigures; rounds?: ServedRounds; error?: string }) => {
      if (m.figures !== undefined) {
        resolve({
          figures: m.figures,
          rounds: (r, cpu) =>
            new Promise((res, rej) => {
              pending = { res, rej };
              w.postMessage({ rounds: r, cpu });
            }),
          close: async () => {
            await w.terminate();
          },
        });
      } else if (m.rounds !== undefined || m.error !== undefined) {
        const p = pending;
        pending = undefined;
        if (m.rounds !== undefined) p?.res(m.rounds);
        else p?.rej(new Error(m.error));
      }
    });
    w.once('error', reject);
  });
}

if (!isMainThread && parentPort !== null) {
  const job = workerData as Job & { serve?: boolean };
  const figures = measureLookups(job);
  if (job.serve === true) {
    const port: MessagePort = parentPort;
    port.postMessage({ figures });
    port.on('message', (m: { rounds: number; cpu?: number }) => {
      try {
        if (m.cpu !== undefined) pinThisThread(m.cpu);
        port.postMessage({ rounds: serve?.(m.rounds) });
      } catch (e) {
        port.postMessage({ error: (e as Error).message });
      }
    });
  } else {
    parentPort.postMessage(figures);
  }
}
