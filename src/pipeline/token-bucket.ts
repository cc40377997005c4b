// A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up.
// Used to rate-limit the ICMP errors the router sends (RFC 1812 4.3.2.8).
//
// One limit for the whole dataplane: the bucket's state can live in a
// SharedArrayBuffer that every worker's bucket uses, guarded by a spin lock
// (taking a token is a few loads and stores, and only packets that become
// ICMP errors take one, so the lock is held for nanoseconds and rarely
// contended). The workers' clocks must share an origin: systemClock does.
import type { Clock } from './clock.js';

// Int32 words: the lock, and whether the state was set up.
const LOCK = 0;
const INITIALIZED = 1;
// Float64s: tokens saved up, and when they were last topped up.
const TOKENS = 0;
const LAST_MS = 1;

export class TokenBucket {
  /** Bytes of the shared state (an Int32 lock and flag, then two Float64s). */
  static readonly BYTES = 24;
  private readonly words: Int32Array;
  private readonly state: Float64Array;

  constructor(
    private ratePerSecond: number,
    private burst: number,
    private readonly clock: Clock,
    /** State shared with other buckets (other workers); a private one when absent. */
    shared?: SharedArrayBuffer,
  ) {
    const buffer = shared ?? new ArrayBuffer(TokenBucket.BYTES);
    if (buffer.byteLength < TokenBucket.BYTES) throw new RangeError(`a token bucket needs ${TokenBucket.BYTES} bytes of state`);
    this.words = new Int32Array(buffer, 0, 2);
    this.state = new Float64Array(buffer, 8, 2);
    this.lock();
    if (this.words[INITIALIZED] === 0) {
      // A rate of 0 disables ICMP errors (config icmp.ratePerSecond): not even a first burst.
      this.state[TOKENS] = ratePerSecond > 0 ? burst : 0;
      this.state[LAST_MS] = clock.nowMs();
      this.words[INITIALIZED] = 1;
    }
    this.unlock();
  }

  private lock(): void {
    while (Atomics.compareExchange(this.words, LOCK, 0, 1) !== 0) {
      // Spin: the holder is inside take(), a handful of instructions.
    }
  }

  private unlock(): void {
    Atomics.store(this.words, LOCK, 0);
  }

  /** A new rate and burst (a config reload); the tokens saved up stay, capped at the new burst. */
  setRate(ratePerSecond: number, burst: number): void {
    this.lock();
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.state[TOKENS] = ratePerSecond > 0 ? Math.min(this.state[TOKENS], burst) : 0;
    this.unlock();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const now = this.clock.nowMs();
    const st = this.state;
    this.lock();
    const last = st[LAST_MS];
    let tokens = st[TOKENS];
    if (now > last) {
      tokens = Math.min(this.burst, tokens + ((now - last) * this.ratePerSecond) / 1000);
      st[LAST_MS] = now;
    }
    const ok = tokens >= 1;
    st[TOKENS] = ok ? tokens - 1 : tokens;
    this.unlock();
    return ok;
  }
}
