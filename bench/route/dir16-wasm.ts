// A/B (issue 13 item 4): the dir16 batch lookup as WebAssembly against the
// JS loop workers run (Dir16View), in one process, rounds alternating, thread
// CPU time per pass over 2^20 addresses in bursts of 64, the same tables and
// addresses as bench/route/lpm.ts. A prototype, not a product path: the wasm
// side reads copies of the tables, the addresses and its output in one
// shared WebAssembly.Memory (2 MiB pages advised as hugeSharedBuffer does),
// because a wasm module reads one memory (Node 20: no multi-memory), while
// the published dir16 copy is two SharedArrayBuffers. To ship it, the
// snapshot would allocate root and tbl8 in one shared wasm memory, and the
// pipeline would gather a vector's addresses there.
//
// Why: V8 compiles the JS block to about 15 instructions a lookup (three
// bounds checks), the C loop to 10; wasm memory accesses need no bounds
// checks (guard pages), so the lookup is C-shaped. The loop, unrolled U times
// with constant offsets (U divides the burst):
//   x = addrs[k]; e = root[x >> 8]; if (e > 0x7fff) e = tbl8[(e & 0x7fff) << 8 | x & 255]; out[k] = e - 1
//
// Measured on an Intel Xeon VM (KVM, 2 vCPUs, 480 MiB L3), `taskset -c N`,
// 31 rounds, load 10-10.6, median per-round speedup of wasm over the JS
// loop: U=1 1.02x, U=8 1.15x, U=64 1.26x (vCPU 0) and 1.29x (vCPU 1) on
// RouteViews, 1.34x and 1.36x at 1M; wasm 6.5-7.1 ns a lookup there, where
// the same run of `npm run bench -- lpm` had rte_lpm at 6.2-7.0.
//
// Built and measured as a product path (eleventh session, not merged): the
// dir16 copies in one shared WebAssembly.Memory (root, tbl8, per-thread
// scratch), ip4-lookup gathering each vector's destinations into the scratch
// and one call per vector. In the LPM bench's rounds (paths rotated, per
// vCPU, load 4-5) the wasm path was 0.83-0.95x the JS loop over the same
// tables (0.78-0.92x rte_lpm), and 0.79-0.80x gathered as ip4-lookup does
// (bursts of 256): on cached tables the wasm loop alone is faster (0.57-0.60
// vs 0.90 ns a lookup), but the gather into wasm memory (~0.45 ns a lookup)
// and the call cost more than that saves; the pipeline was 1.01-1.03x. Not
// worth a second table layout, so workers keep the JS loop and this stays
// a prototype row.
//
// Run: node dist/bench/route/dir16-wasm.js [rv|1m] [rounds] [unroll]
import { readFileSync } from 'node:fs';
import { Dir16View } from '../../src/route/fib-dir16.js';
import { loadNative } from '../../src/io/native.js';
import { dir16Setup } from './dir16-setup.js';
import { dir16WasmModule, Wasm } from './dir16-wasm-module.js';

const BURST = 64;

async function main(): Promise<void> {
  const native = loadNative();
  const cpu = native.threadCpuTimeNs;
  if (cpu === undefined || native.adviseHugePages === undefined) throw new Error('dir16-wasm needs the addon (threadCpuTimeNs, adviseHugePages)');
  const which = process.argv[2] ?? 'rv';
  const rounds = Number(process.argv[3] ?? 31);
  const unroll = Number(process.argv[4] ?? 64);
  if (!Number.isInteger(unroll) || unroll < 1 || BURST % unroll !== 0) throw new Error(`unroll must divide ${BURST}, got ${process.argv[4]}`);
  const { root, tbl8, addrs } = dir16Setup(which);
  const shared = addrs;

  const TBL8 = root.byteLength;
  const ADDR = TBL8 + Math.ceil(tbl8.byteLength / 64) * 64;
  const OUT = ADDR + addrs.byteLength;
  const pages = Math.ceil((OUT + 4096) / 65536);
  const mem = new Wasm.Memory({ initial: pages, maximum: pages, shared: true });
  const advised = native.adviseHugePages(new Int32Array(mem.buffer, 0, mem.buffer.byteLength >> 2));
  new Uint16Array(mem.buffer, 0, root.length).set(root);
  new Uint16Array(mem.buffer, TBL8, tbl8.length).set(tbl8);
  new Uint32Array(mem.buffer, ADDR, addrs.length).set(addrs);
  const { instance } = await Wasm.instantiate(dir16WasmModule(pages, TBL8, unroll), { m: { mem } });
  const wasmLookup = instance.exports.lookup as (a: number, o: number, n: number) => void;
  const wout = new Int32Array(mem.buffer, OUT, BURST);

  const jsBatch = new Dir16View(root, tbl8, 1).lookupBatch;
  const bursts: Uint32Array[] = [];
  for (let off = 0; off + BURST <= shared.length; off += BURST) bursts.push(shared.subarray(off, off + BURST));
  const out = new Int32Array(BURST);
  for (let b = 0; b < bursts.length; b++) {
    jsBatch(bursts[b], out, BURST);
    wasmLookup(ADDR + b * BURST * 4, OUT, BURST);
    for (let j = 0; j < BURST; j++) if (out[j] !== wout[j]) throw new Error(`wasm disagrees at burst ${b} lane ${j}: ${wout[j]}, the JS loop ${out[j]}`);
  }
  let sink = 0;
  const passJs = (): number => {
    const c0 = cpu();
    for (let b = 0; b < bursts.length; b++) {
      jsBatch(bursts[b], out, BURST);
      sink += out[BURST - 1];
    }
    return (cpu() - c0) / (bursts.length * BURST);
  };
  const passWasm = (): number => {
    const c0 = cpu();
    for (let b = 0; b < bursts.length; b++) {
      wasmLookup(ADDR + b * BURST * 4, OUT, BURST);
      sink += wout[BURST - 1];
    }
    return (cpu() - c0) / (bursts.length * BURST);
  };
  for (let w = 0; w < 3; w++) {
    passJs();
    passWasm();
  }
  const js: number[] = [];
  const wa: number[] = [];
  const ratio: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const [a, b] = r % 2 === 0 ? [passJs(), passWasm()] : [passWasm(), passJs()].reverse();
    js.push(a);
    wa.push(b);
    ratio.push(a / b);
  }
  const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1];
  const load = readFileSync('/proc/loadavg', 'latin1').split(' ').slice(0, 3).join(' ');
  console.log(`${which}, unroll ${unroll}, ${rounds} rounds, load ${load}, ${advised} bytes advised (sink ${sink & 1})`);
  console.log(`JS loop median ${med(js).toFixed(2)} ns, best ${Math.min(...js).toFixed(2)}; wasm median ${med(wa).toFixed(2)} ns, best ${Math.min(...wa).toFixed(2)}; wasm speedup (median of per-round) ${med(ratio).toFixed(3)}x`);
  console.log(/^AnonHugePages:.*$/m.exec(readFileSync('/proc/self/smaps_rollup', 'latin1'))?.[0]);
}

await main();
