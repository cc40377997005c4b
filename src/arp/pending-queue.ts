// Packets waiting for ARP: a fixed pool of buffers, each holding one IPv4
// datagram and where it is going. Bounded twice: at most `perNeighbor`
// packets wait for one neighbor (older ones are dropped first, as Linux's
// unres_qlen does), and at most `capacity` in all.

export class PendingQueue {
  readonly capacity: number;
  readonly maxBytes: number;
  readonly data: Uint8Array;
  readonly length: Uint32Array;
  readonly port: Int32Array;
  readonly target: Uint32Array;
  readonly rxPort: Uint16Array;
  readonly flags: Uint8Array;
  readonly tsSec: Float64Array;
  readonly tsNsec: Uint32Array;
  /** Insertion order, to drop the oldest of a neighbor first. */
  readonly seq: Float64Array;
  private nextSeq = 1;
  used = 0;

  constructor(
    capacity: number,
    readonly perNeighbor: number,
    maxBytes: number,
  ) {
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.data = new Uint8Array(capacity * maxBytes);
    this.length = new Uint32Array(capacity);
    this.port = new Int32Array(capacity).fill(-1);
    this.target = new Uint32Array(capacity);
    this.rxPort = new Uint16Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.tsSec = new Float64Array(capacity);
    this.tsNsec = new Uint32Array(capacity);
    this.seq = new Float64Array(capacity);
  }

  /**
   * Stores a datagram for (port, target). Returns the entry, or -1 when the
   * datagram is too big or the pool is full. When the neighbor already has
   * `perNeighbor` packets waiting, the oldest is overwritten and its old
   * length is reported through `evicted` (so the caller can count it).
   */
  add(port: number, target: number, src: Uint8Array, off: number, len: number, evicted: Uint32Array): number {
    evicted[0] = 0;
    if (len > this.maxBytes) return -1;
    let count = 0;
    let oldest = -1;
    let free = -1;
    for (let i = 0; i < this.capacity; i++) {
      if (this.port[i] === -1) {
        if (free < 0) free = i;
      } else if (this.port[i] === port && this.target[i] === target >>> 0) {
        count++;
        if (oldest < 0 || this.seq[i] < this.seq[oldest]) oldest = i;
      }
    }
    let e = free;
    if (count >= this.perNeighbor) {
      e = oldest;
      evicted[0] = this.length[oldest];
      this.used--;
    }
    if (e < 0) return -1;
    this.data.set(src.subarray(off, off + len), e * this.maxBytes);
    this.length[e] = len;
    this.port[e] = port;
    this.target[e] = target >>> 0;
    this.seq[e] = this.nextSeq++;
    this.used++;
    return e;
  }

  /** Frees entry `e`. */
  remove(e: number): void {
    if (this.port[e] === -1) return;
    this.port[e] = -1;
    this.used--;
  }

  /** Byte offset of entry `e`'s datagram in `data`. */
  offset(e: number): number {
    return e * this.maxBytes;
  }
}
