// Flow keys for the flow-table benchmarks, and the JS Map peers keyed the
// ways one would write it without a hand-made table (a string, a BigInt).

/** `n` distinct TCP/UDP original keys, 4 words each: 198.18.0.0/15 clients to 203.0.113.0/24 servers. */
export function makeKeys(n: number, seed = 1): Int32Array {
  const keys = new Int32Array(n * 4);
  let x = seed | 0 || 1;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let i = 0; i < n; i++) {
    // (client address, client port) is unique per i; the rest varies at random.
    const sport = 1024 + (i >>> 17);
    const dport = [53, 80, 443, 8080][rnd() & 3];
    keys[i * 4] = (0xc6120000 | (i & 0x1ffff)) | 0;
    keys[i * 4 + 1] = (0xcb007100 | (rnd() & 0xff)) | 0;
    keys[i * 4 + 2] = (sport << 16) | dport;
    keys[i * 4 + 3] = (rnd() & 1) === 0 ? 6 : 17;
  }
  return keys;
}

/** A shuffled 0..n-1, so lookups walk the table in no useful order. */
export function shuffledOrder(n: number, seed = 7): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  let x = seed;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

export function stringKey(k0: number, k1: number, k2: number, k3: number): string {
  return `${k0},${k1},${k2},${k3}`;
}

/**
 * The four words as one 128-bit BigInt, addresses in the low half. Not in
 * word order: V8 (Node 20) hashes a BigInt Map key by its low 64 bits only,
 * so with ports and protocol there (few distinct values) every key collides
 * and inserts go quadratic (measured: 40k keys differing only in the high
 * half take 16 s to insert, against 78 ms differing in the low half).
 */
export function bigintKey(k0: number, k1: number, k2: number, k3: number): bigint {
  return (BigInt(k2 >>> 0) << 96n) | (BigInt(k3 >>> 0) << 64n) | (BigInt(k0 >>> 0) << 32n) | BigInt(k1 >>> 0);
}

/** The reverse direction's word 2 (ports swapped). */
export function rev2(w: number): number {
  return (w >>> 16) | (w << 16);
}
