// The NAT and firewall benchmarks' harness from memory: a Router with its
// batch, manual clock and run loop fed from frame pools (workload.ts), and
// the CPU-time measures they share (chunks alternating between two routers,
// so a ratio holds while this machine's speed drifts).
import { PerformanceObserver } from 'node:perf_hooks';
import { parseConfig, type RouterConfig } from '../../src/config/load.js';
import { Batch, MAX_BATCH } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';
import { RunLoop } from '../../src/runtime/run-loop.js';
import { CheckingOutput, FramePool, LAN, PoolInput, WAN } from './workload.js';

export type CompiledFib = Pick<ReturnType<typeof compileFib>, 'fib' | 'nexthops'>;

/** The clock moves 1/16 ms per batch of 256 (~4 Mpps, near the measured rate). */
export const STEP_MS = 1 / 16;
/** Batches per timed chunk (64k packets), and chunk pairs per comparison. */
export const CHUNK_STEPS = 256;
export const ROUNDS = 30;

/** A router, its batch, clock and run loop, fed from frame pools. */
export class Rig {
  readonly clock = new ManualClock(1_000);
  readonly batch = new Batch();
  readonly router: Router;
  readonly input = new PoolInput();
  readonly outputs: CheckingOutput[];
  readonly loop: RunLoop;
  readonly compiled: CompiledFib;
  readonly config: RouterConfig;

  /**
   * `fib`: the routes and next hops of the other rig, when its config routes
   * alike. Both routers then call one FIB lookup function: with two, the
   * call site in ip4-lookup sees two closures, V8 stops inlining it, and the
   * address argument (a uint32 above 2^31) is boxed, 16 bytes per packet
   * (measured, both routers alike), where a worker's single router inlines it.
   */
  constructor(yaml: string, nat: boolean, fib?: CompiledFib, configure?: (c: RouterConfig) => RouterConfig) {
    const parsed = parseConfig(yaml, 'bench', '.');
    const config = configure ? configure(parsed) : parsed;
    this.config = config;
    const { fib: lookup, nexthops } = fib ?? compileFib(config);
    this.compiled = { fib: lookup, nexthops };
    this.router = new Router(config, lookup, nexthops, { clock: this.clock, batchCapacity: this.batch.capacity, maxFrame: this.batch.maxFrame });
    this.outputs = [new CheckingOutput(LAN, nat), new CheckingOutput(WAN, nat)];
    this.loop = new RunLoop({ router: this.router, batch: this.batch, inputs: [this.input], outputs: this.outputs });
  }

  /** One batch: the clock moves on, then one round of the run loop. */
  readonly step = (): void => {
    this.clock.advance(STEP_MS);
    this.loop.step();
  };

  forwarded(): number {
    return this.outputs[LAN].frames + this.outputs[WAN].frames;
  }

  /** Runs the whole pool once with every output frame checked; throws unless all of it was forwarded as expected. */
  verify(pool: FramePool, label: string): void {
    this.input.use(pool);
    for (const o of this.outputs) o.check = true;
    const before = this.forwarded();
    const badBefore = this.outputs[LAN].bad + this.outputs[WAN].bad;
    for (let i = 0; i < pool.count / MAX_BATCH; i++) this.step();
    const out = this.forwarded() - before;
    const bad = this.outputs[LAN].bad + this.outputs[WAN].bad - badBefore;
    for (const o of this.outputs) o.check = false;
    if (out !== pool.count || bad !== 0) {
      throw new Error(`nat bench: ${label}: ${out} of ${pool.count} frames forwarded, ${bad} with unexpected addresses: ${JSON.stringify(this.router.counters.nonZero())}`);
    }
    this.input.use(pool);
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** CPU ns per packet of `steps` batches of `step`. */
export function cpuNsPerPacket(step: () => void, steps: number): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < steps; i++) step();
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / (steps * MAX_BATCH);
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/**
 * CPU ns per packet of `steps` batches of `step` in `chunks` equal chunks,
 * one figure per chunk (their median stands up to a moment of load on a
 * shared machine, their mean is the whole run), each chunk followed by as
 * many batches of `peer` (its ns per packet in the same order): the
 * ratio of neighbouring chunks holds while the machine's speed drifts.
 */
export function chunkedNs(step: () => void, peer: () => void, steps: number, chunks: number): { ns: number[]; peerNs: number[] } {
  const ns: number[] = [];
  const peerNs: number[] = [];
  for (let c = 0; c < chunks; c++) {
    ns.push(cpuNsPerPacket(step, steps / chunks));
    peerNs.push(cpuNsPerPacket(peer, steps / chunks));
  }
  return { ns, peerNs };
}

/** [ns/packet of a, of b] per round, chunks alternating (and which goes first alternating too). */
export function interleaved(a: () => void, b: () => void): [number, number][] {
  const out: [number, number][] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      const x = cpuNsPerPacket(a, CHUNK_STEPS);
      out.push([x, cpuNsPerPacket(b, CHUNK_STEPS)]);
    } else {
      const y = cpuNsPerPacket(b, CHUNK_STEPS);
      out.push([cpuNsPerPacket(a, CHUNK_STEPS), y]);
    }
  }
  return out;
}

/** Garbage collections while `fn` runs (a GC observer; entries arrive after it). */
export async function countGcs(fn: () => void): Promise<number> {
  let n = 0;
  const obs = new PerformanceObserver((list) => (n += list.getEntries().length));
  obs.observe({ entryTypes: ['gc'] });
  fn();
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  return n;
}

export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

