// Streaming capture reader: classic pcap and pcapng, from a file (read in
// ~1 MiB chunks, memory flat in the file size) or from bytes in memory.
//
//   const reader = CaptureReader.open('in.pcap');
//   try {
//     while (reader.next()) {
//       const r = reader.record;             // one reused object
//       handle(r.buffer, r.dataOffset, r.caplen, r.linkType);
//     }
//   } finally { reader.close(); }
//
// next() allocates nothing per record (pcapng files with resolutions finer
// than 2^-32 s take a BigInt slow path for timestamps). A corrupt or truncated
// file yields every good record, then next() throws CaptureFormatError (and
// throws the same error again if called after). I/O errors from the file
// system (EIO, ...) are passed through as they are.

import { openSync } from 'node:fs';
import { CaptureFormatError } from './errors.js';
import { DEFAULT_CHUNK, InputWindow } from './input.js';
import { isPcapMagic, PcapClassicParser } from './pcap-classic.js';
import { BLOCK_SHB, PcapngParser } from './pcapng.js';
import { copyRecord, ReusedRecord } from './record.js';
import type { CaptureFormat, CaptureInterface, CaptureRecord, FormatParser } from './record.js';

export { CaptureFormatError, MAX_CAPLEN } from './errors.js';
export { copyRecord } from './record.js';
export type { CaptureFormat, CaptureInterface, CaptureRecord } from './record.js';

export interface CaptureReaderOptions {
  /** Read buffer size for files (default 1 MiB); it grows only for a record bigger than this. */
  chunkSize?: number;
}

export class CaptureReader {
  readonly format: CaptureFormat;
  /** Interfaces seen so far: one for classic pcap; one per IDB read so far for pcapng (across sections). */
  readonly interfaces: readonly CaptureInterface[];
  /** The current record, refilled by every successful next(). */
  readonly record: CaptureRecord;
  private readonly reused: ReusedRecord;
  private readonly input: InputWindow;
  private readonly parser: FormatParser;
  private error: CaptureFormatError | null = null;
  private closed = false;

  private constructor(input: InputWindow) {
    this.input = input;
    const interfaces: CaptureInterface[] = [];
    this.interfaces = interfaces;
    this.reused = new ReusedRecord();
    this.record = this.reused;
    const avail = input.ensure(4);
    if (avail < 4) {
      throw new CaptureFormatError(
        0,
        avail === 0 ? 'empty file' : 'file too short',
        avail === 0
          ? 'no pcap or pcapng header (0 bytes)'
          : `${avail} byte${avail === 1 ? '' : 's'}, too short for a pcap or pcapng header`,
      );
    }
    const b = input.buf;
    const p = input.pos;
    const magicLe = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
    if (magicLe === BLOCK_SHB) {
      this.format = 'pcapng';
      this.parser = new PcapngParser(input, interfaces);
    } else if (isPcapMagic(magicLe)) {
      this.format = 'pcap';
      this.parser = new PcapClassicParser(input, interfaces);
    } else {
      const hex = Array.from(b.subarray(p, p + 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
      const hint =
        b[p] === 0x1f && b[p + 1] === 0x8b
          ? ' (gzip-compressed: decompress it first)'
          : magicLe === 0xa1b2cd34 || magicLe === 0x34cdb2a1
            ? " (Kuznetzov's modified pcap, which is not supported: convert it with editcap -F pcap)"
            : '';
      throw new CaptureFormatError(0, 'not a pcap or pcapng file', `magic bytes ${hex}${hint}`);
    }
  }

  /** Opens a capture file for streaming. Throws CaptureFormatError when its header is bad. */
  static open(path: string, options: CaptureReaderOptions = {}): CaptureReader {
    const fd = openSync(path, 'r');
    const input = InputWindow.fromFd(fd, options.chunkSize ?? DEFAULT_CHUNK);
    try {
      return new CaptureReader(input);
    } catch (e) {
      input.close();
      throw e;
    }
  }

  /** Reads a capture held in memory (no copy: records point into `bytes`). */
  static fromBytes(bytes: Uint8Array): CaptureReader {
    return new CaptureReader(InputWindow.fromBytes(bytes));
  }

  /** Advances to the next packet record: true when `record` holds it, false at a clean end of file. */
  next(): boolean {
    if (this.error !== null) throw this.error;
    if (this.closed) return false;
    try {
      return this.parser.next(this.reused);
    } catch (e) {
      if (e instanceof CaptureFormatError) this.error = e;
      throw e;
    }
  }

  /**
   * Called before next() moves or replaces the bytes that records point into
   * (`record.buffer`): a caller that queued copies out of them does them now.
   * Bytes given to fromBytes never move.
   */
  set beforeMove(f: (() => void) | undefined) {
    this.input.beforeMove = f;
  }

  /** Closes the file (idempotent). next() returns false afterwards. */
  close(): void {
    this.closed = true;
    this.input.close();
  }

  /**
   * Where the current record's captured bytes start in the input: a file
   * offset, or an index into the bytes given to fromBytes. Another reader of
   * the same capture finds the frame there (a parallel replay's shards).
   */
  get dataPosition(): number {
    return this.input.base + this.record.dataOffset;
  }

  /** Bytes of the file consumed so far: the offset just after the last block or record read. */
  get bytesRead(): number {
    return this.input.offset;
  }
}

/**
 * Iterates over a capture file (path) or in-memory capture (bytes), yielding
 * an independent copy of each record (its own data bytes; one allocation per
 * record, so the records may be kept). The file is closed at the end, on an
 * error and when the loop stops early. Hot loops use CaptureReader instead.
 */
export function* readCapture(pathOrBytes: string | Uint8Array): Generator<CaptureRecord> {
  const reader = typeof pathOrBytes === 'string' ? CaptureReader.open(pathOrBytes) : CaptureReader.fromBytes(pathOrBytes);
  try {
    while (reader.next()) yield copyRecord(reader.record);
  } finally {
    reader.close();
  }
}
