import { describe, expect, it } from 'vitest';
import { setIpv4DstWithCsum, setIpv4SrcWithCsum } from '../../src/wire/ipv4.js';
import { WireDrop } from '../../src/wire/drop-reason.js';
import { parseTcpOptions, tcpFindMssOffset, tcpOptionsLength, writeTcpOptions, type TcpOption } from '../../src/wire/tcp-options.js';
import {
  checkTcp, clampTcpMss, emitTcp, fillTcpChecksum, parseTcp, setTcpAck, setTcpChecksum, setTcpDataOffset,
  setTcpDstPort, setTcpDstPortWithCsum, setTcpFlags, setTcpNs, setTcpReserved, setTcpSeq, setTcpSrcPort,
  setTcpSrcPortWithCsum, setTcpUrgent, setTcpWindow, TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN,
  TCP_URG, tcpAck, tcpChecksum, tcpChecksumOk, tcpDataOffset, tcpDstPort, tcpFlags, tcpHeaderLen, tcpNs, tcpReprHeaderLen,
  tcpReserved, tcpSeq, tcpSrcPort, tcpUrgent, tcpWindow, updateTcpChecksumForAddress, type TcpRepr,
} from '../../src/wire/tcp.js';
import { TCP_SACK, TCP_SACK_IP, TCP_SACK_TCP, SYN_PKT, SYN_PKT_IP, SYN_PKT_TCP, VLAN_TCP, VLAN_TCP_IP } from './golden.js';
import { at, filled, hex, toHex } from './helpers.js';

const SYN_OPTIONS: TcpOption[] = [
  { type: 'mss', mss: 1460 },
  { type: 'sack-permitted' },
  { type: 'timestamps', tsVal: 2044906138, tsEcr: 0 },
  { type: 'nop' },
  { type: 'window-scale', shift: 7 },
];
const SYN_REPR: TcpRepr = {
  srcPort: 33779, dstPort: 53, seq: 0x23fec80c, ack: 0, dataOffset: 10, flags: TCP_SYN, window: 64240,
  checksum: 0x0c41, urgent: 0, options: SYN_OPTIONS, payload: new Uint8Array(0),
};
const SYN_LEN = 40;

describe('TCP header (RFC 9293)', () => {
  it('flag constants are the RFC 9293 / RFC 3168 bits', () => {
    expect([TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR]).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
  });

  it('deconstructs a SYN with MSS, SACK-permitted, timestamps, window scale (dns_tcp.pcap frame 1)', () => {
    const b = SYN_PKT, o = SYN_PKT_TCP;
    expect(checkTcp(b, o, SYN_LEN)).toBe(WireDrop.OK);
    expect(tcpSrcPort(b, o)).toBe(33779);
    expect(tcpDstPort(b, o)).toBe(53);
    expect(tcpSeq(b, o)).toBe(0x23fec80c);
    expect(tcpAck(b, o)).toBe(0);
    expect(tcpDataOffset(b, o)).toBe(10);
    expect(tcpHeaderLen(b, o)).toBe(40);
    expect(tcpReserved(b, o)).toBe(0);
    expect(tcpNs(b, o)).toBe(false);
    expect(tcpFlags(b, o)).toBe(TCP_SYN);
    expect(tcpWindow(b, o)).toBe(64240);
    expect(tcpChecksum(b, o)).toBe(0x0c41);
    expect(tcpUrgent(b, o)).toBe(0);
    expect(tcpChecksumOk(b, SYN_PKT_IP, o, SYN_LEN)).toBe(true);
    expect(parseTcpOptions(b, o + 20, o + 40)).toEqual(SYN_OPTIONS);
  });

  it('deconstructs an ACK with a SACK block, seq/ack above 2^31 (test.pcap frame 9, RFC 2018)', () => {
    const b = TCP_SACK, o = TCP_SACK_TCP;
    expect(checkTcp(b, o, 44)).toBe(WireDrop.OK);
    expect(tcpSeq(b, o)).toBe(0xc51e2dc0);
    expect(tcpAck(b, o)).toBe(0xc6d914ec);
    expect(tcpFlags(b, o)).toBe(TCP_ACK);
    expect(tcpWindow(b, o)).toBe(283);
    expect(tcpChecksumOk(b, TCP_SACK_IP, o, 44)).toBe(true);
    expect(parseTcpOptions(b, o + 20, o + 44)).toEqual([
      { type: 'nop' }, { type: 'nop' }, { type: 'timestamps', tsVal: 0x37c74038, tsEcr: 0x1a7d842c },
      { type: 'nop' }, { type: 'nop' }, { type: 'sack', blocks: [{ left: 0xc6d914eb, right: 0xc6d914ec }] },
    ]);
  });

  it('constructs the SYN header with every setter on a 0xa5 buffer', () => {
    const b = filled(SYN_LEN);
    setTcpSrcPort(b, 0, 33779);
    setTcpDstPort(b, 0, 53);
    setTcpSeq(b, 0, 0x23fec80c);
    setTcpAck(b, 0, 0);
    setTcpDataOffset(b, 0, 10);
    setTcpReserved(b, 0, 0);
    setTcpNs(b, 0, false);
    setTcpFlags(b, 0, TCP_SYN);
    setTcpWindow(b, 0, 64240);
    setTcpChecksum(b, 0, 0x0c41);
    setTcpUrgent(b, 0, 0);
    writeTcpOptions(SYN_OPTIONS, b, 20, 40);
    expect(toHex(b)).toBe(toHex(SYN_PKT.subarray(SYN_PKT_TCP)));
    setTcpNs(b, 0, true);
    setTcpReserved(b, 0, 7);
    expect(b[12]).toBe(0xaf);
    expect([tcpNs(b, 0), tcpReserved(b, 0), tcpDataOffset(b, 0)]).toEqual([true, 7, 10]);
  });

  it('fillTcpChecksum computes what the capture carries', () => {
    const b = at(SYN_PKT, 0);
    setTcpChecksum(b, SYN_PKT_TCP, 0xa5a5);
    expect(tcpChecksumOk(b, SYN_PKT_IP, SYN_PKT_TCP, SYN_LEN)).toBe(false);
    fillTcpChecksum(b, SYN_PKT_IP, SYN_PKT_TCP, SYN_LEN);
    expect(tcpChecksum(b, SYN_PKT_TCP)).toBe(0x0c41);
  });

  it('parses the SYN and emits it byte for byte, computing the checksum from the pseudo-header', () => {
    expect(parseTcp(SYN_PKT, SYN_PKT_TCP, SYN_LEN)).toEqual({ ok: true, repr: SYN_REPR });
    const b = filled(SYN_LEN + 2);
    expect(emitTcp({ ...SYN_REPR, checksum: 0 }, b, 1, '192.168.1.11', '209.87.249.18')).toBe(SYN_LEN);
    expect(toHex(b)).toBe('a5' + toHex(SYN_PKT.subarray(SYN_PKT_TCP)) + 'a5');
  });

  it('round-trips a segment with an odd-length payload (test.rewrite_vlan802.1ad.pcap frame 1)', () => {
    const o = VLAN_TCP_IP + 20, len = VLAN_TCP.length - o;
    expect(len).toBe(59);
    const r = parseTcp(VLAN_TCP, o, len);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.repr.flags).toBe(TCP_PSH | TCP_ACK);
    expect(r.repr.payload).toHaveLength(27);
    expect(tcpChecksumOk(VLAN_TCP, VLAN_TCP_IP, o, len)).toBe(true);
    const b = filled(len);
    emitTcp(r.repr, b, 0, 0xac100b0c, 0x4a7d1311);
    expect(toHex(b)).toBe(toHex(VLAN_TCP.subarray(o)));
  });

  it('emit computes the smallest data offset when none is given, and keeps the repr checksum on request', () => {
    const { dataOffset: _unused, ...noOffset } = SYN_REPR;
    expect(tcpReprHeaderLen(noOffset)).toBe(40);
    expect(tcpReprHeaderLen({ ...noOffset, options: [{ type: 'window-scale', shift: 1 }] })).toBe(24);
    const b = filled(24);
    emitTcp({ ...noOffset, options: [{ type: 'window-scale', shift: 1 }], checksum: 0x1234 }, b, 0, 1, 2, { computeChecksum: false });
    expect(tcpDataOffset(b, 0)).toBe(6);
    expect(toHex(b.subarray(20))).toBe('03030100');
    expect(tcpChecksum(b, 0)).toBe(0x1234);
  });

  it('emit refuses options beyond the data offset', () => {
    expect(() => emitTcp({ ...SYN_REPR, dataOffset: 9 }, filled(40), 0, 1, 2)).toThrow(RangeError);
    expect(() => emitTcp({ ...SYN_REPR, dataOffset: 4, options: [] }, filled(40), 0, 1, 2)).toThrow(RangeError);
  });

  it('RFC 2018: a SACK option whose length is not 2 + 8n is kept raw, not read as blocks', () => {
    const opts = hex('05 0a 00000001 00000002 05 09 0000000100000002 00');
    expect(parseTcpOptions(opts, 0, opts.length)).toEqual([
      { type: 'sack', blocks: [{ left: 1, right: 2 }] },
      { type: 'unknown', kind: 5, data: hex('0000000100000002').subarray(0, 7) },
    ]);
  });

  it('keeps unknown kinds and known kinds with a wrong length as raw options', () => {
    const opts = hex('1e 04 abcd 02 03 05 08 02 00');
    expect(parseTcpOptions(opts, 0, opts.length)).toEqual([
      { type: 'unknown', kind: 30, data: hex('abcd') },
      { type: 'unknown', kind: 2, data: hex('05') },
      { type: 'unknown', kind: 8, data: new Uint8Array(0) },
    ]);
    const back = new Uint8Array(12);
    writeTcpOptions(parseTcpOptions(opts, 0, opts.length), back, 0, 12);
    expect(toHex(back)).toBe(toHex(opts) + '0000');
    expect(tcpOptionsLength(parseTcpOptions(opts, 0, opts.length))).toBe(9);
  });

  describe('incremental checksum (RFC 1624) for NAPT', () => {
    it('port rewrites keep the checksum valid', () => {
      const b = at(SYN_PKT, 0);
      setTcpSrcPortWithCsum(b, SYN_PKT_TCP, 40000);
      setTcpDstPortWithCsum(b, SYN_PKT_TCP, 5353);
      expect([tcpSrcPort(b, SYN_PKT_TCP), tcpDstPort(b, SYN_PKT_TCP)]).toEqual([40000, 5353]);
      expect(tcpChecksumOk(b, SYN_PKT_IP, SYN_PKT_TCP, SYN_LEN)).toBe(true);
    });

    it('an address rewrite needs updateTcpChecksumForAddress (pseudo-header)', () => {
      const b = at(SYN_PKT, 0);
      setIpv4SrcWithCsum(b, SYN_PKT_IP, 0xc6336401);
      expect(tcpChecksumOk(b, SYN_PKT_IP, SYN_PKT_TCP, SYN_LEN)).toBe(false);
      updateTcpChecksumForAddress(b, SYN_PKT_TCP, 0xc0a8010b, 0xc6336401);
      expect(tcpChecksumOk(b, SYN_PKT_IP, SYN_PKT_TCP, SYN_LEN)).toBe(true);
      setIpv4DstWithCsum(b, SYN_PKT_IP, 0xcb007105);
      updateTcpChecksumForAddress(b, SYN_PKT_TCP, 0xd157f912, 0xcb007105);
      const c = tcpChecksum(b, SYN_PKT_TCP);
      fillTcpChecksum(b, SYN_PKT_IP, SYN_PKT_TCP, SYN_LEN);
      expect(tcpChecksum(b, SYN_PKT_TCP)).toBe(c);
    });
  });

  describe('MSS clamping', () => {
    it('lowers the MSS of a SYN and keeps the checksum valid', () => {
      const b = at(SYN_PKT, 0);
      expect(clampTcpMss(b, SYN_PKT_TCP, 1400)).toBe(true);
      expect(parseTcpOptions(b, SYN_PKT_TCP + 20, SYN_PKT_TCP + 40)[0]).toEqual({ type: 'mss', mss: 1400 });
      expect(tcpChecksumOk(b, SYN_PKT_IP, SYN_PKT_TCP, SYN_LEN)).toBe(true);
      expect(clampTcpMss(b, SYN_PKT_TCP, 1460)).toBe(false);
    });

    it('patches the checksum correctly when the MSS value sits at an odd offset (after one NOP)', () => {
      // IPv4 header from the capture, then a 28-byte SYN with options NOP, MSS 9000, EOL pad.
      const t = new Uint8Array(48);
      t.set(SYN_PKT.subarray(SYN_PKT_IP, SYN_PKT_IP + 20));
      const { dataOffset: _auto, ...syn } = SYN_REPR;
      emitTcp({ ...syn, options: [{ type: 'nop' }, { type: 'mss', mss: 9000 }] }, t, 20, '192.168.1.11', '209.87.249.18');
      expect(tcpFindMssOffset(t, 40, 48)).toBe(43);
      expect(clampTcpMss(t, 20, 1360)).toBe(true);
      expect((t[43] << 8) | t[44]).toBe(1360);
      expect(tcpChecksumOk(t, 0, 20, 28)).toBe(true);
      const c = tcpChecksum(t, 20);
      fillTcpChecksum(t, 0, 20, 28);
      expect(tcpChecksum(t, 20)).toBe(c);
    });

    it('leaves non-SYN segments and SYNs without MSS alone', () => {
      expect(clampTcpMss(at(TCP_SACK, 0), TCP_SACK_TCP, 536)).toBe(false);
      const b = at(SYN_PKT, 0);
      b[SYN_PKT_TCP + 20] = 1; // MSS kind -> NOP, the rest reads as garbage options
      b[SYN_PKT_TCP + 21] = 1;
      expect(clampTcpMss(b, SYN_PKT_TCP, 536)).toBe(false);
    });
  });

  describe('bad input', () => {
    it('TCP_TRUNCATED: 19 bytes', () => {
      expect(checkTcp(SYN_PKT, SYN_PKT_TCP, 19)).toBe(WireDrop.TCP_TRUNCATED);
      expect(parseTcp(SYN_PKT, SYN_PKT_TCP, 19)).toEqual({ ok: false, reason: WireDrop.TCP_TRUNCATED });
    });
    it('TCP_BAD_DATA_OFFSET: offset 4 (16 bytes)', () => {
      const b = at(SYN_PKT, 0);
      setTcpDataOffset(b, SYN_PKT_TCP, 4);
      expect(checkTcp(b, SYN_PKT_TCP, SYN_LEN)).toBe(WireDrop.TCP_BAD_DATA_OFFSET);
    });
    it('TCP_BAD_DATA_OFFSET: a 40-byte header in a 39-byte segment', () => {
      expect(checkTcp(SYN_PKT, SYN_PKT_TCP, 39)).toBe(WireDrop.TCP_BAD_DATA_OFFSET);
    });
    it.each([
      ['an option length of 1', [[1, 1]]],
      ['an option length of 0', [[1, 0]]],
      ['an option length running past the header', [[1, 21]]],
      ['a kind with no length byte at the end of the header', [[17, 1], [18, 1], [19, 2]]],
    ])('TCP_BAD_OPTIONS: %s', (_name, edits) => {
      const b = at(SYN_PKT, 0);
      for (const [index, value] of edits) b[SYN_PKT_TCP + 20 + index] = value;
      expect(checkTcp(b, SYN_PKT_TCP, SYN_LEN)).toBe(WireDrop.TCP_BAD_OPTIONS);
      expect(parseTcp(b, SYN_PKT_TCP, SYN_LEN)).toEqual({ ok: false, reason: WireDrop.TCP_BAD_OPTIONS });
    });
    it('a bad checksum is not part of checkTcp: tcpChecksumOk catches it (TCP_BAD_CHECKSUM is the caller\'s)', () => {
      const b = at(SYN_PKT, 0);
      b[SYN_PKT_TCP + 4] ^= 0x80;
      expect(checkTcp(b, SYN_PKT_TCP, SYN_LEN)).toBe(WireDrop.OK);
      expect(tcpChecksumOk(b, SYN_PKT_IP, SYN_PKT_TCP, SYN_LEN)).toBe(false);
    });
  });
});
