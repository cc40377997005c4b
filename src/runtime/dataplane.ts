// The live dataplane, main-thread side: compiles the tables, sets up the
// ports, starts N packet workers over shared memory, sums their counters,
// and stops them cleanly (drain, close, remove the TAPs it made).
import { Worker } from 'node:worker_threads';
import type { RouterConfig } from '../config/load.js';
import { Counters, type CounterRegistry } from '../pipeline/counters.js';
import { Router } from '../pipeline/router.js';
import { Batch } from '../pipeline/batch.js';
import { compileFib } from '../route/fib.js';
import { NeighborSync } from '../arp/neighbor-sync.js';
import { setupPorts, type PortSetup } from './port-setup.js';
import type { WorkerInit, WorkerMessage } from './worker-init.js';
import { Control, CONTROL_WORDS, PORT_STAT_FIELDS, PortStat } from './worker-loop.js';

export interface DataplaneOptions {
  workers: number;
  /** Workers poll without sleeping (see WorkerLoop). */
  busyPoll?: boolean;
  /** Called for events worth a log line (port gone, worker error). */
  onEvent?: (event: WorkerMessage) => void;
}

export interface PortTotals {
  name: string;
  up: boolean;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
  rxDropped: number;
}

interface RunningWorker {
  thread: Worker;
  counters: Counters;
  portStats: Float64Array;
  control: Int32Array;
  stopped: Promise<void>;
}

export class Dataplane {
  private constructor(
    readonly config: RouterConfig,
    private readonly setup: PortSetup,
    private readonly workers: RunningWorker[],
    readonly registry: CounterRegistry,
    readonly portLines: string[],
  ) {}

  static async start(config: RouterConfig, opts: DataplaneOptions): Promise<Dataplane> {
    const { lpm, nexthops } = compileFib(config);
    const fib = lpm.snapshot();
    const setup = setupPorts(config, opts.workers);
    const shape = new Batch();
    // A router on the main thread only to learn the counter registry every worker builds.
    const registry = new Router(setup.config, lpm, nexthops, { batchCapacity: shape.capacity, maxFrame: shape.maxFrame }).graph.registry;
    const workers: RunningWorker[] = [];
    const neighborSync = new SharedArrayBuffer(NeighborSync.byteLength());
    const ready: Promise<void>[] = [];
    for (let w = 0; w < opts.workers; w++) {
      const counters = new SharedArrayBuffer(Counters.byteLength(registry));
      const portStats = new SharedArrayBuffer(config.ports.length * PORT_STAT_FIELDS * 8);
      const control = new SharedArrayBuffer(CONTROL_WORDS * 4);
      const init: WorkerInit = { index: w, config: setup.config, fib, nexthops: nexthops.toPlain(), ports: setup.plans[w], counters, portStats, control, neighborSync, busyPoll: opts.busyPoll === true };
      const thread = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
      let resolveReady!: () => void;
      let rejectReady!: (e: Error) => void;
      ready.push(new Promise<void>((res, rej) => ((resolveReady = res), (rejectReady = rej))));
      const stopped = new Promise<void>((res) => thread.once('exit', () => res()));
      thread.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') resolveReady();
        else if (m.type === 'error') rejectReady(new Error(`worker ${w}: ${m.message}`));
        if (m.type !== 'ready') opts.onEvent?.(m);
      });
      thread.on('error', (e) => rejectReady(e));
      thread.once('exit', () => rejectReady(new Error(`worker ${w} exited during start`)));
      workers.push({ thread, counters: new Counters(registry, counters), portStats: new Float64Array(portStats), control: new Int32Array(control), stopped });
    }
    const dp = new Dataplane(setup.config, setup, workers, registry, setup.describe);
    try {
      await Promise.all(ready);
    } catch (e) {
      await dp.stop();
      throw e;
    }
    return dp;
  }

  /** Counters summed over all workers (a fresh object each call). */
  counters(): Counters {
    const sum = new Counters(this.registry);
    for (const w of this.workers) sum.accumulate(w.counters);
    return sum;
  }

  ports(): PortTotals[] {
    return this.config.ports.map((p, i) => {
      const t: PortTotals = { name: p.name, up: true, rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, txDropped: 0, rxDropped: 0 };
      for (const w of this.workers) {
        const b = i * PORT_STAT_FIELDS;
        const s = w.portStats;
        t.rxPackets += s[b + PortStat.RX_PACKETS];
        t.rxBytes += s[b + PortStat.RX_BYTES];
        t.txPackets += s[b + PortStat.TX_PACKETS];
        t.txBytes += s[b + PortStat.TX_BYTES];
        t.txDropped += s[b + PortStat.TX_DROPPED];
        t.rxDropped += s[b + PortStat.RX_DROPPED];
        if (s[b + PortStat.UP] === 0) t.up = false;
      }
      return t;
    });
  }

  private stopping: Promise<void> | undefined;

  /** Stops the workers after their current batch, then closes the ports (removing TAPs). */
  stop(timeoutMs = 3000): Promise<void> {
    this.stopping ??= (async () => {
      for (const w of this.workers) Atomics.store(w.control, Control.STOP, 1);
      const all = Promise.all(this.workers.map((w) => w.stopped));
      const timer = new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), timeoutMs).unref());
      if ((await Promise.race([all, timer])) === 'timeout') await Promise.all(this.workers.map((w) => w.thread.terminate()));
      this.setup.teardown();
    })();
    return this.stopping;
  }
}
