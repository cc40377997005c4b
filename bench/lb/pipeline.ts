// The load balancer in the whole pipeline, from memory, one thread: the real
// Router and run loop with one VIP (UDP, all ports) of 10 backends on the
// wan link, per mode, against the same router forwarding the same frames as
// plain L3 (the VIP's prefix routed to a gateway, nothing tracked), in
// alternating chunks of CPU time (bench/nat/rig.ts).
//
//   first packets  1M flows (1,024 clients x 1,024 ports) to the VIP, each
//                  first packet in random order: VIP match, Maglev pick, a
//                  flow pinned to its backend, forwarded (MAC rewrite,
//                  tunnel, or DNAT)
//   established    the 1M flows pinned, 64-byte frames of flows chosen at
//                  random, and a hot set of 256 flows
//
// Every frame must leave the wan port, or the bench stops: the rates are of
// work actually done.
import { MAX_BATCH } from '../../src/pipeline/batch.js';
import type { RouterConfig } from '../../src/config/load.js';
import type { LbModeName, VipConfig } from '../../src/lb/lb-config.js';
import { FlowTable } from '../../src/flow/flow-table.js';
import { shuffledOrder } from '../flow/keys.js';
import { machineLabel, type BenchRow, type BenchTarget } from '../lib/report.js';
import { allocationCheck } from '../lib/measure.js';
import { chunkedNs, gc, interleaved, median, Rig, ROUNDS, CHUNK_STEPS } from '../nat/rig.js';
import { clientAddress, FramePool, LAN, routerConfig, WAN } from '../nat/workload.js';

const FLOWS = 1 << 20;
const CAPACITY = 1_200_000;
const RANDOM_FRAMES = 1 << 18;
const VIP = 0xcb0071fa; // 203.0.113.250 (routed to the gateway by the plain router)
const BACKENDS = 10;
/** Batches of the allocation check (1M packets). */
const ALLOC_STEPS = 4000;
const MODES: LbModeName[] = ['dsr-l2', 'dsr-ipip', 'dsr-gue', 'nat'];

function backendAddress(i: number): number {
  return (0xc6336400 + 11 + i) >>> 0; // 198.51.100.11 ...
}

function vip(mode: LbModeName): VipConfig {
  return {
    name: 'bench', address: VIP, protocol: 17, port: 0, mode, tableSize: 65537, hash: 'five-tuple',
    affinity: undefined, healthCheck: undefined, dynamicWeights: undefined, snat: false, guePort: mode === 'dsr-gue' ? 6080 : 0,
    backends: Array.from({ length: BACKENDS }, (_, i) => ({ address: backendAddress(i), weight: 1 })),
  };
}

/** The NAT bench's router, with the backends as static neighbors on the wan link. */
function config(): string {
  const base = routerConfig(undefined);
  const neighbors = Array.from({ length: BACKENDS }, (_, i) => `  - { address: 198.51.100.${11 + i}, mac: "02:cc:00:00:00:${(11 + i).toString(16).padStart(2, '0')}" }`);
  return `${base}${neighbors.join('\n')}\n`;
}

/** Flow f: client host f >> 10, port 10000 + (f & 1023), to the VIP's port 80. */
function setFlow(pool: FramePool, i: number, f: number): void {
  pool.set(i, LAN, clientAddress(f >>> 10), VIP | 0, 10000 + (f & 1023), 80);
}

function randomPool(count: number, seed: number): FramePool {
  const pool = new FramePool(count);
  let x = seed;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    setFlow(pool, i, (x >>> 12) & (FLOWS - 1));
  }
  return pool;
}

/** Runs the pool once: every frame must leave by the wan port (to a backend, tunnelled or not), or the bench stops. */
function allLeaveByWan(rig: Rig, pool: FramePool, label: string): void {
  rig.input.use(pool);
  const before = rig.outputs[WAN].frames;
  for (let i = 0; i < pool.count / MAX_BATCH; i++) rig.step();
  const out = rig.outputs[WAN].frames - before;
  if (out !== pool.count) throw new Error(`lb bench: ${label}: ${out} of ${pool.count} frames left by wan: ${JSON.stringify(rig.router.counters.nonZero())}`);
  rig.input.use(pool);
}

export async function runLbPipelineBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const rows: BenchRow[] = [];
  const targets: BenchTarget[] = [];
  const machine = machineLabel();
  const yaml = config();
  const l3 = new Rig(yaml, false);
  const fillPool = new FramePool(FLOWS);
  const order = shuffledOrder(FLOWS, 7);
  for (let i = 0; i < FLOWS; i++) setFlow(fillPool, i, order[i]);
  const random = randomPool(RANDOM_FRAMES, 0x2545f491);
  const hot = randomPool(MAX_BATCH, 0x1b873593);
  l3.verify(random, 'plain L3, random flows');
  const flowBytes = FlowTable.bytesFor(CAPACITY, 1) / CAPACITY;
  // DP_LB_MODES=dsr-l2,nat: only those modes (a partial run).
  const modes = process.env.DP_LB_MODES?.split(',').map((m) => m.trim()) ?? MODES;
  for (const mode of MODES.filter((m) => modes.includes(m))) {
    gc();
    const rig = new Rig(`${yaml}conntrack: { capacity: ${CAPACITY} }\n`, false, l3.compiled, (c: RouterConfig) => ({ ...c, loadBalancer: { vips: [vip(mode)] } }));
    const heap0 = process.memoryUsage();
    rig.input.use(fillPool);
    l3.input.use(fillPool);
    const fill = chunkedNs(rig.step, l3.step, FLOWS / MAX_BATCH, 64);
    const created = rig.router.counters.get('nat-output/flows-created').packets;
    if (created !== FLOWS || rig.forwarded() !== FLOWS) {
      throw new Error(`lb bench ${mode}: ${created} of ${FLOWS} flows started, ${rig.forwarded()} forwarded: ${JSON.stringify(rig.router.counters.nonZero())}`);
    }
    const ns = median(fill.ns);
    rows.push({
      name: `lb/pipeline-new-flow ${mode}`,
      subject: `dataplane lb ${mode} (1 thread)`,
      value: 1e3 / ns,
      unit: 'M flows/s',
      nsPerOp: ns,
      notes: `first packets of 1M UDP flows to one VIP of ${BACKENDS} backends, random order: Maglev pick, flow pinned, forwarded; median of 64 chunks of 16k, CPU time; plain L3 forwarding the same frames ${median(fill.peerNs).toFixed(0)} ns in the neighbouring chunks; ${machine}`,
    });
    const compare = (label: string, pool: FramePool, what: string): number => {
      allLeaveByWan(rig, pool, `${mode}: ${label}`);
      l3.input.use(pool);
      const pairs = interleaved(rig.step, l3.step);
      const ratios = pairs.map((p) => p[1] / p[0]);
      const f = median(pairs.map((p) => p[0]));
      const l = median(pairs.map((p) => p[1]));
      const ratio = median(ratios);
      rows.push({
        name: `lb/pipeline-established-${label} ${mode}`,
        subject: `dataplane lb ${mode}`,
        value: 1e3 / f,
        unit: 'Mpps',
        nsPerOp: f,
        notes: `${what}; plain L3 (VIP routed, nothing tracked) ${l.toFixed(0)} ns (${(1e3 / l).toFixed(2)} Mpps); rate ratio to it ${ratio.toFixed(3)} (median of ${ROUNDS} pairwise ratios of alternating chunks of ${(CHUNK_STEPS * MAX_BATCH) / 1024}k packets, min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}); flow table ${flowBytes.toFixed(0)} B per flow of capacity ${CAPACITY}, heap after the fill ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB (${((process.memoryUsage().heapUsed - heap0.heapUsed) / 2 ** 20).toFixed(0)} MiB more); ${machine}`,
      });
      return ratio;
    };
    // The same router and table with the fast path (ip4-fast's flow stage) on and off, alternating chunks.
    const onOff = (label: string, pool: FramePool): void => {
      rig.input.use(pool);
      const router = rig.router;
      const full = (): void => {
        router.fastPathOn = false;
        rig.step();
        router.fastPathOn = true;
      };
      const pairs = interleaved(rig.step, full);
      const ratios = pairs.map((p) => p[1] / p[0]);
      const on = median(pairs.map((p) => p[0]));
      const off = median(pairs.map((p) => p[1]));
      rows.push({
        name: `lb/pipeline-established-${label} ${mode} fast path on/off`,
        subject: `dataplane lb ${mode}, fast path / full graph`,
        value: median(ratios),
        unit: 'x',
        notes: `one router and table, batches alternately through ip4-fast's flow stage and the full graph: ${on.toFixed(0)} vs ${off.toFixed(0)} ns/packet; median of ${ROUNDS} pairwise ratios (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}); ${machine}`,
      });
    };
    const randomRatio = compare('1M-random', random, `${RANDOM_FRAMES / 1024}k 64-byte frames of flows chosen at random of the 1M pinned`);
    onOff('1M-random', random);
    // The established loop allocates nothing: no GC, and less than a byte of heap per packet (the young generation may absorb what a GC count misses).
    const alloc = await allocationCheck(rig.step, ALLOC_STEPS);
    rows.push({
      name: `lb/gc-established ${mode}`,
      subject: `dataplane lb ${mode}, random flows of the 1M`,
      value: alloc.gcRuns,
      unit: 'GCs',
      notes: `${alloc.gcRuns} GCs, heap ${alloc.heapDeltaBytes >= 0 ? '+' : ''}${(alloc.heapDeltaBytes / 1024).toFixed(0)} KiB over ${((ALLOC_STEPS * MAX_BATCH) / 1e6).toFixed(2)}M packets (fast path on); ${machine}`,
    });
    targets.push({
      description: `${mode}: no GC and < 1 byte of heap per packet in the established loop`,
      met: alloc.gcRuns === 0 && alloc.heapDeltaBytes < ALLOC_STEPS * MAX_BATCH,
      measured: `${alloc.gcRuns} GCs, heap ${(alloc.heapDeltaBytes / 1024).toFixed(0)} KiB over ${ALLOC_STEPS * MAX_BATCH} packets`,
    });
    const hotRatio = compare('hot-256', hot, '256 flows over and over, 1M pinned');
    onOff('hot-256', hot);
    console.error(`bench lb pipeline: ${mode}: new flow ${ns.toFixed(0)} ns, established ${randomRatio.toFixed(3)}x (random) ${hotRatio.toFixed(3)}x (hot) plain L3`);
    if (mode !== 'nat') {
      targets.push({
        description: `${mode} from memory >= 0.8x plain L3 forwarding (1M flows pinned; ${machine})`,
        met: randomRatio >= 0.8,
        measured: `${randomRatio.toFixed(2)}x with frames of random flows of the 1M, ${hotRatio.toFixed(2)}x with a hot set of 256`,
      });
    }
  }
  return { rows, targets };
}
