// The read-only side of the FIB: three typed arrays and the lookup over them.
// This is all a packet worker needs; it is built from buffers (ArrayBuffer or
// SharedArrayBuffer) that the control plane's `Lpm.snapshot()` produces, so a
// worker never sees the control plane's prefix set or free lists.
//
// Entry word (int32), the same in every level (see lpm.ts for the layout):
//   e < 0        child ply: ~e is the child's first entry in the next level
//   e >= 0       leaf: bits 0-23 nextHop + 1 (0: no route), bits 24-29 prefix length
// so a lookup returns (e & 0xffffff) - 1, which is NO_ROUTE (-1) for an
// empty leaf. Written into a Uint32Array, NO_ROUTE reads back as 0xffffffff.

/** Returned by lookups that match no prefix (0xffffffff once stored in a Uint32Array). */
export const NO_ROUTE = -1;

/** Longest-prefix match as the data plane uses it (FibView, Lpm): a next-hop index, or NO_ROUTE. */
export interface FibLookup {
  lookup(addr: number): number;
}
/** Largest next-hop index a leaf can carry (24 bits, one value kept for "no route"). */
export const MAX_NEXT_HOP = 0xfffffe;

/** Bits resolved by each level: a 2^20-entry root, 16-entry middle plies, 256-entry last plies. */
export const LEVEL_BITS = [20, 4, 8] as const;

/** The buffers that make up one published FIB generation (postMessage-able). */
export interface FibBuffers {
  /** Which snapshot this is (Lpm.snapshot's argument; `dataplane run` publishes one, generation 0, at start). */
  generation: number;
  /**
   * Absent or '20-4-8': the three Int32Array tables of this file. 'dir16'
   * (fib-dir16.ts): root is the Uint16Array root, level2 the tbl8 groups,
   * level3 empty. openFib() (fib-dir16.ts) opens either.
   */
  layout?: '20-4-8' | 'dir16';
  root: ArrayBufferLike;
  level2: ArrayBufferLike;
  level3: ArrayBufferLike;
  /**
   * dir16 only: the byte offsets of the root and the tbl8 groups in `root`
   * and `level2` (which may be one buffer), and the groups' length in
   * entries: fib-dir16.ts places both tables on 2 MiB boundaries of one
   * longer buffer, for huge pages. Absent: each table is its whole buffer.
   */
  rootOffset?: number;
  level2Offset?: number;
  level2Entries?: number;
}

type LookupFn = (addr: number) => number;
type LookupBatchFn = (addrs: Uint32Array, out: Uint32Array | Int32Array, n: number) => void;

/**
 * The lookup loops over one set of tables. Self-contained on purpose: each
 * FibView compiles its own copy from this function's source (see below).
 */
function makeLookups(root: Int32Array, level2: Int32Array, level3: Int32Array): { lookup: LookupFn; lookupBatch: LookupBatchFn } {
  return {
    lookup(addr: number): number {
      let e = root[addr >>> 12];
      if (e < 0) {
        e = level2[~e | ((addr >>> 8) & 15)];
        if (e < 0) e = level3[~e | (addr & 255)];
      }
      return (e & 0xffffff) - 1;
    },
    lookupBatch(addrs: Uint32Array, out: Uint32Array | Int32Array, n: number): void {
      let i = 0;
      // Four addresses at a time, level by level: their loads do not depend on
      // each other, so the CPU overlaps the cache misses (measured 15-20%
      // faster than one address per iteration).
      for (; i + 3 < n; i += 4) {
        const a0 = addrs[i];
        const a1 = addrs[i + 1];
        const a2 = addrs[i + 2];
        const a3 = addrs[i + 3];
        let e0 = root[a0 >>> 12];
        let e1 = root[a1 >>> 12];
        let e2 = root[a2 >>> 12];
        let e3 = root[a3 >>> 12];
        if (e0 < 0) e0 = level2[~e0 | ((a0 >>> 8) & 15)];
        if (e1 < 0) e1 = level2[~e1 | ((a1 >>> 8) & 15)];
        if (e2 < 0) e2 = level2[~e2 | ((a2 >>> 8) & 15)];
        if (e3 < 0) e3 = level2[~e3 | ((a3 >>> 8) & 15)];
        if (e0 < 0) e0 = level3[~e0 | (a0 & 255)];
        if (e1 < 0) e1 = level3[~e1 | (a1 & 255)];
        if (e2 < 0) e2 = level3[~e2 | (a2 & 255)];
        if (e3 < 0) e3 = level3[~e3 | (a3 & 255)];
        out[i] = (e0 & 0xffffff) - 1;
        out[i + 1] = (e1 & 0xffffff) - 1;
        out[i + 2] = (e2 & 0xffffff) - 1;
        out[i + 3] = (e3 & 0xffffff) - 1;
      }
      for (; i < n; i++) {
        const a = addrs[i];
        let e = root[a >>> 12];
        if (e < 0) {
          e = level2[~e | ((a >>> 8) & 15)];
          if (e < 0) e = level3[~e | (a & 255)];
        }
        out[i] = (e & 0xffffff) - 1;
      }
    },
  };
}

/** Addresses in flight per step of the specialized batch loop (see batchSource). */
export const BATCH_LANES = 16;

/**
 * The specialized lookup loops: the single lookup of makeLookups and a batch
 * loop that takes BATCH_LANES addresses per step, level by level. Lanes, not
 * a pass over the whole burst: the root loads of 16 addresses issue back to
 * back before the first unpredictable `e < 0` branch (about half of the
 * lookups of a BGP table go below the root, so that branch mispredicts often
 * and a mispredict throws away the loads issued after it). Measured on a Xeon
 * (KVM, 2 MiB L2, shared L3), CPU time, best of 40 rounds over the RouteViews
 * addresses: 4 lanes 38.7 M/s, 8 lanes 45.6, 16 lanes 50.0 (1M table: 34.1,
 * 39.9, 39.8); a branchless form (mask arithmetic, a load of entry 0 for
 * leaves) was slower than all of them in JS and in C.
 */
function batchSource(lanes: number): string {
  const each = (f: (k: number) => string) => Array.from({ length: lanes }, (_, k) => f(k)).join('\n');
  return `lookupBatch(addrs, out, n) {
    let i = 0;
    for (; i + ${lanes - 1} < n; i += ${lanes}) {
${each((k) => `      const a${k} = addrs[i + ${k}];`)}
${each((k) => `      let e${k} = root[a${k} >>> 12];`)}
${each((k) => `      if (e${k} < 0) e${k} = level2[~e${k} | ((a${k} >>> 8) & 15)];`)}
${each((k) => `      if (e${k} < 0) e${k} = level3[~e${k} | (a${k} & 255)];`)}
${each((k) => `      out[i + ${k}] = (e${k} & 0xffffff) - 1;`)}
    }
    for (; i < n; i++) {
      const a = addrs[i];
      let e = root[a >>> 12];
      if (e < 0) {
        e = level2[~e | ((a >>> 8) & 15)];
        if (e < 0) e = level3[~e | (a & 255)];
      }
      out[i] = (e & 0xffffff) - 1;
    }
  },`;
}

/** makeLookups' source with its batch loop replaced by the BATCH_LANES-wide one. */
function specializedSource(): string {
  const src = makeLookups.toString();
  const start = src.indexOf('lookupBatch(addrs, out, n)');
  const end = src.lastIndexOf('},');
  if (start < 0 || end < start) return src;
  return src.slice(0, start) + batchSource(BATCH_LANES) + src.slice(end + 2);
}

const MAKE_LOOKUPS_SOURCE = `return (${specializedSource()});`;
let compiledViews = 0;

/**
 * A private copy of the lookup loops bound to these tables. V8 specializes a
 * function on its closure's context only while one closure exists per
 * function literal; a fresh literal per view keeps the three typed arrays
 * compile-time constants (no reloads of their data pointers and lengths in the
 * loop; the root index needs no bounds check). Measured 25-35% faster batch
 * lookups than a shared method. Falls back to the shared closure (four lanes)
 * where code generation from strings is disabled or the source was instrumented.
 */
function specializedLookups(root: Int32Array, level2: Int32Array, level3: Int32Array): ReturnType<typeof makeLookups> {
  try {
    // V8 caches compilations by source text: a unique comment makes each copy its own function literal.
    const make = (new Function(`${MAKE_LOOKUPS_SOURCE}\n// FibView ${++compiledViews}`) as () => typeof makeLookups)();
    const fns = make(root, level2, level3);
    fns.lookup(0);
    return fns;
  } catch {
    return makeLookups(root, level2, level3);
  }
}

export class FibView implements FibLookup {
  /** Next-hop index of the longest prefix containing `addr` (uint32 or int32), or NO_ROUTE. */
  readonly lookup: LookupFn;
  /** out[i] = lookup(addrs[i]) for i < n; NO_ROUTE is -1 in an Int32Array, 0xffffffff in a Uint32Array. */
  readonly lookupBatch: LookupBatchFn;

  constructor(
    readonly root: Int32Array,
    readonly level2: Int32Array,
    readonly level3: Int32Array,
    readonly generation = 0,
  ) {
    if (root.length !== 1 << LEVEL_BITS[0]) throw new RangeError(`FIB root must have ${1 << LEVEL_BITS[0]} entries, got ${root.length}`);
    const fns = specializedLookups(root, level2, level3);
    this.lookup = fns.lookup;
    this.lookupBatch = fns.lookupBatch;
  }

  static fromBuffers(b: FibBuffers): FibView {
    if (b.layout === 'dir16') throw new RangeError('FibView.fromBuffers(): these are dir16 buffers; open them with openFib() (fib-dir16.ts)');
    return new FibView(new Int32Array(b.root), new Int32Array(b.level2), new Int32Array(b.level3), b.generation);
  }

  /** The buffers of this view, to post to another worker. */
  buffers(): FibBuffers {
    for (const a of [this.root, this.level2, this.level3]) {
      if (a.byteOffset !== 0 || a.byteLength !== a.buffer.byteLength) throw new RangeError('FibView.buffers(): a table is a slice of a larger buffer; use Lpm.snapshot()');
    }
    return { generation: this.generation, root: this.root.buffer, level2: this.level2.buffer, level3: this.level3.buffer };
  }
}
