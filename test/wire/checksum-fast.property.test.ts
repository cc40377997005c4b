// The checksum fast variants (src/wire/checksum.ts) against the reference:
// sumWords + foldSum for the sums, setIpv4TtlWithCsum (RFC 1624 eqn. 3) for
// the TTL decrement. Each variant is used on a hot path (ip4-input,
// ip4-rewrite, classifyFrame) only because it is equal to these.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  foldSum, ipv4AddressSum, ipv4FixedHeaderSum, pseudoHeaderSum, sumIsAllOnes, sumWords, sumWordsSplit,
} from '../../src/wire/checksum.js';
import { decrementIpv4Ttl, ipv4Src, ipv4Dst, setIpv4TtlWithCsum } from '../../src/wire/ipv4.js';

const RUNS = { numRuns: 2000 };

/** Bytes with an offset and length inside them. */
const region = fc.uint8Array({ minLength: 0, maxLength: 1600 }).chain((b) =>
  fc.record({
    b: fc.constant(b),
    off: fc.nat({ max: b.length }),
  }).chain(({ b, off }) => fc.record({ b: fc.constant(b), off: fc.constant(off), len: fc.nat({ max: b.length - off }) })),
);

describe('checksum fast variants equal the reference', () => {
  it('sumWordsSplit folds to what sumWords folds to, odd lengths and a running accumulator included', () => {
    fc.assert(
      fc.property(region, fc.nat({ max: (1 << 24) - 1 }), ({ b, off, len }, acc) => {
        expect(foldSum(sumWordsSplit(b, off, len, acc))).toBe(foldSum(sumWords(b, off, len, acc)));
      }),
      RUNS,
    );
  });

  it('sumWordsSplit stays exact at the top of its range: 65535 bytes of 0xff on top of a large accumulator', () => {
    const b = new Uint8Array(65535).fill(0xff);
    const acc = (1 << 24) - 1;
    const fast = sumWordsSplit(b, 0, b.length, acc);
    expect(fast).toBeGreaterThan(0); // no int32 overflow
    expect(foldSum(fast)).toBe(foldSum(sumWords(b, 0, b.length, acc)));
  });

  it('ipv4FixedHeaderSum with ipv4AddressSum folds to what sumWords folds to over 20 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 40 }), fc.nat({ max: 20 }), (b, o) => {
        fc.pre(o + 20 <= b.length);
        expect(foldSum(ipv4FixedHeaderSum(b, o, ipv4AddressSum(b, o)))).toBe(foldSum(sumWords(b, o, 20, 0)));
      }),
      RUNS,
    );
  });

  it('ipv4AddressSum is the address part of pseudoHeaderSum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), (b, proto, len) => {
        expect(ipv4AddressSum(b, 0) + proto + len).toBe(pseudoHeaderSum(ipv4Src(b, 0), ipv4Dst(b, 0), proto, len));
      }),
      RUNS,
    );
  });

  it('sumIsAllOnes(x) is foldSum(x) === 0xffff for every 32-bit accumulator, 0 and the all-ones forms included', () => {
    for (const x of [0, 0xffff, 0x1fffe, 0xfffe0001, 0xffffffff, 0x7fffffff, 0x80000000]) expect(sumIsAllOnes(x)).toBe(foldSum(x) === 0xffff);
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), (x) => {
        expect(sumIsAllOnes(x)).toBe(foldSum(x) === 0xffff);
      }),
      RUNS,
    );
  });

  it('decrementIpv4Ttl writes the bytes setIpv4TtlWithCsum(ttl - 1) writes, whatever the stored checksum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.integer({ min: 1, max: 255 }), fc.integer({ min: 0, max: 0xffff }), (header, ttl, csum) => {
        header[8] = ttl;
        header[10] = csum >> 8;
        header[11] = csum & 0xff;
        const fast = header.slice();
        const ref = header.slice();
        expect(decrementIpv4Ttl(fast, 0)).toBe(ttl - 1);
        setIpv4TtlWithCsum(ref, 0, ttl - 1);
        expect(Array.from(fast)).toEqual(Array.from(ref));
      }),
      RUNS,
    );
    // The end-around-carry corners: a stored checksum of 0xfeff (the sum lands on 0xffff) and 0xff00 (it carries).
    for (const csum of [0xfeff, 0xff00, 0xffff, 0x0000]) {
      const h = new Uint8Array(20);
      h[0] = 0x45;
      h[8] = 64;
      h[10] = csum >> 8;
      h[11] = csum & 0xff;
      const ref = h.slice();
      decrementIpv4Ttl(h, 0);
      setIpv4TtlWithCsum(ref, 0, 63);
      expect([h[10], h[11]]).toEqual([ref[10], ref[11]]);
    }
  });
});
