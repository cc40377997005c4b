// A window onto the input: file bytes are read with fs.readSync into one
// reusable buffer (1 MiB by default), so memory stays flat however big the
// file is. The buffer only grows when a single record is bigger than it.
// In-memory input uses the caller's bytes directly, with no copy.
//
//   buf: [ consumed | pos .. unread .. end | free ]
//          ^ base = file offset of buf[0]

import { closeSync, fstatSync, readSync } from 'node:fs';

export const DEFAULT_CHUNK = 1 << 20;

export class InputWindow {
  buf: Uint8Array;
  /** Index in buf of the next unconsumed byte. */
  pos = 0;
  /** Index in buf after the last valid byte. */
  end: number;
  /** File offset of buf[0]. */
  base = 0;
  private fd: number;
  private eof: boolean;
  /** Size of a regular file when last checked (Infinity for pipes): a corrupt length never grows the buffer past the file. */
  private fileSize = Infinity;
  /**
   * Called before the window moves or replaces its bytes (a read on, a
   * grown buffer): a reader that queued copies out of `buf` does them now,
   * while the bytes are where it saw them (replay's FrameCopier).
   */
  beforeMove: (() => void) | undefined;

  private constructor(buf: Uint8Array, end: number, fd: number) {
    this.buf = buf;
    this.end = end;
    this.fd = fd;
    this.eof = fd < 0;
  }

  /** Reads from an open file descriptor (which the window closes in close()). */
  static fromFd(fd: number, chunkSize = DEFAULT_CHUNK): InputWindow {
    const w = new InputWindow(new Uint8Array(chunkSize), 0, fd);
    w.fileSize = w.currentFileSize();
    return w;
  }

  static fromBytes(bytes: Uint8Array): InputWindow {
    return new InputWindow(bytes, bytes.length, -1);
  }

  /** File offset of the next unconsumed byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  /**
   * Makes buf[pos, pos + n) hold file bytes if the file has them; returns how
   * many bytes are available from pos (>= n, or fewer at the end of the
   * input). May move the unread bytes: indexes into buf taken before are stale.
   */
  ensure(n: number): number {
    const avail = this.end - this.pos;
    if (avail >= n || this.eof) return avail;
    return this.load(n);
  }

  /** Consumes n bytes without keeping them (and without growing the buffer); returns how many there were. */
  skip(n: number): number {
    let left = n;
    for (;;) {
      const avail = this.end - this.pos;
      if (avail >= left) {
        this.pos += left;
        return n;
      }
      left -= avail;
      this.pos = this.end;
      if (this.eof) return n - left;
      this.load(1);
    }
  }

  close(): void {
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      this.eof = true;
      closeSync(fd);
    }
  }

  private currentFileSize(): number {
    const st = fstatSync(this.fd);
    return st.isFile() ? st.size : Infinity;
  }

  private load(n: number): number {
    this.beforeMove?.();
    const unread = this.end - this.pos;
    let need = n;
    if (need > this.buf.length && this.offset + need > this.fileSize) {
      // The file is too short for this record (or has grown since we looked).
      this.fileSize = this.currentFileSize();
      need = Math.min(need, Math.max(this.fileSize - this.offset, unread));
    }
    if (need > this.buf.length) {
      // One record bigger than the buffer: grow (powers of two), keep the unread bytes.
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.buf.subarray(this.pos, this.end));
      this.buf = grown;
    } else if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
    }
    this.base += this.pos;
    this.pos = 0;
    this.end = unread;
    while (this.end < n && this.end < this.buf.length) {
      const got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      if (got === 0) {
        this.eof = true;
        break;
      }
      this.end += got;
    }
    return this.end;
  }
}
