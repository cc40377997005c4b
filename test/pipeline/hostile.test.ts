// What hostile or broken traffic gets: dropped and counted where a router
// must not forward it, answered as a host would where it is addressed to the
// router (a TCP reset; a fragmented ping reassembled, within bounds; ICMP time
// exceeded for a datagram whose pieces never all came).
import { describe, expect, it } from 'vitest';
import { icmpChecksumOk, ICMP_ECHO_REPLY } from '../../src/wire/icmp.js';
import { ipv4ChecksumOk, parseIpv4 } from '../../src/wire/ipv4.js';
import { fillTcpChecksum, TCP_ACK, TCP_RST, tcpAck, tcpChecksumOk, tcpDstPort, tcpFlags, tcpSeq, tcpSrcPort } from '../../src/wire/tcp.js';
import { echoFrame, HOST_MAC, rawIpFrame, ROUTER_MAC, tcpSynFrame, udpFrame } from './build.js';
import { BASE_CONFIG, Harness } from './harness.js';

const FROM_LAN = { src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC };

/** Splits the IPv4 datagram of an Ethernet frame into fragments of at most `chunk` data bytes (a multiple of 8). */
function fragment(frame: Uint8Array, chunk: number): Uint8Array[] {
  const ip = parseIpv4(frame, 14, frame.length - 14);
  if (!ip.ok) throw new Error('bad frame');
  const hl = ip.repr.ihl * 4;
  const data = frame.subarray(14 + hl, 14 + ip.repr.totalLength);
  const out: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += chunk) {
    const piece = data.subarray(off, Math.min(off + chunk, data.length));
    const f = rawIpFrame({ ...FROM_LAN, dst: ip.repr.dst, id: ip.repr.id, mf: off + chunk < data.length, fragOffset: off / 8 }, ip.repr.protocol, piece);
    out.push(f);
  }
  return out;
}

/** Reassembles IPv4 fragments (output frames) into the datagram's data. */
function reassemble(frames: Uint8Array[]): { protocol: number; data: Uint8Array } {
  const parts = frames.map((f) => {
    expect(ipv4ChecksumOk(f, 14)).toBe(true);
    const ip = parseIpv4(f, 14, f.length - 14);
    if (!ip.ok) throw new Error('bad fragment');
    return { off: ip.repr.fragOffset * 8, data: f.subarray(14 + ip.repr.ihl * 4, 14 + ip.repr.totalLength), protocol: ip.repr.protocol };
  });
  const len = Math.max(...parts.map((p) => p.off + p.data.length));
  const data = new Uint8Array(len);
  for (const p of parts) data.set(p.data, p.off);
  return { protocol: parts[0].protocol, data };
}

describe('dropped and counted, never forwarded', () => {
  it('a packet whose source is the broadcast address of the subnet it came from', () => {
    const h = new Harness(BASE_CONFIG); // lan is 192.0.2.1/25: its broadcast is 192.0.2.127
    const r = h.one('lan', udpFrame({ ...FROM_LAN, src: '192.0.2.127', dst: '198.51.100.9' }, 1, 2));
    expect(r.out).toHaveLength(0);
    expect(r.counters['ip4-input/broadcast-source']).toBe(1);
  });

  it('a frame whose source MAC is broadcast or multicast', () => {
    const h = new Harness(BASE_CONFIG);
    for (const srcMac of ['ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01']) {
      const r = h.one('lan', udpFrame({ ...FROM_LAN, srcMac, dst: '198.51.100.9' }, 1, 2));
      expect(r.out).toHaveLength(0);
      expect(r.counters['ethernet-input/group-source']).toBe(1);
    }
  });

  it('a fragment whose offset plus length passes 65535 (ping of death)', () => {
    const h = new Harness(BASE_CONFIG);
    // Offset 8184 units = 65472 bytes, plus 28 + 100 bytes: past 65535.
    const r = h.one('lan', udpFrame({ ...FROM_LAN, dst: '198.51.100.9', fragOffset: 8184 }, 1, 2, 100));
    expect(r.out).toHaveLength(0);
    expect(r.counters['ip4-input/fragment-too-long']).toBe(1);
    // The same fragment to the router: also dropped at the door, never reassembled.
    const r2 = h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.1', fragOffset: 8184 }, 1, 2, 100));
    expect(r2.counters['ip4-input/fragment-too-long']).toBe(1);
  });
});

describe('TCP to the router', () => {
  it('a SYN gets a reset, <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK> (RFC 793), not ICMP port unreachable', () => {
    const h = new Harness(BASE_CONFIG);
    const r = h.one('lan', tcpSynFrame({ ...FROM_LAN, dst: '192.0.2.1' }, 40000, 22));
    expect(r.counters['ip4-local/tcp-resets-sent']).toBe(1);
    expect(r.counters['icmp-error/sent']).toBeUndefined();
    expect(r.out).toHaveLength(1);
    const f = r.out[0].bytes;
    const ip = parseIpv4(f, 14, f.length - 14);
    expect(ip.ok && [ip.repr.src, ip.repr.dst, ip.repr.totalLength, ip.repr.ttl]).toEqual(['192.0.2.1', '192.0.2.10', 40, 64]);
    const t = 34;
    expect(tcpChecksumOk(f, 14, t, 20)).toBe(true);
    expect([tcpSrcPort(f, t), tcpDstPort(f, t), tcpFlags(f, t), tcpSeq(f, t), tcpAck(f, t)]).toEqual([22, 40000, TCP_RST | TCP_ACK, 0, 1001]);
    expect(r.out[0].port).toBe('lan');
  });

  it('a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>; a reset gets nothing', () => {
    const h = new Harness(BASE_CONFIG);
    const ack = tcpSynFrame({ ...FROM_LAN, dst: '192.0.2.1' }, 40000, 22);
    const t = 34;
    ack[t + 13] = TCP_ACK; // flags
    ack.set([0x12, 0x34, 0x56, 0x78], t + 8); // ack number
    ack[t + 16] = ack[t + 17] = 0;
    fillTcpChecksum(ack, 14, t, 20);
    const r = h.one('lan', ack);
    expect(r.out).toHaveLength(1);
    const f = r.out[0].bytes;
    expect([tcpFlags(f, t), tcpSeq(f, t)]).toEqual([TCP_RST, 0x12345678]);
    ack[t + 13] = TCP_RST;
    fillTcpChecksum(ack, 14, t, 20);
    const r2 = h.one('lan', ack);
    expect(r2.out).toHaveLength(0);
    expect(r2.counters['ip4-local/tcp-reset']).toBe(1);
  });
});

describe('fragments to the router', () => {
  it('a fragmented ping is reassembled, in any order, and answered (the reply fragmented to the MTU)', () => {
    const h = new Harness(BASE_CONFIG);
    const ping = echoFrame({ ...FROM_LAN, dst: '192.0.2.1' }, 77, 3, 2000);
    const pieces = fragment(ping, 1480);
    expect(pieces).toHaveLength(2);
    expect(h.one('lan', pieces[1]).out).toHaveLength(0); // the last piece first
    const r = h.one('lan', pieces[0]);
    expect(r.counters['ip4-reassembly/reassembled']).toBe(1);
    expect(r.counters['ip4-local/echo-replies']).toBe(1);
    expect(r.out.length).toBeGreaterThanOrEqual(2);
    const reply = reassemble(r.out.map((o) => o.bytes));
    expect(reply.data.length).toBe(2008);
    expect(reply.data[0]).toBe(ICMP_ECHO_REPLY);
    expect(icmpChecksumOk(reply.data, 0, reply.data.length)).toBe(true);
    // Same id, sequence and data as the request (RFC 1122 3.2.2.6).
    expect(reply.data.subarray(4)).toEqual(ping.subarray(34 + 4));
  });

  it('gives up a datagram whose pieces never all came: ICMP time exceeded (fragment reassembly) when its first piece came', () => {
    const h = new Harness(BASE_CONFIG);
    const pieces = fragment(echoFrame({ ...FROM_LAN, dst: '192.0.2.1', id: 0x4242 }, 1, 1, 3000), 1480);
    h.one('lan', pieces[0]);
    h.clock.advance(29_000);
    expect(h.send([]).out).toHaveLength(0);
    h.clock.advance(1_500);
    const r = h.send([]);
    expect(r.counters['ip4-reassembly/timeout']).toBe(1);
    expect(r.out).toHaveLength(1);
    const f = r.out[0].bytes;
    const ip = parseIpv4(f, 14, f.length - 14);
    expect(ip.ok && [ip.repr.dst, f[34], f[35]]).toEqual(['192.0.2.10', 11, 1]);
    // The quote is the first fragment as it came: its header (id 0x4242, MF set, offset 0, length 1500) and data.
    const q = 42;
    expect([(f[q + 4] << 8) | f[q + 5], (f[q + 6] & 0x20) !== 0, ((f[q + 6] & 0x1f) << 8) | f[q + 7], (f[q + 2] << 8) | f[q + 3]]).toEqual([0x4242, true, 0, 1500]);
    expect(f.subarray(q, f.length)).toEqual(pieces[0].subarray(14, 14 + f.length - q));
  });

  it('without the first piece, the datagram is given up silently', () => {
    const h = new Harness(BASE_CONFIG);
    const pieces = fragment(echoFrame({ ...FROM_LAN, dst: '192.0.2.1' }, 1, 1, 3000), 1480);
    h.one('lan', pieces[1]);
    h.clock.advance(31_000);
    const r = h.send([]);
    expect(r.counters['ip4-reassembly/timeout']).toBe(1);
    expect(r.out).toHaveLength(0);
  });

  it('holds at most reassembly.datagrams datagrams: the rest are dropped and counted', () => {
    const h = new Harness(`${BASE_CONFIG}\nreassembly: { datagrams: 4, timeoutMs: 1000 }\n`);
    const firsts = Array.from({ length: 10 }, (_, i) => fragment(echoFrame({ ...FROM_LAN, dst: '192.0.2.1', id: 100 + i }, 1, i, 3000), 1480)[0]);
    const r = h.send(firsts.map((frame) => ({ port: 'lan', frame })));
    expect(r.counters['ip4-reassembly/no-context']).toBe(6);
    expect(h.router.counters.get('ip4-reassembly/timeout').packets).toBe(0);
    h.clock.advance(1_100);
    expect(h.send([]).counters['ip4-reassembly/timeout']).toBe(4);
  });
});
