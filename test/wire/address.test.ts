import { describe, expect, it } from 'vitest';
import {
  isMartianSource,
  ipv4ToString, macToString, parseIpv4Address, parseMacAddress, readIpv4, toIpv4Number, tryParseIpv4Address,
  tryWriteMac, writeIpv4, writeMac,
} from '../../src/wire/address.js';
import { filled, hex, toHex } from './helpers.js';

describe('IPv4 addresses', () => {
  it('formats unsigned and signed 32-bit numbers as dotted quads', () => {
    expect(ipv4ToString(0xc6336401)).toBe('198.51.100.1');
    expect(ipv4ToString(0)).toBe('0.0.0.0');
    expect(ipv4ToString(0xffffffff)).toBe('255.255.255.255');
    expect(ipv4ToString(-1)).toBe('255.255.255.255');
    expect(ipv4ToString(0xcb007105 | 0)).toBe('203.0.113.5');
  });

  it('parses dotted quads into unsigned 32-bit numbers', () => {
    expect(parseIpv4Address('198.51.100.1')).toBe(0xc6336401);
    expect(parseIpv4Address('255.255.255.255')).toBe(0xffffffff);
    expect(parseIpv4Address('0.0.0.0')).toBe(0);
    expect(parseIpv4Address('10.0.0.10')).toBe(0x0a00000a);
  });

  it.each([
    '', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.256', '01.2.3.4', '1.2.3.00', '1..2.3', '.1.2.3', '1.2.3.4.',
    '1.2.3.4 ', ' 1.2.3.4', 'a.b.c.d', '1.2.3.-4', '+1.2.3.4', '1.2.3.4/24', '1000.2.3.4', '0x1.2.3.4',
  ])('refuses %j: throws RangeError, try variant returns -1', (s) => {
    expect(tryParseIpv4Address(s)).toBe(-1);
    expect(() => parseIpv4Address(s)).toThrow(RangeError);
  });

  it('the error message quotes the bad text', () => {
    expect(() => parseIpv4Address('300.1.1.1')).toThrow(/"300\.1\.1\.1"/);
  });

  it('toIpv4Number accepts text or numbers', () => {
    expect(toIpv4Number('192.0.2.1')).toBe(0xc0000201);
    expect(toIpv4Number(0xc0000201 | 0)).toBe(0xc0000201);
  });

  it('reads and writes big-endian at an offset without touching neighbours', () => {
    const b = filled(8);
    writeIpv4(b, 2, 0xc0000201);
    expect(toHex(b)).toBe('a5a5c0000201a5a5');
    expect(readIpv4(b, 2)).toBe(0xc0000201);
    expect(readIpv4(hex('ffffffff'), 0)).toBe(0xffffffff);
  });
});

describe('martian sources (RFC 1812 5.3.7, RFC 6890)', () => {
  it.each([
    ['0.0.0.0', true], ['0.1.2.3', true], ['127.0.0.1', true], ['224.0.0.1', true], ['239.255.255.255', true],
    ['240.0.0.1', true], ['255.255.255.255', true],
    ['1.0.0.0', false], ['126.255.255.255', false], ['128.0.0.1', false], ['192.0.2.1', false], ['223.255.255.255', false],
  ] as const)('%s -> %s', (a, martian) => {
    expect(isMartianSource(parseIpv4Address(a))).toBe(martian);
  });
});

describe('MAC addresses', () => {
  it('formats 6 bytes at an offset in lower case', () => {
    expect(macToString(hex('ff 02AB000000fe ff'), 1)).toBe('02:ab:00:00:00:fe');
  });

  it('writes colon, dash and upper-case text', () => {
    const b = filled(8);
    writeMac(b, 1, '02:AB:00:00:00:FE');
    expect(toHex(b)).toBe('a502ab000000fea5');
    writeMac(b, 1, '02-00-5e-00-01-01');
    expect(toHex(b)).toBe('a502005e000101a5');
    expect(toHex(parseMacAddress('ff:ff:ff:ff:ff:ff'))).toBe('ffffffffffff');
  });

  it.each(['', '02:00:00:00:00', '02:00:00:00:00:0g', '02:00-00:00:00:01', '0200.0000.0001', '02:00:00:00:00:001', '2:0:0:0:0:1'])(
    'refuses %j and writes nothing',
    (s) => {
      const b = filled(6);
      expect(tryWriteMac(b, 0, s)).toBe(false);
      expect(toHex(b)).toBe('a5a5a5a5a5a5');
      expect(() => writeMac(b, 0, s)).toThrow(RangeError);
      expect(() => parseMacAddress(s)).toThrow(/invalid MAC address/);
    },
  );
});
