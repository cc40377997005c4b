// The load balancer's state shared by the main thread and the packet
// workers, in SharedArrayBuffers:
//
//   backends   a registry, append-only: id -> address, VIP, state. An id is
//              never reused for another backend, so a flow pinned to id b
//              (its flow-table user word) names the same backend for as long
//              as it lives, whatever tables are published meanwhile.
//   tables     per VIP, two Maglev lookup tables of backend ids (tableSize
//              entries each): workers read the active one, the main thread
//              writes the other and then flips `active` (a new generation).
//              Entries are whole backend ids written one 32-bit store at a
//              time, so a worker that reads while a table is being written
//              still gets a backend of this VIP (of the old or the new
//              generation): no lock on the packet path.
//   counters   per worker, per backend: new flows, flows ended, packets and
//              bytes (the worker writes its own block; the main thread sums).
//
// The state word of a backend says what its flows do:
//   ACTIVE    in the table, new flows may go to it;
//   DRAINING  weight 0: out of the table, its existing flows stay;
//   DOWN      failed its health check: out of the table, its direct-return
//             flows move to another backend (nothing answers there);
//   REMOVED   no longer in the config (hard removal): as DOWN.

export const BackendState = { UNUSED: 0, ACTIVE: 1, DRAINING: 2, DOWN: 3, REMOVED: 4 } as const;
export const BACKEND_STATE_NAMES = ['unused', 'active', 'draining', 'down', 'removed'] as const;

/** Per-worker, per-backend counters (doubles). */
export const BackendCounter = { NEW_FLOWS: 0, ENDED_FLOWS: 1, PACKETS: 2, BYTES: 3, COUNT: 4 } as const;

// Meta words (Int32): header, per VIP, then the backend registry.
const M_BACKENDS = 0;
const M_CAPACITY = 1;
const M_VIPS = 2;
const HEADER_WORDS = 4;
const VIP_WORDS = 2;
const V_ACTIVE = 0;
const V_GENERATION = 1;

export interface LbBuffers {
  meta: SharedArrayBuffer;
  /** One per VIP: two tables of its tableSize. */
  tables: SharedArrayBuffer[];
  /** One per worker: BackendCounter.COUNT doubles per backend id. */
  counters: SharedArrayBuffer[];
}

/** Views over LbBuffers; the same class on the main thread (writer) and in workers (readers). */
export class LbTables {
  readonly meta: Int32Array;
  readonly backendCapacity: number;
  readonly vipCount: number;
  /** Backend registry, by id. */
  readonly backendAddress: Int32Array;
  readonly backendVip: Int32Array;
  readonly backendState: Int32Array;
  /** Per VIP: both tables, [0, size) and [size, 2 * size). */
  readonly tables: Int32Array[];
  readonly tableSize: Int32Array;
  /** Per worker counter blocks. */
  readonly counters: Float64Array[];

  private constructor(readonly buffers: LbBuffers) {
    this.meta = new Int32Array(buffers.meta);
    this.backendCapacity = this.meta[M_CAPACITY];
    this.vipCount = this.meta[M_VIPS];
    const base = HEADER_WORDS + this.vipCount * VIP_WORDS;
    const cap = this.backendCapacity;
    this.backendAddress = new Int32Array(buffers.meta, base * 4, cap);
    this.backendVip = new Int32Array(buffers.meta, (base + cap) * 4, cap);
    this.backendState = new Int32Array(buffers.meta, (base + 2 * cap) * 4, cap);
    this.tables = buffers.tables.map((t) => new Int32Array(t));
    this.tableSize = Int32Array.from(this.tables, (t) => t.length >> 1);
    this.counters = buffers.counters.map((c) => new Float64Array(c));
  }

  static create(tableSizes: readonly number[], backendCapacity: number, workers: number): LbTables {
    const words = HEADER_WORDS + tableSizes.length * VIP_WORDS + 3 * backendCapacity;
    const meta = new SharedArrayBuffer(words * 4);
    const m = new Int32Array(meta);
    m[M_CAPACITY] = backendCapacity;
    m[M_VIPS] = tableSizes.length;
    const tables = tableSizes.map((n) => {
      const t = new SharedArrayBuffer(2 * n * 4);
      new Int32Array(t).fill(-1);
      return t;
    });
    const counters = Array.from({ length: workers }, () => new SharedArrayBuffer(backendCapacity * BackendCounter.COUNT * 8));
    return new LbTables({ meta, tables, counters });
  }

  static attach(buffers: LbBuffers): LbTables {
    return new LbTables(buffers);
  }

  /** Backend ids in use. */
  get backendCount(): number {
    return Atomics.load(this.meta, M_BACKENDS);
  }

  /** The backend in slot `slot` of VIP v's active table, or -1 (no backend has weight). */
  lookup(v: number, slot: number): number {
    const active = Atomics.load(this.meta, HEADER_WORDS + v * VIP_WORDS + V_ACTIVE);
    return this.tables[v][active * this.tableSize[v] + slot];
  }

  /** Tables published for VIP v so far. */
  generation(v: number): number {
    return Atomics.load(this.meta, HEADER_WORDS + v * VIP_WORDS + V_GENERATION);
  }

  /** The table VIP v's readers use now (a copy). */
  activeTable(v: number): Int32Array {
    const n = this.tableSize[v];
    const active = Atomics.load(this.meta, HEADER_WORDS + v * VIP_WORDS + V_ACTIVE);
    return this.tables[v].slice(active * n, active * n + n);
  }

  // ---- the main thread's side ----

  /** Registers a backend of VIP v; returns its id, or -1 when the registry is full. */
  addBackend(v: number, address: number, state: number): number {
    const id = this.meta[M_BACKENDS];
    if (id >= this.backendCapacity) return -1;
    this.backendAddress[id] = address | 0;
    this.backendVip[id] = v;
    Atomics.store(this.backendState, id, state);
    Atomics.store(this.meta, M_BACKENDS, id + 1);
    return id;
  }

  setState(id: number, state: number): void {
    Atomics.store(this.backendState, id, state);
  }

  /** Writes `ids` (backend ids, tableSize of them) as VIP v's next table and makes it the active one. */
  publish(v: number, ids: Int32Array): void {
    const n = this.tableSize[v];
    if (ids.length !== n) throw new RangeError(`lb: table of ${ids.length} entries for a VIP of ${n}`);
    const w = HEADER_WORDS + v * VIP_WORDS;
    const next = Atomics.load(this.meta, w + V_ACTIVE) ^ 1;
    this.tables[v].set(ids, next * n);
    Atomics.store(this.meta, w + V_ACTIVE, next);
    Atomics.add(this.meta, w + V_GENERATION, 1);
  }

  /** A backend's counter summed over the workers. */
  total(id: number, counter: number): number {
    let sum = 0;
    for (const c of this.counters) sum += c[id * BackendCounter.COUNT + counter];
    return sum;
  }

  /** Flows pinned to backend id now: started minus ended, over all workers. */
  activeFlows(id: number): number {
    return this.total(id, BackendCounter.NEW_FLOWS) - this.total(id, BackendCounter.ENDED_FLOWS);
  }
}

/** The registry as the flow dump reads it (src/nat/flow-dump.ts BackendRegistryView). */
export function lbRegistryView(t: LbTables): { backendCapacity: number; backendAddress: Int32Array; backendVip: ArrayLike<number>; backendState: ArrayLike<number>; stateNames: readonly string[] } {
  return { backendCapacity: t.backendCapacity, backendAddress: t.backendAddress, backendVip: t.backendVip, backendState: t.backendState, stateNames: BACKEND_STATE_NAMES };
}
