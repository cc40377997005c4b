// The one exception the capture reader throws for a bad file. Everything the
// reader could read before the problem has already been returned by next().

export class CaptureFormatError extends Error {
  /** Byte offset in the file where the bad header, record or block starts. */
  readonly offset: number;

  /** Message: "<what> at byte <offset>: <detail>", e.g. "truncated record at byte 1234: ...". */
  constructor(offset: number, what: string, detail: string) {
    super(`${what} at byte ${offset}: ${detail}`);
    this.name = 'CaptureFormatError';
    this.offset = offset;
  }
}

/** Largest captured length the reader accepts; a bigger one means a corrupt header. */
export const MAX_CAPLEN = 256 * 1024 * 1024;
