// RFC 5508 (NAT behavioral requirements for ICMP), one test per requirement
// that applies to this NAT; test/nat/README.md lists the others and why. Each
// test is a replay fixture (fixture.ts): frames with the virtual-clock time
// they arrive at, through the real pipeline; ICMP error translation is also
// replayed from a pcapng by `dataplane replay`.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { internetChecksum } from '../../src/wire/checksum.js';
import { expectSameOnReplay, NatFixture } from './fixture.js';
import { datagram, echo, echoReply, H1, H2, icmpError, LAN_ADDR, natConfig, R, S1, S2, TCP_SYN, tcp, udp, WAN_ADDR, type Packet } from './net.js';
import { icmpQueryFrame } from '../pipeline/build.js';
import { flat, only, tupleOf } from './packets.js';

const dir = mkdtempSync(join(os.tmpdir(), 'nat-5508-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SEC = 1000;
const ONE_PORT = '40000-40000';
const EXT = 40000;

/** The ICMP message of a frame (from the IPv4 header's end). */
function icmpOf(frame: Uint8Array): Uint8Array {
  return frame.subarray(14 + (frame[14] & 15) * 4);
}

/** Sets the ICMP checksum of a frame right (after the test changed a byte). */
function fixIcmpChecksum(frame: Uint8Array): void {
  const m = icmpOf(frame);
  m[2] = m[3] = 0;
  const c = internetChecksum(m, 0, m.length);
  m[2] = c >> 8;
  m[3] = c & 0xff;
}

describe('RFC 5508: NAT behavioral requirements for ICMP', () => {
  it('RFC 5508 REQ-1: ICMP queries from inside and their answers pass ("MUST permit ICMP Queries and their associated responses"), the id mapped endpoint-independently (REQ-1a: "SHOULD be external host independent"), never shared by two hosts', () => {
    const fx = new NatFixture(natConfig());
    const a = only(fx.send(0, echo(H1, S1, 7)), 'wan');
    const b = only(fx.send(10, echo(H1, S2, 7)), 'wan');
    expect([a.src, a.type, b.src, b.type]).toEqual([WAN_ADDR, 8, WAN_ADDR, 8]);
    expect(b.sport).toBe(a.sport);
    const c = only(fx.send(20, echo(H2, S1, 7)), 'wan');
    expect(c.sport).not.toBe(a.sport);
    for (const [from, id, to] of [[S1, a.sport, H1], [S2, a.sport, H1], [S1, c.sport, H2]] as const) {
      const r = only(fx.send(30, echoReply(from, WAN_ADDR, id)), 'lan');
      expect([r.src, r.dst, r.type, r.sport]).toEqual([from, to, 0, 7]);
    }
  });

  it('RFC 5508 REQ-2: an ICMP query session lasts at least 60 s idle ("MUST NOT expire in less than 60 seconds"), then ends (replayed by `dataplane replay`)', () => {
    const fx = new NatFixture(natConfig({ ports: ONE_PORT }));
    expect(only(fx.send(0, echo(H1, S1, 7)), 'wan').sport).toBe(EXT);
    expect(only(fx.send(59_999, echoReply(S1, WAN_ADDR, EXT)), 'lan').dst).toBe(H1);
    fx.idle(59_999 + 60 * SEC - 1);
    expect(fx.live()).toBe(2);
    fx.idle(59_999 + 60 * SEC);
    expect(fx.live()).toBe(1); // its binding waits 30 s more; answers no longer reach H1
    const late = fx.send(59_999 + 61 * SEC, echoReply(S1, WAN_ADDR, EXT));
    expect(late.out).toEqual([]);
    expect(late.counters['ip4-local/icmp-received']).toBe(1);
    expectSameOnReplay(fx, mkdtempSync(join(dir, 'req2-')));
  });

  it('RFC 5508 REQ-2, profile cloud-nat: ICMP query sessions last 30 s (Cloud NAT\'s default)', () => {
    const fx = new NatFixture(natConfig({ profile: 'cloud-nat' }));
    const a = only(fx.send(0, echo(H1, S1, 7)), 'wan');
    expect(only(fx.send(29_999, echoReply(S1, WAN_ADDR, a.sport)), 'lan').dst).toBe(H1);
    fx.idle(29_999 + 30 * SEC);
    expect(fx.send(29_999 + 31 * SEC, echoReply(S1, WAN_ADDR, a.sport)).out).toEqual([]);
  });

  it('RFC 5508 REQ-3: an ICMP error whose checksum fails is silently dropped ("SHOULD silently drop"), so is one whose quoted IP header checksum fails (REQ-3a)', () => {
    const fx = new NatFixture(natConfig());
    const out = fx.send(0, udp(H1, 5000, S1, 53));
    only(out, 'wan');
    const badIcmp = icmpError(S1, WAN_ADDR, 3, 3, datagram(out.out[0].bytes));
    icmpOf(badIcmp.frame)[2] ^= 0x5a;
    const r1 = fx.send(10, badIcmp);
    expect(r1.out).toEqual([]);
    expect(r1.counters['ct-input/icmp-errors-translated']).toBeUndefined();
    const quote = datagram(out.out[0].bytes);
    quote[10] ^= 0x5a; // the quoted IP header's checksum
    const r2 = fx.send(20, icmpError(S1, WAN_ADDR, 3, 3, quote));
    expect(r2.out).toEqual([]);
    expect(r2.counters['ct-input/icmp-errors-translated']).toBeUndefined();
    // The same error, sound, is translated.
    expect(only(fx.send(30, icmpError(S1, WAN_ADDR, 3, 3, datagram(out.out[0].bytes))), 'lan').dst).toBe(H1);
  });

  it('RFC 5508 REQ-3b: the NAT steps over IP options of the quoted datagram to find its ports ("MUST traverse past the IP options")', () => {
    const fx = new NatFixture(natConfig());
    const nop = { type: 1, data: new Uint8Array(0) };
    const out = fx.send(0, udp(H1, 5000, S1, 53, { options: [nop, nop, nop, nop, nop, nop, nop, nop] }));
    const sent = only(out, 'wan');
    expect(out.out[0].bytes[14] & 15).toBe(7);
    const e = only(fx.send(10, icmpError(R, WAN_ADDR, 11, 0, datagram(out.out[0].bytes))), 'lan');
    expect(flat(e.quoted!)).toBe(`${H1}:5000 > ${S1}:53/17`);
    expect(sent.sport).not.toBe(-1);
  });

  it('RFC 5508 REQ-3c: the quoted transport checksum is not validated ("SHOULD NOT validate the transport checksum of the embedded packet"): a quote whose UDP checksum is wrong is translated, its checksum updated as the ports change', () => {
    const fx = new NatFixture(natConfig());
    const out = fx.send(0, udp(H1, 5000, S1, 53, {}, 40));
    only(out, 'wan');
    const quote = datagram(out.out[0].bytes);
    const payloadByte = 20 + 8 + 5;
    quote[payloadByte] ^= 0xff; // the UDP checksum no longer covers the payload
    const r = fx.send(10, icmpError(S1, WAN_ADDR, 3, 3, quote));
    expect(r.out.map((o) => o.port)).toEqual(['lan']);
    const got = r.out[0].bytes.slice();
    const m = icmpOf(got);
    expect(internetChecksum(m, 0, m.length)).toBe(0); // the error itself is sound...
    expect(tupleOf(got).checksumsOk).toBe(false); // ...its quote as damaged as it came...
    m[8 + payloadByte] ^= 0xff; // ...and only by that byte: put it back and every checksum holds
    fixIcmpChecksum(got);
    const fixed = tupleOf(got);
    expect([fixed.checksumsOk, flat(fixed.quoted!)]).toEqual([true, `${H1}:5000 > ${S1}:53/17`]);
  });

  it('RFC 5508 REQ-3d: an error with ICMP extensions (RFC 4884: the quote padded to 128 bytes, then an extension structure) is translated, the extensions untouched ("MUST exclude the optional zero-padding and the ICMP extensions")', () => {
    const fx = new NatFixture(natConfig());
    const out = fx.send(0, udp(H1, 5000, S1, 53, {}, 10));
    only(out, 'wan');
    const original = datagram(out.out[0].bytes);
    const ext = Uint8Array.from([0x20, 0, 0, 0, 0, 8, 1, 1, 0xde, 0xad, 0xbe, 0xef]); // header, one object (class 1, c-type 1, 4 bytes)
    const c = internetChecksum(ext, 0, ext.length);
    ext[2] = c >> 8;
    ext[3] = c & 0xff;
    const body = new Uint8Array(128 + ext.length);
    body.set(original);
    body.set(ext, 128);
    const p = icmpError(R, WAN_ADDR, 11, 0, body);
    icmpOf(p.frame)[5] = 128 / 4; // length of the original datagram field, in 32-bit words
    fixIcmpChecksum(p.frame);
    const r = fx.send(10, p);
    const e = only(r, 'lan');
    expect([e.dst, e.type, flat(e.quoted!)]).toEqual([H1, 11, `${H1}:5000 > ${S1}:53/17`]);
    const m = icmpOf(r.out[0].bytes);
    expect(m[5]).toBe(32);
    expect(Array.from(m.subarray(8 + 128))).toEqual(Array.from(ext));
  });

  it('RFC 5508 REQ-4: an error from outside about a mapping is translated ("Revert the IP and transport headers of the embedded IP packet", type and code unchanged, outer destination the quoted source), every checksum; one about no mapping is silently dropped and creates nothing (replayed by `dataplane replay`)', () => {
    const fx = new NatFixture(natConfig({ ports: ONE_PORT }));
    // About nothing: dropped, no mapping made.
    const stray = fx.send(0, icmpError(S1, WAN_ADDR, 3, 3, datagram(udp(WAN_ADDR, EXT, S1, 53).frame)));
    expect(stray.out).toEqual([]);
    expect(fx.live()).toBe(0);
    // About a UDP flow and an ICMP query session.
    const u = fx.send(SEC, udp(H1, 5000, S1, 53));
    const q = fx.send(2 * SEC, echo(H1, S2, 7));
    for (const [from, type, code, about, quoted] of [
      [S1, 3, 3, u, `${H1}:5000 > ${S1}:53/17`],
      [R, 11, 0, u, `${H1}:5000 > ${S1}:53/17`],
      [R, 3, 1, q, `${H1}:7 > ${S2}:7/1`],
      [R, 12, 0, q, `${H1}:7 > ${S2}:7/1`],
    ] as const) {
      const r = fx.send(3 * SEC, icmpError(from, WAN_ADDR, type, code, datagram(about.out[0].bytes)));
      const e = only(r, 'lan');
      expect([e.src, e.dst, e.type, e.code, flat(e.quoted!)]).toEqual([from, H1, type, code, quoted]);
      expect(r.counters['ct-input/icmp-errors-translated']).toBe(1);
    }
    expect(fx.live()).toBe(4); // the two flows and their bindings: the errors made none
    expectSameOnReplay(fx, mkdtempSync(join(dir, 'req4-')));
  });

  it('RFC 5508 REQ-5: an error from inside about a mapping is translated (quote reverted, type and code unchanged, source the NAT\'s own public address, REQ-5c); one about no mapping is dropped, never sent with the inside address, and creates nothing', () => {
    const fx = new NatFixture(natConfig({ extra: '  dnat:\n    - { inPort: wan, proto: udp, dport: 5353, to: "192.0.2.10" }' }));
    // H1's answer to S1 through its mapping: H1 says port unreachable.
    const x = only(fx.send(0, udp(H1, 5000, S1, 53)), 'wan').sport;
    const inbound = fx.send(10, udp(S1, 53, WAN_ADDR, x));
    only(inbound, 'lan');
    const e1 = only(fx.send(20, icmpError(H1, S1, 3, 3, datagram(inbound.out[0].bytes))), 'wan');
    expect([e1.src, e1.dst, e1.type, e1.code, flat(e1.quoted!)]).toEqual([WAN_ADDR, S1, 3, 3, `${S1}:53 > ${WAN_ADDR}:${x}/17`]);
    // Port forwarding: S2's datagram to wan:5353 reaches H1:5353, whose error goes back as from the NAT.
    const fwd = fx.send(30, udp(S2, 7000, WAN_ADDR, 5353));
    expect(flat(only(fwd, 'lan'))).toBe(`${S2}:7000 > ${H1}:5353/17`);
    const e2 = only(fx.send(40, icmpError(H1, S2, 3, 3, datagram(fwd.out[0].bytes))), 'wan');
    expect([e2.src, e2.dst, flat(e2.quoted!)]).toEqual([WAN_ADDR, S2, `${S2}:7000 > ${WAN_ADDR}:5353/17`]);
    // About nothing the NAT knows: dropped and counted.
    const live = fx.live();
    const stray = fx.send(50, icmpError(H1, S2, 3, 3, datagram(udp(S2, 53, H1, 6000).frame)));
    expect(stray.out).toEqual([]);
    expect(stray.counters['nat-output/untranslatable']).toBe(1);
    expect(fx.live()).toBe(live);
  });

  it('RFC 5508 REQ-6: an error about an ICMP query session neither refreshes nor ends it ("MUST NOT refresh or delete the NAT Session")', () => {
    const fx = new NatFixture(natConfig());
    const q = fx.send(0, echo(H1, S1, 7));
    only(q, 'wan');
    expect(fx.live()).toBe(2);
    const e = only(fx.send(30 * SEC, icmpError(R, WAN_ADDR, 3, 1, datagram(q.out[0].bytes))), 'lan');
    expect(flat(e.quoted!)).toBe(`${H1}:7 > ${S1}:7/1`);
    fx.idle(60 * SEC - 1);
    expect(fx.live()).toBe(2); // not ended by the error
    fx.idle(60 * SEC);
    expect(fx.live()).toBe(1); // not refreshed by it: 60 s after the echo request, the session ends
  });

  it('RFC 5508 REQ-7: a hairpinned ICMP error gets through ("All NAT devices ... MUST support the traversal of hairpinned ICMP Error messages"), its outer destination the quoted source after translation (REQ-7a)', () => {
    const fx = new NatFixture(natConfig());
    const x = only(fx.send(0, udp(H1, 5000, S1, 53)), 'wan').sport;
    const hp = fx.send(10, udp(H2, 6000, WAN_ADDR, x));
    const toH1 = only(hp, 'lan');
    expect([toH1.src, toH1.dst]).toEqual([WAN_ADDR, H1]);
    // H1 refuses it: port unreachable to the sender it saw (the NAT's address).
    const r = fx.send(20, icmpError(H1, WAN_ADDR, 3, 3, datagram(hp.out[0].bytes)));
    const e = only(r, 'lan');
    expect([e.src, e.dst, e.type, e.code, flat(e.quoted!)]).toEqual([WAN_ADDR, H2, 3, 3, `${H2}:6000 > ${WAN_ADDR}:${x}/17`]);
  });

  it('RFC 5508 REQ-8: no room for a new flow: ICMP destination unreachable code 13 to the sender, the packet dropped ("SHOULD send an ICMP destination unreachable message, with a code of 13"), for UDP, TCP and ICMP queries alike', () => {
    // 16 entries (the least the config takes): eight answered UDP flows and their bindings fill it, none evictable.
    const fx = new NatFixture(natConfig({ capacity: 16 }));
    for (let p = 5001; p <= 5008; p++) {
      const x = only(fx.send(p, udp(H1, p, S1, 53)), 'wan').sport;
      only(fx.send(p, udp(S1, 53, WAN_ADDR, x)), 'lan');
    }
    expect(fx.live()).toBe(16);
    for (const [p, quoted] of [
      [udp(H1, 5009, S1, 53), `${H1}:5009 > ${S1}:53/17`],
      [tcp(H1, 5010, S1, 80, TCP_SYN), `${H1}:5010 > ${S1}:80/6`],
      [echo(H1, S1, 9), `${H1}:9 > ${S1}:9/1`],
    ] as const) {
      const r = fx.send(10 * SEC, p);
      const e = only(r, 'lan');
      expect([e.src, e.dst, e.type, e.code, flat(e.quoted!)]).toEqual([LAN_ADDR, H1, 3, 13, quoted]);
      expect(r.counters['nat-output/table-full']).toBe(1);
    }
    expect(fx.live()).toBe(16);
  });

  it('RFC 5508 REQ-8, before it applies: a full table first evicts the oldest flows that never saw an answer (the issue\'s rule), so the new flow gets in', () => {
    const fx = new NatFixture(natConfig({ capacity: 16 }));
    for (let p = 5001; p <= 5006; p++) {
      const x = only(fx.send(p, udp(H1, p, S1, 53)), 'wan').sport;
      only(fx.send(p, udp(S1, 53, WAN_ADDR, x)), 'lan');
    }
    only(fx.send(5007, udp(H1, 5007, S1, 53)), 'wan'); // never answered
    only(fx.send(5008, udp(H1, 5008, S1, 53)), 'wan'); // never answered
    expect(fx.live()).toBe(16);
    // The new binding takes the oldest unanswered flow's place, the new flow the next one's.
    const r = fx.send(10 * SEC, udp(H1, 5009, S1, 53));
    expect(only(r, 'wan').src).toBe(WAN_ADDR);
    expect(r.counters['nat-output/table-full']).toBeUndefined();
    expect(fx.flowStats().evicted).toBe(2);
    expect(fx.state(H1, 5007, S1, 53, 17)).toBeUndefined();
    expect(fx.state(H1, 5008, S1, 53, 17)).toBeUndefined();
    expect(fx.state(H1, 5009, S1, 53, 17)).toBe('UDP_UNREPLIED');
    for (let p = 5001; p <= 5006; p++) expect(fx.state(H1, p, S1, 53, 17)).toBe('UDP_REPLIED');
  });

  it('RFC 5508 REQ-10: the NAT sends and passes the ICMP a router must (RFC 1812 4.3): echo replies from its outside address, port and destination unreachable, time exceeded for traceroute probes both ways (creating nothing), timestamp queries mapped', () => {
    const fx = new NatFixture(natConfig({
      routes: '  - 198.18.1.0/24 unreachable',
      extra: '  dnat:\n    - { inPort: wan, proto: udp, dport: 5353, to: "192.0.2.10" }',
    }));
    const pong = only(fx.send(0, echo(S1, WAN_ADDR, 3)), 'wan');
    expect([pong.src, pong.dst, pong.type, pong.sport]).toEqual([WAN_ADDR, S1, 0, 3]);
    const unreachPort = only(fx.send(10, udp(S1, 1234, WAN_ADDR, 9)), 'wan');
    expect([unreachPort.src, unreachPort.type, unreachPort.code, flat(unreachPort.quoted!)]).toEqual([WAN_ADDR, 3, 3, `${S1}:1234 > ${WAN_ADDR}:9/17`]);
    const unreachNet = only(fx.send(20, udp(S1, 1234, '198.18.1.9', 9)), 'wan');
    expect([unreachNet.src, unreachNet.dst, unreachNet.type, flat(unreachNet.quoted!)]).toEqual([WAN_ADDR, S1, 3, `${S1}:1234 > 198.18.1.9:9/17`]);
    // Traceroute out: time exceeded quotes the probe as the host sent it, and the probe made no mapping.
    const out = only(fx.send(30, udp(H1, 40000, S1, 33434, { ttl: 1 })), 'lan');
    expect([out.src, out.type, out.code, flat(out.quoted!)]).toEqual([LAN_ADDR, 11, 0, `${H1}:40000 > ${S1}:33434/17`]);
    // Traceroute in, to a forwarded port: quoted as it came (to the NAT's address, not the inside host's).
    const inb = only(fx.send(40, udp(S1, 40001, WAN_ADDR, 5353, { ttl: 1 })), 'wan');
    expect([inb.src, inb.dst, inb.type, flat(inb.quoted!)]).toEqual([WAN_ADDR, S1, 11, `${S1}:40001 > ${WAN_ADDR}:5353/17`]);
    expect(fx.live()).toBe(0);
    // Timestamp request and reply: a query, its id mapped.
    const ts = only(fx.send(50, { port: 'lan', frame: icmpQueryFrame({ src: H1, dst: S1 }, 13, 77, 1, 12) }), 'wan');
    expect([ts.src, ts.type]).toEqual([WAN_ADDR, 13]);
    const tsr = only(fx.send(60, { port: 'wan', frame: icmpQueryFrame({ src: S1, dst: WAN_ADDR, dstMac: '02:00:00:00:00:02' }, 14, ts.sport, 1, 12) }), 'lan');
    expect([tsr.dst, tsr.type, tsr.sport]).toEqual([H1, 14, 77]);
  });

  it('RFC 5508 REQ-11: ICMP that is neither query nor error ("A NAT MAY drop ... Non-QueryError ICMP messages") is dropped and counted where it would need translating, never sent with the inside address', () => {
    const fx = new NatFixture(natConfig());
    for (const type of [9, 10, 42]) {
      const p: Packet = { port: 'lan', frame: icmpQueryFrame({ src: H1, dst: S1 }, type, 1, 1) };
      const r = fx.send(type, p);
      expect(r.out, `type ${type}`).toEqual([]);
      expect(r.counters['nat-output/untranslatable'], `type ${type}`).toBe(1);
    }
    expect(fx.live()).toBe(0);
  });
});
