// Test helpers for the wire codecs: hex <-> bytes and a 0xa5-filled buffer.

/** Bytes from hex text; whitespace and `|` separators are ignored. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/[\s|]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`bad hex: ${s}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** A buffer pre-filled with 0xa5, so a setter that forgets a bit shows up. */
export function filled(len: number): Uint8Array {
  return new Uint8Array(len).fill(0xa5);
}

/** A copy of `bytes` placed at `off` inside a larger 0xa5 buffer, to catch offset mistakes. */
export function at(bytes: Uint8Array, off: number, tail = 7): Uint8Array {
  const b = filled(off + bytes.length + tail);
  b.set(bytes, off);
  return b;
}
