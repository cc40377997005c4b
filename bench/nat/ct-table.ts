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
// JavaScript has no prefetch instruction; a load whose value is folded into
// a sink does the same job in a loop short enough for the CPU to run ahead.
// Same table, same keys, chunks alternating between the three (CPU time).
import type { FlowTable } from '../../src/flow/flow-table.js';
import { MAX_BATCH } from '../../src/pipeline/batch.js';
import { consume } from '../lib/measure.js';
import type { BenchRow } from '../lib/report.js';

const ROUNDS = 15;
const STEPS = 256;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** `keys`: 4 words per packet (count packets), every key a flow's original or reply key. */
export function runCtTableBench(flows: FlowTable, keys: Int32Array, count: number, nowMs: number): BenchRow[] {
  const ix = flows.index;
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
          acc ^= recordKeys[id << 3] ^ flows.state(id) ^ flows.flags(id) ^ flows.idleMs(id, now);
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
  ];
  const times: number[][] = [[], [], []];
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
  const [plain, buckets, records] = times.map(median);
  const note = (ns: number) => `median of ${ROUNDS} chunks of ${(STEPS * MAX_BATCH) / 1024}k packets, CPU time; ${((100 * (plain - ns)) / plain).toFixed(0)}% less than one at a time`;
  return [
    { name: 'nat/ct-table-1M-random', subject: 'as ct-input: one packet at a time', value: 1e3 / plain, unit: 'M/s', nsPerOp: plain, notes: `lookup, state (replies), touch, other key: the table reads of an established packet, alone; median of ${ROUNDS} chunks` },
    { name: 'nat/ct-table-1M-random', subject: 'bucket lines loaded first (a pass)', value: 1e3 / buckets, unit: 'M/s', nsPerOp: buckets, notes: note(buckets) },
    { name: 'nat/ct-table-1M-random', subject: 'buckets, then record lines first', value: 1e3 / records, unit: 'M/s', nsPerOp: records, notes: note(records) },
  ];
}
