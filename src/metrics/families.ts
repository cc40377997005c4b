// prom-client metrics whose values come from the scrape's Reading: at each
// scrape every series is set from the reading, so a counter reports the
// dataplane's own running total (never what was added since some earlier
// scrape) and a series exists only while the dataplane has it.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Reading, ScrapeReading } from './source.js';

export interface FamilyContext {
  registry: Registry;
  reading: ScrapeReading;
}

export type Labels = Record<string, string>;

const NO_LABELS: Labels = Object.freeze({});
/** Sets one series: its labels (empty for a metric without labels) and value. */
export type Emit = (labels: Labels, value: number) => void;
export type Fill = (reading: Reading, emit: Emit) => void;

/**
 * A prom-client metric whose get() builds its series straight from the
 * reading: no label hashing and no per-scrape map, which prom-client's
 * reset()-and-set() in collect() would cost (about 5 us a series; a big
 * config has thousands). The registry formats what get() returns.
 */
function snapshotMetric<M extends Counter | Gauge>(metric: M, type: 'counter' | 'gauge', ctx: FamilyContext, fill: Fill): void {
  const { name, help } = metric as unknown as { name: string; help: string };
  Object.assign(metric, {
    get: () => {
      const values: { labels: Labels; sharedLabels: Labels; value: number }[] = [];
      // Labels go in as prom-client's sharedLabels, whose formatted string it
      // caches per object (a WeakMap): a family's label objects are built
      // once (see stableLabels), so each series is formatted once, not at
      // every scrape. The text is the same as with plain labels.
      fill(ctx.reading.current(), (labels, value) => values.push({ labels: NO_LABELS, sharedLabels: labels, value }));
      return Promise.resolve({ name, help, type, values, aggregator: 'sum' });
    },
  });
}

/** A counter (name ends in _total) filled from each scrape's reading. */
export function counterFamily(ctx: FamilyContext, name: string, help: string, labelNames: readonly string[], fill: Fill): void {
  snapshotMetric(new Counter({ name, help, labelNames, registers: [ctx.registry] }), 'counter', ctx, fill);
}

/** A gauge filled from each scrape's reading. */
export function gaugeFamily(ctx: FamilyContext, name: string, help: string, labelNames: readonly string[], fill: Fill): void {
  snapshotMetric(new Gauge({ name, help, labelNames, registers: [ctx.registry] }), 'gauge', ctx, fill);
}


/** A counter of one pipeline counter's packets (e.g. "icmp-error/sent"), or nothing when the graph has no such counter. */
export function pipelineCounter(ctx: FamilyContext, counterIndex: number | undefined, name: string, help: string): void {
  if (counterIndex === undefined) return;
  counterFamily(ctx, name, help, [], (r, emit) => emit(NO_LABELS, r.counters.packets(counterIndex)));
}

/**
 * One label object per distinct label set, for families whose labels come
 * from the reading (backends, NAT addresses): the same object at every
 * scrape, so prom-client formats its labels once. Bounded by the config's
 * label values (backends and addresses it names).
 */
export function stableLabels<K extends string>(names: readonly K[]): (...values: string[]) => Record<K, string> {
  const cache = new Map<string, Record<K, string>>();
  return (...values) => {
    const key = values.join('\0');
    let labels = cache.get(key);
    if (labels === undefined) {
      labels = Object.fromEntries(names.map((n, i) => [n, values[i]])) as Record<K, string>;
      cache.set(key, labels);
    }
    return labels;
  };
}
