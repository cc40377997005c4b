// RFC 1812 on IPv4 options: what the router does with the options of a
// datagram it forwards or answers, on ROUTER_CONFIG (network.ts). The
// evidence shows each option in and out ("rr ptr 8 [198.51.100.1 0.0.0.0]",
// "ts/1 ptr 13 oflw 0 [198.51.100.1@80000000]"). test/pipeline/ip-options.test.ts
// tests the same behaviour in more detail.
//
// Not here: RFC 1812 5.3.13.4 (a router MUST support source route options,
// and a switch to discard them MUST NOT be on by default). The router
// discards source-routed datagrams, as RFC 7126 4.3/4.4 recommends by default
// and Linux does; the 4.3.2.6 row below shows how (docs/ARCHITECTURE.md,
// "IPv4 options").
import { parseIpv4Address, writeIpv4 } from '../wire/address.js';
import { IPOPT_LSRR, IPOPT_RA, IPOPT_RR, IPOPT_SSRR, IPOPT_TS, msSinceMidnightUt, type Ipv4Option } from '../wire/ipv4-options.js';
import { datagram, echoFrame, udpFrame, udpPayload, type IpOpts } from './frames.js';
import { fromLan, H1, ROUTER_CONFIG } from './network.js';
import { reassemble, tupleOf } from './packet.js';
import { check, checkEqual, only, START_MS, type Packet } from './session.js';
import type { Requirement } from './requirement.js';

/** The router's timestamps at t=0 of a session: ms since midnight UT. */
const STAMP = msSinceMidnightUt(START_MS);

function words(first: number[], rest: number[]): Uint8Array {
  const data = new Uint8Array(first.length + rest.length * 4);
  data.set(first, 0);
  rest.forEach((w, i) => writeIpv4(data, first.length + i * 4, w));
  return data;
}

/** A route option (Record Route, or a source route) with its pointer and slots. */
function route(type: number, pointer: number, ...slots: string[]): Ipv4Option {
  return { type, data: words([pointer], slots.map(parseIpv4Address)) };
}

/** A Timestamp option: pointer, overflow count, flag, then 32-bit words (addresses, timestamps). */
function timestamp(pointer: number, overflow: number, flag: number, ...rest: number[]): Ipv4Option {
  return { type: IPOPT_TS, data: words([pointer, (overflow << 4) | flag], rest) };
}

const ROUTER_ALERT: Ipv4Option = { type: IPOPT_RA, data: Uint8Array.of(0, 0) };

/** A UDP datagram from H1 on lan to `dst` with these options. */
function lanUdp(dst: string, options: Ipv4Option[], ip: IpOpts = {}, payloadLen = 32): Packet {
  return { port: 'lan', frame: udpFrame(fromLan(dst), 40000, 33434, { ...ip, options }, udpPayload(payloadLen)) };
}

/** The datagram an ICMP error frame quotes (after its 20 + 8 bytes of headers). */
function quoteOf(f: Uint8Array): number[] {
  return Array.from(f.subarray(14 + 20 + 8));
}

export const RFC1812_OPTIONS: Requirement[] = [
  {
    rfc: 1812,
    id: '5.3.13.5',
    text: 'Record Route: the address of the interface a datagram leaves by goes in at the pointer, which moves on by 4; a full option passes unchanged',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      for (const [dst, port, addr] of [['192.0.2.200', 'wan', '198.51.100.1'], ['203.0.113.2', 'dmz', '203.0.113.1']]) {
        const t = only(s.send(0, lanUdp(dst, [route(IPOPT_RR, 4, '0.0.0.0', '0.0.0.0')])), port);
        checkEqual([t.ttl, t.options], [63, [`rr ptr 8 [${addr} 0.0.0.0]`]], `TTL and Record Route out of ${port}`);
      }
      const full = only(s.send(0, lanUdp('192.0.2.200', [route(IPOPT_RR, 12, '203.0.113.9', '198.18.0.1')])), 'wan');
      checkEqual(full.options, ['rr ptr 12 [203.0.113.9 198.18.0.1]'], 'a full Record Route out');
    },
  },
  {
    rfc: 1812,
    id: '5.3.13.6',
    text: 'Timestamp: ms since midnight UT (flag 0), after the egress address (flag 1), or at a prespecified router address (flag 3); full: overflow + 1',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const dmz = parseIpv4Address('203.0.113.1');
      const other = parseIpv4Address('198.51.100.254');
      const cases: [Ipv4Option, string][] = [
        [timestamp(5, 0, 0, 0, 0), `ts/0 ptr 9 oflw 0 [${STAMP} 0]`],
        [timestamp(5, 0, 1, 0, 0), `ts/1 ptr 13 oflw 0 [198.51.100.1@${STAMP}]`],
        [timestamp(5, 0, 3, dmz, 0, other, 0), `ts/3 ptr 13 oflw 0 [203.0.113.1@${STAMP} 198.51.100.254@0]`],
        [timestamp(13, 0, 3, dmz, 7, other, 0), 'ts/3 ptr 13 oflw 0 [203.0.113.1@7 198.51.100.254@0]'],
        [timestamp(13, 4, 1, other, 5), 'ts/1 ptr 13 oflw 5 [198.51.100.254@5]'],
      ];
      for (const [opt, out] of cases) checkEqual(only(s.send(0, lanUdp('192.0.2.200', [opt])), 'wan').options, [out], 'the Timestamp out');
    },
  },
  {
    rfc: 1812,
    id: '4.3.3.5',
    text: 'a malformed option, or a Timestamp overflow count that would overflow: discarded, with a parameter problem (12/0) pointing at the byte',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const cases: [Ipv4Option, number, string][] = [
        [route(IPOPT_RR, 3, '0.0.0.0'), 22, 'ip4-input/bad-options'],
        [{ type: IPOPT_RR, data: Uint8Array.of(4, 0, 0) }, 22, 'ip4-input/bad-options'],
        [timestamp(9, 15, 0, 1), 23, 'ip4-input/timestamp-overflow'],
      ];
      for (const [opt, pointer, counter] of cases) {
        const p = lanUdp('192.0.2.200', [opt]);
        const r = s.send(0, p);
        const t = only(r, 'lan');
        checkEqual([t.src, t.dst, t.type, t.code, t.pointer], ['192.0.2.1', H1, 12, 0, pointer], 'the error (source, destination, type, code, pointer)');
        checkEqual(quoteOf(r.out[0].bytes), Array.from(datagram(p.frame)), 'the quoted datagram');
        checkEqual(r.counters[counter] ?? 0, 1, counter);
      }
    },
  },
  {
    rfc: 1812,
    id: '4.3.2.6',
    text: 'source routes are refused (RFC 7126 4.3/4.4; 5.3.13.4 is not met): discarded, with source route failed (3/5) carrying no source route',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const cases: Packet[] = [
        lanUdp('192.0.2.200', [route(IPOPT_LSRR, 4, '198.18.0.1')]),
        lanUdp('192.0.2.1', [route(IPOPT_SSRR, 4, '203.0.113.2')]),
      ];
      for (const p of cases) {
        const r = s.send(0, p);
        const t = only(r, 'lan');
        checkEqual([t.src, t.dst, t.type, t.code, t.options], ['192.0.2.1', H1, 3, 5, []], 'the error (source, destination, type, code, its options)');
        checkEqual(quoteOf(r.out[0].bytes), Array.from(datagram(p.frame)), 'the quoted datagram');
        checkEqual(r.counters['ip4-input/source-route'] ?? 0, 1, 'ip4-input/source-route');
      }
    },
  },
  {
    rfc: 1812,
    id: '4.3.3.6',
    text: 'Record Route and Timestamp options of an echo request come back in the reply, updated to include the router',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const options = [route(IPOPT_RR, 4, '0.0.0.0', '0.0.0.0'), timestamp(5, 0, 0, 0)];
      const t = only(s.send(0, { port: 'lan', frame: echoFrame(fromLan('198.51.100.1'), 0x4243, 1, { options }) }), 'lan');
      checkEqual([t.src, t.dst, t.type], ['198.51.100.1', H1, 0], 'the reply (source, destination, type)');
      checkEqual(t.options, ['rr ptr 8 [192.0.2.1 0.0.0.0]', `ts/0 ptr 9 oflw 0 [${STAMP}]`], "the reply's options");
    },
  },
  {
    rfc: 1812,
    id: '5.2.6',
    text: 'fragmented, the first fragment keeps every option (Record Route updated), the others only those with the copied flag (RFC 791)',
    config: ROUTER_CONFIG,
    check(ctx) {
      const s = ctx.session();
      const p = lanUdp('192.0.2.200', [route(IPOPT_RR, 4, '0.0.0.0', '0.0.0.0'), ROUTER_ALERT], { id: 778 }, 1400);
      const r = s.send(0, p);
      checkEqual(r.out.map((o) => o.port), ['wan', 'wan'], 'ports the fragments left by');
      const frags = r.out.map((o) => tupleOf(o.bytes));
      for (const t of frags) check(t !== undefined && t.checksumsOk, 'a fragment is not sound IPv4');
      checkEqual(frags.map((t) => t?.options), [['rr ptr 8 [198.51.100.1 0.0.0.0]', 'ra'], ['ra']], 'the options of each fragment');
      const hl = (p.frame[14] & 15) * 4;
      checkEqual(Array.from(reassemble(r.out.map((o) => o.bytes)).subarray(14 + hl)), Array.from(p.frame.subarray(14 + hl)), 'the reassembled payload');
    },
  },
];
