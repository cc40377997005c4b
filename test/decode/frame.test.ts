import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../src/decode/frame.js';
import { formatTimestamp } from '../../src/decode/summary.js';
import { arpPacket, bytes, ethernet, flip, icmpMessage, ipv4Packet, nullHeader, sll, sll2, tcpSegment, udpDatagram } from './packets.js';

function decode(frame: Uint8Array, linkType = 1, wireLen = frame.length) {
  return decodeFrame(frame, 0, frame.length, wireLen, linkType, 1, 1490000000, 123456000);
}

const udp = ipv4Packet({ proto: 17, ttl: 63, id: 7, df: true, payload: udpDatagram({ sport: 40000, dport: 53, payload: bytes(32, 1) }) });

describe('decodeFrame: sections', () => {
  it('Ethernet/IPv4/UDP gives exactly the documented shape', () => {
    expect(decode(ethernet(0x0800, udp))).toEqual({
      n: 1,
      ts: '1490000000.123456',
      caplen: 14 + 60,
      len: 14 + 60,
      eth: { src: '02:00:00:00:00:02', dst: '02:00:00:00:00:01', type: 0x0800, vlan: [] },
      ip: {
        src: '198.51.100.1',
        dst: '203.0.113.5',
        proto: 17,
        ttl: 63,
        id: 7,
        len: 60,
        ihl: 5,
        df: true,
        mf: false,
        frag: 0,
        csumOk: true,
        options: [],
      },
      udp: { sport: 40000, dport: 53, len: 40, csumOk: true },
    });
  });

  it('VLAN IDs outermost first; eth.type is the inner ethertype', () => {
    const s = decode(ethernet(0x0800, udp, [[0x88a8, 10], [0x8100, 0x2000 | 20]]));
    expect(s.eth).toMatchObject({ type: 0x0800, vlan: [10, 20] });
    expect(s.ip?.src).toBe('198.51.100.1');
  });

  it('TCP: ports, raw seq/ack, low 8 flag bits, window, data offset', () => {
    const seg = tcpSegment({ sport: 40000, dport: 80, seq: 0xfffffff0, ack: 2, flags: 0x12, win: 512, options: [2, 4, 5, 0xb4] });
    const s = decode(ethernet(0x0800, ipv4Packet({ proto: 6, payload: seg })));
    expect(s.tcp).toEqual({ sport: 40000, dport: 80, seq: 0xfffffff0, ack: 2, doff: 6, flags: 0x12, win: 512, csumOk: true });
    expect(s.malformed).toBeUndefined();
  });

  it('ICMP echo: id and seq, no mtu, no inner', () => {
    const s = decode(ethernet(0x0800, ipv4Packet({ proto: 1, payload: icmpMessage({ type: 8, rest: 0x00010002, payload: bytes(56) }) })));
    expect(s.icmp).toEqual({ type: 8, code: 0, id: 1, seq: 2, csumOk: true });
  });

  it('ICMP frag-needed: mtu and the quoted datagram (IP header + first 8 bytes of UDP)', () => {
    const quoted = ipv4Packet({ src: '198.51.100.1', dst: '203.0.113.9', proto: 17, payload: udpDatagram({ sport: 1234, dport: 53, payload: bytes(100) }) });
    const msg = icmpMessage({ type: 3, code: 4, rest: 1400, payload: quoted.subarray(0, 28) });
    const s = decode(ethernet(0x0800, ipv4Packet({ src: '192.0.2.1', dst: '198.51.100.1', proto: 1, payload: msg })));
    expect(s.icmp?.mtu).toBe(1400);
    expect(s.icmp?.id).toBeUndefined();
    expect(s.icmp?.inner?.ip).toMatchObject({ src: '198.51.100.1', dst: '203.0.113.9', proto: 17, len: quoted.length, csumOk: true });
    expect(s.icmp?.inner?.udp).toEqual({ sport: 1234, dport: 53, len: 108 });
  });

  it('ICMP error quoting 8 bytes of TCP: ports and seq only', () => {
    const quoted = ipv4Packet({ proto: 6, payload: tcpSegment({ sport: 5000, dport: 443, seq: 99 }) });
    const msg = icmpMessage({ type: 11, code: 0, rest: 0, payload: quoted.subarray(0, 28) });
    const s = decode(ethernet(0x0800, ipv4Packet({ proto: 1, payload: msg })));
    expect(s.icmp?.inner?.tcp).toEqual({ sport: 5000, dport: 443, seq: 99 });
  });

  it('ICMP error quoting an ICMP echo; and one quoting too little for an IP header', () => {
    const quoted = ipv4Packet({ proto: 1, payload: icmpMessage({ type: 8, rest: 0x00070008 }) });
    const s = decode(ethernet(0x0800, ipv4Packet({ proto: 1, payload: icmpMessage({ type: 11, payload: quoted }) })));
    expect(s.icmp?.inner?.icmp).toMatchObject({ type: 8, code: 0, id: 7, seq: 8 });
    expect(s.icmp?.inner?.malformed).toBeUndefined();
    const short = decode(ethernet(0x0800, ipv4Packet({ proto: 1, payload: icmpMessage({ type: 3, code: 1, payload: quoted.subarray(0, 12) }) })));
    // The quote is named; the frame carrying it is sound.
    expect(short.icmp?.inner).toEqual({ malformed: 'ipv4-truncated' });
    expect(short.malformed).toBeUndefined();
  });

  it('IPv4 options are listed as {type, len}, up to EOL', () => {
    const s = decode(ethernet(0x0800, ipv4Packet({ options: [0x94, 0x04, 0, 0, 0x01, 0x00, 0x00, 0x00] })));
    expect(s.ip?.ihl).toBe(7);
    expect(s.ip?.options).toEqual([
      { type: 0x94, len: 4 },
      { type: 1, len: 1 },
    ]);
  });

  it('an unknown IP protocol gives the ip section only', () => {
    const s = decode(ethernet(0x0800, ipv4Packet({ proto: 47, payload: bytes(24) })));
    expect(s.ip?.proto).toBe(47);
    expect(Object.keys(s)).toEqual(['n', 'ts', 'caplen', 'len', 'eth', 'ip']);
  });

  it('non-IPv4 Ethernet: eth section only; ARP gets an arp section', () => {
    const v6 = decode(ethernet(0x86dd, bytes(40)));
    expect(Object.keys(v6)).toEqual(['n', 'ts', 'caplen', 'len', 'eth']);
    expect(v6.eth?.type).toBe(0x86dd);
    const arp = decode(ethernet(0x0806, arpPacket(1, '192.0.2.2', '192.0.2.1')));
    expect(arp.arp).toEqual({ op: 1, sha: '02:00:00:00:00:02', spa: '192.0.2.2', tha: '00:00:00:00:00:00', tpa: '192.0.2.1' });
  });

  it.each([
    ['SLL', 113, sll(0x0800, udp)],
    ['SLL2', 276, sll2(0x0800, udp)],
    ['NULL', 0, nullHeader(2, true, udp)],
    ['LOOP', 108, nullHeader(2, false, udp)],
    ['RAW', 101, udp],
    ['IPV4', 228, udp],
  ])('%s: a link section instead of eth, then the same IPv4/UDP', (_n, lt, frame) => {
    const s = decode(frame, lt);
    expect(s.eth).toBeUndefined();
    expect(s.link).toEqual({ type: lt, proto: 0x0800 });
    expect(s.udp).toMatchObject({ sport: 40000, dport: 53, csumOk: true });
  });
});

describe('decodeFrame: fragments and short captures', () => {
  it('first fragment: L4 fields, checksum unverifiable (null)', () => {
    const s = decode(ethernet(0x0800, ipv4Packet({ proto: 17, mf: true, payload: udpDatagram({ len: 3000, payload: bytes(64) }) })));
    expect(s.ip).toMatchObject({ mf: true, frag: 0 });
    expect(s.udp).toEqual({ sport: 40000, dport: 53, len: 3000, csumOk: null });
    expect(s.malformed).toBeUndefined();
  });

  it('later fragment: no L4 section', () => {
    const s = decode(ethernet(0x0800, ipv4Packet({ proto: 6, frag: 185, payload: bytes(40) })));
    expect(s.ip?.frag).toBe(185);
    expect(s.tcp).toBeUndefined();
  });

  it('first fragment too short for the TCP header: ports only, not malformed', () => {
    const s = decode(ethernet(0x0800, ipv4Packet({ proto: 6, mf: true, payload: tcpSegment({ sport: 5000, dport: 443 }).subarray(0, 12) })));
    expect(s.tcp).toEqual({ sport: 5000, dport: 443, csumOk: null });
    expect(s.malformed).toBeUndefined();
  });

  it('cut short by the snap length: fields as captured, csumOk null, not malformed', () => {
    const tcp = ethernet(0x0800, ipv4Packet({ proto: 6, payload: tcpSegment({ payload: bytes(1000) }) }));
    const s = decode(tcp.subarray(0, 68), 1, tcp.length);
    expect(s.caplen).toBe(68);
    expect(s.ip?.len).toBe(tcp.length - 14);
    expect(s.tcp).toMatchObject({ sport: 40000, dport: 80, csumOk: null });
    expect(s.malformed).toBeUndefined();
  });

  it('a frame claiming more than was on the wire is malformed even when cut short', () => {
    const f = ethernet(0x0800, ipv4Packet({ totalLength: 1500 }));
    expect(decode(f, 1, f.length).malformed).toBe('ipv4-bad-total-length');
    expect(decode(f.subarray(0, 40), 1, f.length).malformed).toBe('ipv4-bad-total-length');
  });
});

describe('decodeFrame: malformed', () => {
  const good = ethernet(0x0800, udp);
  it.each([
    ['ethernet-truncated', good.subarray(0, 10), 1, []],
    ['vlan-truncated', ethernet(0x0800, udp, [[0x8100, 5]]).subarray(0, 16), 1, ['eth']],
    ['ipv4-truncated', good.subarray(0, 30), 1, ['eth']],
    ['ipv4-bad-version', flip(good, 14, 0x20), 1, ['eth']],
    ['ipv4-bad-checksum', flip(good, 14 + 10), 1, ['eth', 'ip', 'udp']],
    ['udp-bad-checksum', flip(good, 14 + 20 + 9), 1, ['eth', 'ip', 'udp']],
    // The ports of a TCP/UDP header cut short are shown (4 bytes are enough), as tshark and tcpdump show them.
    ['udp-truncated', ethernet(0x0800, ipv4Packet({ proto: 17, payload: bytes(7) })), 1, ['eth', 'ip', 'udp']],
    ['udp-truncated', ethernet(0x0800, ipv4Packet({ proto: 17, payload: bytes(3) })), 1, ['eth', 'ip']],
    ['tcp-truncated', ethernet(0x0800, ipv4Packet({ proto: 6, payload: bytes(12) })), 1, ['eth', 'ip', 'tcp']],
    ['tcp-truncated', ethernet(0x0800, ipv4Packet({ proto: 6, payload: bytes(3) })), 1, ['eth', 'ip']],
    ['icmp-truncated', ethernet(0x0800, ipv4Packet({ proto: 1, payload: bytes(4) })), 1, ['eth', 'ip']],
    ['arp-truncated', ethernet(0x0806, arpPacket(1, '192.0.2.2', '192.0.2.1').subarray(0, 20)), 1, ['eth']],
    ['arp-unsupported', ethernet(0x0806, flip(arpPacket(1, '192.0.2.2', '192.0.2.1'), 1, 0x06)), 1, ['eth']],
    ['link-truncated', bytes(12), 113, ['link']],
    ['link-unsupported', good, 127, ['link']],
  ])('%s keeps the sections decoded before it', (reason, frame, lt, sections) => {
    const s = decode(frame, lt);
    expect(s.malformed).toBe(reason);
    const present = ['eth', 'link', 'ip', 'tcp', 'udp', 'icmp', 'arp'].filter((k) => k in s);
    expect(present).toEqual(sections);
  });

  it('a bad IPv4 checksum still shows csumOk false and the L4 header', () => {
    const s = decode(flip(good, 14 + 10));
    expect(s.ip?.csumOk).toBe(false);
    expect(s.udp?.csumOk).toBe(true);
  });
});

describe('decodeFrame: what is there past a problem', () => {
  /** An IPv4 datagram whose total length claims `extra` bytes more than the frame holds (captured in full: not a snap-length cut). */
  const claimingMore = (payload: Uint8Array, proto: number, extra: number) => {
    const ip = ipv4Packet({ proto, payload });
    return ethernet(0x0800, ipv4Packet({ proto, payload, totalLength: ip.length + extra, keepL4Checksum: true }));
  };

  it('IPv4 total length past the captured bytes: the IPv4 fields and the TCP/UDP/ICMP header that is there, unverified', () => {
    const t = decode(claimingMore(tcpSegment({ sport: 5000, dport: 443, seq: 7, ack: 9, flags: 0x18, win: 100, payload: bytes(4) }), 6, 200));
    expect(t.malformed).toBe('ipv4-bad-total-length');
    expect(t.ip).toMatchObject({ len: 20 + 24 + 200, csumOk: true });
    expect(t.tcp).toEqual({ sport: 5000, dport: 443, seq: 7, ack: 9, doff: 5, flags: 0x18, win: 100, csumOk: null });
    const u = decode(claimingMore(udpDatagram({ sport: 40000, dport: 5353, payload: bytes(4) }), 17, 50));
    expect(u.malformed).toBe('ipv4-bad-total-length');
    expect(u.udp).toEqual({ sport: 40000, dport: 5353, len: 12, csumOk: null });
    const i = decode(claimingMore(icmpMessage({ type: 8, rest: 0x00070009, payload: bytes(4) }), 1, 80));
    expect(i.malformed).toBe('ipv4-bad-total-length');
    expect(i.icmp).toEqual({ type: 8, code: 0, id: 7, seq: 9, csumOk: null });
  });

  it('IPv4 total length past the captured bytes, ending inside the TCP header: the ports', () => {
    const f = claimingMore(tcpSegment({ sport: 5000, dport: 443 }), 6, 0).subarray(0, 14 + 20 + 12);
    const s = decode(f);
    expect(s.malformed).toBe('ipv4-bad-total-length');
    expect(s.tcp).toEqual({ sport: 5000, dport: 443, csumOk: null });
  });

  it('IPv4 total length below the header length: no payload to read', () => {
    const s = decode(ethernet(0x0800, ipv4Packet({ proto: 17, totalLength: 0 })));
    expect(s.malformed).toBe('ipv4-bad-total-length');
    expect(s.ip?.len).toBe(0);
    expect(s.udp).toBeUndefined();
  });

  it('bad IPv4 options: the header still ends at IHL * 4, and the L4 header after it is decoded', () => {
    // An option of length 1 (below its minimum of 2) then padding: IHL 6.
    const s = decode(ethernet(0x0800, ipv4Packet({ proto: 17, options: [7, 1, 0, 0], payload: udpDatagram({ sport: 1000, dport: 2000 }) })));
    expect(s.malformed).toBe('ipv4-bad-options');
    expect(s.udp).toMatchObject({ sport: 1000, dport: 2000, csumOk: true });
  });

  it('an ICMP error quoting 4 bytes of UDP or TCP: the ports, and the quote named malformed (the frame is not)', () => {
    const udpQuote = ipv4Packet({ dst: '203.0.113.9', proto: 17, payload: udpDatagram({ sport: 53, dport: 40000 }) }).subarray(0, 24);
    const u = decode(ethernet(0x0800, ipv4Packet({ proto: 1, payload: icmpMessage({ type: 3, code: 3, rest: 0, payload: udpQuote }) })));
    expect(u.malformed).toBeUndefined();
    expect(u.icmp?.inner?.ip).toMatchObject({ dst: '203.0.113.9', proto: 17 });
    expect(u.icmp?.inner?.udp).toEqual({ sport: 53, dport: 40000 });
    expect(u.icmp?.inner?.malformed).toBe('udp-truncated');
    const tcpQuote = ipv4Packet({ proto: 6, payload: tcpSegment({ sport: 5000, dport: 443, seq: 99 }) });
    const t = decode(ethernet(0x0800, ipv4Packet({ proto: 1, payload: icmpMessage({ type: 11, rest: 0, payload: tcpQuote.subarray(0, 24) }) })));
    expect(t.icmp?.inner?.tcp).toEqual({ sport: 5000, dport: 443 });
    expect(t.icmp?.inner?.malformed).toBe('tcp-truncated');
  });

  it('quotes of 6 bytes of UDP give its length; 8 bytes of TCP its sequence number; 16 the rest up to the window', () => {
    const udpQuote = ipv4Packet({ proto: 17, payload: udpDatagram({ sport: 53, dport: 40000, payload: bytes(12) }) }).subarray(0, 26);
    const u = decode(ethernet(0x0800, ipv4Packet({ proto: 1, payload: icmpMessage({ type: 3, code: 3, rest: 0, payload: udpQuote }) })));
    expect(u.icmp?.inner).toMatchObject({ udp: { sport: 53, dport: 40000, len: 20 }, malformed: 'udp-truncated' });
    const tcpQuote = ipv4Packet({ proto: 6, payload: tcpSegment({ sport: 5000, dport: 443, seq: 99, ack: 5, flags: 0x10, win: 64 }) });
    const at = (n: number) => decode(ethernet(0x0800, ipv4Packet({ proto: 1, payload: icmpMessage({ type: 11, rest: 0, payload: tcpQuote.subarray(0, 20 + n) }) }))).icmp?.inner;
    expect(at(8)).toEqual({ ip: expect.anything(), tcp: { sport: 5000, dport: 443, seq: 99 } });
    expect(at(15)?.tcp).toEqual({ sport: 5000, dport: 443, seq: 99 });
    expect(at(16)?.tcp).toEqual({ sport: 5000, dport: 443, seq: 99, ack: 5, doff: 5, flags: 0x10, win: 64 });
  });

  it('a quoted IPv4 header cut inside its options, or not IPv4: named in the quote', () => {
    const withOpts = ipv4Packet({ proto: 17, options: [1, 1, 1, 0], payload: udpDatagram() });
    const cut = decode(ethernet(0x0800, ipv4Packet({ proto: 1, payload: icmpMessage({ type: 3, code: 1, rest: 0, payload: withOpts.subarray(0, 22) }) })));
    expect(cut.icmp?.inner?.ip).toMatchObject({ ihl: 6, proto: 17 });
    expect(cut.icmp?.inner?.ip?.csumOk).toBeUndefined();
    expect(cut.icmp?.inner?.malformed).toBe('ipv4-truncated');
    const v6 = flip(ipv4Packet({ proto: 17, payload: udpDatagram() }), 0, 0x20);
    const bad = decode(ethernet(0x0800, ipv4Packet({ proto: 1, payload: icmpMessage({ type: 3, code: 1, rest: 0, payload: v6 }) })));
    expect(bad.icmp?.inner).toEqual({ malformed: 'ipv4-bad-version' });
  });

  it('a TCP data offset below 5: ports, seq and the offset, nothing the bogus header claims after them', () => {
    const s = decode(ethernet(0x0800, ipv4Packet({ proto: 6, payload: tcpSegment({ sport: 5000, dport: 443, seq: 7, doff: 4, payload: bytes(4) }) })));
    expect(s.malformed).toBe('tcp-bad-data-offset');
    expect(s.tcp).toEqual({ sport: 5000, dport: 443, seq: 7, doff: 4, csumOk: null });
  });
});

describe('formatTimestamp', () => {
  it('keeps the capture precision exactly, as a string', () => {
    expect(formatTimestamp(1490000000, 123456789, 9)).toBe('1490000000.123456789');
    expect(formatTimestamp(1490000000, 123456000, 6)).toBe('1490000000.123456');
    expect(formatTimestamp(1490000000, 5000, 6)).toBe('1490000000.000005');
    expect(formatTimestamp(1490000000, 5000)).toBe('1490000000.000005');
    expect(formatTimestamp(1490000000, 5001)).toBe('1490000000.000005001');
    expect(formatTimestamp(7, 0, 0)).toBe('7');
  });
});
