import { describe, expect, it } from 'vitest';
import { WireDrop } from '../../src/wire/drop-reason.js';
import {
  IPOPT_LSRR, IPOPT_NOP, IPOPT_RA, IPOPT_RR, IPOPT_SSRR, IPOPT_TS, ipv4OptionCopied, ipv4OptionName, ipv4OptionsError,
  ipv4OptionsLength, parseIpv4Options, parseIpv4RouteOption, parseIpv4RouterAlert, parseIpv4TimestampOption,
  writeIpv4Options,
} from '../../src/wire/ipv4-options.js';
import { checkIpv4, emitIpv4, ipv4OptionsErrorPointer, parseIpv4 } from '../../src/wire/ipv4.js';
import { IPV4_RR_LSRR, IPV4_TS_SSRR } from './golden.js';
import { filled, hex, toHex } from './helpers.js';

/** A 20-byte header (IHL from the options) followed by `opts`, total length = header length. */
function withOptions(opts: string): Uint8Array {
  const o = hex(opts);
  const hl = 20 + o.length;
  const b = hex('45000000000000004001000000000000c0000201'.replace('45', (0x40 | (hl >> 2)).toString(16)));
  const out = new Uint8Array(hl);
  out.set(b, 0);
  out.set(o, 20);
  out[3] = hl;
  return out;
}

describe('IPv4 options (RFC 791 3.1)', () => {
  it('parses Record Route, NOP and Loose Source Route (scapy-built) and emits them back', () => {
    const r = parseIpv4(IPV4_RR_LSRR, 0, IPV4_RR_LSRR.length);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.repr.ihl).toBe(12);
    expect(r.repr.options).toEqual([
      { type: IPOPT_RR, data: hex('08 c00002fe 00000000 00000000') },
      { type: IPOPT_NOP, data: new Uint8Array(0) },
      { type: IPOPT_LSRR, data: hex('04 cb007101 c6336409') },
    ]);
    expect(parseIpv4RouteOption(r.repr.options[0].data)).toEqual({ pointer: 8, addresses: ['192.0.2.254', '0.0.0.0', '0.0.0.0'] });
    expect(parseIpv4RouteOption(r.repr.options[2].data)).toEqual({ pointer: 4, addresses: ['203.0.113.1', '198.51.100.9'] });
    const b = filled(48);
    emitIpv4(r.repr, b, 0);
    expect(toHex(b)).toBe(toHex(IPV4_RR_LSRR));
  });

  it('parses Timestamp (flag 1: address + timestamp, overflow 1) and Strict Source Route (scapy-built)', () => {
    const r = parseIpv4(IPV4_TS_SSRR, 0, IPV4_TS_SSRR.length);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.repr.options.map((o) => o.type)).toEqual([IPOPT_TS, IPOPT_SSRR]);
    expect(parseIpv4TimestampOption(r.repr.options[0].data)).toEqual({
      pointer: 13, overflow: 1, flag: 1, entries: [{ address: '192.0.2.1', timestamp: 0x01020304 }],
    });
    expect(parseIpv4RouteOption(r.repr.options[1].data)).toEqual({ pointer: 4, addresses: ['203.0.113.7'] });
    const b = filled(40);
    emitIpv4(r.repr, b, 0);
    expect(toHex(b)).toBe(toHex(IPV4_TS_SSRR));
  });

  it('Timestamp flag 0 carries timestamps only', () => {
    expect(parseIpv4TimestampOption(hex('0d00 00000001 00000002'))).toEqual({
      pointer: 13, overflow: 0, flag: 0, entries: [{ timestamp: 1 }, { timestamp: 2 }],
    });
  });

  it('RFC 2113 Router Alert value', () => {
    expect(parseIpv4RouterAlert(hex('0000'))).toBe(0);
    expect(parseIpv4RouterAlert(hex('0102'))).toBe(0x0102);
  });

  it('EOL ends the list: bytes after it are padding and not decoded', () => {
    const b = withOptions('00 07 ff ff');
    expect(checkIpv4(b, 0, b.length)).toBe(WireDrop.OK);
    expect(parseIpv4Options(b, 20, 24)).toEqual([]);
  });

  it('the copied flag (bit 7) marks options repeated in every fragment', () => {
    expect([IPOPT_LSRR, IPOPT_SSRR, IPOPT_RA].every(ipv4OptionCopied)).toBe(true);
    expect([IPOPT_RR, IPOPT_TS, IPOPT_NOP].some(ipv4OptionCopied)).toBe(false);
  });

  it('names known options by number and others by value', () => {
    expect([IPOPT_RR, IPOPT_TS, IPOPT_LSRR, IPOPT_SSRR, IPOPT_RA].map(ipv4OptionName)).toEqual(['rr', 'ts', 'lsrr', 'ssrr', 'ra']);
    expect(ipv4OptionName(25)).toBe('opt-25');
  });

  it('writeIpv4Options refuses options that do not fit', () => {
    const opts = [{ type: IPOPT_RA, data: hex('0000') }];
    expect(ipv4OptionsLength(opts)).toBe(4);
    expect(() => writeIpv4Options(opts, filled(8), 0, 3)).toThrow(RangeError);
  });

  describe('IPV4_BAD_OPTIONS, with the Parameter Problem pointer (RFC 1812 4.3.3.5)', () => {
    it.each([
      ['an option with no length byte at the end of the header', '01 01 01 44', 23],
      ['length 1', '19 01 00 00', 21],
      ['length 0', '19 00 00 00', 21],
      ['a length running past the header', '19 05 00 00', 21],
      ['Record Route shorter than 3 bytes', '07 02 00 00', 21],
      ['Record Route pointer below 4', '07 07 03 00 00 00 00 00', 22],
      ['Loose Source Route pointer below 4', '83 07 00 00 00 00 00 00', 22],
      ['Strict Source Route length 2', '89 02 00 00', 21],
      ['Timestamp shorter than 4 bytes', '44 03 05 00', 21],
      ['Timestamp pointer below 5', '44 08 04 00 00 00 00 00', 22],
      ['Router Alert length 6', '94 06 00 00 00 00 00 00', 21],
      ['RFC 791: Record Route with room for part of an address', '07 06 04 00 00 00 00 00', 22],
      ['RFC 791: Loose Source Route with room for part of an address', '83 05 04 00 00 00 00 00', 22],
      ['RFC 791: Timestamp (flag 0) with room for part of a timestamp', '44 06 05 00 00 00 00 00', 22],
      ['RFC 791: Timestamp (flag 1) with room for an address but no timestamp', '44 08 05 01 00 00 00 00', 22],
      ['RFC 791: Timestamp (flag 3) with room for a prespecified address only', '44 0a 05 03 c0 00 02 01 00 00 00 00', 22],
      ['RFC 791: a second Record Route (the second is named)', '07 03 04 07 03 04 00 00', 23],
      ['RFC 791: a second Timestamp', '44 04 05 00 44 04 05 00', 24],
      ['RFC 1122 3.2.1.8: a Loose and a Strict Source Route', '83 03 04 89 03 04 00 00', 23],
    ])('%s', (_name, opts, pointer) => {
      const b = withOptions(opts);
      expect(checkIpv4(b, 0, b.length)).toBe(WireDrop.IPV4_BAD_OPTIONS);
      expect(parseIpv4(b, 0, b.length)).toEqual({ ok: false, reason: WireDrop.IPV4_BAD_OPTIONS });
      expect(ipv4OptionsErrorPointer(b, 0)).toBe(pointer);
      expect(() => parseIpv4Options(b, 20, b.length)).not.toThrow();
    });

    it('well-formed options have no error pointer', () => {
      expect(ipv4OptionsErrorPointer(IPV4_RR_LSRR, 0)).toBe(-1);
      expect(ipv4OptionsError(IPV4_TS_SSRR, 20, 40)).toBe(-1);
    });

    it.each([
      ['a full Record Route (pointer past the length)', '07 07 08 c0 00 02 01 00'],
      ['Record Route and a source route once each', '07 03 04 83 03 04 00 00'],
      ['a Timestamp with a flag RFC 791 does not define and an odd room', '44 06 05 02 00 00 00 00'],
      ['a full Timestamp (flag 1) with room for no entry', '44 04 05 01'],
    ])('%s is well formed', (_name, opts) => {
      const b = withOptions(opts);
      expect(checkIpv4(b, 0, b.length)).toBe(WireDrop.OK);
    });
  });
});
