// The flow stage's TCP/UDP translation (flow-translate.ts) against the full
// graph's (nat/translate.ts rewriteTcpUdp): the same bytes for every
// packet, including the checksum edge cases (UDP without a checksum, a
// translated UDP checksum of 0, a tuple already translated, 0x0000 and
// 0xffff checksums, carries out of every fold).
import { describe, expect, it } from 'vitest';
import { translateTcpUdp } from '../../src/pipeline/nodes/flow-translate.js';
import { rewriteTcpUdp } from '../../src/nat/translate.js';

const I = 14; // the IPv4 header after an Ethernet header, at an even offset as ip4-fast requires

function read32(b: Uint8Array, o: number): number {
  return (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}

/** A 64-byte frame with random header bytes (IHL 5) and the given protocol and checksums. */
function frame(rand: () => number, tcp: boolean, l4Csum: number, ipCsum: number): Uint8Array {
  const b = new Uint8Array(64);
  for (let k = 0; k < b.length; k++) b[k] = rand() & 0xff;
  b[I] = 0x45;
  b[I + 9] = tcp ? 6 : 17;
  b[I + 10] = ipCsum >>> 8;
  b[I + 11] = ipCsum & 0xff;
  const at = I + 20 + (tcp ? 16 : 6);
  b[at] = l4Csum >>> 8;
  b[at + 1] = l4Csum & 0xff;
  return b;
}

/** Both translations of a copy of `b` to ns:np.sport -> nd:np.dport, `rp` being the other direction's ports word. */
function both(b: Uint8Array, tcp: boolean, ns: number, nd: number, rp: number): [Uint8Array, Uint8Array] {
  const full = b.slice();
  const fast = b.slice();
  const nports = (rp >>> 16) | (rp << 16);
  const src = read32(full, I + 12);
  const dst = read32(full, I + 16);
  const ports = read32(full, I + 20);
  // ct-input's guard: a packet already carrying the tuple is not rewritten.
  if (ns !== src || nd !== dst || nports !== ports) rewriteTcpUdp(full, I, I + 20, tcp, src, dst, ports, ns, nd, nports, false);
  translateTcpUdp(new Uint16Array(fast.buffer), I, tcp, ns, nd, rp);
  return [fast, full];
}

describe('flow-translate: translateTcpUdp', () => {
  it('writes the same bytes as rewriteTcpUdp for random packets and tuples, TCP and UDP, checksum edge cases included', () => {
    let x = 0x12345678;
    const rand = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    const edges = [0x0000, 0xffff, 0x0001, 0xfffe, 0x8000];
    let changed = 0;
    let udpZeroKept = 0;
    let bad: { n: number; fast: number[]; full: number[] } | undefined;
    for (let n = 0; n < 20000; n++) {
      const tcp = (n & 1) === 0;
      const l4Csum = n % 7 === 0 ? edges[(n >>> 3) % edges.length] : rand() & 0xffff;
      const ipCsum = n % 5 === 0 ? edges[(n >>> 2) % edges.length] : rand() & 0xffff;
      const b = frame(rand, tcp, l4Csum, ipCsum);
      // New values: random, or some words equal to the old ones (partial translations: SNAT or DNAT only).
      const keep = n % 4;
      const ns = keep === 1 ? read32(b, I + 12) : rand() | 0;
      const nd = keep === 2 ? read32(b, I + 16) : rand() | 0;
      const ports = read32(b, I + 20);
      const rp = keep === 3 ? (ports >>> 16) | (ports << 16) : rand() | 0;
      const [fast, full] = both(b, tcp, ns, nd, rp);
      if (bad === undefined && fast.some((v, k) => v !== full[k])) bad = { n, fast: Array.from(fast), full: Array.from(full) };
      if (!fast.every((v, k) => v === b[k])) changed++;
      if (!tcp && l4Csum === 0 && fast[I + 26] === 0 && fast[I + 27] === 0) udpZeroKept++;
    }
    expect(bad).toBeUndefined();
    expect(changed).toBeGreaterThan(19000);
    expect(udpZeroKept).toBeGreaterThan(0);
  });

  it('leaves a packet that already carries the translated tuple as it is (a flow NAT does not translate)', () => {
    const b = frame(() => 0x5a5a5a5a, false, 0xffff, 0xffff);
    const ports = read32(b, I + 20);
    const [fast, full] = both(b, false, read32(b, I + 12), read32(b, I + 16), (ports >>> 16) | (ports << 16));
    expect(fast).toEqual(b);
    expect(full).toEqual(b);
  });

  it('makes a translated UDP checksum that comes to 0 into 0xffff, as rewriteTcpUdp does (RFC 768: 0 means none)', () => {
    // Find a translation whose UDP checksum comes to 0x0000 (searching new source addresses): the sum
    // folded is never 0 for a positive sum, so a result of 0xffff is the replacement of a 0.
    const b = frame(() => 0x01020304, false, 0x1234, 0x4321);
    let found = 0;
    let mismatches = 0;
    for (let ns = 1; ns < 1 << 20 && found === 0; ns++) {
      const [fast, full] = both(b, false, ns, read32(b, I + 16), 0x11112222);
      for (let k = 0; k < fast.length; k++) if (fast[k] !== full[k]) mismatches++;
      if (fast[I + 26] === 0xff && fast[I + 27] === 0xff) found = ns;
    }
    expect(found).toBeGreaterThan(0);
    expect(mismatches).toBe(0);
  });
});
