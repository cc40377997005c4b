// Dynamic weights: every update within the slot bound, weights following the
// load over several updates, never zero for a configured backend. The table
// builder is a stand-in until src/lb/maglev.ts lands: weighted rendezvous
// hashing per slot (each slot goes to the backend with the highest
// -weight / ln(hash(slot, backend))), a consistent hash with weights whose
// tables, like Maglev's, change in few slots when weights change a little.
import { describe, expect, it } from 'vitest';
import { boundedStep, DynamicWeights, MIN_FLOWS, slotDiff, targetWeights, type TableBuilder } from '../../src/lb/health/dynamic-weights.js';

const TABLE = 1009;

function mix(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

const rendezvous: TableBuilder = (weights) => {
  const t = new Int32Array(TABLE).fill(-1);
  for (let s = 0; s < TABLE; s++) {
    let best = -Infinity;
    for (let b = 0; b < weights.length; b++) {
      if (weights[b] <= 0) continue;
      const u = (mix(s * 7919 + b * 104729 + 1) + 0.5) / 2 ** 32;
      const score = -weights[b] / Math.log(u);
      if (score > best) {
        best = score;
        t[s] = b;
      }
    }
  }
  return t;
};

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
    const dw = new DynamicWeights(configured, { signal: 'flows', intervalMs: 1000, maxSlotShare }, TABLE, rendezvous);
    const up = [true, true, true];
    let table = rendezvous(dw.masked(up));
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
      expect(r.table).toEqual(rendezvous(dw.masked(up)));
      steps.push(r.step);
      moved += diff;
      table = r.table;
    }
    expect(moved).toBeGreaterThan(Math.floor(maxSlotShare * TABLE));
    expect(steps.some((s) => s > 0 && s < 1)).toBe(true);
  });

  it('weights move toward the flow signal over several updates and the imbalance shrinks', () => {
    const configured = [100, 100, 100];
    const dw = new DynamicWeights(configured, { signal: 'flows', intervalMs: 1000, maxSlotShare: 0.05 }, TABLE, rendezvous);
    const up = [true, true, true];
    let table = rendezvous(configured);
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
    const dw = new DynamicWeights(configured, { signal: 'latency', intervalMs: 1000, maxSlotShare: 0.1 }, TABLE, rendezvous);
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
    const quiet = new DynamicWeights(configured, { signal: 'latency', intervalMs: 1000, maxSlotShare: 0.1 }, TABLE, rendezvous);
    expect(quiet.update({ latencyMs: [5, 0, 0], up }).step).toBe(0);
  });

  it('never zero for a backend with a configured weight; the clamp is [configured/4, configured x 4]; weight 0 stays a drain', () => {
    const configured = [100, 50, 0, 100];
    const dw = new DynamicWeights(configured, { signal: 'both', intervalMs: 1000, maxSlotShare: 1 }, TABLE, rendezvous);
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
    const dw = new DynamicWeights(configured, { signal: 'flows', intervalMs: 1000, maxSlotShare: 0.5 }, TABLE, rendezvous);
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
    expect(boundedStep(configured, configured, up, rendezvous, 0)).toMatchObject({ movedSlots: 0, step: 0 });
  });

  it('a signal without its input is a clear error', () => {
    expect(() => targetWeights([1, 1], [1, 1], { up: [true, true] }, 'flows')).toThrow("dynamic weights: signal 'flows' needs flows for each of the 2 backends");
    expect(() => targetWeights([1, 1], [1, 1], { flows: [1], up: [true, true] }, 'both')).toThrow('needs flows');
  });
});
