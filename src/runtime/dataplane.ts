// The live dataplane, main-thread side: compiles the tables, sets up the
// ports, starts N packet workers over shared memory, sums their counters,
// and stops them cleanly (drain, close, remove the TAPs it made).
import { lbRegistryView } from '../lb/lb-tables.js';
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
import { IO_COUNTER_BYTES, IO_COUNTER_NAMES, IoCounter, loadNative } from '../io/native.js';
import { Batch } from '../pipeline/batch.js';
import { compileFib, type CompiledFib } from '../route/fib.js';
import type { PipelineNode } from '../pipeline/node.js';
import { NeighborSync } from '../arp/neighbor-sync.js';
import { TokenBucket } from '../pipeline/token-bucket.js';
import { setupPorts, type PortSetup } from './port-setup.js';
import { workerCpus } from './worker-cpus.js';
import type { WorkerInit, WorkerMessage, XskBind } from './worker-init.js';
import { explainLive } from '../explain/live.js';
import type { ExplainResult } from '../explain/result.js';
import { Control, CONTROL_WORDS, PORT_STAT_FIELDS } from './port-stats.js';
import { sumPortTotals, type PortTotals } from './port-totals.js';
import { ControlChannel } from './control-channel.js';
import type { TableUpdate } from './table-update.js';
import { FibMirror } from './fib-mirror.js';
import { RouteControl, type RouteChange, type RouteEntry, type RoutePlan } from './route-control.js';
import { NeighborControl, type NeighborChange, type NeighborEntry, type NeighborUpdate } from './neighbor-control.js';
import { diffConfigs } from './reload.js';
import { LiveTrace, type LiveTraceStatus } from '../trace/live-trace.js';
import type { TracedPacket } from '../trace/traced-packet.js';
import { FirewallClassifier } from '../firewall/classifier.js';
import { FirewallNode } from '../firewall/firewall-node.js';
import { RuleHitTotals } from '../firewall/rule-hit-totals.js';
import type { LoadBalancerConfig } from '../lb/lb-config.js';

export type { RouteChange, RouteEntry, NeighborChange, NeighborEntry, LiveTraceStatus };

export interface RouteChangeResult {
  /** The generation every worker now uses. */
  generation: number;
  added: number;
  deleted: number;
  replaced: number;
  /** From the call to the last worker's acknowledgement. */
  ms: number;
}

export interface ReloadResult {
  /** What changed live, in words. */
  applied: string[];
  /** What differs and cannot change live; when not empty, nothing was applied. */
  needsRestart: string[];
  /** The generation the workers use after the reload (unchanged when nothing was applied). */
  generation: number;
}

/** How long a change may wait for the workers to take it before the call fails (they take it within a batch or an idle wait). */
const APPLY_TIMEOUT_MS = 5000;
/** The main thread reads the learned-neighbor ring at least this often (it holds 1024 entries). */
const NEIGHBOR_POLL_MS = 1000;

export interface DataplaneOptions {
  workers: number;
  /** Workers poll without sleeping (see RunLoop). */
  busyPoll?: boolean;
  /** Longest adaptive spin before an idle worker sleeps, microseconds (RunLoop spinMaxUs). */
  spinMaxUs?: number;
  /** Longest receive-coalescing nap of a worker, microseconds (RunLoop coalesceMaxUs; 0: off). */
  coalesceMaxUs?: number;
  /**
   * Worker i is pinned to cpus[i] (`run --cpus`, worker-cpus.ts); at least
   * `workers` CPUs, all ones the process may run on. Undefined: not pinned.
   */
  cpus?: readonly number[];
  /** Workers run SCHED_FIFO at this priority (1..99): woken at once on a loaded machine (native/src/sched.cc). */
  realtimePriority?: number;
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
  /** Firewall rule hits by origin, when there is a firewall (replaced, at zero, with each new plan). */
  firewallHits: Float64Array | undefined;
  stopped: Promise<void>;
}

export class Dataplane {
  /** The static routes in force and their changes. */
  private readonly routeControl: RouteControl;
  private readonly neighborControl: NeighborControl;
  private readonly neighborTimer: NodeJS.Timeout;
  /** Changes are applied one at a time, in call order. */
  private queue: Promise<unknown> = Promise.resolve();
  private running: RouterConfig;
  /** The firewall rules' hits carried across plans (firewallHitsTotal), when there is a firewall. */
  private readonly ruleHitTotals: RuleHitTotals | undefined;
  /** The static routes changed since `running.routes` was last brought up to date. */
  private routesDirty = false;

  private constructor(
    config: RouterConfig,
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
    /** Posts table generations to the workers. */
    private readonly channel: ControlChannel,
    neighborRing: SharedArrayBuffer,
    /** The live packet trace (traceStart/Stop/Read). */
    private readonly liveTrace: LiveTrace,
    /** The FIB copies the workers read. */
    private readonly fibMirror: FibMirror,
  ) {
    this.nexthopsPosted = compiled.nexthops.count;
    this.running = config;
    this.ruleHitTotals = config.firewall && new RuleHitTotals(config.firewall);
    this.routeControl = new RouteControl(config.ports, config.routes, compiled);
    this.neighborControl = new NeighborControl(config.ports, config.neighbors, neighborRing, config.arp.reachableMs);
    this.neighborTimer = setInterval(() => this.neighborControl.poll(), NEIGHBOR_POLL_MS).unref();
  }

  /**
   * The config in force: the one started with, plus what changed live since
   * (routes, neighbors, firewall, load balancer, ICMP rate).
   */
  get config(): RouterConfig {
    if (this.routesDirty) {
      this.running = { ...this.running, routes: this.routeControl.routes() };
      this.routesDirty = false;
    }
    return this.running;
  }

  /** Flow-table occupancy and NAT ports in use, or undefined when nothing is tracked. */
  nat(): NatOccupancy | undefined {
    const tracking = trackingConfig(this.running);
    if (this.natBuffers === undefined || tracking === undefined) return undefined;
    return natOccupancy(this.natBuffers, tracking, this.running.ports.map((p) => p.address));
  }

  /** First packets each rule of the plan in force decided since the process started (the metrics' counter: a rule kept by name across plans keeps counting). */
  firewallHitsTotal(): Float64Array | undefined {
    const hits = this.firewallHits();
    return hits && this.ruleHitTotals?.totals(hits);
  }

  /** First packets each firewall rule decided since its plan was published, summed over the workers (by plan origin), or undefined without a firewall. */
  firewallHits(): Float64Array | undefined {
    const plan = this.running.firewall;
    if (plan === undefined) return undefined;
    const sum = new Float64Array(plan.origins.length);
    for (const w of this.workers) if (w.firewallHits !== undefined) for (let i = 0; i < sum.length; i++) sum[i] += w.firewallHits[i];
    return sum;
  }

  static async start(config: RouterConfig, opts: DataplaneOptions): Promise<Dataplane> {
    // Checked before anything is set up: a bad list fails with nothing to undo.
    const cpus = opts.cpus && workerCpus(opts.cpus, opts.workers, loadNative().threadGetAffinity());
    const { lpm, nexthops } = compileFib(config);
    // The workers read copies of the working tables, two used in turn (fib-mirror.ts).
    const fibMirror = new FibMirror(() => lpm.view);
    const fib = fibMirror.initial();
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
    const channel = new ControlChannel();
    const native = loadNative();
    const wakeFds: number[] = [];
    // Live traced packets go to the dataplane's LiveTrace; --trace's (session 0) to onEvent.
    const liveTrace = new LiveTrace();
    const ready: Promise<void>[] = [];
    const xskBinds: XskBind[] = [];
    for (let w = 0; w < opts.workers; w++) {
      const counters = new SharedArrayBuffer(Counters.byteLength(registry));
      const portStats = new SharedArrayBuffer(config.ports.length * PORT_STAT_FIELDS * 8);
      const ioCounters = new SharedArrayBuffer(config.ports.length * IoCounter.COUNT * 8);
      const control = new SharedArrayBuffer(CONTROL_WORDS * 4);
      const busyTime = new SharedArrayBuffer(8);
      const firewallHits = config.firewall && new SharedArrayBuffer(Firewall.hitsBytes(config.firewall));
      // An eventfd among the worker's poll() fds: a published change wakes an idle worker at once.
      const wakeFd = native.wakeFdOpen();
      wakeFds.push(wakeFd);
      const link = channel.addWorker(() => native.wakeFdSignal(wakeFd));
      const init: WorkerInit = { firewallHits, index: w, config: setup.config, fib, nexthops: nexthops.toPlain(), ports: setup.plans[w], counters, portStats, ioCounters, control, busyTime, neighborSync, icmpLimit, busyPoll: opts.busyPoll === true, spinMaxUs: opts.spinMaxUs, coalesceMaxUs: opts.coalesceMaxUs, cpu: cpus?.[w], realtimePriority: opts.realtimePriority, trace, nat, lb: lb?.tables.buffers, updates: link.init, wakeFd };
      const thread = new Worker(new URL('./worker.js', import.meta.url), { workerData: init, transferList: link.transfer });
      let resolveReady!: () => void;
      let rejectReady!: (e: Error) => void;
      ready.push(new Promise<void>((res, rej) => ((resolveReady = res), (rejectReady = rej))));
      const stopped = new Promise<void>((res) => thread.once('exit', () => res()));
      thread.once('exit', () => channel.workerGone(link.index));
      thread.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') {
          xskBinds.push(...m.xskBinds);
          resolveReady();
        }
        else if (m.type === 'error') rejectReady(new Error(`worker ${w}: ${m.message}`));
        if (m.type === 'trace' && m.session !== 0) liveTrace.accept(m.session, m.packet);
        else if (m.type !== 'ready') opts.onEvent?.(m);
      });
      thread.on('error', (e) => rejectReady(e));
      thread.once('exit', () => rejectReady(new Error(`worker ${w} exited during start`)));
      workers.push({ thread, counters: new Counters(registry, counters), portStats: new Float64Array(portStats), ioCounters: new Float64Array(ioCounters), control: new Int32Array(control), busyTime: new Float64Array(busyTime), firewallHits: firewallHits && new Float64Array(firewallHits), stopped });
    }
    const dp = new Dataplane(setup.config, setup, workers, registry, setup.describe, mainRouter.graph.nodes, { lpm, fib: lpm, nexthops }, nat, lb, channel, neighborSync, liveTrace, fibMirror);
    dp.wakeFds = wakeFds;
    dp.pinned = cpus;
    try {
      await Promise.all(ready);
    } catch (e) {
      await dp.stop();
      throw e;
    }
    // The afxdp lines say the bind mode the workers' sockets got, known only now.
    const bound = setup.describeBound(xskBinds);
    dp.portLines.splice(0, dp.portLines.length, ...bound);
    return dp;
  }

  /** Seconds each worker spent processing frames since it started, by worker index (the metrics' busy share). */
  workerBusySeconds(): number[] {
    return this.workers.map((w) => w.busyTime[0]);
  }

  private pinned: readonly number[] | undefined = undefined;

  /** The CPU each worker is pinned to, by worker index (`run --cpus`), or undefined when they are not pinned. */
  get workerCpus(): readonly number[] | undefined {
    return this.pinned;
  }

  /** Packet workers running. */
  get workerCount(): number {
    return this.workers.length;
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

  // --- live changes: each is checked whole, then published as one generation ---

  /** Runs changes one after another (a change plans against the tables the previous one left). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The generation every worker has in force now. */
  get generation(): number {
    return this.channel.applied();
  }

  /** Posts one generation to every worker and waits until each has it in force. */
  private publish(update: Omit<TableUpdate, 'generation'>): Promise<number> {
    if (this.stopping !== undefined) return Promise.reject(new Error('the dataplane is stopping: no more changes'));
    return this.channel.publish(update, APPLY_TIMEOUT_MS);
  }

  /** Next-hop entries the workers have been sent (the table is append-only: a count names a table). */
  private nexthopsPosted: number;

  /**
   * The FIB as it stands in the control plane, for the workers: the other
   * copy brought up to date, and the next-hop table only when it has grown.
   */
  private routesUpdate(): TableUpdate['routes'] {
    const fib = this.fibMirror.next(this.channel.current + 1);
    const t = this.compiled.nexthops;
    if (t.count === this.nexthopsPosted) return { fib };
    this.nexthopsPosted = t.count;
    return { fib, nexthops: t.toPlain() };
  }

  /** Every route in force: connected, from the config, and from the API. */
  routeTable(): RouteEntry[] {
    return this.routeControl.table();
  }

  /** routeTable().length, without describing every route. */
  routeCount(): number {
    return this.routeControl.count();
  }

  /**
   * Adds, deletes and replaces routes while packets flow. The whole change is
   * checked first (RouteChangeError names each bad item and field, and the
   * tables stay exactly as they were); then the new FIB is built on this
   * thread and published as one generation. Resolves when every worker uses it.
   */
  changeRoutes(change: RouteChange): Promise<RouteChangeResult> {
    return this.serial(async () => {
      const t0 = performance.now();
      const plan = this.routeControl.plan(change, 'api');
      return { ...(await this.applyRoutes(plan)), ms: performance.now() - t0 };
    });
  }

  private async applyRoutes(plan: RoutePlan, extra: Omit<TableUpdate, 'generation' | 'routes'> = {}): Promise<Omit<RouteChangeResult, 'ms'>> {
    const counts = this.routeControl.apply(plan, (prefix, len) => this.fibMirror.changed(prefix, len));
    this.routesDirty = true;
    let generation: number;
    try {
      generation = await this.publish({ ...extra, routes: this.routesUpdate() });
    } catch (e) {
      // Some worker may not have taken it (a timeout): neither FIB copy is free to write, and the next-hop table is sent again.
      this.fibMirror.settled(false);
      this.nexthopsPosted = -1;
      throw e;
    }
    this.fibMirror.settled(true);
    return { generation, ...counts };
  }

  /** Configured and learned neighbors, per port. */
  neighbors(): NeighborEntry[] {
    return this.neighborControl.entries();
  }

  /** Adds (or changes the MAC of) and deletes configured neighbors; checked whole (NeighborChangeError), then one generation. */
  changeNeighbors(change: NeighborChange): Promise<{ generation: number; added: number; deleted: number }> {
    return this.serial(async () => {
      const plan = this.neighborControl.plan(change);
      const generation = await this.publish({ neighbors: plan.updates });
      this.neighborControl.commit(plan.statics);
      this.running = { ...this.running, neighbors: plan.statics };
      return { generation, added: plan.added, deleted: plan.deleted };
    });
  }

  /**
   * Starts a live packet trace (ends any running one, --trace's included):
   * up to `count` packets matching `filter` (tcpdump-like, as --trace-filter),
   * read with traceRead(). Throws LiveTraceError naming the bad field.
   */
  traceStart(req: { filter: string; count: number }): Promise<LiveTraceStatus & { generation: number }> {
    return this.serial(async () => {
      const trace = this.liveTrace.start(req, this.running);
      const generation = await this.publish({ trace });
      return { ...this.liveTrace.status(), generation };
    });
  }

  /** Stops the live trace: nothing more is picked from now on; what was traced stays readable. */
  traceStop(): Promise<LiveTraceStatus & { generation: number }> {
    this.liveTrace.stop();
    return this.serial(async () => ({ ...this.liveTrace.status(), generation: await this.publish({ trace: null }) }));
  }

  /** Up to `max` traced packets not read yet (oldest first); format them with openTraceWriter / TraceFormatter over `nodes` and `compiled`. */
  traceRead(max = Infinity): TracedPacket[] {
    return this.liveTrace.read(max);
  }

  traceStatus(): LiveTraceStatus {
    return this.liveTrace.status();
  }

  /**
   * Applies a reloaded config (loadConfig's result): what can change live
   * (routes, neighbors, the firewall and NetworkPolicy plan, the load
   * balancer's backends and weights, the ICMP rate) becomes one generation.
   * When anything differs that cannot change live (ports, NAT, conntrack,
   * ARP or reassembly sizing, adding or removing the firewall or the load
   * balancer, a VIP itself), nothing is applied and needsRestart says why.
   * `loadBalancer` applies the LB section instead of LbControl.reload (the
   * run command's LbSupervisor.reload, which restarts health checks too).
   */
  reload(next: RouterConfig, opts: { loadBalancer?: (lb: LoadBalancerConfig | undefined) => { problems: string[]; changes: string[] } } = {}): Promise<ReloadResult> {
    return this.serial(async () => {
      const cur = this.config;
      const diff = diffConfigs(cur, next);
      const unchanged = { applied: [], generation: this.channel.current };
      if (diff.needsRestart.length > 0) return { ...unchanged, needsRestart: diff.needsRestart };
      // Everything is checked before anything moves.
      const routePlan = diff.routes ? this.routeControl.planConfig(next.routes) : undefined;
      const neighbors: NeighborUpdate[] = diff.neighbors ? this.neighborControl.diff(next.neighbors) : [];
      const judge = diff.firewall && next.firewall !== undefined ? FirewallClassifier.build(next.firewall) : undefined;
      // The load balancer's reload checks its own part and applies nothing when it refuses.
      const applied: string[] = [];
      if (diff.loadBalancer && this.lb !== undefined) {
        const r = opts.loadBalancer?.(next.loadBalancer) ?? this.lb.reload(next.loadBalancer);
        if (r.problems.length > 0) return { ...unchanged, needsRestart: r.problems };
        applied.push(...r.changes.map((c) => `loadBalancer: ${c}`));
      }
      const update: Omit<TableUpdate, 'generation'> = {};
      let firewallHits: SharedArrayBuffer[] | undefined;
      if (diff.firewall && next.firewall !== undefined) {
        // Hit counters start fresh: the new plan's origins may differ from the old one's.
        firewallHits = this.workers.map(() => new SharedArrayBuffer(Firewall.hitsBytes(next.firewall!)));
        applied.push(`firewall: new plan, ${next.firewall.rules.length} rules from ${next.firewall.origins.length} rules and policies`);
      }
      if (neighbors.length > 0) {
        update.neighbors = neighbors;
        applied.push(`neighbors: ${neighbors.filter((n) => n.mac !== undefined).length} set, ${neighbors.filter((n) => n.mac === undefined).length} removed`);
      }
      if (diff.icmp) {
        update.icmp = { ratePerSecond: next.icmp.ratePerSecond, burst: next.icmp.burst };
        applied.push(`icmp: ${next.icmp.ratePerSecond}/s, burst ${next.icmp.burst}`);
      }
      if (firewallHits !== undefined && next.firewall !== undefined) update.firewall = { plan: next.firewall, hits: firewallHits };
      let generation = this.channel.current;
      // Routes added through the API for prefixes the file does not name stay: say so, as they are why the running routes differ from the file's.
      const kept = routePlan !== undefined && routePlan.apiKept > 0 ? `; ${routePlan.apiKept} added through the API kept` : '';
      if (routePlan !== undefined && (routePlan.removals.length > 0 || routePlan.sets.size > 0)) {
        const r = await this.applyRoutes(routePlan, update);
        applied.push(`routes: ${r.added} added, ${r.deleted} deleted, ${r.replaced} replaced${kept}`);
        generation = r.generation;
      } else {
        if (kept !== '') applied.push(`routes: the file's routes are in force already${kept}`);
        if (Object.keys(update).length > 0) generation = await this.publish(update);
      }
      // Every worker counts into the new plan's counters now: the old plan's are final.
      if (firewallHits !== undefined && next.firewall !== undefined) this.ruleHitTotals?.replace(next.firewall, this.firewallHits() ?? []);
      this.running = { ...this.config, neighbors: next.neighbors, icmp: next.icmp, firewall: next.firewall, loadBalancer: next.loadBalancer, notices: next.notices };
      if (diff.neighbors) this.neighborControl.commit([...next.neighbors]);
      if (firewallHits !== undefined) this.workers.forEach((w, i) => (w.firewallHits = new Float64Array(firewallHits[i])));
      // The main thread's firewall node formats the live trace's records: it names rules by the plan in force, at the workers' generation.
      if (judge !== undefined) this.nodes.find((n): n is FirewallNode => n instanceof FirewallNode)?.firewall.publish(judge);
      return { applied, needsRestart: [], generation };
    });
  }

  /** The workers' wake eventfds (closed at stop). */
  private wakeFds: number[] = [];

  private stopping: Promise<void> | undefined;

  /** Stops the workers after their current batch, then closes the ports (removing TAPs). */
  stop(timeoutMs = 3000): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.neighborTimer);
      for (const w of this.workers) Atomics.store(w.control, Control.STOP, 1);
      const all = Promise.all(this.workers.map((w) => w.stopped));
      const timer = new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), timeoutMs).unref());
      if ((await Promise.race([all, timer])) === 'timeout') await Promise.all(this.workers.map((w) => w.thread.terminate()));
      this.setup.teardown();
      this.channel.close();
      // After the workers: none polls them any more.
      for (const fd of this.wakeFds) loadNative().closeFd(fd);
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
    this.flowControlMade ??= new FlowControl(this.natBuffers, natPools(tracking, this.config.ports.map((p) => p.address)), lb && { tables: lbRegistryView(lb.tables), vipNames: () => lb.vipConfigs.map((v) => v.name) });
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
    return explainLive({ config: { ...this.config, neighbors: this.neighborControl.known() }, compiled: this.compiled, nat: this.natBuffers, lb: this.lb?.tables.buffers }, spec);
  }
}
