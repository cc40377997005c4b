// One backend's health as the probes see it: rise consecutive successes take
// it up, fall consecutive failures take it down (HAProxy's rise/fall), and
// the counters a status line or a metric reads.
//
// A backend starts UP. The alternative, down until `rise` probes pass
// (Kubernetes readiness, Envoy's first-check warming), would make a freshly
// started dataplane black-hole every health-checked VIP for rise x interval,
// and make it disagree with the instances beside it behind ECMP, which
// already send those flows to the configured backends: the config is the
// promise that the backends exist. Starting up costs at most `fall` intervals
// of new flows sent to a backend that was dead from the start, the same bound
// as for one that dies later. The first probe of each backend runs within the
// first interval (the checker spreads them over it).

import type { ProbeResult } from './probe.js';

/** Exponential moving average weight of a new latency sample (about the last 4 probes count). */
const LATENCY_EWMA_ALPHA = 0.25;

export class BackendHealth {
  up = true;
  /** Consecutive successes while down, consecutive failures while up (the run that may flip the state). */
  streak = 0;
  probesOk = 0;
  probesFailed = 0;
  transitions = 0;
  lastLatencyMs = 0;
  /** Smoothed latency of successful probes (the dynamic weights' latency signal); 0 before the first. */
  latencyEwmaMs = 0;
  lastReason = '';
  /** Clock reading of the last state change (0: none yet). */
  lastChangeMs = 0;

  constructor(
    private readonly rise: number,
    private readonly fall: number,
  ) {}

  /** Counts a probe's result; true when it changed the state. */
  record(r: ProbeResult, nowMs: number): boolean {
    this.lastLatencyMs = r.latencyMs;
    if (r.ok) {
      this.probesOk++;
      this.latencyEwmaMs = this.latencyEwmaMs === 0 ? r.latencyMs : this.latencyEwmaMs + LATENCY_EWMA_ALPHA * (r.latencyMs - this.latencyEwmaMs);
    } else {
      this.probesFailed++;
      this.lastReason = r.reason;
    }
    // A result that agrees with the state ends any run against it.
    if (r.ok === this.up) {
      this.streak = 0;
      return false;
    }
    this.streak++;
    if (this.streak < (this.up ? this.fall : this.rise)) return false;
    this.up = !this.up;
    this.streak = 0;
    this.transitions++;
    this.lastChangeMs = nowMs;
    return true;
  }

  /** Up but failing: the checker probes sooner, so that `fall` failures fit in `fall` intervals. */
  get suspect(): boolean {
    return this.up && this.streak > 0;
  }
}
