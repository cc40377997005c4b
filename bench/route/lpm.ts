// LPM benchmark: lookups (single and batch), memory, build, update and
// routes-file load rates on the real RouteViews table (694k prefixes) and on a
// 1M-prefix table grown with the same length mix, side by side with DPDK's
// rte_lpm and rte_fib DIR-24-8 on the same routes and the same lookup
// addresses, in the same run.
//
// Lookup addresses: 2^20 per table, 90% a random host inside a random prefix,
// 10% uniformly random (dpdk-test-fib's own recipe), from a fixed seed. Both
// sides read the same addresses in the same order, in bursts of 64
// (dpdk-test-fib's burst); the peer reads them from one malloc'd array and
// writes one output array as long, ours reads subarrays of one
// SharedArrayBuffer and writes a 64-entry output. Ours are looked up in a
// worker thread through the view a data plane worker opens on the snapshot
// (dir16 here, with 2 MiB pages advised as FibMirror allocates them).
//
// The ratios: the peer (bench/route/dpdk-lpm-rounds.c, built with cc against
// libdpdk) builds its tables once and then runs rounds on demand; our worker
// does too, and the two alternate in blocks of 2 rounds (20 blocks, who goes
// first alternates). Each round is one pass over the addresses timed by the
// thread's CPU time on both sides. The ratio is the median of the per-block
// ratios of medians: on this 2-vCPU machine shared by several jobs, one
// subject's figure swung 2x between runs minutes apart, so only rounds taken
// side by side compare. Both sides' tables are on 2 MiB pages (ours advised
// by hugeSharedBuffer, the peer's from an external malloc heap over advised
// memory: EAL's --no-huge memory is 4 KiB shmem pages, and under KVM a TLB
// miss is a two-dimensional walk, which costs rte_lpm's 64 MiB tbl24 more
// than our 32 MiB root when other jobs evict the page tables from the
// caches). Where: the vCPUs of a VM differ (one project VM's vCPU 1 read
// random memory ~25% slower than its vCPU 0), so without a CPU restriction
// each block runs both sides on each vCPU in turn, pinned (our worker thread
// by taskset on its thread id, the peer by sched_setaffinity on request), and
// each vCPU gets its own ratio; the overall figure is the worst vCPU's
// (cpu-pinning.ts says why). Under taskset -c N both sides run on vCPU N;
// under a narrower set of several CPUs both float over it. The notes give
// each side's AnonHugePages, its median by the CPU a round ended on, and the
// CPU model and TSC beside each ratio. Without libdpdk, dpdk-test-fib (one rdtsc pass, once
// per table) is the fallback peer. The "wasm prototype" row is not what
// workers run: the same lookup as WebAssembly over copies of the tables
// (dir16-wasm-module.ts), timed in the same rounds to show what a
// bounds-check-free loop would give. The "dataplane single/batch" rows are
// benchmark.js means of wall time, not comparable with the rounds.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lpm } from '../../src/route/lpm.js';
import { dir16Views } from '../../src/route/fib-dir16.js';
import { hugeSharedBuffer } from '../../src/flow/huge-pages.js';
import { formatPrefix } from '../../src/route/prefix.js';
import { parseRoutesText } from '../../src/config/routes.js';
import { parseConfig } from '../../src/config/load.js';
import { compileFib } from '../../src/route/fib.js';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { cpuLabel, cpuPlan, OVERALL_RULE, pairingSchedule, parseCpuinfo, summarizeRatios, type CpuInfo, type CpuPlan, type CpuSlot, type RatioSummary } from './cpu-pinning.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';
import { allowedCpus, buildDpdkRounds, dpdkCommandLine, DpdkRoundsServer, findDpdkTestFib, runDpdkTestFib, writeDpdkInputs, type DpdkFibResult, type DpdkRound, type DpdkServeReady } from './dpdk-fib.js';
import { measureLookupsServed, ROUNDS, THREAD_CLOCK, type LookupFigures, type ServedRounds } from './lookup-worker.js';
import { execFileSync } from 'node:child_process';
import { measureLookupsInWorker } from './lookup-worker.js';
import { gatewayFor, growTable, lookupAddresses, prng, readRouteViews, type PrefixTable } from './table.js';

const BURST = 64;
const CPUINFO = (() => {
  try {
    return parseCpuinfo(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return new Map<number, CpuInfo>();
  }
})();

/** The online CPU list (/sys/devices/system/cpu/online), null when unknown. */
function onlineCpus(): string | null {
  try {
    return readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  } catch {
    return null;
  }
}

/** "vCPU 0 1.07x (CPU model, TSC), vCPU 1 1.05x (...); overall 1.05x (the worst vCPU ...)". */
function sameCpuRatios(x: Interleaved, tscHz: number): string {
  const per = x.vsLpm.perSlot.map((s, i) => `${s.label} ${s.ratio.toFixed(2)}x (${cpuLabel(CPUINFO, x.slots[i].slot.pin, tscHz)})`).join(', ');
  if (x.slots.length === 1) return `ours / rte_lpm ${per}; ${x.plan.why}`;
  return `ours / rte_lpm ${per}; overall ${x.vsLpm.overall.toFixed(2)}x, ${OVERALL_RULE}: geometric mean ${x.vsLpm.geomean.toFixed(2)}x`;
}
const LOOKUPS = 1 << 20;
const MiB = 2 ** 20;
/** dpdk-test-fib times one pass over its lookup file: the address set is written this many times. */
const DPDK_PASSES = 4;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function nextHops(t: PrefixTable): Uint32Array {
  const nh = new Uint32Array(t.count);
  for (let i = 0; i < t.count; i++) nh[i] = t.asn[i] % 8;
  return nh;
}

function build(t: PrefixTable, nh: Uint32Array): { lpm: Lpm; seconds: number } {
  const t0 = performance.now();
  const lpm = new Lpm({ expectedPrefixes: t.count });
  for (let i = 0; i < t.count; i++) lpm.insert(t.prefix[i], t.len[i], nh[i]);
  lpm.trim();
  return { lpm, seconds: (performance.now() - t0) / 1000 };
}

/** Deletes then re-inserts k random installed routes (best of 3 rounds); returns updates/s and replaces/s. */
function measureUpdates(lpm: Lpm, t: PrefixTable, nh: Uint32Array, k = 100_000): { updates: number; replaces: number } {
  const rnd = prng(99);
  const idx = new Uint32Array(k);
  const picked = new Set<number>();
  for (let i = 0; i < k; ) {
    const j = rnd() % t.count;
    if (!picked.has(j)) {
      picked.add(j);
      idx[i++] = j;
    }
  }
  let updates = 0;
  let replaces = 0;
  for (let round = 0; round < 3; round++) {
    let t0 = performance.now();
    for (let i = 0; i < k; i++) lpm.delete(t.prefix[idx[i]], t.len[idx[i]]);
    for (let i = 0; i < k; i++) lpm.insert(t.prefix[idx[i]], t.len[idx[i]], nh[idx[i]]);
    updates = Math.max(updates, (2 * k) / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    for (let i = 0; i < k; i++) lpm.insert(t.prefix[idx[i]], t.len[idx[i]], (nh[idx[i]] + 1 + round) % 8);
    replaces = Math.max(replaces, k / ((performance.now() - t0) / 1000));
  }
  for (let i = 0; i < k; i++) lpm.insert(t.prefix[idx[i]], t.len[idx[i]], nh[idx[i]]);
  return { updates, replaces };
}

/** Bytes DIR-24-8 needs: a 2^24-entry tbl24 of 4-byte entries plus one 256-entry tbl8 per /24 holding a longer prefix. */
function dir24Bytes(t: PrefixTable): { bytes: number; tbl8: number } {
  const blocks = new Set<number>();
  for (let i = 0; i < t.count; i++) if (t.len[i] > 24) blocks.add(t.prefix[i] >>> 8);
  return { bytes: (1 << 24) * 4 + blocks.size * 256 * 4, tbl8: blocks.size };
}

const mlps = (perSec: number) => perSec / 1e6;

/** CPU model, clock, caches and TSC flags: the ratios hold only on the machine they were measured on. */
function machineLine(): string {
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return 'cpu unknown';
  }
  const field = (k: string) => new RegExp(`^${k}\\s*: (.*)$`, 'm').exec(cpuinfo)?.[1] ?? '?';
  const flags = field('flags').split(' ');
  const tsc = ['constant_tsc', 'nonstop_tsc', 'tsc_known_freq'].filter((f) => flags.includes(f)).join(' ') || 'no invariant TSC flags';
  let caches: string;
  try {
    const out = execFileSync('lscpu', ['-C=NAME,ONE-SIZE,ALL-SIZE'], { encoding: 'utf8' });
    caches = out.split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/).join(' ')).join(', ');
  } catch {
    caches = 'lscpu unavailable';
  }
  return `${field('model name')} at ${Number(field('cpu MHz')).toFixed(0)} MHz, ${flags.includes('hypervisor') ? 'virtualized, ' : ''}${tsc}; caches (name, per instance, total) ${caches}`;
}


/** Fastest and median of a set of ns-per-lookup rounds. */
interface RoundStats {
  min: number;
  median: number;
}

function stats(xs: number[]): RoundStats {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[s.length >> 1] };
}

/** One slot's rounds (a vCPU, or the floating allowed set): both sides' statistics and the rounds that ended elsewhere. */
interface SlotFigures {
  slot: CpuSlot;
  js: RoundStats;
  native?: RoundStats;
  wasm?: RoundStats;
  lpm: RoundStats;
  fib: RoundStats;
  dir16: RoundStats;
  /** Rounds (ours and the peer's) that ended on another CPU than the slot's pin: 0 when pinning held. */
  offCpu: number;
  rounds: number;
}

interface Interleaved {
  blocks: number;
  perBlock: number;
  plan: CpuPlan;
  /** Over every slot's rounds. */
  js: RoundStats;
  native?: RoundStats;
  lpm: RoundStats;
  fib: RoundStats;
  dir16: RoundStats;
  slots: SlotFigures[];
  /** Per slot, the median of its per-block ratios (peer's median ns / ours: each block's rounds ran side by side, on the same vCPU); overall, the worst slot's. */
  vsLpm: RatioSummary;
  vsFib: RatioSummary;
  nativeVsLpm?: RatioSummary;
  /** The wasm prototype (dir16-wasm-module.ts) / rte_lpm, per slot as vsLpm. */
  wasm?: RoundStats;
  wasmVsLpm?: RatioSummary;
  /** Median ns per lookup by the CPU the rounds ended on, ours (JS) and rte_lpm's. */
  byCpu: string;
}

/** "CPU0 12 rounds 8.1 ns, CPU1 ..." for rounds and the CPUs they ended on. */
function perCpu(ns: number[], cpus: number[]): string {
  const by = new Map<number, number[]>();
  ns.forEach((x, i) => by.set(cpus[i], [...(by.get(cpus[i]) ?? []), x]));
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([c, xs]) => `CPU${c} ${xs.length} rounds ${stats(xs).median.toFixed(2)} ns`).join(', ');
}

/** Blocks of rounds, ours and the peer's alternating (per slot, see pairingSchedule): on a shared machine only rounds taken side by side compare. */
const BLOCKS = 20;
const PER_BLOCK = 2;

async function interleave(ours: { rounds(r: number, cpu?: number): Promise<ServedRounds> }, peer: { rounds(r: number, cpu?: number): Promise<DpdkRound[]> }, plan: CpuPlan): Promise<Interleaved> {
  const acc = plan.slots.map(() => ({ js: [] as number[], nat: [] as number[], lpm: [] as number[], fib: [] as number[], d16: [] as number[], vsLpm: [] as number[], vsFib: [] as number[], natVsLpm: [] as number[], wa: [] as number[], waVsLpm: [] as number[], off: 0 }));
  const jsCpus: number[] = [];
  const peerCpus: number[] = [];
  const allJs: number[] = [];
  const allLpm: number[] = [];
  for (const step of pairingSchedule(BLOCKS, plan.slots.length)) {
    const pin = plan.slots[step.slot].pin;
    const a = acc[step.slot];
    let o: ServedRounds;
    let p: DpdkRound[];
    if (step.first === 'ours') {
      o = await ours.rounds(PER_BLOCK, pin);
      p = await peer.rounds(PER_BLOCK, pin);
    } else {
      p = await peer.rounds(PER_BLOCK, pin);
      o = await ours.rounds(PER_BLOCK, pin);
    }
    a.js.push(...o.js);
    a.nat.push(...o.native);
    a.wa.push(...o.wasm);
    a.lpm.push(...p.map((x) => x.lpm));
    a.fib.push(...p.map((x) => x.fib));
    a.d16.push(...p.map((x) => x.dir16));
    allJs.push(...o.js);
    allLpm.push(...p.map((x) => x.lpm));
    jsCpus.push(...o.cpus);
    peerCpus.push(...p.map((x) => x.cpu));
    if (pin !== undefined) a.off += o.cpus.filter((c) => c !== pin).length + p.filter((x) => x.cpu !== pin).length;
    const ojs = stats(o.js).median;
    const plpm = stats(p.map((x) => x.lpm)).median;
    a.vsLpm.push(plpm / ojs);
    a.vsFib.push(stats(p.map((x) => x.fib)).median / ojs);
    if (o.native.length > 0) a.natVsLpm.push(plpm / stats(o.native).median);
    if (o.wasm.length > 0) a.waVsLpm.push(plpm / stats(o.wasm).median);
  }
  const labels = plan.slots.map((s) => s.label);
  const all = (k: 'js' | 'nat' | 'wa' | 'lpm' | 'fib' | 'd16') => acc.flatMap((a) => a[k]);
  const hasNative = acc.every((a) => a.natVsLpm.length > 0);
  const hasWasm = acc.every((a) => a.waVsLpm.length > 0);
  return {
    blocks: BLOCKS,
    perBlock: PER_BLOCK,
    plan,
    js: stats(all('js')),
    native: hasNative ? stats(all('nat')) : undefined,
    lpm: stats(all('lpm')),
    fib: stats(all('fib')),
    dir16: stats(all('d16')),
    slots: plan.slots.map((slot, i) => ({
      slot,
      js: stats(acc[i].js),
      native: acc[i].nat.length > 0 ? stats(acc[i].nat) : undefined,
      wasm: acc[i].wa.length > 0 ? stats(acc[i].wa) : undefined,
      lpm: stats(acc[i].lpm),
      fib: stats(acc[i].fib),
      dir16: stats(acc[i].d16),
      offCpu: acc[i].off,
      rounds: acc[i].js.length + acc[i].lpm.length,
    })),
    vsLpm: summarizeRatios(labels, acc.map((a) => a.vsLpm)),
    vsFib: summarizeRatios(labels, acc.map((a) => a.vsFib)),
    nativeVsLpm: hasNative ? summarizeRatios(labels, acc.map((a) => a.natVsLpm)) : undefined,
    wasm: hasWasm ? stats(all('wa')) : undefined,
    wasmVsLpm: hasWasm ? summarizeRatios(labels, acc.map((a) => a.waVsLpm)) : undefined,
    byCpu: `ours ${perCpu(allJs, jsCpus)}; rte_lpm ${perCpu(allLpm, peerCpus)}`,
  };
}

interface TableFigures {
  batch: number;
  /** Ours / rte_lpm and ours / DIR-24-8, median CPU-time rounds on both sides (NaN without the peer). */
  vsLpm: number;
  vsFib: number;
  /** The addon's batch lookup / rte_lpm, median rounds (NaN when either is missing). */
  nativeVsLpm: number;
  /** The wasm prototype / rte_lpm (worst slot; NaN when not measured). */
  wasmVsLpm: number;
  /** "vCPU 0 1.07x (CPU, TSC), vCPU 1 ...; overall ...": the same-vCPU ratios with the CPU beside each (empty without the peer). */
  ratiosText: string;
  usedMiB: number;
  totalMiB: number;
  updates: number;
  dpdk: DpdkFibResult | string;
}

async function benchTable(label: string, t: PrefixTable, dir: string, rows: BenchRow[], dpdkBin: string | undefined, roundsBin: string | undefined, plan: CpuPlan): Promise<TableFigures> {
  const nh = nextHops(t);
  gc();
  const { lpm, seconds } = build(t, nh);
  rows.push({ name: `lpm/build/${label}`, subject: 'dataplane', value: t.count / seconds / 1e6, unit: 'Minserts/s', nsPerOp: (seconds * 1e9) / t.count, notes: `${t.count} prefixes into an empty table, then trim(), in ${(seconds * 1000).toFixed(0)} ms` });

  const mem = lpm.memory();
  const levels = mem.levels.map((l) => `L${l.level}(${l.bits}b) ${l.plies} plies ${(l.usedBytes / MiB).toFixed(1)} MiB`).join(', ');
  rows.push({ name: `lpm/memory/${label}`, subject: 'dataplane', value: mem.lookupUsedBytes / MiB, unit: 'MiB', notes: `published lookup tables: ${levels}; working copy allocated ${(mem.lookupAllocatedBytes / MiB).toFixed(1)} MiB + prefix set ${(mem.prefixSetBytes / MiB).toFixed(1)} MiB = ${(mem.totalBytes / MiB).toFixed(1)} MiB` });
  const dir24 = dir24Bytes(t);
  rows.push({ name: `lpm/memory/${label}`, subject: 'DIR-24-8 (computed)', value: dir24.bytes / MiB, unit: 'MiB', notes: `64 MiB tbl24 + ${dir24.tbl8} tbl8 groups of 1 KiB (rte_lpm and rte_fib dir24_8 with 4-byte entries; more tbl8s are reserved up front)` });

  const s0 = performance.now();
  // The form the data plane's workers read (FibMirror): dir16 when the table fits, else 20-4-8.
  const snap = lpm.snapshot(1, hugeSharedBuffer, 'auto'); // allocated as FibMirror allocates the workers' copies
  const snapMs = performance.now() - s0;
  const d16 = snap.layout === 'dir16' ? dir16Views(snap) : undefined;
  const published = d16 !== undefined ? d16.root.byteLength + d16.tbl8.byteLength : snap.root.byteLength + snap.level2.byteLength + snap.level3.byteLength;
  const form = d16 !== undefined ? `dir16 (2^24 x 16-bit root + ${d16.tbl8.byteLength / 512} tbl8 groups, each on 2 MiB boundaries when 4 MiB or more)` : `20-4-8 (dir16 refused: ${lpm.dir16Refused ?? '?'})`;
  rows.push({ name: `lpm/snapshot/${label}`, subject: 'dataplane', value: snapMs, unit: 'ms', notes: `snapshot(..., 'auto'): the published tables in SharedArrayBuffers, ${form}, ${(published / MiB).toFixed(1)} MiB` });
  rows.push({ name: `lpm/memory/${label}`, subject: 'dataplane published', value: published / MiB, unit: 'MiB', notes: `what workers read: ${form}` });
  const addrs = lookupAddresses(t, LOOKUPS, 10, 7);
  const shared = new Uint32Array(new SharedArrayBuffer(addrs.byteLength));
  shared.set(addrs);
  const job = { label, fib: snap, addrs: shared.buffer as SharedArrayBuffer, burst: BURST };
  // With the peer: its tables are built first (minutes for rte_lpm at 1M),
  // then its rounds and ours alternate in blocks (interleave()).
  let peer: { ready: DpdkServeReady; inter: Interleaved } | string | undefined;
  let look: LookupFigures;
  if (roundsBin !== undefined) {
    const files = writeDpdkInputs(dir, label, t.prefix, t.len, nh, t.count, addrs, 1);
    gc();
    const server = new DpdkRoundsServer(roundsBin, files, label);
    try {
      const ready = await server.ready();
      const served = await measureLookupsServed(job);
      look = served.figures;
      try {
        peer = { ready, inter: await interleave(served, server, plan) };
      } finally {
        await served.close();
      }
    } catch (e) {
      peer = `dpdk-lpm-rounds serve: ${(e as Error).message}`;
      look = await measureLookupsInWorker(job);
    } finally {
      server.close();
    }
  } else {
    look = await measureLookupsInWorker(job);
  }
  const upd = measureUpdates(lpm, t, nh);
  rows.push({ name: `lpm/update/${label}`, subject: 'dataplane', value: upd.updates / 1e6, unit: 'Mupdates/s', nsPerOp: 1e9 / upd.updates, notes: `delete + re-insert of 100k random routes (best of 3); replace over an existing prefix: ${(upd.replaces / 1e6).toFixed(2)} M/s` });

  const machine = machineLine();
  let nativeVsLpm = NaN;
  let vsLpm = NaN;
  let vsFib = NaN;
  let ratiosText = '';
  let wasmVsLpm = NaN;
  if (typeof peer === 'object') {
    // Ours: the JS loop, what the data plane's workers run (MirrorViews opens
    // copies natively only when asked); the addon's batch lookup gets its own ratio beside it.
    const { ready: r, inter: x } = peer;
    const how = `${x.blocks} blocks of ${x.perBlock} rounds per ${x.plan.mode === 'per-vcpu' ? 'vCPU (both sides pinned to each vCPU in turn)' : 'block'}, ours and the peer's alternating block by block (who goes first alternates too); thread CPU time (ours: ${THREAD_CLOCK}; the peer: CLOCK_THREAD_CPUTIME_ID) per pass over the ${LOOKUPS} addresses (the same file, in the same order, bursts of ${BURST}); by the CPU a round ended on: ${x.byCpu}; ${x.plan.why}; pages: ours ${look.anonHugeKiB} KiB AnonHugePages in the worker's process (the published tables, hugeSharedBuffer), the peer's tables ${r.pages ?? '4k'} (${r.anonHugeKiB ?? '?'} KiB AnonHugePages)`;
    vsLpm = x.vsLpm.overall;
    vsFib = x.vsFib.overall;
    nativeVsLpm = x.nativeVsLpm?.overall ?? NaN;
    wasmVsLpm = x.wasmVsLpm?.overall ?? NaN;
    ratiosText = sameCpuRatios(x, r.tscHz);
    console.log(`lpm ${label}: ${ratiosText}`);
    for (const f of x.slots) {
      const i = x.slots.indexOf(f);
      const nat = x.nativeVsLpm?.perSlot[i].ratio;
      const wa = x.wasmVsLpm?.perSlot[i].ratio;
      rows.push({
        name: `lpm/lookup/${label}`,
        subject: `ours / rte_lpm, ${f.slot.label}`,
        value: x.vsLpm.perSlot[i].ratio,
        unit: 'x',
        notes: `median of ${x.vsLpm.perSlot[i].blocks} per-block ratios, both sides' rounds on ${f.slot.pin === undefined ? 'the same CPU set' : `vCPU ${f.slot.pin} alone`} (${f.offCpu} of ${f.rounds} rounds ended elsewhere): ours ${f.js.median.toFixed(2)} ns, rte_lpm ${f.lpm.median.toFixed(2)} ns, DIR-24-8 ${f.fib.median.toFixed(2)} ns (ours ${x.vsFib.perSlot[i].ratio.toFixed(2)}x), C dir16 walk ${f.dir16.median.toFixed(2)} ns; native dir16LookupBatch ${nat === undefined ? 'not measured' : `${nat.toFixed(2)}x`} rte_lpm; wasm prototype ${wa === undefined ? 'not measured' : `${wa.toFixed(2)}x`} rte_lpm; ${cpuLabel(CPUINFO, f.slot.pin, r.tscHz)}`,
      });
    }
    if (x.slots.length > 1) {
      rows.push({ name: `lpm/lookup/${label}`, subject: 'ours / rte_lpm, overall', value: vsLpm, unit: 'x', notes: `${OVERALL_RULE}: geometric mean ${x.vsLpm.geomean.toFixed(2)}x; ${x.plan.why}` });
    }
    const agree = r.disagree === 0 ? 'rte_fib and rte_lpm agreed on every address' : `rte_fib and rte_lpm DISAGREED on ${r.disagree} addresses`;
    rows.push({ name: `lpm/lookup/${label}`, subject: 'dataplane batch (rounds)', value: 1e3 / x.js.median, unit: 'Mlookups/s', nsPerOp: x.js.median, notes: `the JS lookupBatch() (${snap.layout ?? '20-4-8'}) in bursts of ${BURST}: best ${(1e3 / x.js.min).toFixed(1)}, median ${(1e3 / x.js.median).toFixed(1)} M/s; ${how}; ${machine}` });
    if (x.native !== undefined) {
      rows.push({ name: `lpm/lookup/${label}`, subject: 'dataplane batch native (rounds)', value: 1e3 / x.native.median, unit: 'Mlookups/s', nsPerOp: x.native.median, notes: `dir16LookupBatch (native/src/lpm-dir16.cc, one N-API call per burst of ${BURST}) over the same SharedArrayBuffers, its rounds alternating with the JS loop's: best ${(1e3 / x.native.min).toFixed(1)}, median ${(1e3 / x.native.median).toFixed(1)} M/s, ${(x.js.median / x.native.median).toFixed(2)}x the JS loop; ${look.native?.disagree === 0 ? 'agreed with the JS loop on every address' : `DISAGREED with the JS loop on ${look.native?.disagree} addresses`}` });
    } else {
      rows.push({ name: `lpm/lookup/${label}`, subject: 'dataplane batch native (rounds)', value: NaN, unit: 'Mlookups/s', notes: `not measured: ${look.nativeWhyNot ?? '?'}` });
    }
    if (x.wasm !== undefined) {
      rows.push({ name: `lpm/lookup/${label}`, subject: 'dataplane batch wasm prototype (rounds)', value: 1e3 / x.wasm.median, unit: 'Mlookups/s', nsPerOp: x.wasm.median, notes: `not what workers run: the same lookup as WebAssembly over copies of the tables and addresses in one shared wasm memory (bench/route/dir16-wasm-module.ts, unrolled over the burst), its rounds alternating with the JS loop's: best ${(1e3 / x.wasm.min).toFixed(1)}, median ${(1e3 / x.wasm.median).toFixed(1)} M/s, ${(x.js.median / x.wasm.median).toFixed(2)}x the JS loop; ${wasmVsLpm.toFixed(2)}x rte_lpm (${x.slots.length > 1 ? 'the worst vCPU\'s ' : ''}median of the per-block ratios); ${look.wasmDisagree === 0 ? 'agreed with the JS loop on every address' : `DISAGREED with the JS loop on ${look.wasmDisagree} addresses`}` });
    }
    const ratio = `ours (the JS lookupBatch) ${vsLpm.toFixed(2)}x rte_lpm, ${vsFib.toFixed(2)}x DIR-24-8 (${x.slots.length > 1 ? 'the worst vCPU\'s ' : ''}median of the ${x.blocks} per-block ratios; of the medians of all rounds ${(x.lpm.median / x.js.median).toFixed(2)}x, ${(x.fib.median / x.js.median).toFixed(2)}x); native dir16LookupBatch ${Number.isNaN(nativeVsLpm) ? 'not measured' : `${nativeVsLpm.toFixed(2)}x`} rte_lpm`;
    rows.push({ name: `lpm/lookup/${label}`, subject: 'dpdk rte_lpm (rounds)', value: 1e3 / x.lpm.median, unit: 'Mlookups/s', nsPerOp: x.lpm.median, notes: `rte_lpm_lookup_bulk, bursts of ${BURST}, thread CPU time: best ${(1e3 / x.lpm.min).toFixed(1)}, median ${(1e3 / x.lpm.median).toFixed(1)} M/s (TSC ${(r.tscHz / 1e9).toFixed(2)} GHz); ${ratio}; ${agree}; add ${(r.lpmAddNs / 1e3).toFixed(1)} us/route; bench/route/dpdk-lpm-rounds.c (serve)` });
    rows.push({ name: `lpm/lookup/${label}`, subject: 'dir16 in C (rounds)', value: 1e3 / x.dir16.median, unit: 'Mlookups/s', nsPerOp: x.dir16.median, notes: `the dir16 layout walked by a plain C loop in the peer's process (no N-API call; ${r.groups} groups, ${r.d16disagree} disagreements with rte_lpm): best ${(1e3 / x.dir16.min).toFixed(1)} M/s; ${(x.lpm.median / x.dir16.median).toFixed(2)}x rte_lpm, ${(x.js.median / x.dir16.median).toFixed(2)}x our JS loop (medians)` });
    rows.push({ name: `lpm/lookup/${label}`, subject: 'dpdk DIR-24-8 (rounds)', value: 1e3 / x.fib.median, unit: 'Mlookups/s', nsPerOp: x.fib.median, notes: `rte_fib_lookup_bulk (EAL default SIMD width): best ${(1e3 / x.fib.min).toFixed(1)} M/s; add ${r.fibAddNs.toFixed(0)} ns/route` });
  } else if (typeof peer === 'string') {
    rows.push({ name: `lpm/lookup/${label}`, subject: 'dpdk rte_lpm (rounds)', value: NaN, unit: 'Mlookups/s', notes: peer });
  }
  if (typeof peer !== 'object') {
    rows.push({ name: `lpm/lookup/${label}`, subject: 'dataplane batch (rounds)', value: mlps(look.batchMedianRound), unit: 'Mlookups/s', nsPerOp: 1e9 / look.batchMedianRound, notes: `the JS lookupBatch() (${snap.layout ?? '20-4-8'}) in bursts of ${BURST}, thread CPU time per pass over the ${LOOKUPS} addresses, ${ROUNDS} rounds: best ${mlps(look.batchBestRound).toFixed(1)}, median ${mlps(look.batchMedianRound).toFixed(1)} M/s; ${machine}` });
  }
  let dpdk: DpdkFibResult | string = process.env.DP_BENCH_NO_DPDK
    ? 'skipped (DP_BENCH_NO_DPDK is set)'
    : roundsBin !== undefined
      ? 'measured by dpdk-lpm-rounds (rows "(rounds)")'
    : "dpdk-test-fib not found: apt-get install -y dpdk-dev (Debian's dpdk package has only the runtime; the test apps are in dpdk-dev)";
  let cmd = '';
  if (dpdkBin !== undefined && roundsBin === undefined) {
    const files = writeDpdkInputs(dir, label, t.prefix, t.len, nh, t.count, addrs, DPDK_PASSES);
    cmd = dpdkCommandLine(dpdkBin, files);
    gc();
    dpdk = runDpdkTestFib(dpdkBin, files, 1);
  }
  const peerNote = typeof dpdk === 'string' ? `no DPDK figures: ${dpdk}` : `rte_lpm ${(look.batch / (dpdk.tscHz / dpdk.lpmLookup)).toFixed(2)}x, DIR-24-8 ${(look.batch / (dpdk.tscHz / dpdk.fibLookup)).toFixed(2)}x`;
  rows.push({ name: `lpm/lookup/${label}`, subject: 'dataplane single', value: mlps(look.single), unit: 'Mlookups/s', nsPerOp: 1e9 / look.single, rmePct: look.rmeSingle, notes: `FibView.lookup() per address over ${LOOKUPS} addresses, in a worker thread over the SharedArrayBuffer snapshot` });
  rows.push({ name: `lpm/lookup/${label}`, subject: 'dataplane batch', value: mlps(look.batch), unit: 'Mlookups/s', nsPerOp: 1e9 / look.batch, rmePct: look.rmeBatch, notes: `lookupBatch() in bursts of ${BURST}; ours vs ${peerNote}` });
  if (typeof dpdk === 'string') {
    rows.push({ name: `lpm/lookup/${label}`, subject: 'dpdk rte_lpm', value: NaN, unit: 'Mlookups/s', notes: dpdk });
    rows.push({ name: `lpm/lookup/${label}`, subject: 'dpdk DIR-24-8', value: NaN, unit: 'Mlookups/s', notes: dpdk });
  } else {
    const hz = dpdk.tscHz;
    const agree = dpdk.agree ? 'rte_fib and rte_lpm agreed on every address' : 'rte_fib and rte_lpm DISAGREED';
    rows.push({ name: `lpm/lookup/${label}`, subject: 'dpdk rte_lpm', value: mlps(hz / dpdk.lpmLookup), unit: 'Mlookups/s', nsPerOp: (dpdk.lpmLookup / hz) * 1e9, notes: `${dpdk.lpmLookup.toFixed(1)} cycles at ${(hz / 1e9).toFixed(2)} GHz TSC, rte_lpm_lookup_bulk, mean of ${DPDK_PASSES} passes over the same ${LOOKUPS} addresses; ${agree}; ${cmd}` });
    rows.push({ name: `lpm/lookup/${label}`, subject: 'dpdk DIR-24-8', value: mlps(hz / dpdk.fibLookup), unit: 'Mlookups/s', nsPerOp: (dpdk.fibLookup / hz) * 1e9, notes: `${dpdk.fibLookup.toFixed(1)} cycles, rte_fib_lookup_bulk (default lookup function: AVX-512 where the CPU has it), mean of ${DPDK_PASSES} passes` });
    const lpmUpd = (2 * hz) / (dpdk.lpmAdd + dpdk.lpmDelete);
    const fibUpd = (2 * hz) / (dpdk.fibAdd + dpdk.fibDelete);
    rows.push({ name: `lpm/update/${label}`, subject: 'dpdk rte_lpm', value: lpmUpd / 1e6, unit: 'Mupdates/s', nsPerOp: 1e9 / lpmUpd, notes: `add ${dpdk.lpmAdd.toFixed(0)} + delete ${dpdk.lpmDelete.toFixed(0)} cycles (average over building and emptying the whole table)` });
    rows.push({ name: `lpm/update/${label}`, subject: 'dpdk DIR-24-8', value: fibUpd / 1e6, unit: 'Mupdates/s', nsPerOp: 1e9 / fibUpd, notes: `rte_fib add ${dpdk.fibAdd.toFixed(0)} + delete ${dpdk.fibDelete.toFixed(0)} cycles` });
  }
  if (typeof dpdk !== 'string') {
    vsLpm = look.batch / (dpdk.tscHz / dpdk.lpmLookup);
    vsFib = look.batch / (dpdk.tscHz / dpdk.fibLookup);
  }
  return { batch: look.batch, vsLpm, vsFib, nativeVsLpm, wasmVsLpm, ratiosText, usedMiB: published / MiB, totalMiB: mem.totalBytes / MiB, updates: upd.updates, dpdk };
}

/** Routes-file load: read + parse + install the real table written as "PREFIX via GW" lines (best of 3). */
function benchLoad(t: PrefixTable, dir: string, rows: BenchRow[]): number {
  const path = join(dir, 'routeviews.routes');
  const lines: string[] = new Array<string>(t.count);
  for (let i = 0; i < t.count; i++) lines[i] = `${formatPrefix(t.prefix[i], t.len[i])} via ${gatewayFor(t.asn[i])}`;
  writeFileSync(path, `# RouteViews 2017-03-29, origin AS -> one of 8 gateways\n${lines.join('\n')}\n`);
  // Gateways of gatewayFor() live in 198.18.0.0/24: one port there makes them reachable.
  const ports = parseConfig('ports:\n  - { name: p0, address: 198.18.0.1/24 }\n', 'bench', '.');
  let best = 0;
  for (let round = 0; round < 3; round++) {
    gc();
    const t0 = performance.now();
    const parsed = parseRoutesText(readFileSync(path, 'utf8'), path);
    if (parsed.errors.length > 0) throw new Error(parsed.errors[0]);
    compileFib({ ...ports, routes: parsed.routes });
    const s = (performance.now() - t0) / 1000;
    best = Math.max(best, parsed.routes.length / s);
  }
  rows.push({ name: 'lpm/load-file/rv-694k', subject: 'dataplane', value: best / 1e6, unit: 'Mroutes/s', nsPerOp: 1e9 / best, notes: 'read + parse (config route grammar) + next hops + insert, best of 3' });
  return best;
}

export async function runLpmBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'dp-lpm-bench-'));
  // DP_BENCH_NO_DPDK=1 skips the (minutes-long) peer runs while iterating on our side.
  const dpdkBin = process.env.DP_BENCH_NO_DPDK ? undefined : findDpdkTestFib();
  const built = process.env.DP_BENCH_NO_DPDK ? undefined : buildDpdkRounds(dir);
  if (typeof built === 'object') console.warn(`dpdk-lpm-rounds: ${built.error}; falling back to dpdk-test-fib`);
  const roundsBin = typeof built === 'string' ? built : undefined;
  try {
    const real = readRouteViews();
    const load = benchLoad(real, dir, rows);
    const plan = cpuPlan(allowedCpus(), onlineCpus());
    console.log(`lpm: ${plan.why}`);
    const rv = await benchTable('rv-694k', real, dir, rows, dpdkBin, roundsBin, plan);
    const big = await benchTable('grown-1m', growTable(real, 1_000_000, 42), dir, rows, dpdkBin, roundsBin, plan);

    const targets: BenchTarget[] = [
      {
        description: 'batch lookups >= DPDK rte_lpm, same routes and addresses (real table and 1M)',
        met: rv.vsLpm >= 1 && big.vsLpm >= 1,
        measured: `ours (JS loop, what workers run)/rte_lpm ${rv.vsLpm.toFixed(2)}x (694k), ${big.vsLpm.toFixed(2)}x (1M)${plan.slots.length > 1 ? ' (the worst vCPU)' : ''}; native dir16LookupBatch/rte_lpm ${rv.nativeVsLpm.toFixed(2)}x, ${big.nativeVsLpm.toFixed(2)}x; wasm prototype/rte_lpm ${rv.wasmVsLpm.toFixed(2)}x, ${big.wasmVsLpm.toFixed(2)}x; ours/DIR-24-8 ${rv.vsFib.toFixed(2)}x, ${big.vsFib.toFixed(2)}x; same-vCPU ratios: 694k ${rv.ratiosText || 'no peer'}; 1M ${big.ratiosText || 'no peer'}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${machineLine()}`,
      },
      { description: '<= 40 MiB for 1M prefixes', met: big.totalMiB <= 40, measured: `published (what workers read) ${big.usedMiB.toFixed(1)} MiB; control-plane working copy (20-4-8) incl. prefix set ${big.totalMiB.toFixed(1)} MiB (694k: ${rv.usedMiB.toFixed(1)} / ${rv.totalMiB.toFixed(1)} MiB)` },
      { description: '>= 200k route updates/s', met: Math.min(rv.updates, big.updates) >= 200e3, measured: `${(rv.updates / 1e3).toFixed(0)}k/s (694k), ${(big.updates / 1e3).toFixed(0)}k/s (1M)` },
      { description: '>= 200k routes/s loaded from a routes file', met: load >= 200e3, measured: `${(load / 1e3).toFixed(0)}k routes/s` },
    ];
    return { rows, targets };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
