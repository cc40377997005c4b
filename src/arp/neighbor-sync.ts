// Sharing what ARP learns between packet workers. Each worker keeps its own
// neighbor table (lookups stay private and lock-free), but an ARP reply
// arrives on one worker's queue only, while the packets waiting for it may
// sit in another worker's pending queue. So a worker that learns a mapping
// from the wire publishes it into this ring in shared memory, and every
// worker applies the others' entries at the start of each batch.
//
// The ring is multi-producer: a writer claims an index with Atomics.add,
// writes the entry, then stores the entry's sequence number (index + 1) last;
// a reader takes an entry only when its sequence number says it is complete.
// A reader that falls more than `capacity` entries behind skips ahead: it
// loses some updates, which costs at most an extra ARP resolution.

const HEADER = 1; // [0] = next write index
const FIELDS = 5; // seq, port | worker << 16, ip, mac bytes 0-3, mac bytes 4-5

export class NeighborSync {
  readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;
  private readonly capacity: number;
  private readIndex: number;

  constructor(
    private readonly worker: number,
    buffer?: SharedArrayBuffer,
    capacity = 1024,
  ) {
    this.buffer = buffer ?? new SharedArrayBuffer((HEADER + capacity * FIELDS) * 4);
    this.words = new Int32Array(this.buffer);
    this.capacity = (this.words.length - HEADER) / FIELDS;
    this.readIndex = Atomics.load(this.words, 0);
  }

  static byteLength(capacity = 1024): number {
    return (HEADER + capacity * FIELDS) * 4;
  }

  publish(port: number, ip: number, mac: Uint8Array, macOff: number): void {
    const w = this.words;
    const index = Atomics.add(w, 0, 1);
    const e = HEADER + (index % this.capacity) * FIELDS;
    Atomics.store(w, e, 0); // mark incomplete while rewriting a reused entry
    w[e + 1] = (port & 0xffff) | (this.worker << 16);
    w[e + 2] = ip | 0;
    w[e + 3] = (mac[macOff] << 24) | (mac[macOff + 1] << 16) | (mac[macOff + 2] << 8) | mac[macOff + 3];
    w[e + 4] = (mac[macOff + 4] << 8) | mac[macOff + 5];
    Atomics.store(w, e, index + 1);
  }

  /**
   * Calls `apply` for each complete entry published by another worker since
   * the last drain; `mac` is a 6-byte scratch holding the MAC at offset 0.
   */
  drain(apply: (port: number, ip: number, mac: Uint8Array) => void, mac: Uint8Array): void {
    const w = this.words;
    const end = Atomics.load(w, 0);
    if (end - this.readIndex > this.capacity) this.readIndex = end - this.capacity;
    while (this.readIndex < end) {
      const e = HEADER + (this.readIndex % this.capacity) * FIELDS;
      if (Atomics.load(w, e) !== this.readIndex + 1) break; // still being written: next batch
      const meta = w[e + 1];
      if (meta >>> 16 !== this.worker) {
        const hi = w[e + 3];
        const lo = w[e + 4];
        mac[0] = hi >>> 24;
        mac[1] = (hi >>> 16) & 0xff;
        mac[2] = (hi >>> 8) & 0xff;
        mac[3] = hi & 0xff;
        mac[4] = lo >>> 8;
        mac[5] = lo & 0xff;
        apply(meta & 0xffff, w[e + 2] >>> 0, mac);
      }
      this.readIndex++;
    }
  }

  /** True when other workers published something not yet drained (cheap check per batch). */
  pending(): boolean {
    return Atomics.load(this.words, 0) !== this.readIndex;
  }
}
