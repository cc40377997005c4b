// The metric families hand prom-client their labels as sharedLabels (which
// it formats once per label object) and keep one object per label set:
// the text must still be what prom-client writes for plain labels, escaping
// included, and values must follow the reading at every scrape.
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { counterFamily, stableLabels, type FamilyContext } from '../../src/metrics/families.js';
import type { Reading, ScrapeReading } from '../../src/metrics/source.js';

function contextWith(values: () => number[]): { ctx: FamilyContext; registry: Registry } {
  const registry = new Registry();
  const reading = { current: () => ({ busySeconds: values() }) as unknown as Reading } as unknown as ScrapeReading;
  return { ctx: { registry, reading }, registry };
}

describe('metric families', () => {
  it('stableLabels gives one object per distinct label set', () => {
    const labels = stableLabels(['vip', 'backend']);
    const a = labels('web', '198.51.100.11');
    expect(labels('web', '198.51.100.11')).toBe(a);
    expect(a).toEqual({ vip: 'web', backend: '198.51.100.11' });
    expect(labels('web', '198.51.100.12')).not.toBe(a);
    expect(labels('web', '198.51.100.12')).toEqual({ vip: 'web', backend: '198.51.100.12' });
  });

  it('writes the text prom-client writes for plain labels, escaping included, with the values of each scrape', async () => {
    const names = ['plain', 'quote"d', 'back\\slash', 'new\nline'];
    let scale = 1;
    const { ctx, registry } = contextWith(() => names.map((_, i) => (i + 1) * scale));
    const labels = stableLabels(['rule']);
    counterFamily(ctx, 'test_hits_total', 'Hits, with a \\ and a\nnewline in the help.', ['rule'], (r, emit) =>
      r.busySeconds.forEach((v, i) => emit(labels(names[i]), v)),
    );
    const reference = new Registry();
    const counter = new Counter({ name: 'test_hits_total', help: 'Hits, with a \\ and a\nnewline in the help.', labelNames: ['rule'], registers: [reference] });
    names.forEach((rule, i) => counter.inc({ rule }, i + 1));
    expect(await registry.metrics()).toBe(await reference.metrics());

    scale = 10;
    names.forEach((rule, i) => counter.inc({ rule }, (i + 1) * 9));
    expect(await registry.metrics()).toBe(await reference.metrics());
    expect(await registry.metrics()).toContain('test_hits_total{rule="quote\\"d"} 20');
  });
});
