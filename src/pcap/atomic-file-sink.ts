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
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off);
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
