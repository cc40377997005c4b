import { describe, expect, it } from 'vitest';
import { WireDrop } from '../../src/wire/drop-reason.js';
import {
  checkIcmp, emitIcmp, fillIcmpChecksum, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_PARAMETER_PROBLEM,
  ICMP_QUOTE_OFFSET, ICMP_REDIRECT, ICMP_REDIRECT_HOST, ICMP_ROUTER_SOLICITATION, ICMP_SOURCE_QUENCH, ICMP_TIME_EXCEEDED,
  ICMP_TIME_EXCEEDED_TTL, ICMP_TIMESTAMP, ICMP_TIMESTAMP_REPLY, ICMP_UNREACH_ADMIN_PROHIBITED, ICMP_UNREACH_FRAG_NEEDED,
  ICMP_UNREACH_HOST_PROHIBITED, ICMP_UNREACH_NET_PROHIBITED, ICMP_UNREACH_PORT, ICMP_UNREACH_SOURCE_ROUTE_FAILED,
  icmpChecksum, icmpChecksumOk, icmpCode, icmpEchoId, icmpEchoSeq, icmpErrorQuoteLen, icmpGateway, icmpIsError,
  icmpNextHopMtu, icmpPointer, icmpReprLen, icmpRest, icmpTimestampOriginate, icmpTimestampReceive, icmpTimestampTransmit,
  icmpType, isIcmpEchoRepr, isIcmpErrorRepr, isIcmpTimestampRepr, parseIcmp, setIcmpChecksum, setIcmpCode,
  setIcmpEchoId, setIcmpEchoIdWithCsum, setIcmpEchoSeq, setIcmpGateway, setIcmpNextHopMtu, setIcmpPointer, setIcmpRest,
  setIcmpTimestampOriginate, setIcmpTimestampReceive, setIcmpTimestampTransmit, setIcmpType, type IcmpRepr,
} from '../../src/wire/icmp.js';
import {
  ICMP_ECHO, ICMP_FRAG_NEEDED, ICMP_PARAM_PROBLEM, ICMP_PORT_UNREACH, ICMP_PORT_UNREACH_ICMP, ICMP_REDIRECT_HOST as REDIRECT_PKT,
  ICMP_TIME_EXCEEDED_MPLS, ICMP_TIMESTAMP_REQUEST,
} from './golden.js';
import { at, filled, hex, toHex } from './helpers.js';

const ECHO_LEN = 64;
const UNREACH_LEN = ICMP_PORT_UNREACH.length - ICMP_PORT_UNREACH_ICMP;

describe('ICMP (RFC 792)', () => {
  it('constants: RFC 1812 unreachable codes and error types', () => {
    expect([ICMP_UNREACH_FRAG_NEEDED, ICMP_UNREACH_SOURCE_ROUTE_FAILED, ICMP_UNREACH_NET_PROHIBITED, ICMP_UNREACH_HOST_PROHIBITED, ICMP_UNREACH_ADMIN_PROHIBITED]).toEqual([4, 5, 9, 10, 13]);
    expect([3, 4, 5, 11, 12].every(icmpIsError)).toBe(true);
    expect([ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, 9, 10, ICMP_TIMESTAMP, ICMP_TIMESTAMP_REPLY, 255].some(icmpIsError)).toBe(false);
  });

  describe('echo', () => {
    it('deconstructs an echo request (e1000g.pcap frame 1)', () => {
      const b = ICMP_ECHO, o = 20;
      expect(checkIcmp(b, o, ECHO_LEN)).toBe(WireDrop.OK);
      expect(icmpType(b, o)).toBe(ICMP_ECHO_REQUEST);
      expect(icmpCode(b, o)).toBe(0);
      expect(icmpChecksum(b, o)).toBe(0x32e2);
      expect(icmpEchoId(b, o)).toBe(0x1af5);
      expect(icmpEchoSeq(b, o)).toBe(0);
      expect(icmpRest(b, o)).toBe(0x1af50000);
      expect(icmpChecksumOk(b, o, ECHO_LEN)).toBe(true);
    });

    it('constructs the echo header with every setter on a 0xa5 buffer', () => {
      const b = filled(8);
      setIcmpType(b, 0, ICMP_ECHO_REQUEST);
      setIcmpCode(b, 0, 0);
      setIcmpChecksum(b, 0, 0x32e2);
      setIcmpEchoId(b, 0, 0x1af5);
      setIcmpEchoSeq(b, 0, 0);
      expect(toHex(b)).toBe(toHex(ICMP_ECHO.subarray(20, 28)));
    });

    it('parses and emits the echo request byte for byte', () => {
      const r = parseIcmp(ICMP_ECHO, 20, ECHO_LEN);
      expect(r).toEqual({ ok: true, repr: { type: 8, code: 0, id: 0x1af5, seq: 0, data: ICMP_ECHO.slice(28) } });
      if (!r.ok) return;
      expect(isIcmpEchoRepr(r.repr)).toBe(true);
      expect(isIcmpErrorRepr(r.repr) || isIcmpTimestampRepr(r.repr)).toBe(false);
      const b = filled(ECHO_LEN + 1);
      expect(emitIcmp(r.repr, b, 0)).toBe(ECHO_LEN);
      expect(icmpReprLen(r.repr)).toBe(ECHO_LEN);
      expect(toHex(b)).toBe(toHex(ICMP_ECHO.subarray(20)) + 'a5');
    });

    it('answers in place: type 0 plus a recomputed checksum (RFC 792 echo reply)', () => {
      const b = at(ICMP_ECHO, 0);
      setIcmpType(b, 20, ICMP_ECHO_REPLY);
      fillIcmpChecksum(b, 20, ECHO_LEN);
      expect(icmpChecksum(b, 20)).toBe(0x3ae2);
      expect(icmpChecksumOk(b, 20, ECHO_LEN)).toBe(true);
    });

    it('query NAT: setIcmpEchoIdWithCsum keeps the checksum equal to recomputation', () => {
      const b = at(ICMP_ECHO, 0);
      setIcmpEchoIdWithCsum(b, 20, 0x8001);
      expect(icmpEchoId(b, 20)).toBe(0x8001);
      const c = icmpChecksum(b, 20);
      fillIcmpChecksum(b, 20, ECHO_LEN);
      expect(icmpChecksum(b, 20)).toBe(c);
    });
  });

  describe('errors', () => {
    it('deconstructs a port unreachable with a short quote (test.pcap frame 51)', () => {
      const b = ICMP_PORT_UNREACH, o = ICMP_PORT_UNREACH_ICMP;
      expect(checkIcmp(b, o, UNREACH_LEN)).toBe(WireDrop.OK);
      expect(icmpType(b, o)).toBe(ICMP_DEST_UNREACHABLE);
      expect(icmpCode(b, o)).toBe(ICMP_UNREACH_PORT);
      expect(icmpChecksum(b, o)).toBe(0x14b0);
      expect(icmpRest(b, o)).toBe(0);
      expect(icmpChecksumOk(b, o, UNREACH_LEN)).toBe(true);
    });

    it('parses and emits the port unreachable byte for byte', () => {
      const r = parseIcmp(ICMP_PORT_UNREACH, ICMP_PORT_UNREACH_ICMP, UNREACH_LEN);
      expect(r).toEqual({ ok: true, repr: { type: 3, code: 3, quote: ICMP_PORT_UNREACH.slice(ICMP_PORT_UNREACH_ICMP + 8) } });
      if (!r.ok) return;
      const b = filled(UNREACH_LEN);
      emitIcmp(r.repr, b, 0);
      expect(toHex(b)).toBe(toHex(ICMP_PORT_UNREACH.subarray(ICMP_PORT_UNREACH_ICMP)));
    });

    it('RFC 1191: deconstructs, constructs and round-trips fragmentation needed with next-hop MTU 1400', () => {
      const o = 20, len = 36;
      expect(icmpNextHopMtu(ICMP_FRAG_NEEDED, o)).toBe(1400);
      expect(icmpChecksumOk(ICMP_FRAG_NEEDED, o, len)).toBe(true);
      const b = filled(8);
      setIcmpType(b, 0, ICMP_DEST_UNREACHABLE);
      setIcmpCode(b, 0, ICMP_UNREACH_FRAG_NEEDED);
      setIcmpChecksum(b, 0, 0x1522);
      setIcmpRest(b, 0, 0);
      setIcmpNextHopMtu(b, 0, 1400);
      expect(toHex(b)).toBe(toHex(ICMP_FRAG_NEEDED.subarray(o, o + 8)));
      const r = parseIcmp(ICMP_FRAG_NEEDED, o, len);
      expect(r).toEqual({ ok: true, repr: { type: 3, code: 4, mtu: 1400, quote: ICMP_FRAG_NEEDED.slice(28) } });
      if (!r.ok) return;
      const out = filled(len);
      emitIcmp(r.repr, out, 0);
      expect(toHex(out)).toBe(toHex(ICMP_FRAG_NEEDED.subarray(o)));
    });

    it('redirect: gateway address (scapy-built), constructed and round-tripped', () => {
      const o = 20, len = 36;
      expect(icmpType(REDIRECT_PKT, o)).toBe(ICMP_REDIRECT);
      expect(icmpCode(REDIRECT_PKT, o)).toBe(ICMP_REDIRECT_HOST);
      expect(icmpGateway(REDIRECT_PKT, o)).toBe(0xc0000201);
      const b = filled(8);
      setIcmpType(b, 0, ICMP_REDIRECT);
      setIcmpCode(b, 0, ICMP_REDIRECT_HOST);
      setIcmpChecksum(b, 0, 0x3727);
      setIcmpGateway(b, 0, 0xc0000201);
      expect(toHex(b)).toBe(toHex(REDIRECT_PKT.subarray(o, o + 8)));
      const r = parseIcmp(REDIRECT_PKT, o, len);
      expect(r.ok && r.repr).toEqual({ type: 5, code: 1, gateway: '192.0.2.1', quote: REDIRECT_PKT.slice(28) });
      if (!r.ok) return;
      const out = filled(len);
      emitIcmp(r.repr, out, 0);
      expect(toHex(out)).toBe(toHex(REDIRECT_PKT.subarray(o)));
    });

    it('parameter problem: pointer (scapy-built), constructed and round-tripped', () => {
      const len = ICMP_PARAM_PROBLEM.length;
      expect(icmpPointer(ICMP_PARAM_PROBLEM, 0)).toBe(20);
      expect(icmpChecksumOk(ICMP_PARAM_PROBLEM, 0, len)).toBe(true);
      const b = filled(8);
      setIcmpType(b, 0, ICMP_PARAMETER_PROBLEM);
      setIcmpCode(b, 0, 0);
      setIcmpChecksum(b, 0, 0xe007);
      setIcmpRest(b, 0, 0);
      setIcmpPointer(b, 0, 20);
      expect(toHex(b)).toBe(toHex(ICMP_PARAM_PROBLEM.subarray(0, 8)));
      const r = parseIcmp(ICMP_PARAM_PROBLEM, 0, len);
      expect(r.ok && r.repr).toEqual({ type: 12, code: 0, pointer: 20, quote: ICMP_PARAM_PROBLEM.slice(8) });
      if (!r.ok) return;
      const out = filled(len);
      emitIcmp(r.repr, out, 0);
      expect(toHex(out)).toBe(toHex(ICMP_PARAM_PROBLEM));
    });

    it('time exceeded with an RFC 4950 extension after a 128-byte quote (mpls-traceroute.pcap frame 2)', () => {
      const o = 20, len = ICMP_TIME_EXCEEDED_MPLS.length - o;
      expect(icmpChecksumOk(ICMP_TIME_EXCEEDED_MPLS, o, len)).toBe(true);
      const r = parseIcmp(ICMP_TIME_EXCEEDED_MPLS, o, len);
      expect(r.ok && r.repr).toEqual({ type: ICMP_TIME_EXCEEDED, code: ICMP_TIME_EXCEEDED_TTL, quote: ICMP_TIME_EXCEEDED_MPLS.slice(28) });
      if (!r.ok) return;
      const out = filled(len);
      emitIcmp(r.repr, out, 0);
      expect(toHex(out)).toBe(toHex(ICMP_TIME_EXCEEDED_MPLS.subarray(o)));
    });

    it('source quench (deprecated by RFC 6633) still parses as an error', () => {
      const r = parseIcmp(hex('0400fbff00000000'), 0, 8);
      expect(r.ok && r.repr).toEqual({ type: ICMP_SOURCE_QUENCH, code: 0, quote: new Uint8Array(0) });
    });

    it('RFC 1812 4.3.2.3: quote as much as fits in a 576-byte error datagram', () => {
      expect(icmpErrorQuoteLen(1500)).toBe(548);
      expect(icmpErrorQuoteLen(1500, 24)).toBe(544);
      expect(icmpErrorQuoteLen(60)).toBe(60);
    });

    it('emit builds a frag-needed from a repr with the RFC 1191 MTU and computes the checksum', () => {
      const repr: IcmpRepr = { type: 3, code: 4, mtu: 1400, quote: ICMP_FRAG_NEEDED.slice(28) };
      const b = filled(36);
      expect(emitIcmp(repr, b, 0)).toBe(36);
      expect(toHex(b)).toBe(toHex(ICMP_FRAG_NEEDED.subarray(20)));
    });
  });

  describe('timestamp (type 13 / 14)', () => {
    it('deconstructs, constructs and round-trips (scapy-built)', () => {
      const b = ICMP_TIMESTAMP_REQUEST;
      expect(checkIcmp(b, 0, 20)).toBe(WireDrop.OK);
      expect([icmpEchoId(b, 0), icmpEchoSeq(b, 0)]).toEqual([0x4242, 7]);
      expect([icmpTimestampOriginate(b, 0), icmpTimestampReceive(b, 0), icmpTimestampTransmit(b, 0)]).toEqual([1000, 2000, 3000]);
      expect(icmpChecksumOk(b, 0, 20)).toBe(true);
      const c = filled(20);
      setIcmpType(c, 0, ICMP_TIMESTAMP);
      setIcmpCode(c, 0, 0);
      setIcmpChecksum(c, 0, 0x9946);
      setIcmpEchoId(c, 0, 0x4242);
      setIcmpEchoSeq(c, 0, 7);
      setIcmpTimestampOriginate(c, 0, 1000);
      setIcmpTimestampReceive(c, 0, 2000);
      setIcmpTimestampTransmit(c, 0, 3000);
      expect(toHex(c)).toBe(toHex(b));
      const r = parseIcmp(b, 0, 20);
      expect(r.ok && r.repr).toEqual({ type: 13, code: 0, id: 0x4242, seq: 7, originate: 1000, receive: 2000, transmit: 3000 });
      if (!r.ok) return;
      expect(isIcmpTimestampRepr(r.repr) && !isIcmpEchoRepr(r.repr)).toBe(true);
      const out = filled(20);
      emitIcmp(r.repr, out, 0);
      expect(toHex(out)).toBe(toHex(b));
    });
  });

  it('other types pass through untouched (router solicitation, type 10)', () => {
    const b = hex('0a00f5ff 00000000');
    const r = parseIcmp(b, 0, 8);
    expect(r.ok && r.repr).toEqual({ type: ICMP_ROUTER_SOLICITATION, code: 0, rest: 0, data: new Uint8Array(0) });
    const weird = hex('c8 07 0000 deadbeef 0102');
    fillIcmpChecksum(weird, 0, 10);
    const w = parseIcmp(weird, 0, 10);
    expect(w.ok && w.repr).toEqual({ type: 200, code: 7, rest: 0xdeadbeef, data: hex('0102') });
    if (!w.ok) return;
    const out = filled(10);
    emitIcmp(w.repr, out, 0);
    expect(toHex(out)).toBe(toHex(weird));
  });

  describe('bad input', () => {
    it('ICMP_TRUNCATED: 7 bytes', () => {
      expect(checkIcmp(ICMP_ECHO, 20, 7)).toBe(WireDrop.ICMP_TRUNCATED);
      expect(parseIcmp(ICMP_ECHO, 20, 7)).toEqual({ ok: false, reason: WireDrop.ICMP_TRUNCATED });
    });
    it('ICMP_TRUNCATED: a timestamp message shorter than 20 bytes', () => {
      expect(checkIcmp(ICMP_TIMESTAMP_REQUEST, 0, 19)).toBe(WireDrop.ICMP_TRUNCATED);
    });
    it('a bad checksum is not part of checkIcmp: icmpChecksumOk catches it (ICMP_BAD_CHECKSUM is the caller\'s)', () => {
      const b = at(ICMP_ECHO, 0);
      b[50] ^= 1;
      expect(checkIcmp(b, 20, ECHO_LEN)).toBe(WireDrop.OK);
      expect(icmpChecksumOk(b, 20, ECHO_LEN)).toBe(false);
    });
    it('an error with an empty quote is structurally fine', () => {
      expect(checkIcmp(hex('0303fcfc00000000'), 0, 8)).toBe(WireDrop.OK);
    });
  });

  it('ICMP_QUOTE_OFFSET is where the quoted IPv4 header starts', () => {
    expect(ICMP_PORT_UNREACH[ICMP_PORT_UNREACH_ICMP + ICMP_QUOTE_OFFSET]).toBe(0x45);
  });
});
