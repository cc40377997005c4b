// The load balancer's control side: registers the config's backends in the
// shared tables (lb-tables.ts), builds each VIP's Maglev table from the
// weights that count now (configured, or load-driven, and zero for a backend
// that is draining, down or removed), and publishes it as a new generation.
// Health checks, reloads (control API, SIGHUP) and dynamic weights all come
// through here.
// Runs on the main thread (live) or in the router itself (replay, tests).
import type { LoadBalancerConfig, VipConfig } from './lb-config.js';
import { BACKEND_STATE_NAMES, BackendCounter, BackendState, LbTables } from './lb-tables.js';
import { buildMaglev, countMovedSlots } from './maglev.js';
import { ipv4ToString } from '../wire/address.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';

const PROTOCOL_WORDS: Readonly<Record<number, string>> = { [IPPROTO_TCP]: 'tcp', [IPPROTO_UDP]: 'udp' };

/** Room in the backend registry beyond the config's backends, for backends added by reloads. */
const SPARE_BACKENDS = 256;

interface VipRuntime {
  config: VipConfig;
  /** Registry ids of the VIP's backends, in config order (removed ones included, state REMOVED). */
  ids: number[];
  /** Configured weights, by position in `ids`. */
  weights: number[];
  /** Weights in effect when dynamic weights adjust them (else the configured ones). */
  effective: number[];
  up: boolean[];
  removed: boolean[];
}

export interface BackendStatus {
  vip: string;
  address: string;
  state: string;
  weight: number;
  effectiveWeight: number;
  newFlows: number;
  activeFlows: number;
  packets: number;
  bytes: number;
}

export class LbControl {
  private readonly vips: VipRuntime[];
  private scratch: Int32Array[];

  private constructor(
    readonly tables: LbTables,
    config: LoadBalancerConfig,
  ) {
    this.vips = config.vips.map((v, i) => {
      const ids = v.backends.map((b) => this.register(i, b.address, b.weight));
      return { config: v, ids, weights: v.backends.map((b) => b.weight), effective: v.backends.map((b) => b.weight), up: v.backends.map(() => true), removed: v.backends.map(() => false) };
    });
    this.scratch = this.vips.map((v) => new Int32Array(v.config.tableSize));
    for (let i = 0; i < this.vips.length; i++) this.rebuild(i);
  }

  /** New shared tables for `workers` packet workers, built from the config. */
  static create(config: LoadBalancerConfig, workers: number): LbControl {
    const capacity = config.vips.reduce((n, v) => n + v.backends.length, 0) + SPARE_BACKENDS;
    return new LbControl(LbTables.create(config.vips.map((v) => v.tableSize), capacity, workers), config);
  }

  get vipConfigs(): readonly VipConfig[] {
    return this.vips.map((v) => v.config);
  }

  private register(v: number, address: number, weight: number): number {
    const id = this.tables.addBackend(v, address, weight > 0 ? BackendState.ACTIVE : BackendState.DRAINING);
    if (id < 0) throw new Error(`lb: more than ${this.tables.backendCapacity} backends registered since start (restart to make room)`);
    return id;
  }

  /** The state a backend's flows follow, from what is known of it. */
  private stateOf(r: VipRuntime, j: number): number {
    if (r.removed[j]) return BackendState.REMOVED;
    if (!r.up[j]) return BackendState.DOWN;
    return r.effective[j] > 0 ? BackendState.ACTIVE : BackendState.DRAINING;
  }

  /**
   * Builds VIP v's table from the weights in effect and publishes it.
   * Returns the share of slots that changed backend.
   */
  rebuild(v: number): number {
    const r = this.vips[v];
    const backends = r.ids.map((id, j) => ({ key: this.tables.backendAddress[id] >>> 0, weight: this.stateOf(r, j) === BackendState.ACTIVE ? r.effective[j] : 0 }));
    const slots = buildMaglev(backends, r.config.tableSize, this.scratch[v]);
    const ids = new Int32Array(slots.length);
    for (let i = 0; i < slots.length; i++) ids[i] = slots[i] < 0 ? -1 : r.ids[slots[i]];
    const moved = countMovedSlots(this.tables.activeTable(v), ids);
    // States first: a backend leaving the table is DOWN/DRAINING before a worker can miss it there.
    r.ids.forEach((id, j) => this.tables.setState(id, this.stateOf(r, j)));
    this.tables.publish(v, ids);
    return moved / ids.length;
  }

  /** A health check's verdict on backend j of VIP v (config order). */
  setHealth(v: number, j: number, up: boolean): void {
    const r = this.vips[v];
    if (r.up[j] === up) return;
    r.up[j] = up;
    this.rebuild(v);
  }

  /** Load-driven weights for VIP v (config order; fractions allowed, Maglev shares slots in proportion); the configured ones stay the reference. Returns the share of slots moved. */
  setEffectiveWeights(v: number, weights: readonly number[]): number {
    const r = this.vips[v];
    r.effective = r.weights.map((w, j) => (w === 0 ? 0 : Math.max(0, weights[j] ?? w)));
    return this.rebuild(v);
  }

  /** VIP v's backends that are in the config now (not removed): their index (as setHealth takes it), address and configured weight. */
  liveBackends(v: number): { index: number; address: number; weight: number }[] {
    const r = this.vips[v];
    const out: { index: number; address: number; weight: number }[] = [];
    r.ids.forEach((id, j) => {
      if (!r.removed[j]) out.push({ index: j, address: this.tables.backendAddress[id] >>> 0, weight: r.weights[j] });
    });
    return out;
  }

  /** Active flows per backend of VIP v (config order): the dynamic-weights signal. */
  activeFlows(v: number): number[] {
    return this.vips[v].ids.map((id) => this.tables.activeFlows(id));
  }

  /**
   * Applies a reloaded `loadBalancer:` section: weights, added and removed
   * backends. VIPs themselves (address, protocol, port, mode, table size)
   * are fixed until a restart: a change there is a problem and nothing is
   * applied. Returns the problems (empty when applied) and what changed.
   */
  reload(next: LoadBalancerConfig | undefined): { problems: string[]; changes: string[] } {
    const problems: string[] = [];
    const nextVips = next?.vips ?? [];
    if (nextVips.length !== this.vips.length) problems.push(`loadBalancer.vips: ${nextVips.length} VIPs where ${this.vips.length} run: adding or removing a VIP needs a restart`);
    nextVips.forEach((n, i) => {
      const c = this.vips[i]?.config;
      if (c === undefined) return;
      for (const f of ['name', 'address', 'protocol', 'port', 'mode', 'tableSize', 'hash', 'snat', 'guePort'] as const) {
        // Addresses and protocols as the config writes them, not as the numbers they are held as.
        const shown = (v: VipConfig) => (f === 'address' ? ipv4ToString(v.address) : f === 'protocol' ? (PROTOCOL_WORDS[v.protocol] ?? String(v.protocol)) : String(v[f]));
        if (n[f] !== c[f]) problems.push(`loadBalancer.vips[${i}].${f}: changed from ${shown(c)} to ${shown(n)}: needs a restart (only backends and weights reload)`);
      }
    });
    const added = nextVips.reduce((k, n, i) => k + n.backends.filter((b) => !this.vips[i]?.ids.some((id) => this.tables.backendAddress[id] === (b.address | 0))).length, 0);
    if (this.tables.backendCount + added > this.tables.backendCapacity) problems.push(`loadBalancer: ${added} new backends do not fit the ${this.tables.backendCapacity - this.tables.backendCount} free registry entries: restart`);
    if (problems.length > 0) return { problems, changes: [] };
    const changes: string[] = [];
    nextVips.forEach((n, v) => {
      const r = this.vips[v];
      const seen = new Set<number>();
      for (const b of n.backends) {
        const addr = b.address | 0;
        seen.add(addr);
        const j = r.ids.findIndex((id) => this.tables.backendAddress[id] === addr);
        if (j < 0) {
          r.ids.push(this.register(v, addr, b.weight));
          r.weights.push(b.weight);
          r.effective.push(b.weight);
          r.up.push(true);
          r.removed.push(false);
          changes.push(`${n.name}: backend ${ipv4ToString(addr >>> 0)} added (weight ${b.weight})`);
          continue;
        }
        if (r.removed[j]) changes.push(`${n.name}: backend ${ipv4ToString(addr >>> 0)} back (weight ${b.weight})`);
        else if (r.weights[j] !== b.weight) changes.push(`${n.name}: backend ${ipv4ToString(addr >>> 0)} weight ${r.weights[j]} -> ${b.weight}${b.weight === 0 ? ' (draining)' : ''}`);
        r.removed[j] = false;
        r.weights[j] = b.weight;
        r.effective[j] = b.weight;
      }
      r.ids.forEach((id, j) => {
        if (!seen.has(this.tables.backendAddress[id]) && !r.removed[j]) {
          r.removed[j] = true;
          changes.push(`${n.name}: backend ${ipv4ToString(this.tables.backendAddress[id] >>> 0)} removed`);
        }
      });
      r.config = { ...n, backends: r.ids.map((id, j) => ({ address: this.tables.backendAddress[id] >>> 0, weight: r.removed[j] ? 0 : r.weights[j] })) };
      this.rebuild(v);
    });
    return { problems, changes };
  }

  /** Every backend's state and counters (for status lines and the stop summary). */
  status(): BackendStatus[] {
    const out: BackendStatus[] = [];
    const t = this.tables;
    for (const r of this.vips) {
      r.ids.forEach((id, j) => {
        out.push({
          vip: r.config.name,
          address: ipv4ToString(t.backendAddress[id] >>> 0),
          state: BACKEND_STATE_NAMES[this.stateOf(r, j)],
          weight: r.weights[j],
          effectiveWeight: r.effective[j],
          newFlows: t.total(id, BackendCounter.NEW_FLOWS),
          activeFlows: Math.max(0, t.activeFlows(id)),
          packets: t.total(id, BackendCounter.PACKETS),
          bytes: t.total(id, BackendCounter.BYTES),
        });
      });
    }
    return out;
  }
}
