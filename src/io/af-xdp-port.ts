// An AF_XDP socket on one queue of an existing interface as a PacketPort.
// The XDP program that feeds it is the main thread's (xdpAttach in
// runtime/port-setup.ts); each worker opens the socket of its queue.
//
// The socket's UMEM lies in the worker's batch arena (Batch portAreaBytes),
// so a received frame is handed to the pipeline where the kernel wrote it:
// rx points batch.start at the UMEM chunk instead of copying into a slot.
// A frame that leaves by the port it came in on is sent from there too;
// other frames are copied into a free chunk (one copy, as AF_PACKET's send).
// A chunk carries at most XSK_MAX_FRAME_BYTES of frame while the batch's
// slots may hold more (another port's jumbo MTU or offload): the pipeline
// cuts what it routes here to this port's MTU, and tx drops anything longer
// that still arrives (io tx-oversize) instead of copying it.
// A worker without a queue of the interface gets a send-only port.
import { BurstKeep, MAX_BATCH, type Batch } from '../pipeline/batch.js';
import { IoCounter, loadNative, type NativeIo, type XskHandle, type XskStats } from './native.js';
import { newPortCounters, PortClosedError, rxRoom, withPortName, type PacketPort } from './port.js';

/** Bytes of one UMEM chunk (native/src/af-xdp.h kXskFrameSize). */
export const XSK_FRAME_BYTES = 4096;
/**
 * The longest frame the socket sends or receives (kXskMaxFrame): a chunk
 * less the kernel's 256 bytes of XDP headroom. tx drops a longer one
 * (IoCounter.TX_OVERSIZE) rather than write past its chunk.
 */
export const XSK_MAX_FRAME_BYTES = XSK_FRAME_BYTES - 256;
/** A transparent huge page (native/src/af-xdp.h kHugePage). */
const HUGE_PAGE_BYTES = 2 << 20;

export interface AfXdpPortOptions {
  /** The receive queue this socket serves, or -1 for a send-only port. */
  queue: number;
  /** The port's XSKMAP (XdpAttachment.mapFd; fds are process-wide). */
  mapFd: number;
  /** The batch this port receives into: its arena holds the UMEM. */
  batch: Batch;
  /** Where in the batch's port area this socket's UMEM goes (bytes from portAreaStart); see areaBytes(). */
  areaOffset?: number;
  frames?: number;
  bind?: 'auto' | 'copy' | 'zerocopy';
  /** The router's port index (batch.rxPort); default 0. */
  index?: number;
  /** Count here (IoCounter.COUNT doubles, e.g. a view of shared memory) instead of a private array. */
  counters?: Float64Array;
}

export class AfXdpPort implements PacketPort {
  readonly name: string;
  readonly index: number;
  readonly counters: Float64Array;
  readonly queue: number;
  /** The driver took the frames' memory (zero-copy); false in copy mode and for a send-only port. */
  readonly zerocopy: boolean;
  /** The socket was bound with need_wakeup (the kernel is kicked only when a ring says so); false for a send-only port. */
  readonly needWakeup: boolean;
  /** Where the UMEM starts in the batch arena (bytes): on a 2 MiB boundary of memory where the area allows (areaBytes). */
  readonly umemOffset: number;
  private readonly io: NativeIo;
  private handle: XskHandle | 0;
  private fdValue: number;
  private readonly arena: Uint8Array;

  /**
   * Bytes of port area a socket with `frames` chunks needs: the UMEM and room
   * to start it on a 2 MiB boundary, so that all of it can take huge pages
   * (native/src/af-xdp.cc says why). The room is address space, never touched.
   */
  static areaBytes(frames: number): number {
    return frames * XSK_FRAME_BYTES + HUGE_PAGE_BYTES;
  }

  static open(ifname: string, opts: AfXdpPortOptions): AfXdpPort {
    const io = loadNative();
    const { batch, queue } = opts;
    const frames = opts.frames ?? 4096;
    if (opts.counters !== undefined && opts.counters.length < IoCounter.COUNT) throw new RangeError(`counters must hold ${IoCounter.COUNT} values`);
    const offset = opts.areaOffset ?? 0;
    const bytes = queue < 0 ? 0 : AfXdpPort.areaBytes(frames);
    if (offset + bytes > batch.portAreaBytes) {
      throw new RangeError(`${ifname}: the batch's port area (${batch.portAreaBytes} bytes) cannot hold a UMEM of ${frames} frames at ${offset} (make the batch with portAreaBytes)`);
    }
    let opened;
    try {
      opened = io.xskOpen(ifname, queue, opts.mapFd, batch.arena, batch.portAreaStart + offset, bytes, { frames, bind: opts.bind ?? 'auto' });
    } catch (e) {
      throw withPortName(e, ifname);
    }
    const bound = { zerocopy: opened.zerocopy, needWakeup: opened.needWakeup === true };
    return new AfXdpPort(io, opened.handle, opened.fd, bound, opened.areaOffset, ifname, queue, batch, opts.index ?? 0, opts.counters ?? newPortCounters());
  }

  private constructor(io: NativeIo, handle: XskHandle, fd: number, bound: { zerocopy: boolean; needWakeup: boolean }, umemOffset: number, name: string, queue: number, batch: Batch, index: number, counters: Float64Array) {
    this.io = io;
    this.umemOffset = umemOffset;
    this.handle = handle;
    this.fdValue = fd;
    this.zerocopy = bound.zerocopy;
    this.needWakeup = bound.needWakeup;
    this.name = name;
    this.queue = queue;
    this.arena = batch.arena;
    this.index = index;
    this.counters = counters;
  }

  /** How the kernel bound the socket, in words: "zero-copy" or "copy", with or without need_wakeup; "send-only" without a queue. */
  get bindMode(): string {
    if (this.queue < 0) return 'send-only';
    return `${this.zerocopy ? 'zero-copy' : 'copy'} ${this.needWakeup ? 'with' : 'without'} need_wakeup`;
  }

  /** The addon's handle of this socket (xskNapUs takes a list of them); 0 once closed. */
  get xskHandle(): number {
    return this.handle;
  }

  get fd(): number {
    return this.fdValue;
  }

  rx(batch: Batch, max: number = MAX_BATCH): number {
    const count = rxRoom(batch, max);
    if (count <= 0) return 0;
    const h = this.handle;
    if (h === 0) throw new PortClosedError(this.name);
    if (batch.arena !== this.arena) throw new RangeError(`${this.name}: an AF_XDP port receives only into the batch whose arena holds its UMEM`);
    const first = batch.rxCount;
    let n: number;
    try {
      // Each frame's UMEM offset straight into batch.start: takeBurst keeps it (the frame is not copied into its slot).
      n = this.io.xskRxBurst(h, batch.start, batch.length, count, first, this.counters);
    } catch (e) {
      throw withPortName(e, this.name);
    }
    batch.takeBurst(first, n, this.index, BurstKeep.STARTS);
    batch.rxCount = first + n;
    return n;
  }

  tx(batch: Batch, slots: Uint16Array, count: number): number {
    if (count <= 0) return 0;
    const h = this.handle;
    if (h === 0) throw new PortClosedError(this.name);
    try {
      return this.io.xskTxBurst(h, batch.arena, batch.start, batch.length, count, slots, this.counters);
    } catch (e) {
      throw withPortName(e, this.name);
    }
  }

  /**
   * The run loop's nap for a worker whose inputs are all these sockets: it
   * sleeps in slices bounded by the room left in their fill rings and ends
   * once one runs low (native/src/af-xdp-nap.cc), so a long nap cap cannot
   * run a ring dry when the rate jumps. Undefined when one is send-only or
   * closed, or the addon lacks it. Bound once: no closure or array per nap.
   */
  static ringBoundedNap(ports: readonly AfXdpPort[]): ((us: number) => void) | undefined {
    const io = loadNative();
    const nap = io.xskNapUs;
    if (nap === undefined || ports.length === 0 || ports.some((p) => p.handle === 0 || p.queue < 0)) return undefined;
    const handles = Int32Array.from(ports, (p) => p.xskHandle);
    const count = handles.length;
    return (us: number) => {
      nap.call(io, handles, count, us);
    };
  }

  /** The kernel's socket statistics (drops for want of fill-ring or RX-ring room) and free UMEM chunks. */
  stats(): XskStats | undefined {
    return this.handle === 0 ? undefined : this.io.xskStats(this.handle);
  }

  close(): void {
    if (this.handle === 0) return;
    const h = this.handle;
    this.handle = 0;
    this.fdValue = -1;
    this.io.xskClose(h);
  }
}
