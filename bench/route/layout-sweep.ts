// The measurement behind the LPM's 20-4-8 layout (see src/route/lpm.ts):
// static builds of several stride layouts over the real table, memory and
// batch lookup time for the same 2^20 addresses. Each layout runs in its own
// process so that no layout's JIT feedback slows another's.
//
//   npx tsc -p tsconfig.json && node dist/bench/route/layout-sweep.js [ROUNDS] [grown]
//
// `grown` uses the 1M-prefix table instead of the real one.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { growTable, lookupAddresses, readRouteViews, type PrefixTable } from './table.js';

const LAYOUTS = ['24-8', '16-8-8', '18-6-8', '16-4-4-8', '21-3-8', '20-4-8'];

/** Controlled prefix expansion, shortest prefixes first, child pointers as ~offset. */
function buildStatic(t: PrefixTable, strides: number[]): { tables: Int32Array[]; bytes: number } {
  const order = Array.from({ length: t.count }, (_, i) => i).sort((a, b) => t.len[a] - t.len[b]);
  const tables = strides.map((s, i) => new Int32Array(i === 0 ? 2 ** s : 2 ** s * 1024));
  const used = strides.map((_, i) => (i === 0 ? 1 : 0));
  const depth: number[] = [];
  strides.reduce((d, s) => (depth.push(d + s), d + s), 0);
  const fill = (level: number, start: number, count: number, word: number) => {
    for (let i = start; i < start + count; i++) {
      const e = tables[level][i];
      if (e < 0) fill(level + 1, ~e, 2 ** strides[level + 1], word);
      else tables[level][i] = word;
    }
  };
  for (const k of order) {
    const p = t.prefix[k];
    const len = t.len[k];
    const word = (t.asn[k] % 8) + 1;
    let base = 0;
    for (let level = 0; ; level++) {
      const idx = base + Math.floor(p / 2 ** (32 - depth[level])) % 2 ** strides[level];
      if (len <= depth[level]) {
        fill(level, idx, 2 ** (depth[level] - len), word);
        break;
      }
      let e = tables[level][idx];
      if (e >= 0) {
        const n = level + 1;
        const size = 2 ** strides[n];
        if ((used[n] + 1) * size > tables[n].length) {
          const bigger = new Int32Array(tables[n].length * 2);
          bigger.set(tables[n]);
          tables[n] = bigger;
        }
        const child = used[n]++ * size;
        tables[n].fill(e, child, child + size);
        e = ~child;
        tables[level][idx] = e;
      }
      base = ~e;
    }
  }
  return { tables, bytes: strides.reduce((s, b, i) => s + used[i] * 2 ** b * 4, 0) };
}

type Batch = (addrs: Uint32Array, out: Int32Array) => void;

function lookupFor(tables: Int32Array[], strides: number[]): Batch {
  const sh0 = 32 - strides[0];
  if (strides.length === 2) {
    const [a0, a1] = tables;
    const m1 = 2 ** strides[1] - 1;
    return (addrs, out) => {
      for (let i = 0; i < addrs.length; i++) {
        const a = addrs[i];
        let e = a0[a >>> sh0];
        if (e < 0) e = a1[~e | (a & m1)];
        out[i] = e - 1;
      }
    };
  }
  if (strides.length === 3) {
    const [a0, a1, a2] = tables;
    const sh1 = sh0 - strides[1];
    const m1 = 2 ** strides[1] - 1;
    const m2 = 2 ** strides[2] - 1;
    return (addrs, out) => {
      for (let i = 0; i < addrs.length; i++) {
        const a = addrs[i];
        let e = a0[a >>> sh0];
        if (e < 0) {
          e = a1[~e | ((a >>> sh1) & m1)];
          if (e < 0) e = a2[~e | (a & m2)];
        }
        out[i] = e - 1;
      }
    };
  }
  const [a0, a1, a2, a3] = tables;
  const sh1 = sh0 - strides[1];
  const sh2 = sh1 - strides[2];
  const [m1, m2, m3] = [strides[1], strides[2], strides[3]].map((s) => 2 ** s - 1);
  return (addrs, out) => {
    for (let i = 0; i < addrs.length; i++) {
      const a = addrs[i];
      let e = a0[a >>> sh0];
      if (e < 0) {
        e = a1[~e | ((a >>> sh1) & m1)];
        if (e < 0) {
          e = a2[~e | ((a >>> sh2) & m2)];
          if (e < 0) e = a3[~e | (a & m3)];
        }
      }
      out[i] = e - 1;
    }
  };
}

function runOne(layout: string, grown: boolean): void {
  const strides = layout.split('-').map(Number);
  const real = readRouteViews();
  const t = grown ? growTable(real, 1_000_000, 42) : real;
  const { tables, bytes } = buildStatic(t, strides);
  const addrs = lookupAddresses(t, 1 << 20, 10, 7);
  const out = new Int32Array(addrs.length);
  const f = lookupFor(tables, strides);
  let best = Infinity;
  for (let k = 0; k < 20; k++) {
    const t0 = performance.now();
    f(addrs, out);
    best = Math.min(best, performance.now() - t0);
  }
  let check = 0;
  for (let i = 0; i < out.length; i++) check = (check + out[i]) | 0;
  console.log(JSON.stringify({ layout, mib: bytes / 2 ** 20, nsPerLookup: (best * 1e6) / addrs.length, check }));
}

function main(): void {
  const arg = process.argv[2];
  const grown = process.argv.includes('grown');
  if (arg !== undefined && arg.includes('-')) return runOne(arg, grown);
  const rounds = Number(arg ?? 3);
  const self = fileURLToPath(import.meta.url);
  const results = new Map<string, { mib: number; ns: number[]; check: number }>();
  for (let r = 0; r < rounds; r++) {
    for (const layout of LAYOUTS) {
      const p = spawnSync(process.execPath, [self, layout, ...(grown ? ['grown'] : [])], { encoding: 'utf8' });
      const o = JSON.parse(p.stdout) as { layout: string; mib: number; nsPerLookup: number; check: number };
      const e = results.get(layout) ?? { mib: o.mib, ns: [], check: o.check };
      e.ns.push(o.nsPerLookup);
      results.set(layout, e);
    }
  }
  console.log('layout    MiB   ns/lookup (min..max over rounds)  checksum');
  for (const [layout, e] of results) {
    console.log(`${layout.padEnd(9)} ${e.mib.toFixed(1).padStart(5)}   ${Math.min(...e.ns).toFixed(2)}..${Math.max(...e.ns).toFixed(2)}   ${e.check}`);
  }
}

main();
