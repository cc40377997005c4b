// A TAP queue as a PacketPort. With multiQueue, open one TapPort per worker
// on the same name: the kernel spreads flows over the queues by flow hash, so
// each flow stays on one worker.
import { MAX_BATCH, type Batch } from '../pipeline/batch.js';
import { loadNative, type NativeIo } from './native.js';
import { newPortCounters, PortClosedError, resetRxStarts, rxRoom, takeRxBurst, withPortName, type PacketPort } from './port.js';

export interface TapPortOptions {
  /** The router's port index (batch.rxPort); default 0. */
  index?: number;
  multiQueue?: boolean;
  vnetHdr?: boolean;
  /** Checksum/TSO offload (implies vnetHdr): frames up to 64 KiB with their virtio_net_hdr in batch.offload. */
  offload?: boolean;
  /** Keep the TAP after the last fd closes (TUNSETPERSIST). */
  persist?: boolean;
  /** Create the TAP; fail (EBUSY) if an interface of that name exists rather than attach to it (IFF_TUN_EXCL). */
  exclusive?: boolean;
}

export class TapPort implements PacketPort {
  readonly name: string;
  readonly index: number;
  readonly counters: Float64Array;
  /** Bytes of virtio_net_hdr on each frame of this queue (0 without vnetHdr); the bursts strip and add it. */
  readonly vnetHdrLen: number;
  /** Offloads are on: rx fills and tx reads batch.offload (the batch needs large slots: BatchOptions.largeSlots). */
  readonly offload: boolean;
  private readonly io: NativeIo;
  private fdValue: number;

  /** Creates the TAP (or attaches one more queue of a multi-queue TAP). */
  static open(name: string, opts: TapPortOptions = {}): TapPort {
    const io = loadNative();
    const h = io.tapOpen(name, { multiQueue: opts.multiQueue ?? false, vnetHdr: opts.vnetHdr ?? false, offload: opts.offload ?? false, exclusive: opts.exclusive ?? false });
    try {
      if (opts.persist) io.tapSetPersist(h.fd, true);
    } catch (e) {
      io.closeFd(h.fd);
      throw e;
    }
    return new TapPort(io, h.fd, h.name, h.vnetHdrLen, opts.index ?? 0, h.offload, newPortCounters());
  }

  /** Opens `queues` queues of one multi-queue TAP (one per worker). */
  static openQueues(name: string, queues: number, opts: Omit<TapPortOptions, 'multiQueue'> = {}): TapPort[] {
    const ports: TapPort[] = [];
    try {
      // `exclusive` is for the queue that creates the TAP; the others attach to it.
      for (let q = 0; q < queues; q++) ports.push(TapPort.open(ports.length > 0 ? ports[0].name : name, { ...opts, multiQueue: true, exclusive: q === 0 && opts.exclusive === true }));
    } catch (e) {
      for (const p of ports) p.close();
      throw e;
    }
    return ports;
  }

  /**
   * Wraps a TAP queue fd opened elsewhere (by the main thread, before the TAP
   * moved to another netns); counts into `counters` (IoCounter.COUNT doubles,
   * e.g. shared memory) when given.
   */
  static adopt(fd: number, name: string, vnetHdrLen: number, index: number, offload = false, counters: Float64Array = newPortCounters()): TapPort {
    return new TapPort(loadNative(), fd, name, vnetHdrLen, index, offload, counters);
  }

  private constructor(io: NativeIo, fd: number, name: string, vnetHdrLen: number, index: number, offload: boolean, counters: Float64Array) {
    this.io = io;
    this.counters = counters;
    this.fdValue = fd;
    this.name = name;
    this.vnetHdrLen = vnetHdrLen;
    this.index = index;
    this.offload = offload;
  }

  get fd(): number {
    return this.fdValue;
  }

  rx(batch: Batch, max: number = MAX_BATCH): number {
    const count = rxRoom(batch, max);
    if (count <= 0) return 0;
    if (this.fdValue < 0) throw new PortClosedError(this.name);
    const first = batch.rxCount;
    resetRxStarts(batch, first, count);
    let n: number;
    try {
      n = this.io.rxBurst(this.fdValue, batch.arena, batch.start, batch.length, batch.maxFrame, count, first, this.vnetHdrLen, this.counters,
        this.offload ? batch.offload : null);
    } catch (e) {
      throw withPortName(e, this.name);
    }
    takeRxBurst(batch, first, n, this.index, false, this.offload);
    return n;
  }

  tx(batch: Batch, slots: Uint16Array, count: number): number {
    if (count <= 0) return 0;
    if (this.fdValue < 0) throw new PortClosedError(this.name);
    try {
      return this.io.txBurst(this.fdValue, batch.arena, batch.start, batch.length, count, slots, this.vnetHdrLen, this.counters,
        this.offload ? batch.offload : null);
    } catch (e) {
      throw withPortName(e, this.name);
    }
  }

  close(): void {
    if (this.fdValue < 0) return;
    const fd = this.fdValue;
    this.fdValue = -1;
    this.io.closeFd(fd);
  }
}
