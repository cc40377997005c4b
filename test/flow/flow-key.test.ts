import { describe, expect, it } from 'vitest';
import { formatKey, hashKey, icmpQueryWord, parseKey, portsWord, protoWord, PROTO_ICMP, PROTO_TCP, PROTO_UDP, reversePortsWord } from '../../src/flow/flow-key.js';

/** Pearson's chi-square of bucket counts against a uniform spread. */
function chiSquare(counts: Int32Array, total: number): number {
  const expected = total / counts.length;
  let x2 = 0;
  for (const c of counts) x2 += (c - expected) ** 2 / expected;
  return x2;
}

/** True when the statistic is within 5 standard deviations of its mean (df) for a uniform spread. */
function looksUniform(counts: Int32Array, total: number): boolean {
  const df = counts.length - 1;
  return Math.abs(chiSquare(counts, total) - df) < 5 * Math.sqrt(2 * df);
}

describe('flow key words', () => {
  it('packs ports as sport << 16 | dport and masks them to 16 bits', () => {
    expect(portsWord(40000, 53) >>> 0).toBe(((40000 << 16) | 53) >>> 0);
    expect(portsWord(0x1ffff, 0x10050)).toBe(portsWord(0xffff, 0x50));
  });

  it('puts the ICMP query id in both halves, so the reverse of an echo key carries the same word', () => {
    const w = icmpQueryWord(0x1234);
    expect(w).toBe(0x12341234);
    expect(reversePortsWord(w)).toBe(w);
  });

  it('reverses ports by swapping the halves, and reversing twice is the identity', () => {
    const w = portsWord(40000, 53);
    expect(reversePortsWord(w)).toBe(portsWord(53, 40000));
    expect(reversePortsWord(reversePortsWord(w))).toBe(w);
  });

  it('keeps the protocol in the low byte and the zone above it', () => {
    expect(protoWord(PROTO_UDP)).toBe(17);
    expect(protoWord(PROTO_TCP, 3)).toBe(6 | (3 << 8));
  });

  it('formats and parses keys as text', () => {
    for (const text of ['198.51.100.7:40000 -> 203.0.113.5:53 udp', '192.0.2.10:1025 -> 198.18.0.1:443 tcp zone 2', '192.0.2.10 -> 203.0.113.5 icmp id 7', '192.0.2.1:1 -> 192.0.2.2:2 proto 132']) {
      const [a, b, c, d] = parseKey(text);
      expect(formatKey(a, b, c, d)).toBe(text);
    }
    expect(parseKey('192.0.2.10 -> 203.0.113.5 icmp id 7')).toEqual([(192 << 24) | (2 << 8) | 10, (203 << 24) | (113 << 8) | 5, icmpQueryWord(7), PROTO_ICMP]);
  });

  it('refuses malformed key text, naming the problem', () => {
    expect(() => parseKey('192.0.2.300:1 -> 192.0.2.2:2 udp')).toThrow(/not an IPv4 address/);
    expect(() => parseKey('192.0.2.1:70000 -> 192.0.2.2:2 udp')).toThrow(/port over 65535/);
    expect(() => parseKey('192.0.2.1 -> 192.0.2.2 icmp id 70000')).toThrow(/over 65535/);
    expect(() => parseKey('nonsense')).toThrow(/expected/);
  });
});

describe('flow key hash', () => {
  const [src, dst, , proto] = parseKey('198.51.100.7:1 -> 203.0.113.5:53 udp');

  it('is deterministic and depends on the seed', () => {
    expect(hashKey(src, dst, 5, proto, 1)).toBe(hashKey(src, dst, 5, proto, 1));
    expect(hashKey(src, dst, 5, proto, 1)).not.toBe(hashKey(src, dst, 5, proto, 2));
  });

  it('tells a key from its reverse', () => {
    const p = portsWord(40000, 53);
    expect(hashKey(src, dst, p, proto, 9)).not.toBe(hashKey(dst, src, reversePortsWord(p), proto, 9));
  });

  // The index takes the low bits for the primary bucket and the high bits of a
  // product for the secondary: both must spread structured traffic.
  const cases: [string, (i: number) => [number, number, number, number]][] = [
    ['sequential source ports, one host to one server', (i) => [src, dst, portsWord(1024 + i, 53), proto]],
    ['sources across 198.18.0.0/15, one port', (i) => [(198 << 24) | (18 << 16) | i, dst, portsWord(40000, 443), protoWord(PROTO_TCP)]],
    ['destinations across a /16, sequential ports', (i) => [src, (203 << 24) | (i & 0xffff), portsWord(1024 + (i >>> 16), 80), protoWord(PROTO_TCP)]],
    ['ICMP ids', (i) => [src, dst, icmpQueryWord(i), protoWord(PROTO_ICMP)]],
  ];
  for (const [name, key] of cases) {
    it(`spreads ${name} evenly over 4096 buckets (chi-square), low and high bits`, () => {
      const n = 65536;
      const low = new Int32Array(4096);
      const high = new Int32Array(4096);
      for (let i = 0; i < n; i++) {
        const [a, b, c, d] = key(i);
        const h = hashKey(a, b, c, d, 0x5eed);
        low[h & 4095]++;
        high[Math.imul(h, 0x9e3779b1) >>> 20]++;
      }
      expect(looksUniform(low, n)).toBe(true);
      expect(looksUniform(high, n)).toBe(true);
    });
  }

  it('the uniformity check can fail: a bucket taken from the constant dport half is rejected', () => {
    const n = 65536;
    const skewed = new Int32Array(4096);
    for (let i = 0; i < n; i++) skewed[portsWord(1024 + i, 53) & 4095]++;
    expect(looksUniform(skewed, n)).toBe(false);
  });
});
