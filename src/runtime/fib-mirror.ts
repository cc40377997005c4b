// The FIB as packet workers read it: two copies of the control plane's
// working LPM tables in shared memory, used in turn (double buffering), and
// the workers' cache of the views over them.
//
// Why. A route change used to post a fresh snapshot: 4 MiB of root table
// (15 MiB for a full Internet table) allocated, copied and compiled into a new
// FibView on every worker, for any change, even one route. Here the workers
// read copy A while a change lands in the working tables; the main thread
// brings copy B up to date and publishes "use B" as the next generation, which
// each worker takes between two batches, so no batch sees half a change. Once
// every worker has B in force nobody reads A, and the next change is written
// into A. A worker builds its FibView over a copy once (the message carries
// the buffers only the first time) and swaps references after that.
//
// Bringing a copy up to date copies only what the changes since it was last
// synced can have touched: an update of P/len writes nothing outside the root
// entries P's addresses fall in and the plies below them (the FibView format:
// a negative entry is ~ the first entry of its child ply in the next level),
// so those root entries and their subtrees are copied. Plies freed and reused
// meanwhile are reached from a touched root entry, so they are copied too.
// Many touched root entries (a default route, a big replace) copy the whole
// tables instead, into the same buffers. A copy that is too short for a grown
// working table is allocated again (and its buffers sent).
//
// Only LEVEL_BITS and the entry format are assumed, both public in
// fib-view.ts; test/runtime/fib-mirror.test.ts checks every reachable word of
// a synced copy against the working tables after random changes.
//
// The copies are in dir16 form (fib-dir16.ts: a 2^24-entry 16-bit root, one
// load per lookup for a /24 or shorter) when the table fits it (next hops
// and tbl8 groups within 15 bits), derived from the working 20-4-8 tables:
// a sync derives again the 16 dir16 root entries under each touched 20-4-8
// root entry, so the same dirty list serves both forms. A table that does
// not fit (`layoutNote` says why) is published in 20-4-8 form from then on.
//
// Small tables stay 20-4-8 (layout 'auto'): a dir16 copy is a 32 MiB root
// whatever the table, and deriving it writes every page of it, so two
// copies cost every dataplane 64 MiB where a few routes take 8. Speed does
// not argue for dir16 there. Batch lookups on the Xeon of lpm.ts's header
// (a one-off script: samples of the RouteViews table plus a default route,
// bench/route/table.ts lookupAddresses' mix, median CPU ns per lookup): 1k prefixes 9.6 (20-4-8) vs 7.8
// (dir16), 10k 9.7 vs 9.3, 50k 11.7 vs 10.1, 200k 12.2 vs 9.7, 694k 14.1 vs
// 10.6; with addresses uniform over 2^32 on a table of 10 to 20k random
// prefixes, 20-4-8 took 7.0-7.3 ns and dir16 14-16.6 (its root misses the
// cache where 20-4-8's 4 MiB does not). So dir16 once the working tables
// have room for about 28k prefixes (DIR16_MIN_MIDDLE_PLIES middle plies:
// a real table uses one per 7 prefixes): a table the control plane grows
// past that switches at the growth's fresh copy.
import { FibView, LEVEL_BITS, type FibBuffers } from '../route/fib-view.js';
import { Dir16Overflow, Dir16Tables, Dir16View, dir16Buffers, openFib, type TableAllocator } from '../route/fib-dir16.js';
import { nativeDir16Batch } from './fib-dir16-native.js';
import { hugeSharedBuffer } from '../flow/huge-pages.js';

/** Which copy of the FIB to use; `buffers` when the workers have not been sent that copy yet. */
export interface FibRef {
  id: number;
  buffers?: FibBuffers;
}

/** More touched root entries than this and a sync copies the whole tables (each ranged entry may copy a 4 KiB subtree). */
const FULL_COPY_AFTER = 1 << 12;

const PLY = LEVEL_BITS.map((b) => 1 << b);

/** Middle plies the working tables must have room for before 'auto' publishes dir16 (see above). */
export const DIR16_MIN_MIDDLE_PLIES = 4096;

/** 'auto': dir16 for large tables that fit it; 'dir16': whenever the table fits; '20-4-8': never. */
export type FibLayout = 'auto' | 'dir16' | '20-4-8';
const ROOT_SHIFT = 32 - LEVEL_BITS[0];

const tablesOf = (v: FibView): Int32Array[] => [v.root, v.level2, v.level3];

interface Copy {
  id: number;
  /** The 20-4-8 tables (empty for a dir16 copy). */
  tables: Int32Array[];
  dir16?: Dir16Tables;
  /** Root entries changed in the working tables since this copy was synced. */
  dirty: Uint8Array;
  touched: number[];
  /** Too many to list: copy everything. */
  full: boolean;
  /** Its buffers have been posted to the workers (later refs omit them). */
  sent: boolean;
}

/** The main thread's end: the two copies and which one the workers use. */
export class FibMirror {
  private readonly copies: (Copy | undefined)[] = [undefined, undefined];
  /** The copy every worker has in force (index into copies). */
  private front = 0;
  /** The copy the last next() prepared, until settled(). */
  private pending = -1;
  private nextId = 1;
  /** Why dir16 was given up (a table that did not fit it, or 20-4-8 asked for); undefined otherwise, small tables under 'auto' included. */
  layoutNote: string | undefined;

  constructor(
    /** The working tables (Lpm.view; fetched at every sync, since a growing table is replaced). */
    private readonly source: () => FibView,
    private readonly allocate: TableAllocator = hugeSharedBuffer,
    private readonly layout: FibLayout = 'auto',
  ) {
    if (layout === '20-4-8') this.layoutNote = '20-4-8 asked for';
    // Both copies up front, so the first change is as cheap as the others.
    this.copies[0] = this.fresh();
    this.copies[1] = this.fresh();
    this.copies[0].sent = true;
  }

  /** The copy to hand every worker at start (its WorkerInit). */
  initial(): Required<FibRef> {
    const c = this.copies[this.front]!;
    return { id: c.id, buffers: this.buffersOf(c, 0) };
  }

  /** Records that the working tables' entries for prefix/len changed (call for every route a change installs or removes). */
  changed(prefix: number, len: number): void {
    const first = (prefix >>> 0) >>> ROOT_SHIFT;
    const count = len >= LEVEL_BITS[0] ? 1 : 2 ** (LEVEL_BITS[0] - len);
    for (const c of this.copies) {
      if (c === undefined || c.full) continue;
      if (count > FULL_COPY_AFTER) {
        c.full = true;
        continue;
      }
      for (let r = first; r < first + count; r++) {
        if (c.dirty[r] !== 0) continue;
        c.dirty[r] = 1;
        c.touched.push(r);
      }
      if (c.touched.length > FULL_COPY_AFTER) c.full = true;
    }
  }

  /**
   * Brings the copy the workers do not use up to date with the working
   * tables and returns the reference to publish. Call settled() once the
   * publish is over.
   */
  next(generation: number): FibRef {
    const back = 1 - this.front;
    const src = tablesOf(this.source());
    let c = this.copies[back];
    if (c === undefined || (c.dir16 === undefined && src.some((t, k) => c!.tables[k].length < t.length))) c = this.copies[back] = this.fresh();
    else if (!this.sync(c, src)) c = this.copies[back] = this.fresh();
    this.pending = back;
    return c.sent ? { id: c.id } : { id: c.id, buffers: this.buffersOf(c, generation) };
  }

  /**
   * The publish of next()'s reference is over: `applied` when every worker
   * has it in force (it becomes the front copy). Otherwise (a timeout) some
   * worker may still read either copy, so both are dropped and the next
   * changes allocate fresh ones.
   */
  settled(applied: boolean): void {
    const p = this.pending;
    this.pending = -1;
    if (p < 0) return;
    if (applied) {
      this.copies[p]!.sent = true;
      this.front = p;
    } else {
      this.copies[0] = this.copies[1] = undefined;
    }
  }

  private fresh(): Copy {
    const view = this.source();
    const src = tablesOf(view);
    const copy = { id: this.nextId++, dirty: new Uint8Array(PLY[0]), touched: [], full: false, sent: false };
    const large = view.level2.length / PLY[1] >= DIR16_MIN_MIDDLE_PLIES;
    if (this.layoutNote === undefined && (this.layout === 'dir16' || large)) {
      // One group per last-level ply of the working tables: room for the table as it is.
      const d = new Dir16Tables(this.allocate, view.level3.length / PLY[2]);
      try {
        d.deriveAll(view);
        return { ...copy, tables: [], dir16: d };
      } catch (e) {
        if (!(e instanceof Dir16Overflow)) throw e;
        this.layoutNote = e.message;
      }
    }
    const tables = src.map((t) => {
      const copy = new Int32Array(this.allocate(t.byteLength));
      copy.set(t);
      return copy;
    });
    return { ...copy, tables };
  }

  private buffersOf(c: Copy, generation: number): FibBuffers {
    if (c.dir16 !== undefined) return dir16Buffers(generation, c.dir16.root, c.dir16.tbl8, this.allocate(0));
    return { generation, root: c.tables[0].buffer, level2: c.tables[1].buffer, level3: c.tables[2].buffer };
  }

  /** Brings c up to date; false when it is a dir16 copy the table no longer fits (make a fresh one). */
  private sync(c: Copy, src: Int32Array[]): boolean {
    if (c.dir16 !== undefined) return this.syncDir16(c, c.dir16);
    if (c.full) {
      src.forEach((t, k) => c.tables[k].set(t));
      c.dirty.fill(0);
    } else {
      for (const r of c.touched) {
        c.dirty[r] = 0;
        copyEntry(src, c.tables, 0, r);
      }
    }
    c.touched.length = 0;
    c.full = false;
    return true;
  }

  private syncDir16(c: Copy, d: Dir16Tables): boolean {
    const view = this.source();
    const tbl8 = d.tbl8;
    try {
      if (c.full) {
        d.deriveAll(view);
        c.dirty.fill(0);
      } else {
        for (const r of c.touched) {
          c.dirty[r] = 0;
          d.deriveBlock(view, r);
        }
      }
    } catch (e) {
      if (!(e instanceof Dir16Overflow)) throw e;
      this.layoutNote = e.message;
      return false;
    }
    c.touched.length = 0;
    c.full = false;
    // The groups outgrew their buffer: the workers need the new one.
    if (d.tbl8 !== tbl8) c.sent = false;
    return true;
  }
}

/** Copies entry i of `level` and, when it is a child pointer, the subtree below it. */
function copyEntry(src: Int32Array[], dst: Int32Array[], level: number, i: number): void {
  const e = src[level][i];
  dst[level][i] = e;
  if (e < 0 && level + 1 < src.length) copyPly(src, dst, level + 1, ~e);
}

function copyPly(src: Int32Array[], dst: Int32Array[], level: number, start: number): void {
  const s = src[level];
  const end = start + PLY[level];
  dst[level].set(s.subarray(start, end), start);
  if (level + 1 < src.length) for (let j = start; j < end; j++) if (s[j] < 0) copyPly(src, dst, level + 1, ~s[j]);
}

/**
 * The worker's end: the FibViews over the copies it has been sent, by id
 * (two at most: the one in force and the one the next change uses). A view
 * is built (and its lookups compiled) once per copy, not once per change.
 */
export class MirrorViews {
  private readonly views = new Map<number, FibView | Dir16View>();
  private current = -1;

  constructor(
    /**
     * Open dir16 copies with the addon's batch lookup (fib-dir16-native.ts)
     * where it loads; the JS loop otherwise. The native context reads the
     * same memory as the JS view and is opened and dropped with it, so the
     * generation protocol above is unchanged.
     */
    private readonly options: { native?: boolean } = {},
  ) {}

  /** The view for `ref`, building it when the ref carries buffers. Throws when it names a copy never sent (a bug in the sender). */
  take(ref: FibRef): FibView | Dir16View {
    let v = this.views.get(ref.id);
    if (ref.buffers !== undefined) {
      v = openFib(ref.buffers, this.options.native === true ? nativeDir16Batch : undefined);
      // Drop copies the main thread no longer uses: it keeps the one in force and this one.
      for (const id of [...this.views.keys()]) if (id !== this.current) this.views.delete(id);
      this.views.set(ref.id, v);
    }
    if (v === undefined) throw new Error(`FIB copy ${ref.id} was never sent to this worker`);
    this.current = ref.id;
    return v;
  }
}
