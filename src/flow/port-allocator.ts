// PortAllocator: NAT ports of one external address and range [lo, hi],
// split into one contiguous sub-range per packet worker, so a worker
// allocates and frees its own ports with no lock and no shared write but its
// own counters. The flow's owner allocates its port when it creates the flow
// and frees it when it expires the flow (FlowTable's sweep), so ports never
// change hands between workers.
//
// Each worker's free ports wait in a FIFO ring (Uint16), filled at create in a
// seeded random order: a freed port goes to the back, so a port is reused as
// late as possible (the remote side's TIME_WAIT for the old mapping has the
// longest to run out), and ports are not handed out in guessable sequence
// (RFC 6056's concern). A byte per port marks it in use, which makes double
// frees and frees of a port that is not the worker's harmless, counted
// refusals. allocate and free are O(1); out of ports is a result, not an
// exception.
//
// A worker whose sub-range is used up gets OUT_OF_PORTS even when others have
// ports free: the caller tries its next external address (NAT pools hold
// several), and the per-worker counts in shared memory show the imbalance.
//
// Keeping the cloud-nat profile open (a guaranteed minimum of ports per
// endpoint, Cloud NAT's minPortsPerVm): the control plane carves the
// address's range into blocks of the minimum size and gives each endpoint
// its own PortAllocator over its block (one more SharedArrayBuffer each, split
// among the workers like any range); an endpoint that outgrows its minimum
// takes further blocks from a pool, and the pool can be this same class over
// block numbers (allocate() hands out a block index instead of a port). None
// of that changes the per-worker, lock-free shape here.

/** allocate result when this worker has no free port. */
export const OUT_OF_PORTS = -1;

const MAGIC = 0x504f5254; // "PORT"
const H_MAGIC = 0;
const H_LO = 1;
const H_HI = 2;
const H_WORKERS = 3;
const HEADER_WORDS = 16;
const WORKER_WORDS = 16; // a cache line per worker: no false sharing of counters
const W_START = 0; // first port offset (from lo) of the sub-range
const W_END = 1; // one past the last
const W_HEAD = 2; // ring position of the next port to hand out
const W_FREE = 3; // ports waiting in the ring
const W_IN_USE = 4;
const W_ALLOCATED = 5; // total allocations
const W_EXHAUSTED = 6; // allocate calls that found no port
const W_BAD_FREES = 7; // free calls refused (not in use, or not this worker's)

export interface PortAllocatorOptions {
  lo: number;
  hi: number;
  workers: number;
  /** Seed of the initial order (random when absent); `false` hands ports out in ascending order. */
  seed?: number | false;
}

export interface WorkerPortStats {
  lo: number;
  hi: number;
  inUse: number;
  allocated: number;
  exhausted: number;
  badFrees: number;
}

function layout(size: number, workers: number): { ringOff: number; markOff: number; bytes: number } {
  const ringOff = (HEADER_WORDS + workers * WORKER_WORDS) * 4;
  const markOff = ringOff + size * 2;
  return { ringOff, markOff, bytes: markOff + size };
}

export class PortAllocator {
  // `declare` fields: see FlowIndex (V8 keeps their types).
  declare readonly lo: number;
  declare readonly hi: number;
  declare readonly worker: number;
  private declare readonly h: Int32Array;
  private declare readonly ring: Uint16Array;
  private declare readonly inUse: Uint8Array;
  private declare readonly wb: number;
  private declare readonly start: number;
  private declare readonly end: number;

  static bytesFor(lo: number, hi: number, workers: number): number {
    return layout(hi - lo + 1, workers).bytes;
  }

  static create(opts: PortAllocatorOptions): SharedArrayBuffer {
    const { lo, hi, workers } = opts;
    for (const [name, v, min, max] of [['lo', lo, 1, 65535], ['hi', hi, 1, 65535], ['workers', workers, 1, 255]] as const) {
      if (!Number.isInteger(v) || v < min || v > max) throw new Error(`port allocator: ${name} must be an integer in ${min}..${max} (got ${v})`);
    }
    const size = hi - lo + 1;
    if (size < workers) throw new Error(`port allocator: range ${lo}-${hi} has ${Math.max(size, 0)} ports for ${workers} workers (need at least one each)`);
    const { ringOff, bytes } = layout(size, workers);
    const buf = new SharedArrayBuffer(bytes);
    const h = new Int32Array(buf, 0, HEADER_WORDS + workers * WORKER_WORDS);
    const ring = new Uint16Array(buf, ringOff, size);
    h[H_MAGIC] = MAGIC;
    h[H_LO] = lo;
    h[H_HI] = hi;
    h[H_WORKERS] = workers;
    let rnd = opts.seed === false ? 0 : (opts.seed ?? Math.random() * 2 ** 32) | 0 || 1;
    for (let w = 0; w < workers; w++) {
      const start = Math.floor((w * size) / workers);
      const end = Math.floor(((w + 1) * size) / workers);
      const wb = HEADER_WORDS + w * WORKER_WORDS;
      h[wb + W_START] = start;
      h[wb + W_END] = end;
      h[wb + W_HEAD] = start;
      h[wb + W_FREE] = end - start;
      for (let i = start; i < end; i++) ring[i] = lo + i;
      if (rnd !== 0) {
        // Fisher-Yates with xorshift32: a different order per table.
        for (let i = end - 1; i > start; i--) {
          rnd ^= rnd << 13;
          rnd ^= rnd >>> 17;
          rnd ^= rnd << 5;
          const j = start + ((rnd >>> 0) % (i - start + 1));
          const t = ring[i];
          ring[i] = ring[j];
          ring[j] = t;
        }
      }
    }
    return buf;
  }

  /** Worker `worker`'s view; -1 for a main-thread view (statistics only). */
  static attach(buffer: SharedArrayBuffer, worker: number): PortAllocator {
    return new PortAllocator(buffer, worker);
  }

  static stats(buffer: SharedArrayBuffer): WorkerPortStats[] {
    const head = new Int32Array(buffer, 0, HEADER_WORDS);
    const workers = head[H_WORKERS];
    const h = new Int32Array(buffer, 0, HEADER_WORDS + workers * WORKER_WORDS);
    const out: WorkerPortStats[] = [];
    for (let w = 0; w < workers; w++) {
      const wb = HEADER_WORDS + w * WORKER_WORDS;
      out.push({
        lo: h[H_LO] + h[wb + W_START],
        hi: h[H_LO] + h[wb + W_END] - 1,
        inUse: Atomics.load(h, wb + W_IN_USE),
        allocated: Atomics.load(h, wb + W_ALLOCATED),
        exhausted: Atomics.load(h, wb + W_EXHAUSTED),
        badFrees: Atomics.load(h, wb + W_BAD_FREES),
      });
    }
    return out;
  }

  private constructor(buffer: SharedArrayBuffer, worker: number) {
    const head = new Int32Array(buffer, 0, HEADER_WORDS);
    if (head[H_MAGIC] !== MAGIC) throw new Error('port allocator: buffer was not made by PortAllocator.create');
    const workers = head[H_WORKERS];
    if (!Number.isInteger(worker) || worker < -1 || worker >= workers) throw new Error(`port allocator: worker must be -1 (main thread) or 0..${workers - 1} (got ${worker})`);
    this.lo = head[H_LO];
    this.hi = head[H_HI];
    this.worker = worker;
    const size = this.hi - this.lo + 1;
    const { ringOff, markOff } = layout(size, workers);
    this.h = new Int32Array(buffer, 0, HEADER_WORDS + workers * WORKER_WORDS);
    this.ring = new Uint16Array(buffer, ringOff, size);
    this.inUse = new Uint8Array(buffer, markOff, size);
    this.wb = HEADER_WORDS + Math.max(worker, 0) * WORKER_WORDS;
    this.start = worker < 0 ? 0 : this.h[this.wb + W_START];
    this.end = worker < 0 ? 0 : this.h[this.wb + W_END];
  }

  /** A free port of this worker's sub-range, or OUT_OF_PORTS. */
  allocate(): number {
    if (this.worker < 0) throw new Error('port allocator: a main-thread view cannot allocate');
    const h = this.h;
    const wb = this.wb;
    if (h[wb + W_FREE] === 0) {
      h[wb + W_EXHAUSTED]++;
      return OUT_OF_PORTS;
    }
    const at = h[wb + W_HEAD];
    const port = this.ring[at];
    h[wb + W_HEAD] = at + 1 === this.end ? this.start : at + 1;
    h[wb + W_FREE]--;
    this.inUse[port - this.lo] = 1;
    Atomics.store(h, wb + W_IN_USE, h[wb + W_IN_USE] + 1);
    h[wb + W_ALLOCATED]++;
    return port;
  }

  /** Returns a port to the back of the queue; false (and counted) when it is not this worker's or not in use. */
  free(port: number): boolean {
    if (this.worker < 0) throw new Error('port allocator: a main-thread view cannot free');
    const h = this.h;
    const wb = this.wb;
    const off = port - this.lo;
    if (!(off >= this.start && off < this.end) || this.inUse[off] === 0) {
      h[wb + W_BAD_FREES]++;
      return false;
    }
    this.inUse[off] = 0;
    let tail = h[wb + W_HEAD] + h[wb + W_FREE];
    if (tail >= this.end) tail -= this.end - this.start;
    this.ring[tail] = port;
    h[wb + W_FREE]++;
    Atomics.store(h, wb + W_IN_USE, h[wb + W_IN_USE] - 1);
    return true;
  }

  /** The worker whose sub-range holds the port, or -1 when it is outside [lo, hi]. */
  ownerOf(port: number): number {
    if (port < this.lo || port > this.hi) return -1;
    const off = port - this.lo;
    const workers = this.h[H_WORKERS];
    for (let w = 0; w < workers; w++) if (off < this.h[HEADER_WORDS + w * WORKER_WORDS + W_END]) return w;
    return -1;
  }

  /** Ports this worker has handed out and not had back. */
  inUseCount(): number {
    return this.h[this.wb + W_IN_USE];
  }
}
