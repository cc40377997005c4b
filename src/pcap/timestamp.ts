// pcapng timestamps: a 64-bit count of ticks (two 32-bit halves) at the
// interface's if_tsresol (10^-n or 2^-n seconds per tick), plus if_tsoffset
// seconds. Split exactly into seconds and nanoseconds without BigInt for
// every resolution up to 2^32 ticks per second (which covers microseconds and
// nanoseconds); finer ones take a BigInt slow path.

const TWO_32 = 4294967296;

/** Ticks per second for an if_tsresol byte: 10^v, or 2^(v & 0x7f) when the top bit is set. */
function ticksPerSecond(tsresol: number): number {
  return tsresol & 0x80 ? 2 ** (tsresol & 0x7f) : 10 ** tsresol;
}

export class TickConverter {
  /** Nanoseconds per tick, as reported in CaptureInterface.tsResolutionNs. */
  readonly resolutionNs: number;
  private readonly unitsPerSec: number;
  /** For decimal resolutions of at most 1e9 ticks/s: exact nanoseconds per tick; else 0. */
  private readonly nsPerTick: number;
  /** For 2^k ticks/s with 9 <= k <= 32: 2^(k-9); else 0. */
  private readonly pow2Div: number;
  private readonly offsetSec: number;
  /** Ticks per second as a BigInt when it exceeds 2^32 (slow path); else null. */
  private readonly bigUnits: bigint | null;

  constructor(tsresol: number, offsetSec = 0) {
    const units = ticksPerSecond(tsresol);
    this.unitsPerSec = units;
    this.resolutionNs = 1e9 / units;
    this.offsetSec = offsetSec;
    this.bigUnits = units > TWO_32 ? (tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol)) : null;
    const ns = 1e9 / units;
    this.nsPerTick = Number.isInteger(ns) ? ns : 0;
    const k = tsresol & 0x7f;
    this.pow2Div = tsresol & 0x80 && k >= 9 && k <= 32 ? 2 ** (k - 9) : 0;
  }

  /** Seconds and nanoseconds of tick count hi * 2^32 + lo, written to out. */
  convert(hi: number, lo: number, out: { tsSec: number; tsNsec: number }): void {
    if (this.bigUnits !== null) {
      this.convertBig(this.bigUnits, hi, lo, out);
      return;
    }
    const d = this.unitsPerSec;
    // Long division in 16-bit steps: every intermediate stays below 2^48, so
    // float division and floor are exact.
    const qHi = Math.floor(hi / d);
    const rHi = hi - qHi * d;
    const x1 = rHi * 65536 + (lo >>> 16);
    const q1 = Math.floor(x1 / d);
    const x0 = (x1 - q1 * d) * 65536 + (lo & 0xffff);
    const q0 = Math.floor(x0 / d);
    const frac = x0 - q0 * d;
    out.tsSec = qHi * TWO_32 + q1 * 65536 + q0 + this.offsetSec;
    if (this.nsPerTick !== 0) out.tsNsec = frac * this.nsPerTick;
    else if (this.pow2Div !== 0) out.tsNsec = Math.floor((frac * 1953125) / this.pow2Div); // 1e9 = 1953125 * 2^9
    else out.tsNsec = Math.floor((frac * 1e9) / d); // not reached: every resolution <= 2^32 fits a case above
  }

  private convertBig(units: bigint, hi: number, lo: number, out: { tsSec: number; tsNsec: number }): void {
    const ticks = (BigInt(hi) << 32n) | BigInt(lo);
    const sec = ticks / units;
    out.tsSec = Number(sec) + this.offsetSec;
    out.tsNsec = Number(((ticks - sec * units) * 1_000_000_000n) / units);
  }
}
