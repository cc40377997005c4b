// The edge cases of issue 7 held against both oracles on crafted captures:
// tshark field by field (tshark-compare.ts), tcpdump by its text line. Each
// frame has something wrong that tshark and tcpdump read past: an IPv4 total
// length that runs beyond the frame, an ICMP error quoting 4 or 6 bytes of
// the TCP/UDP header, a UDP length field below 8 or past the datagram, a TCP
// data offset below 5, bad IPv4 options.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipIf } from '../skip.js';
import { decodeFrame } from '../../src/decode/frame.js';
import { formatFrame } from '../../src/decode/format.js';
import { bytes, ethernet, icmpMessage, ipv4Packet, pcapFile, tcpSegment, udpDatagram } from './packets.js';
import { compareWithTshark } from './tshark-compare.js';
import { hasTools, Tally } from './tally.js';

/** An IPv4 datagram whose total length claims `extra` bytes more than the frame holds. */
function claimingMore(proto: number, payload: Uint8Array, extra: number): Uint8Array {
  const ip = ipv4Packet({ proto, payload });
  return ethernet(0x0800, ipv4Packet({ proto, payload, totalLength: ip.length + extra, keepL4Checksum: true }));
}

function icmpError(type: number, code: number, quote: Uint8Array): Uint8Array {
  return ethernet(0x0800, ipv4Packet({ src: '192.0.2.1', proto: 1, payload: icmpMessage({ type, code, rest: 0, payload: quote }) }));
}

// Ports away from those tcpdump and tshark hand to an application dissector.
const udpQuoted = ipv4Packet({ src: '203.0.113.5', dst: '198.51.100.7', proto: 17, payload: udpDatagram({ sport: 40001, dport: 40002, payload: bytes(20) }) });
const tcpQuoted = ipv4Packet({ src: '203.0.113.5', dst: '198.51.100.7', proto: 6, payload: tcpSegment({ sport: 40003, dport: 40004, seq: 1234, ack: 1, flags: 0x10 }) });
const udpLen = (len: number) => ethernet(0x0800, ipv4Packet({ payload: udpDatagram({ sport: 40005, dport: 40006, payload: bytes(4), len }) }));
const tcpDoff = (doff: number) => ethernet(0x0800, ipv4Packet({ proto: 6, payload: tcpSegment({ sport: 40007, dport: 40008, seq: 7, doff, payload: bytes(4) }) }));

/** [what, frame, whether our text line should read as tcpdump's (TCP lines differ by design: no seq range)]. */
const CASES: [string, Uint8Array, boolean][] = [
  ['UDP, total length past the frame', claimingMore(17, udpDatagram({ sport: 40009, dport: 40010, payload: bytes(6) }), 100), true],
  ['TCP, total length past the frame', claimingMore(6, tcpSegment({ sport: 40011, dport: 40012, flags: 0x18, payload: bytes(4) }), 300), false],
  ['TCP header cut at 12 bytes by the total length', claimingMore(6, tcpSegment({ sport: 40013, dport: 40014 }), 0).subarray(0, 14 + 20 + 12), true],
  ['UDP header cut at 4 bytes by the total length', claimingMore(17, udpDatagram({ sport: 40015, dport: 40016 }), 0).subarray(0, 14 + 20 + 4), true],
  ['ICMP echo, total length past the frame', claimingMore(1, icmpMessage({ type: 8, rest: 0x00070009, payload: bytes(8) }), 64), true],
  ['ICMP error, total length past the frame', claimingMore(1, icmpMessage({ type: 3, code: 3, rest: 0, payload: udpQuoted.subarray(0, 28) }), 40), true],
  ['port unreachable quoting 4 bytes of UDP', icmpError(3, 3, udpQuoted.subarray(0, 24)), true],
  ['port unreachable quoting 6 bytes of UDP', icmpError(3, 3, udpQuoted.subarray(0, 26)), true],
  ['time exceeded quoting 4 bytes of TCP', icmpError(11, 0, tcpQuoted.subarray(0, 24)), true],
  ['port unreachable quoting 8 bytes of TCP', icmpError(3, 3, tcpQuoted.subarray(0, 28)), true],
  ['UDP length 0', udpLen(0), true],
  ['UDP length 4', udpLen(4), true],
  ['UDP length 7', udpLen(7), true],
  ['UDP length past the datagram', udpLen(40), true],
  ['TCP data offset 0', tcpDoff(0), true],
  ['TCP data offset 4', tcpDoff(4), true],
  ['bad IPv4 options', ethernet(0x0800, ipv4Packet({ proto: 17, options: [7, 1, 0, 0], payload: udpDatagram({ sport: 40017, dport: 40018 }) })), true],
];

const runnable = hasTools(['tshark', 'capinfos', 'mergecap', 'tcpdump']);

describe('edge cases: decode reads past them as tshark and tcpdump do', skipIf(runnable ? undefined : 'needs tshark, tcpdump and python3-scapy: apt-get install -y tshark tcpdump python3-scapy'), () => {
  const dir = mkdtempSync(join(tmpdir(), 'decode-edge-'));
  const file = join(dir, 'edge.pcap');
  writeFileSync(file, pcapFile(1, CASES.map(([, f]) => f)));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tshark: every compared field equal, the quoted and partial headers among them', async () => {
    const tally = new Tally(8);
    const { frames, crashes } = await compareWithTshark([file], dir, tally);
    expect(crashes).toEqual([]);
    expect(frames).toBe(CASES.length);
    if (tally.mismatched > 0) console.log(tally.report('edge cases against tshark'));
    expect(tally.mismatches()).toEqual([]);
    // The headers this change shows were there to compare: outer TCP/UDP/ICMP past a bad total length, ports of 4-byte quotes.
    expect(tally.comparedOf('tcp.srcport')).toBeGreaterThanOrEqual(4);
    expect(tally.comparedOf('udp.srcport')).toBeGreaterThanOrEqual(6);
    expect(tally.comparedOf('icmp.ident')).toBe(1);
    expect(tally.comparedOf('inner.udp.srcport')).toBe(3);
    expect(tally.comparedOf('inner.udp.length')).toBe(3);
    expect(tally.comparedOf('inner.tcp.srcport')).toBe(2);
    expect(tally.comparedOf('inner.tcp.seq')).toBe(2);
  });

  it('tcpdump -n: the same text after the addresses', () => {
    const r = spawnSync('tcpdump', ['-n', '-r', file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // tcpdump names a short frame up front ("truncated-ip - N bytes missing!"), we at the end ("[malformed: ...]"); spacing differs.
    const theirs = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.replace(/^\S+ IP /, '').replace(/^truncated-ip - \d+ bytes missing! /, '').replace(/\s+/g, ' '));
    const ours = CASES.map(([, f], i) =>
      formatFrame(decodeFrame(f, 0, f.length, f.length, 1, i + 1, 0, 0))
        .replace(/^\S+ /, '')
        .replace(/ \[malformed( quote)?: [^\]]+\]/g, '')
        .replace(/\s+/g, ' '),
    );
    expect(theirs).toHaveLength(CASES.length);
    const differ = CASES.map(([what, , comparable], i) => (comparable && ours[i] !== theirs[i] ? `${what}: ours "${ours[i]}", tcpdump "${theirs[i]}"` : '')).filter((d) => d !== '');
    expect(differ).toEqual([]);
  });
});
