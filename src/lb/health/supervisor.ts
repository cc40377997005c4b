// The load balancer's main-thread life in a running dataplane: the shared
// tables (LbControl), the health checker whose verdicts take backends out of
// (and back into) them, the dynamic-weights loop, and reloads (`ctl reload`,
// the control API's backend changes, SIGHUP), after
// which the checker and the weights start over on the new set of backends.
import type { VipConfig, LoadBalancerConfig } from '../lb-config.js';
import type { LbControl } from '../lb-control.js';
import { HealthChecker, type VipHealthSnapshot } from './health-checker.js';
import { DynamicWeights } from './dynamic-weights.js';
import { buildMaglev } from '../maglev.js';
import { ipv4ToString } from '../../wire/address.js';

type Log = (line: string) => void;

export class LbSupervisor {
  private checker: HealthChecker | undefined;
  private timers: NodeJS.Timeout[] = [];
  /** Per VIP: its live backends as the checker and the weights loop number them (index into LbControl's order). */
  private live: { index: number; address: number; weight: number }[][] = [];

  constructor(
    readonly control: LbControl,
    private readonly log: Log,
  ) {}

  start(): void {
    const vips = this.control.vipConfigs;
    this.live = vips.map((_, v) => this.control.liveBackends(v));
    // The checker sees each VIP with its live backends only (removed ones are not probed).
    const checked: VipConfig[] = vips.map((c, v) => ({ ...c, backends: this.live[v].map((b) => ({ address: b.address, weight: b.weight })) }));
    if (checked.some((c) => c.healthCheck !== undefined)) {
      // A new checker starts every backend up (health-checker.ts says why): so do the tables.
      checked.forEach((c, v) => {
        if (c.healthCheck !== undefined) for (const b of this.live[v]) this.control.setHealth(v, b.index, true);
      });
      this.checker = new HealthChecker(checked, {
        log: this.log,
        onChange: (v, k, up) => this.control.setHealth(v, this.live[v][k].index, up),
      });
      this.checker.start();
    }
    vips.forEach((c, v) => {
      const dw = c.dynamicWeights;
      if (dw === undefined) return;
      const live = this.live[v];
      const keys = live.map((b) => b.address);
      const weights = new DynamicWeights(
        live.map((b) => b.weight),
        dw,
        c.tableSize,
        (w) => buildMaglev(keys.map((key, i) => ({ key, weight: w[i] })), c.tableSize),
      );
      const timer = setInterval(() => {
        const flows = this.control.activeFlows(v);
        const up = live.map((_, k) => this.checker?.isUp(v, k) ?? true);
        const r = weights.update({ flows: live.map((b) => flows[b.index]), latencyMs: this.checker?.latencies(v), up });
        if (r.step === 0) return;
        const all = new Array<number>(flows.length).fill(0);
        live.forEach((b, k) => (all[b.index] = r.weights[k]));
        const moved = this.control.setEffectiveWeights(v, all);
        this.log(`lb ${c.name}: weights ${live.map((b, k) => `${ipv4ToString(b.address)} ${r.weights[k].toFixed(1)}`).join(', ')} (${(moved * 100).toFixed(2)}% of slots moved)`);
      }, dw.intervalMs);
      timer.unref();
      this.timers.push(timer);
    });
  }

  stop(): void {
    this.checker?.stop();
    this.checker = undefined;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Applies a reloaded `loadBalancer:` section; on success the checker and the weights start over on the new backends. */
  reload(next: LoadBalancerConfig | undefined): { problems: string[]; changes: string[] } {
    const r = this.control.reload(next);
    if (r.problems.length === 0) {
      this.stop();
      this.start();
    }
    return r;
  }

  /** The checker's view (states, probe counters, latencies), or [] without health checks. */
  health(): VipHealthSnapshot[] {
    return this.checker?.snapshot() ?? [];
  }
}
