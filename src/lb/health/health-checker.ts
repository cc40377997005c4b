// Active health checks of every VIP's backends, on the main thread: one probe
// loop per (VIP, backend) for VIPs with a `healthCheck:`, rise/fall state
// (backend-health.ts), a log line and an onChange call per state change, so
// the runtime can rebuild that VIP's Maglev table without the backend (or
// with it again) and publish the new generation.
//
// Timing. Probes of one backend never overlap: the next is scheduled when the
// current one has its verdict, `intervalMs` after the current one started.
// Start times are spread over the first interval so that N backends do not
// open N connections in the same millisecond. While an up backend is failing
// (a run of 1..fall-1 failures) its next probes start sooner, at
// intervalMs - timeoutMs / (fall - 1): a backend that dies at t has its first
// failing probe start by t + interval and its fall-th verdict, timeouts
// included, by t + fall x interval, so it stops receiving new flows within
// `fall` intervals as issue 11 asks (HAProxy's `fastinter` serves the same
// end). That holds while timeoutMs <= intervalMs x (fall-1)/fall (500 ms of
// 1000 with fall 3); detectionBoundMs() says what holds otherwise.
import type { Clock } from '../../pipeline/clock.js';
import { systemClock } from '../../pipeline/clock.js';
import { ipv4ToString } from '../../wire/address.js';
import type { HealthCheckConfig, VipConfig } from '../lb-config.js';
import { BackendHealth } from './backend-health.js';
import { httpProbe } from './http-probe.js';
import { IcmpPinger } from './icmp-probe.js';
import { probeFailed, type Probe, type ProbeResult } from './probe.js';
import { tcpProbe } from './tcp-probe.js';

export interface HealthCheckerOptions {
  clock?: Clock;
  /** One line per state change or problem (default: none). */
  log?: (line: string) => void;
  /** A backend went down (up = false) or came back: rebuild the VIP's table. Called after the log line. */
  onChange?: (vipIndex: number, backendIndex: number, up: boolean) => void;
}

export interface BackendHealthSnapshot {
  address: string;
  up: boolean;
  /** Consecutive results against the current state (failures while up, successes while down). */
  streak: number;
  probesOk: number;
  probesFailed: number;
  transitions: number;
  lastLatencyMs: number;
  latencyEwmaMs: number;
  lastReason: string;
}

export interface VipHealthSnapshot {
  vipIndex: number;
  name: string;
  check: HealthCheckConfig['type'];
  /** Why this VIP's backends are not being probed (an ICMP check without a raw socket); '' when they are. */
  error: string;
  /** A backend that dies is marked down within this many ms (timer lateness aside). */
  detectionBoundMs: number;
  backends: BackendHealthSnapshot[];
}

interface Target {
  vipIndex: number;
  backendIndex: number;
  address: number;
  check: HealthCheckConfig;
  health: BackendHealth;
  timer: NodeJS.Timeout | undefined;
}

/** How soon the next probe of a failing-but-up backend starts (see the header). */
function suspectDelayMs(c: HealthCheckConfig): number {
  return c.fall > 1 ? Math.max(c.timeoutMs, c.intervalMs - c.timeoutMs / (c.fall - 1)) : c.intervalMs;
}

/** Worst case from a backend's death to its fall-th failed verdict: first probe within an interval, then fall-1 quicker ones, the last one timing out. */
export function detectionBoundMs(c: HealthCheckConfig): number {
  return c.intervalMs + (c.fall - 1) * suspectDelayMs(c) + c.timeoutMs;
}

export class HealthChecker {
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly onChange: (vipIndex: number, backendIndex: number, up: boolean) => void;
  private readonly targets: Target[] = [];
  /** Per VIP index: why its probes cannot run. */
  private readonly errors = new Map<number, string>();
  private pinger: IcmpPinger | undefined;
  /** Bumped by stop(): verdicts of probes started before it are dropped. */
  private generation = 0;
  private running = false;

  constructor(
    private readonly vips: readonly VipConfig[],
    opts: HealthCheckerOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? (() => {});
    this.onChange = opts.onChange ?? (() => {});
    vips.forEach((vip, vipIndex) => {
      const check = vip.healthCheck;
      if (check === undefined) return;
      vip.backends.forEach((b, backendIndex) => {
        this.targets.push({ vipIndex, backendIndex, address: b.address, check, health: new BackendHealth(check.rise, check.fall), timer: undefined });
      });
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const gen = ++this.generation;
    const probes = this.makeProbes();
    const n = this.targets.length;
    this.targets.forEach((t, k) => {
      const probe = probes.get(t.vipIndex);
      if (probe === undefined) return;
      this.schedule(t, probe, gen, Math.floor((k * t.check.intervalMs) / n));
    });
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.generation++;
    for (const t of this.targets) clearTimeout(t.timer);
    this.pinger?.close();
    this.pinger = undefined;
  }

  /** Whether the checker has the backend up (backends of VIPs without a health check always are). */
  isUp(vipIndex: number, backendIndex: number): boolean {
    return this.target(vipIndex, backendIndex)?.health.up ?? true;
  }

  /** Smoothed probe latency per backend of a VIP (ms; 0 when unknown): the dynamic weights' latency signal. */
  latencies(vipIndex: number): Float64Array {
    const out = new Float64Array(this.vips[vipIndex].backends.length);
    for (const t of this.targets) if (t.vipIndex === vipIndex) out[t.backendIndex] = t.health.latencyEwmaMs;
    return out;
  }

  snapshot(): VipHealthSnapshot[] {
    const out: VipHealthSnapshot[] = [];
    for (const t of this.targets) {
      let v = out.at(-1);
      if (v === undefined || v.vipIndex !== t.vipIndex) {
        v = { vipIndex: t.vipIndex, name: this.vips[t.vipIndex].name, check: t.check.type, error: this.errors.get(t.vipIndex) ?? '', detectionBoundMs: detectionBoundMs(t.check), backends: [] };
        out.push(v);
      }
      const h = t.health;
      v.backends.push({ address: ipv4ToString(t.address), up: h.up, streak: h.streak, probesOk: h.probesOk, probesFailed: h.probesFailed, transitions: h.transitions, lastLatencyMs: h.lastLatencyMs, latencyEwmaMs: h.latencyEwmaMs, lastReason: h.lastReason });
    }
    return out;
  }

  private target(vipIndex: number, backendIndex: number): Target | undefined {
    return this.targets.find((t) => t.vipIndex === vipIndex && t.backendIndex === backendIndex);
  }

  /** The probe of each health-checked VIP; a VIP whose probe cannot be made is reported and left out. */
  private makeProbes(): Map<number, Probe> {
    const probes = new Map<number, Probe>();
    this.errors.clear();
    this.vips.forEach((vip, i) => {
      const c = vip.healthCheck;
      if (c === undefined) return;
      if (c.type === 'tcp') probes.set(i, tcpProbe(c.port, c.timeoutMs, this.clock));
      else if (c.type === 'http') probes.set(i, httpProbe(c.port, c.path, c.expectStatus, c.timeoutMs, this.clock));
      else {
        if (this.pinger === undefined) {
          const p = IcmpPinger.open(this.clock);
          if (typeof p === 'string') {
            // Not being able to probe says nothing about the backends: they keep their state (up) rather than black-holing the VIP.
            this.errors.set(i, p);
            this.log(`lb ${vip.name}: icmp health check not running: ${p}; its backends stay up`);
            return;
          }
          this.pinger = p;
        }
        probes.set(i, this.pinger.probe(c.timeoutMs));
      }
      const bound = detectionBoundMs(c);
      if (bound > c.fall * c.intervalMs) this.log(`lb ${vip.name}: healthCheck timeoutMs ${c.timeoutMs} is over intervalMs x (fall-1)/fall: a dead backend goes down within ${bound} ms, more than fall (${c.fall}) intervals`);
    });
    return probes;
  }

  private schedule(t: Target, probe: Probe, gen: number, delayMs: number): void {
    t.timer = setTimeout(() => void this.run(t, probe, gen), delayMs);
    // The checker alone does not keep a process alive (the runtime's ports do).
    t.timer.unref();
  }

  private async run(t: Target, probe: Probe, gen: number): Promise<void> {
    const start = this.clock.nowMs();
    let r: ProbeResult;
    try {
      r = await probe(t.address);
    } catch (e) {
      r = probeFailed(this.clock.nowMs() - start, `probe error ${(e as Error).message}`);
    }
    if (gen !== this.generation) return;
    const h = t.health;
    if (h.record(r, this.clock.nowMs())) this.changed(t, r);
    const delay = h.suspect ? suspectDelayMs(t.check) : t.check.intervalMs;
    this.schedule(t, probe, gen, Math.max(0, start + delay - this.clock.nowMs()));
  }

  private changed(t: Target, r: ProbeResult): void {
    const vip = this.vips[t.vipIndex];
    const c = t.check;
    const why = t.health.up ? `${c.rise} ok, ${r.latencyMs.toFixed(1)} ms` : `${c.fall} failed: ${r.reason}`;
    this.log(`lb ${vip.name}: backend ${ipv4ToString(t.address)} ${t.health.up ? 'up' : 'down'} (${why})`);
    try {
      this.onChange(t.vipIndex, t.backendIndex, t.health.up);
    } catch (e) {
      this.log(`lb ${vip.name}: onChange for backend ${ipv4ToString(t.address)} failed: ${(e as Error).message}`);
    }
  }
}
