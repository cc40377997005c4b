// Internet checksum (RFC 1071) and incremental updates (RFC 1624).
//
// The ones-complement sum is computed over 16-bit big-endian words. Sums are
// carried as unfolded 32-bit accumulators so callers can chain regions (a
// pseudo-header, then a header, then a payload) and fold once at the end.
//
// Incremental updates use RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), which is
// correct for every input including the 0x0000/0xffff corner that eqn. 2 of
// RFC 1141 gets wrong.

/** Adds the 16-bit big-endian words of b[off, off+len) to `acc` (unfolded). An odd last byte is padded with zero. */
export function sumWords(b: Uint8Array, off: number, len: number, acc: number): number {
  let sum = acc;
  const end = off + (len & ~1);
  let i = off;
  // Unrolled by 4 words: the loop body dominates checksum cost on small packets.
  const end8 = off + (len & ~7);
  for (; i < end8; i += 8) {
    sum += ((b[i] << 8) | b[i + 1]) + ((b[i + 2] << 8) | b[i + 3]) + ((b[i + 4] << 8) | b[i + 5]) + ((b[i + 6] << 8) | b[i + 7]);
  }
  for (; i < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (len & 1) sum += b[off + len - 1] << 8;
  // Keep the accumulator below 2^31 so callers can keep adding without overflow into doubles.
  return (sum & 0xffff) + Math.floor(sum / 0x10000);
}

/** Folds an accumulator to 16 bits (end-around carry), without complementing. */
export function foldSum(acc: number): number {
  let s = acc;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum field value for a region: ~fold(sum). */
export function finishChecksum(acc: number): number {
  return ~foldSum(acc) & 0xffff;
}

/** RFC 1071 checksum of b[off, off+len). */
export function internetChecksum(b: Uint8Array, off: number, len: number): number {
  return finishChecksum(sumWords(b, off, len, 0));
}

// ---- fast variants ------------------------------------------------------------
//
// sumWords above is the reference. The three below compute the same sums for
// the validating hot paths (ip4-input, decode's classifyFrame), in int32
// arithmetic so V8 keeps them in small integers and inlines them into the
// caller's loop. Each earns its place by `npm run bench -- checksum`
// (rows checksum/verify-*; the figures are in bench/results/checksum.json),
// and test/wire/checksum-fast.property.test.ts holds each equal to sumWords
// and foldSum on random input.

/**
 * The sumWords sum for the validating paths: high and low bytes summed apart
 * and combined once, so the loop does no shift or or per word. Returns an
 * unfolded int32 whose fold equals foldSum(sumWords(b, off, len, acc)). Exact
 * for len <= 65535 (any IPv4 datagram) and 0 <= acc < 2^24: `hi` stays below
 * 2^23 and is folded before the shift, which keeps the total below 2^31
 * (ones-complement sums are mod 65535, so folding early changes nothing).
 */
export function sumWordsSplit(b: Uint8Array, off: number, len: number, acc: number): number {
  let hi = 0;
  let lo = 0;
  let i = off;
  const end8 = off + (len & ~7);
  for (; i < end8; i += 8) {
    hi += b[i] + b[i + 2] + b[i + 4] + b[i + 6];
    lo += b[i + 1] + b[i + 3] + b[i + 5] + b[i + 7];
  }
  const end2 = off + (len & ~1);
  for (; i < end2; i += 2) {
    hi += b[i];
    lo += b[i + 1];
  }
  if (len & 1) hi += b[i];
  hi = (hi & 0xffff) + (hi >>> 16);
  return ((acc | 0) + (hi << 8) + lo) | 0;
}

/** Unfolded sum of the four address words of the IPv4 header at `ipOff` (bytes 12-19): the pseudo-header's address part. */
export function ipv4AddressSum(b: Uint8Array, ipOff: number): number {
  return ((b[ipOff + 12] << 8) | b[ipOff + 13]) + ((b[ipOff + 14] << 8) | b[ipOff + 15]) + ((b[ipOff + 16] << 8) | b[ipOff + 17]) + ((b[ipOff + 18] << 8) | b[ipOff + 19]);
}

/**
 * Unfolded sum of the 20-byte fixed IPv4 header at `o`, unrolled; `addrSum`
 * is ipv4AddressSum(b, o), which a caller checking L4 next reuses for the
 * pseudo-header. Equal to sumWords(b, o, 20, 0).
 */
export function ipv4FixedHeaderSum(b: Uint8Array, o: number, addrSum: number): number {
  return (
    ((b[o] << 8) | b[o + 1]) + ((b[o + 2] << 8) | b[o + 3]) + ((b[o + 4] << 8) | b[o + 5]) +
    ((b[o + 6] << 8) | b[o + 7]) + ((b[o + 8] << 8) | b[o + 9]) + ((b[o + 10] << 8) | b[o + 11]) + addrSum
  );
}

/** foldSum(acc) === 0xffff (the covered checksum verifies) for 0 <= acc < 2^32, in two int32 folds. */
export function sumIsAllOnes(acc: number): boolean {
  let f = (acc & 0xffff) + (acc >>> 16);
  f = (f & 0xffff) + (f >>> 16);
  return f === 0xffff;
}

// ---- pseudo-header and incremental updates --------------------------------------

/**
 * Unfolded sum of the TCP/UDP IPv4 pseudo-header (RFC 793 / RFC 768):
 * source address, destination address, zero, protocol, L4 length.
 * `srcAddr`/`dstAddr` are unsigned 32-bit host-order numbers.
 */
export function pseudoHeaderSum(srcAddr: number, dstAddr: number, protocol: number, l4Length: number): number {
  return (
    (srcAddr >>> 16) + (srcAddr & 0xffff) + (dstAddr >>> 16) + (dstAddr & 0xffff) + protocol + l4Length
  );
}

/** Pseudo-header sum reading both addresses straight from an IPv4 header at `ipOff`. */
export function pseudoHeaderSumFromIpv4(b: Uint8Array, ipOff: number, protocol: number, l4Length: number): number {
  return ipv4AddressSum(b, ipOff) + protocol + l4Length;
}

/**
 * RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data
 * changes from `oldWord` to `newWord`.
 */
export function updateChecksum16(checksum: number, oldWord: number, newWord: number): number {
  const sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~foldSum(sum) & 0xffff;
}

/** RFC 1624 for a 32-bit value (an IPv4 address): two word updates in one fold. */
export function updateChecksum32(checksum: number, oldValue: number, newValue: number): number {
  const sum =
    (~checksum & 0xffff) +
    (~(oldValue >>> 16) & 0xffff) +
    (~oldValue & 0xffff) +
    ((newValue >>> 16) & 0xffff) +
    (newValue & 0xffff);
  return ~foldSum(sum) & 0xffff;
}

/**
 * UDP over IPv4: a computed checksum of 0x0000 is sent as 0xffff, because
 * 0x0000 on the wire means "no checksum" (RFC 768). An incremental update of a
 * UDP checksum must apply the same rule, and must leave a zero (absent)
 * checksum at zero.
 */
export function udpWireChecksum(computed: number): number {
  return computed === 0 ? 0xffff : computed;
}

/** Incremental UDP update that keeps "no checksum" (0) as is and never produces 0. */
export function updateUdpChecksum32(checksum: number, oldValue: number, newValue: number): number {
  if (checksum === 0) return 0;
  return udpWireChecksum(updateChecksum32(checksum, oldValue, newValue));
}

/** Incremental UDP update of one 16-bit word (a port). */
export function updateUdpChecksum16(checksum: number, oldWord: number, newWord: number): number {
  if (checksum === 0) return 0;
  return udpWireChecksum(updateChecksum16(checksum, oldWord, newWord));
}
