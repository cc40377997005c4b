import { describe, expect, it } from 'vitest';
import { WireDrop } from '../../src/wire/drop-reason.js';
import { setIpv4DstWithCsum, setIpv4SrcWithCsum } from '../../src/wire/ipv4.js';
import {
  checkUdp, emitUdp, fillUdpChecksum, parseUdp, setUdpChecksum, setUdpDstPort, setUdpDstPortWithCsum, setUdpLength,
  setUdpSrcPort, setUdpSrcPortWithCsum, UDP_HEADER_LEN, udpChecksum, udpChecksumOk, udpDstPort, udpLength, udpSrcPort,
  updateUdpChecksumForAddress, type UdpRepr,
} from '../../src/wire/udp.js';
import { UDP_CSUM_ZERO, UDP_DNS, UDP_DNS_IP, UDP_DNS_UDP } from './golden.js';
import { at, filled, toHex } from './helpers.js';

const DNS_LEN = 64;
const DNS_REPR: UdpRepr = { srcPort: 43966, dstPort: 53, checksum: 0x7824, payload: UDP_DNS.slice(UDP_DNS_UDP + 8) };

describe('UDP header (RFC 768)', () => {
  it('deconstructs a DNS query (dns_udp.pcap frame 1)', () => {
    const b = UDP_DNS, o = UDP_DNS_UDP;
    expect(checkUdp(b, o, DNS_LEN)).toBe(WireDrop.OK);
    expect(udpSrcPort(b, o)).toBe(43966);
    expect(udpDstPort(b, o)).toBe(53);
    expect(udpLength(b, o)).toBe(DNS_LEN);
    expect(udpChecksum(b, o)).toBe(0x7824);
    expect(udpChecksumOk(b, UDP_DNS_IP, o, DNS_LEN)).toBe(true);
  });

  it('constructs the header with every setter on a 0xa5 buffer', () => {
    const b = filled(UDP_HEADER_LEN);
    setUdpSrcPort(b, 0, 43966);
    setUdpDstPort(b, 0, 53);
    setUdpLength(b, 0, DNS_LEN);
    setUdpChecksum(b, 0, 0x7824);
    expect(toHex(b)).toBe(toHex(UDP_DNS.subarray(UDP_DNS_UDP, UDP_DNS_UDP + 8)));
  });

  it('fillUdpChecksum computes what the capture carries', () => {
    const b = at(UDP_DNS, 0);
    setUdpChecksum(b, UDP_DNS_UDP, 0x1111);
    expect(udpChecksumOk(b, UDP_DNS_IP, UDP_DNS_UDP, DNS_LEN)).toBe(false);
    fillUdpChecksum(b, UDP_DNS_IP, UDP_DNS_UDP, DNS_LEN);
    expect(udpChecksum(b, UDP_DNS_UDP)).toBe(0x7824);
  });

  it('parses and emits the DNS query byte for byte', () => {
    expect(parseUdp(UDP_DNS, UDP_DNS_UDP, DNS_LEN)).toEqual({ ok: true, repr: DNS_REPR });
    const b = filled(DNS_LEN + 2);
    expect(emitUdp({ ...DNS_REPR, checksum: 0 }, b, 1, '192.168.1.11', '209.87.249.18')).toBe(DNS_LEN);
    expect(toHex(b)).toBe('a5' + toHex(UDP_DNS.subarray(UDP_DNS_UDP)) + 'a5');
  });

  describe('RFC 768 zero checksum', () => {
    it('a computed checksum of 0x0000 is sent as 0xffff (scapy agrees), and verifies', () => {
      const b = at(UDP_CSUM_ZERO, 0);
      setUdpChecksum(b, 20, 0x1234);
      fillUdpChecksum(b, 0, 20, 10);
      expect(udpChecksum(b, 20)).toBe(0xffff);
      expect(udpChecksumOk(b, 0, 20, 10)).toBe(true);
      const r = parseUdp(UDP_CSUM_ZERO, 20, 10);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const out = filled(10);
      emitUdp(r.repr, out, 0, '198.51.100.1', '203.0.113.5');
      expect(toHex(out)).toBe(toHex(UDP_CSUM_ZERO.subarray(20)));
    });

    it('an incremental update landing on 0x0000 writes 0xffff', () => {
      const b = at(UDP_CSUM_ZERO, 0);
      setUdpSrcPortWithCsum(b, 20, 1234);
      expect(udpChecksumOk(b, 0, 20, 10)).toBe(true);
      setUdpSrcPortWithCsum(b, 20, 53);
      expect(udpChecksum(b, 20)).toBe(0xffff);
    });

    it('checksum 0 means none: it verifies, and rewrites keep it 0', () => {
      const b = at(UDP_DNS, 0);
      setUdpChecksum(b, UDP_DNS_UDP, 0);
      expect(udpChecksumOk(b, UDP_DNS_IP, UDP_DNS_UDP, DNS_LEN)).toBe(true);
      setUdpSrcPortWithCsum(b, UDP_DNS_UDP, 40000);
      setUdpDstPortWithCsum(b, UDP_DNS_UDP, 5353);
      updateUdpChecksumForAddress(b, UDP_DNS_UDP, 0xc0a8010b, 0xc6336401);
      expect(udpChecksum(b, UDP_DNS_UDP)).toBe(0);
    });

    it('emit can send no checksum', () => {
      const b = filled(DNS_LEN);
      emitUdp({ ...DNS_REPR, checksum: 0 }, b, 0, 1, 2, { computeChecksum: false });
      expect(udpChecksum(b, 0)).toBe(0);
    });
  });

  it('NAPT: port and address rewrites keep the checksum equal to recomputation', () => {
    const b = at(UDP_DNS, 0);
    setUdpSrcPortWithCsum(b, UDP_DNS_UDP, 61000);
    setIpv4SrcWithCsum(b, UDP_DNS_IP, 0xc6336401);
    updateUdpChecksumForAddress(b, UDP_DNS_UDP, 0xc0a8010b, 0xc6336401);
    setIpv4DstWithCsum(b, UDP_DNS_IP, 0xcb007105);
    updateUdpChecksumForAddress(b, UDP_DNS_UDP, 0xd157f912, 0xcb007105);
    setUdpDstPortWithCsum(b, UDP_DNS_UDP, 5353);
    expect(udpChecksumOk(b, UDP_DNS_IP, UDP_DNS_UDP, DNS_LEN)).toBe(true);
    const c = udpChecksum(b, UDP_DNS_UDP);
    fillUdpChecksum(b, UDP_DNS_IP, UDP_DNS_UDP, DNS_LEN);
    expect(udpChecksum(b, UDP_DNS_UDP)).toBe(c);
  });

  it('a length field below the IP payload is allowed; the payload stops at the length field', () => {
    const b = at(UDP_DNS, 0);
    setUdpLength(b, UDP_DNS_UDP, 12);
    const r = parseUdp(b, UDP_DNS_UDP, DNS_LEN);
    expect(r.ok && r.repr.payload).toEqual(UDP_DNS.slice(UDP_DNS_UDP + 8, UDP_DNS_UDP + 12));
  });

  describe('bad input', () => {
    it('UDP_TRUNCATED: 7 bytes', () => {
      expect(checkUdp(UDP_DNS, UDP_DNS_UDP, 7)).toBe(WireDrop.UDP_TRUNCATED);
      expect(parseUdp(UDP_DNS, UDP_DNS_UDP, 7)).toEqual({ ok: false, reason: WireDrop.UDP_TRUNCATED });
    });
    it('UDP_BAD_LENGTH: length field 7, below the header', () => {
      const b = at(UDP_DNS, 0);
      setUdpLength(b, UDP_DNS_UDP, 7);
      expect(checkUdp(b, UDP_DNS_UDP, DNS_LEN)).toBe(WireDrop.UDP_BAD_LENGTH);
    });
    it('UDP_BAD_LENGTH: length field 64 in a 63-byte IP payload', () => {
      expect(checkUdp(UDP_DNS, UDP_DNS_UDP, 63)).toBe(WireDrop.UDP_BAD_LENGTH);
      expect(parseUdp(UDP_DNS, UDP_DNS_UDP, 63)).toEqual({ ok: false, reason: WireDrop.UDP_BAD_LENGTH });
    });
    it('a bad checksum is not part of checkUdp: udpChecksumOk catches it (UDP_BAD_CHECKSUM is the caller\'s)', () => {
      const b = at(UDP_DNS, 0);
      b[UDP_DNS_UDP + 20] ^= 0x40;
      expect(checkUdp(b, UDP_DNS_UDP, DNS_LEN)).toBe(WireDrop.OK);
      expect(udpChecksumOk(b, UDP_DNS_IP, UDP_DNS_UDP, DNS_LEN)).toBe(false);
    });
  });

  it('emit refuses a payload the length field cannot describe', () => {
    expect(() => emitUdp({ ...DNS_REPR, payload: new Uint8Array(65528) }, new Uint8Array(70000), 0, 1, 2)).toThrow(RangeError);
  });
});
