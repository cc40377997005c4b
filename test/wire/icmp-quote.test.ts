import { describe, expect, it } from 'vitest';
import { ICMP_QUOTE_OFFSET, parseIcmpQuote } from '../../src/wire/icmp.js';
import { setIpv4FragOffset } from '../../src/wire/ipv4.js';
import {
  ICMP_FRAG_NEEDED, ICMP_PARAM_PROBLEM, ICMP_PORT_UNREACH, ICMP_PORT_UNREACH_ICMP, ICMP_REDIRECT_HOST,
  ICMP_TIME_EXCEEDED_MPLS, IGMP_IP, IGMP_ROUTER_ALERT,
} from './golden.js';
import { at } from './helpers.js';

const UNREACH_Q = ICMP_PORT_UNREACH_ICMP + ICMP_QUOTE_OFFSET;
const UNREACH_QLEN = ICMP_PORT_UNREACH.length - UNREACH_Q;

describe('ICMP error quotes (RFC 792, RFC 1812 4.3.2.3)', () => {
  it('decodes a UDP quote cut after 8 bytes: total length 67, 28 bytes there (test.pcap frame 51)', () => {
    const q = parseIcmpQuote(ICMP_PORT_UNREACH, UNREACH_Q, UNREACH_QLEN);
    expect(q.ip).toMatchObject({ src: '172.16.11.1', dst: '172.16.11.12', protocol: 17, totalLength: 67, ttl: 64, id: 0xc180 });
    expect(q.ipHeaderComplete).toBe(true);
    expect(q.truncated).toBe(true);
    expect(q.l4Offset).toBe(UNREACH_Q + 20);
    expect(q.l4Len).toBe(8);
    expect(q).toMatchObject({ srcPort: 53, dstPort: 59368, udpLength: 47, udpChecksum: 0 });
    expect(q.tcpSeq).toBeUndefined();
  });

  it('decodes a TCP quote: ports and sequence number (frag-needed, scapy-built)', () => {
    const q = parseIcmpQuote(ICMP_FRAG_NEEDED, 28, 28);
    expect(q.ip).toMatchObject({ src: '198.51.100.7', dst: '203.0.113.5', df: true, protocol: 6, totalLength: 40 });
    expect(q).toMatchObject({ truncated: true, srcPort: 40000, dstPort: 443, tcpSeq: 0x11223344 });
  });

  it('decodes a quote given as repr.quote from offset 0 (redirect, scapy-built)', () => {
    const quote = ICMP_REDIRECT_HOST.slice(28);
    const q = parseIcmpQuote(quote, 0, quote.length);
    expect(q).toMatchObject({ truncated: false, srcPort: 5000, dstPort: 53, udpLength: 8, l4Offset: 20, l4Len: 8 });
  });

  it('decodes a 128-byte quote of a traceroute probe with TTL 1 (mpls-traceroute.pcap frame 2)', () => {
    const q = parseIcmpQuote(ICMP_TIME_EXCEEDED_MPLS, 28, 40);
    expect(q.ip).toMatchObject({ ttl: 1, protocol: 17, src: '12.4.4.4', dst: '12.1.1.1' });
    expect(q).toMatchObject({ truncated: false, srcPort: 42315, dstPort: 33435 });
  });

  it('a quoted header with options leaves only 4 bytes of the ICMP echo: type and code, no id/seq (parameter problem)', () => {
    const q = parseIcmpQuote(ICMP_PARAM_PROBLEM, 8, ICMP_PARAM_PROBLEM.length - 8);
    expect(q.ip?.ihl).toBe(7);
    expect(q.ip?.options).toEqual([{ type: 7, data: new Uint8Array([4, 0, 0, 0, 0]) }]);
    expect(q).toMatchObject({ l4Len: 4, icmpType: 8, icmpCode: 0 });
    expect(q.icmpId).toBeUndefined();
    expect(q.srcPort).toBeUndefined();
  });

  describe('truncation never fails; it fills in what is there', () => {
    it.each([0, 1, 10, 19])('%i bytes: no header', (n) => {
      const q = parseIcmpQuote(ICMP_PORT_UNREACH, UNREACH_Q, n);
      expect(q).toEqual({ ip: null, ipHeaderComplete: false, truncated: true, l4Offset: -1, l4Len: 0 });
    });

    it('20 bytes: the header, no ports', () => {
      const q = parseIcmpQuote(ICMP_PORT_UNREACH, UNREACH_Q, 20);
      expect(q.ip?.dst).toBe('172.16.11.12');
      expect(q.l4Len).toBe(0);
      expect(q.srcPort).toBeUndefined();
    });

    it('23 bytes: 3 L4 bytes are not enough for ports', () => {
      const q = parseIcmpQuote(ICMP_PORT_UNREACH, UNREACH_Q, 23);
      expect(q.l4Len).toBe(3);
      expect(q.srcPort).toBeUndefined();
    });

    it('24 bytes: ports, no UDP length', () => {
      const q = parseIcmpQuote(ICMP_PORT_UNREACH, UNREACH_Q, 24);
      expect(q).toMatchObject({ srcPort: 53, dstPort: 59368 });
      expect(q.udpLength).toBeUndefined();
    });

    it('a header whose options are cut: partial repr, header incomplete, no L4', () => {
      const q = parseIcmpQuote(IGMP_ROUTER_ALERT, IGMP_IP, 22);
      expect(q.ip?.ihl).toBe(6);
      expect(q.ip?.options).toEqual([]);
      expect(q.ipHeaderComplete).toBe(false);
      expect(q.l4Offset).toBe(-1);
    });

    it('a len larger than the buffer is clamped to the buffer', () => {
      const q = parseIcmpQuote(ICMP_PORT_UNREACH, UNREACH_Q, 1000);
      expect(q.l4Len).toBe(8);
    });

    it('not IPv4 (version 6): no header', () => {
      const b = at(ICMP_PORT_UNREACH, 0);
      b[UNREACH_Q] = 0x65;
      expect(parseIcmpQuote(b, UNREACH_Q, UNREACH_QLEN).ip).toBeNull();
      b[UNREACH_Q] = 0x44;
      expect(parseIcmpQuote(b, UNREACH_Q, UNREACH_QLEN).ip).toBeNull();
    });

    it('a non-first fragment: its payload is not an L4 header, so no ports', () => {
      const b = at(ICMP_PORT_UNREACH, 0);
      setIpv4FragOffset(b, UNREACH_Q, 1);
      const q = parseIcmpQuote(b, UNREACH_Q, UNREACH_QLEN);
      expect(q.ip?.fragOffset).toBe(1);
      expect(q.srcPort).toBeUndefined();
      expect(q.l4Offset).toBe(-1);
    });
  });
});
