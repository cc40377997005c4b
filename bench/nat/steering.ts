// What steering replies by the NAT port would cost (issue 9: "measure and
// document what the alternative would cost"). The dataplane shares its flow
// table between workers because a reply reaches whichever worker the
// kernel's hash of the reply's tuple picks. The alternative: each worker
// picks, for a new flow, an external port whose reply tuple hashes to
// itself, and keeps private tables. This simulates that choice, one worker's
// view, no packets:
//
//   tries        candidate ports tried per new binding until one lands on
//                the creating worker (ports from the worker's own range, as
//                PortAllocator partitions them, to destinations at random,
//                until 90% of the range is in use)
//   one-dest     ports of a worker's range usable towards ONE destination
//                (a busy server): only those whose reply lands on the worker
//   eim          endpoint-independent mapping (RFC 4787 REQ-1) reuses a
//                binding's port for every destination: how many of its later
//                flows, to other destinations, have replies landing on the
//                creating worker
//   alloc-ns     a steered allocation against PortAllocator's
//
// Two hashes choose the worker for W = 2, 4, 8 workers:
//
//   fanout stand-in   PACKET_FANOUT_HASH (what the dataplane's AF_PACKET
//                     ports use): reciprocal_scale(__skb_get_hash_symmetric,
//                     W), the symmetric flow hash being siphash keyed by
//                     hashrnd, a random secret the kernel draws at boot, so
//                     user space cannot compute it at all. Stood in for by
//                     the flow table's own hash (flow-key.ts hashKey, a fixed
//                     seed) over the same symmetric ordering of the tuple: the
//                     distribution, not the values, is what is measured.
//   rss toeplitz      a NIC's RSS: Toeplitz with the well-known Microsoft key,
//                     128-entry indirection table spread round robin: the one
//                     hash a NAT could compute (the key is set by ethtool -X).
import { hashKey } from '../../src/flow/flow-key.js';
import { PortAllocator } from '../../src/flow/port-allocator.js';
import { consume } from '../lib/measure.js';
import type { BenchRow } from '../lib/report.js';

const LO = 1024;
const HI = 65535;
const PORTS = HI - LO + 1;
const NAT_ADDRESS = 0xc6336401 | 0; // 198.51.100.1
const UDP = 17;
const FANOUT_SEED = 0x6b43a9b5;

/** Microsoft's RSS verification key (the default of many NIC drivers). */
const MS_KEY = [
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
  0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/** The key's 32-bit window at each input bit (96 bits: addresses and ports). */
const WINDOWS = (() => {
  const bit = (i: number) => (MS_KEY[i >> 3] >> (7 - (i & 7))) & 1;
  const w = new Int32Array(96);
  for (let i = 0; i < 96; i++) {
    let v = 0;
    for (let j = 0; j < 32; j++) v = (v << 1) | bit(i + j);
    w[i] = v;
  }
  return w;
})();

function toeplitzWord(acc: number, word: number, first: number, bits: number): number {
  for (let i = 0; i < bits; i++) if (((word >>> (bits - 1 - i)) & 1) !== 0) acc ^= WINDOWS[first + i];
  return acc;
}

/** Toeplitz hash of an IPv4 4-tuple as RSS computes it (source, destination, source port, destination port). */
export function toeplitz(src: number, dst: number, sport: number, dport: number): number {
  let h = toeplitzWord(0, src, 0, 32);
  h = toeplitzWord(h, dst, 32, 32);
  h = toeplitzWord(h, (sport << 16) | dport, 64, 32);
  return h >>> 0;
}

// Microsoft's published verification vector: 66.9.149.187:2794 -> 161.142.100.80:1766 hashes to 0x51ccc178.
if (toeplitz(0x420995bb, 0xa18e6450, 2794, 1766) !== 0x51ccc178) throw new Error('steering bench: Toeplitz hash does not match its verification vector');

type Selector = (src: number, dst: number, sport: number, dport: number, workers: number) => number;

/** PACKET_FANOUT_HASH's choice, with hashKey standing in for the kernel's keyed siphash. */
const fanout: Selector = (src, dst, sport, dport, workers) => {
  // __flow_hash_consistentify: both directions of a flow hash alike.
  const swap = src >>> 0 > dst >>> 0;
  const a = swap ? dst : src;
  const b = swap ? src : dst;
  const p = sport < dport ? (sport << 16) | dport : (dport << 16) | sport;
  const h = hashKey(a, b, p, UDP, FANOUT_SEED) >>> 0;
  return Math.floor((h * workers) / 2 ** 32); // reciprocal_scale
};

/** RSS: Toeplitz, then a 128-entry indirection table filled round robin. */
const rss: Selector = (src, dst, sport, dport, workers) => (toeplitz(src, dst, sport, dport) & 127) % workers;

/** xorshift32 stream. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** A destination at random: a server in 198.18.0.0/15 (servers stand anywhere; the address space is the documentation one), port 443 or random. */
function destination(r: () => number): { addr: number; port: number } {
  const x = r();
  return { addr: (0xc6120000 | (x & 0x1ffff)) | 0, port: (x >>> 17) % 4 === 0 ? LO + (r() % PORTS) : 443 };
}

/** Worker w's ports as PortAllocator splits the range: [start, end) offsets from LO. */
function partition(w: number, workers: number): [number, number] {
  return [Math.floor((w * PORTS) / workers), Math.floor(((w + 1) * PORTS) / workers)];
}

/** Does the reply from dst:dport to the NAT address, port p, reach worker w? */
function lands(sel: Selector, w: number, workers: number, addr: number, dport: number, p: number): boolean {
  return sel(addr, NAT_ADDRESS, dport, p, workers) === w;
}

interface TryStats {
  mean: number;
  max: number;
  failed: number;
  allocations: number;
}

/**
 * Worker 0 allocates for new flows to random destinations from its range
 * (a FIFO of free ports in random order, as PortAllocator's) until 90% of
 * it is in use, taking the first free port whose reply lands on it; ports
 * tried and refused go to the back. Returns the tries per allocation.
 */
function tries(sel: Selector, workers: number, seed: number): TryStats {
  const [start, end] = partition(0, workers);
  const size = end - start;
  const r = rng(seed);
  const ring = new Int32Array(size);
  for (let i = 0; i < size; i++) ring[i] = LO + start + i;
  for (let i = size - 1; i > 0; i--) {
    const j = r() % (i + 1);
    const t = ring[i];
    ring[i] = ring[j];
    ring[j] = t;
  }
  let head = 0;
  let free = size;
  let total = 0;
  let max = 0;
  let failed = 0;
  let allocations = 0;
  const goal = Math.floor(size * 0.9);
  while (size - free < goal) {
    const d = destination(r);
    let n = 0;
    let got = false;
    while (n < free) {
      const p = ring[head];
      n++;
      if (lands(sel, 0, workers, d.addr, d.port, p)) {
        // Taken: remove it from the front of the queue.
        head = (head + 1) % size;
        free--;
        got = true;
        break;
      }
      // Refused: to the back (the ring holds exactly the free ports).
      ring[(head + free) % size] = p;
      head = (head + 1) % size;
    }
    total += n;
    if (n > max) max = n;
    if (!got) failed++;
    allocations++;
    if (failed > 1000) break;
  }
  return { mean: total / allocations, max, failed, allocations };
}

/** Ports of each worker's range whose reply from one destination lands on it; mean and min over workers and destinations. */
function oneDestination(sel: Selector, workers: number, seed: number): { mean: number; min: number; sharedMin: number } {
  const r = rng(seed);
  let sum = 0;
  let min = Infinity;
  let sharedMin = Infinity;
  const DESTS = 8;
  for (let k = 0; k < DESTS; k++) {
    const d = destination(r);
    // From one range shared by all workers: each gets the ports whose reply lands on it.
    const perWorker = new Int32Array(workers);
    for (let p = LO; p <= HI; p++) perWorker[sel(d.addr, NAT_ADDRESS, d.port, p, workers)]++;
    for (let w = 0; w < workers; w++) sharedMin = Math.min(sharedMin, perWorker[w]);
    for (let w = 0; w < workers; w++) {
      const [start, end] = partition(w, workers);
      let n = 0;
      for (let p = LO + start; p < LO + end; p++) if (lands(sel, w, workers, d.addr, d.port, p)) n++;
      sum += n;
      if (n < min) min = n;
    }
  }
  return { mean: sum / (DESTS * workers), min, sharedMin };
}

/** Of a binding's later flows to other destinations, the share whose replies land on the worker that chose its port. */
function eimShare(sel: Selector, workers: number, seed: number): number {
  const r = rng(seed);
  const [start, end] = partition(0, workers);
  const SAMPLES = 50_000;
  let same = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const d1 = destination(r);
    let p = LO + start + (r() % (end - start));
    while (!lands(sel, 0, workers, d1.addr, d1.port, p)) p = LO + start + (r() % (end - start));
    const d2 = destination(r);
    if (lands(sel, 0, workers, d2.addr, d2.port, p)) same++;
  }
  return same / SAMPLES;
}

/** ns per allocation + free at half use: steered (fanout stand-in) against PortAllocator. */
function allocationNs(workers: number): { steered: number; plain: number; meanTries: number } {
  const [start, end] = partition(0, workers);
  const size = end - start;
  const r = rng(99);
  const dests = Array.from({ length: 4096 }, () => destination(r));
  const destAddr = Int32Array.from(dests, (d) => d.addr);
  const destPort = Int32Array.from(dests, (d) => d.port);
  // Steered: a FIFO of free ports; half of them handed out, in a FIFO of their own.
  const ring = new Int32Array(size);
  for (let i = 0; i < size; i++) ring[i] = LO + start + i;
  let head = 0;
  let free = size;
  const used = new Int32Array(size);
  let usedHead = 0;
  let usedCount = 0;
  let triesTotal = 0;
  const OPS = 400_000;
  const steeredOp = (i: number) => {
    const a = destAddr[i & 4095];
    const dp = destPort[i & 4095];
    for (;;) {
      const p = ring[head];
      head = head + 1 === size ? 0 : head + 1;
      triesTotal++;
      if (fanout(a, NAT_ADDRESS, dp, p, workers) === 0) {
        free--;
        used[(usedHead + usedCount) % size] = p;
        usedCount++;
        break;
      }
      ring[(head + free - 1) % size] = p;
    }
    if (usedCount > size >> 1) {
      // Free the oldest: back of the free queue.
      ring[(head + free) % size] = used[usedHead];
      free++;
      usedHead = usedHead + 1 === size ? 0 : usedHead + 1;
      usedCount--;
    }
  };
  for (let i = 0; i < size >> 1; i++) steeredOp(i);
  triesTotal = 0;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) steeredOp(i);
  const steered = Number(process.hrtime.bigint() - t0) / OPS;
  const meanTries = triesTotal / OPS;

  const alloc = PortAllocator.attach(PortAllocator.create({ lo: LO, hi: HI, workers, seed: 5 }), 0);
  const held = new Int32Array(size);
  let hh = 0;
  let hc = 0;
  const plainOp = (i: number) => {
    consume(destAddr[i & 4095] ^ destPort[i & 4095]);
    held[(hh + hc) % size] = alloc.allocate();
    hc++;
    if (hc > size >> 1) {
      alloc.free(held[hh]);
      hh = hh + 1 === size ? 0 : hh + 1;
      hc--;
    }
  };
  for (let i = 0; i < size >> 1; i++) plainOp(i);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) plainOp(i);
  const plain = Number(process.hrtime.bigint() - t0) / OPS;
  return { steered, plain, meanTries };
}

export function runSteeringBench(): BenchRow[] {
  const rows: BenchRow[] = [];
  const hashes: [string, Selector, number[]][] = [
    ['fanout stand-in', fanout, [2, 4, 8]],
    ['rss toeplitz', rss, [4]],
  ];
  for (const [label, sel, ws] of hashes) {
    for (const w of ws) {
      const t = tries(sel, w, 0x1234 + w);
      const one = oneDestination(sel, w, 0x777 + w);
      const eim = eimShare(sel, w, 0x4242 + w);
      const range = PORTS / w;
      rows.push({
        name: 'nat/steer-tries',
        subject: `${label}, W=${w}`,
        value: t.mean,
        unit: 'ports/binding',
        notes: `candidate ports tried per new binding, worker 0's ${range.toFixed(0)} ports filled to 90% (${t.allocations} bindings, destinations at random); max ${t.max}, ${t.failed} found none`,
      });
      rows.push({
        name: 'nat/steer-ports-one-destination',
        subject: `${label}, W=${w}`,
        value: one.mean,
        unit: 'ports/worker',
        notes: `of ${range.toFixed(0)} in a worker's range (min ${one.min}); all workers together ${(one.mean * w).toFixed(0)} of ${PORTS} (${((100 * one.mean * w) / PORTS).toFixed(0)}%); from one range shared by the workers (a cross-worker allocator) ${(PORTS / w).toFixed(0)} per worker on average, min ${one.sharedMin}`,
      });
      rows.push({
        name: 'nat/steer-eim-later-flows',
        subject: `${label}, W=${w}`,
        value: eim,
        unit: 'share on creator',
        notes: `a binding's later flows to other destinations (endpoint-independent mapping) whose replies reach the worker that chose the port; the rest (${(100 * (1 - eim)).toFixed(0)}%) land elsewhere and need the shared table anyway`,
      });
    }
  }
  const ns = allocationNs(4);
  rows.push({ name: 'nat/steer-alloc', subject: 'steered (fanout stand-in), W=4', value: ns.steered, unit: 'ns', notes: `allocation + free at half use, ${ns.meanTries.toFixed(2)} tries per allocation (hash per try); a simulation without PortAllocator's shared counters` });
  rows.push({ name: 'nat/steer-alloc', subject: 'PortAllocator, W=4', value: ns.plain, unit: 'ns', notes: 'allocation + free at half use (what the dataplane does)' });
  return rows;
}
