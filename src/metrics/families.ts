// prom-client metrics whose values come from the scrape's Reading: each
// collect() callback clears the metric and sets every series from the
// reading, so a counter reports the dataplane's own running total (never
// what was added since some earlier scrape) and a series exists only while
// the dataplane has it.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Reading, ScrapeReading } from './source.js';

export interface FamilyContext {
  registry: Registry;
  reading: ScrapeReading;
}

export type Labels = Record<string, string>;
/** Sets one series: its labels (empty for a metric without labels) and value. */
export type Emit = (labels: Labels, value: number) => void;
export type Fill = (reading: Reading, emit: Emit) => void;

/** A counter (name ends in _total) filled from each scrape's reading. */
export function counterFamily(ctx: FamilyContext, name: string, help: string, labelNames: readonly string[], fill: Fill): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [ctx.registry],
    collect() {
      this.reset();
      fill(ctx.reading.current(), labelNames.length === 0 ? (_l, v) => this.inc(v) : (l, v) => this.inc(l, v));
    },
  });
}

/** A gauge filled from each scrape's reading. */
export function gaugeFamily(ctx: FamilyContext, name: string, help: string, labelNames: readonly string[], fill: Fill): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [ctx.registry],
    collect() {
      this.reset();
      fill(ctx.reading.current(), labelNames.length === 0 ? (_l, v) => this.set(v) : (l, v) => this.set(l, v));
    },
  });
}

const NO_LABELS: Labels = {};

/** A counter of one pipeline counter's packets (e.g. "icmp-error/sent"), or nothing when the graph has no such counter. */
export function pipelineCounter(ctx: FamilyContext, counterIndex: number | undefined, name: string, help: string): void {
  if (counterIndex === undefined) return;
  counterFamily(ctx, name, help, [], (r, emit) => emit(NO_LABELS, r.counters.packets(counterIndex)));
}
