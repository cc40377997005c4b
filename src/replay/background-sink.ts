// OUT of a parallel replay, written off the main thread. Writing a file is
// mostly the kernel's copy into the page cache (copy_folio_from_iter_atomic
// was a quarter of a 2-worker replay's samples in `perf record`, 512 MiB,
// AMD EPYC VM), and a main thread that also routes flows of its own or
// merges several shards' blocks is a thread the shards wait for (with one
// shard routing every flow, the main thread writes OUT itself:
// parallel-replay.ts). Here write() copies
// the bytes into one of a few large buffers (a user-space copy, a fraction
// of the kernel's cost) and the write(2) calls run on libuv's thread pool,
// one at a time and in order, so the file is the bytes in the order given.
//
// writeOwned() queues a caller's buffer as it is, with no copy, and hands it
// back (done) once it is in the file: the merge gives a shard's chunk that
// alone holds a stretch of OUT this way (the common case: one shard sent
// every frame of those batches), so those bytes are copied only by the
// kernel.
//
// The caller bounds the memory: it awaits below(limit) between chunks. A
// failed write is thrown by the next write(), below() or finish().
import { write as fsWrite } from 'node:fs';
import type { ByteSink } from '../pcap/writer.js';
import { WRITE_PIECE_BYTES, withTarget } from '../pcap/atomic-file-sink.js';

export class BackgroundSink implements ByteSink {
  private readonly free: Buffer[] = [];
  private current: Buffer;
  private used = 0;
  /** Filled buffers waiting for their write, oldest first; the first is being written while `writing`. */
  private readonly queue: { buf: Uint8Array; len: number; done: (() => void) | undefined }[] = [];
  private writing = false;
  /** Bytes handed to write() and not yet in the file. */
  private queuedBytes = 0;
  private failed: Error | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly fd: number,
    private readonly bufferBytes = 4 << 20,
    /** The file the user named, for the messages of failed writes (they carry no path). */
    private readonly path?: string,
  ) {
    this.current = Buffer.allocUnsafeSlow(bufferBytes);
  }

  /** Bytes not yet in the file. */
  get pending(): number {
    return this.queuedBytes + this.used;
  }

  write(bytes: Uint8Array): void {
    if (this.failed) throw this.failed;
    let off = 0;
    while (off < bytes.length) {
      const n = Math.min(bytes.length - off, this.bufferBytes - this.used);
      this.current.set(n === bytes.length ? bytes : bytes.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
      if (this.used === this.bufferBytes) this.submit();
    }
  }

  /** Queues `bytes` as they are, after what was written before; done() once they are in the file (then the caller may reuse them). */
  writeOwned(bytes: Uint8Array, done: () => void): void {
    if (this.failed) throw this.failed;
    this.submit();
    this.queue.push({ buf: bytes, len: bytes.length, done });
    this.queuedBytes += bytes.length;
    this.pump();
  }

  /** Queues what is buffered (a partly filled buffer too). */
  private submit(): void {
    if (this.used === 0) return;
    this.queue.push({ buf: this.current, len: this.used, done: undefined });
    this.queuedBytes += this.used;
    this.current = this.free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
    this.used = 0;
    this.pump();
  }

  private pump(): void {
    if (this.writing || this.queue.length === 0 || this.failed) return;
    this.writing = true;
    const { buf, len, done } = this.queue[0];
    let off = 0;
    const next = (): void =>
      fsWrite(this.fd, buf, off, Math.min(len - off, WRITE_PIECE_BYTES), null, (err, n) => {
        if (err) {
          this.failed = this.path === undefined ? err : (withTarget(err, this.path) as Error);
          this.writing = false;
          this.wake();
          return;
        }
        off += n;
        if (off < len) return next();
        this.queue.shift();
        this.queuedBytes -= len;
        if (done !== undefined) done();
        else this.free.push(buf as Buffer);
        this.writing = false;
        this.wake();
        this.pump();
      });
    next();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves once at most `limit` bytes are queued (buffers filled and not yet written). */
  async below(limit: number): Promise<void> {
    while (!this.failed && this.queuedBytes > limit) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failed) throw this.failed;
  }

  /** Writes everything buffered and resolves when it is in the file. */
  async finish(): Promise<void> {
    this.submit();
    await this.below(0);
  }

  /** Drops what is queued and resolves when no write is under way (then the file may be closed). */
  async abandon(): Promise<void> {
    this.used = 0;
    this.queue.splice(this.writing ? 1 : 0);
    while (this.writing) await new Promise<void>((r) => this.waiters.push(r));
  }
}
