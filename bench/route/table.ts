// The real routing table (RouteViews, 2017-03-29: prefix<TAB>origin ASN) and
// what the LPM benchmarks and the kernel-oracle test derive from it: a
// 1M-prefix table grown with the same length mix, lookup address sets, and
// routes-file text. Everything random here is seeded, so every run and every
// peer sees the same routes and addresses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { prefixMask } from '../../src/route/prefix.js';
import { SHARED_DATA } from '../lib/paths.js';

export const ROUTEVIEWS_FILE = join(SHARED_DATA, 'routes', 'routeviews-rv2-20170329.tsv.gz');

export interface PrefixTable {
  count: number;
  prefix: Uint32Array;
  len: Uint8Array;
  /** Origin AS (the first of a multi-origin "a_b" set). */
  asn: Uint32Array;
}

/** A small fast PRNG (mulberry32) returning uint32s. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

export function readRouteViews(path = ROUTEVIEWS_FILE): PrefixTable {
  const text = gunzipSync(readFileSync(path)).toString('latin1');
  const lines = text.split('\n');
  const t: PrefixTable = { count: 0, prefix: new Uint32Array(lines.length), len: new Uint8Array(lines.length), asn: new Uint32Array(lines.length) };
  for (const line of lines) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    const slash = line.indexOf('/');
    const o = line.slice(0, slash).split('.');
    t.prefix[t.count] = ((+o[0] << 24) | (+o[1] << 16) | (+o[2] << 8) | +o[3]) >>> 0;
    t.len[t.count] = +line.slice(slash + 1, tab);
    t.asn[t.count] = parseInt(line.slice(tab + 1), 10) || 0;
    t.count++;
  }
  return t;
}

/**
 * Grows `base` to `target` distinct prefixes with the same length mix: each
 * new prefix takes the length of a random real route and sits in the /16 (for
 * lengths over 16) or /8 of another random real route, as new allocations do.
 */
export function growTable(base: PrefixTable, target: number, seed = 42): PrefixTable {
  const rnd = prng(seed);
  const t: PrefixTable = { count: base.count, prefix: new Uint32Array(target), len: new Uint8Array(target), asn: new Uint32Array(target) };
  t.prefix.set(base.prefix.subarray(0, base.count));
  t.len.set(base.len.subarray(0, base.count));
  t.asn.set(base.asn.subarray(0, base.count));
  const seen = new Set<number>();
  for (let i = 0; i < base.count; i++) seen.add(base.prefix[i] * 64 + base.len[i]);
  while (t.count < target) {
    const len = base.len[rnd() % base.count];
    const near = base.prefix[rnd() % base.count];
    const keep = prefixMask(len > 16 ? 16 : 8);
    const p = (((near & keep) | (rnd() & ~keep)) & prefixMask(len)) >>> 0;
    const key = p * 64 + len;
    if (seen.has(key)) continue;
    seen.add(key);
    t.prefix[t.count] = p;
    t.len[t.count] = len;
    t.asn[t.count] = base.asn[rnd() % base.count];
    t.count++;
  }
  return t;
}

/**
 * n lookup addresses: (100 - randomPct)% a random host inside a random prefix
 * of the table (as dpdk-test-fib generates them), randomPct% uniformly random.
 */
export function lookupAddresses(t: PrefixTable, n: number, randomPct = 10, seed = 7): Uint32Array {
  const rnd = prng(seed);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    if (rnd() % 100 < randomPct) {
      out[i] = rnd();
    } else {
      const k = rnd() % t.count;
      out[i] = (t.prefix[k] | (rnd() & ~prefixMask(t.len[k]))) >>> 0;
    }
  }
  return out;
}

/** Eight gateways on a benchmarking subnet: the origin AS picks one. */
export function gatewayFor(asn: number): string {
  return `198.18.0.${10 + (asn % 8)}`;
}
