// The metrics' testing mode: a MetricsSource over real routers, N workers'
// Routers and RunLoops on memory ports in this thread (no root, no addon),
// sharing the flow table, the load balancer's tables and the ICMP limit as
// Dataplane's workers do, summed by the code the Dataplane uses
// (sumPortTotals, Counters.accumulate, natOccupancy, LbControl.status).
// Used by the tests (test/metrics/) and the scrape benchmark
// (bench/control/metrics.ts).
import { parseConfig, type RouterConfig } from '../config/load.js';
import { FirewallClassifier } from '../firewall/classifier.js';
import { Firewall } from '../firewall/firewall.js';
import type { FirewallPlan } from '../firewall/plan.js';
import { RuleHitTotals } from '../firewall/rule-hit-totals.js';
import { MemoryPort } from '../io/memory-port.js';
import { LbControl } from '../lb/lb-control.js';
import type { MetricsSource } from '../metrics/source.js';
import { trackingConfig } from '../nat/nat-config.js';
import { createNatTables, natOccupancy, type NatBuffers } from '../nat/nat-tables.js';
import { Batch } from '../pipeline/batch.js';
import { ManualClock } from '../pipeline/clock.js';
import { Counters } from '../pipeline/counters.js';
import { Router } from '../pipeline/router.js';
import { TokenBucket } from '../pipeline/token-bucket.js';
import { compileFib } from '../route/fib.js';
import { Control, CONTROL_WORDS, PORT_STAT_FIELDS } from '../runtime/port-stats.js';
import { sumPortTotals } from '../runtime/port-totals.js';
import { RunLoop } from '../runtime/run-loop.js';

interface RigWorker {
  router: Router;
  loop: RunLoop;
  ports: MemoryPort[];
  portStats: Float64Array;
  control: Int32Array;
  busyTime: Float64Array;
  hits: Float64Array | undefined;
}

export class PipelineRig implements MetricsSource {
  config: RouterConfig;
  readonly lb: LbControl | undefined;
  readonly workers: RigWorker[];
  private readonly natBuffers: NatBuffers | undefined;
  private readonly ruleHitTotals: RuleHitTotals | undefined;

  constructor(yaml: string, workers = 2) {
    this.config = parseConfig(yaml, 'test.yaml', '.');
    this.ruleHitTotals = this.config.firewall && new RuleHitTotals(this.config.firewall);
    const { fib, nexthops } = compileFib(this.config);
    const tracking = trackingConfig(this.config);
    this.lb = this.config.loadBalancer && LbControl.create(this.config.loadBalancer, workers);
    this.natBuffers = tracking && createNatTables(tracking, this.config.ports.map((p) => p.address), { capacity: this.config.conntrack.capacity, workers, seed: 1 });
    const clock = new ManualClock(1000);
    const icmpLimit = new SharedArrayBuffer(TokenBucket.BYTES);
    this.workers = Array.from({ length: workers }, (_, w) => {
      const batch = new Batch();
      const hitsBuffer = this.config.firewall && new SharedArrayBuffer(Firewall.hitsBytes(this.config.firewall));
      const router = new Router(this.config, fib, nexthops, {
        clock,
        batchCapacity: batch.capacity,
        maxFrame: batch.maxFrame,
        icmpLimit,
        nat: this.natBuffers && { buffers: this.natBuffers, worker: w },
        firewallHits: hitsBuffer,
        lb: this.lb && { buffers: this.lb.tables.buffers, worker: w },
      });
      const ports = this.config.ports.map((p) => new MemoryPort(p.name, { index: p.index }));
      const portStats = new Float64Array(this.config.ports.length * PORT_STAT_FIELDS);
      const control = new Int32Array(CONTROL_WORDS);
      const busyTime = new Float64Array(1);
      // run() returns once the ports are empty: the idle wait sets the stop word.
      const loop = new RunLoop({ router, batch, inputs: ports, outputs: ports, portStats, control, busyTime, wait: () => Atomics.store(control, Control.STOP, 1) });
      return { router, loop, ports, portStats, control, busyTime, hits: hitsBuffer && new Float64Array(hitsBuffer) };
    });
  }

  get registry() {
    return this.workers[0].router.graph.registry;
  }

  /** Queues frames on worker `w`'s port and runs its loop until the ports are empty. */
  send(w: number, port: string, frames: Uint8Array[]): Uint8Array[] {
    const worker = this.workers[w];
    const p = worker.ports[this.config.ports.findIndex((x) => x.name === port)];
    for (const f of frames) p.inject(f);
    Atomics.store(worker.control, Control.STOP, 0);
    worker.loop.run();
    return worker.ports.flatMap((x) => x.takeSent());
  }

  ports() {
    return sumPortTotals(
      this.config.ports.map((p) => p.name),
      // Each memory port's own I/O counters, laid out per port as a worker's shared array is.
      this.workers.map((w) => ({ portStats: w.portStats, ioCounters: Float64Array.from(w.ports.flatMap((p) => Array.from(p.counters))) })),
    );
  }

  counters(): Counters {
    const sum = new Counters(this.registry);
    for (const w of this.workers) sum.accumulate(w.router.counters);
    return sum;
  }

  nat() {
    const tracking = trackingConfig(this.config);
    return this.natBuffers && tracking && natOccupancy(this.natBuffers, tracking, this.config.ports.map((p) => p.address));
  }

  /** Puts a new firewall plan in force on every worker, as Dataplane.reload does: fresh hit counters, the totals carried. */
  setFirewall(plan: FirewallPlan): void {
    this.ruleHitTotals?.replace(plan, this.firewallHits() ?? []);
    this.config = { ...this.config, firewall: plan };
    for (const w of this.workers) {
      const hits = new SharedArrayBuffer(Firewall.hitsBytes(plan));
      w.router.firewall?.publish(FirewallClassifier.build(plan), hits);
      w.hits = new Float64Array(hits);
    }
  }

  firewallHitsTotal(): Float64Array | undefined {
    const hits = this.firewallHits();
    return hits && this.ruleHitTotals?.totals(hits);
  }

  firewallHits(): Float64Array | undefined {
    const plan = this.config.firewall;
    if (plan === undefined) return undefined;
    const sum = new Float64Array(plan.origins.length);
    for (const w of this.workers) if (w.hits) for (let i = 0; i < sum.length; i++) sum[i] += w.hits[i];
    return sum;
  }

  workerBusySeconds(): number[] {
    return this.workers.map((w) => w.busyTime[0]);
  }
}
