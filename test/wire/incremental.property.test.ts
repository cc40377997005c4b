// RFC 1624 incremental checksum updates equal full recomputation after random rewrites.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emitIcmp, fillIcmpChecksum, icmpChecksum, setIcmpEchoIdWithCsum } from '../../src/wire/icmp.js';
import {
  decrementIpv4Ttl, emitIpv4, fillIpv4Checksum, ipv4Checksum, ipv4ChecksumOk, ipv4Dst, ipv4Src, setIpv4DstWithCsum,
  setIpv4SrcWithCsum, setIpv4TtlWithCsum,
} from '../../src/wire/ipv4.js';
import { tcpFindMssOffset, tcpOptionsLength, type TcpOption } from '../../src/wire/tcp-options.js';
import {
  clampTcpMss, emitTcp, fillTcpChecksum, setTcpDstPortWithCsum, setTcpSrcPortWithCsum, TCP_SYN, tcpChecksum,
  tcpChecksumOk, tcpHeaderLen, tcpReprHeaderLen, updateTcpChecksumForAddress,
} from '../../src/wire/tcp.js';
import {
  emitUdp, fillUdpChecksum, setUdpChecksum, setUdpDstPortWithCsum, setUdpSrcPortWithCsum, udpChecksum,
  updateUdpChecksumForAddress,
} from '../../src/wire/udp.js';
import { bytes, ipv4Repr, ipv4Text, tcpOptions, tcpRepr, u16, u32, u8, udpRepr } from './arbitraries.js';

const RUNS = { numRuns: 1000 };

type Rewrite = { kind: 'ttl' | 'dec' | 'src' | 'dst' | 'sport' | 'dport'; value: number };
const rewrite: fc.Arbitrary<Rewrite> = fc.oneof(
  u8.map((value) => ({ kind: 'ttl' as const, value })),
  fc.constant({ kind: 'dec' as const, value: 0 }),
  u32.map((value) => ({ kind: 'src' as const, value })),
  u32.map((value) => ({ kind: 'dst' as const, value })),
  u16.map((value) => ({ kind: 'sport' as const, value })),
  u16.map((value) => ({ kind: 'dport' as const, value })),
);

/** Applies the IPv4 part of a rewrite (NAT / forwarding) and returns the old and new address when one changed. */
function applyIp(b: Uint8Array, w: Rewrite): [number, number] | null {
  switch (w.kind) {
    case 'ttl': setIpv4TtlWithCsum(b, 0, w.value); return null;
    case 'dec': decrementIpv4Ttl(b, 0); return null;
    case 'src': { const old = ipv4Src(b, 0); setIpv4SrcWithCsum(b, 0, w.value); return [old, w.value]; }
    case 'dst': { const old = ipv4Dst(b, 0); setIpv4DstWithCsum(b, 0, w.value); return [old, w.value]; }
    default: return null;
  }
}

function expectIpv4ChecksumFresh(b: Uint8Array): void {
  const c = ipv4Checksum(b, 0);
  fillIpv4Checksum(b, 0);
  expect(c).toBe(ipv4Checksum(b, 0));
}

describe('incremental checksums (RFC 1624) equal recomputation', () => {
  it('IPv4 header: TTL set / decrement, source and destination rewrites, with options', () => {
    fc.assert(fc.property(ipv4Repr, fc.array(rewrite, { maxLength: 8 }), (r, ws) => {
      const b = new Uint8Array(r.totalLength);
      emitIpv4(r, b, 0);
      for (const w of ws) applyIp(b, w);
      expect(ipv4ChecksumOk(b, 0)).toBe(true);
      expectIpv4ChecksumFresh(b);
    }), RUNS);
  });

  it('TCP: port and address rewrites (NAPT), pseudo-header included', () => {
    fc.assert(fc.property(tcpRepr, ipv4Text, ipv4Text, fc.array(rewrite, { maxLength: 8 }), (r, src, dst, ws) => {
      const len = tcpReprHeaderLen(r) + r.payload.length;
      const b = new Uint8Array(20 + len);
      emitIpv4({ ihl: 5, tos: 0, totalLength: 20 + len, id: 0, df: true, mf: false, fragOffset: 0, ttl: 64, protocol: 6, checksum: 0, src, dst, options: [] }, b, 0);
      emitTcp(r, b, 20, src, dst);
      for (const w of ws) {
        const addr = applyIp(b, w);
        if (addr) updateTcpChecksumForAddress(b, 20, addr[0], addr[1]);
        if (w.kind === 'sport') setTcpSrcPortWithCsum(b, 20, w.value);
        if (w.kind === 'dport') setTcpDstPortWithCsum(b, 20, w.value);
      }
      expect(tcpChecksumOk(b, 0, 20, len)).toBe(true);
      const c = tcpChecksum(b, 20);
      fillTcpChecksum(b, 0, 20, len);
      expect(c).toBe(tcpChecksum(b, 20));
      expectIpv4ChecksumFresh(b);
    }), RUNS);
  });

  it('UDP: rewrites keep a zero (absent) checksum zero, and otherwise equal recomputation (0 sent as 0xffff)', () => {
    fc.assert(fc.property(udpRepr, ipv4Text, ipv4Text, fc.boolean(), fc.array(rewrite, { maxLength: 8 }), (r, src, dst, absent, ws) => {
      const len = 8 + r.payload.length;
      const b = new Uint8Array(20 + len);
      emitIpv4({ ihl: 5, tos: 0, totalLength: 20 + len, id: 0, df: false, mf: false, fragOffset: 0, ttl: 64, protocol: 17, checksum: 0, src, dst, options: [] }, b, 0);
      emitUdp(r, b, 20, src, dst);
      if (absent) setUdpChecksum(b, 20, 0);
      for (const w of ws) {
        const addr = applyIp(b, w);
        if (addr) updateUdpChecksumForAddress(b, 20, addr[0], addr[1]);
        if (w.kind === 'sport') setUdpSrcPortWithCsum(b, 20, w.value);
        if (w.kind === 'dport') setUdpDstPortWithCsum(b, 20, w.value);
      }
      const c = udpChecksum(b, 20);
      if (absent) {
        expect(c).toBe(0);
      } else {
        fillUdpChecksum(b, 0, 20, len);
        expect(c).toBe(udpChecksum(b, 20));
        expect(c).not.toBe(0);
      }
    }), RUNS);
  });

  it('UDP: port rewrites that land the computed checksum on 0x0000 still send 0xffff', () => {
    // Search for a destination port that makes the true checksum 0, then rewrite to it.
    fc.assert(fc.property(bytes(16, 2), u16, (payload, sport) => {
      const len = 8 + payload.length;
      const b = new Uint8Array(20 + len);
      emitIpv4({ ihl: 5, tos: 0, totalLength: 20 + len, id: 0, df: false, mf: false, fragOffset: 0, ttl: 64, protocol: 17, checksum: 0, src: '198.51.100.1', dst: '203.0.113.5', options: [] }, b, 0);
      emitUdp({ srcPort: sport, dstPort: 0, checksum: 0, payload }, b, 20, '198.51.100.1', '203.0.113.5');
      // With dport 0 the checksum is C; a dport of ~C's complement makes the ones-complement sum 0xffff.
      const c = udpChecksum(b, 20) === 0xffff ? 0 : udpChecksum(b, 20);
      const dport = c;
      setUdpDstPortWithCsum(b, 20, dport);
      const inc = udpChecksum(b, 20);
      fillUdpChecksum(b, 0, 20, len);
      expect(inc).toBe(udpChecksum(b, 20));
      expect(inc).toBe(0xffff);
    }), { numRuns: 300 });
  });

  it('ICMP echo identifier rewrite (query NAT)', () => {
    fc.assert(fc.property(u16, u16, u16, bytes(56), (id, seq, newId, data) => {
      const b = new Uint8Array(8 + data.length);
      emitIcmp({ type: 8, code: 0, id, seq, data }, b, 0);
      setIcmpEchoIdWithCsum(b, 0, newId);
      const c = icmpChecksum(b, 0);
      fillIcmpChecksum(b, 0, b.length);
      expect(c).toBe(icmpChecksum(b, 0));
    }), RUNS);
  });

  it('MSS clamping at any option alignment', () => {
    const synOptions = fc
      .tuple(fc.nat(3), u16, tcpOptions)
      .map(([nops, mss, rest]): TcpOption[] => [
        ...Array.from({ length: nops }, (): TcpOption => ({ type: 'nop' })),
        { type: 'mss', mss },
        ...rest.filter((o) => o.type !== 'mss'),
      ])
      .filter((o) => tcpOptionsLength(o) <= 40);
    fc.assert(fc.property(tcpRepr, synOptions, u16, (r, options, max) => {
      const { dataOffset: _auto, ...rest } = r;
      const syn = { ...rest, flags: r.flags | TCP_SYN, options };
      const len = tcpReprHeaderLen(syn) + syn.payload.length;
      const b = new Uint8Array(20 + len);
      emitIpv4({ ihl: 5, tos: 0, totalLength: 20 + len, id: 0, df: true, mf: false, fragOffset: 0, ttl: 64, protocol: 6, checksum: 0, src: '192.0.2.1', dst: '198.51.100.2', options: [] }, b, 0);
      emitTcp(syn, b, 20, '192.0.2.1', '198.51.100.2');
      const at = tcpFindMssOffset(b, 40, 20 + tcpHeaderLen(b, 20));
      expect(at).toBe(40 + options.findIndex((o) => o.type === 'mss') + 2);
      const before = (b[at] << 8) | b[at + 1];
      expect(clampTcpMss(b, 20, max)).toBe(before > max);
      expect((b[at] << 8) | b[at + 1]).toBe(Math.min(before, max));
      const c = tcpChecksum(b, 20);
      fillTcpChecksum(b, 0, 20, len);
      expect(c).toBe(tcpChecksum(b, 20));
    }), RUNS);
  });
});
