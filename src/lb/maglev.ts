// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable
// Software Network Load Balancer", NSDI'16, section 3.4): a lookup table of M
// slots (M prime), each naming a backend; a flow goes to
// table[hash % M]. Each backend has its own permutation of the slots,
//   offset = h1(key) % M,  skip = h2(key) % (M - 1) + 1,
//   permutation[j] = (offset + j * skip) % M
// (a full permutation because M is prime), and the backends take turns
// claiming their next preferred slot not yet taken until the table is full.
// That gives each backend M/N slots within one, and when a backend leaves,
// most slots keep their backend (measured in test/lb/maglev.test.ts: about
// 1/N of the slots move on removing one of N).
//
// Weights: a backend takes a turn in a round when its accumulated credit
// reaches the largest weight (credit += weight each round), so its slot count
// is proportional to its weight (Katran's second Maglev variant works this
// way too). Weight 0 keeps a backend out of the table: that is how a backend
// drains (the flow table keeps its existing flows; new ones go elsewhere).
//
// Determinism: backends are ordered by key before the turns, and the key
// hashes are seedless, so two processes with the same backends (in any
// order) build identical tables. The table holds indexes into the caller's
// array, mapped back from the sorted order.
//
// Speed (the paper: 1.8 ms for 65537 x 100, 22.9 ms for 655373 x 1000): no
// permutation arrays, each backend's next preferred slot is advanced by
// `next += skip; if (next >= M) next -= M` (no `%`, no allocation per step),
// typed arrays throughout, and the caller may pass `out` to reuse. The build
// runs off the packet path; the result is published as a new generation.
import { lbKeyHash } from './lb-hash.js';

export interface MaglevBackend {
  /** The backend's identity (its address as uint32, or a name): what its permutation is hashed from. */
  readonly key: string | number;
  /** Relative share of the slots; 0 keeps it out of the table (drain). */
  readonly weight: number;
}

/** Largest table accepted: 2^24 + 43, the first prime above 16M (a 64 MiB Int32Array). */
export const MAGLEV_MAX_TABLE_SIZE = 16777259;

const OFFSET_SEED = 0x6f666673; // "offs"
const SKIP_SEED = 0x736b6970; // "skip"

/** Whether n is prime (trial division: at most ~2000 steps for the largest table). */
export function isPrime(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** Where a backend's permutation of an M-slot table starts (the paper's offset). */
export function maglevOffset(key: string | number, M: number): number {
  return lbKeyHash(key, OFFSET_SEED) % M;
}

/** A backend's permutation step, from 1 to M - 1 (the paper's skip); coprime to M as M is prime. */
export function maglevSkip(key: string | number, M: number): number {
  return M > 2 ? (lbKeyHash(key, SKIP_SEED) % (M - 1)) + 1 : 1; // M = 2 has one step: 1
}

/** Orders keys: numbers (ascending) before strings (by UTF-16 code units). */
function compareKeys(a: string | number, b: string | number): number {
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkInputs(backends: readonly MaglevBackend[], tableSize: number, out: Int32Array | undefined): void {
  if (!isPrime(tableSize) || tableSize > MAGLEV_MAX_TABLE_SIZE) {
    throw new RangeError(`maglev: tableSize must be a prime from 2 to ${MAGLEV_MAX_TABLE_SIZE}, got ${tableSize}`);
  }
  if (out !== undefined && out.length !== tableSize) {
    throw new RangeError(`maglev: out has ${out.length} entries, the table needs ${tableSize}`);
  }
  for (let i = 0; i < backends.length; i++) {
    const { key, weight } = backends[i];
    if (!(Number.isFinite(weight) && weight >= 0)) throw new RangeError(`maglev: backend ${i} (${key}): weight must be a finite number >= 0, got ${weight}`);
    if (typeof key === 'number' && !(Number.isInteger(key) && key >= 0 && key <= 0xffffffff)) {
      throw new RangeError(`maglev: backend ${i}: a numeric key must be a uint32 (an address), got ${key}`);
    }
  }
}

/**
 * Builds the Maglev lookup table: for each of `tableSize` slots, the index
 * into `backends` of the backend that owns it; -1 in every slot when no
 * backend has weight > 0. Keys must be unique. Throws RangeError on bad input
 * (a non-prime size, a negative weight, a duplicate key), naming it.
 */
export function buildMaglev(backends: readonly MaglevBackend[], tableSize: number, out?: Int32Array): Int32Array {
  checkInputs(backends, tableSize, out);
  const table = out ?? new Int32Array(tableSize);
  table.fill(-1);

  const order: number[] = [];
  for (let i = 0; i < backends.length; i++) if (backends[i].weight > 0) order.push(i);
  order.sort((a, b) => compareKeys(backends[a].key, backends[b].key));
  const n = order.length;
  if (n === 0) return table;

  const M = tableSize;
  const id = new Int32Array(n);
  const next = new Int32Array(n);
  const skip = new Int32Array(n);
  const weight = new Float64Array(n);
  const credit = new Float64Array(n);
  let maxWeight = 0;
  for (let r = 0; r < n; r++) {
    const b = backends[order[r]];
    if (r > 0 && compareKeys(backends[order[r - 1]].key, b.key) === 0) {
      throw new RangeError(`maglev: backends ${order[r - 1]} and ${order[r]} have the same key ${b.key}`);
    }
    id[r] = order[r];
    next[r] = maglevOffset(b.key, M);
    skip[r] = maglevSkip(b.key, M);
    weight[r] = b.weight;
    if (b.weight > maxWeight) maxWeight = b.weight;
  }

  fillTable(table, M, n, id, next, skip, weight, credit, maxWeight);
  return table;
}

/**
 * The turns (the paper's Populate loop, weighted); stops when every slot is
 * taken. Most of the work is probing taken slots late in the build (about
 * ln M probes per slot: 13 at 655373), so the probes read a bitmap of taken
 * slots (80 KiB at 655373, in L2; 8 KiB at 65537, in L1) rather than the
 * table (2.5 MiB): measured 83 -> 25 ms for 655373 x 1000.
 */
function fillTable(
  table: Int32Array,
  M: number,
  n: number,
  id: Int32Array,
  next: Int32Array,
  skip: Int32Array,
  weight: Float64Array,
  credit: Float64Array,
  maxWeight: number,
): void {
  const taken = new Int32Array((M + 31) >>> 5);
  let filled = 0;
  for (;;) {
    for (let r = 0; r < n; r++) {
      const c = credit[r] + weight[r];
      if (c < maxWeight) {
        credit[r] = c;
        continue;
      }
      credit[r] = c - maxWeight;
      const s = skip[r];
      let p = next[r];
      // A backend's permutation covers every slot, so while the table has a
      // free slot this finds one.
      while ((taken[p >>> 5] & (1 << p)) !== 0) {
        p = p + s - M;
        p += (p >> 31) & M;
      }
      taken[p >>> 5] |= 1 << p; // shifts take the count mod 32
      table[p] = id[r];
      p += s;
      if (p >= M) p -= M;
      next[r] = p;
      if (++filled === M) return;
    }
  }
}

/**
 * For comparing tables built from two backend lists: the index in `after` of
 * each backend of `before` (matched by key), -1 where it is gone. Use with
 * countMovedSlots.
 */
export function backendTranslation(before: readonly { key: string | number }[], after: readonly { key: string | number }[]): Int32Array {
  const where = new Map<string | number, number>();
  for (let i = 0; i < after.length; i++) where.set(after[i].key, i);
  const t = new Int32Array(before.length);
  for (let i = 0; i < before.length; i++) t[i] = where.get(before[i].key) ?? -1;
  return t;
}

/**
 * How many slots name a different backend in `after` than in `before`
 * (tables of the same size). Without `translate` both tables index the same
 * backend list; with it (backendTranslation), `before`'s indexes are mapped
 * into `after`'s list first. An empty slot (-1) differs from any backend.
 */
export function countMovedSlots(before: Int32Array, after: Int32Array, translate?: Int32Array): number {
  if (before.length !== after.length) throw new RangeError(`maglev: tables of ${before.length} and ${after.length} slots cannot be compared`);
  let moved = 0;
  const n = before.length;
  if (translate === undefined) {
    for (let s = 0; s < n; s++) if (before[s] !== after[s]) moved++;
  } else {
    for (let s = 0; s < n; s++) {
      const b = before[s];
      if ((b < 0 ? -1 : translate[b]) !== after[s]) moved++;
    }
  }
  return moved;
}
