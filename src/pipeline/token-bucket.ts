// A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up.
// Used to rate-limit the ICMP errors the router sends (RFC 1812 4.3.2.8).
import type { Clock } from './clock.js';

export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    // A rate of 0 disables ICMP errors (config icmp.ratePerSecond): not even a first burst.
    this.tokens = ratePerSecond > 0 ? burst : 0;
    this.lastMs = clock.nowMs();
  }

  /** Takes one token if there is one. */
  take(): boolean {
    const now = this.clock.nowMs();
    if (now > this.lastMs) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastMs) * this.ratePerSecond) / 1000);
      this.lastMs = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}
