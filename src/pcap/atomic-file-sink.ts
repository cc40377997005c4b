// An output file that appears only when it is complete: bytes go to a
// temporary file beside it, renamed over the target by close(); abort()
// removes the temporary file and leaves whatever was at the target as it
// was. A device or pipe (/dev/stdout, a FIFO) is written directly, as there
// is nothing to rename over.
import { closeSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ByteSink } from './writer.js';

/** True when `a` and `b` name the same existing file (same device and inode). */
export function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * The most one write(2) hands the kernel. The kernel sizes the page cache's
 * folios by the write: a few MiB at once asks for 2 MiB folios, which cost
 * far more to allocate than small ones on the project's VM (its balloon
 * hands free 2 MiB blocks back to the host). Writing 1 GiB to ext4 there
 * took 0.23-0.26 s of system CPU in 64 or 128 KiB writes, 0.94-1.25 s in
 * 1 MiB writes and 2.4-2.5 s in 4 MiB writes (dd, the freed pages handed
 * back first; 1.06-1.24 s in 4 MiB writes even right after a delete).
 * Smaller pieces only add calls: 8192 per GiB.
 */
export const WRITE_PIECE_BYTES = 128 << 10;

/**
 * `e`, a failed write or rename of the sink for `target`, naming the file the
 * user gave: write(2) errors carry no path, and a rename's names the
 * temporary file. The message a command prints names `target` (replay's
 * "cannot write OUT: no space left on device (ENOSPC)").
 */
export function withTarget(e: unknown, target: string): unknown {
  if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string') (e as NodeJS.ErrnoException).path = target;
  return e;
}

export class AtomicFileSink implements ByteSink {
  private fd: number;
  /** Where the bytes go until close(); the target itself for a device or pipe. */
  readonly writingTo: string;
  private aborted = false;
  /** The temporary file exists and is not renamed over the target yet: abort() or a failed close() removes it. */
  private pending: boolean;

  constructor(readonly path: string) {
    let special = false;
    try {
      special = !statSync(path).isFile();
    } catch {
      // does not exist yet: a new regular file
    }
    this.writingTo = special ? path : join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
    this.fd = openSync(this.writingTo, 'w');
    this.pending = this.writingTo !== path;
  }

  /** The open file, for a writer that writes it from another thread (replay's BackgroundSink); -1 once closed. */
  get descriptor(): number {
    return this.fd;
  }

  write(chunk: Uint8Array): void {
    let off = 0;
    try {
      while (off < chunk.length) off += writeSync(this.fd, chunk, off, Math.min(chunk.length - off, WRITE_PIECE_BYTES));
    } catch (e) {
      throw withTarget(e, this.path);
    }
  }

  /** Drops what was written: the target is left as it was (also after a close() that failed). */
  abort(): void {
    this.aborted = true;
    if (this.fd < 0) this.removePending();
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      closeSync(fd);
      if (!this.pending) return;
      if (this.aborted) this.removePending();
      else {
        renameSync(this.writingTo, this.path);
        this.pending = false;
      }
    } catch (e) {
      // A target that cannot be renamed over (a name that became a directory) or a close that reports a late
      // write error (NFS): the temporary file must not stay behind.
      this.removePending();
      throw withTarget(e, this.path);
    }
  }

  private removePending(): void {
    if (!this.pending) return;
    this.pending = false;
    try {
      unlinkSync(this.writingTo);
    } catch {
      // already gone
    }
  }
}
