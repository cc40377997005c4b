import { describe, expect, it } from 'vitest';
import {
  ARP_LEN, ARP_REPLY, ARP_REQUEST, ARP_SHA, arpHlen, arpHtype, arpIsGratuitous, arpOper, arpPlen, arpPtype, arpSha,
  arpSpa, arpTha, arpTpa, checkArp, emitArp, parseArp, setArpHlen, setArpHtype, setArpOper, setArpPlen, setArpPtype,
  setArpSha, setArpSpa, setArpTha, setArpTpa, type ArpRepr,
} from '../../src/wire/arp.js';
import { WireDrop } from '../../src/wire/drop-reason.js';
import { copyEthAddr } from '../../src/wire/ethernet.js';
import { QINQ_ARP_REPLY, QINQ_ARP_REQUEST } from './golden.js';
import { at, filled, toHex } from './helpers.js';

// The ARP packets sit after two tags in the captures.
const ARP_OFF = 22;
const REQUEST = QINQ_ARP_REQUEST.subarray(ARP_OFF, ARP_OFF + ARP_LEN);
const REQUEST_REPR: ArpRepr = {
  oper: ARP_REQUEST, sha: '00:20:d2:5a:fb:3f', spa: '172.21.79.97', tha: '00:00:00:00:00:00', tpa: '172.21.79.100',
};
const REPLY_REPR: ArpRepr = {
  oper: ARP_REPLY, sha: '00:80:ea:81:88:63', spa: '172.21.79.100', tha: '00:20:d2:5a:fb:3f', tpa: '172.21.79.97',
};

describe('ARP (RFC 826)', () => {
  it('deconstructs a request (802.1ad_QinQ.pcap frame 1, after the tags, with Ethernet padding)', () => {
    const b = QINQ_ARP_REQUEST;
    const len = b.length - ARP_OFF;
    expect(checkArp(b, ARP_OFF, len)).toBe(WireDrop.OK);
    expect(arpHtype(b, ARP_OFF)).toBe(1);
    expect(arpPtype(b, ARP_OFF)).toBe(0x0800);
    expect(arpHlen(b, ARP_OFF)).toBe(6);
    expect(arpPlen(b, ARP_OFF)).toBe(4);
    expect(arpOper(b, ARP_OFF)).toBe(ARP_REQUEST);
    expect(arpSha(b, ARP_OFF)).toBe('00:20:d2:5a:fb:3f');
    expect(arpSpa(b, ARP_OFF)).toBe(0xac154f61);
    expect(arpTha(b, ARP_OFF)).toBe('00:00:00:00:00:00');
    expect(arpTpa(b, ARP_OFF)).toBe(0xac154f64);
    expect(arpIsGratuitous(b, ARP_OFF)).toBe(false);
  });

  it('constructs the request with every setter on a 0xa5 buffer', () => {
    const b = filled(ARP_LEN);
    setArpHtype(b, 0, 1);
    setArpPtype(b, 0, 0x0800);
    setArpHlen(b, 0, 6);
    setArpPlen(b, 0, 4);
    setArpOper(b, 0, ARP_REQUEST);
    setArpSha(b, 0, '00:20:d2:5a:fb:3f');
    setArpSpa(b, 0, 0xac154f61);
    setArpTha(b, 0, '00:00:00:00:00:00');
    setArpTpa(b, 0, 0xac154f64);
    expect(toHex(b)).toBe(toHex(REQUEST));
  });

  it('parses a request and a reply, and emits both byte for byte', () => {
    expect(parseArp(QINQ_ARP_REQUEST, ARP_OFF, ARP_LEN)).toEqual({ ok: true, repr: REQUEST_REPR });
    expect(parseArp(QINQ_ARP_REPLY, ARP_OFF, ARP_LEN)).toEqual({ ok: true, repr: REPLY_REPR });
    const b = filled(ARP_LEN + 2);
    expect(emitArp(REPLY_REPR, b, 1)).toBe(ARP_LEN);
    expect(toHex(b)).toBe('a5' + toHex(QINQ_ARP_REPLY.subarray(ARP_OFF, ARP_OFF + ARP_LEN)) + 'a5');
  });

  it('answers a request in place: swap addresses, oper 2, our MAC as sender (the ARP node\'s rewrite)', () => {
    const b = at(REQUEST, 0);
    const ourMac = QINQ_ARP_REPLY.subarray(ARP_OFF + ARP_SHA, ARP_OFF + ARP_SHA + 6);
    const spa = arpSpa(b, 0), tpa = arpTpa(b, 0);
    setArpOper(b, 0, ARP_REPLY);
    copyEthAddr(b, 18, b, ARP_SHA);
    copyEthAddr(b, ARP_SHA, ourMac, 0);
    setArpSpa(b, 0, tpa);
    setArpTpa(b, 0, spa);
    expect(toHex(b.subarray(0, ARP_LEN))).toBe(toHex(QINQ_ARP_REPLY.subarray(ARP_OFF, ARP_OFF + ARP_LEN)));
  });

  it('RFC 5227: a sender asking for its own address is gratuitous', () => {
    const b = at(REQUEST, 0);
    setArpTpa(b, 0, arpSpa(b, 0));
    expect(arpIsGratuitous(b, 0)).toBe(true);
  });

  describe('bad input', () => {
    it('ARP_TRUNCATED: shorter than the 8-byte fixed part', () => {
      expect(checkArp(REQUEST, 0, 7)).toBe(WireDrop.ARP_TRUNCATED);
    });
    it('ARP_TRUNCATED: the target protocol address is cut', () => {
      expect(checkArp(REQUEST, 0, 27)).toBe(WireDrop.ARP_TRUNCATED);
      expect(parseArp(REQUEST, 0, 27)).toEqual({ ok: false, reason: WireDrop.ARP_TRUNCATED });
    });
    it.each([
      ['hardware type 6 (IEEE 802)', (b: Uint8Array) => setArpHtype(b, 0, 6)],
      ['protocol type IPv6', (b: Uint8Array) => setArpPtype(b, 0, 0x86dd)],
      ['hardware length 8', (b: Uint8Array) => setArpHlen(b, 0, 8)],
      ['protocol length 16', (b: Uint8Array) => setArpPlen(b, 0, 16)],
    ])('ARP_UNSUPPORTED: %s', (_name, mutate) => {
      const b = at(REQUEST, 0);
      mutate(b);
      expect(checkArp(b, 0, ARP_LEN)).toBe(WireDrop.ARP_UNSUPPORTED);
      expect(parseArp(b, 0, ARP_LEN)).toEqual({ ok: false, reason: WireDrop.ARP_UNSUPPORTED });
    });
  });

  it('emit throws RangeError on bad address text', () => {
    expect(() => emitArp({ ...REQUEST_REPR, tpa: '172.21.79' }, filled(ARP_LEN), 0)).toThrow(RangeError);
  });
});
