// The evidence's packet summaries: exact for the kinds the report shows, and
// never a crash on a damaged frame (a case may damage frames on purpose).
import { describe, expect, it } from 'vitest';
import { echoFrame, fixIcmpChecksum, fragments, icmpErrorFrame, tcpFrame, TCP_ACK, TCP_SYN, udpFrame, udpPayload } from '../../src/conformance/frames.js';
import { describeFrame } from '../../src/conformance/packet.js';

const link = { src: '192.0.2.10', dst: '198.51.100.10', srcMac: '02:aa:00:00:00:01', dstMac: '02:00:00:00:00:01' };

describe('describeFrame', () => {
  it('UDP, TCP with flags, ICMP queries and errors with their quote, fragments, TTL, DF and length', () => {
    const u = udpFrame(link, 5000, 53);
    expect(describeFrame(u)).toBe('192.0.2.10:5000>198.51.100.10:53 udp');
    expect(describeFrame(tcpFrame(link, 5000, 80, TCP_SYN | TCP_ACK, { ttl: 63 }))).toBe('192.0.2.10:5000>198.51.100.10:80 tcp [S.] ttl 63');
    expect(describeFrame(echoFrame(link, 7))).toBe('192.0.2.10>198.51.100.10 icmp echo id 7');
    const big = udpFrame(link, 5000, 53, { df: true }, udpPayload(1000));
    const err = icmpErrorFrame({ ...link, src: '192.0.2.1', dst: '192.0.2.10' }, 3, 4, big.slice(14, 14 + 28));
    err[14 + 20 + 6] = 0x05; // next-hop MTU 1400
    err[14 + 20 + 7] = 0x78;
    fixIcmpChecksum(err);
    expect(describeFrame(err)).toBe('192.0.2.1>192.0.2.10 icmp 3/4 unreachable mtu 1400 [quotes 192.0.2.10:5000>198.51.100.10:53 udp DF]');
    const [first, later] = fragments(udpFrame(link, 5000, 53, {}, udpPayload(100)), 64);
    expect([describeFrame(first), describeFrame(later)]).toEqual([
      '192.0.2.10:5000>198.51.100.10:53 udp frag off 0+ len 84',
      '192.0.2.10>198.51.100.10 udp frag off 64 len 64',
    ]);
    const bad = u.slice();
    bad[24] ^= 0xff;
    expect(describeFrame(bad)).toBe('192.0.2.10:5000>198.51.100.10:53 udp (bad checksum)');
  });

  it('IPv4 options one by one (route slots, Timestamp flag/pointer/overflow/entries, others by name), and a parameter problem\'s pointer', () => {
    const options = [
      { type: 7, data: Uint8Array.of(8, 198, 51, 100, 1, 0, 0, 0, 0) },
      { type: 1, data: new Uint8Array(0) },
      { type: 68, data: Uint8Array.of(13, 0x21, 192, 0, 2, 1, 0, 0, 0, 9) },
      { type: 131, data: Uint8Array.of(4, 203, 0, 113, 2) },
      { type: 148, data: Uint8Array.of(0, 0) },
    ];
    const f = udpFrame(link, 5000, 53, { options });
    expect(describeFrame(f)).toBe('192.0.2.10:5000>198.51.100.10:53 udp opts rr ptr 8 [198.51.100.1 0.0.0.0], ts/1 ptr 13 oflw 2 [192.0.2.1@9], lsrr ptr 4 [203.0.113.2], ra');
    const pp = icmpErrorFrame({ ...link, src: '192.0.2.1', dst: '192.0.2.10' }, 12, 0, f.slice(14));
    pp[14 + 20 + 4] = 22;
    fixIcmpChecksum(pp);
    expect(describeFrame(pp)).toBe('192.0.2.1>192.0.2.10 icmp 12/0 parameter-problem ptr 22 [quotes 192.0.2.10:5000>198.51.100.10:53 udp opts rr ptr 8 [198.51.100.1 0.0.0.0], ts/1 ptr 13 oflw 2 [192.0.2.1@9], lsrr ptr 4 [203.0.113.2], ra]');
  });

  it('says what a frame is when it is not IPv4, and never throws on a frame cut short or damaged anywhere', () => {
    expect(describeFrame(new Uint8Array(10))).toBe('runt (10 bytes)');
    const v6 = udpFrame(link, 1, 2);
    v6[12] = 0x86;
    v6[13] = 0xdd;
    expect(describeFrame(v6)).toBe('ethertype 0x86dd');
    const withOptions = udpFrame(link, 1, 2, { options: [{ type: 7, data: Uint8Array.of(4, 0, 0, 0, 0) }, { type: 68, data: Uint8Array.of(5, 1, 0, 0, 0, 0, 0, 0, 0, 0) }] });
    const frames = [udpFrame(link, 1, 2), tcpFrame(link, 1, 2, TCP_SYN), echoFrame(link, 1), icmpErrorFrame(link, 11, 0, udpFrame(link, 3, 4).slice(14)), withOptions];
    for (const f of frames) {
      for (let len = 0; len <= f.length; len++) expect(() => describeFrame(f.subarray(0, len))).not.toThrow();
      for (let at = 14; at < f.length; at++) {
        for (const v of [0x00, 0xff, 0x45, 0x4f]) {
          const d = f.slice();
          d[at] = v;
          expect(typeof describeFrame(d)).toBe('string');
        }
      }
    }
  });
});
