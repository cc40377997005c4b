// TCP super-packets and partial checksums from offload TAPs (virtio_net_hdr
// metadata in batch.offload), through the pipeline without any I/O: the MTU
// rule judges segments (IP + TCP header + gso_size), as Linux's
// skb_gso_validate_network_len does; super-packets are never fragmented and
// never leave by a port without offload; partial checksums are completed
// where nobody else will.
import { describe, expect, it } from 'vitest';
import { OffloadMeta, VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_TCPV4 } from '../../src/pipeline/batch.js';
import { gsoSegmentLength } from '../../src/pipeline/offload.js';
import { foldSum, pseudoHeaderSumFromIpv4, sumWords } from '../../src/wire/checksum.js';
import { ipv4ChecksumOk, IPPROTO_ICMP, IPPROTO_TCP, parseIpv4 } from '../../src/wire/ipv4.js';
import { parseIcmp, type IcmpErrorRepr } from '../../src/wire/icmp.js';
import { rawIpFrame, HOST_MAC, ROUTER_MAC } from './build.js';
import { Harness } from './harness.js';

const CONFIG = `
ports:
  - { name: a, mac: "02:00:00:00:00:01", address: 192.0.2.1/24, io: { type: tap, offload: true } }
  - { name: b, mac: "02:00:00:00:00:02", address: 198.51.100.1/24, io: { type: tap, offload: true } }
  - { name: c, mac: "02:00:00:00:00:03", address: 203.0.113.1/24, mtu: 1400, io: { type: tap, offload: true } }
  - { name: p, mac: "02:00:00:00:00:04", address: 198.18.0.1/24, io: { type: afpacket, interface: dpoffl0, offload: false } }
neighbors:
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 198.51.100.2, mac: "02:bb:00:00:00:02" }
  - { address: 203.0.113.2, mac: "02:cc:00:00:00:02" }
  - { address: 198.18.0.2, mac: "02:dd:00:00:00:02" }
`;

const FROM_A = { src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC };
const TCP_HDR = 20;

/** A TCP/IPv4 frame with `dataLen` payload bytes whose checksum field holds the pseudo-header sum (a partial checksum). */
function partialTcp(dst: string, dataLen: number, df = true): Uint8Array {
  const seg = new Uint8Array(TCP_HDR + dataLen);
  seg[0] = 0x9c; // sport 40000
  seg[1] = 0x40;
  seg[2] = 0x14; // dport 5201
  seg[3] = 0x51;
  seg[12] = (TCP_HDR / 4) << 4;
  seg[13] = 0x18; // PSH ACK
  seg[14] = 0xff;
  seg[15] = 0xff;
  for (let i = TCP_HDR; i < seg.length; i++) seg[i] = (i * 31 + 7) & 0xff;
  const f = rawIpFrame({ ...FROM_A, dst, df }, IPPROTO_TCP, seg);
  const ps = foldSum(pseudoHeaderSumFromIpv4(f, 14, IPPROTO_TCP, seg.length));
  f[14 + 20 + 16] = ps >> 8;
  f[14 + 20 + 17] = ps & 0xff;
  return f;
}

/** virtio_net_hdr words (OffloadMeta order) for a frame from partialTcp. */
function gsoMeta(gsoSize: number): number[] {
  return [VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_TCPV4, 14 + 20 + TCP_HDR, gsoSize, 14 + 20, 16];
}
const CSUM_ONLY = [VNET_HDR_F_NEEDS_CSUM, 0, 0, 0, 14 + 20, 16];

function tcpChecksumValid(f: Uint8Array): boolean {
  const total = (f[16] << 8) | f[17];
  return foldSum(sumWords(f, 34, total - 20, pseudoHeaderSumFromIpv4(f, 14, IPPROTO_TCP, total - 20))) === 0xffff;
}

const harness = () => new Harness(CONFIG, { largeSlots: true });

describe('offload: TCP super-packets (GSO) and the MTU', () => {
  it('segment size is IP header + TCP header + gso_size, capped at the total length', () => {
    const f = partialTcp('198.51.100.2', 30_000);
    expect(gsoSegmentLength(f, 14, VNET_HDR_GSO_TCPV4, 1448, 30_040)).toBe(1488);
    expect(gsoSegmentLength(f, 14, VNET_HDR_GSO_TCPV4 | 0x80, 1448, 30_040)).toBe(1488);
    expect(gsoSegmentLength(f, 14, VNET_HDR_GSO_TCPV4, 60_000, 30_040)).toBe(30_040);
    expect(gsoSegmentLength(f, 14, 0, 1448, 30_040)).toBe(30_040);
  });

  it('a 30 KB super-packet whose segments fit the egress MTU is forwarded whole, TTL - 1, metadata kept', () => {
    const h = harness();
    const input = partialTcp('198.51.100.2', 30_000);
    const { out, counters } = h.one('a', input, gsoMeta(1448));
    expect(out).toHaveLength(1);
    expect(out[0].port).toBe('b');
    const o = out[0].bytes;
    expect(o.length).toBe(input.length);
    expect(o[14 + 8]).toBe(63);
    expect(ipv4ChecksumOk(o, 14)).toBe(true);
    expect(o.subarray(34)).toEqual(input.subarray(34)); // TCP header (partial checksum) and payload untouched
    expect(out[0].meta).toEqual(gsoMeta(1448));
    expect(counters['ip4-rewrite/fragmentation-needed']).toBeUndefined();
    expect(counters['ethernet-input/too-big']).toBeUndefined();
  });

  it('segments that fit a 1400 MTU (gso_size 1348) pass; bigger ones with DF get fragmentation needed with the MTU', () => {
    const h = harness();
    const ok = h.one('a', partialTcp('203.0.113.2', 20_000), gsoMeta(1348));
    expect(ok.out.map((s) => s.port)).toEqual(['c']);
    const big = h.one('a', partialTcp('203.0.113.2', 20_000), gsoMeta(1448));
    expect(big.counters['ip4-rewrite/fragmentation-needed']).toBe(1);
    expect(big.out).toHaveLength(1);
    const e = big.out[0];
    expect(e.port).toBe('a');
    expect(e.meta.slice(0, 2)).toEqual([0, 0]); // the router's own ICMP has no offload metadata
    const ip = parseIpv4(e.bytes, 14, e.bytes.length - 14);
    if (!ip.ok) throw new Error('bad ip');
    expect(ip.repr.protocol).toBe(IPPROTO_ICMP);
    const icmp = parseIcmp(e.bytes, 34, ip.repr.totalLength - 20);
    if (!icmp.ok) throw new Error('bad icmp');
    const err = icmp.repr as IcmpErrorRepr;
    expect([err.type, err.code, err.mtu]).toEqual([3, 4, 1400]);
  });

  it('a super-packet whose segments exceed the MTU with DF clear is dropped, never fragmented', () => {
    const h = harness();
    const { out, counters } = h.one('a', partialTcp('203.0.113.2', 20_000, false), gsoMeta(1448));
    expect(out).toHaveLength(0);
    expect(counters['ip4-frag/gso-needs-fragmenting']).toBe(1);
    expect(counters['ip4-frag/fragments-made']).toBeUndefined();
  });

  it('a super-packet routed to a port without offload is segmented in software, like tcp_gso_segment', () => {
    const h = harness();
    const input = partialTcp('198.18.0.2', 20_000);
    input[34 + 13] = 0x80 | 0x18 | 0x01; // CWR PSH ACK FIN
    const { out, counters } = h.one('a', input, gsoMeta(1448));
    expect(counters['ip4-gso/segments-made']).toBe(14);
    expect(counters['ip4-output/gso-to-non-offload-port']).toBeUndefined();
    expect(out).toHaveLength(14);
    const seq0 = new DataView(input.buffer).getUint32(34 + 4);
    const payload: number[] = [];
    out.forEach((seg, i) => {
      const f = seg.bytes;
      expect(seg.port).toBe('p');
      expect(seg.meta.slice(0, 2)).toEqual([0, 0]);
      expect(f.length - 14).toBeLessThanOrEqual(1500);
      expect(f.length - 14).toBe(i < 13 ? 1488 : 40 + 20_000 - 13 * 1448);
      expect(ipv4ChecksumOk(f, 14)).toBe(true);
      expect(tcpChecksumValid(f)).toBe(true);
      expect(f[14 + 8]).toBe(63);
      expect((f[18] << 8) | f[19]).toBe(0x1234 + i);
      expect(new DataView(f.buffer, f.byteOffset).getUint32(34 + 4)).toBe(seq0 + i * 1448);
      expect(f[34 + 13]).toBe((i === 0 ? 0x80 : 0) | 0x10 | (i === 13 ? 0x09 : 0));
      payload.push(...f.subarray(54));
    });
    expect(Uint8Array.from(payload)).toEqual(input.subarray(54));
  });

  it('a super-packet with more segments than free slots is dropped whole', () => {
    const h = new Harness(CONFIG, { largeSlots: true, generatedCapacity: 8 });
    const { out, counters } = h.one('a', partialTcp('198.18.0.2', 20_000), gsoMeta(1448));
    expect(out).toHaveLength(0);
    expect(counters['ip4-gso/no-buffer']).toBe(1);
  });

  it('a frame over the ingress MTU without GSO metadata is still too big', () => {
    const h = harness();
    const { out, counters } = h.one('a', partialTcp('198.51.100.2', 3000), CSUM_ONLY);
    expect(out).toHaveLength(0);
    expect(counters['ethernet-input/too-big']).toBe(1);
  });
});

describe('offload: partial checksums', () => {
  it('stay partial towards an offload port, are completed towards any other', () => {
    const h = harness();
    const toB = h.one('a', partialTcp('198.51.100.2', 500), CSUM_ONLY);
    expect(toB.out[0].meta).toEqual(CSUM_ONLY);
    expect(tcpChecksumValid(toB.out[0].bytes)).toBe(false);
    const toP = h.one('a', partialTcp('198.18.0.2', 500), CSUM_ONLY);
    expect(toP.out).toHaveLength(1);
    expect(toP.out[0].meta.slice(0, 2)).toEqual([0, 0]);
    expect(tcpChecksumValid(toP.out[0].bytes)).toBe(true);
  });

  it('are completed before a datagram is fragmented', () => {
    const h = harness();
    const { out, counters } = h.one('a', partialTcp('203.0.113.2', 1450, false), CSUM_ONLY);
    expect(counters['ip4-frag/fragments-made']).toBe(2);
    // Reassemble the TCP segment from the two fragments and check its checksum.
    const first = out[0].bytes;
    const second = out[1].bytes;
    const whole = new Uint8Array(34 + (first.length - 34) + (second.length - 34));
    whole.set(first, 0);
    whole.set(second.subarray(34), first.length);
    const total = whole.length - 14;
    whole[16] = total >> 8;
    whole[17] = total & 0xff;
    expect(tcpChecksumValid(whole)).toBe(true);
  });

  it('packets without metadata are unchanged by all this (initSlot says none)', () => {
    const h = harness();
    const f = partialTcp('198.51.100.2', 100);
    const { out } = h.one('a', f);
    expect(out[0].meta.slice(0, 2)).toEqual([0, 0]);
    expect(out[0].bytes.subarray(34)).toEqual(f.subarray(34));
  });
});

it('OffloadMeta has the virtio_net_hdr field order', () => {
  expect(Object.values(OffloadMeta)).toEqual([0, 1, 2, 3, 4, 5, 6]);
});
