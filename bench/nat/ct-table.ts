// The flow-table work of established packets, alone, on the NAT bench's
// table of 1M flows, with the keys ct-input computes for the frames of the
// random established loop: what the table costs per packet, and what
// overlapping its cache misses across a batch would save.
//
//   as ct-input     per packet: lookup (bucket line, then the key words of
//                   the flow found), for a reply the state word, touch (last
//                   seen, and the flags for a reply), then the other
//                   direction's key words: the table reads of ct-input.ts
//   buckets first   a pass over the batch first that only hashes each key and
//                   loads a word of its primary bucket, then the same work:
//                   the bucket misses of 256 packets overlap instead of
//                   coming one after the other
//   records first   also a second pass that finds each key's value in its
//                   (now cached) bucket and loads a word of each line of the
//                   flow's record (keys, state, last seen, flags), as DPDK's
//                   bulk lookups prefetch in stages
//
// And the lookup alone, FlowIndex.lookup against replicas of it that read
// the bucket's seqlock version differently: both reads with Atomics.load
// (what flow-index.ts did for a while after Node 24 dropped a plain re-read
// of one array), both plain, or only the re-check with Atomics.load. Same
// buckets, keys and records; a replica that returns a different value
// throws. These rows chose flow-index.ts's shape: its fast path is now plain
// loads, the re-read through a second view (the "as ct-input" row).
//
// JavaScript has no prefetch instruction; a load whose value is folded into
// a sink does the same job in a loop short enough for the CPU to run ahead.
// Same table, same keys, chunks alternating between the three (CPU time).
import type { FlowTable } from '../../src/flow/flow-table.js';
import { MAX_BATCH } from '../../src/pipeline/batch.js';
import { consume } from '../lib/measure.js';
import type { BenchRow } from '../lib/report.js';

const ROUNDS = 15;
/** FlowTable's records: 16 words (one 64-byte line) per flow, keys at the head (flow-table.ts). */
const REC_SHIFT = 4;
const STEPS = 256;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `keys`: 4 words per packet (count packets), every key a flow's original or reply key. */
export function runCtTableBench(flows: FlowTable, keys: Int32Array, count: number, nowMs: number): BenchRow[] {
  const ix = flows.index;
  if (ix.recordShift !== REC_SHIFT) throw new Error(`ct-table bench: the flow table's records are ${1 << ix.recordShift} words, the replicas read ${1 << REC_SHIFT}`);
  const b = ix.buckets;
  const mask = ix.bucketCount - 1;
  const recordKeys = ix.keys;
  const hashes = new Int32Array(MAX_BATCH);
  let now = nowMs;
  let pos = 0;
  const work = (from: number): number => {
    let acc = 0;
    for (let j = 0; j < MAX_BATCH; j++) {
      const o = (from + j) << 2;
      const v = flows.lookup(keys[o], keys[o + 1], keys[o + 2], keys[o + 3]);
      const id = v >> 1;
      const dir = v & 1;
      if (dir === 1 && flows.state(id) === 0) acc++;
      flows.touch(id, now, dir);
      acc += flows.keyWord(id, dir ^ 1, 0) + flows.keyWord(id, dir ^ 1, 1) + flows.keyWord(id, dir ^ 1, 2);
    }
    return acc;
  };
  // The same work with the replica lookup whose version reads are plain loads (see lookupVariants).
  const lookupPlain = replicaLookup(flows, scanPlain);
  const workPlain = (from: number): number => {
    let acc = 0;
    for (let j = 0; j < MAX_BATCH; j++) {
      const o = (from + j) << 2;
      const v = lookupPlain(keys[o], keys[o + 1], keys[o + 2], keys[o + 3]);
      const id = v >> 1;
      const dir = v & 1;
      if (dir === 1 && flows.state(id) === 0) acc++;
      flows.touch(id, now, dir);
      acc += flows.keyWord(id, dir ^ 1, 0) + flows.keyWord(id, dir ^ 1, 1) + flows.keyWord(id, dir ^ 1, 2);
    }
    return acc;
  };
  const lookupRecheck = replicaLookup(flows, scanRecheckAtomic);
  const workRecheck = (from: number): number => {
    let acc = 0;
    for (let j = 0; j < MAX_BATCH; j++) {
      const o = (from + j) << 2;
      const v = lookupRecheck(keys[o], keys[o + 1], keys[o + 2], keys[o + 3]);
      const id = v >> 1;
      const dir = v & 1;
      if (dir === 1 && flows.state(id) === 0) acc++;
      flows.touch(id, now, dir);
      acc += flows.keyWord(id, dir ^ 1, 0) + flows.keyWord(id, dir ^ 1, 1) + flows.keyWord(id, dir ^ 1, 2);
    }
    return acc;
  };
  const bucketPass = (from: number): number => {
    let acc = 0;
    for (let j = 0; j < MAX_BATCH; j++) {
      const o = (from + j) << 2;
      const h = ix.hash(keys[o], keys[o + 1], keys[o + 2], keys[o + 3]);
      hashes[j] = h;
      acc ^= b[((h & mask) << 4) + 1];
    }
    return acc;
  };
  const recordPass = (): number => {
    let acc = 0;
    for (let j = 0; j < MAX_BATCH; j++) {
      const h = hashes[j];
      const base = (h & mask) << 4;
      for (let s = base + 2; s < base + 9; s++) {
        if (b[s] !== h) continue;
        const val = b[s + 7];
        if (val >= 0) {
          const id = val >> 1;
          acc ^= recordKeys[id << REC_SHIFT] ^ flows.state(id) ^ flows.flags(id) ^ flows.idleMs(id, now);
        }
        break;
      }
    }
    return acc;
  };
  const variants: (() => void)[] = [
    () => consume(work(pos)),
    () => {
      consume(bucketPass(pos));
      consume(work(pos));
    },
    () => {
      consume(bucketPass(pos));
      consume(recordPass());
      consume(work(pos));
    },
    () => consume(workPlain(pos)),
    () => consume(workRecheck(pos)),
  ];
  const times: number[][] = variants.map(() => []);
  for (let r = 0; r < ROUNDS + 1; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = (k + r) % variants.length;
      const t0 = process.cpuUsage();
      for (let i = 0; i < STEPS; i++) {
        variants[v]();
        now += 1 / 16;
        pos = (pos + MAX_BATCH) % count;
      }
      const t = process.cpuUsage(t0);
      if (r > 0) times[v].push(((t.user + t.system) * 1000) / (STEPS * MAX_BATCH)); // round 0 warms up
    }
  }
  const [plain, buckets, records, plainVersion, recheckVersion] = times.map(median);
  const lookupRows = lookupVariants(flows, keys, count);
  const note = (ns: number) => `median of ${ROUNDS} chunks of ${(STEPS * MAX_BATCH) / 1024}k packets, CPU time; ${((100 * (plain - ns)) / plain).toFixed(0)}% less than one at a time`;
  return [
    { name: 'nat/ct-table-1M-random', subject: 'as ct-input: one packet at a time', value: 1e3 / plain, unit: 'M/s', nsPerOp: plain, notes: `lookup, state (replies), touch, other key: the table reads of an established packet, alone; median of ${ROUNDS} chunks` },
    { name: 'nat/ct-table-1M-random', subject: 'bucket lines loaded first (a pass)', value: 1e3 / buckets, unit: 'M/s', nsPerOp: buckets, notes: note(buckets) },
    { name: 'nat/ct-table-1M-random', subject: 'buckets, then record lines first', value: 1e3 / records, unit: 'M/s', nsPerOp: records, notes: note(records) },
    {
      name: 'nat/ct-table-1M-random',
      subject: 'as ct-input, version read plain',
      value: 1e3 / plainVersion,
      unit: 'M/s',
      nsPerOp: plainVersion,
      notes: `${note(plainVersion)}; the lookup is the replica whose seqlock version reads are plain loads (nat/ct-lookup-1M-random)`,
    },
    {
      name: 'nat/ct-table-1M-random',
      subject: 'as ct-input, only the re-check atomic',
      value: 1e3 / recheckVersion,
      unit: 'M/s',
      nsPerOp: recheckVersion,
      notes: `${note(recheckVersion)}; the replica lookup reads the version plain first, with Atomics.load to re-check`,
    },
    ...lookupRows,
  ];
}

const ALT_MULT = 0x9e3779b1 | 0;
type Scan = (b: Int32Array, keys: Int32Array, base: number, h: number, k0: number, k1: number, k2: number, k3: number) => number;

// FlowIndex.scan with the version read three ways (see the header). Three
// literal copies, so each is optimised on its own.
const scanAtomic: Scan = (b, keys, base, h, k0, k1, k2, k3) => {
  for (;;) {
    const v = Atomics.load(b, base);
    let res = -1;
    for (let s = base + 2, end = base + 9; s < end; s++) {
      if (b[s] === h) {
        const val = b[s + 7];
        if (val >= 0) {
          const r = ((val >> 1) << REC_SHIFT) + ((val & 1) << 2);
          if (keys[r] === k0 && keys[r + 1] === k1 && keys[r + 2] === k2 && keys[r + 3] === k3) {
            res = val;
            break;
          }
        }
      }
    }
    if (res < 0 && b[base + 1] !== 0) res = -2;
    if ((v & 1) === 0 && Atomics.load(b, base) === v) return res;
  }
};
const scanPlain: Scan = (b, keys, base, h, k0, k1, k2, k3) => {
  for (;;) {
    const v = b[base];
    let res = -1;
    for (let s = base + 2, end = base + 9; s < end; s++) {
      if (b[s] === h) {
        const val = b[s + 7];
        if (val >= 0) {
          const r = ((val >> 1) << REC_SHIFT) + ((val & 1) << 2);
          if (keys[r] === k0 && keys[r + 1] === k1 && keys[r + 2] === k2 && keys[r + 3] === k3) {
            res = val;
            break;
          }
        }
      }
    }
    if (res < 0 && b[base + 1] !== 0) res = -2;
    if ((v & 1) === 0 && b[base] === v) return res;
  }
};
const scanRecheckAtomic: Scan = (b, keys, base, h, k0, k1, k2, k3) => {
  for (;;) {
    const v = b[base];
    let res = -1;
    for (let s = base + 2, end = base + 9; s < end; s++) {
      if (b[s] === h) {
        const val = b[s + 7];
        if (val >= 0) {
          const r = ((val >> 1) << REC_SHIFT) + ((val & 1) << 2);
          if (keys[r] === k0 && keys[r + 1] === k1 && keys[r + 2] === k2 && keys[r + 3] === k3) {
            res = val;
            break;
          }
        }
      }
    }
    if (res < 0 && b[base + 1] !== 0) res = -2;
    if ((v & 1) === 0 && Atomics.load(b, base) === v) return res;
  }
};

/** ns per lookup at 1M, random keys of the established loop: FlowIndex.lookup and the three replicas, chunks alternating. */
/** FlowIndex.lookup over the table's own buckets and records, with `scan` for its bucket reads. */
function replicaLookup(flows: FlowTable, scan: Scan): (k0: number, k1: number, k2: number, k3: number) => number {
  const ix = flows.index;
  const b = ix.buckets;
  const recordKeys = ix.keys;
  const mask = ix.bucketCount - 1;
  const altShift = 32 - Math.log2(ix.bucketCount);
  return (k0, k1, k2, k3) => {
    const h = ix.hash(k0, k1, k2, k3);
    const r = scan(b, recordKeys, (h & mask) << 4, h, k0, k1, k2, k3);
    if (r !== -2) return r;
    const sec = (h & mask) ^ ((Math.imul(h, ALT_MULT) >>> altShift) | 1);
    const x = scan(b, recordKeys, sec << 4, h, k0, k1, k2, k3);
    return x >= 0 ? x : -1;
  };
}

function lookupVariants(flows: FlowTable, keys: Int32Array, count: number): BenchRow[] {
  const replica = (scan: Scan) => replicaLookup(flows, scan);
  const lookups: [string, (k0: number, k1: number, k2: number, k3: number) => number][] = [
    ['FlowIndex.lookup (version: Atomics.load twice)', (k0, k1, k2, k3) => flows.lookup(k0, k1, k2, k3)],
    ['replica, Atomics.load twice', replica(scanAtomic)],
    ['replica, plain loads', replica(scanPlain)],
    ['replica, plain, re-check Atomics.load', replica(scanRecheckAtomic)],
  ];
  for (let i = 0; i < 4096; i++) {
    const o = (i % count) << 2;
    const want = flows.lookup(keys[o], keys[o + 1], keys[o + 2], keys[o + 3]);
    for (const [name, f] of lookups) if (f(keys[o], keys[o + 1], keys[o + 2], keys[o + 3]) !== want) throw new Error(`ct-table bench: ${name} disagrees with FlowIndex.lookup`);
  }
  let pos = 0;
  const times: number[][] = lookups.map(() => []);
  for (let r = 0; r < ROUNDS + 1; r++) {
    for (let k = 0; k < lookups.length; k++) {
      const v = (k + r) % lookups.length;
      const f = lookups[v][1];
      const t0 = process.cpuUsage();
      let acc = 0;
      for (let i = 0; i < STEPS * MAX_BATCH; i++) {
        const o = pos << 2;
        acc += f(keys[o], keys[o + 1], keys[o + 2], keys[o + 3]);
        if (++pos === count) pos = 0;
      }
      consume(acc);
      const t = process.cpuUsage(t0);
      if (r > 0) times[v].push(((t.user + t.system) * 1000) / (STEPS * MAX_BATCH));
    }
  }
  const base = median(times[0]);
  return lookups.map(([name], i) => {
    const ns = median(times[i]);
    return {
      name: 'nat/ct-lookup-1M-random',
      subject: name,
      value: 1e3 / ns,
      unit: 'M/s',
      nsPerOp: ns,
      notes: i === 0 ? `keys of the random established loop, 1M flows; median of ${ROUNDS} chunks, CPU time, alternating` : `${((100 * (base - ns)) / base).toFixed(0)}% less than FlowIndex.lookup`,
    };
  });
}
