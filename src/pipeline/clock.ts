// Time, injected: nodes never read the system clock themselves, so tests and
// replay can run a virtual clock through ARP and rate-limit timeouts.

export interface Clock {
  /** Milliseconds, monotonic. */
  nowMs(): number;
}

/**
 * Monotonic milliseconds with one origin for every thread: a worker's
 * performance.now() counts from the worker's start, so state shared between
 * workers (the ICMP rate limit) reads timeOrigin + now.
 */
export const systemClock: Clock = {
  nowMs: () => performance.timeOrigin + performance.now(),
};

/** A clock that moves only when told to (tests, replay by capture timestamps). */
export class ManualClock implements Clock {
  constructor(private ms = 0) {}
  nowMs(): number {
    return this.ms;
  }
  set(ms: number): void {
    if (ms > this.ms) this.ms = ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
