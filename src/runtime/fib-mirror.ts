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
// Only the layout (FibView.levelBits: 20-4-8 or 24-8) and the entry format
// are assumed, both public in fib-view.ts; the layout is the working tables'
// at construction (an Lpm keeps its layout); test/runtime/fib-mirror.test.ts checks every reachable word of
// a synced copy against the working tables after random changes.
import { FibView, type FibBuffers } from '../route/fib-view.js';

/** Which copy of the FIB to use; `buffers` when the workers have not been sent that copy yet. */
export interface FibRef {
  id: number;
  buffers?: FibBuffers;
}

/**
 * More touched root entries than the root's 1/256th (4096 in 20-4-8, where
 * each may copy a 4 KiB subtree; 65536 in 24-8, a /8) and a sync copies the
 * whole tables.
 */
const FULL_COPY_SHIFT = 8;

const tablesOf = (v: FibView): Int32Array[] => [...v.tables];

interface Copy {
  id: number;
  tables: Int32Array[];
  /** The 24-8 layout's empty level3 buffer (FibBuffers carries three levels). */
  placeholder?: ArrayBufferLike;
  /** Root entries changed in the working tables since this copy was synced: a bit per entry. */
  dirty: Uint32Array;
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
  /** Entries per ply of each level, root first. */
  private readonly ply: number[];
  private readonly rootShift: number;
  private readonly fullCopyAfter: number;

  constructor(
    /** The working tables (Lpm.view; fetched at every sync, since a growing table is replaced). */
    private readonly source: () => FibView,
    private readonly allocate: (byteLength: number) => ArrayBufferLike = (n) => new SharedArrayBuffer(n),
  ) {
    const bits = source().levelBits;
    this.ply = bits.map((b) => 2 ** b);
    this.rootShift = 32 - bits[0];
    this.fullCopyAfter = this.ply[0] >>> FULL_COPY_SHIFT;
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
    const rootBits = 32 - this.rootShift;
    const first = (prefix >>> 0) >>> this.rootShift;
    const count = len >= rootBits ? 1 : 2 ** (rootBits - len);
    for (const c of this.copies) {
      if (c === undefined || c.full) continue;
      if (count > this.fullCopyAfter) {
        c.full = true;
        continue;
      }
      const dirty = c.dirty;
      for (let r = first; r < first + count; r++) {
        const bit = 1 << (r & 31);
        if ((dirty[r >>> 5] & bit) !== 0) continue;
        dirty[r >>> 5] |= bit;
        c.touched.push(r);
      }
      if (c.touched.length > this.fullCopyAfter) c.full = true;
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
    if (c === undefined || src.some((t, k) => c!.tables[k].length < t.length)) c = this.copies[back] = this.fresh();
    else this.sync(c, src);
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
    const src = tablesOf(this.source());
    const tables = src.map((t) => {
      const copy = new Int32Array(this.allocate(t.byteLength));
      copy.set(t);
      return copy;
    });
    const placeholder = tables.length === 2 ? this.allocate(4) : undefined;
    return { id: this.nextId++, tables, placeholder, dirty: new Uint32Array(this.ply[0] >>> 5), touched: [], full: false, sent: false };
  }

  private buffersOf(c: Copy, generation: number): FibBuffers {
    return { generation, root: c.tables[0].buffer, level2: c.tables[1].buffer, level3: c.placeholder ?? c.tables[2].buffer };
  }

  private sync(c: Copy, src: Int32Array[]): void {
    if (c.full) {
      src.forEach((t, k) => c.tables[k].set(t));
      c.dirty.fill(0);
    } else {
      for (const r of c.touched) {
        c.dirty[r >>> 5] = 0;
        copyEntry(src, c.tables, this.ply, 0, r);
      }
    }
    c.touched.length = 0;
    c.full = false;
  }
}

/** Copies entry i of `level` and, when it is a child pointer, the subtree below it. */
function copyEntry(src: Int32Array[], dst: Int32Array[], ply: number[], level: number, i: number): void {
  const e = src[level][i];
  dst[level][i] = e;
  if (e < 0 && level + 1 < src.length) copyPly(src, dst, ply, level + 1, ~e);
}

function copyPly(src: Int32Array[], dst: Int32Array[], ply: number[], level: number, start: number): void {
  const s = src[level];
  const end = start + ply[level];
  dst[level].set(s.subarray(start, end), start);
  if (level + 1 < src.length) for (let j = start; j < end; j++) if (s[j] < 0) copyPly(src, dst, ply, level + 1, ~s[j]);
}

/**
 * The worker's end: the FibViews over the copies it has been sent, by id
 * (two at most: the one in force and the one the next change uses). A view
 * is built (and its lookups compiled) once per copy, not once per change.
 */
export class MirrorViews {
  private readonly views = new Map<number, FibView>();
  private current = -1;

  /** The view for `ref`, building it when the ref carries buffers. Throws when it names a copy never sent (a bug in the sender). */
  take(ref: FibRef): FibView {
    let v = this.views.get(ref.id);
    if (ref.buffers !== undefined) {
      v = FibView.fromBuffers(ref.buffers);
      // Drop copies the main thread no longer uses: it keeps the one in force and this one.
      for (const id of [...this.views.keys()]) if (id !== this.current) this.views.delete(id);
      this.views.set(ref.id, v);
    }
    if (v === undefined) throw new Error(`FIB copy ${ref.id} was never sent to this worker`);
    this.current = ref.id;
    return v;
  }
}
