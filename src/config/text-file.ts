// Whether a file the user named as text (the config, a routes file) is text:
// the first TEXT_PROBE_BYTES must hold no NUL and be valid UTF-8, as grep and
// git decide "binary file". A pcap or an executable given as routesFile is
// then one clear problem instead of a screen of lines of garbage, each an
// "error" of its own.

/** Bytes looked at: enough for any binary format's header, and a text file's first lines. */
export const TEXT_PROBE_BYTES = 8192;

/**
 * The offset of the first byte that is not text (a NUL, or a byte that
 * starts no valid UTF-8 sequence or breaks one) within the first `limit`
 * bytes, or -1. A sequence cut off by the limit is not held against the file.
 */
export function firstBinaryByte(b: Uint8Array, limit = TEXT_PROBE_BYTES): number {
  const end = Math.min(b.length, limit);
  let i = 0;
  while (i < end) {
    const c = b[i];
    if (c === 0) return i;
    if (c < 0x80) {
      i++;
      continue;
    }
    // Lead byte: how many continuation bytes follow, and the range of the first (no overlongs, surrogates or > U+10FFFF).
    let n: number, lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      if (i + k >= end) return end < b.length ? -1 : i; // cut by the limit: fine; by the end of the file: broken
      const x = b[i + k];
      if (x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}

/**
 * `bytes` read from `path` as UTF-8 text, or the problem to report: where its
 * binary data starts; `kind` says what text it should have been ("of routes").
 */
export function textOf(bytes: Uint8Array, path: string, kind: string): string | { problem: string } {
  const binary = firstBinaryByte(bytes);
  return binary >= 0 ? { problem: `${path}: not a text file ${kind} (binary data at byte ${binary})` } : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
