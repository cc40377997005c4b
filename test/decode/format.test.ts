import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/decode/frame.js';
import { formatFrame, tcpFlagsString } from '../../src/decode/format.js';
import { arpPacket, bytes, ethernet, flip, icmpMessage, ipv4Packet, nullHeader, sll, tcpSegment, udpDatagram } from './packets.js';

function line(frame: Uint8Array, linkType = 1): string {
  return formatFrame(decodeFrame(frame, 0, frame.length, frame.length, linkType, 1, 1490000000, 123456000));
}

const TS = '1490000000.123456';

describe('formatFrame: tcpdump -n style lines', () => {
  it('UDP', () => {
    const f = ethernet(0x0800, ipv4Packet({ payload: udpDatagram({ sport: 40000, dport: 53, payload: bytes(32) }) }));
    expect(line(f)).toBe(`${TS} 198.51.100.1.40000 > 203.0.113.5.53: UDP, length 32`);
  });

  it('TCP SYN-ACK with payload length after options', () => {
    const seg = tcpSegment({ sport: 80, dport: 40000, seq: 1, ack: 2, flags: 0x12, win: 512, options: [2, 4, 5, 0xb4] });
    const f = ethernet(0x0800, ipv4Packet({ src: '203.0.113.5', dst: '198.51.100.1', proto: 6, payload: seg }));
    expect(line(f)).toBe(`${TS} 203.0.113.5.80 > 198.51.100.1.40000: Flags [S.], seq 1, ack 2, win 512, length 0`);
  });

  it('TCP flags in tcpdump order', () => {
    expect(tcpFlagsString(0x18)).toBe('P.');
    expect(tcpFlagsString(0x11)).toBe('F.');
    expect(tcpFlagsString(0x04)).toBe('R');
    expect(tcpFlagsString(0xc2)).toBe('SEW');
    expect(tcpFlagsString(0)).toBe('none');
  });

  it('ICMP echo request', () => {
    const f = ethernet(0x0800, ipv4Packet({ proto: 1, payload: icmpMessage({ type: 8, rest: 0x00010002, payload: bytes(56) }) }));
    expect(line(f)).toBe(`${TS} 198.51.100.1 > 203.0.113.5: ICMP echo request, id 1, seq 2, length 64`);
  });

  it('ICMP need-to-frag names the quoted destination and the MTU', () => {
    const quoted = ipv4Packet({ dst: '203.0.113.9', payload: udpDatagram() }).subarray(0, 28);
    const f = ethernet(0x0800, ipv4Packet({ src: '192.0.2.1', dst: '198.51.100.1', proto: 1, payload: icmpMessage({ type: 3, code: 4, rest: 1400, payload: quoted }) }));
    expect(line(f)).toBe(`${TS} 192.0.2.1 > 198.51.100.1: ICMP 203.0.113.9 unreachable - need to frag (mtu 1400), length 36`);
  });

  it('ICMP port unreachable', () => {
    const quoted = ipv4Packet({ dst: '203.0.113.9', payload: udpDatagram({ dport: 53 }) }).subarray(0, 28);
    const f = ethernet(0x0800, ipv4Packet({ proto: 1, payload: icmpMessage({ type: 3, code: 3, rest: 0, payload: quoted }) }));
    expect(line(f)).toContain('ICMP 203.0.113.9 udp port 53 unreachable, length 36');
  });

  it('ARP request and reply', () => {
    expect(line(ethernet(0x0806, arpPacket(1, '192.0.2.2', '192.0.2.1')))).toBe(`${TS} ARP, Request who-has 192.0.2.1 tell 192.0.2.2, length 28`);
    expect(line(ethernet(0x0806, arpPacket(2, '192.0.2.1', '192.0.2.2')))).toBe(`${TS} ARP, Reply 192.0.2.1 is-at 02:00:00:00:00:02, length 28`);
  });

  it('non-IPv4 ethertypes, on Ethernet and on SLL', () => {
    expect(line(ethernet(0x86dd, bytes(72)))).toBe(`${TS} ethertype IPv6 (0x86dd), length 86`);
    expect(line(sll(0x86dd, bytes(40)), 113)).toBe(`${TS} ethertype IPv6 (0x86dd), length 56`);
    expect(line(ethernet(0x1234, bytes(46)))).toBe(`${TS} ethertype Unknown (0x1234), length 60`);
    expect(line(ethernet(46, bytes(46)))).toBe(`${TS} 802.3 LLC, length 60`);
    expect(line(nullHeader(7, true, bytes(40)), 0)).toBe(`${TS} linktype NULL (0), unknown protocol, length 44`);
  });

  it('VLAN tags are shown before the addresses', () => {
    const f = ethernet(0x0800, ipv4Packet({ payload: udpDatagram({ payload: bytes(4) }) }), [[0x8100, 100]]);
    expect(line(f)).toBe(`${TS} vlan 100 198.51.100.1.40000 > 203.0.113.5.53: UDP, length 4`);
  });

  it('fragments carry tcpdump -v\'s (frag id:size@offset+) note', () => {
    const later = ethernet(0x0800, ipv4Packet({ proto: 17, id: 4660, frag: 185, payload: bytes(100) }));
    expect(line(later)).toBe(`${TS} 198.51.100.1 > 203.0.113.5: ip-proto-17 UDP, length 100 (frag 4660:100@1480)`);
  });

  it('a UDP length field below 8 or past the datagram: tcpdump\'s words, not a negative length', () => {
    const at = (len: number) => line(ethernet(0x0800, ipv4Packet({ payload: udpDatagram({ sport: 40000, dport: 5353, payload: bytes(4), len }) })));
    expect(at(0)).toBe(`${TS} 198.51.100.1.40000 > 203.0.113.5.5353: truncated-udplength 0 [malformed: udp-bad-length]`);
    expect(at(4)).toBe(`${TS} 198.51.100.1.40000 > 203.0.113.5.5353: truncated-udplength 4 [malformed: udp-bad-length]`);
    expect(at(12)).toBe(`${TS} 198.51.100.1.40000 > 203.0.113.5.5353: UDP, length 4`);
    expect(at(20)).toBe(`${TS} 198.51.100.1.40000 > 203.0.113.5.5353: UDP, bad length 12 > 4 [malformed: udp-bad-length]`);
  });

  it('a TCP data offset below 5 or past the segment, and a TCP header cut short', () => {
    const seg = (doff: number) => ethernet(0x0800, ipv4Packet({ proto: 6, payload: tcpSegment({ sport: 5000, dport: 443, seq: 7, ack: 9, flags: 0x18, win: 64, doff, payload: bytes(4) }) }));
    expect(line(seg(4))).toBe(`${TS} 198.51.100.1.5000 > 203.0.113.5.443: tcp 8 [bad hdr length 16 - too short, < 20] [malformed: tcp-bad-data-offset]`);
    expect(line(seg(15))).toBe(`${TS} 198.51.100.1.5000 > 203.0.113.5.443: Flags [P.], seq 7, ack 9, win 64 [bad hdr length 60 - too long, > 24] [malformed: tcp-bad-data-offset]`);
    const f = seg(5);
    const cut = formatFrame(decodeFrame(f, 0, 14 + 20 + 8, f.length, 1, 1, 1490000000, 123456000));
    expect(cut).toBe(`${TS} 198.51.100.1.5000 > 203.0.113.5.443: [|tcp]`);
  });

  it('IPv4 total length past the frame: the transport header, then the reason; below the header length: bad-len', () => {
    const udp = ipv4Packet({ payload: udpDatagram({ sport: 40000, dport: 5353, payload: bytes(4) }) });
    const long = ethernet(0x0800, ipv4Packet({ payload: udpDatagram({ sport: 40000, dport: 5353, payload: bytes(4) }), totalLength: udp.length + 100, keepL4Checksum: true }));
    expect(line(long)).toBe(`${TS} 198.51.100.1.40000 > 203.0.113.5.5353: UDP, length 4 [malformed: ipv4-bad-total-length]`);
    expect(line(ethernet(0x0800, ipv4Packet({ totalLength: 0 })))).toBe(`${TS} 198.51.100.1 > 203.0.113.5: ip-proto-17 UDP, bad-len 0 [malformed: ipv4-bad-total-length]`);
  });

  it('an ICMP error quoting 4 bytes of UDP: the port from the quote, and the quote named', () => {
    const quoted = ipv4Packet({ dst: '203.0.113.9', payload: udpDatagram({ sport: 5353, dport: 40000 }) }).subarray(0, 24);
    const f = ethernet(0x0800, ipv4Packet({ proto: 1, payload: icmpMessage({ type: 3, code: 3, rest: 0, payload: quoted }) }));
    expect(line(f)).toBe(`${TS} 198.51.100.1 > 203.0.113.5: ICMP 203.0.113.9 udp port 40000 unreachable, length 32 [malformed quote: udp-truncated]`);
  });

  it('malformed frames say why, after what was decoded', () => {
    const f = ethernet(0x0800, ipv4Packet({ payload: udpDatagram({ payload: bytes(4) }) }));
    expect(line(f.subarray(0, 30))).toBe(`${TS} IP, length 30 [malformed: ipv4-truncated]`);
    expect(line(flip(f, 14 + 20 + 9))).toBe(`${TS} 198.51.100.1.40000 > 203.0.113.5.53: UDP, length 4 [malformed: udp-bad-checksum]`);
    expect(line(f.subarray(0, 8))).toBe(`${TS} length 8 [malformed: ethernet-truncated]`);
    expect(line(f, 127)).toBe(`${TS} linktype IEEE802_11_RADIOTAP (127), length ${f.length} [malformed: link-unsupported]`);
  });
});
