// Established NAT against plain L3 with each router alone in its own
// isolate, as a live worker runs one router: two worker_threads (one NAT
// router with its 1M flows, one plain router), driven in alternating chunks
// from the main thread, each chunk's CPU time measured inside its worker
// while the other waits (process.cpuUsage is the process's, and only one
// thread works at a time).
//
// Why beside nat.ts's in-process comparison: with both routers in one
// isolate the shared node classes (ip4-input, ip4-lookup, ...) see two
// routers' objects, their call sites turn polymorphic and the optimiser
// inlines less (nat.ts had to share one FIB between the two to keep
// ip4-lookup's from boxing every address). Here each isolate has its own
// feedback, like the dataplane's workers.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { parseConfig } from '../../src/config/load.js';
import { Batch, MAX_BATCH } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';
import { RunLoop } from '../../src/runtime/run-loop.js';
import { shuffledOrder } from '../flow/keys.js';
import { CheckingOutput, establishedPool, FLOWS, FramePool, LAN, PoolInput, WAN, WAN_ADDRESS, fillFlow, routerConfig, type FlowTuple } from './workload.js';

const CAPACITY = 1_200_000;
const STEP_MS = 1 / 16;
const RANDOM_FRAMES = 1 << 18;
const CHUNK_STEPS = 256;

interface Request {
  pool: 'random' | 'hot';
  steps: number;
}

/** The worker: one router, filled (NAT) and ready; answers each Request with CPU ns per packet. */
function serve(nat: boolean): void {
  const config = parseConfig(routerConfig(nat ? { capacity: CAPACITY } : undefined), 'bench', '.');
  const { fib, nexthops } = compileFib(config);
  const clock = new ManualClock(1_000);
  const batch = new Batch();
  const router = new Router(config, fib, nexthops, { clock, batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
  const input = new PoolInput();
  const outputs = [new CheckingOutput(LAN, nat), new CheckingOutput(WAN, nat)];
  const loop = new RunLoop({ router, batch, inputs: [input], outputs });
  const step = (): void => {
    clock.advance(STEP_MS);
    loop.step();
  };
  let natPortOf: ((f: number) => number) | undefined;
  if (nat) {
    const t: FlowTuple = { client: 0, clientPort: 0, server: 0, serverPort: 0 };
    const fill = new FramePool(FLOWS);
    const order = shuffledOrder(FLOWS, 11);
    for (let i = 0; i < FLOWS; i++) {
      fillFlow(order[i], t);
      fill.set(i, LAN, t.client, t.server, t.clientPort, t.serverPort);
    }
    input.use(fill);
    for (let i = 0; i < FLOWS / MAX_BATCH; i++) step();
    const flows = router.natTables?.flows;
    if (flows === undefined) throw new Error('isolated nat bench: no NAT tables');
    natPortOf = (f) => {
      fillFlow(f, t);
      const v = flows.lookup(t.client, t.server, (t.clientPort << 16) | t.serverPort, 17);
      if (v < 0 || flows.keyWord(v >> 1, 1, 1) !== WAN_ADDRESS) throw new Error(`isolated nat bench: flow ${f} is not in the table`);
      return flows.keyWord(v >> 1, 1, 2) & 0xffff;
    };
  }
  const pools = { random: establishedPool(RANDOM_FRAMES, 0x2545f491, natPortOf), hot: establishedPool(MAX_BATCH, 0x1b873593, natPortOf) };
  // Every frame of both pools must be forwarded, before anything is timed.
  for (const pool of [pools.random, pools.hot]) {
    input.use(pool);
    const before = outputs[0].frames + outputs[1].frames;
    for (const o of outputs) o.check = true;
    for (let i = 0; i < pool.count / MAX_BATCH; i++) step();
    for (const o of outputs) o.check = false;
    const out = outputs[0].frames + outputs[1].frames - before;
    const bad = outputs[0].bad + outputs[1].bad;
    if (out !== pool.count || bad !== 0) throw new Error(`isolated nat bench (${nat ? 'NAT' : 'L3'}): ${out} of ${pool.count} forwarded, ${bad} with wrong addresses`);
  }
  let current: FramePool | undefined;
  parentPort?.on('message', (r: Request) => {
    const pool = pools[r.pool];
    if (pool !== current) input.use((current = pool));
    const t0 = process.cpuUsage();
    for (let i = 0; i < r.steps; i++) step();
    const t = process.cpuUsage(t0);
    parentPort?.postMessage(((t.user + t.system) * 1000) / (r.steps * MAX_BATCH));
  });
  parentPort?.postMessage('ready');
}

if (!isMainThread && (workerData as { natIsolated?: boolean } | undefined)?.natIsolated === true) serve((workerData as { nat: boolean }).nat);

function ask(w: Worker, r: Request | undefined): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      w.off('error', onError);
      resolve(m);
    };
    const onError = (e: Error) => {
      w.off('message', onMessage);
      reject(e);
    };
    w.once('message', onMessage);
    w.once('error', onError);
    if (r !== undefined) w.postMessage(r);
  });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface IsolatedComparison {
  pool: 'random' | 'hot';
  nat: number;
  l3: number;
  ratio: number;
  ratios: number[];
}

/** Alternating chunks of each pool in the two isolates: NAT and L3 ns per packet, and the median of the pairwise ratios. */
export async function isolatedComparison(rounds: number): Promise<IsolatedComparison[]> {
  const start = (nat: boolean) => new Worker(new URL(import.meta.url), { workerData: { natIsolated: true, nat } });
  const nat = start(true);
  const l3 = start(false);
  try {
    await Promise.all([ask(nat, undefined), ask(l3, undefined)]);
    const out: IsolatedComparison[] = [];
    for (const pool of ['random', 'hot'] as const) {
      const natNs: number[] = [];
      const l3Ns: number[] = [];
      for (let r = 0; r <= rounds; r++) {
        const first = r % 2 === 0 ? nat : l3;
        const second = first === nat ? l3 : nat;
        const a = (await ask(first, { pool, steps: CHUNK_STEPS })) as number;
        const b = (await ask(second, { pool, steps: CHUNK_STEPS })) as number;
        if (r === 0) continue; // warm-up round
        natNs.push(first === nat ? a : b);
        l3Ns.push(first === nat ? b : a);
      }
      const ratios = natNs.map((n, i) => l3Ns[i] / n);
      out.push({ pool, nat: median(natNs), l3: median(l3Ns), ratio: median(ratios), ratios });
    }
    return out;
  } finally {
    await Promise.all([nat.terminate(), l3.terminate()]);
  }
}
