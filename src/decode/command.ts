// `dataplane decode FILE`: one text line (or JSON object) per frame, streamed.
//
// Memory stays constant: the reader reuses one record, each frame is decoded,
// formatted and appended to a buffer that is written out in ~64 KiB chunks.
// Every frame is printed, good or bad; a corrupt or truncated file prints all
// the good frames first, then names the problem on stderr and returns 1. A
// reader that goes away (`| head`) is not an error: EPIPE ends the run quietly.
import { CaptureReader } from '../pcap/reader.js';
import { decodeFrame } from './frame.js';
import { formatFrame } from './format.js';

export interface DecodeOptions {
  json: boolean;
  /** Stop after this many frames. */
  count?: number;
}

export interface DecodeIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

const FLUSH_BYTES = 64 * 1024;

/** Collects lines and writes them in large chunks; stops quietly once the reader has gone (EPIPE). */
class LineWriter {
  closed = false;
  private lines: string[] = [];
  private bytes = 0;
  private failure: Error | undefined;
  private readonly onError = (e: NodeJS.ErrnoException): void => {
    if (e.code === 'EPIPE') this.closed = true;
    else this.failure ??= e;
  };

  constructor(private readonly stream: NodeJS.WritableStream) {
    stream.on('error', this.onError);
  }

  /** Buffers a line; true when the buffer should be flushed. */
  push(line: string): boolean {
    this.lines.push(line);
    this.bytes += line.length + 1;
    return this.bytes >= FLUSH_BYTES;
  }

  async flush(): Promise<void> {
    if (this.lines.length === 0 || this.closed) {
      this.lines = [];
      this.bytes = 0;
      return;
    }
    const chunk = this.lines.join('\n') + '\n';
    this.lines = [];
    this.bytes = 0;
    await new Promise<void>((resolve) => {
      const drained = this.stream.write(chunk, (e) => {
        if (e) this.onError(e);
        if (drained || e) resolve();
      });
      // Backpressure: wait for 'drain' as well as the write callback.
      if (!drained) this.stream.once('drain', resolve);
    });
    if (this.failure) throw this.failure;
  }

  dispose(): void {
    this.stream.removeListener('error', this.onError);
  }
}

/** Fraction digits that show a timestamp resolution exactly: 6 for microseconds, 9 for nanoseconds or anything not a power of ten. */
export function tsDigits(resolutionNs: number | undefined): number | undefined {
  if (resolutionNs === undefined) return undefined;
  for (let d = 0; d <= 9; d++) if (resolutionNs === 10 ** (9 - d)) return d;
  return 9;
}

function describe(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT') return 'no such file';
  if (err?.code === 'EISDIR') return 'is a directory, not a capture file';
  if (err?.code === 'EACCES') return 'permission denied';
  return e instanceof Error ? e.message : String(e);
}

/** Streams `file` to `io.out`; returns the process exit code. */
export async function runDecode(file: string, opts: DecodeOptions, io: DecodeIo = { out: process.stdout, err: process.stderr }): Promise<number> {
  let reader: CaptureReader;
  try {
    reader = CaptureReader.open(file);
  } catch (e) {
    io.err.write(`dataplane decode: ${file}: ${describe(e)}\n`);
    return 1;
  }
  const writer = new LineWriter(io.out);
  const limit = opts.count ?? Number.POSITIVE_INFINITY;
  let n = 0;
  let status = 0;
  let shortOriginal = 0;
  try {
    while (n < limit && !writer.closed && reader.next()) {
      n++;
      const record = reader.record;
      if (record.len < record.caplen) shortOriginal++;
      const digits = tsDigits(reader.interfaces[record.interfaceId]?.tsResolutionNs);
      const s = decodeFrame(record.buffer, record.dataOffset, record.caplen, record.len, record.linkType, n, record.tsSec, record.tsNsec, digits);
      if (writer.push(opts.json ? JSON.stringify(s) : formatFrame(s))) await writer.flush();
    }
  } catch (e) {
    // The reader throws only after yielding every good record: print them first.
    await writer.flush().catch(() => undefined);
    io.err.write(`dataplane decode: ${file}: ${describe(e)}\n`);
    status = 1;
  } finally {
    reader.close();
  }
  try {
    await writer.flush();
  } catch (e) {
    io.err.write(`dataplane decode: ${describe(e)}\n`);
    status = 1;
  }
  writer.dispose();
  // Decoded all the same (the bytes are there, format.ts shows their length), but the file is not as its writer meant it: said once, after the frames.
  if (shortOriginal > 0) io.err.write(`dataplane decode: ${file}: ${shortOriginal} record${shortOriginal === 1 ? '' : 's'} with an original length below the captured length (corrupt); the captured length is shown\n`);
  return status;
}
