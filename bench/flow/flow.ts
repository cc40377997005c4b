// Flow table (src/flow/): memory per flow, new flows per second (id
// allocation, record, both keys) from empty to 1M and at 90% full, lookups
// at 1M flows (hit, miss, and a hot set the size of a batch), and as peers in
// the same run a JS Map keyed by a string or a BigInt of the same four words.
// One thread, one worker's view of the table.
import { FlowTable, type FlowTableBuffers } from '../../src/flow/flow-table.js';
import { auditIndex } from '../../src/flow/flow-index-audit.js';
import { allocationCheck, consume, measure } from '../lib/measure.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';
import { bigintKey, makeKeys, rev2, shuffledOrder, stringKey } from './keys.js';
import { runMicroBench } from './micro.js';

const N = 1 << 20;
const BATCH = 256;

function newTable(capacity = N): { buffers: FlowTableBuffers; t: FlowTable } {
  const buffers = FlowTable.create({ capacity, workers: 1, timeoutsMs: [60_000], seed: 0x5eed });
  return { buffers, t: FlowTable.attach(buffers, 0) };
}

/** Inserts flows from..to-1 of `keys` (reply = reverse); returns how many failed. */
function fill(t: FlowTable, keys: Int32Array, from: number, to: number): number {
  let failed = 0;
  for (let i = from; i < to; i++) {
    const o = i << 2;
    const k0 = keys[o];
    const k1 = keys[o + 1];
    const k2 = keys[o + 2];
    const k3 = keys[o + 3];
    if (t.insert(k0, k1, k2, k3, k1, k0, rev2(k2), k3, 0, 1000) < 0) failed++;
  }
  return failed;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Best of `runs` wall-clock timings of fn, in ns per op. */
function bestNs(runs: number, ops: number, setup: () => void, fn: () => number): { ns: number; failed: number } {
  let best = Infinity;
  let failed = 0;
  for (let r = 0; r < runs; r++) {
    setup();
    const t0 = process.hrtime.bigint();
    failed += fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / ops);
  }
  return { ns: best, failed };
}

function rate(name: string, subject: string, ns: number, notes?: string): BenchRow {
  return { name, subject, value: 1e3 / ns, unit: 'M/s', nsPerOp: ns, notes };
}

export async function runFlowBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const rows: BenchRow[] = [];
  const targets: BenchTarget[] = [];
  const keys = makeKeys(N);
  const extra = makeKeys(N, 99).map((w, i) => ((i & 3) === 3 ? 132 : w)); // SCTP: never in the table

  // ---- Memory.
  const bytesPerFlow = FlowTable.bytesFor(N, 1) / N;

  // ---- Inserts: empty to 1M, then 90% -> 100% (both include id allocation and both keys).
  let cur = newTable();
  const fillEmpty = bestNs(3, N, () => ((cur = newTable()), gc()), () => fill(cur.t, keys, 0, N));
  const at90 = Math.floor(N * 0.9);
  const fill90 = bestNs(3, N - at90, () => ((cur = newTable()), fill(cur.t, keys, 0, at90), gc()), () => fill(cur.t, keys, at90, N));
  rows.push(rate('flow/insert-0-to-1M', 'FlowTable', fillEmpty.ns, `${fillEmpty.failed} failed; best of 3 fresh tables`));
  rows.push(rate('flow/insert-90-to-100%', 'FlowTable', fill90.ns, `${fill90.failed} failed; the last 10% of 1M`));

  // Steady churn at 90%: one new flow in, the oldest out (owner remove).
  const churnTable = newTable();
  fill(churnTable.t, keys, 0, at90);
  let nextIn = at90;
  let nextOut = 0;
  const churn = () => {
    for (let j = 0; j < BATCH; j++) {
      const o = (nextIn & (N - 1)) << 2;
      const k0 = keys[o];
      const k1 = keys[o + 1];
      const k2 = keys[o + 2];
      const k3 = keys[o + 3];
      churnTable.t.insert(k0, k1, k2, k3, k1, k0, rev2(k2), k3, 0, 1000);
      const q = (nextOut & (N - 1)) << 2;
      const v = churnTable.t.lookup(keys[q], keys[q + 1], keys[q + 2], keys[q + 3]);
      if (v >= 0) churnTable.t.remove(v >> 1);
      nextIn++;
      nextOut++;
    }
  };
  const churnAlloc = await allocationCheck(churn, 2000);
  const mChurn = measure('churn', churn);
  rows.push({ ...rate('flow/churn-at-90%', 'FlowTable', 1e9 / (mChurn.hz * BATCH), `insert + lookup + remove per op; ${churnAlloc.gcRuns} GCs over ${((2000 * BATCH) / 1e3).toFixed(0)}k ops`), rmePct: mChurn.rmePct });

  // ---- Sweep: walking records that have not expired, and expiring all of them.
  const sweepTable = newTable();
  fill(sweepTable.t, keys, 0, N);
  const expired = new Int32Array(4096);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i += 4096) sweepTable.t.sweep(30_000, 4096, expired);
  const nsScan = Number(process.hrtime.bigint() - t0) / N;
  const t1 = process.hrtime.bigint();
  let ended = 0;
  for (let i = 0; i < N; i += 4096) ended += sweepTable.t.sweep(100_000, 4096, expired);
  const nsExpire = Number(process.hrtime.bigint() - t1) / N;
  rows.push(rate('flow/sweep-1M', 'FlowTable (nothing due)', nsScan, 'per record looked at, 4096 a call'));
  rows.push(rate('flow/sweep-1M', 'FlowTable (all due)', nsExpire, `per flow expired (both keys out of the index, id freed); ${ended} expired`));

  // ---- Lookups at 1M flows (2M keys).
  const full = newTable();
  fill(full.t, keys, 0, N);
  const table = full.t;
  const order = shuffledOrder(N);
  const audit = auditIndex(table.index);
  let pos = 0;
  const hit = () => {
    let acc = 0;
    for (let j = pos; j < pos + BATCH; j++) {
      const o = order[j] << 2;
      // Alternate directions: half the lookups are replies.
      acc += (j & 1) === 0 ? table.lookup(keys[o], keys[o + 1], keys[o + 2], keys[o + 3]) : table.lookup(keys[o + 1], keys[o], rev2(keys[o + 2]), keys[o + 3]);
    }
    pos = (pos + BATCH) & (N - 1);
    consume(acc);
  };
  let mpos = 0;
  const miss = () => {
    let acc = 0;
    for (let j = mpos; j < mpos + BATCH; j++) {
      const o = order[j] << 2;
      acc += table.lookup(extra[o], extra[o + 1], extra[o + 2], extra[o + 3]);
    }
    mpos = (mpos + BATCH) & (N - 1);
    consume(acc);
  };
  // The flows of one batch, over and over: lines in cache, the cost of the code.
  const hot = () => {
    let acc = 0;
    for (let j = 0; j < BATCH; j++) {
      const o = order[j] << 2;
      acc += table.lookup(keys[o], keys[o + 1], keys[o + 2], keys[o + 3]);
    }
    consume(acc);
  };
  const hotTouch = () => {
    let acc = 0;
    for (let j = 0; j < BATCH; j++) {
      const o = order[j] << 2;
      const v = table.lookup(keys[o], keys[o + 1], keys[o + 2], keys[o + 3]);
      table.touch(v >> 1, 2000, v & 1);
      acc += v;
    }
    consume(acc);
  };
  const mHit = measure('hit', hit);
  const mMiss = measure('miss', miss);
  const mHot = measure('hot', hot);
  const mHotTouch = measure('hot+touch', hotTouch);
  const nsHot = 1e9 / (mHot.hz * BATCH);
  const nsHotTouch = 1e9 / (mHotTouch.hz * BATCH);
  const lookupRow = (name: string, subject: string, m: { hz: number; rmePct: number }, notes?: string): BenchRow => ({ ...rate(name, subject, 1e9 / (m.hz * BATCH), notes), rmePct: m.rmePct });
  rows.push(lookupRow('flow/lookup-1M-hit', 'FlowTable', mHit, 'random flows, both directions: a bucket line and a record line from DRAM'));
  rows.push(lookupRow('flow/lookup-1M-miss', 'FlowTable', mMiss, `${((100 * audit.inSecondary) / audit.entries).toFixed(1)}% of keys in their secondary; ${((100 * audit.overflowBuckets) / audit.buckets).toFixed(1)}% of buckets send a miss on to a second`));
  rows.push(lookupRow('flow/lookup-hot-256', 'FlowTable', mHot, '256 flows (a batch), in cache'));
  rows.push(lookupRow('flow/lookup+touch-hot-256', 'FlowTable', mHotTouch, 'what an established packet costs the flow table'));

  // ---- Allocation: lookups, inserts (churn above) and touch allocate nothing.
  const hitAlloc = await allocationCheck(hit, 4000);
  const touchAlloc = await allocationCheck(hotTouch, 4000);
  const noAlloc = [churnAlloc, hitAlloc, touchAlloc].every((a) => a.gcRuns === 0);

  // ---- Peers: JS Map with both keys of each flow, the key built per lookup as a packet would.
  const peerRows = buildMapPeers(keys, extra, order);
  rows.push(...peerRows.rows);

  // ---- Where the table's choices come from.
  rows.push(...runMicroBench());

  // ---- Established NAT forwarding, estimated: the L3 pipeline's ns/packet measured now, plus the flow table's part.
  let l3Ns = NaN;
  try {
    const { runForwardBench } = await import('../pipeline/forward.js');
    const fwd = await runForwardBench();
    l3Ns = fwd.rows[0]?.nsPerOp ?? NaN;
  } catch (e) {
    console.error(`flow bench: L3 pipeline peer unavailable: ${(e as Error).message}`);
  }
  if (Number.isFinite(l3Ns)) {
    rows.push({ name: 'flow/l3-forward (peer)', subject: 'pipeline, 64B, 1 thread', value: 1e3 / l3Ns, unit: 'Mpps', nsPerOp: l3Ns, notes: 'bench/pipeline/forward.ts in this run' });
  }
  const ratio = l3Ns / (l3Ns + nsHotTouch);

  rows.push({ name: 'flow/memory', subject: 'FlowTable', value: bytesPerFlow, unit: 'B/flow', notes: `capacity 2^20: ${(FlowTable.bytesFor(N, 1) / 2 ** 20).toFixed(0)} MiB (64 record + 8 links + 32 index)` });
  rows.push(...peerRows.memory);

  targets.push({ description: '<= 128 bytes per flow, all included', met: bytesPerFlow <= 128, measured: `${bytesPerFlow.toFixed(1)} B/flow` });
  targets.push({ description: '>= 500k new flows/s per core (empty to 1M)', met: fillEmpty.ns <= 2000 && fillEmpty.failed === 0, measured: `${(1e3 / fillEmpty.ns).toFixed(2)} M/s, ${fillEmpty.failed} failed` });
  targets.push({ description: '>= 500k new flows/s per core at 90% full', met: fill90.ns <= 2000 && fill90.failed === 0, measured: `${(1e3 / fill90.ns).toFixed(2)} M/s, ${fill90.failed} failed` });
  // The budget assumes the L3 pipeline's usual ~120 ns/packet; on a loaded machine everything
  // is slower alike, so the flow table's figure is also given at that scale (x 120 / L3 now).
  const scale = Number.isFinite(l3Ns) ? 120 / l3Ns : 1;
  const worst = Math.max(nsHot, nsHotTouch);
  targets.push({
    description: 'lookup well under 30 ns (hot set; at the L3 pipeline\'s usual 120 ns/packet)',
    met: worst * scale < 30,
    measured: `lookup ${nsHot.toFixed(1)} ns, lookup + touch ${nsHotTouch.toFixed(1)} ns; x ${scale.toFixed(2)} (L3 ${l3Ns.toFixed(0)} ns now) = ${(worst * scale).toFixed(1)} ns`,
  });
  targets.push({
    description: 'established forwarding >= 0.75x plain L3 (L3 ns/packet / (L3 + lookup + touch); NAT rewrite not included)',
    met: ratio >= 0.75,
    measured: Number.isFinite(ratio) ? `${ratio.toFixed(2)}x (L3 ${l3Ns.toFixed(0)} ns + flow ${nsHotTouch.toFixed(1)} ns)` : 'L3 peer unavailable',
  });
  targets.push({
    description: 'no allocation per call (lookup, insert/remove, touch)',
    met: noAlloc,
    measured: [['churn', churnAlloc], ['lookup', hitAlloc], ['touch', touchAlloc]].map(([n, a]) => `${n as string}: ${(a as { gcRuns: number }).gcRuns} GCs, ${((a as { heapDeltaBytes: number }).heapDeltaBytes / 1024).toFixed(0)} KiB`).join('; '),
  });
  return { rows, targets };
}

function buildMapPeers(keys: Int32Array, extra: Int32Array, order: Int32Array): { rows: BenchRow[]; memory: BenchRow[] } {
  const rows: BenchRow[] = [];
  const memory: BenchRow[] = [];
  const lookupRow = (name: string, subject: string, m: { hz: number; rmePct: number }): BenchRow => ({ ...rate(name, subject, 1e9 / (m.hz * BATCH)), rmePct: m.rmePct });

  gc();
  let before = process.memoryUsage().heapUsed;
  let t0 = process.hrtime.bigint();
  const byString = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    const o = i << 2;
    byString.set(stringKey(keys[o], keys[o + 1], keys[o + 2], keys[o + 3]), i << 1);
    byString.set(stringKey(keys[o + 1], keys[o], rev2(keys[o + 2]), keys[o + 3]), (i << 1) | 1);
  }
  rows.push(rate('flow/insert-0-to-1M', 'Map<string> peer', Number(process.hrtime.bigint() - t0) / N, 'both keys per flow, no id allocation'));
  gc();
  memory.push({ name: 'flow/memory', subject: 'Map<string> peer', value: (process.memoryUsage().heapUsed - before) / N, unit: 'B/flow', notes: 'heap growth for both keys; no record' });
  let pos = 0;
  const strHit = () => {
    let acc = 0;
    for (let j = pos; j < pos + BATCH; j++) {
      const o = order[j] << 2;
      acc += byString.get(stringKey(keys[o], keys[o + 1], keys[o + 2], keys[o + 3])) ?? -1;
    }
    pos = (pos + BATCH) & (N - 1);
    consume(acc);
  };
  let mpos = 0;
  const strMiss = () => {
    let acc = 0;
    for (let j = mpos; j < mpos + BATCH; j++) {
      const o = order[j] << 2;
      acc += byString.get(stringKey(extra[o], extra[o + 1], extra[o + 2], extra[o + 3])) ?? -1;
    }
    mpos = (mpos + BATCH) & (N - 1);
    consume(acc);
  };
  rows.push(lookupRow('flow/lookup-1M-hit', 'Map<string> peer', measure('map string hit', strHit)));
  rows.push(lookupRow('flow/lookup-1M-miss', 'Map<string> peer', measure('map string miss', strMiss)));
  byString.clear();

  gc();
  before = process.memoryUsage().heapUsed;
  t0 = process.hrtime.bigint();
  const byBigint = new Map<bigint, number>();
  for (let i = 0; i < N; i++) {
    const o = i << 2;
    byBigint.set(bigintKey(keys[o], keys[o + 1], keys[o + 2], keys[o + 3]), i << 1);
    byBigint.set(bigintKey(keys[o + 1], keys[o], rev2(keys[o + 2]), keys[o + 3]), (i << 1) | 1);
  }
  rows.push(rate('flow/insert-0-to-1M', 'Map<bigint> peer', Number(process.hrtime.bigint() - t0) / N, 'both keys per flow, no id allocation'));
  gc();
  memory.push({ name: 'flow/memory', subject: 'Map<bigint> peer', value: (process.memoryUsage().heapUsed - before) / N, unit: 'B/flow', notes: 'heap growth for both keys; no record' });
  let bpos = 0;
  const bigHit = () => {
    let acc = 0;
    for (let j = bpos; j < bpos + BATCH; j++) {
      const o = order[j] << 2;
      acc += byBigint.get(bigintKey(keys[o], keys[o + 1], keys[o + 2], keys[o + 3])) ?? -1;
    }
    bpos = (bpos + BATCH) & (N - 1);
    consume(acc);
  };
  rows.push(lookupRow('flow/lookup-1M-hit', 'Map<bigint> peer', measure('map bigint hit', bigHit)));
  byBigint.clear();
  return { rows, memory };
}
