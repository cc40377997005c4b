// A packet trace started and stopped while the dataplane runs (the control
// API's trace start/stop/read), main-thread side: the session number the
// workers stamp on what they trace, the budget they draw from, and the
// traced packets kept until someone reads them. The workers' half is the
// same PacketTracer as --trace uses (tracer.ts), swapped in between batches.
import type { RouterConfig } from '../config/load.js';
import { parseTraceFilter } from './filter.js';
import { MAX_TRACE_COUNT } from './limits.js';
import type { TracedPacket } from './traced-packet.js';

export class LiveTraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LiveTraceError';
  }
}

export interface LiveTraceStatus {
  /** 0: no live trace since start. */
  session: number;
  active: boolean;
  filter: string;
  count: number;
  /** Packets picked so far in this session (all workers). */
  picked: number;
  /** Packets waiting to be read. */
  unread: number;
}

export class LiveTrace {
  private sessionId = 0;
  private filter = '';
  private count = 0;
  private budget: Int32Array | undefined;
  private running = false;
  /** Packets picked when the session was stopped (stop() marks the budget spent). */
  private pickedAtStop = 0;
  private readonly unread: TracedPacket[] = [];

  /** `now`: wall-clock milliseconds, for packets whose port gave no receive time. */
  constructor(private readonly now: () => number = Date.now) {}

  /** Checks a request (count range, filter syntax) and opens a new session; returns what the workers need. */
  start(req: { filter: string; count: number }, config: RouterConfig): { session: number; filter: string; count: number; budget: SharedArrayBuffer } {
    const count = req.count;
    if (!Number.isInteger(count) || count < 1 || count > MAX_TRACE_COUNT) throw new LiveTraceError(`count: must be an integer from 1 to ${MAX_TRACE_COUNT}, got ${String(count)}`);
    const filter = typeof req.filter === 'string' ? req.filter : '';
    try {
      parseTraceFilter(filter, config.ports.map((p) => p.name));
    } catch (e) {
      throw new LiveTraceError(`filter: ${(e as Error).message}`);
    }
    const budget = new SharedArrayBuffer(4);
    this.sessionId++;
    this.filter = filter;
    this.count = count;
    this.budget = new Int32Array(budget);
    this.running = true;
    this.unread.length = 0;
    return { session: this.sessionId, filter, count, budget };
  }

  /** Ends the session: workers pick nothing more from now on (the budget reads as spent), before they drop the tracer. */
  stop(): void {
    if (!this.running || this.budget === undefined) return;
    this.pickedAtStop = Math.min(this.count, Atomics.exchange(this.budget, 0, this.count));
    this.running = false;
  }

  /** A traced packet from a worker: kept when it belongs to the current session. */
  accept(session: number, packet: TracedPacket): void {
    if (session !== this.sessionId || this.unread.length >= this.count) return;
    if (packet.tsSec === 0 && packet.tsNsec === 0) {
      // TAP and AF_XDP ports do not stamp frames (only AF_PACKET's ring does):
      // the time it reached the main thread, as the --trace file's writer does,
      // rather than 1970 in `ctl trace read`.
      const ms = this.now();
      packet.tsSec = Math.floor(ms / 1000);
      packet.tsNsec = Math.round((ms - packet.tsSec * 1000) * 1e6);
    }
    this.unread.push(packet);
  }

  /** Up to `max` packets not read yet, oldest first. */
  read(max: number): TracedPacket[] {
    const n = Number.isFinite(max) && max >= 0 ? Math.floor(max) : this.unread.length;
    return this.unread.splice(0, n);
  }

  status(): LiveTraceStatus {
    const picked = this.budget === undefined ? 0 : this.running ? Math.min(this.count, Atomics.load(this.budget, 0)) : this.pickedAtStop;
    return { session: this.sessionId, active: this.running && picked < this.count, filter: this.filter, count: this.count, picked, unread: this.unread.length };
  }
}
