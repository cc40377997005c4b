// RFC 1812 (Requirements for IP Version 4 Routers): what the dataplane does
// as a router, on ROUTER_CONFIG (network.ts). test/pipeline/forwarding.test.ts
// tests the same behaviour in more detail; these are the requirements a
// report states with the packets that show them.
import { datagram, echoFrame, icmpErrorFrame, rawIpFrame, udpFrame, udpPayload } from './frames.js';
import { fromLan, H1, ROUTER_CONFIG, WAN_MTU } from './network.js';
import { reassemble, tupleOf } from './packet.js';
import { check, checkEqual, dropped, only, type Packet } from './session.js';
import type { Requirement } from './requirement.js';
import { RFC1812_OPTIONS } from './rfc1812-options.js';

const GATEWAY_MAC = '02:bb:00:00:00:fe';

/** A UDP datagram from H1 on lan to `dst`. */
function lanUdp(dst: string, ip: Parameters<typeof udpFrame>[3] = {}, payloadLen = 32, src = H1): Packet {
  return { port: 'lan', frame: udpFrame(fromLan(dst, src), 40000, 33434, ip, udpPayload(payloadLen)) };
}

/** The ICMP message of a frame's datagram. */
function icmpBody(f: Uint8Array): Uint8Array {
  return f.subarray(14 + (f[14] & 15) * 4);
}

export const RFC1812: Requirement[] = [
  {
    rfc: 1812,
    id: '5.3.1',
    text: 'a forwarded datagram has its TTL decremented by one and its header checksum updated; addresses and payload unchanged',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const p = lanUdp('192.0.2.200', { ttl: 64 });
      const r = s.send(0, p);
      const t = only(r, 'wan');
      checkEqual([t.src, t.dst, t.ttl], [H1, '192.0.2.200', 63], 'source, destination and TTL out');
      checkEqual(Array.from(r.out[0].bytes.subarray(0, 6)), [2, 0xbb, 0, 0, 0, 0xfe], `destination MAC (the gateway's, ${GATEWAY_MAC})`);
      checkEqual(Array.from(r.out[0].bytes.subarray(14 + 20)), Array.from(p.frame.subarray(14 + 20)), 'UDP header and payload');
    },
  },
  {
    rfc: 1812,
    id: '5.3.1',
    text: 'a datagram whose TTL would reach 0 is discarded and answered with ICMP time exceeded (11/0) quoting it (4.3.2.3)',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const p = lanUdp('192.0.2.200', { ttl: 1 });
      const r = s.send(0, p);
      const t = only(r, 'lan');
      checkEqual([t.src, t.dst, t.type, t.code], ['192.0.2.1', H1, 11, 0], 'the error (source, destination, type, code)');
      checkEqual(Array.from(icmpBody(r.out[0].bytes).subarray(8)), Array.from(datagram(p.frame)), 'the quoted datagram');
      checkEqual(r.counters['ip4-rewrite/ttl-expired'] ?? 0, 1, 'ip4-rewrite/ttl-expired');
    },
  },
  {
    rfc: 1812,
    id: '5.2.7.1',
    text: 'destination unreachable: net (code 0) with no route or an unreachable route, administratively prohibited (code 13) for a prohibit route',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      for (const [dst, code, counter] of [['198.18.200.1', 0, 'ip4-lookup/no-route'], ['198.18.1.7', 0, 'ip4-lookup/unreachable'], ['198.18.2.7', 13, 'ip4-lookup/prohibit']] as const) {
        const r = s.send(0, lanUdp(dst));
        const t = only(r, 'lan');
        checkEqual([t.dst, t.type, t.code, t.quoted?.dst], [H1, 3, code, dst], `the error about ${dst}`);
        checkEqual(r.counters[counter] ?? 0, 1, counter);
      }
    },
  },
  {
    rfc: 1812,
    id: '5.2.7.1',
    text: 'as the final destination: protocol unreachable (code 2) for a protocol it does not serve, port unreachable (code 3) for a UDP port',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const u = only(s.send(0, lanUdp('192.0.2.1')), 'lan');
      checkEqual([u.src, u.type, u.code], ['192.0.2.1', 3, 3], 'the answer to UDP');
      const g = only(s.send(0, { port: 'lan', frame: rawIpFrame(fromLan('192.0.2.1'), 47, new Uint8Array(8)) }), 'lan');
      checkEqual([g.src, g.type, g.code], ['192.0.2.1', 3, 2], 'the answer to GRE (protocol 47)');
    },
  },
  {
    rfc: 1812,
    id: '5.2.7.1',
    text: 'DF set and larger than the next hop\'s MTU: fragmentation needed (3/4) carrying the next-hop MTU (RFC 1191), the error within 576 bytes (4.3.2.3)',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const r = s.send(0, lanUdp('192.0.2.200', { df: true }, 1472));
      const t = only(r, 'lan');
      checkEqual([t.type, t.code, t.mtu], [3, 4, WAN_MTU], 'type, code and next-hop MTU');
      check(t.length <= 576, `the error is ${t.length} bytes, more than 576`);
      checkEqual(r.counters['ip4-rewrite/fragmentation-needed'] ?? 0, 1, 'ip4-rewrite/fragmentation-needed');
    },
  },
  {
    rfc: 1812,
    id: '5.2.6',
    text: 'DF clear and larger than the next hop\'s MTU: fragmented into datagrams within the MTU that reassemble to the original',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const p = lanUdp('192.0.2.200', { id: 777 }, 1472);
      const r = s.send(0, p);
      checkEqual(r.out.map((o) => o.port), ['wan', 'wan'], 'ports the fragments left by');
      for (const o of r.out) {
        const t = tupleOf(o.bytes);
        check(t !== undefined && t.checksumsOk && t.length <= WAN_MTU && t.id === 777, `fragment ${t ? `${t.length} bytes, id ${t.id}` : 'not IPv4'}: must be within ${WAN_MTU} bytes, id 777, checksum sound`);
      }
      const whole = reassemble(r.out.map((o) => o.bytes));
      checkEqual(Array.from(whole.subarray(14 + 20)), Array.from(p.frame.subarray(14 + 20)), 'the reassembled payload');
    },
  },
  {
    rfc: 1812,
    id: '4.3.3.6',
    text: 'the router answers echo requests to any of its addresses with an echo reply of the same id, sequence and data',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      for (const dst of ['192.0.2.1', '198.51.100.1']) {
        const p = { port: 'lan', frame: echoFrame(fromLan(dst), 0x4242, 7) };
        const r = s.send(0, p);
        const t = only(r, 'lan');
        checkEqual([t.src, t.dst, t.type, t.sport], [dst, H1, 0, 0x4242], `the reply from ${dst}`);
        checkEqual(Array.from(icmpBody(r.out[0].bytes).subarray(6)), Array.from(icmpBody(p.frame).subarray(6)), 'sequence and data');
      }
    },
  },
  {
    rfc: 1812,
    id: '4.3.2.7',
    text: 'no ICMP error about an ICMP error, a non-initial fragment, a link-layer broadcast, or a datagram from a broadcast address',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const quoted = datagram(lanUdp('198.51.100.7').frame);
      const cases: [Packet, string][] = [
        [{ port: 'lan', frame: icmpErrorFrame(fromLan('192.0.2.200'), 3, 3, quoted, { ttl: 1 }) }, 'icmp-error/about-icmp-error'],
        [{ port: 'lan', frame: rawIpFrame(fromLan('192.0.2.200'), 17, new Uint8Array(40), { ttl: 1, fragOffset: 100 }) }, 'icmp-error/non-first-fragment'],
        // To the router's own address (delivered, not forwarded: RFC 1812 5.3.4), a closed UDP port.
        [lanUdpTo('192.0.2.1', 'ff:ff:ff:ff:ff:ff'), 'icmp-error/link-broadcast'],
        [{ port: 'wan', frame: udpFrame({ src: '192.0.2.127', dst: '198.18.200.1', srcMac: GATEWAY_MAC, dstMac: '02:00:00:00:00:02' }, 1, 2) }, 'icmp-error/bad-source'],
      ];
      for (const [p, counter] of cases) dropped(s.send(0, p), counter);
    },
  },
  {
    rfc: 1812,
    id: '4.3.2.8',
    text: 'the rate of ICMP errors is limited (a token bucket: icmp.ratePerSecond and burst)',
    config: ROUTER_CONFIG.replace('icmp: { ratePerSecond: 1000, burst: 100 }', 'icmp: { ratePerSecond: 1, burst: 2 }'),
    check(ctx) {
      const s = ctx.session();
      const r = s.send(0, [1, 2, 3, 4].map(() => lanUdp('198.18.200.1')));
      checkEqual(r.out.length, 2, 'errors sent for 4 unroutable datagrams at once (burst 2)');
      checkEqual(r.counters['icmp-error/rate-limited'] ?? 0, 2, 'icmp-error/rate-limited');
      const later = s.send(1000, lanUdp('198.18.200.1'));
      checkEqual(later.out.length, 1, 'errors sent a second later (1 token a second)');
    },
  },
  {
    rfc: 1812,
    id: '5.2.2',
    text: 'a datagram that fails header validation (checksum, version, header length, total length) is silently discarded',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const cases: [string, (f: Uint8Array) => Uint8Array, string][] = [
        ['bad header checksum', (f) => ((f[24] ^= 0xff), f), 'ip4-input/bad-checksum'],
        ['version 6', (f) => ((f[14] = 0x65), f), 'ip4-input/bad-version'],
        ['header length 16', (f) => ((f[14] = 0x44), f), 'ip4-input/bad-ihl'],
        ['total length past the frame', (f) => ((f[16] = 0x05), f), 'ip4-input/bad-total-length'],
      ];
      for (const [, damage, counter] of cases) dropped(s.send(0, { port: 'lan', frame: damage(lanUdp('192.0.2.200').frame) }), counter);
    },
  },
  {
    rfc: 1812,
    id: '5.3.7',
    text: 'datagrams with a martian source (127/8, multicast) or destination (0/8, 240/4) are not forwarded',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const cases: [string, string, string][] = [
        ['127.0.0.1', '192.0.2.200', 'ip4-input/martian-source'],
        ['224.0.0.1', '192.0.2.200', 'ip4-input/martian-source'],
        [H1, '0.1.2.3', 'ip4-input/martian-destination'],
        [H1, '240.0.0.1', 'ip4-input/martian-destination'],
      ];
      for (const [src, dst, counter] of cases) dropped(s.send(0, lanUdp(dst, {}, 32, src)), counter);
    },
  },
  {
    rfc: 1812,
    id: '5.3.5',
    text: 'limited broadcasts (255.255.255.255) are never forwarded (5.3.5.1), nor directed broadcasts by default (5.3.5.2 as updated by RFC 2644)',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      dropped(s.send(0, lanUdp('255.255.255.255')), 'ip4-input/limited-broadcast');
      dropped(s.send(0, lanUdp('203.0.113.63')), 'ip4-lookup/directed-broadcast');
    },
  },
  {
    rfc: 1812,
    id: '5.3.4',
    text: 'a unicast datagram received as a link-layer broadcast is not forwarded (nor does it earn an ICMP error)',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      dropped(s.send(0, { port: 'lan', frame: udpFrame(fromLan('198.51.100.7', H1, 'ff:ff:ff:ff:ff:ff'), 1, 2, { ttl: 64 }) }), 'ip4-lookup/link-broadcast');
    },
  },
  ...RFC1812_OPTIONS,
];

/** A UDP datagram from H1 to `dst` sent to the Ethernet address `dstMac` (a link-layer broadcast). */
function lanUdpTo(dst: string, dstMac: string): Packet {
  return { port: 'lan', frame: udpFrame(fromLan(dst, H1, dstMac), 1, 2, { ttl: 1 }) };
}
