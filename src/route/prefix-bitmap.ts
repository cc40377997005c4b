// A set of prefixes for one pass over a large table ("seen this prefix
// before?"), with no per-prefix values: one bit per possible prefix of each
// length up to /24 (2^len bits, 2 MiB for /24 and 4 MiB for all of /0-/24,
// each length allocated on first use), a Set above /24 (rare in real tables).
//
// Why not the PrefixSet hash: a probe of a hash as large as the table is a
// cache miss per route. Over the 694k RouteViews routes on the shared 2-core
// machine (busy: loadConfig + compileFib took 4-7 s then, 1.25 s when idle)
// the PrefixSet pass cost 190-250 ms and this one 7 ms (best of 20) more
// than a bare walk over the routes: dumps are sorted by prefix, so the
// bitmaps are read in order.

const BITMAP_MAX_LEN = 24;

export class PrefixBitmap {
  private readonly bits: (Uint32Array | undefined)[] = new Array<Uint32Array | undefined>(BITMAP_MAX_LEN + 1).fill(undefined);
  /** Prefixes longer than /24 as prefix * 8 + (len - 25) (exact in a double). */
  private readonly long = new Set<number>();

  /** Adds prefix/len (host bits clear, uint32 or int32); returns true when it was already there. */
  testAndSet(prefix: number, len: number): boolean {
    if (len <= BITMAP_MAX_LEN) {
      const b = this.bits[len] ?? this.allocate(len);
      const i = len === 0 ? 0 : prefix >>> (32 - len);
      const m = 1 << (i & 31);
      const w = b[i >>> 5];
      b[i >>> 5] = w | m;
      return (w & m) !== 0;
    }
    const key = (prefix >>> 0) * 8 + (len - BITMAP_MAX_LEN - 1);
    if (this.long.has(key)) return true;
    this.long.add(key);
    return false;
  }

  has(prefix: number, len: number): boolean {
    if (len <= BITMAP_MAX_LEN) {
      const b = this.bits[len];
      if (b === undefined) return false;
      const i = len === 0 ? 0 : prefix >>> (32 - len);
      return (b[i >>> 5] & (1 << (i & 31))) !== 0;
    }
    return this.long.has((prefix >>> 0) * 8 + (len - BITMAP_MAX_LEN - 1));
  }

  private allocate(len: number): Uint32Array {
    const b = new Uint32Array(Math.max(1, 2 ** len / 32));
    this.bits[len] = b;
    return b;
  }
}
