import { describe, expect, it } from 'vitest';
import { WireDrop } from '../../src/wire/drop-reason.js';
import {
  checkIpv4, decrementIpv4Ttl, emitIpv4, fillIpv4Checksum, initIpv4Header, IPPROTO_IGMP, IPTOS_PREC_INTERNETCONTROL, IPV4_DEFAULT_TTL, IPPROTO_TCP, IPPROTO_UDP, ipv4Checksum,
  ipv4ChecksumOk, ipv4Df, ipv4Dscp, ipv4Dst, ipv4Ecn, ipv4FragOffset, ipv4HeaderLen, ipv4Id, ipv4Ihl,
  ipv4IhlForOptions, ipv4IsFragment, ipv4Mf, ipv4OptionsErrorPointer, ipv4PayloadLen, ipv4Protocol,
  ipv4ReservedFlag, ipv4Src, ipv4Tos, ipv4TotalLength, ipv4Ttl, ipv4Version, parseIpv4, readIpv4Repr, setIpv4Checksum,
  setIpv4Df, setIpv4Dscp, setIpv4Dst, setIpv4DstWithCsum, setIpv4Ecn, setIpv4FragOffset, setIpv4Id, setIpv4Ihl,
  setIpv4Mf, setIpv4Protocol, setIpv4ReservedFlag, setIpv4Src, setIpv4SrcWithCsum, setIpv4Tos, setIpv4TotalLength,
  setIpv4Ttl, setIpv4TtlWithCsum, setIpv4Version, type Ipv4Repr,
} from '../../src/wire/ipv4.js';
import { IGMP_IP, IGMP_ROUTER_ALERT, IPV4_FRAGMENT, SYN_PKT, SYN_PKT_IP } from './golden.js';
import { at, filled, hex, toHex } from './helpers.js';

const FRAGMENT_REPR: Ipv4Repr = {
  ihl: 5, tos: 0xb9, totalLength: 36, id: 0x1234, df: false, mf: true, fragOffset: 185, ttl: 64,
  protocol: IPPROTO_UDP, checksum: 0xe0e8, src: '198.51.100.1', dst: '203.0.113.5', options: [],
};
const SYN_IP_REPR: Ipv4Repr = {
  ihl: 5, tos: 0, totalLength: 60, id: 0x9b28, df: true, mf: false, fragOffset: 0, ttl: 64,
  protocol: IPPROTO_TCP, checksum: 0x1376, src: '192.168.1.11', dst: '209.87.249.18', options: [],
};

describe('IPv4 header (RFC 791)', () => {
  it('deconstructs a fragment with DSCP EF and ECT(1) (scapy-built, every getter)', () => {
    const b = at(IPV4_FRAGMENT, 6);
    expect(checkIpv4(b, 6, IPV4_FRAGMENT.length)).toBe(WireDrop.OK);
    expect(ipv4Version(b, 6)).toBe(4);
    expect(ipv4Ihl(b, 6)).toBe(5);
    expect(ipv4HeaderLen(b, 6)).toBe(20);
    expect(ipv4Tos(b, 6)).toBe(0xb9);
    expect(ipv4Dscp(b, 6)).toBe(46);
    expect(ipv4Ecn(b, 6)).toBe(1);
    expect(ipv4TotalLength(b, 6)).toBe(36);
    expect(ipv4PayloadLen(b, 6)).toBe(16);
    expect(ipv4Id(b, 6)).toBe(0x1234);
    expect(ipv4ReservedFlag(b, 6)).toBe(false);
    expect(ipv4Df(b, 6)).toBe(false);
    expect(ipv4Mf(b, 6)).toBe(true);
    expect(ipv4FragOffset(b, 6)).toBe(185);
    expect(ipv4IsFragment(b, 6)).toBe(true);
    expect(ipv4Ttl(b, 6)).toBe(64);
    expect(ipv4Protocol(b, 6)).toBe(IPPROTO_UDP);
    expect(ipv4Checksum(b, 6)).toBe(0xe0e8);
    expect(ipv4Src(b, 6)).toBe(0xc6336401);
    expect(ipv4Dst(b, 6)).toBe(0xcb007105);
    expect(ipv4ChecksumOk(b, 6)).toBe(true);
  });

  it('deconstructs a captured DF datagram (dns_tcp.pcap frame 1)', () => {
    expect(checkIpv4(SYN_PKT, SYN_PKT_IP, SYN_PKT.length - SYN_PKT_IP)).toBe(WireDrop.OK);
    expect(ipv4Df(SYN_PKT, SYN_PKT_IP)).toBe(true);
    expect(ipv4Mf(SYN_PKT, SYN_PKT_IP)).toBe(false);
    expect(ipv4IsFragment(SYN_PKT, SYN_PKT_IP)).toBe(false);
    expect(ipv4Src(SYN_PKT, SYN_PKT_IP)).toBe(0xc0a8010b);
    expect(ipv4ChecksumOk(SYN_PKT, SYN_PKT_IP)).toBe(true);
  });

  it('ipv4IsFragment: a last fragment (MF clear, offset > 0) and a first fragment (MF set, offset 0) both count', () => {
    const b = at(IPV4_FRAGMENT, 0);
    setIpv4Mf(b, 0, false);
    expect(ipv4IsFragment(b, 0)).toBe(true);
    setIpv4FragOffset(b, 0, 0);
    expect(ipv4IsFragment(b, 0)).toBe(false);
    setIpv4Mf(b, 0, true);
    expect(ipv4IsFragment(b, 0)).toBe(true);
    setIpv4Mf(b, 0, false);
    setIpv4FragOffset(b, 0, 0x1fff);
    expect(ipv4FragOffset(b, 0)).toBe(0x1fff);
    expect(ipv4Mf(b, 0)).toBe(false);
  });

  it('constructs the fragment header with every setter on a 0xa5 buffer', () => {
    const b = filled(20);
    setIpv4Version(b, 0, 4);
    setIpv4Ihl(b, 0, 5);
    setIpv4Dscp(b, 0, 46);
    setIpv4Ecn(b, 0, 1);
    setIpv4TotalLength(b, 0, 36);
    setIpv4Id(b, 0, 0x1234);
    setIpv4ReservedFlag(b, 0, false);
    setIpv4Df(b, 0, false);
    setIpv4Mf(b, 0, true);
    setIpv4FragOffset(b, 0, 185);
    setIpv4Ttl(b, 0, 64);
    setIpv4Protocol(b, 0, IPPROTO_UDP);
    setIpv4Checksum(b, 0, 0xe0e8);
    setIpv4Src(b, 0, 0xc6336401);
    setIpv4Dst(b, 0, 0xcb007105);
    expect(toHex(b)).toBe(toHex(IPV4_FRAGMENT.subarray(0, 20)));
    setIpv4Tos(b, 0, 0);
    expect(ipv4Tos(b, 0)).toBe(0);
    setIpv4ReservedFlag(b, 0, true);
    expect(b[6]).toBe(0xa0);
    setIpv4Df(b, 0, true);
    expect(b[6]).toBe(0xe0);
  });

  it.each([
    ['reserved', setIpv4ReservedFlag, 0x80],
    ['DF', setIpv4Df, 0x40],
    ['MF', setIpv4Mf, 0x20],
  ] as const)('the %s flag setter touches only its own bit', (_name, set, bit) => {
    for (const start of [0x00, 0xff, 0xa5, 0x5a]) {
      const b = filled(20);
      b[6] = start;
      set(b, 0, true);
      expect(b[6]).toBe(start | bit);
      set(b, 0, false);
      expect(b[6]).toBe(start & ~bit);
      expect(b[7]).toBe(0xa5);
    }
  });

  it('initIpv4Header: version 4, IHL 5, the other 18 bytes zero, nothing around it touched (0xa5 buffer)', () => {
    const b = filled(24);
    initIpv4Header(b, 2);
    expect(toHex(b)).toBe(`a5a5 45${'00'.repeat(19)} a5a5`.replace(/ /g, ''));
    expect(checkIpv4(b, 2, 20)).toBe(WireDrop.IPV4_BAD_TOTAL_LENGTH); // total length is the caller's to set
  });

  it('initIpv4Header and the setters build the captured SYN header byte for byte', () => {
    const b = filled(20);
    initIpv4Header(b, 0);
    setIpv4TotalLength(b, 0, 60);
    setIpv4Id(b, 0, 0x9b28);
    setIpv4Df(b, 0, true);
    setIpv4Ttl(b, 0, 64);
    setIpv4Protocol(b, 0, IPPROTO_TCP);
    setIpv4Src(b, 0, 0xc0a8010b);
    setIpv4Dst(b, 0, 0xd157f912);
    fillIpv4Checksum(b, 0);
    expect(toHex(b)).toBe(toHex(SYN_PKT.subarray(SYN_PKT_IP, SYN_PKT_IP + 20)));
  });

  it('constants: the TTL and precedence of datagrams the router originates (64, internetwork control 0xc0)', () => {
    expect(IPV4_DEFAULT_TTL).toBe(64);
    expect(IPTOS_PREC_INTERNETCONTROL >> 5).toBe(6);
  });

  it('fillIpv4Checksum computes the checksum the capture carries', () => {
    const b = at(SYN_PKT.subarray(SYN_PKT_IP, SYN_PKT_IP + 20), 1);
    setIpv4Checksum(b, 1, 0xa5a5);
    expect(ipv4ChecksumOk(b, 1)).toBe(false);
    fillIpv4Checksum(b, 1);
    expect(ipv4Checksum(b, 1)).toBe(0x1376);
  });

  it('parses and emits the fragment header byte for byte', () => {
    expect(parseIpv4(IPV4_FRAGMENT, 0, IPV4_FRAGMENT.length)).toEqual({ ok: true, repr: FRAGMENT_REPR });
    const b = filled(22);
    expect(emitIpv4(FRAGMENT_REPR, b, 1)).toBe(20);
    expect(toHex(b)).toBe('a5' + toHex(IPV4_FRAGMENT.subarray(0, 20)) + 'a5');
  });

  it('parses and emits the captured SYN header byte for byte', () => {
    expect(parseIpv4(SYN_PKT, SYN_PKT_IP, SYN_PKT.length - SYN_PKT_IP)).toEqual({ ok: true, repr: SYN_IP_REPR });
    const b = filled(20);
    emitIpv4(SYN_IP_REPR, b, 0);
    expect(toHex(b)).toBe(toHex(SYN_PKT.subarray(SYN_PKT_IP, SYN_PKT_IP + 20)));
  });

  it('emit computes the checksum unless told to keep the repr value', () => {
    const b = filled(20);
    emitIpv4({ ...FRAGMENT_REPR, checksum: 0 }, b, 0);
    expect(ipv4Checksum(b, 0)).toBe(0xe0e8);
    emitIpv4({ ...FRAGMENT_REPR, checksum: 0xbeef }, b, 0, { computeChecksum: false });
    expect(ipv4Checksum(b, 0)).toBe(0xbeef);
  });

  it('RFC 3514 reserved flag survives parse and emit', () => {
    const b = at(IPV4_FRAGMENT, 0);
    setIpv4ReservedFlag(b, 0, true);
    const r = parseIpv4(b, 0, IPV4_FRAGMENT.length);
    expect(r.ok && r.repr.reservedFlag).toBe(true);
    const out = filled(20);
    if (r.ok) emitIpv4(r.repr, out, 0, { computeChecksum: false });
    expect(toHex(out)).toBe(toHex(b.subarray(0, 20)));
  });

  it('parses a Router Alert option (IGMP_V2.pcap frame 2) and emits it back', () => {
    const r = parseIpv4(IGMP_ROUTER_ALERT, IGMP_IP, IGMP_ROUTER_ALERT.length - IGMP_IP);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.repr.ihl).toBe(6);
    expect(r.repr.protocol).toBe(IPPROTO_IGMP);
    expect(r.repr.ttl).toBe(1);
    expect(r.repr.options).toEqual([{ type: 148, data: hex('0000') }]);
    expect(ipv4IhlForOptions(r.repr.options)).toBe(6);
    const b = filled(24);
    emitIpv4(r.repr, b, 0);
    expect(toHex(b)).toBe(toHex(IGMP_ROUTER_ALERT.subarray(IGMP_IP, IGMP_IP + 24)));
  });

  it('emit pads options with zeros up to the IHL and refuses options that do not fit', () => {
    const repr: Ipv4Repr = { ...FRAGMENT_REPR, ihl: 7, options: [{ type: 1, data: new Uint8Array(0) }] };
    const b = filled(28);
    emitIpv4(repr, b, 0);
    expect(toHex(b.subarray(20))).toBe('0100000000000000');
    expect(ipv4IhlForOptions(repr.options)).toBe(6);
    expect(() => emitIpv4({ ...repr, ihl: 5 }, filled(28), 0)).toThrow(RangeError);
    expect(() => emitIpv4({ ...repr, ihl: 4, options: [] }, filled(28), 0)).toThrow(RangeError);
    expect(() => emitIpv4({ ...repr, src: '1.2.3' }, filled(28), 0)).toThrow(RangeError);
  });

  describe('incremental checksum (RFC 1624)', () => {
    it('decrementIpv4Ttl: 64 -> 63 gives the same checksum as recomputation (RFC 1812 5.3.1)', () => {
      const b = at(SYN_PKT, 0);
      expect(decrementIpv4Ttl(b, SYN_PKT_IP)).toBe(63);
      expect(ipv4Ttl(b, SYN_PKT_IP)).toBe(63);
      const c = ipv4Checksum(b, SYN_PKT_IP);
      fillIpv4Checksum(b, SYN_PKT_IP);
      expect(c).toBe(ipv4Checksum(b, SYN_PKT_IP));
      expect(c).toBe(0x1476);
    });

    it('decrementIpv4Ttl leaves a TTL of 0 alone and returns 0', () => {
      const b = at(IGMP_ROUTER_ALERT, 0);
      expect(decrementIpv4Ttl(b, IGMP_IP)).toBe(0);
      expect(decrementIpv4Ttl(b, IGMP_IP)).toBe(0);
      expect(ipv4Ttl(b, IGMP_IP)).toBe(0);
      expect(ipv4ChecksumOk(b, IGMP_IP)).toBe(true);
    });

    it('setIpv4TtlWithCsum, setIpv4SrcWithCsum, setIpv4DstWithCsum keep the header checksum valid', () => {
      const b = at(IPV4_FRAGMENT, 0);
      setIpv4TtlWithCsum(b, 0, 255);
      setIpv4SrcWithCsum(b, 0, 0xc0000201);
      setIpv4DstWithCsum(b, 0, 0xffffffff);
      expect([ipv4Ttl(b, 0), ipv4Src(b, 0), ipv4Dst(b, 0)]).toEqual([255, 0xc0000201, 0xffffffff]);
      expect(ipv4ChecksumOk(b, 0)).toBe(true);
    });
  });

  describe('bad input', () => {
    // Frames from the tcpdump regression captures, from the IP header on.
    it('IPV4_TRUNCATED: shorter than 20 bytes (ipv4_invalid_length.pcap: 19 bytes captured)', () => {
      const b = hex('45000054fc35000040113b058cd309ce2d217f');
      expect(checkIpv4(b, 0, b.length)).toBe(WireDrop.IPV4_TRUNCATED);
      expect(parseIpv4(b, 0, b.length)).toEqual({ ok: false, reason: WireDrop.IPV4_TRUNCATED });
    });
    it('IPV4_BAD_VERSION: version 6 behind EtherType 0x0800 (bad-ipv4-version-pgm-heapoverflow.pcap)', () => {
      const b = hex('6530303030300000307130303030303030303030');
      expect(checkIpv4(b, 0, b.length)).toBe(WireDrop.IPV4_BAD_VERSION);
    });
    it('IPV4_BAD_IHL: IHL 4 (ipv4_invalid_hdr_length.pcap)', () => {
      const b = hex('44000054f1a60000401145948cd309ce2d217f9c');
      expect(checkIpv4(b, 0, 84)).toBe(WireDrop.IPV4_BAD_IHL);
    });
    it('IPV4_TRUNCATED: IHL 15 claims 60 bytes of header, 40 are there', () => {
      const b = at(SYN_PKT.subarray(SYN_PKT_IP), 0, 0);
      setIpv4Ihl(b, 0, 15);
      expect(checkIpv4(b, 0, 40)).toBe(WireDrop.IPV4_TRUNCATED);
    });
    it('IPV4_BAD_TOTAL_LENGTH: total length 85 with 84 bytes captured (ipv4_invalid_total_length.pcap)', () => {
      const b = at(hex('45000055f1a60000401145938cd309ce2d217f9c'), 0, 64);
      expect(checkIpv4(b, 0, 84)).toBe(WireDrop.IPV4_BAD_TOTAL_LENGTH);
      expect(checkIpv4(b, 0, 85)).toBe(WireDrop.OK);
    });
    it('IPV4_BAD_TOTAL_LENGTH: total length 19, below the header (ipv4_invalid_total_length_2.pcap)', () => {
      const b = at(hex('45000013f1a60000401145948cd309ce2d217f9c'), 0, 64);
      expect(checkIpv4(b, 0, 84)).toBe(WireDrop.IPV4_BAD_TOTAL_LENGTH);
    });
    it('a frame longer than the total length (Ethernet padding) is fine', () => {
      expect(checkIpv4(IGMP_ROUTER_ALERT, IGMP_IP, 46)).toBe(WireDrop.OK);
    });
    it('IPV4_BAD_OPTIONS: an option running past the header; Parameter Problem points at its length byte', () => {
      // ip_ts_opts_asan.pcap: a timestamp option, then type 0xf5 length 19 with 2 bytes left.
      const b = at(hex('49e2ff270020e0000001a09b950821515f1253e3440e050100003470494220020105f513'), 0, 0);
      setIpv4TotalLength(b, 0, 36);
      expect(checkIpv4(b, 0, 36)).toBe(WireDrop.IPV4_BAD_OPTIONS);
      expect(ipv4OptionsErrorPointer(b, 0)).toBe(35);
    });
    it('the checksum is not part of checkIpv4: ipv4ChecksumOk catches a flipped bit (IPV4_BAD_CHECKSUM is the caller\'s)', () => {
      const b = at(IPV4_FRAGMENT, 0);
      b[8] ^= 0x01;
      expect(checkIpv4(b, 0, IPV4_FRAGMENT.length)).toBe(WireDrop.OK);
      expect(ipv4ChecksumOk(b, 0)).toBe(false);
    });
  });

  it('readIpv4Repr decodes only the options that fit in `available`', () => {
    const b = at(IGMP_ROUTER_ALERT.subarray(IGMP_IP), 0);
    expect(readIpv4Repr(b, 0, 22).options).toEqual([]);
    expect(readIpv4Repr(b, 0, 24).options).toHaveLength(1);
  });
});
