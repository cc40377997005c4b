// What a router does with the options of a datagram (src/wire/ipv4-options.ts,
// the end of the file): ipv4OptionsVerdict on arrival, recordIpv4Options on
// the way out. Each header is built with a valid checksum; after an update
// the checksum is held against one recomputed from scratch.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIpv4Address } from '../../src/wire/address.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import {
  IPV4_OPTIONS_OK, IPV4_OPTIONS_SOURCE_ROUTE, ipv4OptionsVerdict, msSinceMidnightUt, parseIpv4Options, parseIpv4RouteOption,
  parseIpv4TimestampOption, recordIpv4Options,
} from '../../src/wire/ipv4-options.js';
import { fillIpv4Checksum } from '../../src/wire/ipv4.js';
import { hex, toHex } from './helpers.js';

const EGRESS = parseIpv4Address('198.51.100.1');
const LAN = parseIpv4Address('192.0.2.1');
const DMZ = parseIpv4Address('203.0.113.1');
/** The router's addresses (a PortTable's address column): lan, wan (the egress here), dmz. */
const OWN = Uint32Array.of(LAN, EGRESS, DMZ);
/** 22:13:20.000 UT in ms, written big-endian into a timestamp slot. */
const TS = 80_000_000;
const TS_HEX = '04c4b400';

/** A header of 20 bytes plus `opts` (a multiple of 4 bytes), 8 payload bytes after it, with a valid checksum. */
function header(opts: string): Uint8Array {
  const o = hex(opts);
  const hl = 20 + o.length;
  const b = new Uint8Array(hl + 8).fill(0x5a);
  b.set(hex('450000000001000040110000c0000a0a c6336407'), 0);
  b[0] = 0x40 | (hl >> 2);
  b[3] = hl + 8;
  b.set(o, 20);
  fillIpv4Checksum(b, 0);
  return b;
}

/** The checksum the header at b[0] would have if computed from scratch. */
function recomputed(b: Uint8Array): number {
  const c = b.slice(0, (b[0] & 15) * 4);
  c[10] = c[11] = 0;
  return internetChecksum(c, 0, c.length);
}

function checksum(b: Uint8Array): number {
  return (b[10] << 8) | b[11];
}

/** Runs recordIpv4Options as the router sending by wan; the options' bytes as hex after it. */
function record(b: Uint8Array): { changed: boolean; options: string } {
  const changed = recordIpv4Options(b, 0, EGRESS, OWN, OWN.length, TS);
  expect(checksum(b), 'header checksum against one recomputed').toBe(recomputed(b));
  return { changed, options: toHex(b.subarray(20, (b[0] & 15) * 4)) };
}

describe('recordIpv4Options: Record Route (RFC 1812 5.3.13.5, RFC 791)', () => {
  it('writes the egress address at the pointer and moves the pointer on by 4', () => {
    const b = header('07 0b 04 00000000 00000000 00');
    expect(record(b)).toEqual({ changed: true, options: `070b08${'c6336401'}0000000000` });
    expect(parseIpv4RouteOption(parseIpv4Options(b, 20, 32)[0].data)).toEqual({ pointer: 8, addresses: ['198.51.100.1', '0.0.0.0'] });
  });

  it('fills the second slot after another router filled the first, and leaves the payload alone', () => {
    const b = header('07 0b 08 cb007102 00000000 00');
    const payload = toHex(b.subarray(32));
    expect(record(b)).toEqual({ changed: true, options: '070b0ccb007102c633640100' });
    expect(toHex(b.subarray(32))).toBe(payload);
  });

  it('a full option (pointer past the length) is left as it came, checksum and all', () => {
    const b = header('07 0b 0c cb007102 cb007103 00');
    const before = toHex(b);
    expect(record(b).changed).toBe(false);
    expect(toHex(b)).toBe(before);
  });

  it('an option after a NOP sits at an odd offset: the address is written there whole', () => {
    const b = header('01 07 07 04 00000000');
    expect(record(b)).toEqual({ changed: true, options: '01070708c6336401' });
  });
});

describe('recordIpv4Options: Timestamp (RFC 1812 5.3.13.6, RFC 791)', () => {
  it('flag 0: the timestamp (ms since midnight UT) at the pointer, pointer + 4', () => {
    const b = header('44 0c 05 00 00000000 00000000');
    expect(record(b)).toEqual({ changed: true, options: `440c0900${TS_HEX}00000000` });
    expect(parseIpv4TimestampOption(parseIpv4Options(b, 20, 32)[0].data)).toEqual({ pointer: 9, overflow: 0, flag: 0, entries: [{ timestamp: TS }, { timestamp: 0 }] });
  });

  it('flag 1: the egress address and the timestamp, pointer + 8', () => {
    const b = header('44 0c 05 01 00000000 00000000');
    expect(record(b)).toEqual({ changed: true, options: `440c0d01c6336401${TS_HEX}` });
  });

  it('flag 3: a timestamp when the prespecified address is one of the router\'s, even not the egress port\'s', () => {
    const b = header('44 14 05 03 cb007101 00000000 c0000263 00000000');
    expect(record(b)).toEqual({ changed: true, options: `44140d03cb007101${TS_HEX}c000026300000000` });
  });

  it('flag 3: nothing when the next prespecified address is another host\'s (pointer and checksum unchanged)', () => {
    const b = header('44 14 0d 03 cb007101 00000001 c0000263 00000000');
    const before = toHex(b);
    expect(record(b).changed).toBe(false);
    expect(toHex(b)).toBe(before);
  });

  it.each([
    ['flag 0', '44 0c 0d 20 00000001 00000002', '440c0d30'],
    ['flag 1', '44 0c 0d 11 c0000263 00000001', '440c0d21'],
    ['flag 3', '44 0c 0d 03 c0000201 00000001', '440c0d13'],
  ])('%s, full: the overflow count goes up by one, the entries stay', (_flag, opts, head) => {
    const b = header(opts);
    const { changed, options } = record(b);
    expect(changed).toBe(true);
    expect(options.slice(0, 8)).toBe(head);
    expect(options.slice(8)).toBe(toHex(hex(opts)).slice(8));
  });

  it('a full option whose overflow count is 15 already is not wrapped to 0 (ip4-input refuses such a datagram first)', () => {
    const b = header('44 04 05 f0');
    const before = toHex(b);
    expect(record(b).changed).toBe(false);
    expect(toHex(b)).toBe(before);
  });

  it('a flag RFC 791 does not define is passed on unchanged', () => {
    const b = header('44 0c 05 02 00000000 00000000');
    const before = toHex(b);
    expect(record(b).changed).toBe(false);
    expect(toHex(b)).toBe(before);
  });

  it('Record Route and Timestamp in one header: both recorded, one checksum', () => {
    const b = header('07 07 04 00000000 44 0c 05 01 00000000 00000000 00');
    expect(record(b)).toEqual({ changed: true, options: `070708c6336401440c0d01c6336401${TS_HEX}00` });
  });

  it('a header with no option to record (Router Alert, a source route) is not touched', () => {
    for (const opts of ['94 04 00 00', '83 07 04 cb007102 00']) {
      const b = header(opts);
      const before = toHex(b);
      expect(record(b).changed).toBe(false);
      expect(toHex(b)).toBe(before);
    }
  });

  it('property: whatever the option bytes, nothing past the header changes, and a changed header\'s checksum verifies', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 40 }).filter((o) => o.length % 4 === 0), fc.uint8Array({ minLength: 8, maxLength: 8 }), (opts, tail) => {
        const b = header(toHex(opts));
        b.set(tail, b.length - 8);
        const after = b.slice();
        recordIpv4Options(after, 0, EGRESS, OWN, OWN.length, TS);
        const hl = (b[0] & 15) * 4;
        expect(toHex(after.subarray(hl))).toBe(toHex(b.subarray(hl)));
        expect(toHex(after.subarray(0, 10)) + toHex(after.subarray(12, 20))).toBe(toHex(b.subarray(0, 10)) + toHex(b.subarray(12, 20)));
        expect(checksum(after)).toBe(recomputed(after));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ipv4OptionsVerdict: what the router makes of well-formed options on arrival', () => {
  const verdict = (opts: string) => {
    const b = header(opts);
    return ipv4OptionsVerdict(b, 20, (b[0] & 15) * 4);
  };

  it('Record Route, Timestamp, Router Alert, NOPs: OK', () => {
    expect(verdict('01 07 07 04 00000000 94 04 00 00 44 0c 05 00 00000000 00000000')).toBe(IPV4_OPTIONS_OK);
  });

  it('a Loose or a Strict Source Route, pointing on or complete: a source route', () => {
    for (const opts of ['83 07 04 cb007102 00', '89 07 04 cb007102 00', '83 07 08 cb007102 00', '01 89 07 08 cb007102']) {
      expect(verdict(opts), opts).toBe(IPV4_OPTIONS_SOURCE_ROUTE);
    }
  });

  it('RFC 791: a full Timestamp whose overflow count is 15 names its overflow/flags byte, whatever the flag, before a source route', () => {
    expect(verdict('44 04 05 f0')).toBe(3);
    expect(verdict('01 44 0c 0d f3 c0000201 00000001 00 00 00')).toBe(4);
    expect(verdict('83 03 04 44 04 05 f1 00')).toBe(6);
  });

  it('an overflow count of 15 with room left is no problem: this hop writes its entry', () => {
    expect(verdict('44 08 05 f0 00000000')).toBe(IPV4_OPTIONS_OK);
  });
});

describe('msSinceMidnightUt', () => {
  it('counts from midnight UT of an epoch-ms clock, in whole ms', () => {
    expect(msSinceMidnightUt(1_700_000_000_000)).toBe(TS);
    expect(msSinceMidnightUt(Date.UTC(2024, 1, 29, 0, 0, 0, 1) + 0.9)).toBe(1);
    expect(msSinceMidnightUt(Date.UTC(2024, 1, 29, 23, 59, 59, 999))).toBe(86_399_999);
    expect(msSinceMidnightUt(-1)).toBe(86_399_999);
  });
});
