// A packet port as a worker sees it: receive a burst into a Batch, send a
// list of a Batch's slots, wait on `fd`. TAP, AF_PACKET and memory ports all
// look the same to the pipeline.
import type { Batch } from '../pipeline/batch.js';
import { IoCounter } from './native.js';

export interface PacketPort {
  /** Interface name (or a label for memory ports). */
  readonly name: string;
  /** Pollable fd for waitReadable, or -1 when the port has none (memory ports). */
  readonly fd: number;
  /** The router's index of this port: written to batch.rxPort of every frame received. */
  readonly index: number;
  /** Drops and fixes by IoCounter index (the pipeline counts packets and bytes itself). */
  readonly counters: Float64Array;
  /**
   * Receives up to `max` frames (and no more than the batch's free receive
   * slots) into slots [batch.rxCount, batch.rxCount + n), each at
   * batch.slotStart(i), with the slot's metadata reset; advances
   * batch.rxCount and returns n. Several ports may fill one batch in turn.
   * Throws an error with code 'PORT_GONE' when the interface disappeared.
   */
  rx(batch: Batch, max?: number): number;
  /**
   * Sends slots[0..count) of `batch` (each batch.start/length). Returns how
   * many were consumed from the front: sent, or dropped and counted (link
   * down, refused by the kernel). Fewer than count means the kernel queue is
   * full: the caller retries the rest later or drops them.
   */
  tx(batch: Batch, slots: Uint16Array, count: number): number;
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
