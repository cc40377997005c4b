// RFC 5382 (NAT behavioral requirements for TCP), one test per requirement
// that applies to this NAT; test/nat/README.md lists the others and why. Each
// test is a replay fixture (fixture.ts): frames with the virtual-clock time
// they arrive at, through the real pipeline.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectSameOnReplay, NatFixture } from './fixture.js';
import { datagram, H1, H2, H3, icmpError, natConfig, R, S1, S2, TCP_ACK, TCP_FIN, TCP_SYN, tcp, tcpText, WAN_ADDR } from './net.js';
import { flat, only } from './packets.js';

const dir = mkdtempSync(join(os.tmpdir(), 'nat-5382-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SEC = 1000;
const MIN = 60 * SEC;
const SYN_ACK = TCP_SYN | TCP_ACK;
const FIN_ACK = TCP_FIN | TCP_ACK;

/** H1:5000 opens a connection to `server`:80 (three-way handshake from t); its external port. */
function connect(fx: NatFixture, t: number, server = S1, sport = 5000, host = H1): number {
  const x = only(fx.send(t, tcp(host, sport, server, 80, TCP_SYN)), 'wan').sport;
  only(fx.send(t + 1, tcp(server, 80, WAN_ADDR, x, SYN_ACK)), 'lan');
  only(fx.send(t + 2, tcp(host, sport, server, 80, TCP_ACK)), 'wan');
  return x;
}

describe('RFC 5382: NAT behavioral requirements for TCP', () => {
  it('RFC 5382 REQ-1: endpoint-independent mapping for TCP ("A NAT MUST have an Endpoint-Independent Mapping behavior for TCP")', () => {
    const fx = new NatFixture(natConfig());
    const x = connect(fx, 0, S1);
    const y = only(fx.send(10, tcp(H1, 5000, S2, 80, TCP_SYN)), 'wan');
    expect([y.src, y.sport]).toEqual([WAN_ADDR, x]);
    expect(flat(only(fx.send(11, tcp(S2, 80, WAN_ADDR, x, SYN_ACK)), 'lan'))).toBe(`${S2}:80 > ${H1}:5000/6`);
    const z = only(fx.send(20, tcp(H1, 5000, S2, 443, TCP_SYN)), 'wan');
    expect(z.sport).toBe(x);
  });

  it('RFC 5382 REQ-2: every valid sequence of a connection started inside ("MUST support all valid sequences of TCP packets"): handshake, data both ways, close from both ends', () => {
    const fx = new NatFixture(natConfig());
    const x = connect(fx, 0);
    expect(fx.state(H1, 5000, S1, 80)).toBe('TCP_ESTABLISHED');
    const steps: [string, number, number, string][] = [
      [H1, TCP_ACK | 0x08, 100, 'wan'], // data
      [S1, TCP_ACK | 0x08, 200, 'lan'], // data back
      [H1, FIN_ACK, 0, 'wan'],
      [S1, TCP_ACK, 0, 'lan'],
      [S1, FIN_ACK, 0, 'lan'],
      [H1, TCP_ACK, 0, 'wan'],
    ];
    let t = 10;
    for (const [from, flags, len, port] of steps) {
      const p = from === H1 ? tcp(H1, 5000, S1, 80, flags, {}, len) : tcp(S1, 80, WAN_ADDR, x, flags, {}, len);
      const got = only(fx.send((t += 10), p), port);
      expect(flat(got)).toBe(from === H1 ? `${WAN_ADDR}:${x} > ${S1}:80/6` : `${S1}:80 > ${H1}:5000/6`);
    }
    expect(fx.state(H1, 5000, S1, 80)).toBe('TCP_TIME_WAIT');
  });

  it('RFC 5382 REQ-2a: simultaneous open ("A NAT MUST handle the TCP simultaneous-open mode of connection initiation")', () => {
    const fx = new NatFixture(natConfig({ filtering: 'address-and-port-dependent' }));
    const x = only(fx.send(0, tcp(H1, 5000, S1, 80, TCP_SYN)), 'wan').sport;
    // S1's SYN crosses H1's: both ends answer with SYN-ACK, then ACK.
    expect(flat(only(fx.send(10, tcp(S1, 80, WAN_ADDR, x, TCP_SYN)), 'lan'))).toBe(`${S1}:80 > ${H1}:5000/6`);
    expect(only(fx.send(20, tcp(H1, 5000, S1, 80, SYN_ACK)), 'wan').sport).toBe(x);
    only(fx.send(30, tcp(S1, 80, WAN_ADDR, x, SYN_ACK)), 'lan');
    only(fx.send(40, tcp(H1, 5000, S1, 80, TCP_ACK)), 'wan');
    only(fx.send(50, tcp(S1, 80, WAN_ADDR, x, TCP_ACK)), 'lan');
    expect(fx.state(H1, 5000, S1, 80)).toBe('TCP_ESTABLISHED');
  });

  it('RFC 5382 REQ-2: a connection started outside, where the NAT permits it (port forwarding), opens and closes', () => {
    const fx = new NatFixture(natConfig({ extra: '  dnat:\n    - { inPort: wan, proto: tcp, dport: 8080, to: "192.0.2.10:80" }' }));
    expect(flat(only(fx.send(0, tcp(S1, 7000, WAN_ADDR, 8080, TCP_SYN)), 'lan'))).toBe(`${S1}:7000 > ${H1}:80/6`);
    expect(flat(only(fx.send(10, tcp(H1, 80, S1, 7000, SYN_ACK)), 'wan'))).toBe(`${WAN_ADDR}:8080 > ${S1}:7000/6`);
    only(fx.send(20, tcp(S1, 7000, WAN_ADDR, 8080, TCP_ACK)), 'lan');
    expect(fx.state(S1, 7000, WAN_ADDR, 8080)).toBe('TCP_ESTABLISHED');
    only(fx.send(30, tcp(S1, 7000, WAN_ADDR, 8080, FIN_ACK)), 'lan');
    only(fx.send(40, tcp(H1, 80, S1, 7000, FIN_ACK)), 'wan');
    only(fx.send(50, tcp(S1, 7000, WAN_ADDR, 8080, TCP_ACK)), 'lan');
    expect(fx.state(S1, 7000, WAN_ADDR, 8080)).toBe('TCP_TIME_WAIT');
  });

  const filtering = [
    { setting: 'endpoint-independent', passes: ['S1:81', 'S2:80'] },
    { setting: 'address-dependent', passes: ['S1:81'] },
    { setting: 'address-and-port-dependent', passes: [] },
  ] as const;
  for (const { setting, passes } of filtering) {
    it(`RFC 5382 REQ-3: ${setting} filtering for TCP ("RECOMMENDED ... Endpoint-Independent Filtering ... or Address-Dependent Filtering", REQ-3a: configurable): a SYN to H1's mapping from ${passes.length === 0 ? 'no other endpoint' : passes.join(', ')} gets in (replayed by \`dataplane replay\`)`, () => {
      const fx = new NatFixture(natConfig({ ports: '40000-40000', filtering: setting }));
      const x = connect(fx, 0);
      let t = SEC;
      for (const [name, p] of [['S1:81', tcp(S1, 81, WAN_ADDR, x, TCP_SYN)], ['S2:80', tcp(S2, 80, WAN_ADDR, x, TCP_SYN)]] as const) {
        const r = fx.send((t += SEC), p);
        if ((passes as readonly string[]).includes(name)) {
          expect(only(r, 'lan').dst, name).toBe(H1);
        } else {
          expect(r.out, name).toEqual([]);
          expect(r.counters['ct-input/filtered'], name).toBe(1);
        }
      }
      expectSameOnReplay(fx, mkdtempSync(join(dir, `req3-${setting}-`)));
    });
  }

  it('RFC 5382 REQ-4: an unsolicited SYN to a mapping the filtering closes is not answered for 6 s ("MUST NOT respond ... for at least 6 seconds"); the host\'s own SYN to that peer meanwhile opens the connection (the first SYN silently dropped, REQ-4a)', () => {
    const fx = new NatFixture(natConfig({ filtering: 'address-and-port-dependent' }));
    const x = connect(fx, 0);
    const unsolicited = fx.send(1 * SEC, tcp(S2, 443, WAN_ADDR, x, TCP_SYN));
    expect(unsolicited.out).toEqual([]);
    expect(unsolicited.counters['ct-input/filtered']).toBe(1);
    expect(fx.idle(2 * SEC).out).toEqual([]);
    // H1 connects to S2:443 (TCP hole punching): same mapping, and S2's next SYN gets in.
    expect(only(fx.send(3 * SEC, tcp(H1, 5000, S2, 443, TCP_SYN)), 'wan').sport).toBe(x);
    expect(flat(only(fx.send(4 * SEC, tcp(S2, 443, WAN_ADDR, x, TCP_SYN)), 'lan'))).toBe(`${S2}:443 > ${H1}:5000/6`);
    for (let t = 5; t <= 8; t++) expect(fx.idle(t * SEC).out).toEqual([]);
  });

  it('RFC 5382 REQ-4: an unsolicited SYN to the NAT address at a port no mapping holds is not answered for 6 s ("MUST NOT respond to an unsolicited inbound SYN packet for at least 6 seconds"; REQ-4a: dropped, counted)', () => {
    const fx = new NatFixture(natConfig());
    const r = fx.send(0, tcp(S1, 5555, WAN_ADDR, 40000, TCP_SYN));
    expect(r.out).toEqual([]);
    expect(r.counters['ct-input/unsolicited-syn']).toBe(1);
    for (let t = 1; t <= 6; t++) expect(fx.idle(t * SEC).out).toEqual([]);
    // From inside, a SYN to the same address is answered as by a host with no open port: a reset.
    const inside = fx.send(7 * SEC, tcp(H1, 5001, WAN_ADDR, 40000, TCP_SYN));
    expect(inside.counters['ct-input/unsolicited-syn']).toBeUndefined();
    expect(inside.counters['ip4-local/tcp-resets-sent']).toBe(1);
  });

  it('RFC 5382 REQ-5: established connections idle for at least 2 hours 4 minutes, transitory ones (opening, closing) for at least 4 minutes ("MUST NOT be less than")', () => {
    const config = natConfig({ filtering: 'address-and-port-dependent' });
    // Established: quiet for 124 min less a millisecond, then data from S1 still gets in.
    const est = new NatFixture(config);
    const x = connect(est, 0);
    const last = 2;
    expect(only(est.send(last + 124 * MIN - 1, tcp(S1, 80, WAN_ADDR, x, TCP_ACK, {}, 10)), 'lan').dst).toBe(H1);
    const live = est.live();
    est.idle(last + 124 * MIN - 1 + 124 * MIN);
    expect(est.live()).toBe(live - 1); // now it ends (its binding waits 30 s)
    // Opening: H1's SYN waits almost 4 minutes for the answer.
    const open = new NatFixture(config);
    const y = only(open.send(0, tcp(H1, 5000, S1, 80, TCP_SYN)), 'wan').sport;
    expect(only(open.send(4 * MIN - 1, tcp(S1, 80, WAN_ADDR, y, SYN_ACK)), 'lan').dst).toBe(H1);
    expect(open.state(H1, 5000, S1, 80)).toBe('TCP_SYN_RECV');
    // Closing: after H1's FIN the other end has almost 4 minutes to answer.
    only(open.send(4 * MIN, tcp(H1, 5000, S1, 80, TCP_ACK)), 'wan');
    only(open.send(4 * MIN + 1, tcp(H1, 5000, S1, 80, FIN_ACK)), 'wan');
    expect(open.state(H1, 5000, S1, 80)).toBe('TCP_FIN_WAIT');
    expect(only(open.send(8 * MIN, tcp(S1, 80, WAN_ADDR, y, FIN_ACK)), 'lan').dst).toBe(H1);
  });

  it('RFC 5382 REQ-5, profile cloud-nat: established TCP idles out after 1200 s, transitory after 30 s (Cloud NAT\'s defaults)', () => {
    const config = natConfig({ profile: 'cloud-nat', filtering: 'address-and-port-dependent' });
    const est = new NatFixture(config);
    const x = connect(est, 0);
    expect(only(est.send(2 + 1200 * SEC - 1, tcp(S1, 80, WAN_ADDR, x, TCP_ACK)), 'lan').dst).toBe(H1);
    const r = est.send(2 + 1200 * SEC - 1 + 1200 * SEC, tcp(S1, 80, WAN_ADDR, x, TCP_ACK));
    expect(r.out).toEqual([]);
    expect(r.counters['ct-input/filtered']).toBe(1);
    const open = new NatFixture(config);
    const y = only(open.send(0, tcp(H1, 5000, S1, 80, TCP_SYN)), 'wan').sport;
    const late = open.send(30 * SEC, tcp(S1, 80, WAN_ADDR, y, SYN_ACK));
    expect(late.out).toEqual([]);
    expect(late.counters['ct-input/filtered']).toBe(1);
  });

  it('RFC 5382 REQ-6: no ALG ("If a NAT includes ALGs that affect TCP, it is RECOMMENDED that all of those ALGs (except for FTP) be disabled"): an FTP PORT command naming the inside address leaves as it came', () => {
    const fx = new NatFixture(natConfig());
    const x = connect(fx, 0, S1, 5000);
    void x;
    const text = 'PORT 192,0,2,10,19,137\r\n';
    const r = fx.send(10, tcpText(H1, 5000, S1, 80, TCP_ACK | 0x08, text));
    only(r, 'wan');
    expect(new TextDecoder().decode(r.out[0].bytes.subarray(14 + 20 + 20))).toBe(text);
  });

  it('RFC 5382 REQ-7: no port overloading for TCP ("A NAT MUST NOT have a Port assignment behavior of Port overloading for TCP")', () => {
    const fx = new NatFixture(natConfig({ ports: '40000-40001' }));
    const a = only(fx.send(0, tcp(H1, 5000, S1, 80, TCP_SYN)), 'wan').sport;
    const b = only(fx.send(10, tcp(H2, 5000, S1, 80, TCP_SYN)), 'wan').sport;
    expect([a, b].sort()).toEqual([40000, 40001]);
    const c = fx.send(20, tcp(H3, 5000, S1, 80, TCP_SYN));
    expect(c.out).toEqual([]);
    expect(c.counters['nat-output/out-of-ports']).toBe(1);
    expect(flat(only(fx.send(30, tcp(S1, 80, WAN_ADDR, a, SYN_ACK)), 'lan'))).toBe(`${S1}:80 > ${H1}:5000/6`);
    expect(flat(only(fx.send(40, tcp(S1, 80, WAN_ADDR, b, SYN_ACK)), 'lan'))).toBe(`${S1}:80 > ${H2}:5000/6`);
  });

  it('RFC 5382 REQ-8: hairpinning for TCP ("A NAT MUST support hairpinning for TCP"; REQ-8a: "External source IP address and port")', () => {
    const fx = new NatFixture(natConfig());
    const x = connect(fx, 0);
    const syn = only(fx.send(10, tcp(H2, 6000, WAN_ADDR, x, TCP_SYN)), 'lan');
    expect([syn.src, syn.dst, syn.dport]).toEqual([WAN_ADDR, H1, 5000]);
    const y = syn.sport;
    expect(y).not.toBe(x);
    expect(flat(only(fx.send(20, tcp(H1, 5000, WAN_ADDR, y, SYN_ACK)), 'lan'))).toBe(`${WAN_ADDR}:${x} > ${H2}:6000/6`);
    expect(flat(only(fx.send(30, tcp(H2, 6000, WAN_ADDR, x, TCP_ACK)), 'lan'))).toBe(`${WAN_ADDR}:${y} > ${H1}:5000/6`);
    expect(fx.state(H2, 6000, WAN_ADDR, x)).toBe('TCP_ESTABLISHED');
  });

  it('RFC 5382 REQ-9: ICMP destination unreachable about a TCP connection is translated ("it SHOULD translate ICMP Destination Unreachable (Type 3) messages"), the quoted segment and every checksum', () => {
    const fx = new NatFixture(natConfig());
    const syn = fx.send(0, tcp(H1, 5000, S1, 80, TCP_SYN));
    only(syn, 'wan');
    for (const [from, code] of [[R, 1], [S1, 3], [R, 4], [R, 13]] as const) {
      const r = fx.send(10, icmpError(from, WAN_ADDR, 3, code, datagram(syn.out[0].bytes)));
      const e = only(r, 'lan');
      expect([e.src, e.dst, e.type, e.code]).toEqual([from, H1, 3, code]);
      expect(flat(e.quoted!)).toBe(`${H1}:5000 > ${S1}:80/6`);
      expect(r.counters['ct-input/icmp-errors-translated']).toBe(1);
    }
  });

  it('RFC 5382 REQ-10: ICMP does not end the mapping or the connection ("Receipt of any sort of ICMP message MUST NOT terminate the NAT mapping or TCP connection")', () => {
    const fx = new NatFixture(natConfig({ filtering: 'address-and-port-dependent' }));
    const x = connect(fx, 0);
    const data = fx.send(10, tcp(H1, 5000, S1, 80, TCP_ACK, {}, 100));
    const live = fx.live();
    for (const [from, type, code] of [[S1, 3, 3], [R, 3, 1], [R, 11, 0], [R, 12, 0]] as const) {
      only(fx.send(20, icmpError(from, WAN_ADDR, type, code, datagram(data.out[0].bytes))), 'lan');
    }
    expect(fx.live()).toBe(live);
    expect(fx.state(H1, 5000, S1, 80)).toBe('TCP_ESTABLISHED');
    // A minute later (a connection closed by the ICMP would be gone: CLOSE lasts 10 s) it carries data both ways.
    expect(only(fx.send(MIN, tcp(S1, 80, WAN_ADDR, x, TCP_ACK, {}, 10)), 'lan').dst).toBe(H1);
    expect(only(fx.send(MIN + 1, tcp(H1, 5000, S1, 80, TCP_ACK, {}, 10)), 'wan').sport).toBe(x);
  });
});
