// NAT from memory, one thread (`npm run bench -- nat`): the real Router and
// run loop with `nat:` in the config (ct-input before routing, nat-output
// after it, the shared flow table for one worker), 64-byte UDP frames.
//
//   fill        the first packets of 1M masqueraded flows (workload.ts) in
//               random order: new flows/s through the whole pipeline, each
//               creating a flow and, for the first flow of an endpoint, a
//               binding and a port; RSS and heap before and after
//   established 1M flows in the table, frames of flows chosen at random
//               (half each direction: the replies come in on wan to the
//               masquerade address), and a hot set of 256 flows; against the
//               same router without `nat:` on the same conversations
//               (originals byte for byte; replies addressed to the client,
//               as they arrive where nobody translates: to the masquerade
//               address they would be the router's own). Both routers run in
//               this process in alternating chunks of CPU time, and the ratio
//               is taken chunk pair by chunk pair (bench/pipeline/vs-ref.ts
//               explains why: this machine's speed drifts)
//   gc          garbage collections and heap growth during the established
//               loop (the hot path allocates nothing), GCs during the fill
//   ct-table    ct-table.ts: the table's part of an established packet
//               alone, and what batch prefetch passes or plain seqlock
//               version reads would change; the binding probe ct-input makes
//               for every packet without a flow
//   churn       the table at 90%, every flow of the fill idle past the UDP
//               timeout (a ManualClock), new flows of new endpoints while the
//               router's own sweep expires old ones
//   (fill and churn run chunk by chunk beside plain L3 forwarding the same
//   frames, so their ratio to it is there when the machine is slow)
//   memory      the flow table's SharedArrayBuffers and the port allocators
//               per entry, per NAT flow
//   isolated    isolated.ts: the established comparison again with each
//               router alone in its own worker_thread (as live: one router
//               per isolate, no call site shared between the two)
//   steering    steering.ts: what choosing the NAT port so that replies
//               reach the creating worker would cost
//
// The clock moves 1/16 ms per batch of 256 (~4 Mpps, near the measured
// rate), so a flow's last-seen time is stored as often as it would be live.
import { FlowTable, type WorkerFlowStats } from '../../src/flow/flow-table.js';
import { MAX_BATCH } from '../../src/pipeline/batch.js';
import { shuffledOrder } from '../flow/keys.js';
import { allocationCheck } from '../lib/measure.js';
import { chunkedNs, countGcs, gc, interleaved, mean, median, Rig, ROUNDS, CHUNK_STEPS } from './rig.js';
import { machineLabel, type BenchRow, type BenchTarget } from '../lib/report.js';
import { runCtTableBench } from './ct-table.js';
import { isolatedComparison } from './isolated.js';
import { runSteeringBench } from './steering.js';
import {
  CHURN_PORTS_PER_HOST,
  ENDPOINTS,
  FLOWS,
  FramePool,
  HOSTS,
  LAN,
  WAN,
  WAN_ADDRESS,
  churnFlow,
  establishedPool,
  fillFlow,
  routerConfig,
  type FlowTuple,
} from './workload.js';

/** Flow-table entries: the 1M flows and their 32768 bindings fill it to 90.1%. */
const CAPACITY = 1_200_000;
/** Frames of the established loop: flows chosen at random, 16 MiB of frames. */
const RANDOM_FRAMES = 1 << 18;
const CHURN_FRAMES = 400 * MAX_BATCH;
const UDP_TIMEOUT_MS = 120_000;

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function sumStats(stats: WorkerFlowStats[]): WorkerFlowStats {
  return stats.reduce((a, s) => ({
    live: a.live + s.live,
    inserted: a.inserted + s.inserted,
    existed: a.existed + s.existed,
    evicted: a.evicted + s.evicted,
    expired: a.expired + s.expired,
    removed: a.removed + s.removed,
    tableFull: a.tableFull + s.tableFull,
    indexFull: a.indexFull + s.indexFull,
    stale: a.stale + s.stale,
  }));
}

/**
 * What ct-input spends, for every packet without a flow (outbound ones
 * included), asking the table for a binding at the packet's destination
 * (NatBindings.bindingAt): destinations at random in 203.0.113.0/24, so
 * misses, as real traffic's destinations would be, against the table of 1M.
 * A binding can only be at a NAT address (a masquerade port's, an SNAT pool's).
 */
function bindingProbeRow(rig: Rig): BenchRow {
  const nat = rig.router.nat;
  if (nat === undefined) throw new Error('nat bench: no NAT on the router');
  const N = 1 << 16;
  const dst = new Int32Array(N);
  const dport = new Int32Array(N);
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < N; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    dst[i] = (0xcb007100 | (x & 0xff)) | 0;
    dport[i] = 1 + ((x >>> 8) % 65535);
  }
  let found = 0;
  const probe = () => {
    for (let i = 0; i < N; i++) if (nat.bindingAt(dst[i], dport[i], 17) >= 0) found++;
  };
  probe();
  const ns: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.cpuUsage();
    probe();
    const t = process.cpuUsage(t0);
    ns.push(((t.user + t.system) * 1000) / N);
  }
  const m = median(ns);
  return {
    name: 'nat/new-flow-binding-probe',
    subject: 'NatBindings.bindingAt, a miss',
    value: m,
    unit: 'ns',
    notes: `what ct-input's noFlow spends per packet without a flow (outbound new flows included) on a table of 1M, destinations at random (${found} found); median of 7 x 64k, CPU time`,
  };
}

interface Comparison {
  rows: BenchRow[];
  ratio: number;
  nat: number;
  l3: number;
}

/**
 * The same NAT router and table with its fast path (ip4-fast's flow stage)
 * on and off, in alternating chunks: what the fused path saves a stateful
 * config's established packets.
 */
function fastPathOnOff(name: string, nat: Rig): BenchRow {
  const router = nat.router;
  const full = (): void => {
    router.fastPathOn = false;
    nat.step();
    router.fastPathOn = true;
  };
  const pairs = interleaved(nat.step, full);
  const on = median(pairs.map((p) => p[0]));
  const off = median(pairs.map((p) => p[1]));
  const ratios = pairs.map((p) => p[1] / p[0]);
  return {
    name: `${name} fast path on/off`,
    subject: 'NAT rate, fast path / full graph',
    value: median(ratios),
    unit: 'x',
    notes: `one router and table, batches alternately through ip4-fast's flow stage and the full graph: ${on.toFixed(0)} vs ${off.toFixed(0)} ns/packet (${(1e3 / on).toFixed(2)} vs ${(1e3 / off).toFixed(2)} Mpps); median of ${ROUNDS} pairwise ratios (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}); ${machineLabel()}`,
  };
}

function compare(name: string, what: string, nat: Rig, l3: Rig): Comparison {
  const pairs = interleaved(nat.step, l3.step);
  const natNs = pairs.map((p) => p[0]);
  const l3Ns = pairs.map((p) => p[1]);
  // NAT's rate over L3's: L3's ns per packet over NAT's.
  const ratios = pairs.map((p) => p[1] / p[0]);
  const n = median(natNs);
  const l = median(l3Ns);
  const ratio = median(ratios);
  const spread = (xs: number[]) => `min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)} ns`;
  const chunk = `median of ${ROUNDS} chunks of ${(CHUNK_STEPS * MAX_BATCH) / 1024}k packets, CPU time, alternating with the other row`;
  return {
    ratio,
    nat: n,
    l3: l,
    rows: [
      { name, subject: 'NAT (masquerade, 1 thread)', value: 1e3 / n, unit: 'Mpps', nsPerOp: n, notes: `${what}; ${chunk} (${spread(natNs)})` },
      { name, subject: 'plain L3 (same config minus nat:)', value: 1e3 / l, unit: 'Mpps', nsPerOp: l, notes: `same harness and conversations; ${spread(l3Ns)}` },
      {
        name: `${name} ratio`,
        subject: 'NAT rate / L3 rate',
        value: ratio,
        unit: 'x',
        notes: `median of ${ROUNDS} pairwise ratios (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}); NAT costs ${(n - l).toFixed(0)} ns/packet more; ${machineLabel()}`,
      },
    ],
  };
}

export async function runNatBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const rows: BenchRow[] = [];
  const targets: BenchTarget[] = [];
  const machine = machineLabel();

  gc();
  const mem0 = process.memoryUsage();
  const nat = new Rig(routerConfig({ capacity: CAPACITY }), true);
  const l3 = new Rig(routerConfig(undefined), false, nat.compiled);
  const tables = nat.router.natTables;
  if (tables === undefined) throw new Error('nat bench: the router built no NAT tables');
  const flows = tables.flows;

  // ---- Memory of the tables, from their buffers.
  const fb = tables.buffers.flows;
  const tableBytes = fb.meta.byteLength + fb.records.byteLength + fb.links.byteLength + fb.index.byteLength;
  const portBytes = tables.buffers.ports.reduce((n, b) => n + b.byteLength, 0);
  const perEntry = (tableBytes + portBytes) / CAPACITY;
  const entriesPerFlow = (FLOWS + ENDPOINTS) / FLOWS;
  // The config's default capacity (2^20), the same way: records + links + index (sized by powers of two) + allocators.
  const perEntry2p20 = (FlowTable.bytesFor(1 << 20, 1) + portBytes) / (1 << 20);

  // ---- Fill: the first packet of each of the 1M flows, in random order.
  const t: FlowTuple = { client: 0, clientPort: 0, server: 0, serverPort: 0 };
  const fillPool = new FramePool(FLOWS);
  const order = shuffledOrder(FLOWS, 11);
  for (let i = 0; i < FLOWS; i++) {
    fillFlow(order[i], t);
    fillPool.set(i, LAN, t.client, t.server, t.clientPort, t.serverPort);
  }
  // Not checked frame by frame here (that would be timed too): the counts
  // below, then verify() on the established frames, whose replies only
  // pass if the fill made the right bindings.
  nat.input.use(fillPool);
  gc();
  const memBefore = process.memoryUsage();
  // Chunk by chunk beside plain L3 forwarding the same first packets.
  l3.input.use(fillPool);
  let fill = { ns: [0], peerNs: [1] };
  const fillGcs = await countGcs(() => {
    fill = chunkedNs(nat.step, l3.step, FLOWS / MAX_BATCH, 64);
  });
  const fillChunks = fill.ns;
  const fillNs = median(fillChunks);
  const fillAll = mean(fillChunks);
  const fillVsL3 = median(fill.ns.map((n, i) => n / fill.peerNs[i]));
  const memAfter = process.memoryUsage();
  const created = nat.router.counters.get('nat-output/flows-created').packets;
  if (created !== FLOWS || flows.live() !== FLOWS + ENDPOINTS || nat.outputs[WAN].frames !== FLOWS) {
    throw new Error(`nat bench: fill made ${created} flows, ${flows.live()} entries, forwarded ${nat.outputs[WAN].frames}: ${JSON.stringify(nat.router.counters.nonZero())}`);
  }
  const occupancy = flows.live() / CAPACITY;
  rows.push({
    name: 'nat/new-flows-0-to-1M',
    subject: 'NAT (masquerade, 1 thread)',
    value: 1e3 / fillNs,
    unit: 'M flows/s',
    nsPerOp: fillNs,
    notes: `first packets of 1M UDP flows in random order through the whole pipeline, each a flow, 1 in 32 also a binding and a port; 128 destinations (server, port), so ct-input's probe for a binding at the destination hits the cache here (nat/new-flow-binding-probe: the miss it is with varied destinations); median of 64 chunks of 16k, CPU time (${fillAll.toFixed(0)} ns over the whole fill, chunks ${Math.min(...fillChunks).toFixed(0)}-${Math.max(...fillChunks).toFixed(0)}); ${fillVsL3.toFixed(1)}x plain L3 forwarding the same frames in the neighbouring chunks (L3 ${median(fill.peerNs).toFixed(0)} ns); ${fillGcs} GCs; ends ${(occupancy * 100).toFixed(1)}% full (${flows.live()} entries); ${machine}`,
  });
  rows.push({
    name: 'nat/memory-fill',
    subject: 'process RSS',
    value: (memAfter.rss - memBefore.rss) / (FLOWS + ENDPOINTS),
    unit: 'B/entry',
    notes: `RSS ${mib(memBefore.rss)} -> ${mib(memAfter.rss)} over the fill (pages of the table touched); before the router ${mib(mem0.rss)}; heap used ${mib(memBefore.heapUsed)} -> ${mib(memAfter.heapUsed)}; external+arrayBuffers ${mib(memAfter.external + memAfter.arrayBuffers)} (1M frames = 64 MiB of it)`,
  });

  // ---- Established: frames of flows chosen at random, both directions.
  const natPort = new Int32Array(FLOWS);
  for (let f = 0; f < FLOWS; f++) {
    fillFlow(f, t);
    const v = flows.lookup(t.client, t.server, (t.clientPort << 16) | t.serverPort, 17);
    if (v < 0 || (v & 1) !== 0 || flows.keyWord(v >> 1, 1, 1) !== WAN_ADDRESS) throw new Error(`nat bench: flow ${f} is not in the table as expected (${v})`);
    natPort[f] = flows.keyWord(v >> 1, 1, 2) & 0xffff;
  }
  const makePools = (count: number, seed: number): { natPool: FramePool; l3Pool: FramePool; natKeys: Int32Array } => {
    const natKeys = new Int32Array(count * 4);
    const natPool = establishedPool(count, seed, (f) => natPort[f], natKeys);
    return { natPool, l3Pool: establishedPool(count, seed, undefined), natKeys };
  };
  const random = makePools(RANDOM_FRAMES, 0x2545f491);
  const hot = makePools(MAX_BATCH, 0x1b873593);
  nat.verify(random.natPool, 'established, random flows');
  l3.verify(random.l3Pool, 'plain L3, random flows');
  const cmpRandom = compare('nat/established-1M-random', `${RANDOM_FRAMES / 1024}k frames of flows chosen at random of 1M (${flows.live()} entries), half each direction`, nat, l3);
  rows.push(...cmpRandom.rows);
  rows.push(fastPathOnOff('nat/established-1M-random', nat));
  const allocNat = await allocationCheck(nat.step, 4000);
  const allocL3 = await allocationCheck(l3.step, 4000);

  nat.verify(hot.natPool, 'established, hot set');
  l3.verify(hot.l3Pool, 'plain L3, hot set');
  const cmpHot = compare('nat/established-hot-256', '256 flows (a batch) over and over, table of 1M', nat, l3);
  rows.push(...cmpHot.rows);
  rows.push(fastPathOnOff('nat/established-hot-256', nat));
  const allocHot = await allocationCheck(nat.step, 4000);
  const gcNote = (a: { gcRuns: number; heapDeltaBytes: number }) => `${a.gcRuns} GCs, heap ${a.heapDeltaBytes >= 0 ? '+' : ''}${(a.heapDeltaBytes / 1024).toFixed(0)} KiB`;
  const packets = `${((4000 * MAX_BATCH) / 1e6).toFixed(2)}M packets`;
  rows.push({ name: 'nat/gc-established', subject: 'NAT, random flows', value: allocNat.gcRuns, unit: 'GCs', notes: `${gcNote(allocNat)} over ${packets}` });
  rows.push({ name: 'nat/gc-established', subject: 'NAT, hot set', value: allocHot.gcRuns, unit: 'GCs', notes: `${gcNote(allocHot)} over ${packets}` });
  rows.push({ name: 'nat/gc-established', subject: 'plain L3, random flows', value: allocL3.gcRuns, unit: 'GCs', notes: `${gcNote(allocL3)} over ${packets} (the harness's own share)` });

  // DP_NAT_BENCH=established: stop here (the established rows only; a partial run, not for bench/results).
  if (process.env.DP_NAT_BENCH === 'established') return { rows, targets };
  // ---- The table's part of an established packet, and of a new one.
  rows.push(...runCtTableBench(flows, random.natKeys, RANDOM_FRAMES, nat.clock.nowMs()));
  rows.push(bindingProbeRow(nat));
  // ---- Churn at 90%: every flow so far idle past the UDP timeout; new flows of new endpoints.
  const churnCount = HOSTS * CHURN_PORTS_PER_HOST * 32;
  const churnOrder = shuffledOrder(churnCount, 13);
  const churnPool = new FramePool(CHURN_FRAMES);
  for (let i = 0; i < CHURN_FRAMES; i++) {
    churnFlow(churnOrder[i], t);
    churnPool.set(i, LAN, t.client, t.server, t.clientPort, t.serverPort);
  }
  nat.clock.advance(UDP_TIMEOUT_MS + 1_000);
  nat.input.use(churnPool);
  const s0 = sumStats(FlowTable.stats(tables.buffers.flows));
  const out0 = nat.forwarded();
  l3.input.use(churnPool);
  let churn = { ns: [0], peerNs: [1] };
  const churnGcs = await countGcs(() => {
    churn = chunkedNs(nat.step, l3.step, CHURN_FRAMES / MAX_BATCH, 20);
  });
  const churnChunks = churn.ns;
  const churnNs = median(churnChunks);
  const churnAll = mean(churnChunks);
  const churnVsL3 = median(churn.ns.map((n, i) => n / churn.peerNs[i]));
  const s1 = sumStats(FlowTable.stats(tables.buffers.flows));
  const churnCreated = nat.router.counters.get('nat-output/flows-created').packets - created;
  const churnOut = nat.forwarded() - out0;
  rows.push({
    name: 'nat/new-flows-churn-at-90%',
    subject: 'NAT (masquerade, 1 thread)',
    value: 1e3 / churnNs,
    unit: 'M flows/s',
    nsPerOp: churnNs,
    notes: `${churnCreated} new flows (${churnOut} forwarded) of ${HOSTS * CHURN_PORTS_PER_HOST} new endpoints, the router's sweep expiring ${s1.expired - s0.expired} entries meanwhile (at most 64 a batch), ${s1.evicted - s0.evicted} evicted; median of 20 chunks, CPU time (${churnAll.toFixed(0)} ns over all); ${churnVsL3.toFixed(1)}x plain L3 on the same frames (L3 ${median(churn.peerNs).toFixed(0)} ns); ${((s0.live / CAPACITY) * 100).toFixed(1)}% -> ${((s1.live / CAPACITY) * 100).toFixed(1)}% full; ${churnGcs} GCs; ${machine}`,
  });

  // ---- Bytes per flow.
  rows.push({
    name: 'nat/memory',
    subject: 'per flow-table entry',
    value: perEntry,
    unit: 'B',
    notes: `(flow table ${mib(tableBytes)} + port allocators ${(portBytes / 1024).toFixed(0)} KiB) / capacity ${CAPACITY}; ${perEntry2p20.toFixed(1)} B at capacity 2^20`,
  });
  rows.push({ name: 'nat/memory', subject: 'per NAT flow, this mix', value: perEntry * entriesPerFlow, unit: 'B', notes: `32 flows share each binding: ${entriesPerFlow.toFixed(4)} entries per flow` });
  rows.push({ name: 'nat/memory', subject: 'per NAT flow, own binding', value: perEntry * 2, unit: 'B', notes: 'each flow of a distinct endpoint (a TCP connection from a new source port) needs a binding entry too: 2 entries' });

  // ---- The same comparison with each router alone in its own isolate (isolated.ts).
  const isolated = await isolatedComparison(ROUNDS);
  for (const c of isolated) {
    rows.push({
      name: `nat/established-${c.pool === 'random' ? '1M-random' : 'hot-256'}-isolated ratio`,
      subject: 'NAT rate / L3 rate, one router per isolate',
      value: c.ratio,
      unit: 'x',
      notes: `NAT ${c.nat.toFixed(0)} ns, L3 ${c.l3.toFixed(0)} ns per packet (medians); median of ${ROUNDS} pairwise ratios of alternating chunks (min ${Math.min(...c.ratios).toFixed(3)}, max ${Math.max(...c.ratios).toFixed(3)}), each router in its own worker_thread as live; ${machine}`,
    });
  }

  // ---- Steering replies by the NAT port: what it would cost.
  rows.push(...runSteeringBench());

  // ---- Targets.
  targets.push({
    description: 'established NAT >= 0.75x plain L3, 1M flows, random flows (pairwise median, same run)',
    met: cmpRandom.ratio >= 0.75,
    measured: `${cmpRandom.ratio.toFixed(3)}x (NAT ${cmpRandom.nat.toFixed(0)} ns, L3 ${cmpRandom.l3.toFixed(0)} ns per packet) ${machine}`,
  });
  for (const c of isolated) {
    targets.push({
      description: `established NAT >= 0.75x plain L3, ${c.pool === 'random' ? '1M flows, random flows' : 'hot set of 256 flows'}, one router per isolate`,
      met: c.ratio >= 0.75,
      measured: `${c.ratio.toFixed(3)}x (NAT ${c.nat.toFixed(0)} ns, L3 ${c.l3.toFixed(0)} ns per packet) ${machine}`,
    });
  }
  targets.push({
    description: 'established NAT >= 0.75x plain L3, hot set of 256 flows',
    met: cmpHot.ratio >= 0.75,
    measured: `${cmpHot.ratio.toFixed(3)}x (NAT ${cmpHot.nat.toFixed(0)} ns, L3 ${cmpHot.l3.toFixed(0)} ns per packet) ${machine}`,
  });
  targets.push({ description: '>= 500k new flows/s per core (empty to 1M, whole pipeline)', met: fillNs <= 2000, measured: `${(1e3 / fillNs).toFixed(3)} M/s (${fillNs.toFixed(0)} ns/flow, median chunk; ${(1e3 / fillAll).toFixed(3)} M/s over the whole fill) ${machine}` });
  targets.push({ description: '>= 500k new flows/s per core at 90% full with expiry churn', met: churnNs <= 2000, measured: `${(1e3 / churnNs).toFixed(3)} M/s (${churnNs.toFixed(0)} ns/flow, median chunk; ${(1e3 / churnAll).toFixed(3)} M/s over all) ${machine}` });
  targets.push({ description: '<= 128 bytes per flow-table entry (flow table + NAT port allocators / capacity)', met: perEntry <= 128, measured: `${perEntry.toFixed(1)} B (${perEntry2p20.toFixed(1)} B at capacity 2^20)` });
  targets.push({ description: '<= 128 bytes per NAT flow when every flow has its own binding', met: perEntry * 2 <= 128, measured: `${(perEntry * 2).toFixed(1)} B (2 entries); ${(perEntry * entriesPerFlow).toFixed(1)} B with 32 flows per binding` });
  targets.push({
    description: 'no GC and < 1 byte of heap per packet in the established loop (the NAT hot path allocates nothing)',
    // A GC count alone can miss allocation the young generation absorbs: the heap must not grow a byte per packet either.
    met: [allocNat, allocHot].every((a) => a.gcRuns === 0 && a.heapDeltaBytes < 4000 * MAX_BATCH),
    measured: `random ${gcNote(allocNat)}; hot ${gcNote(allocHot)}; fill ${fillGcs} GCs over 1M new flows; churn ${churnGcs} GCs`,
  });
  return { rows, targets };
}
