// Counters: (packets, bytes) pairs at named indexes in one Float64Array.
// Each worker owns its array (optionally over a SharedArrayBuffer) and only
// adds to it; the control plane sums the arrays of all workers. Float64
// counts stay exact up to 2^53, which no counter here reaches.
//
// Names read like "ip4-input/ttl-expired" or "port/eth0/rx": the node (or
// port) and what happened. The registry is filled while a graph is built,
// before any packet flows, and is the same in every worker because every
// worker builds the same graph.

export interface CounterInfo {
  name: string;
  description: string;
  /** A drop reason (a packet lost), or another count. */
  kind: 'drop' | 'count';
}

export interface CounterValue {
  packets: number;
  bytes: number;
}

export class CounterRegistry {
  private readonly infos: CounterInfo[] = [];
  private readonly byName = new Map<string, number>();

  /** Registers a counter (idempotent by name) and returns its index. */
  register(name: string, description: string): number {
    const existing = this.byName.get(name);
    if (existing !== undefined) return existing;
    const index = this.infos.length;
    this.infos.push({ name, description, kind: 'count' });
    this.byName.set(name, index);
    return index;
  }

  /** Sets the description (and kind) of a registered counter. */
  describe(index: number, description: string, kind: CounterInfo['kind'] = 'count'): void {
    this.infos[index].description = description;
    this.infos[index].kind = kind;
  }

  indexOf(name: string): number | undefined {
    return this.byName.get(name);
  }

  get size(): number {
    return this.infos.length;
  }

  info(index: number): CounterInfo {
    return this.infos[index];
  }

  names(): string[] {
    return this.infos.map((i) => i.name);
  }
}

export class Counters {
  /** values[2 * i] = packets, values[2 * i + 1] = bytes. */
  readonly values: Float64Array;

  constructor(
    readonly registry: CounterRegistry,
    buffer?: ArrayBufferLike,
  ) {
    const length = registry.size * 2;
    this.values = buffer ? new Float64Array(buffer, 0, length) : new Float64Array(length);
  }

  /** Counts one packet of `bytes` bytes. */
  add(index: number, bytes: number): void {
    this.values[2 * index] += 1;
    this.values[2 * index + 1] += bytes;
  }

  packets(index: number): number {
    return this.values[2 * index];
  }

  bytes(index: number): number {
    return this.values[2 * index + 1];
  }

  get(name: string): CounterValue {
    const i = this.registry.indexOf(name);
    if (i === undefined) return { packets: 0, bytes: 0 };
    return { packets: this.values[2 * i], bytes: this.values[2 * i + 1] };
  }

  /** Non-zero counters by name (allocates: for reports and tests). */
  nonZero(): Record<string, CounterValue> {
    const out: Record<string, CounterValue> = {};
    for (let i = 0; i < this.registry.size; i++) {
      if (this.values[2 * i] !== 0) out[this.registry.info(i).name] = { packets: this.values[2 * i], bytes: this.values[2 * i + 1] };
    }
    return out;
  }

  reset(): void {
    this.values.fill(0);
  }

  /** Adds another worker's counters into these (control plane). */
  accumulate(other: Counters): void {
    const a = this.values;
    const b = other.values;
    for (let i = 0; i < a.length; i++) a[i] += b[i];
  }

  /** Bytes a SharedArrayBuffer needs to hold this registry's counters. */
  static byteLength(registry: CounterRegistry): number {
    return registry.size * 2 * Float64Array.BYTES_PER_ELEMENT;
  }
}
