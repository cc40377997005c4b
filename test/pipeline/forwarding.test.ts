// Fixture tests of the forwarding pipeline: one frame (or a few) in, the
// frames a router must send out, and the counters that must move. Each names
// the RFC 1812 requirement it checks where there is one.
import { describe, expect, it } from 'vitest';
import { parseEthernet } from '../../src/wire/ethernet.js';
import { parseIpv4, ipv4ChecksumOk, IPPROTO_ICMP, IPPROTO_UDP } from '../../src/wire/ipv4.js';
import { parseIcmp, icmpChecksumOk, type IcmpErrorRepr, type IcmpEchoRepr } from '../../src/wire/icmp.js';
import { parseUdp, udpChecksumOk } from '../../src/wire/udp.js';
import { ARP_REPLY, ARP_REQUEST, parseArp } from '../../src/wire/arp.js';
import { arpFrame, echoFrame, rawIpFrame, udpFrame, HOST_MAC, ROUTER_MAC } from './build.js';
import { BASE_CONFIG, Harness } from './harness.js';

/** Decodes an output frame and checks every checksum in it. */
function decode(bytes: Uint8Array) {
  const eth = parseEthernet(bytes, 0, bytes.length);
  if (!eth.ok) throw new Error('bad ethernet');
  const ip = parseIpv4(bytes, 14, bytes.length - 14);
  if (!ip.ok) throw new Error(`bad ipv4 ${ip.reason}`);
  expect(ipv4ChecksumOk(bytes, 14), 'IPv4 header checksum').toBe(true);
  const l4 = 14 + ip.repr.ihl * 4;
  const l4Len = ip.repr.totalLength - ip.repr.ihl * 4;
  let icmp: ReturnType<typeof parseIcmp> | undefined;
  if (ip.repr.protocol === IPPROTO_ICMP) {
    expect(icmpChecksumOk(bytes, l4, l4Len), 'ICMP checksum').toBe(true);
    icmp = parseIcmp(bytes, l4, l4Len);
  }
  if (ip.repr.protocol === IPPROTO_UDP && !ip.repr.mf && ip.repr.fragOffset === 0) {
    expect(udpChecksumOk(bytes, 14, l4, l4Len), 'UDP checksum').toBe(true);
  }
  return { eth: eth.repr, ip: ip.repr, icmp: icmp?.ok ? icmp.repr : undefined, l4 };
}

function icmpError(bytes: Uint8Array) {
  const d = decode(bytes);
  expect(d.ip.protocol).toBe(IPPROTO_ICMP);
  return { ...d, err: d.icmp as IcmpErrorRepr };
}

const FROM_LAN = { src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC };

describe('forwarding', () => {
  it('forwards via a gateway: TTL decremented, MACs rewritten, checksums valid, payload intact (RFC 1812 5.3.1)', () => {
    const h = new Harness(BASE_CONFIG);
    const input = udpFrame({ ...FROM_LAN, dst: '192.0.2.200', ttl: 64 }, 40000, 53, 32);
    const { out, counters } = h.one('lan', input);
    expect(out).toHaveLength(1);
    expect(out[0].port).toBe('wan');
    const d = decode(out[0].bytes);
    expect(d.eth.dst).toBe('02:bb:00:00:00:fe');
    expect(d.eth.src).toBe('02:00:00:00:00:02');
    expect(d.ip.ttl).toBe(63);
    expect(d.ip.src).toBe('192.0.2.10');
    expect(d.ip.dst).toBe('192.0.2.200');
    const udp = parseUdp(out[0].bytes, d.l4, out[0].bytes.length - d.l4);
    expect(udp.ok && Array.from(udp.repr.payload)).toEqual(Array.from(input.subarray(14 + 28)));
    expect(counters).toMatchObject({ 'ip4-input/packets': 1, 'ip4-rewrite/packets': 1, 'interface-output/packets': 1 });
  });

  it('forwards to an attached host using its neighbor entry', () => {
    const h = new Harness(BASE_CONFIG);
    const { out } = h.one('lan', udpFrame({ ...FROM_LAN, dst: '203.0.113.2' }, 1, 2));
    expect(out.map((o) => o.port)).toEqual(['dmz']);
    expect(decode(out[0].bytes).eth.dst).toBe('02:cc:00:00:00:02');
  });

  it('TTL 1 -> ICMP time exceeded from the egress interface address, quoting the original (RFC 1812 5.3.1, 4.3.2.3)', () => {
    const h = new Harness(BASE_CONFIG);
    const input = udpFrame({ ...FROM_LAN, dst: '192.0.2.200', ttl: 1 }, 40000, 33434, 32);
    const { out, counters } = h.one('lan', input);
    expect(out).toHaveLength(1);
    expect(out[0].port).toBe('lan');
    const d = icmpError(out[0].bytes);
    expect(d.eth.dst).toBe(HOST_MAC);
    expect(d.ip.src).toBe('192.0.2.1');
    expect(d.ip.dst).toBe('192.0.2.10');
    expect([d.err.type, d.err.code]).toEqual([11, 0]);
    expect(Array.from(d.err.quote)).toEqual(Array.from(input.subarray(14)));
    expect(counters).toMatchObject({ 'ip4-rewrite/ttl-expired': 1, 'icmp-error/sent': 1 });
  });

  it("an ICMP error's own IPv4 header: TTL 64, precedence 6 plus the original's TOS bits, no options or flags (RFC 1812 4.3.2.5)", () => {
    const h = new Harness(BASE_CONFIG);
    const first = icmpError(h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.200', ttl: 1, tos: 0xb9 }, 40000, 33434, 32)).out[0].bytes);
    const second = icmpError(h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.200', ttl: 1 }, 40000, 33434, 32)).out[0].bytes);
    const { ihl, tos, df, mf, fragOffset, ttl, protocol, options } = first.ip;
    expect({ ihl, tos, df, mf, fragOffset, ttl, protocol, options }).toEqual({ ihl: 5, tos: 0xc0 | (0xb9 & 0x1c), df: false, mf: false, fragOffset: 0, ttl: 64, protocol: IPPROTO_ICMP, options: [] });
    expect(first.ip.totalLength).toBe(20 + 8 + 20 + 8 + 32);
    expect(second.ip.tos).toBe(0xc0);
    expect(second.ip.id).toBe((first.ip.id + 1) & 0xffff);
  });

  it('no route -> ICMP net unreachable', () => {
    const h = new Harness(BASE_CONFIG);
    const { out, counters } = h.one('lan', udpFrame({ ...FROM_LAN, dst: '198.18.200.1' }, 1, 2));
    const d = icmpError(out[0].bytes);
    expect([d.err.type, d.err.code]).toEqual([3, 0]);
    expect(counters['ip4-lookup/no-route']).toBe(1);
  });

  it('blackhole route drops silently', () => {
    const h = new Harness(BASE_CONFIG);
    const { out, counters } = h.one('lan', udpFrame({ ...FROM_LAN, dst: '198.18.0.7' }, 1, 2));
    expect(out).toHaveLength(0);
    expect(counters['ip4-lookup/blackhole']).toBe(1);
  });

  it('unreachable route -> ICMP net unreachable; prohibit route -> ICMP admin prohibited (code 13)', () => {
    const h = new Harness(BASE_CONFIG);
    const u = h.one('lan', udpFrame({ ...FROM_LAN, dst: '198.18.1.7' }, 1, 2));
    expect([icmpError(u.out[0].bytes).err.type, icmpError(u.out[0].bytes).err.code]).toEqual([3, 0]);
    expect(u.counters['ip4-lookup/unreachable']).toBe(1);
    const p = h.one('lan', udpFrame({ ...FROM_LAN, dst: '198.18.2.7' }, 1, 2));
    expect([icmpError(p.out[0].bytes).err.type, icmpError(p.out[0].bytes).err.code]).toEqual([3, 13]);
    expect(p.counters['ip4-lookup/prohibit']).toBe(1);
  });

  it('DF set and larger than the egress MTU -> ICMP fragmentation needed with the next-hop MTU (RFC 1191)', () => {
    const h = new Harness(BASE_CONFIG);
    const { out, counters } = h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.200', df: true }, 1, 2, 1472));
    const d = icmpError(out[0].bytes);
    expect([d.err.type, d.err.code, d.err.mtu]).toEqual([3, 4, 1400]);
    expect(d.ip.totalLength).toBeLessThanOrEqual(576);
    expect(counters['ip4-rewrite/fragmentation-needed']).toBe(1);
  });

  it('DF clear and larger than the egress MTU -> fragments that reassemble to the original (RFC 791)', () => {
    const h = new Harness(BASE_CONFIG);
    const input = udpFrame({ ...FROM_LAN, dst: '192.0.2.200', id: 777 }, 5000, 6000, 1472);
    const { out, counters } = h.one('lan', input);
    expect(out.length).toBe(2);
    const payload: number[] = [];
    let expectOffset = 0;
    out.forEach((o, i) => {
      expect(o.port).toBe('wan');
      const d = decode(o.bytes);
      expect(d.ip.totalLength).toBeLessThanOrEqual(1400);
      expect(d.ip.id).toBe(777);
      expect(d.ip.ttl).toBe(63);
      expect(d.ip.fragOffset).toBe(expectOffset);
      expect(d.ip.mf).toBe(i < out.length - 1);
      const data = o.bytes.subarray(d.l4, 14 + d.ip.totalLength);
      if (i < out.length - 1) expect(data.length % 8).toBe(0);
      expectOffset += data.length / 8;
      payload.push(...data);
    });
    expect(payload).toEqual(Array.from(input.subarray(14 + 20)));
    expect(counters['ip4-frag/fragments-made']).toBe(2);
  });

  it('echo request to any router address -> echo reply with the same id, seq and data (RFC 1122 3.2.2.6)', () => {
    const h = new Harness(BASE_CONFIG);
    for (const dst of ['192.0.2.1', '198.51.100.1']) {
      const { out, counters } = h.one('lan', echoFrame({ ...FROM_LAN, dst }, 0x4242, 7));
      expect(out).toHaveLength(1);
      const d = decode(out[0].bytes);
      const echo = d.icmp as IcmpEchoRepr;
      expect([d.ip.src, d.ip.dst]).toEqual([dst, '192.0.2.10']);
      expect([echo.type, echo.id, echo.seq, echo.data.length]).toEqual([0, 0x4242, 7, 56]);
      expect(counters['ip4-local/echo-replies']).toBe(1);
    }
  });

  it('UDP to the router -> port unreachable; another protocol -> protocol unreachable (RFC 1812 4.3.2.3)', () => {
    const h = new Harness(BASE_CONFIG);
    const u = h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.1' }, 1234, 9));
    expect([icmpError(u.out[0].bytes).err.type, icmpError(u.out[0].bytes).err.code]).toEqual([3, 3]);
    const g = h.one('lan', rawIpFrame({ ...FROM_LAN, dst: '192.0.2.1' }, 47, new Uint8Array(8)));
    expect([icmpError(g.out[0].bytes).err.type, icmpError(g.out[0].bytes).err.code]).toEqual([3, 2]);
    expect(g.counters['ip4-local/protocol-unreachable']).toBe(1);
  });
});

describe('RFC 1812 4.3.2.7: when no ICMP error is sent', () => {
  it('never about an ICMP error', () => {
    const h = new Harness(BASE_CONFIG);
    const unreach = new Uint8Array(36);
    unreach[0] = 3;
    const { out, counters } = h.one('lan', rawIpFrame({ ...FROM_LAN, dst: '192.0.2.200', ttl: 1 }, 1, unreach));
    expect(out).toHaveLength(0);
    expect(counters['icmp-error/about-icmp-error']).toBe(1);
  });

  it('never about a non-first fragment', () => {
    const h = new Harness(BASE_CONFIG);
    const { out, counters } = h.one('lan', rawIpFrame({ ...FROM_LAN, dst: '192.0.2.200', ttl: 1, fragOffset: 100 }, 17, new Uint8Array(40)));
    expect(out).toHaveLength(0);
    expect(counters['icmp-error/non-first-fragment']).toBe(1);
  });

  it('never about a link-layer broadcast', () => {
    const h = new Harness(BASE_CONFIG);
    // To the router itself (delivered, not forwarded: RFC 1812 5.3.4), a closed UDP port.
    const { out, counters } = h.one('lan', udpFrame({ ...FROM_LAN, dst: '192.0.2.1', ttl: 1, dstMac: 'ff:ff:ff:ff:ff:ff' }, 1, 2));
    expect(out).toHaveLength(0);
    expect(counters['icmp-error/link-broadcast']).toBe(1);
  });

  it('does not forward a unicast datagram that came as a link-layer broadcast (RFC 1812 5.3.4)', () => {
    const h = new Harness(BASE_CONFIG);
    const { out, counters } = h.one('lan', udpFrame({ ...FROM_LAN, dst: '198.51.100.7', dstMac: 'ff:ff:ff:ff:ff:ff' }, 1, 2));
    expect(out).toHaveLength(0);
    expect(counters['ip4-lookup/link-broadcast']).toBe(1);
  });

  it('never to a subnet broadcast source', () => {
    const h = new Harness(BASE_CONFIG);
    // lan's broadcast address arriving on wan: past ip4-input (which drops it only on its own subnet's port), no error sent.
    const { out, counters } = h.one('wan', udpFrame({ src: '192.0.2.127', srcMac: '02:bb:00:00:00:fe', dstMac: '02:00:00:00:00:02', dst: '198.18.200.1' }, 1, 2));
    expect(out).toHaveLength(0);
    expect(counters['icmp-error/bad-source']).toBe(1);
  });

  it('rate-limited by a token bucket (RFC 1812 4.3.2.8)', () => {
    // One token a second and a clock that stands still: the burst of 2, then nothing.
    const h = new Harness(BASE_CONFIG.replace('icmp: { ratePerSecond: 1000, burst: 100 }', 'icmp: { ratePerSecond: 1, burst: 2 }'));
    const frames = [1, 2, 3, 4].map((i) => ({ port: 'lan', frame: udpFrame({ ...FROM_LAN, dst: '198.18.200.1' }, i, 2) }));
    const { out, counters } = h.send(frames);
    expect(out).toHaveLength(2);
    expect(counters['icmp-error/rate-limited']).toBe(2);
  });

  it('icmp.ratePerSecond 0 disables ICMP errors, as the config says', () => {
    const h = new Harness(BASE_CONFIG.replace('icmp: { ratePerSecond: 1000, burst: 100 }', 'icmp: { ratePerSecond: 0, burst: 2 }'));
    const { out, counters } = h.one('lan', udpFrame({ ...FROM_LAN, dst: '198.18.200.1' }, 1, 2));
    expect(out).toHaveLength(0);
    expect(counters['icmp-error/rate-limited']).toBe(1);
  });
});

describe('ip4-input validation (RFC 1812 5.2.2) and martians (5.3.7)', () => {
  const good = () => udpFrame({ ...FROM_LAN, dst: '192.0.2.200' }, 1, 2);
  const cases: [string, (f: Uint8Array) => Uint8Array, string][] = [
    ['bad header checksum', (f) => ((f[24] ^= 0xff), f), 'ip4-input/bad-checksum'],
    ['version 6 in an IPv4 frame', (f) => ((f[14] = 0x65), f), 'ip4-input/bad-version'],
    ['IHL 4', (f) => ((f[14] = 0x44), f), 'ip4-input/bad-ihl'],
    ['total length beyond the frame', (f) => ((f[16] = 0x05), f), 'ip4-input/bad-total-length'],
    ['shorter than 20 bytes', (f) => f.slice(0, 14 + 19), 'ip4-input/truncated'],
  ];
  for (const [what, mutate, counter] of cases) {
    it(`drops ${what}`, () => {
      const h = new Harness(BASE_CONFIG);
      const { out, counters } = h.one('lan', mutate(good()));
      expect(out).toHaveLength(0);
      expect(counters[counter]).toBe(1);
    });
  }
  const addrs: [string, string, string][] = [
    ['127.0.0.1', '192.0.2.200', 'ip4-input/martian-source'],
    ['224.0.0.1', '192.0.2.200', 'ip4-input/martian-source'],
    ['192.0.2.10', '0.1.2.3', 'ip4-input/martian-destination'],
    ['192.0.2.10', '240.0.0.1', 'ip4-input/martian-destination'],
    ['192.0.2.10', '224.0.0.5', 'ip4-input/multicast-destination'],
    ['192.0.2.10', '255.255.255.255', 'ip4-input/limited-broadcast'],
    ['198.51.100.1', '192.0.2.200', 'ip4-input/own-source-address'],
    ['192.0.2.10', '203.0.113.63', 'ip4-lookup/directed-broadcast'],
  ];
  for (const [src, dst, counter] of addrs) {
    it(`drops ${src} -> ${dst} (${counter})`, () => {
      const h = new Harness(BASE_CONFIG);
      const { out, counters } = h.one('lan', udpFrame({ ...FROM_LAN, src, dst }, 1, 2));
      expect(out).toHaveLength(0);
      expect(counters[counter]).toBe(1);
    });
  }
});

describe('ethernet-input', () => {
  it('drops frames for another MAC, tagged frames, IPv6 and runts, each with its reason', () => {
    const h = new Harness(BASE_CONFIG);
    const other = udpFrame({ ...FROM_LAN, dst: '192.0.2.200', dstMac: '02:99:00:00:00:01' }, 1, 2);
    const tagged = new Uint8Array(64);
    tagged.set([2, 0, 0, 0, 0, 1, 2, 0xaa, 0, 0, 0, 1, 0x81, 0x00, 0, 5, 0x08, 0x00]);
    const v6 = new Uint8Array(60);
    v6.set([2, 0, 0, 0, 0, 1, 2, 0xaa, 0, 0, 0, 1, 0x86, 0xdd]);
    const { out, counters } = h.send([
      { port: 'lan', frame: other },
      { port: 'lan', frame: tagged },
      { port: 'lan', frame: v6 },
      { port: 'lan', frame: new Uint8Array(10) },
    ]);
    expect(out).toHaveLength(0);
    expect(counters).toMatchObject({
      'ethernet-input/not-for-us': 1,
      'ethernet-input/vlan-tagged': 1,
      'ethernet-input/unknown-ethertype': 1,
      'ethernet-input/truncated': 1,
    });
  });
});

describe('ARP', () => {
  it('answers a request for the port address and learns the asker (RFC 826)', () => {
    const h = new Harness(BASE_CONFIG);
    const { out, counters } = h.one('lan', arpFrame(ARP_REQUEST, '02:aa:00:00:00:77', '192.0.2.77', '00:00:00:00:00:00', '192.0.2.1'));
    expect(out).toHaveLength(1);
    const eth = parseEthernet(out[0].bytes, 0, out[0].bytes.length);
    const arp = parseArp(out[0].bytes, 14, 28);
    expect(eth.ok && [eth.repr.dst, eth.repr.src]).toEqual(['02:aa:00:00:00:77', ROUTER_MAC]);
    expect(arp.ok && arp.repr).toEqual({ oper: ARP_REPLY, sha: ROUTER_MAC, spa: '192.0.2.1', tha: '02:aa:00:00:00:77', tpa: '192.0.2.77' });
    expect(counters['arp-input/replies-sent']).toBe(1);
    // Learned: traffic to 192.0.2.77 now goes straight out with its MAC.
    const fwd = h.one('wan', udpFrame({ src: '198.51.100.9', srcMac: '02:bb:00:00:00:09', dstMac: '02:00:00:00:00:02', dst: '192.0.2.77' }, 1, 2));
    expect(fwd.out.map((o) => [o.port, decode(o.bytes).eth.dst])).toEqual([['lan', '02:aa:00:00:00:77']]);
  });

  it('believes no sender MAC that is broadcast, multicast, zero or its own (RFC 1812 3.3.2): neither learned nor answered', () => {
    const h = new Harness(BASE_CONFIG);
    const bad = ['ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '00:00:00:00:00:00', '02:00:00:00:00:02'];
    const frames = bad.map((sha, i) => {
      // A well-formed Ethernet header from a unicast host: only the ARP sender field lies.
      const f = arpFrame(ARP_REQUEST, '02:aa:00:00:00:70', `192.0.2.${60 + i}`, '00:00:00:00:00:00', '192.0.2.1');
      f.set(sha.split(':').map((x) => parseInt(x, 16)), 14 + 8);
      return { port: 'lan', frame: f };
    });
    const { out, counters } = h.send(frames);
    expect(out).toHaveLength(0);
    expect(counters['arp-input/bad-sender-mac']).toBe(bad.length);
    expect(counters['arp-input/learned']).toBeUndefined();
    // Not learned: a datagram to one of those hosts waits for ARP instead of leaving for the bogus MAC.
    const fwd = h.one('wan', udpFrame({ src: '198.51.100.9', srcMac: '02:bb:00:00:00:09', dstMac: '02:00:00:00:00:02', dst: '192.0.2.60' }, 1, 2));
    expect(fwd.out.map((o) => { const eth = parseEthernet(o.bytes, 0, o.bytes.length); const arp = parseArp(o.bytes, 14, 28); return [o.port, eth.ok && eth.repr.dst, arp.ok && arp.repr.tpa]; })).toEqual([['lan', 'ff:ff:ff:ff:ff:ff', '192.0.2.60']]);
  });

  it('does not answer for other addresses', () => {
    const h = new Harness(BASE_CONFIG);
    const { out, counters } = h.one('lan', arpFrame(ARP_REQUEST, '02:aa:00:00:00:77', '192.0.2.77', '00:00:00:00:00:00', '192.0.2.99'));
    expect(out).toHaveLength(0);
    expect(counters['arp-input/not-for-us']).toBe(1);
  });

  it('resolves an unknown next hop: holds the packet, sends a request, forwards on the reply', () => {
    const h = new Harness(BASE_CONFIG);
    const first = h.one('lan', udpFrame({ ...FROM_LAN, dst: '198.19.0.5' }, 1, 2));
    expect(first.out).toHaveLength(1);
    const req = parseArp(first.out[0].bytes, 14, 28);
    expect(req.ok && [req.repr.oper, req.repr.spa, req.repr.tpa]).toEqual([ARP_REQUEST, '198.51.100.1', '198.51.100.253']);
    expect(first.counters['arp-resolve/queued']).toBe(1);
    const reply = h.one('wan', arpFrame(ARP_REPLY, '02:bb:00:00:00:fd', '198.51.100.253', '02:00:00:00:00:02', '198.51.100.1', '02:00:00:00:00:02'));
    expect(reply.out).toHaveLength(1);
    const d = decode(reply.out[0].bytes);
    expect([reply.out[0].port, d.eth.dst, d.ip.dst, d.ip.ttl]).toEqual(['wan', '02:bb:00:00:00:fd', '198.19.0.5', 63]);
  });

  it('gives up after the resolve timeout with ICMP host unreachable, after retrying the request', () => {
    const h = new Harness(BASE_CONFIG);
    h.one('lan', udpFrame({ ...FROM_LAN, dst: '198.19.0.5' }, 1, 2));
    let requests = 1;
    for (let t = 0; t < 2; t++) {
      h.clock.advance(101);
      requests += h.send([]).out.filter((o) => parseArp(o.bytes, 14, 28).ok).length;
    }
    expect(requests).toBe(3);
    h.clock.advance(100);
    const { out, counters } = h.send([]);
    const all = [...out];
    expect(all).toHaveLength(1);
    const d = icmpError(all[0].bytes);
    expect([all[0].port, d.ip.dst, d.err.type, d.err.code]).toEqual(['lan', '192.0.2.10', 3, 1]);
    expect(counters['arp-resolve/resolution-failed']).toBe(1);
  });
});

describe('ECMP', () => {
  it('keeps every flow on one next hop and spreads flows over all of them', () => {
    const h = new Harness(BASE_CONFIG);
    const used = new Map<string, Set<string>>();
    for (let flow = 0; flow < 64; flow++) {
      for (let rep = 0; rep < 4; rep++) {
        const { out } = h.one('lan', udpFrame({ ...FROM_LAN, dst: `198.18.3.${1 + (flow % 200)}` }, 10000 + flow, 80));
        const mac = decode(out[0].bytes).eth.dst;
        const key = String(flow);
        if (!used.has(key)) used.set(key, new Set());
        used.get(key)!.add(mac);
      }
    }
    for (const macs of used.values()) expect(macs.size).toBe(1);
    const all = new Set([...used.values()].flatMap((s) => [...s]));
    expect(all).toEqual(new Set(['02:cc:00:00:00:02', '02:cc:00:00:00:03']));
  });
});
