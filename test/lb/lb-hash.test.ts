// The load balancer's flow hash (src/lb/lb-hash.ts): the same value for the
// same flow wherever it is computed, an even spread over table slots for
// realistic (clustered) client addresses and ports, full avalanche, and the
// `no-source-port` and fragment variants leaving out what they should.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lbFlowHash, lbFragmentHash, lbKeyHash, lbPortMask } from '../../src/lb/lb-hash.js';

const VIP = 0xcb00710a; // 203.0.113.10
const TCP = 6;
const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** Pearson's chi-square of bucket counts against an even spread. */
function chiSquare(counts: Int32Array, total: number): number {
  const expected = total / counts.length;
  let x = 0;
  for (const c of counts) x += ((c - expected) * (c - expected)) / expected;
  return x;
}

/** Chi-square bound: df + 6 standard deviations (sqrt(2 df)); an even hash is far below it. */
function bound(df: number): number {
  return df + 6 * Math.sqrt(2 * df);
}

/** xorshift32 from a fixed start: the same "random" inputs every run. */
function xorshift(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

describe('lbFlowHash', () => {
  it('is a uint32 and the same for the same flow, call after call', () => {
    fc.assert(
      fc.property(u32, u32, u32, fc.integer({ min: 0, max: 255 }), (s, d, p, proto) => {
        const h = lbFlowHash(s, d, p | 0, proto);
        expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
        expect(lbFlowHash(s | 0, d | 0, p, proto)).toBe(h); // signed or unsigned words alike
      }),
    );
  });

  // Clients in 198.51.100.0/24 with consecutive source ports to one VIP and
  // port: inputs that differ in a few low bits, the hard case for `%`.
  it.each([
    ['1009 buckets (prime)', 1009],
    ['1024 buckets (the low bits alone)', 1024],
    ['65537 buckets (a Maglev table)', 65537],
  ])('spreads 256 clients x 1024 source ports evenly over %s (chi-square)', (_name, buckets) => {
    const counts = new Int32Array(buckets);
    let total = 0;
    for (let c = 0; c < 256; c++) {
      for (let port = 40000; port < 41024; port++) {
        counts[lbFlowHash(0xc6336400 + c, VIP, (port << 16) | 80, TCP) % buckets]++;
        total++;
      }
    }
    expect(chiSquare(counts, total)).toBeLessThan(bound(buckets - 1));
  });

  it('avalanche: flipping any one input bit flips each output bit with probability 0.5 +- 0.08', () => {
    const rnd = xorshift(0x2545f491);
    const SAMPLES = 1000;
    // flips[inputBit * 32 + outputBit]; input bits: src 0-31, dst 32-63, ports 64-95, proto 96-103
    const flips = new Int32Array(104 * 32);
    for (let n = 0; n < SAMPLES; n++) {
      const w = [rnd(), rnd(), rnd(), rnd() & 0xff];
      const h = lbFlowHash(w[0], w[1], w[2], w[3]);
      for (let bit = 0; bit < 104; bit++) {
        const v = w.slice();
        v[bit >> 5] ^= 1 << (bit & 31);
        const d = h ^ lbFlowHash(v[0], v[1], v[2], v[3]);
        for (let o = 0; o < 32; o++) if ((d >>> o) & 1) flips[bit * 32 + o]++;
      }
    }
    let worst = 0;
    for (const f of flips) worst = Math.max(worst, Math.abs(f / SAMPLES - 0.5));
    expect(worst).toBeLessThan(0.08);
  });

  it('no-source-port: masking the ports with lbPortMask drops the source port and keeps the destination port', () => {
    const mask = lbPortMask('no-source-port');
    const a = lbFlowHash(0xc6336407, VIP, ((40000 << 16) | 80) & mask, TCP);
    expect(lbFlowHash(0xc6336407, VIP, ((51515 << 16) | 80) & mask, TCP)).toBe(a);
    expect(lbFlowHash(0xc6336407, VIP, ((40000 << 16) | 443) & mask, TCP)).not.toBe(a);
    const all = lbPortMask('five-tuple');
    expect(lbFlowHash(0xc6336407, VIP, ((40000 << 16) | 80) & all, TCP)).not.toBe(lbFlowHash(0xc6336407, VIP, ((51515 << 16) | 80) & all, TCP));
  });

  it('tells the protocol apart (TCP and UDP flows with the same addresses and ports)', () => {
    let same = 0;
    for (let p = 0; p < 1000; p++) if (lbFlowHash(0xc6336407, VIP, (p << 16) | 53, 6) === lbFlowHash(0xc6336407, VIP, (p << 16) | 53, 17)) same++;
    expect(same).toBe(0);
  });
});

describe('lbFragmentHash', () => {
  it('spreads clients of 198.18.0.0/15 evenly over 1009 buckets (chi-square)', () => {
    const counts = new Int32Array(1009);
    for (let c = 0; c < 100_000; c++) counts[lbFragmentHash(0xc6120000 + c, VIP, 17) % 1009]++;
    expect(chiSquare(counts, 100_000)).toBeLessThan(bound(1008));
  });

  it('is the same for the same src, dst and protocol, and differs from the 5-tuple hash', () => {
    expect(lbFragmentHash(0xc6336407, VIP, 17)).toBe(lbFragmentHash(0xc6336407, VIP, 17));
    expect(lbFragmentHash(0xc6336407, VIP, 17)).not.toBe(lbFragmentHash(0xc6336407, VIP, 6));
  });
});

describe('lbKeyHash', () => {
  it('hashes strings by every code unit (odd and even lengths) and numbers as one word', () => {
    const keys = ['a', 'ab', 'abc', 'abd', 'ba', 'web-1', 'web-2', ''];
    expect(new Set(keys.map((k) => lbKeyHash(k, 1))).size).toBe(keys.length);
    expect(lbKeyHash('web-1', 1)).not.toBe(lbKeyHash('web-1', 2));
    expect(lbKeyHash(0xc6336401, 1)).not.toBe(lbKeyHash(0xc6336402, 1));
  });
});
