// Ports as the run loop sees them: a receive side that fills a Batch, a
// transmit side that sends a list of a Batch's slots, and for live ports an
// fd to wait on. TAP, AF_PACKET and memory ports, capture files and test
// scripts all look the same to the loop.
import { BurstKeep, type Batch } from '../pipeline/batch.js';
import { IoCounter } from './native.js';

/** Where a run loop takes frames from: a port's receive side, a capture file, a test's script. */
export interface RxSource {
  /**
   * The router's index of the port the frames arrive on (written to
   * batch.rxPort of each), or -1 for a source that feeds several ports and
   * sets batch.rxPort per frame (a capture with one interface per port).
   */
  readonly index: number;
  /**
   * Receives up to `max` frames (and no more than the batch's free receive
   * slots) into slots [batch.rxCount, batch.rxCount + n), each at
   * batch.slotStart(i), with the slot's metadata reset; advances
   * batch.rxCount and returns n. Several sources may fill one batch in turn.
   * Throws an error with code 'PORT_GONE' when the interface disappeared.
   */
  rx(batch: Batch, max?: number): number;
}

/** Where a run loop sends the frames that leave by one port. */
export interface TxSink {
  /**
   * Sends slots[0..count) of `batch` (each batch.start/length). Returns how
   * many were consumed from the front: sent, or dropped and counted (link
   * down, refused by the kernel, too long for the port) in `counters`.
   * Fewer than count means the kernel queue is full: the caller retries the
   * rest later or drops them.
   */
  tx(batch: Batch, slots: Uint16Array, count: number): number;
  /**
   * IoCounter.COUNT values, when tx can drop frames it consumes: it counts
   * them in TX_REJECTED, TX_LINK_DOWN and TX_OVERSIZE (IO_TX_DROPS), their
   * bytes in the matching byte counters (IO_TX_DROP_BYTES), so that the
   * caller can tell them from the frames sent.
   */
  readonly counters?: Float64Array;
  /** Called once per batch after every port's tx (a capture writer puts the batch in time order here). */
  flush?(batch: Batch): void;
}

/** A packet port as a worker sees it: TAP, AF_PACKET and memory ports all look the same to the pipeline. */
export interface PacketPort extends RxSource, TxSink {
  /** Interface name (or a label for memory ports). */
  readonly name: string;
  /** Pollable fd for waitReadable, or -1 when the port has none (memory ports). */
  readonly fd: number;
  /** Drops and fixes by IoCounter index (the pipeline counts packets and bytes itself). */
  readonly counters: Float64Array;
  /** Releases the fd or socket; idempotent. */
  close(): void;
}

export function newPortCounters(): Float64Array {
  return new Float64Array(IoCounter.COUNT);
}

/** How many frames an rx may take: min(max, free receive slots). */
export function rxRoom(batch: Batch, max: number): number {
  const room = batch.rxCapacity - batch.rxCount;
  return max < room ? max : room;
}

/** Points slots [first, first + count) at their default start, ready for a native burst. */
export function resetRxStarts(batch: Batch, first: number, count: number): void {
  const start = batch.start;
  const end = first + count;
  for (let i = first; i < end; i++) start[i] = batch.slotStart(i);
}

/**
 * Takes slots [first, first + n) that a native burst just filled (frame at
 * batch.start, length in batch.length) into the batch as received on port
 * `rxPort`, and advances batch.rxCount. `stamped`: the burst wrote
 * tsSec/tsNsec (AF_PACKET's ring has the kernel's time); otherwise the
 * timestamp is 0. `offload`: the burst wrote the slots' offload words, which
 * initSlot would clear; they are kept.
 */
export function takeRxBurst(batch: Batch, first: number, n: number, rxPort: number, stamped: boolean, offload: boolean): void {
  batch.takeBurst(first, n, rxPort, (stamped ? BurstKeep.TIMESTAMPS : 0) | (offload ? BurstKeep.OFFLOAD : 0));
  batch.rxCount = first + n;
}

/**
 * Prefixes the port's name to an error's message (the native layer names
 * fds, not ports) and returns it; code, errno and syscall stay as they are.
 */
export function withPortName(e: unknown, port: string): unknown {
  if (e instanceof Error && !e.message.startsWith(`${port}: `)) e.message = `${port}: ${e.message}`;
  return e;
}

export class PortClosedError extends Error {
  readonly code = 'PORT_CLOSED';
  constructor(port: string) {
    super(`${port}: the port is closed`);
    this.name = 'PortClosedError';
  }
}
