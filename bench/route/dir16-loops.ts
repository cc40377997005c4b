// A/B of dir16 batch-lookup loop shapes in one process (issue 13 item 4):
// the same published tables and addresses as bench/route/lpm.ts, each
// variant compiled as its own function literal over the tables (as
// Dir16View does), rounds alternating variant by variant, thread CPU time
// per pass over 2^20 addresses in bursts of 64. Prints the median ns per
// lookup of each variant and the median of its per-round ratio to the
// current loop (Dir16View's), the share of lookups that reach a tbl8 group
// and the process's AnonHugePages. Rounds are timed with the addon's
// threadCpuTimeNs (CLOCK_THREAD_CPUTIME_ID): /proc/thread-self/schedstat
// moves in 4 ms steps, as long as a round.
// Run: node dist/bench/route/dir16-loops.js [rv|1m] [rounds] [variant,...]
import { readFileSync } from 'node:fs';
import { Dir16View } from '../../src/route/fib-dir16.js';
import { loadNative } from '../../src/io/native.js';
import { dir16Setup } from './dir16-setup.js';

type Batch = (addrs: Uint32Array, out: Int32Array, n: number) => void;

const threadCpuNs = loadNative().threadCpuTimeNs as () => number;

const VARIANTS: Record<string, string> = {
  // One address per iteration, as the C loop.
  simple: `return function (addrs, out, n) {
    for (let i = 0; i < n; i++) {
      const a = addrs[i];
      let e = root[a >>> 8];
      if (e > 0x7fff) e = tbl8[((e & 0x7fff) << 8) | (a & 255)];
      out[i] = e - 1;
    }
  };`,
  // Two per iteration.
  two: `return function (addrs, out, n) {
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const a = addrs[i], b = addrs[i + 1];
      let e = root[a >>> 8], f = root[b >>> 8];
      if (e > 0x7fff) e = tbl8[((e & 0x7fff) << 8) | (a & 255)];
      if (f > 0x7fff) f = tbl8[((f & 0x7fff) << 8) | (b & 255)];
      out[i] = e - 1; out[i + 1] = f - 1;
    }
    for (; i < n; i++) {
      const a = addrs[i];
      let e = root[a >>> 8];
      if (e > 0x7fff) e = tbl8[((e & 0x7fff) << 8) | (a & 255)];
      out[i] = e - 1;
    }
  };`,
  // Simple loop, tbl8 index masked to a power-of-two bound (tbl8m is a
  // power-of-two-long view), loop bound clamped to the arrays' lengths.
  masked: `return function (addrs, out, n) {
    const m = Math.min(n, addrs.length, out.length);
    for (let i = 0; i < m; i++) {
      const a = addrs[i];
      let e = root[a >>> 8];
      if (e > 0x7fff) e = tbl8[((e & 0x7fff) << 8) | (a & 255)];
      out[i] = e - 1;
    }
  };`,
  // Four per iteration, loads first.
  four: `return function (addrs, out, n) {
    let i = 0;
    for (; i + 3 < n; i += 4) {
      const a = addrs[i], b = addrs[i + 1], c = addrs[i + 2], d = addrs[i + 3];
      let e = root[a >>> 8], f = root[b >>> 8], g = root[c >>> 8], h = root[d >>> 8];
      if (e > 0x7fff) e = tbl8[((e & 0x7fff) << 8) | (a & 255)];
      if (f > 0x7fff) f = tbl8[((f & 0x7fff) << 8) | (b & 255)];
      if (g > 0x7fff) g = tbl8[((g & 0x7fff) << 8) | (c & 255)];
      if (h > 0x7fff) h = tbl8[((h & 0x7fff) << 8) | (d & 255)];
      out[i] = e - 1; out[i + 1] = f - 1; out[i + 2] = g - 1; out[i + 3] = h - 1;
    }
    for (; i < n; i++) {
      const a = addrs[i];
      let e = root[a >>> 8];
      if (e > 0x7fff) e = tbl8[((e & 0x7fff) << 8) | (a & 255)];
      out[i] = e - 1;
    }
  };`,
};


/** A batch function: `blocks` (unrolled code for the first whole blocks of a burst), then one address at a time for the rest. */
function withTail(blocks: string): string {
  return `return function (addrs, out, n) {
    let i = 0;
${blocks}
    for (; i < n; i++) {
      const a = addrs[i];
      let e = root[a >>> 8];
      if (e > 0x7fff) e = tbl8[((e & 0x7fff) << 8) | (a & 255)];
      out[i] = e - 1;
    }
  };`;
}

/** Unrolled blocks of `blk` with constant indices, `block(s)` the code of the block starting at s. */
function blocksOf(blk: number, block: (s: number) => string): string {
  let blocks = '';
  for (let s = 256 - blk; s >= 0; s -= blk) blocks = `    if (n >= ${s + blk}) {\n${block(s)}\n      i = ${s + blk};\n${blocks}    }\n`;
  return withTail(blocks);
}

// Unrolled blocks of 64 with constant indices (as Dir16View), in other phase shapes.
function unrolled(block: (s: number) => string): string {
  return blocksOf(64, block);
}
const L = (s: number, f: (k: number) => string, rev = false) => {
  const ks = Array.from({ length: 64 }, (_, k) => s + k);
  if (rev) ks.reverse();
  return ks.map(f).join('\n');
};
// Root loads straight from addrs (no spilled address), then one finishing pass that re-reads the address only on the rare tbl8 path.
VARIANTS.fused = unrolled((s) => [
  L(s, (k) => `      const e${k} = root[addrs[${k}] >>> 8];`),
  L(s, (k) => `      out[${k}] = (e${k} > 0x7fff ? tbl8[((e${k} & 0x7fff) << 8) | (addrs[${k}] & 255)] : e${k}) - 1;`),
].join('\n'));
// The same, highest index first (one bounds check may cover the rest).
VARIANTS.fusedrev = unrolled((s) => [
  L(s, (k) => `      const e${k} = root[addrs[${k}] >>> 8];`, true),
  L(s, (k) => `      out[${k}] = (e${k} > 0x7fff ? tbl8[((e${k} & 0x7fff) << 8) | (addrs[${k}] & 255)] : e${k}) - 1;`, true),
].join('\n'));
// Root entries into out, then a pass over out (no spills at all).
VARIANTS.viaout = unrolled((s) => [
  L(s, (k) => `      out[${k}] = root[addrs[${k}] >>> 8];`),
  L(s, (k) => `      { const e = out[${k}]; out[${k}] = (e > 0x7fff ? tbl8[((e & 0x7fff) << 8) | (addrs[${k}] & 255)] : e) - 1; }`),
].join('\n'));
// Software-pipelined: root loads run LAG addresses ahead of the finishing work.
for (const lag of [16, 32]) {
  VARIANTS[`lag${lag}`] = unrolled((s) => {
    const lines: string[] = [];
    for (let k = 0; k < lag; k++) lines.push(`      const e${s + k} = root[addrs[${s + k}] >>> 8];`);
    for (let k = 0; k < 64; k++) {
      if (k + lag < 64) lines.push(`      const e${s + k + lag} = root[addrs[${s + k + lag}] >>> 8];`);
      lines.push(`      out[${s + k}] = (e${s + k} > 0x7fff ? tbl8[((e${s + k} & 0x7fff) << 8) | (addrs[${s + k}] & 255)] : e${s + k}) - 1;`);
    }
    return lines.join('\n');
  });
}

// Reversed root pass, forward finishing pass.
VARIANTS.revfwd = unrolled((s) => [
  L(s, (k) => `      const e${k} = root[addrs[${k}] >>> 8];`, true),
  L(s, (k) => `      out[${k}] = (e${k} > 0x7fff ? tbl8[((e${k} & 0x7fff) << 8) | (addrs[${k}] & 255)] : e${k}) - 1;`),
].join('\n'));
// viaout, highest index first.
VARIANTS.viaoutrev = unrolled((s) => [
  L(s, (k) => `      out[${k}] = root[addrs[${k}] >>> 8];`, true),
  L(s, (k) => `      { const e = out[${k}]; out[${k}] = (e > 0x7fff ? tbl8[((e & 0x7fff) << 8) | (addrs[${k}] & 255)] : e) - 1; }`, true),
].join('\n'));

// Leaves final in the first pass; the second pass rewrites only groups.
VARIANTS.viaout1 = unrolled((s) => [
  L(s, (k) => `      out[${k}] = root[addrs[${k}] >>> 8] - 1;`),
  L(s, (k) => `      if (out[${k}] >= 0x7fff) out[${k}] = tbl8[((out[${k}] + 1 & 0x7fff) << 8) | (addrs[${k}] & 255)] - 1;`),
].join('\n'));
// viaout with the root index masked to 24 bits (a type V8 can see is in bounds).
VARIANTS.viaoutm = unrolled((s) => [
  L(s, (k) => `      out[${k}] = root[(addrs[${k}] >>> 8) & 0xffffff];`),
  L(s, (k) => `      { const e = out[${k}]; out[${k}] = (e > 0x7fff ? tbl8[((e & 0x7fff) << 8) | (addrs[${k}] & 255)] : e) - 1; }`),
].join('\n'));
VARIANTS.viaout1m = unrolled((s) => [
  L(s, (k) => `      out[${k}] = root[(addrs[${k}] >>> 8) & 0xffffff] - 1;`),
  L(s, (k) => `      if (out[${k}] >= 0x7fff) out[${k}] = tbl8[((out[${k}] + 1 & 0x7fff) << 8) | (addrs[${k}] & 255)] - 1;`),
].join('\n'));

// The block shape before viaout: 64 addresses and 64 entries in variables (spilled to the stack).
VARIANTS.spill = unrolled((s) => [
  L(s, (k) => `      const a${k} = addrs[${k}];`),
  L(s, (k) => `      let e${k} = root[a${k} >>> 8];`),
  L(s, (k) => `      if (e${k} > 0x7fff) e${k} = tbl8[((e${k} & 0x7fff) << 8) | (a${k} & 255)];`),
  L(s, (k) => `      out[${k}] = e${k} - 1;`),
].join('\n'));

// viaout in blocks of 32: half the instructions between a block's root loads and its finishing pass.
VARIANTS.b32 = blocksOf(32, (s) => {
  const ks = Array.from({ length: 32 }, (_, k) => s + k);
  return [
    ...ks.map((k) => `      out[${k}] = root[addrs[${k}] >>> 8];`),
    ...ks.map((k) => `      { const e = out[${k}]; out[${k}] = (e > 0x7fff ? tbl8[((e & 0x7fff) << 8) | (addrs[${k}] & 255)] : e) - 1; }`),
  ].join('\n');
});

// Intel Xeon VM (KVM, 2 vCPUs, 480 MiB L3), taskset -c N, 41 rounds, load
// 10-12, median per-round speedup over the current loop: spill 1.05-1.11x on
// RouteViews (vCPU 0 and 1), 1.03x at 1M (the AMD EPYC measured the opposite);
// split 1.02-1.03x, split2 1.01-1.06x, b32 0.95x. None kept (see
// docs/ARCHITECTURE.md, the LPM row).
// Addresses first, root entries into out, then the finishing pass (spill's address pass, viaout's entries).
VARIANTS.split = unrolled((s) => [
  L(s, (k) => `      const a${k} = addrs[${k}];`),
  L(s, (k) => `      out[${k}] = root[a${k} >>> 8];`),
  L(s, (k) => `      { const e = out[${k}]; out[${k}] = (e > 0x7fff ? tbl8[((e & 0x7fff) << 8) | (a${k} & 255)] : e) - 1; }`),
].join('\n'));
// Addresses first, then spill's shape without the separate store pass.
VARIANTS.split2 = unrolled((s) => [
  L(s, (k) => `      const a${k} = addrs[${k}];`),
  L(s, (k) => `      const e${k} = root[a${k} >>> 8];`),
  L(s, (k) => `      out[${k}] = (e${k} > 0x7fff ? tbl8[((e${k} & 0x7fff) << 8) | (a${k} & 255)] : e${k}) - 1;`),
].join('\n'));

// Issue 13 item 4, AMD EPYC family 26 (2 vCPUs, load 4-7), 15-21 rounds,
// median per-round speedup over the current loop (viaout's shape), 1M table
// (tbl8 share 1.89%, 209,945 distinct root lines) and RouteViews (1.54%,
// 198,107): compact 0.75x (1M) and 0.77x (rv); scratch on the 1M table
// 1.013x, 1.016x (vCPU 1, 0; 21 rounds), 0.984x, 1.015x (41 rounds), on
// RouteViews 1.066x, 1.005x and 1.048x, 1.083x (vCPU 1, 0): not better on
// 1M; scratch16 0.72x; simple 0.62x (1M), 0.40x (rv): its
// code reloads and checks addrs' and out's maps, lengths and data pointers
// every iteration (~30 instructions per lookup). None kept. What was slow on
// the 1M table was the pages under the tables, not the loop (fib-dir16.ts,
// hugeAlignedTables).
// Branchless second pass: every entry gets its leaf answer (e - 1) and its
// index is appended to a list whose length grows by the entry's group bit,
// then only the listed ones (1.5-2% of lookups) read their tbl8 group: no
// branch per lookup on a loaded value, one short loop per block instead.
VARIANTS.compact = 'const sel = new Int32Array(72);\n' + unrolled((s) => [
  L(s, (k) => `      out[${k}] = root[addrs[${k}] >>> 8];`),
  '      let m = 0;',
  L(s, (k) => `      { const e = out[${k}]; out[${k}] = e - 1; sel[m] = ${k}; m += e >>> 15; }`),
  '      for (let j = 0; j < m; j++) { const k = sel[j]; out[k] = tbl8[((out[k] + 1 & 0x7fff) << 8) | (addrs[k] & 255)] - 1; }',
].join('\n'));

// viaout with the root entries in a scratch array of the closure's instead
// of `out`: a constant typed array (function context specialization) indexed
// by constants needs no bounds check at all, so the first pass, the one
// whose loads must all be in flight at once, is shorter by one compare and
// branch per lookup (the check on `out` moves to the second pass).
VARIANTS.scratch = 'const sc = new Int32Array(64);\n' + unrolled((s) => [
  L(s, (k) => `      sc[${k - s}] = root[addrs[${k}] >>> 8];`),
  L(s, (k) => `      { const e = sc[${k - s}]; out[${k}] = (e > 0x7fff ? tbl8[((e & 0x7fff) << 8) | (addrs[${k}] & 255)] : e) - 1; }`),
].join('\n'));
VARIANTS.scratch16 = 'const sc = new Uint16Array(64);\n' + unrolled((s) => [
  L(s, (k) => `      sc[${k - s}] = root[addrs[${k}] >>> 8];`),
  L(s, (k) => `      { const e = sc[${k - s}]; out[${k}] = (e > 0x7fff ? tbl8[((e & 0x7fff) << 8) | (addrs[${k}] & 255)] : e) - 1; }`),
].join('\n'));

let serial = 0;
function compile(src: string, root: Uint16Array, tbl8: Uint16Array): Batch {
  return (new Function('root', 'tbl8', `${src}\n// v${++serial}`) as (r: Uint16Array, t: Uint16Array) => Batch)(root, tbl8);
}

const which = process.argv[2] ?? 'rv';
const rounds = Number(process.argv[3] ?? 15);
const only = process.argv[4]?.split(',');
const { table: t, root, tbl8, addrs: shared } = dir16Setup(which);
const BURST = 64;
const bursts: Uint32Array[] = [];
for (let off = 0; off + BURST <= shared.length; off += BURST) bursts.push(shared.subarray(off, off + BURST));

const fns: [string, Batch][] = [['current', new Dir16View(root, tbl8, 1).lookupBatch as Batch]];
for (const [k, src] of Object.entries(VARIANTS)) if (only === undefined || only.includes(k)) fns.push([k, compile(src, root, tbl8)]);

// Same answers.
const ref = new Int32Array(BURST);
const got = new Int32Array(BURST);
for (const [k, fn] of fns) {
  for (let b = 0; b < bursts.length; b += 7) {
    fns[0][1](bursts[b], ref, BURST);
    fn(bursts[b], got, BURST);
    for (let j = 0; j < BURST; j++) if (ref[j] !== got[j]) throw new Error(`${k} disagrees`);
  }
}

// Each variant gets its own pass closure, so each call site stays monomorphic.
const passes = fns.map(([k, fn]) => {
  const out = new Int32Array(BURST);
  const p = new Function('fn', 'bursts', 'out', 'cpu', 'BURST', `return function () {
    const c0 = cpu(); let acc = 0;
    for (let b = 0; b < bursts.length; b++) { fn(bursts[b], out, BURST); acc += out[BURST - 1]; }
    if (acc === 0.5) console.log(acc);
    return (cpu() - c0) / (bursts.length * BURST);
  } // ${k}`)(fn, bursts, out, threadCpuNs, BURST) as () => number;
  return [k, p] as const;
});
for (let w = 0; w < 3; w++) for (const [, p] of passes) p();
const ns: Record<string, number[]> = {};
const ratio: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? passes : [...passes].reverse();
  const this_: Record<string, number> = {};
  for (const [k, p] of order) this_[k] = p();
  for (const [k] of passes) {
    (ns[k] ??= []).push(this_[k]);
    (ratio[k] ??= []).push(this_.current / this_[k]);
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const load = readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');
console.log(`${which}: ${t.count} prefixes, ${tbl8.length >> 8} groups, ${rounds} rounds, load ${load}`);
for (const [k] of passes) console.log(`${k.padEnd(10)} median ${med(ns[k]).toFixed(2)} ns  best ${Math.min(...ns[k]).toFixed(2)}  speedup vs current (median of per-round) ${med(ratio[k]).toFixed(3)}x`);
{
  let g = 0;
  for (let i = 0; i < shared.length; i++) if (root[shared[i] >>> 8] > 0x7fff) g++;
  const lines = new Set<number>();
  for (let i = 0; i < shared.length; i++) lines.add(shared[i] >>> 13);
  console.log(`tbl8 share ${((100 * g) / shared.length).toFixed(2)}%, distinct root lines ${lines.size}`);
}
console.log(/^AnonHugePages:.*$/m.exec(readFileSync('/proc/self/smaps_rollup', 'latin1'))?.[0]);
