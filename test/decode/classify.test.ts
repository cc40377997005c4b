import { describe, expect, it } from 'vitest';
import { WireDrop, wireDropName } from '../../src/wire/drop-reason.js';
import {
  CLASSIFY_NOT_IPV4,
  CLASSIFY_SLOTS,
  classifyFrame,
  FLAG_FRAGMENT,
  FLAG_IP_CSUM_OK,
  FLAG_IP_OPTIONS,
  FLAG_IPV4,
  FLAG_L4_CSUM_ABSENT,
  FLAG_L4_CSUM_OK,
  FLAG_LATER_FRAGMENT,
  FLAG_NOT_IPV4,
  SLOT_ETHERTYPE,
  SLOT_FLAGS,
  SLOT_IP_PROTO,
  SLOT_L3_LENGTH,
  SLOT_L3_OFFSET,
  SLOT_L4_LENGTH,
  SLOT_L4_OFFSET,
  SLOT_VLAN_COUNT,
} from '../../src/decode/classify.js';
import { arpPacket, bytes, ethernet, flip, icmpMessage, ipv4Packet, nullHeader, sll, sll2, tcpSegment, udpDatagram } from './packets.js';

const out = new Int32Array(CLASSIFY_SLOTS);

function classify(frame: Uint8Array, linkType = 1, pad = 0): number {
  // Put the frame at a non-zero offset inside a bigger buffer, as the arena does.
  const arena = new Uint8Array(pad + frame.length + 7).fill(0xa5);
  arena.set(frame, pad);
  return classifyFrame(arena, pad, frame.length, linkType, out);
}

const udp = ipv4Packet({ proto: 17, payload: udpDatagram({ payload: bytes(18, 7) }) });

describe('classifyFrame: link layers', () => {
  it('Ethernet/IPv4/UDP: OK with every slot filled', () => {
    expect(classify(ethernet(0x0800, udp), 1, 10)).toBe(WireDrop.OK);
    expect(out[SLOT_L3_OFFSET]).toBe(10 + 14);
    expect(out[SLOT_L4_OFFSET]).toBe(10 + 34);
    expect(out[SLOT_IP_PROTO]).toBe(17);
    expect(out[SLOT_ETHERTYPE]).toBe(0x0800);
    expect(out[SLOT_VLAN_COUNT]).toBe(0);
    expect(out[SLOT_L3_LENGTH]).toBe(udp.length);
    expect(out[SLOT_L4_LENGTH]).toBe(udp.length - 20);
    expect(out[SLOT_FLAGS]).toBe(FLAG_IPV4 | FLAG_IP_CSUM_OK | FLAG_L4_CSUM_OK);
  });

  it('Ethernet with one 802.1Q tag and with stacked 802.1ad + 802.1Q tags', () => {
    expect(classify(ethernet(0x0800, udp, [[0x8100, 100]]))).toBe(WireDrop.OK);
    expect(out[SLOT_VLAN_COUNT]).toBe(1);
    expect(out[SLOT_L3_OFFSET]).toBe(18);
    expect(classify(ethernet(0x0800, udp, [[0x88a8, 10], [0x8100, 20]]))).toBe(WireDrop.OK);
    expect(out[SLOT_VLAN_COUNT]).toBe(2);
    expect(out[SLOT_L3_OFFSET]).toBe(22);
  });

  it('Ethernet padded to the 60-byte minimum: the IPv4 total length bounds the datagram', () => {
    const small = ipv4Packet({ proto: 17, payload: udpDatagram({ payload: bytes(0) }) });
    const frame = ethernet(0x0800, small);
    const padded = new Uint8Array(60);
    padded.set(frame);
    expect(classify(padded)).toBe(WireDrop.OK);
    expect(out[SLOT_L4_LENGTH]).toBe(8);
  });

  it.each([
    ['LINKTYPE_RAW (101)', 101],
    ['LINKTYPE_IPV4 (228)', 228],
    ['DLT_RAW 12', 12],
    ['DLT_RAW 14 (OpenBSD)', 14],
  ])('raw IPv4: %s', (_name, lt) => {
    expect(classify(udp, lt, 3)).toBe(WireDrop.OK);
    expect(out[SLOT_L3_OFFSET]).toBe(3);
    expect(out[SLOT_ETHERTYPE]).toBe(0x0800);
  });

  it('raw link carrying IPv6 is not IPv4', () => {
    const v6 = bytes(40);
    v6[0] = 0x60;
    expect(classify(v6, 101)).toBe(CLASSIFY_NOT_IPV4);
    expect(out[SLOT_ETHERTYPE]).toBe(0x86dd);
  });

  it('Linux SLL: 16-byte header, protocol at offset 14; with a VLAN tag', () => {
    expect(classify(sll(0x0800, udp), 113)).toBe(WireDrop.OK);
    expect(out[SLOT_L3_OFFSET]).toBe(16);
    const tagged = sll(0x8100, new Uint8Array([0x00, 0x64, 0x08, 0x00, ...udp]));
    expect(classify(tagged, 113)).toBe(WireDrop.OK);
    expect(out[SLOT_L3_OFFSET]).toBe(20);
    expect(out[SLOT_VLAN_COUNT]).toBe(1);
    expect(classify(sll(0x0800, udp).subarray(0, 15), 113)).toBe(WireDrop.LINK_TRUNCATED);
  });

  it('Linux SLL2: 20-byte header, protocol at offset 0', () => {
    expect(classify(sll2(0x0800, udp), 276)).toBe(WireDrop.OK);
    expect(out[SLOT_L3_OFFSET]).toBe(20);
    expect(classify(sll2(0x86dd, bytes(40)), 276)).toBe(CLASSIFY_NOT_IPV4);
    expect(classify(sll2(0x0800, udp).subarray(0, 19), 276)).toBe(WireDrop.LINK_TRUNCATED);
  });

  it.each([
    ['NULL, little-endian host', 0, true],
    ['NULL, big-endian host', 0, false],
    ['LOOP (network order)', 108, false],
  ])('%s: AF_INET is IPv4', (_name, lt, le) => {
    expect(classify(nullHeader(2, le, udp), lt)).toBe(WireDrop.OK);
    expect(out[SLOT_L3_OFFSET]).toBe(4);
  });

  it('NULL with AF_INET6 (BSD 24, Darwin 30) is IPv6; unknown families are not IPv4', () => {
    expect(classify(nullHeader(24, true, bytes(40)), 0)).toBe(CLASSIFY_NOT_IPV4);
    expect(out[SLOT_ETHERTYPE]).toBe(0x86dd);
    expect(classify(nullHeader(30, false, bytes(40)), 108)).toBe(CLASSIFY_NOT_IPV4);
    expect(classify(nullHeader(7, true, bytes(40)), 0)).toBe(CLASSIFY_NOT_IPV4);
    expect(out[SLOT_ETHERTYPE]).toBe(-1);
    expect(classify(bytes(3), 0)).toBe(WireDrop.LINK_TRUNCATED);
  });

  it('ARP and IPv6 over Ethernet are not IPv4, and not drops', () => {
    expect(classify(ethernet(0x0806, arpPacket(1, '192.0.2.2', '192.0.2.1')))).toBe(CLASSIFY_NOT_IPV4);
    expect(out[SLOT_ETHERTYPE]).toBe(0x0806);
    expect(out[SLOT_FLAGS]).toBe(FLAG_NOT_IPV4);
    expect(classify(ethernet(0x86dd, bytes(40)), 1)).toBe(CLASSIFY_NOT_IPV4);
  });

  it('an unsupported link type is a drop', () => {
    expect(classify(udp, 127)).toBe(WireDrop.LINK_UNSUPPORTED);
  });
});

describe('classifyFrame: IPv4 and L4', () => {
  const tcp = ipv4Packet({ proto: 6, payload: tcpSegment({ flags: 0x12, payload: bytes(5, 1) }) });
  const icmp = ipv4Packet({ proto: 1, payload: icmpMessage({ payload: bytes(56, 9) }) });

  it('TCP and ICMP with good checksums', () => {
    expect(classify(ethernet(0x0800, tcp))).toBe(WireDrop.OK);
    expect(out[SLOT_FLAGS] & FLAG_L4_CSUM_OK).toBeTruthy();
    expect(classify(ethernet(0x0800, icmp))).toBe(WireDrop.OK);
    expect(out[SLOT_IP_PROTO]).toBe(1);
  });

  it('IPv4 options set FLAG_IP_OPTIONS and move the L4 offset', () => {
    const withOpts = ipv4Packet({ proto: 17, options: [0x94, 0x04, 0, 0], payload: udpDatagram() });
    expect(classify(ethernet(0x0800, withOpts))).toBe(WireDrop.OK);
    expect(out[SLOT_FLAGS] & FLAG_IP_OPTIONS).toBeTruthy();
    expect(out[SLOT_L4_OFFSET]).toBe(14 + 24);
  });

  it('RFC 768: a zero UDP checksum means "none", not "bad"', () => {
    const frame = ethernet(0x0800, udp);
    frame[14 + 20 + 6] = 0;
    frame[14 + 20 + 7] = 0;
    expect(classify(frame)).toBe(WireDrop.OK);
    expect(out[SLOT_FLAGS] & (FLAG_L4_CSUM_ABSENT | FLAG_L4_CSUM_OK)).toBe(FLAG_L4_CSUM_ABSENT);
  });

  it('fragments: L4 is not validated; a later fragment is flagged', () => {
    const first = ipv4Packet({ proto: 17, mf: true, payload: udpDatagram({ len: 3000 }) });
    expect(classify(ethernet(0x0800, first))).toBe(WireDrop.OK);
    expect(out[SLOT_FLAGS] & (FLAG_FRAGMENT | FLAG_LATER_FRAGMENT)).toBe(FLAG_FRAGMENT);
    const later = ipv4Packet({ proto: 17, frag: 185, payload: bytes(3) });
    expect(classify(ethernet(0x0800, later))).toBe(WireDrop.OK);
    expect(out[SLOT_FLAGS] & FLAG_LATER_FRAGMENT).toBeTruthy();
  });

  // One frame per drop reason a header check can return on this path.
  const good = ethernet(0x0800, udp);
  const cases: [string, Uint8Array, number, number][] = [
    ['ethernet-truncated', good.subarray(0, 13), 1, WireDrop.ETHERNET_TRUNCATED],
    ['vlan-truncated', ethernet(0x0800, udp, [[0x8100, 5]]).subarray(0, 16), 1, WireDrop.VLAN_TRUNCATED],
    ['ipv4-truncated', good.subarray(0, 14 + 19), 1, WireDrop.IPV4_TRUNCATED],
    ['ipv4-bad-version', flip(good, 14, 0x20), 1, WireDrop.IPV4_BAD_VERSION],
    ['ipv4-bad-ihl', (() => { const f = good.slice(); f[14] = 0x44; return f; })(), 1, WireDrop.IPV4_BAD_IHL],
    ['ipv4-bad-total-length (above the frame)', ethernet(0x0800, ipv4Packet({ totalLength: 200 })), 1, WireDrop.IPV4_BAD_TOTAL_LENGTH],
    ['ipv4-bad-total-length (below the header)', ethernet(0x0800, ipv4Packet({ totalLength: 19 })), 1, WireDrop.IPV4_BAD_TOTAL_LENGTH],
    ['ipv4-bad-checksum', flip(good, 14 + 10), 1, WireDrop.IPV4_BAD_CHECKSUM],
    ['ipv4-bad-options', ethernet(0x0800, ipv4Packet({ options: [0x94, 0x08, 0, 0] })), 1, WireDrop.IPV4_BAD_OPTIONS],
    ['tcp-truncated', ethernet(0x0800, ipv4Packet({ proto: 6, payload: bytes(19) })), 1, WireDrop.TCP_TRUNCATED],
    ['tcp-bad-data-offset', ethernet(0x0800, ipv4Packet({ proto: 6, payload: tcpSegment({ doff: 4 }) })), 1, WireDrop.TCP_BAD_DATA_OFFSET],
    ['tcp-bad-checksum', flip(ethernet(0x0800, tcp), 14 + 20 + 17), 1, WireDrop.TCP_BAD_CHECKSUM],
    ['udp-truncated', ethernet(0x0800, ipv4Packet({ proto: 17, payload: bytes(7) })), 1, WireDrop.UDP_TRUNCATED],
    ['udp-bad-length', ethernet(0x0800, ipv4Packet({ proto: 17, payload: udpDatagram({ len: 100 }) })), 1, WireDrop.UDP_BAD_LENGTH],
    ['udp-bad-checksum', flip(good, 14 + 20 + 9), 1, WireDrop.UDP_BAD_CHECKSUM],
    ['icmp-truncated', ethernet(0x0800, ipv4Packet({ proto: 1, payload: bytes(7) })), 1, WireDrop.ICMP_TRUNCATED],
    ['icmp-bad-checksum', flip(ethernet(0x0800, icmp), 14 + 20 + 30), 1, WireDrop.ICMP_BAD_CHECKSUM],
    ['link-truncated', bytes(10), 113, WireDrop.LINK_TRUNCATED],
    ['link-unsupported', good, 105, WireDrop.LINK_UNSUPPORTED],
  ];
  it.each(cases)('%s', (name, frame, lt, code) => {
    const r = classify(frame, lt);
    expect(wireDropName(r)).toBe(name.split(' ')[0]);
    expect(r).toBe(code);
  });

  it('never reads past the array when len overstates it', () => {
    const frame = ethernet(0x0800, udp);
    expect(classifyFrame(frame, 0, frame.length + 100, 1, out)).toBe(WireDrop.OK);
    expect(classifyFrame(frame, 10, 1000, 1, out)).toBe(CLASSIFY_NOT_IPV4);
    expect(classifyFrame(frame, frame.length + 5, 60, 1, out)).toBe(WireDrop.ETHERNET_TRUNCATED);
  });
});
