// Dynamic weights: every update within the slot bound, weights following the
// load over several updates, never zero for a configured backend. Tables are
// built by the real Maglev builder (src/lb/maglev.ts), as the runtime does.
import { describe, expect, it } from 'vitest';
import { boundedStep, DynamicWeights, MIN_FLOWS, targetWeights, type TableBuilder } from '../../src/lb/health/dynamic-weights.js';
import { countMovedSlots as slotDiff } from '../../src/lb/maglev.js';
import { buildMaglev } from '../../src/lb/maglev.js';

const TABLE = 65537;
const BASE = 0xc6336400; // 198.51.100.0: backend i is 198.51.100.(11 + i)

const maglev: TableBuilder = (weights) => buildMaglev(weights.map((weight, i) => ({ key: BASE + 11 + i, weight })), TABLE);

function shares(table: Int32Array, n: number): number[] {
  const c = new Array<number>(n).fill(0);
  for (const b of table) if (b >= 0) c[b]++;
  return c.map((x) => x / table.length);
}

/**
 * Active flows per backend with pinned flows: each interval a quarter of the
 * flows end and new ones arrive by the current table's shares; a flow on
 * backend i lasts duration[i] (a slow backend holds its flows longer).
 */
function nextFlows(flows: number[], table: Int32Array, duration: number[], rate = 1000): number[] {
  const s = shares(table, flows.length);
  return flows.map((f, i) => 0.75 * f + 0.25 * s[i] * rate * duration[i]);
}

describe('dynamic weights', () => {
  it('every update changes at most maxSlotShare x tableSize slots, and the bound is what limits it', () => {
    const configured = [100, 100, 100];
    const maxSlotShare = 0.02;
    const dw = new DynamicWeights(configured, { signal: 'flows', intervalMs: 1000, maxSlotShare }, TABLE, maglev);
    const up = [true, true, true];
    let table = maglev(dw.masked(up));
    let flows = [300, 300, 300];
    const steps: number[] = [];
    let moved = 0;
    for (let k = 0; k < 40; k++) {
      flows = nextFlows(flows, table, [1, 1, 4]);
      const r = dw.update({ flows, up });
      // Measured here, not taken from the update's own count.
      const diff = slotDiff(table, r.table);
      expect(diff).toBeLessThanOrEqual(Math.floor(maxSlotShare * TABLE));
      expect(diff).toBe(r.movedSlots);
      expect(slotDiff(r.table, maglev(dw.masked(up)))).toBe(0);
      steps.push(r.step);
      moved += diff;
      table = r.table;
    }
    expect(moved).toBeGreaterThan(Math.floor(maxSlotShare * TABLE));
    expect(steps.some((s) => s > 0 && s < 1)).toBe(true);
  });

  it('weights move toward the flow signal over several updates and the imbalance shrinks', () => {
    const configured = [100, 100, 100];
    const dw = new DynamicWeights(configured, { signal: 'flows', intervalMs: 1000, maxSlotShare: 0.05 }, TABLE, maglev);
    const up = [true, true, true];
    let table = maglev(configured);
    // Backend 2 holds its flows twice as long: at equal shares it has twice the flows.
    const duration = [1, 1, 2];
    let flows = nextFlows([0, 0, 0], table, duration, 4000);
    const imbalance = (f: number[]): number => Math.max(...f) / Math.min(...f);
    const before = imbalance(flows);
    const w2: number[] = [];
    for (let k = 0; k < 30; k++) {
      const r = dw.update({ flows, up });
      table = r.table;
      w2.push(r.weights[2]);
      flows = nextFlows(flows, table, duration);
    }
    // Its weight went down and the others' up; the flows per backend came closer together.
    expect(w2[0]).toBeLessThan(100);
    expect(w2.at(-1)!).toBeLessThan(w2[2]);
    expect(dw.weights[0]).toBeGreaterThan(100);
    expect(imbalance(flows)).toBeLessThan(1.25);
    expect(before).toBeGreaterThan(1.8);
  });

  it('latency: the slower backend loses weight, the others gain', () => {
    const configured = [100, 100, 100];
    const dw = new DynamicWeights(configured, { signal: 'latency', intervalMs: 1000, maxSlotShare: 0.1 }, TABLE, maglev);
    const up = [true, true, true];
    let last = dw.weights;
    // A latency that does not fall as the backend gets fewer flows keeps pushing, down to the clamp.
    for (let k = 0; k < 8; k++) {
      const r = dw.update({ latencyMs: [2, 2, 8], up });
      if (k < 3) expect(r.weights[2]).toBeLessThan(last[2]);
      else expect(r.weights[2]).toBeLessThanOrEqual(last[2]);
      last = r.weights;
    }
    expect(last[2]).toBe(25);
    expect(last[0]).toBeCloseTo(last[1], 9);
    expect(last[0]).toBeGreaterThan(100);
    // Unknown latency (0) for all but one says nothing.
    const quiet = new DynamicWeights(configured, { signal: 'latency', intervalMs: 1000, maxSlotShare: 0.1 }, TABLE, maglev);
    expect(quiet.update({ latencyMs: [5, 0, 0], up }).step).toBe(0);
  });

  it('never zero for a backend with a configured weight; the clamp is [configured/4, configured x 4]; weight 0 stays a drain', () => {
    const configured = [100, 50, 0, 100];
    const dw = new DynamicWeights(configured, { signal: 'both', intervalMs: 1000, maxSlotShare: 1 }, TABLE, maglev);
    const up = [true, true, true, true];
    for (let k = 0; k < 60; k++) {
      // Backend 3 holds every flow and answers slowly: as bad as it gets.
      const r = dw.update({ flows: [0, 0, 0, 5000], latencyMs: [1, 1, 1, 100], up });
      for (let i = 0; i < 4; i++) {
        if (configured[i] > 0) expect(r.weights[i]).toBeGreaterThanOrEqual(configured[i] / 4);
        if (configured[i] > 0) expect(r.weights[i]).toBeLessThanOrEqual(configured[i] * 4);
      }
      expect(r.weights[2]).toBe(0);
      expect(r.table.includes(2)).toBe(false);
      expect(r.table.includes(3)).toBe(true);
    }
    expect(dw.weights[3]).toBe(25);
  });

  it('down backends: no slots, no say, their weight kept for their return', () => {
    const configured = [100, 100, 100];
    const dw = new DynamicWeights(configured, { signal: 'flows', intervalMs: 1000, maxSlotShare: 0.5 }, TABLE, maglev);
    const up = [true, false, true];
    const r = dw.update({ flows: [100, 0, 300], up });
    expect(r.table.includes(1)).toBe(false);
    expect(r.table.includes(-1)).toBe(false);
    expect(r.weights[1]).toBe(100);
    expect(r.weights[0]).toBeGreaterThan(r.weights[2]);
  });

  it('too few flows to judge, or a balanced load: no change', () => {
    const configured = [100, 100];
    const up = [true, true];
    expect(targetWeights(configured, configured, { flows: [MIN_FLOWS - 1, 0], up }, 'flows')).toEqual(configured);
    expect(targetWeights(configured, configured, { flows: [500, 510], up }, 'flows')).toEqual(configured);
    expect(boundedStep(configured, configured, up, maglev, 0)).toMatchObject({ movedSlots: 0, step: 0 });
  });

  it('a signal without its input is a clear error', () => {
    expect(() => targetWeights([1, 1], [1, 1], { up: [true, true] }, 'flows')).toThrow("dynamic weights: signal 'flows' needs flows for each of the 2 backends");
    expect(() => targetWeights([1, 1], [1, 1], { flows: [1], up: [true, true] }, 'both')).toThrow('needs flows');
  });
});
