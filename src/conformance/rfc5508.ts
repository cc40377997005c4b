// RFC 5508 (NAT behavioral requirements for ICMP): the requirements this NAT
// meets, on natConfig() (network.ts). test/nat/rfc5508-icmp.test.ts tests
// them in more detail; test/nat/README.md lists the ones that do not apply.
import { internetChecksum } from '../wire/checksum.js';
import { datagram, fixIcmpChecksum, icmpOf, TCP_SYN } from './frames.js';
import { echo, H1, H2, icmpError, icmpQuery, LAN_ADDR, natConfig, R, S1, S2, SEC, tcp, udp, WAN_ADDR } from './network.js';
import { flat, tupleOf } from './packet.js';
import { check, checkEqual, dropped, only } from './session.js';
import type { Requirement } from './requirement.js';

const ECHO_REPLY = 0;
const DNAT_5353 = '  dnat:\n    - { inPort: wan, proto: udp, dport: 5353, to: "192.0.2.10" }';

export const RFC5508: Requirement[] = [
  {
    rfc: 5508,
    id: 'REQ-1',
    text: 'ICMP queries from inside and their answers pass, the id mapped independently of the external host (REQ-1a), never shared by two hosts',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const a = only(s.send(0, echo(H1, S1, 7)), 'wan');
      const b = only(s.send(10, echo(H1, S2, 7)), 'wan');
      checkEqual([a.src, b.src, b.sport], [WAN_ADDR, WAN_ADDR, a.sport], 'the two echo requests out (source, id)');
      const c = only(s.send(20, echo(H2, S1, 7)), 'wan');
      check(c.sport !== a.sport, `H2's echo got H1's id ${a.sport}`);
      for (const [from, id, to] of [[S1, a.sport, H1], [S2, a.sport, H1], [S1, c.sport, H2]] as const) {
        const r = only(s.send(30, icmpQuery(from, WAN_ADDR, ECHO_REPLY, id)), 'lan');
        checkEqual([r.src, r.dst, r.type, r.sport], [from, to, 0, 7], `the reply from ${from} to id ${id}`);
      }
    },
  },
  {
    rfc: 5508,
    id: 'REQ-2',
    text: 'an ICMP query mapping does not expire in less than 60 s idle; it does expire',
    config: natConfig({ ports: '40000-40000' }),
    check(ctx) {
      const s = ctx.session();
      checkEqual(only(s.send(0, echo(H1, S1, 7)), 'wan').sport, 40000, 'the echo\'s external id');
      checkEqual(only(s.send(59_999, icmpQuery(S1, WAN_ADDR, ECHO_REPLY, 40000)), 'lan').dst, H1, 'where the reply 60 s less 1 ms later went');
      s.idle(59_999 + 60 * SEC - 1);
      checkEqual(s.live(), 2, 'flow-table entries 60 s less 1 ms after the reply');
      s.idle(59_999 + 60 * SEC);
      checkEqual(s.live(), 1, 'flow-table entries 60 s after the reply (the binding waits 30 s more)');
      s.note('session live 60 s less 1 ms after the reply, ended at 60 s');
      const late = s.send(59_999 + 61 * SEC, icmpQuery(S1, WAN_ADDR, ECHO_REPLY, 40000));
      checkEqual(late.out.length, 0, 'frames out for a reply after the session ended');
    },
  },
  {
    rfc: 5508,
    id: 'REQ-3',
    text: 'an ICMP error whose checksum fails is silently dropped, so is one whose quoted IP header checksum fails (REQ-3a)',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const out = s.send(0, udp(H1, 5000, S1, 53));
      only(out, 'wan');
      const bad = icmpError(S1, WAN_ADDR, 3, 3, datagram(out.out[0].bytes));
      icmpOf(bad.frame)[2] ^= 0x5a;
      checkEqual(s.send(10, bad).out.length, 0, 'frames out for an error with a bad ICMP checksum');
      const quote = datagram(out.out[0].bytes);
      quote[10] ^= 0x5a;
      checkEqual(s.send(20, icmpError(S1, WAN_ADDR, 3, 3, quote)).out.length, 0, 'frames out for an error whose quoted header checksum is bad');
      checkEqual(only(s.send(30, icmpError(S1, WAN_ADDR, 3, 3, datagram(out.out[0].bytes))), 'lan').dst, H1, 'where the same error, sound, went');
    },
  },
  {
    rfc: 5508,
    id: 'REQ-3b',
    text: 'the NAT steps over the IP options of a quoted datagram to find its ports',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const nop = { type: 1, data: new Uint8Array(0) };
      const out = s.send(0, udp(H1, 5000, S1, 53, { options: Array.from({ length: 8 }, () => nop) }));
      only(out, 'wan');
      const e = only(s.send(10, icmpError(R, WAN_ADDR, 11, 0, datagram(out.out[0].bytes))), 'lan');
      checkEqual(e.quoted && flat(e.quoted), `${H1}:5000>${S1}:53`, 'the quote after translation (its header 28 bytes long)');
    },
  },
  {
    rfc: 5508,
    id: 'REQ-3c',
    text: 'the quoted transport checksum is not validated: a quote with a wrong UDP checksum is translated all the same',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const out = s.send(0, udp(H1, 5000, S1, 53, {}, 40));
      only(out, 'wan');
      const quote = datagram(out.out[0].bytes);
      quote[20 + 8 + 5] ^= 0xff;
      const r = s.send(10, icmpError(S1, WAN_ADDR, 3, 3, quote));
      checkEqual(r.out.map((o) => o.port), ['lan'], 'ports the error left by');
      const m = icmpOf(r.out[0].bytes);
      checkEqual(internetChecksum(m, 0, m.length), 0, 'the translated error\'s ICMP checksum (0: sound)');
      const t = tupleOf(r.out[0].bytes);
      checkEqual(t?.quoted && flat(t.quoted), `${H1}:5000>${S1}:53`, 'the quote after translation');
    },
  },
  {
    rfc: 5508,
    id: 'REQ-3d',
    text: 'an error with ICMP extensions (RFC 4884) is translated, the extensions untouched',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const out = s.send(0, udp(H1, 5000, S1, 53, {}, 10));
      only(out, 'wan');
      const ext = Uint8Array.from([0x20, 0, 0, 0, 0, 8, 1, 1, 0xde, 0xad, 0xbe, 0xef]);
      const c = internetChecksum(ext, 0, ext.length);
      ext[2] = c >> 8;
      ext[3] = c & 0xff;
      const body = new Uint8Array(128 + ext.length);
      body.set(datagram(out.out[0].bytes));
      body.set(ext, 128);
      const p = icmpError(R, WAN_ADDR, 11, 0, body);
      icmpOf(p.frame)[5] = 128 / 4;
      fixIcmpChecksum(p.frame);
      const r = s.send(10, p);
      const e = only(r, 'lan');
      checkEqual([e.dst, e.type, e.quoted && flat(e.quoted)], [H1, 11, `${H1}:5000>${S1}:53`], 'the translated error');
      const m = icmpOf(r.out[0].bytes);
      checkEqual([m[5], ...m.subarray(8 + 128)], [32, ...ext], 'the length field and the extensions out');
    },
  },
  {
    rfc: 5508,
    id: 'REQ-4',
    text: 'an error from outside about a mapping is translated (quote reverted, type and code kept); one about no mapping is dropped and creates nothing',
    config: natConfig({ ports: '40000-40000' }),
    check(ctx) {
      const s = ctx.session();
      checkEqual(s.send(0, icmpError(S1, WAN_ADDR, 3, 3, datagram(udp(WAN_ADDR, 40000, S1, 53).frame))).out.length, 0, 'frames out for an error about no mapping');
      checkEqual(s.live(), 0, 'flow-table entries after it');
      const u = s.send(SEC, udp(H1, 5000, S1, 53));
      const q = s.send(2 * SEC, echo(H1, S2, 7));
      for (const [from, type, code, about, quoted] of [
        [S1, 3, 3, u, `${H1}:5000>${S1}:53`],
        [R, 11, 0, u, `${H1}:5000>${S1}:53`],
        [R, 3, 1, q, `${H1}:7>${S2}:7`],
        [R, 12, 0, q, `${H1}:7>${S2}:7`],
      ] as const) {
        const r = s.send(3 * SEC, icmpError(from, WAN_ADDR, type, code, datagram(about.out[0].bytes)));
        const e = only(r, 'lan');
        checkEqual([e.src, e.dst, e.type, e.code, e.quoted && flat(e.quoted)], [from, H1, type, code, quoted], `the ${type}/${code} from ${from}`);
      }
      checkEqual(s.live(), 4, 'flow-table entries (two flows, two bindings: the errors made none)');
    },
  },
  {
    rfc: 5508,
    id: 'REQ-5',
    text: 'an error from inside about a mapping is translated, its source the NAT\'s address (REQ-5c); one about no mapping is dropped, never leaked',
    config: natConfig({ extra: DNAT_5353 }),
    check(ctx) {
      const s = ctx.session();
      const x = only(s.send(0, udp(H1, 5000, S1, 53)), 'wan').sport;
      const inbound = s.send(10, udp(S1, 53, WAN_ADDR, x));
      only(inbound, 'lan');
      const e1 = only(s.send(20, icmpError(H1, S1, 3, 3, datagram(inbound.out[0].bytes))), 'wan');
      checkEqual([e1.src, e1.dst, e1.type, e1.code, e1.quoted && flat(e1.quoted)], [WAN_ADDR, S1, 3, 3, `${S1}:53>${WAN_ADDR}:${x}`], 'H1\'s port unreachable out');
      const fwd = s.send(30, udp(S2, 7000, WAN_ADDR, 5353));
      only(fwd, 'lan');
      const e2 = only(s.send(40, icmpError(H1, S2, 3, 3, datagram(fwd.out[0].bytes))), 'wan');
      checkEqual([e2.src, e2.dst, e2.quoted && flat(e2.quoted)], [WAN_ADDR, S2, `${S2}:7000>${WAN_ADDR}:5353`], 'the error about a forwarded port out');
      const live = s.live();
      dropped(s.send(50, icmpError(H1, S2, 3, 3, datagram(udp(S2, 53, H1, 6000).frame))), 'nat-output/untranslatable');
      checkEqual(s.live(), live, 'flow-table entries after the stray error');
    },
  },
  {
    rfc: 5508,
    id: 'REQ-6',
    text: 'an error about an ICMP query session neither refreshes nor ends it',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const q = s.send(0, echo(H1, S1, 7));
      only(q, 'wan');
      only(s.send(30 * SEC, icmpError(R, WAN_ADDR, 3, 1, datagram(q.out[0].bytes))), 'lan');
      s.idle(60 * SEC - 1);
      checkEqual(s.live(), 2, 'flow-table entries 60 s less 1 ms after the echo (not ended by the error)');
      s.idle(60 * SEC);
      checkEqual(s.live(), 1, 'flow-table entries 60 s after the echo (not refreshed by the error)');
      s.note('session live at t=59.999s, ended at t=60s: 60 s after the echo, not after the error');
    },
  },
  {
    rfc: 5508,
    id: 'REQ-7a',
    text: 'a hairpinned ICMP error gets through, its destination the quoted source after translation',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const x = only(s.send(0, udp(H1, 5000, S1, 53)), 'wan').sport;
      const hp = s.send(10, udp(H2, 6000, WAN_ADDR, x));
      only(hp, 'lan');
      const e = only(s.send(20, icmpError(H1, WAN_ADDR, 3, 3, datagram(hp.out[0].bytes))), 'lan');
      checkEqual([e.src, e.dst, e.type, e.code, e.quoted && flat(e.quoted)], [WAN_ADDR, H2, 3, 3, `${H2}:6000>${WAN_ADDR}:${x}`], 'H1\'s error to H2');
    },
  },
  {
    rfc: 5508,
    id: 'REQ-8',
    text: 'no room for a new mapping: ICMP destination unreachable code 13 to the sender, for UDP, TCP and ICMP queries',
    config: natConfig({ capacity: 16 }),
    check(ctx) {
      const s = ctx.session();
      // Eight answered UDP flows and their bindings fill the 16 entries, none evictable.
      for (let p = 5001; p <= 5008; p++) {
        const x = only(s.send(p, udp(H1, p, S1, 53), true), 'wan').sport;
        only(s.send(p, udp(S1, 53, WAN_ADDR, x), true), 'lan');
      }
      checkEqual(s.live(), 16, 'flow-table entries');
      s.note('16 of 16 flow-table entries taken by 8 answered UDP flows');
      for (const [p, quoted] of [
        [udp(H1, 5009, S1, 53), `${H1}:5009>${S1}:53`],
        [tcp(H1, 5010, S1, 80, TCP_SYN), `${H1}:5010>${S1}:80`],
        [echo(H1, S1, 9), `${H1}:9>${S1}:9`],
      ] as const) {
        const r = s.send(10 * SEC, p);
        const e = only(r, 'lan');
        checkEqual([e.src, e.dst, e.type, e.code, e.quoted && flat(e.quoted)], [LAN_ADDR, H1, 3, 13, quoted], 'the answer to a new flow');
        checkEqual(r.counters['nat-output/table-full'] ?? 0, 1, 'nat-output/table-full');
      }
    },
  },
  {
    rfc: 5508,
    id: 'REQ-10',
    text: 'the ICMP a router must send (RFC 1812 4.3) passes the NAT: echo replies, unreachables, time exceeded both ways, timestamp queries mapped',
    config: natConfig({ routes: '  - 198.18.1.0/24 unreachable', extra: DNAT_5353 }),
    check(ctx) {
      const s = ctx.session();
      const pong = only(s.send(0, echo(S1, WAN_ADDR, 3)), 'wan');
      checkEqual([pong.src, pong.dst, pong.type, pong.sport], [WAN_ADDR, S1, 0, 3], 'the echo reply');
      const port = only(s.send(10, udp(S1, 1234, WAN_ADDR, 9)), 'wan');
      checkEqual([port.type, port.code], [3, 3], 'the answer to UDP port 9');
      const net = only(s.send(20, udp(S1, 1234, '198.18.1.9', 9)), 'wan');
      checkEqual([net.src, net.type, net.code], [WAN_ADDR, 3, 0], 'the answer to an unreachable network');
      const out = only(s.send(30, udp(H1, 40000, S1, 33434, { ttl: 1 })), 'lan');
      checkEqual([out.src, out.type, out.quoted && flat(out.quoted)], [LAN_ADDR, 11, `${H1}:40000>${S1}:33434`], 'time exceeded for a probe from inside');
      const inb = only(s.send(40, udp(S1, 40001, WAN_ADDR, 5353, { ttl: 1 })), 'wan');
      checkEqual([inb.src, inb.type, inb.quoted && flat(inb.quoted)], [WAN_ADDR, 11, `${S1}:40001>${WAN_ADDR}:5353`], 'time exceeded for a probe to a forwarded port');
      checkEqual(s.live(), 0, 'flow-table entries the probes made');
      const ts = only(s.send(50, icmpQuery(H1, S1, 13, 77, 12)), 'wan');
      checkEqual([ts.src, ts.type], [WAN_ADDR, 13], 'the timestamp request out');
      const tsr = only(s.send(60, icmpQuery(S1, WAN_ADDR, 14, ts.sport, 12)), 'lan');
      checkEqual([tsr.dst, tsr.type, tsr.sport], [H1, 14, 77], 'the timestamp reply in');
    },
  },
  {
    rfc: 5508,
    id: 'REQ-11',
    text: 'ICMP that is neither query nor error is dropped where it would need translating, never sent with the inside address',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      for (const type of [9, 10, 42]) dropped(s.send(type, icmpQuery(H1, S1, type, 1, 8)), 'nat-output/untranslatable');
      checkEqual(s.live(), 0, 'flow-table entries');
    },
  },
];
