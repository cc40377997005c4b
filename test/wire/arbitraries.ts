// fast-check generators for the wire reprs. Each generates only values that a
// parse of the emitted bytes gives back unchanged (e.g. no EOL inside an
// option list, known option kinds only with their own length).

import fc from 'fast-check';
import { ipv4ToString, macToString } from '../../src/wire/address.js';
import type { ArpRepr } from '../../src/wire/arp.js';
import type { EthernetRepr } from '../../src/wire/ethernet.js';
import type { IcmpRepr } from '../../src/wire/icmp.js';
import { IPOPT_LSRR, IPOPT_NOP, IPOPT_RA, IPOPT_RR, IPOPT_SSRR, IPOPT_TS, ipv4OptionsLength, type Ipv4Option } from '../../src/wire/ipv4-options.js';
import { ipv4IhlForOptions, type Ipv4Repr } from '../../src/wire/ipv4.js';
import { tcpOptionsLength, type TcpOption } from '../../src/wire/tcp-options.js';
import type { TcpRepr } from '../../src/wire/tcp.js';
import type { UdpRepr } from '../../src/wire/udp.js';

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const bytes = (maxLength: number, minLength = 0): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength, maxLength });

export const ipv4Text = u32.map(ipv4ToString);
export const macText = bytes(6, 6).map((b) => macToString(b, 0));

export const ethernetRepr: fc.Arbitrary<EthernetRepr> = fc.record({
  dst: macText,
  src: macText,
  vlans: fc.array(
    fc.record({ pcp: fc.integer({ min: 0, max: 7 }), dei: fc.boolean(), id: fc.integer({ min: 0, max: 4095 }), tpid: fc.constantFrom(0x8100, 0x88a8, 0x9100) }),
    { maxLength: 3 },
  ),
  // Not a TPID, or parse would read it as one more tag.
  ethertype: u16.filter((t) => t !== 0x8100 && t !== 0x88a8 && t !== 0x9100),
});

export const arpRepr: fc.Arbitrary<ArpRepr> = fc.record({ oper: u16, sha: macText, spa: ipv4Text, tha: macText, tpa: ipv4Text });

const KNOWN_IPOPTS = new Set([0, IPOPT_NOP, IPOPT_RR, IPOPT_TS, IPOPT_LSRR, IPOPT_SSRR, IPOPT_RA]);

/** RFC 791: a pointer past the option (full) or leaving room for a whole entry of `entry` bytes; else the option is in error. */
function roomForEntry(len: number, ptr: number, entry: number): boolean {
  return ptr > len || ptr + entry - 1 <= len;
}

const ipv4Option: fc.Arbitrary<Ipv4Option> = fc.oneof(
  fc.constant({ type: IPOPT_NOP, data: new Uint8Array(0) }),
  fc.tuple(fc.constantFrom(IPOPT_RR, IPOPT_LSRR, IPOPT_SSRR), fc.integer({ min: 4, max: 255 }), bytes(12))
    .filter(([, ptr, rest]) => roomForEntry(3 + rest.length, ptr, 4))
    .map(([type, ptr, rest]) => ({ type, data: Uint8Array.of(ptr, ...rest) })),
  fc.tuple(fc.integer({ min: 5, max: 255 }), u8, bytes(12))
    .filter(([ptr, flags, rest]) => roomForEntry(4 + rest.length, ptr, (flags & 15) === 0 ? 4 : (flags & 15) === 1 || (flags & 15) === 3 ? 8 : 1))
    .map(([ptr, flags, rest]) => ({ type: IPOPT_TS, data: Uint8Array.of(ptr, flags, ...rest) })),
  bytes(2, 2).map((data) => ({ type: IPOPT_RA, data })),
  fc.tuple(u8.filter((t) => !KNOWN_IPOPTS.has(t)), bytes(8)).map(([type, data]) => ({ type, data })),
);

/** Record Route, Timestamp and a source route at most once each (RFC 791). */
function eachOnce(options: readonly Ipv4Option[]): boolean {
  const count = (types: number[]) => options.filter((o) => types.includes(o.type)).length;
  return count([IPOPT_RR]) <= 1 && count([IPOPT_TS]) <= 1 && count([IPOPT_LSRR, IPOPT_SSRR]) <= 1;
}

export const ipv4Options = fc.array(ipv4Option, { maxLength: 8 }).filter((o) => ipv4OptionsLength(o) <= 40 && eachOnce(o));

/** An IPv4 repr with options; totalLength = header + 0..64 payload bytes. */
export const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc
  .record({
    options: ipv4Options,
    extraWords: fc.integer({ min: 0, max: 2 }),
    payloadLen: fc.integer({ min: 0, max: 64 }),
    tos: u8, id: u16, df: fc.boolean(), mf: fc.boolean(), reservedFlag: fc.boolean(),
    fragOffset: fc.integer({ min: 0, max: 0x1fff }), ttl: u8, protocol: u8, checksum: u16, src: ipv4Text, dst: ipv4Text,
  })
  .map(({ options, extraWords, payloadLen, reservedFlag, ...rest }) => {
    const ihl = Math.min(15, ipv4IhlForOptions(options) + extraWords);
    const repr: Ipv4Repr = { ihl, totalLength: ihl * 4 + payloadLen, options, ...rest };
    if (reservedFlag) repr.reservedFlag = true;
    return repr;
  });

const KNOWN_TCPOPTS = new Set([0, 1, 2, 3, 4, 5, 8]);

const tcpOption: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant<TcpOption>({ type: 'nop' }),
  u16.map((mss): TcpOption => ({ type: 'mss', mss })),
  u8.map((shift): TcpOption => ({ type: 'window-scale', shift })),
  fc.constant<TcpOption>({ type: 'sack-permitted' }),
  fc.array(fc.record({ left: u32, right: u32 }), { minLength: 1, maxLength: 4 }).map((blocks): TcpOption => ({ type: 'sack', blocks })),
  fc.record({ tsVal: u32, tsEcr: u32 }).map(({ tsVal, tsEcr }): TcpOption => ({ type: 'timestamps', tsVal, tsEcr })),
  fc.tuple(u8.filter((k) => !KNOWN_TCPOPTS.has(k)), bytes(8)).map(([kind, data]): TcpOption => ({ type: 'unknown', kind, data })),
);

export const tcpOptions = fc.array(tcpOption, { maxLength: 8 }).filter((o) => tcpOptionsLength(o) <= 40);

export const tcpRepr: fc.Arbitrary<TcpRepr> = fc
  .record({
    srcPort: u16, dstPort: u16, seq: u32, ack: u32, flags: u8, ns: fc.boolean(), reserved: fc.integer({ min: 0, max: 7 }),
    window: u16, checksum: u16, urgent: u16, options: tcpOptions, extraWords: fc.integer({ min: 0, max: 2 }), payload: bytes(48),
  })
  .map(({ ns, reserved, extraWords, ...r }) => {
    const repr: TcpRepr = { ...r, dataOffset: Math.min(15, 5 + ((tcpOptionsLength(r.options) + 3) >>> 2) + extraWords) };
    if (ns) repr.ns = true;
    if (reserved !== 0) repr.reserved = reserved;
    return repr;
  });

export const udpRepr: fc.Arbitrary<UdpRepr> = fc.record({ srcPort: u16, dstPort: u16, checksum: u16, payload: bytes(64) });

export const icmpRepr: fc.Arbitrary<IcmpRepr> = fc.oneof(
  fc.record({ type: fc.constantFrom(0, 8), code: u8, id: u16, seq: u16, data: bytes(64) }),
  fc.record({ type: fc.constant(3), code: u8.filter((c) => c !== 4), quote: bytes(64) }),
  fc.record({ type: fc.constant(3), code: fc.constant(4), mtu: u16, quote: bytes(64) }),
  fc.record({ type: fc.constantFrom(4, 11), code: u8, quote: bytes(64) }),
  fc.record({ type: fc.constant(5), code: u8, gateway: ipv4Text, quote: bytes(64) }),
  fc.record({ type: fc.constant(12), code: u8, pointer: u8, quote: bytes(64) }),
  fc.record({ type: fc.constantFrom(13, 14), code: u8, id: u16, seq: u16, originate: u32, receive: u32, transmit: u32 }),
  fc.record({
    type: u8.filter((t) => ![0, 3, 4, 5, 8, 11, 12, 13, 14].includes(t)), code: u8, rest: u32, data: bytes(64),
  }),
);
