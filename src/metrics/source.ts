// What the metrics read, and when. A MetricsSource is the running Dataplane
// (its main-thread accessors sum the workers' shared counters) or anything
// shaped like it, such as a test's routers on memory ports. Each scrape
// takes one Reading, shared by every collector of that scrape, so a scrape
// sums the workers' arrays once and nothing is computed between scrapes.
import type { RouterConfig } from '../config/load.js';
import type { FirewallPlan } from '../firewall/plan.js';
import type { BackendStatus } from '../lb/lb-control.js';
import type { NatOccupancy } from '../nat/nat-tables.js';
import type { CounterRegistry, Counters } from '../pipeline/counters.js';
import type { PortTotals } from '../runtime/port-totals.js';

export interface MetricsSource {
  readonly config: RouterConfig;
  /** The counter registry every worker counts by (fixed once the graph is built). */
  readonly registry: CounterRegistry;
  readonly lb: { status(): BackendStatus[] } | undefined;
  ports(): PortTotals[];
  counters(): Counters;
  nat(): NatOccupancy | undefined;
  /** First packets each rule of the plan in force (config.firewall) decided since the start; a rule kept by name across plans keeps counting. */
  firewallHitsTotal(): Float64Array | undefined;
  /** Seconds each worker spent processing frames, by worker index. */
  workerBusySeconds(): number[];
}

/** Everything one scrape reports, read at once. */
export interface Reading {
  ports: PortTotals[];
  counters: Counters;
  nat: NatOccupancy | undefined;
  /** The firewall plan in force and its rules' hits since the start, read together (a new plan has other rules). */
  firewall: { plan: FirewallPlan; hits: Float64Array } | undefined;
  backends: BackendStatus[];
  busySeconds: number[];
}

export function takeReading(source: MetricsSource): Reading {
  return {
    ports: source.ports(),
    counters: source.counters(),
    nat: source.nat(),
    firewall: firewallReading(source),
    backends: source.lb?.status() ?? [],
    busySeconds: source.workerBusySeconds(),
  };
}

function firewallReading(source: MetricsSource): Reading['firewall'] {
  const plan = source.config.firewall;
  const hits = source.firewallHitsTotal();
  return plan === undefined || hits === undefined ? undefined : { plan, hits };
}

/** The reading of the scrape in progress: taken by the first collector that asks, dropped when the scrape ends. */
export class ScrapeReading {
  private reading: Reading | undefined;

  constructor(private readonly source: MetricsSource) {}

  current(): Reading {
    this.reading ??= takeReading(this.source);
    return this.reading;
  }

  clear(): void {
    this.reading = undefined;
  }
}
