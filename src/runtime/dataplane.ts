// The live dataplane, main-thread side: compiles the tables, sets up the
// ports, starts N packet workers over shared memory, sums their counters,
// and stops them cleanly (drain, close, remove the TAPs it made).
import { trackingConfig } from '../nat/nat-config.js';
import { LbControl } from '../lb/lb-control.js';
import { Firewall } from '../firewall/firewall.js';
import { createNatTables, natOccupancy, natPools, type NatBuffers, type NatOccupancy } from '../nat/nat-tables.js';
import { FlowControl } from '../nat/flow-control.js';
import type { FlowDeletion, FlowList } from '../nat/flow-dump.js';
import type { NatMappingDeletion, NatMappingList } from '../nat/mapping-dump.js';
import { Worker } from 'node:worker_threads';
import type { RouterConfig } from '../config/load.js';
import { Counters, type CounterRegistry } from '../pipeline/counters.js';
import { Router } from '../pipeline/router.js';
import { IO_COUNTER_BYTES, IO_COUNTER_NAMES, IoCounter } from '../io/native.js';
import { Batch } from '../pipeline/batch.js';
import { compileFib, type CompiledFib } from '../route/fib.js';
import type { PipelineNode } from '../pipeline/node.js';
import { NeighborSync } from '../arp/neighbor-sync.js';
import { TokenBucket } from '../pipeline/token-bucket.js';
import { setupPorts, type PortSetup } from './port-setup.js';
import type { WorkerInit, WorkerMessage } from './worker-init.js';
import { explainLive } from '../explain/live.js';
import type { ExplainResult } from '../explain/result.js';
import { Control, CONTROL_WORDS, PORT_STAT_FIELDS } from './port-stats.js';
import { sumPortTotals, type PortTotals } from './port-totals.js';

export interface DataplaneOptions {
  workers: number;
  /** Workers poll without sleeping (see RunLoop). */
  busyPoll?: boolean;
  /** Called for events worth a log line (port gone, worker error) and for traced packets. */
  onEvent?: (event: WorkerMessage) => void;
  /** Trace packets (--trace): the filter must have been checked (checkTraceRequest). */
  trace?: { filter: string; count: number };
}

export type { PortTotals } from './port-totals.js';

interface RunningWorker {
  thread: Worker;
  counters: Counters;
  portStats: Float64Array;
  ioCounters: Float64Array;
  control: Int32Array;
  /** Seconds the worker spent on rounds with frames (RunLoop busyTime). */
  busyTime: Float64Array;
  /** Firewall rule hits by origin, when there is a firewall. */
  firewallHits: Float64Array | undefined;
  stopped: Promise<void>;
}

export class Dataplane {
  private constructor(
    readonly config: RouterConfig,
    private readonly setup: PortSetup,
    private readonly workers: RunningWorker[],
    readonly registry: CounterRegistry,
    readonly portLines: string[],
    /** The graph's nodes, as every worker builds them (to put trace records in words). */
    readonly nodes: readonly PipelineNode[],
    /** The tables the workers were given. */
    readonly compiled: CompiledFib,
    /** The NAT state the workers share, when the config has `nat:`. */
    private readonly natBuffers: NatBuffers | undefined,
    /** The load balancer's tables and backends, when the config has VIPs. */
    readonly lb: LbControl | undefined,
  ) {}

  /** Flow-table occupancy and NAT ports in use, or undefined when nothing is tracked. */
  nat(): NatOccupancy | undefined {
    const tracking = trackingConfig(this.config);
    if (this.natBuffers === undefined || tracking === undefined) return undefined;
    return natOccupancy(this.natBuffers, tracking, this.config.ports.map((p) => p.address));
  }

  /** First packets each firewall rule decided, summed over the workers (by plan origin), or undefined without a firewall. */
  firewallHits(): Float64Array | undefined {
    const plan = this.config.firewall;
    if (plan === undefined) return undefined;
    const sum = new Float64Array(plan.origins.length);
    for (const w of this.workers) if (w.firewallHits !== undefined) for (let i = 0; i < sum.length; i++) sum[i] += w.firewallHits[i];
    return sum;
  }

  static async start(config: RouterConfig, opts: DataplaneOptions): Promise<Dataplane> {
    const { lpm, nexthops } = compileFib(config);
    const fib = lpm.snapshot();
    const setup = setupPorts(config, opts.workers);
    const shape = new Batch();
    // NAT state every worker shares (flows of one connection reach different workers).
    const portAddresses = setup.config.ports.map((p) => p.address);
    const tracking = trackingConfig(setup.config);
    const lbConfig = setup.config.loadBalancer;
    const affinityMs = lbConfig?.vips.reduce((m, v) => Math.max(m, v.affinity?.timeoutMs ?? 0), 0);
    const nat = tracking && createNatTables(tracking, portAddresses, { capacity: setup.config.conntrack.capacity, workers: opts.workers, affinityMs });
    // The load balancer's tables: built here, published to the workers as they change (health, reloads).
    const lb = lbConfig && LbControl.create(lbConfig, opts.workers);
    // A router on the main thread only to learn the counter registry every worker builds (a read-only view of the NAT state).
    const mainRouter = new Router(setup.config, lpm, nexthops, { batchCapacity: shape.capacity, maxFrame: shape.maxFrame, nat: nat && { buffers: nat, worker: -1 }, lb: lb && { buffers: lb.tables.buffers, worker: 0 } });
    const registry = mainRouter.graph.registry;
    const trace = opts.trace && { ...opts.trace, budget: new SharedArrayBuffer(4) };
    const workers: RunningWorker[] = [];
    const neighborSync = new SharedArrayBuffer(NeighborSync.byteLength());
    const icmpLimit = new SharedArrayBuffer(TokenBucket.BYTES);
    const ready: Promise<void>[] = [];
    for (let w = 0; w < opts.workers; w++) {
      const counters = new SharedArrayBuffer(Counters.byteLength(registry));
      const portStats = new SharedArrayBuffer(config.ports.length * PORT_STAT_FIELDS * 8);
      const ioCounters = new SharedArrayBuffer(config.ports.length * IoCounter.COUNT * 8);
      const control = new SharedArrayBuffer(CONTROL_WORDS * 4);
      const busyTime = new SharedArrayBuffer(8);
      const firewallHits = config.firewall && new SharedArrayBuffer(Firewall.hitsBytes(config.firewall));
      const init: WorkerInit = { firewallHits, index: w, config: setup.config, fib, nexthops: nexthops.toPlain(), ports: setup.plans[w], counters, portStats, ioCounters, control, busyTime, neighborSync, icmpLimit, busyPoll: opts.busyPoll === true, trace, nat, lb: lb?.tables.buffers };
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
      workers.push({ thread, counters: new Counters(registry, counters), portStats: new Float64Array(portStats), ioCounters: new Float64Array(ioCounters), control: new Int32Array(control), busyTime: new Float64Array(busyTime), firewallHits: firewallHits && new Float64Array(firewallHits), stopped });
    }
    const dp = new Dataplane(setup.config, setup, workers, registry, setup.describe, mainRouter.graph.nodes, { lpm, fib: lpm, nexthops }, nat, lb);
    try {
      await Promise.all(ready);
    } catch (e) {
      await dp.stop();
      throw e;
    }
    return dp;
  }

  /** Seconds each worker spent processing frames since it started, by worker index (the metrics' busy share). */
  workerBusySeconds(): number[] {
    return this.workers.map((w) => w.busyTime[0]);
  }

  /** Counters summed over all workers (a fresh object each call). */
  counters(): Counters {
    const sum = new Counters(this.registry);
    for (const w of this.workers) sum.accumulate(w.counters);
    return sum;
  }

  ports(): PortTotals[] {
    return sumPortTotals(this.config.ports.map((p) => p.name), this.workers);
  }

  /** Non-zero I/O counters of every port, as `io/<port>/<counter>` (packets; bytes for the tx drops, else 0). */
  ioCounters(): Record<string, { packets: number; bytes: number }> {
    const out: Record<string, { packets: number; bytes: number }> = {};
    for (const t of this.ports()) IO_COUNTER_NAMES.forEach((name, c) => {
      const v = t.io[c];
      const b = IO_COUNTER_BYTES.get(c);
      if (v !== 0) out[`io/${t.name}/${name}`] = { packets: v, bytes: b === undefined ? 0 : t.io[b] };
    });
    return out;
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

  // ---- Flows and NAT mappings for the control plane (issue 12): list with a
  // filter, delete. Filters: src/nat/flow-filter.ts (a bad one throws
  // FlowFilterError naming the word); shapes: src/nat/flow-dump.ts,
  // mapping-dump.ts. Addresses are dotted quads.

  private flowControlMade: FlowControl | undefined;

  private flowControl(): FlowControl {
    const tracking = trackingConfig(this.config);
    if (this.natBuffers === undefined || tracking === undefined) throw new Error('no flow table: the config tracks no connections (it needs nat:, a firewall or a load balancer)');
    const lb = this.lb;
    this.flowControlMade ??= new FlowControl(this.natBuffers, natPools(tracking, this.config.ports.map((p) => p.address)), lb && { tables: lb.tables, vipNames: () => lb.vipConfigs.map((v) => v.name) });
    return this.flowControlMade;
  }

  /** Live flows matching `filter` (at most `limit`), with how many matched. */
  flows(filter: string, limit: number): FlowList {
    return this.flowControl().flows(filter, limit);
  }

  /** Ends the flows matching `filter` (each at its owner's next sweep pass): how many. */
  deleteFlows(filter: string): FlowDeletion {
    return this.flowControl().deleteFlows(filter);
  }

  /** Live NAT mappings matching `filter` (at most `limit`), with how many matched. */
  natMappings(filter: string, limit: number): NatMappingList {
    return this.flowControl().natMappings(filter, limit);
  }

  /** Ends the NAT mappings matching `filter` and the flows holding them: how many of each. */
  deleteNatMappings(filter: string): NatMappingDeletion {
    return this.flowControl().deleteNatMappings(filter);
  }

  // ---- explain (issue 12, src/explain/): one packet through a router of its own over copies of the live tables.

  /** Explains one packet ("tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan") against the tables in force; writes none of them. Throws ExplainSpecError for a bad spec. */
  explain(spec: string): ExplainResult {
    return explainLive({ config: this.config, compiled: this.compiled, nat: this.natBuffers, lb: this.lb?.tables.buffers }, spec);
  }
}
