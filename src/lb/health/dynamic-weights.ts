// Load-driven weights for one VIP (`dynamicWeights:` in the config): every
// intervalMs the runtime hands in the measured load per backend (active flows
// from the flow table, the health checker's smoothed probe latency, or both)
// and gets new effective weights and the Maglev table built from them.
//
// The rule, per backend i that is up and has a configured weight > 0:
//
//   flows:    q_i = (expected_i + 1) / (observed_i + 1), where expected_i is
//             the backend's configured share of all active flows. A backend
//             holding more flows than its weight says (slow requests, a
//             slow host) gets q < 1. The +1 keeps empty backends finite.
//   latency:  q_i = mean latency (weighted by configured weight) / latency_i:
//             a backend slower than the others gets q < 1. Latency is not
//             additive, so it is compared with the mean, not shared out.
//             Probe latency includes the network: a backend that is farther
//             away, not busier, loses weight too (down to the clamp), so
//             this signal suits backends at equal distance.
//   both:     the geometric mean of the two.
//
//   target_i = current_i x q_i^0.5, then rescaled so the up backends' sum
//   stays the configured sum, then clamped to [configured/4, configured x 4].
//
// Multiplicative on the *current* weight (an integral controller): when the
// load matches the weights q = 1 and the weights stay where they are,
// instead of snapping back to the configured ones and oscillating. The square
// root damps each step, because flows are pinned: a table change moves only
// new flows, so the observed mix follows it slowly and a full correction each
// interval would overshoot. q within 5% of 1 counts as 1 (noise is no reason
// to move slots), and fewer than MIN_FLOWS active flows say nothing. The clamp
// keeps the operator's intent: load can shift a backend's share by 4x either
// way, never to zero (weight 0 remains the operator's drain).
//
// The bound: one update may change the backend of at most maxSlotShare x
// tableSize table slots (each changed slot sends that slot's new flows
// elsewhere and breaks the locality of caches). When the full step would move
// more, the weights move part of the way: half, a quarter... (up to 10
// halvings; then no change this time), and the rest follows at later updates.
// Cost: one table build for the weights in force plus one per try, on the
// calling thread (measured with the Maglev builder on a busy 2-core machine:
// 20-70 ms per update at 65537 x 100 backends, 200-330 ms at 655373 x 1000;
// a piscina worker could take it off the main thread).
// Health changes are not bounded here: a down backend leaves the table at
// once (the runtime rebuilds on the checker's onChange with masked()).
import { countMovedSlots } from '../maglev.js';
import type { DynamicWeightsConfig } from '../lb-config.js';

/** Builds a VIP's Maglev table from one weight per backend (0: no slots); entries are backend indexes. */
export type TableBuilder = (weights: readonly number[]) => Int32Array;

export interface LoadSignal {
  /** Active flows per backend (the flow table's count); needed for signal 'flows' and 'both'. */
  flows?: ArrayLike<number>;
  /** Smoothed probe latency per backend in ms, 0 when unknown (HealthChecker.latencies()); needed for 'latency' and 'both'. */
  latencyMs?: ArrayLike<number>;
  /** Health per backend: down backends get no slots and no say in the balance. */
  up: ArrayLike<boolean>;
}

export interface WeightUpdate {
  /** Effective weights now in force (down backends keep theirs for their return; masked() gives what is built). */
  weights: number[];
  /** The table built from them, masked by health. */
  table: Int32Array;
  /** Slots whose backend differs from the table of the weights before the update. */
  movedSlots: number;
  /** Share of the way to the target taken: 1, 1/2, 1/4...; 0 when nothing changed. */
  step: number;
}

const GAIN = 0.5;
const DEAD_BAND = 0.05;
const CLAMP = 4;
const MAX_HALVINGS = 10;
/** Below this many active flows on the VIP the flow counts are noise. */
export const MIN_FLOWS = 20;

function eligible(configured: readonly number[], up: ArrayLike<boolean>, i: number): boolean {
  return configured[i] > 0 && up[i];
}

function flowFactors(configured: readonly number[], up: ArrayLike<boolean>, flows: ArrayLike<number>): number[] {
  let total = 0;
  let wsum = 0;
  for (let i = 0; i < configured.length; i++) if (eligible(configured, up, i)) {
      total += flows[i];
      wsum += configured[i];
    }
  return configured.map((w, i) => (total < MIN_FLOWS || !eligible(configured, up, i) ? 1 : ((total * w) / wsum + 1) / (flows[i] + 1)));
}

function latencyFactors(configured: readonly number[], up: ArrayLike<boolean>, lat: ArrayLike<number>): number[] {
  let sum = 0;
  let wsum = 0;
  let known = 0;
  for (let i = 0; i < configured.length; i++) if (eligible(configured, up, i) && lat[i] > 0) {
      sum += lat[i] * configured[i];
      wsum += configured[i];
      known++;
    }
  if (known < 2) return configured.map(() => 1);
  const mean = sum / wsum;
  return configured.map((_, i) => (eligible(configured, up, i) && lat[i] > 0 ? mean / lat[i] : 1));
}

/** Where the weights should head for this load (no bound applied). */
export function targetWeights(configured: readonly number[], current: readonly number[], signal: LoadSignal, kind: DynamicWeightsConfig['signal']): number[] {
  const n = configured.length;
  const need = (a: ArrayLike<number> | undefined, what: string): ArrayLike<number> => {
    if (a === undefined || a.length !== n) throw new RangeError(`dynamic weights: signal '${kind}' needs ${what} for each of the ${n} backends`);
    return a;
  };
  const qf = kind === 'latency' ? undefined : flowFactors(configured, signal.up, need(signal.flows, 'flows'));
  const ql = kind === 'flows' ? undefined : latencyFactors(configured, signal.up, need(signal.latencyMs, 'latencyMs'));
  const raw = current.map((w, i) => {
    if (!eligible(configured, signal.up, i)) return w;
    let q = qf && ql ? Math.sqrt(qf[i] * ql[i]) : (qf ?? ql)![i];
    if (Math.abs(q - 1) < DEAD_BAND) q = 1;
    return w * Math.pow(q, GAIN);
  });
  // Rescale: only the ratios matter to Maglev, and the clamp must stay relative to the configured weights.
  let have = 0;
  let want = 0;
  for (let i = 0; i < n; i++) {
    if (eligible(configured, signal.up, i)) {
      have += raw[i];
      want += configured[i];
    }
  }
  const scale = have > 0 ? want / have : 1;
  return raw.map((w, i) => (eligible(configured, signal.up, i) ? Math.min(configured[i] * CLAMP, Math.max(configured[i] / CLAMP, w * scale)) : w));
}

/** Weights with down backends at 0: what the table is built from. */
export function maskWeights(weights: readonly number[], up: ArrayLike<boolean>): number[] {
  return weights.map((w, i) => (up[i] ? w : 0));
}


/**
 * The largest step from current toward target (firstStep, its half, its
 * quarter...) whose table moves at most maxSlots slots. Each try is one table
 * build (about 10-20 ms at 65537 x 100 backends), so DynamicWeights starts from
 * twice the last step that fitted rather than from 1 every time.
 */
export function boundedStep(current: readonly number[], target: readonly number[], up: ArrayLike<boolean>, build: TableBuilder, maxSlots: number, firstStep = 1): WeightUpdate {
  const before = build(maskWeights(current, up));
  if (target.every((w, i) => w === current[i])) return { weights: [...current], table: before, movedSlots: 0, step: 0 };
  let step = firstStep;
  for (let h = 0; h <= MAX_HALVINGS; h++, step /= 2) {
    const weights = current.map((w, i) => w + step * (target[i] - w));
    const table = build(maskWeights(weights, up));
    const movedSlots = countMovedSlots(before, table);
    if (movedSlots <= maxSlots) return { weights, table, movedSlots, step };
  }
  return { weights: [...current], table: before, movedSlots: 0, step: 0 };
}

/** One VIP's effective weights across updates. */
export class DynamicWeights {
  private current: number[];
  /** The last step that fitted the bound (1 at first). */
  private lastStep = 1;

  constructor(
    private readonly configured: readonly number[],
    private readonly config: DynamicWeightsConfig,
    private readonly tableSize: number,
    private readonly build: TableBuilder,
  ) {
    this.current = [...configured];
  }

  /** The effective weights in force (configured ones until the first update). */
  get weights(): readonly number[] {
    return this.current;
  }

  /** The weights to build a table from under this health (after a checker onChange). */
  masked(up: ArrayLike<boolean>): number[] {
    return maskWeights(this.current, up);
  }

  /** One update from the measured load: new weights and their table, at most maxSlotShare x tableSize slots moved. */
  update(signal: LoadSignal): WeightUpdate {
    const target = targetWeights(this.configured, this.current, signal, this.config.signal);
    const r = boundedStep(this.current, target, signal.up, this.build, Math.floor(this.config.maxSlotShare * this.tableSize), Math.min(1, this.lastStep * 2));
    this.current = r.weights;
    if (r.step > 0) this.lastStep = r.step;
    return r;
  }
}
