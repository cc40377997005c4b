// What the metrics read, and when. A MetricsSource is the running Dataplane
// (its main-thread accessors sum the workers' shared counters) or anything
// shaped like it, such as a test's routers on memory ports. Each scrape
// takes one Reading, shared by every collector of that scrape, so a scrape
// sums the workers' arrays once and nothing is computed between scrapes.
import type { RouterConfig } from '../config/load.js';
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
  firewallHits(): Float64Array | undefined;
  /** Seconds each worker spent processing frames, by worker index. */
  workerBusySeconds(): number[];
}

/** Everything one scrape reports, read at once. */
export interface Reading {
  ports: PortTotals[];
  counters: Counters;
  nat: NatOccupancy | undefined;
  firewallHits: Float64Array | undefined;
  backends: BackendStatus[];
  busySeconds: number[];
}

export function takeReading(source: MetricsSource): Reading {
  return {
    ports: source.ports(),
    counters: source.counters(),
    nat: source.nat(),
    firewallHits: source.firewallHits(),
    backends: source.lb?.status() ?? [],
    busySeconds: source.workerBusySeconds(),
  };
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
