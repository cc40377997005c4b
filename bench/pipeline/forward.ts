// Forwarding pipeline throughput: 64-byte Ethernet/IPv4/UDP frames through
// the run loop (rx -> the pipeline -> tx by port), one thread, frames fed
// from memory in batches of 256, the same loop the live workers and `replay`
// run. The FIB holds the two connected subnets only: this measures the
// per-packet path, not cache misses in a big trie (the lpm area does that).
//
// Four subjects, timed in alternating chunks of CPU time in one process (a
// shared machine's speed drifts; neighbouring chunks see the same drift):
// the fused fast path (ip4-fast) and the full graph (fastPath: false), each
// fed by the native burst copy (copyFrames) and by a copy per frame in
// JavaScript (pushView). The headline is the fast path with the native feed;
// the JavaScript feed rows say what the feed costs. Every burst goes to one
// neighbor, except in the last row, whose packets go to 250 hosts of the
// attached subnet in turn: ip4-fast finds a neighbor per packet there
// instead of reusing the last one's header.
import { parseConfig } from '../../src/config/load.js';
import { loadNative, nativeAvailable } from '../../src/io/native.js';
import { Batch, MAX_BATCH } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';
import { Dir16View, openFib } from '../../src/route/fib-dir16.js';
import { nativeDir16Available, nativeDir16Batch } from '../../src/runtime/fib-dir16-native.js';
import { allocationCheck } from '../lib/measure.js';
import { RunLoop } from '../../src/runtime/run-loop.js';
import { CountingOutput, NativeRepeatInput, RepeatInput } from './bench-ports.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';
import { synthetic64 } from '../decode/frames.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Two ports, the sink's neighbor known: 64-byte frames from gen are forwarded to sink. */
export const FORWARD_CONFIG = `
ports:
  - { name: gen, mac: "02:00:00:00:00:01", address: 203.0.113.1/24 }
  - { name: sink, mac: "02:00:00:00:00:02", address: 198.19.0.254/24 }
neighbors:
  - { address: 198.19.0.1, mac: "02:bb:00:00:00:01" }
`;

/** Attached hosts of the "a neighbor per packet" subject: 198.19.0.2 and up, each a static neighbor. */
const HOSTS = 250;

/** FORWARD_CONFIG with HOSTS more neighbors on the sink's subnet. */
function manyNeighborsConfig(): string {
  const hex = (k: number) => k.toString(16).padStart(2, '0');
  return FORWARD_CONFIG + Array.from({ length: HOSTS }, (_, k) => `  - { address: 198.19.0.${k + 2}, mac: "02:bb:00:00:01:${hex(k + 2)}" }\n`).join('');
}

/**
 * Frame k to 198.19.0.(2 + k % HOSTS): consecutive packets of a burst have different neighbors, as towards
 * the hosts of an attached subnet (ip4-fast finds each one, where the one-neighbor frames reuse the last).
 * The header checksum is recomputed; the UDP checksum is set to 0 (none), as it covered the old address.
 */
function spreadDestinations(arena: Uint8Array, offsets: Uint32Array): void {
  for (let k = 0; k < offsets.length; k++) {
    const ip = offsets[k] + 14;
    arena[ip + 19] = 2 + (k % HOSTS);
    arena[ip + 10] = 0;
    arena[ip + 11] = 0;
    const sum = internetChecksum(arena, ip, 20);
    arena[ip + 10] = sum >> 8;
    arena[ip + 11] = sum & 0xff;
    arena[ip + 26] = 0;
    arena[ip + 27] = 0;
  }
}

/** Batches per timed chunk (256k packets) and chunk rounds (each round times every subject once). */
const CHUNK_STEPS = 1000;
const ROUNDS = 15;

interface Subject {
  label: string;
  step: () => void;
  ns: number[];
}

/**
 * The FIB the router reads: the control plane's Lpm (as compileFib makes it), or
 * the dir16 copy workers read for large tables (fib-dir16.ts) with the JS batch
 * loop or the addon's (fib-dir16-native.ts), to weigh the native lookup's call
 * against the JS loop inside the pipeline.
 */
type FibForm = 'lpm' | 'dir16' | 'dir16-native';

function subject(label: string, fastPath: boolean, feed: 'native' | 'js', form: FibForm = 'lpm', neighbors: 'one' | 'many' = 'one'): Subject {
  const config = parseConfig(neighbors === 'one' ? FORWARD_CONFIG : manyNeighborsConfig(), 'bench', '.');
  const { lpm, nexthops } = compileFib(config);
  const fib = form === 'lpm' ? lpm : openFib(lpm.snapshot(0, (n) => new SharedArrayBuffer(n), 'auto'), form === 'dir16-native' ? nativeDir16Batch : undefined);
  if (form !== 'lpm' && !(fib instanceof Dir16View && fib.native === (form === 'dir16-native'))) throw new Error(`forward bench (${label}): no ${form} FIB`);
  const batch = new Batch();
  const router = new Router(config, fib, nexthops, { clock: new ManualClock(1), batchCapacity: batch.capacity, maxFrame: batch.maxFrame, fastPath });
  // synthetic64 frames go 198.18.x.y -> 198.19.0.1, to the router's MAC 02:00:00:00:00:01.
  const frames = synthetic64(MAX_BATCH);
  if (neighbors === 'many') spreadDestinations(frames.arena, frames.offsets);
  const copy = loadNative().copyFrames;
  const input =
    feed === 'native' && copy !== undefined
      ? new NativeRepeatInput(0, frames.arena, frames.offsets, frames.lengths, copy)
      : // One view per frame, made once: feeding the batch allocates nothing.
        new RepeatInput(0, Array.from({ length: MAX_BATCH }, (_, i) => frames.arena.subarray(frames.offsets[i], frames.offsets[i] + frames.lengths[i])));
  const out = new CountingOutput();
  const loop = new RunLoop({ router, batch, inputs: [input], outputs: [out, out] });
  const step = () => {
    loop.step();
  };
  step();
  if (out.frames !== MAX_BATCH) throw new Error(`forward bench (${label}): ${out.frames} of ${MAX_BATCH} frames forwarded: ${JSON.stringify(router.counters.nonZero())}`);
  if (fastPath && router.fast?.taken !== MAX_BATCH) throw new Error(`forward bench (${label}): the fast path did not take every frame`);
  return { label, step, ns: [] };
}

function cpuNs(step: () => void): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < CHUNK_STEPS; i++) step();
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / (CHUNK_STEPS * MAX_BATCH);
}

/** "Intel(R) Xeon(R) Processor (family 6 model 207), 2 CPUs": the model number tells apart CPUs a VM names alike. */
export function cpuModel(): string {
  let fm = '';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const family = /^cpu family\s*:\s*(\d+)/m.exec(info)?.[1];
    const model = /^model\s*:\s*(\d+)/m.exec(info)?.[1];
    if (family !== undefined && model !== undefined) fm = ` (family ${family} model ${model})`;
  } catch {
    // Not Linux: the name alone.
  }
  return `${os.cpus()[0]?.model ?? 'unknown CPU'}${fm}, ${os.cpus().length} CPUs`;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function runForwardBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const native = nativeAvailable() && loadNative().copyFrames !== undefined;
  const subjects = [
    subject('fast path, native feed', true, native ? 'native' : 'js'),
    subject('full graph, native feed', false, native ? 'native' : 'js'),
    subject('fast path, JS feed', true, 'js'),
    subject('full graph, JS feed', false, 'js'),
    subject('fast path, native feed, dir16 FIB (JS lookup)', true, native ? 'native' : 'js', 'dir16'),
    ...(nativeDir16Available() ? [subject('fast path, native feed, dir16 FIB (native lookup)', true, native ? 'native' : 'js', 'dir16-native')] : []),
    subject(`fast path, native feed, a neighbor per packet (${HOSTS} hosts)`, true, native ? 'native' : 'js', 'lpm', 'many'),
  ];
  const allocs: { heapDeltaBytes: number; gcRuns: number }[] = [];
  for (const s of subjects.slice(0, 2)) allocs.push(await allocationCheck(s.step, 20_000));
  for (let i = 0; i < 10_000; i++) for (const s of subjects) s.step();
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate who goes first, so no subject always follows the same one.
    for (let j = 0; j < subjects.length; j++) {
      const s = subjects[(r + j) % subjects.length];
      s.ns.push(cpuNs(s.step));
    }
  }
  const cpu = cpuModel();
  const rows: BenchRow[] = subjects.map((s, i) => {
    const ns = median(s.ns);
    const a = allocs[i];
    const alloc = a === undefined ? '' : `; ${a.gcRuns} GCs, heap ${a.heapDeltaBytes >= 0 ? '+' : ''}${(a.heapDeltaBytes / 1024).toFixed(0)} KiB over ${((20_000 * MAX_BATCH) / 1e6).toFixed(1)}M packets`;
    return {
      name: 'pipeline/forward-64B',
      subject: `${s.label}${!native && s.label.includes('native') ? ' (addon without copyFrames: JS feed)' : ''}`,
      value: 1e3 / ns,
      unit: 'Mpps',
      nsPerOp: ns,
      notes: `median of ${ROUNDS} chunks of ${(CHUNK_STEPS * MAX_BATCH) / 1000}k packets, CPU time, chunks interleaved with the other rows${alloc}; ${cpu}`,
    };
  });
  const ratios = subjects[1].ns.map((full, r) => full / subjects[0].ns[r]);
  rows.push({ name: 'pipeline/forward-64B ratio', subject: 'fast path / full graph (native feed)', value: median(ratios), unit: 'x', notes: `median of ${ROUNDS} neighbouring-chunk ratios` });
  const nativeLookup = subjects.findIndex((s) => s.label.includes('(native lookup)'));
  if (nativeLookup >= 0) {
    // The dir16 FIB's two batch lookups in the same pipeline: native over JS (above 1: the addon's call pays).
    const dir16 = subjects[4].ns.map((js, r) => js / subjects[nativeLookup].ns[r]);
    rows.push({ name: 'pipeline/forward-64B ratio', subject: 'dir16 FIB: native lookup / JS lookup', value: median(dir16), unit: 'x', notes: `median of ${ROUNDS} neighbouring-chunk ratios (throughput; one destination, so the lookups hit the cache: this weighs the N-API call against the JS loop)` });
  }
  // A neighbor per packet against one for the burst: what finding each packet's neighbor costs the fast path.
  const many = subjects[subjects.length - 1].ns.map((t, r) => t / subjects[0].ns[r]);
  rows.push({ name: 'pipeline/forward-64B ratio', subject: 'a neighbor per packet / one neighbor (time per packet, fast path)', value: median(many), unit: 'x', notes: `median of ${ROUNDS} neighbouring-chunk ratios` });
  const mpps = rows[0].value;
  return {
    rows,
    targets: [
      { description: 'forwarding pipeline >= 15 Mpps per core (64-byte frames, from memory; issue 13)', met: mpps >= 15, measured: `${mpps.toFixed(1)} Mpps` },
      { description: 'forwarding pipeline >= 20 Mpps per core (64-byte frames, from memory)', met: mpps >= 20, measured: `${mpps.toFixed(1)} Mpps` },
      { description: 'no allocation on the hot path (fast path and full graph: 0 GCs)', met: allocs.every((a) => a.gcRuns === 0), measured: allocs.map((a) => `${a.gcRuns} GCs`).join(', ') },
    ],
  };
}
