// emit -> parse round trips of random reprs, and parse -> emit of random valid bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ARP_LEN, checkArp, emitArp, parseArp } from '../../src/wire/arp.js';
import { WireDrop } from '../../src/wire/drop-reason.js';
import { emitEthernet, ethernetReprHeaderLen, parseEthernet } from '../../src/wire/ethernet.js';
import { emitIcmp, icmpChecksumOk, icmpReprLen, parseIcmp } from '../../src/wire/icmp.js';
import { checkIpv4, emitIpv4, ipv4ChecksumOk, parseIpv4 } from '../../src/wire/ipv4.js';
import { emitTcp, parseTcp, tcpChecksum, tcpChecksumOk, tcpReprHeaderLen } from '../../src/wire/tcp.js';
import { emitUdp, parseUdp, udpChecksum, udpChecksumOk } from '../../src/wire/udp.js';
import { arpRepr, bytes, ethernetRepr, icmpRepr, ipv4Repr, ipv4Text, tcpRepr, u16, udpRepr } from './arbitraries.js';
import { toHex } from './helpers.js';

const RUNS = { numRuns: 500 };

/** A 20-byte IPv4 header for `l4Len` bytes of `protocol`, with a valid checksum. */
function ipHeader(b: Uint8Array, src: string, dst: string, protocol: number, l4Len: number): void {
  emitIpv4({ ihl: 5, tos: 0, totalLength: 20 + l4Len, id: 1, df: false, mf: false, fragOffset: 0, ttl: 64, protocol, checksum: 0, src, dst, options: [] }, b, 0);
}

describe('emit -> parse round trips of random reprs', () => {
  it('Ethernet with 0-3 tags', () => {
    fc.assert(fc.property(ethernetRepr, (r) => {
      const b = new Uint8Array(ethernetReprHeaderLen(r));
      expect(emitEthernet(r, b, 0)).toBe(b.length);
      expect(parseEthernet(b, 0, b.length)).toEqual({ ok: true, repr: r });
    }), RUNS);
  });

  it('ARP', () => {
    fc.assert(fc.property(arpRepr, (r) => {
      const b = new Uint8Array(ARP_LEN);
      emitArp(r, b, 0);
      expect(parseArp(b, 0, ARP_LEN)).toEqual({ ok: true, repr: r });
    }), RUNS);
  });

  it('IPv4 with options: the repr comes back, and a computed checksum verifies', () => {
    fc.assert(fc.property(ipv4Repr, (r) => {
      const b = new Uint8Array(r.totalLength);
      emitIpv4(r, b, 0, { computeChecksum: false });
      expect(parseIpv4(b, 0, b.length)).toEqual({ ok: true, repr: r });
      emitIpv4(r, b, 0);
      expect(ipv4ChecksumOk(b, 0)).toBe(true);
    }), RUNS);
  });

  it('TCP with options and payload, checksum computed over the pseudo-header', () => {
    fc.assert(fc.property(tcpRepr, ipv4Text, ipv4Text, (r, src, dst) => {
      const len = tcpReprHeaderLen(r) + r.payload.length;
      const b = new Uint8Array(20 + len);
      ipHeader(b, src, dst, 6, len);
      expect(emitTcp(r, b, 20, src, dst, { computeChecksum: false })).toBe(len);
      expect(parseTcp(b, 20, len)).toEqual({ ok: true, repr: r });
      emitTcp(r, b, 20, src, dst);
      expect(tcpChecksumOk(b, 0, 20, len)).toBe(true);
      expect(parseTcp(b, 20, len)).toEqual({ ok: true, repr: { ...r, checksum: tcpChecksum(b, 20) } });
    }), RUNS);
  });

  it('UDP, checksum computed over the pseudo-header (never 0 on the wire)', () => {
    fc.assert(fc.property(udpRepr, ipv4Text, ipv4Text, (r, src, dst) => {
      const len = 8 + r.payload.length;
      const b = new Uint8Array(20 + len);
      ipHeader(b, src, dst, 17, len);
      emitUdp(r, b, 20, src, dst, { computeChecksum: false });
      expect(parseUdp(b, 20, len)).toEqual({ ok: true, repr: r });
      emitUdp(r, b, 20, src, dst);
      expect(udpChecksum(b, 20)).not.toBe(0);
      expect(udpChecksumOk(b, 0, 20, len)).toBe(true);
    }), RUNS);
  });

  it('ICMP of every shape: echo, errors (mtu / pointer / gateway), timestamp, other', () => {
    fc.assert(fc.property(icmpRepr, (r) => {
      const len = icmpReprLen(r);
      const b = new Uint8Array(len);
      expect(emitIcmp(r, b, 0)).toBe(len);
      expect(icmpChecksumOk(b, 0, len)).toBe(true);
      expect(parseIcmp(b, 0, len)).toEqual({ ok: true, repr: r });
    }), RUNS);
  });
});

describe('parse -> emit of random bytes that pass the check gives the same bytes', () => {
  it('Ethernet header', () => {
    fc.assert(fc.property(bytes(40, 14), (b) => {
      const r = parseEthernet(b, 0, b.length);
      if (!r.ok) return;
      const out = new Uint8Array(ethernetReprHeaderLen(r.repr));
      emitEthernet(r.repr, out, 0);
      expect(toHex(out)).toBe(toHex(b.subarray(0, out.length)));
    }), RUNS);
  });

  it('ARP (Ethernet/IPv4 shape forced)', () => {
    fc.assert(fc.property(bytes(28, 28), (b) => {
      b.set([0, 1, 8, 0, 6, 4], 0);
      expect(checkArp(b, 0, ARP_LEN)).toBe(WireDrop.OK);
      const r = parseArp(b, 0, ARP_LEN);
      const out = new Uint8Array(ARP_LEN);
      if (r.ok) emitArp(r.repr, out, 0);
      expect(toHex(out)).toBe(toHex(b));
    }), RUNS);
  });

  it('IPv4 header without options (any flags, any checksum)', () => {
    fc.assert(fc.property(bytes(20, 20), u16, (b, extra) => {
      b[0] = 0x45;
      const total = 20 + (extra % 64);
      b[2] = total >> 8;
      b[3] = total;
      const buf = new Uint8Array(total);
      buf.set(b);
      expect(checkIpv4(buf, 0, total)).toBe(WireDrop.OK);
      const r = parseIpv4(buf, 0, total);
      const out = new Uint8Array(20);
      if (r.ok) emitIpv4(r.repr, out, 0, { computeChecksum: false });
      expect(toHex(out)).toBe(toHex(b));
    }), RUNS);
  });

  it('UDP datagram', () => {
    fc.assert(fc.property(bytes(72, 8), (b) => {
      b[4] = 0;
      b[5] = b.length;
      const r = parseUdp(b, 0, b.length);
      const out = new Uint8Array(b.length);
      if (r.ok) emitUdp(r.repr, out, 0, 0, 0, { computeChecksum: false });
      expect(toHex(out)).toBe(toHex(b));
    }), RUNS);
  });
});
