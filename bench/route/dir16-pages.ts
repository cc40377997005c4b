// A/B in one process of where the dir16 tables' memory is (issue 13 item 4):
// the tables as published before fd4382a (root and tbl8 each in its own
// hugeSharedBuffer: the root's first and last 2 MiB in 4 KiB pages, the
// groups often wholly) against dir16Snapshot's (both in one buffer, each from
// a 2 MiB boundary: all huge), the current loop over both, rounds
// alternating, thread CPU time per pass over the LPM bench's 2^20 addresses
// in bursts of 64. Prints the medians and the median per-round speedup.
// Run: taskset -c N node dist/bench/route/dir16-pages.js [rv|1m] [rounds]
import { readFileSync } from 'node:fs';
import { Dir16View } from '../../src/route/fib-dir16.js';
import { HUGE_PAGE_BYTES, hugeSharedBuffer } from '../../src/flow/huge-pages.js';
import { loadNative } from '../../src/io/native.js';
import { dir16Setup } from './dir16-setup.js';

type Batch = (addrs: Uint32Array, out: Int32Array, n: number) => void;
const native = loadNative();
const cpu = native.threadCpuTimeNs as () => number;
const addressMod = native.addressMod as (v: Uint8Array, m: number) => number;
const mod = (v: Uint16Array, m: number): number => addressMod(new Uint8Array(v.buffer, v.byteOffset, 1), m);

const which = process.argv[2] ?? '1m';
const rounds = Number(process.argv[3] ?? 41);
const { root, tbl8, addrs } = dir16Setup(which);
const rootOld = new Uint16Array(hugeSharedBuffer(root.byteLength));
rootOld.set(root);
const tbl8Old = new Uint16Array(hugeSharedBuffer(tbl8.byteLength));
tbl8Old.set(tbl8);
const ahp = (): string => /^AnonHugePages:\s*(\d+)/m.exec(readFileSync('/proc/self/smaps_rollup', 'latin1'))?.[1] ?? '?';
console.log(`address mod 2 MiB: now root ${mod(root, HUGE_PAGE_BYTES)}, tbl8 ${mod(tbl8, HUGE_PAGE_BYTES)}; before ${mod(rootOld, HUGE_PAGE_BYTES)}, ${mod(tbl8Old, HUGE_PAGE_BYTES)}; AnonHugePages ${ahp()} kB (both copies)`);
const fns: [string, Batch][] = [
  ['before', new Dir16View(rootOld, tbl8Old, 1).lookupBatch as Batch],
  ['after', new Dir16View(root, tbl8, 2).lookupBatch as Batch],
];
const bursts: Uint32Array[] = [];
for (let o = 0; o + 64 <= addrs.length; o += 64) bursts.push(addrs.subarray(o, o + 64));
// Each side its own pass closure, so each call site stays monomorphic.
const passes = fns.map(([k, fn]) => {
  const p = new Function('fn', 'bursts', 'cpu', `const out = new Int32Array(64); return function () {
    const c0 = cpu(); let acc = 0;
    for (let b = 0; b < bursts.length; b++) { fn(bursts[b], out, 64); acc += out[63]; }
    if (acc === 0.5) console.log(acc);
    return (cpu() - c0) / (bursts.length * 64);
  } // ${k}`)(fn, bursts, cpu) as () => number;
  return [k, p] as const;
});
for (let w = 0; w < 3; w++) for (const [, p] of passes) p();
const ns: Record<string, number[]> = { before: [], after: [] };
const ratio: number[] = [];
for (let r = 0; r < rounds; r++) {
  const t: Record<string, number> = {};
  for (const [k, p] of r % 2 === 0 ? passes : [...passes].reverse()) t[k] = p();
  for (const k of Object.keys(t)) ns[k].push(t[k]);
  ratio.push(t.before / t.after);
}
const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
const q = (a: number[], f: number) => sorted(a)[Math.floor(f * (a.length - 1))];
const load = readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');
console.log(`${which}, ${rounds} rounds, load ${load}: before ${q(ns.before, 0.5).toFixed(2)} ns, after ${q(ns.after, 0.5).toFixed(2)} ns (medians); per-round speedup median ${q(ratio, 0.5).toFixed(3)}x (quartiles ${q(ratio, 0.25).toFixed(3)}-${q(ratio, 0.75).toFixed(3)})`);
