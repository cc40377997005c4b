// A port made of two in-memory queues, for tests and the control plane's
// testing mode: no root, no addon. inject() queues frames for rx(); tx()
// copies frames out to `sent` (or into a connected peer's receive queue).
import { MAX_BATCH, type Batch } from '../pipeline/batch.js';
import { IoCounter } from './native.js';
import { newPortCounters, PortClosedError, rxRoom, type PacketPort } from './port.js';

export interface MemoryPortOptions {
  /** The router's port index (batch.rxPort); default 0. */
  index?: number;
  /** Frames one tx() accepts before reporting a full queue (default: all). */
  txBurstLimit?: number;
  /** Frames the receive queue holds; inject() beyond it drops and returns false (default: unbounded). */
  rxQueueLimit?: number;
  /**
   * Longer frames are refused on tx as the kernel refuses one over the
   * device's MTU (EMSGSIZE): consumed, counted in TX_REJECTED (default: none).
   */
  txMaxFrame?: number;
}

export class MemoryPort implements PacketPort {
  readonly name: string;
  readonly index: number;
  readonly fd = -1;
  readonly counters = newPortCounters();
  /** Frames sent and not yet taken (when not connected to a peer). */
  readonly sent: Uint8Array[] = [];
  txBurstLimit: number;
  txMaxFrame: number;
  /** When false, tx() drops everything as a NIC without link would. */
  linkUp = true;
  private readonly rxQueueLimit: number;
  private queue: Uint8Array[] = [];
  private head = 0;
  private peer: MemoryPort | undefined;
  private closed = false;

  constructor(name: string, opts: MemoryPortOptions = {}) {
    this.name = name;
    this.index = opts.index ?? 0;
    this.txBurstLimit = opts.txBurstLimit ?? Number.MAX_SAFE_INTEGER;
    this.rxQueueLimit = opts.rxQueueLimit ?? Number.MAX_SAFE_INTEGER;
    this.txMaxFrame = opts.txMaxFrame ?? Number.MAX_SAFE_INTEGER;
  }

  /** Wires two ports back to back, like a veth pair: what one sends, the other receives. */
  static pair(a: MemoryPort, b: MemoryPort): void {
    a.peer = b;
    b.peer = a;
  }

  /** Queues a copy of `frame` for rx(); false when the receive queue is full. */
  inject(frame: Uint8Array): boolean {
    return this.enqueue(frame.slice());
  }

  /** Frames waiting for rx(). */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Returns and forgets the frames sent so far. */
  takeSent(): Uint8Array[] {
    return this.sent.splice(0, this.sent.length);
  }

  rx(batch: Batch, max: number = MAX_BATCH): number {
    this.checkOpen();
    const count = rxRoom(batch, max);
    let n = 0;
    while (n < count && this.head < this.queue.length) {
      const frame = this.queue[this.head++];
      if (batch.pushView(frame, this.index, 0, 0) < 0) {
        this.counters[IoCounter.RX_OVERSIZE]++;
        continue;
      }
      n++;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
    return n;
  }

  tx(batch: Batch, slots: Uint16Array, count: number): number {
    this.checkOpen();
    if (!this.linkUp) {
      if (count <= 0) return 0;
      this.counters[IoCounter.TX_LINK_DOWN] += count;
      let bytes = 0;
      for (let i = 0; i < count; i++) bytes += batch.length[slots[i]];
      this.counters[IoCounter.TX_LINK_DOWN_BYTES] += bytes;
      return count;
    }
    const n = count < this.txBurstLimit ? count : this.txBurstLimit;
    for (let i = 0; i < n; i++) {
      const s = slots[i];
      if (batch.length[s] > this.txMaxFrame) {
        this.counters[IoCounter.TX_REJECTED]++;
        this.counters[IoCounter.TX_REJECTED_BYTES] += batch.length[s];
        continue;
      }
      const frame = batch.arena.slice(batch.start[s], batch.start[s] + batch.length[s]);
      if (this.peer) this.peer.enqueue(frame);
      else this.sent.push(frame);
    }
    return n;
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
  }

  private enqueue(frame: Uint8Array): boolean {
    if (this.pending >= this.rxQueueLimit) return false;
    this.queue.push(frame);
    return true;
  }

  private checkOpen(): void {
    if (this.closed) throw new PortClosedError(this.name);
  }
}
