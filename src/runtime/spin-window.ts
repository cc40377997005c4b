// The adaptive spin window of a worker's run loop: after a batch with
// frames, keep polling the ports for up to `window` before sleeping in
// poll(), so that what comes soon after (the reply to the packet just
// forwarded, the next frame of a burst) is picked up without a wake-up
// (100-300 us on a VM, more on a busy host).
//
// The window adapts to the gaps between frames, within [0, max]:
// - a frame that arrives while spinning was caught: the window is kept at
//   least twice that gap;
// - a frame that arrives after the worker slept, sooner than `max` after the
//   previous one, would have been caught by a longer window: it doubles (at
//   least twice that gap);
// - a spin that ends with nothing shrinks the window by a quarter.
// So with a reply 80 us after each request the window settles between 1.5x
// and 2x 80 us, and with nothing but gaps longer than `max` it decays to 0.
// Spinning starts only after a frame, so an idle worker uses no CPU; while
// frames keep coming less than `max` apart it polls continuously (as
// --busy-poll does), which is what a wake-up per frame would cost anyway.
// No allocation: a few numbers, updated per round.

/** Default upper bound of the spin window, in microseconds. */
export const DEFAULT_SPIN_MAX_US = 200;

export class SpinWindow {
  /** Upper bound, milliseconds. */
  readonly maxMs: number;
  /** Current window, milliseconds. */
  windowMs: number;
  /** When the last frame arrived (performance.now() ms), -Infinity before the first. */
  private lastRx = Number.NEGATIVE_INFINITY;
  /** The worker slept since the last frame. */
  private sleptSince = false;
  /** Spins that caught a frame, and spins that ended with nothing (for tests and stats). */
  hits = 0;
  misses = 0;

  constructor(maxUs: number) {
    if (!Number.isFinite(maxUs) || maxUs < 0 || maxUs > 100_000) throw new RangeError(`spin window: maximum must be 0..100000 us (got ${maxUs})`);
    this.maxMs = maxUs / 1000;
    this.windowMs = this.maxMs / 4;
  }

  /** A round received frames at `now` (ms). */
  received(now: number): void {
    const gap = now - this.lastRx;
    if (gap <= this.maxMs) {
      const want = 2 * gap < this.maxMs ? 2 * gap : this.maxMs;
      if (this.sleptSince) {
        // Missed by sleeping: a longer window would have caught it.
        const doubled = 2 * this.windowMs;
        this.windowMs = want > doubled ? want : doubled > this.maxMs ? this.maxMs : doubled;
      } else {
        this.hits++;
        if (want > this.windowMs) this.windowMs = want;
      }
    }
    this.lastRx = now;
    this.sleptSince = false;
  }

  /** A round found nothing at `now`: true to poll again, false to sleep. */
  keepSpinning(now: number): boolean {
    if (this.sleptSince) return false;
    if (now - this.lastRx < this.windowMs) return true;
    // The window ran out with nothing: shrink it (this happens once per idle period).
    if (this.lastRx !== Number.NEGATIVE_INFINITY) {
      this.misses++;
      this.windowMs -= this.windowMs / 4;
      if (this.windowMs < 0.001) this.windowMs = 0;
    }
    return false;
  }

  /** The worker slept (then woke: a frame, a wake-up or the idle timeout). */
  slept(): void {
    this.sleptSince = true;
  }
}
