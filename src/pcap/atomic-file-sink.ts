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

export class AtomicFileSink implements ByteSink {
  private fd: number;
  /** Where the bytes go until close(); the target itself for a device or pipe. */
  readonly writingTo: string;
  private aborted = false;

  constructor(readonly path: string) {
    let special = false;
    try {
      special = !statSync(path).isFile();
    } catch {
      // does not exist yet: a new regular file
    }
    this.writingTo = special ? path : join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
    this.fd = openSync(this.writingTo, 'w');
  }

  /** The open file, for a writer that writes it from another thread (replay's BackgroundSink); -1 once closed. */
  get descriptor(): number {
    return this.fd;
  }

  write(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, Math.min(chunk.length - off, WRITE_PIECE_BYTES));
  }

  /** Drops what was written: the target is left as it was. */
  abort(): void {
    this.aborted = true;
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    if (this.writingTo === this.path) return;
    if (this.aborted) unlinkSync(this.writingTo);
    else renameSync(this.writingTo, this.path);
  }
}
