// RFC 4787 (NAT behavioral requirements for unicast UDP), one test per
// requirement that applies to this NAT; test/nat/README.md lists the others
// and why. Each test is a replay fixture (fixture.ts): frames with the
// virtual-clock time they arrive at, through the real pipeline; the key ones
// are also replayed from a pcapng by `dataplane replay` and must give the
// same frames and counters.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectSameOnReplay, NatFixture } from './fixture.js';
import { datagram, fragments, H1, H2, H3, icmpError, LAN_ADDR, natConfig, POOL, R, S1, S2, udp, udpText, WAN_ADDR, WAN_MTU } from './net.js';
import { flat, only, reassemble, tupleOf } from './packets.js';

const dir = mkdtempSync(join(os.tmpdir(), 'nat-4787-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const replayDir = (name: string) => mkdtempSync(join(dir, `${name}-`));

/** One external port per protocol: every binding's port is known, so a capture of the script replays the same. */
const ONE_PORT = '40000-40000';
const EXT = 40000;
const SEC = 1000;

describe('RFC 4787: NAT behavioral requirements for unicast UDP', () => {
  it('RFC 4787 REQ-1: endpoint-independent mapping ("A NAT MUST have an Endpoint-Independent Mapping behavior"): one internal endpoint, one external endpoint for every destination', () => {
    const fx = new NatFixture(natConfig());
    const a = only(fx.send(0, udp(H1, 5000, S1, 53)), 'wan');
    const b = only(fx.send(10, udp(H1, 5000, S2, 53)), 'wan');
    const c = only(fx.send(20, udp(H1, 5000, S1, 5353)), 'wan');
    expect(a.src).toBe(WAN_ADDR);
    expect([b.src, b.sport]).toEqual([a.src, a.sport]);
    expect([c.src, c.sport]).toEqual([a.src, a.sport]);
    // A second internal endpoint of the same host is another mapping.
    const d = only(fx.send(30, udp(H1, 5001, S1, 53)), 'wan');
    expect(d.sport).not.toBe(a.sport);
    // Each destination's answer comes back through the one mapping.
    expect(flat(only(fx.send(40, udp(S2, 53, WAN_ADDR, a.sport)), 'lan'))).toBe(`${S2}:53 > ${H1}:5000/17`);
    expect(flat(only(fx.send(50, udp(S1, 5353, WAN_ADDR, a.sport)), 'lan'))).toBe(`${S1}:5353 > ${H1}:5000/17`);
  });

  it('RFC 4787 REQ-1, replayed by `dataplane replay`: with one external port, a second destination reuses it (an endpoint-dependent NAT would need another)', () => {
    const fx = new NatFixture(natConfig({ ports: ONE_PORT }));
    expect(flat(only(fx.send(0, udp(H1, 5000, S1, 53)), 'wan'))).toBe(`${WAN_ADDR}:${EXT} > ${S1}:53/17`);
    expect(flat(only(fx.send(1 * SEC, udp(H1, 5000, S2, 53)), 'wan'))).toBe(`${WAN_ADDR}:${EXT} > ${S2}:53/17`);
    expect(flat(only(fx.send(2 * SEC, udp(S2, 53, WAN_ADDR, EXT)), 'lan'))).toBe(`${S2}:53 > ${H1}:5000/17`);
    expect(flat(only(fx.send(3 * SEC, udp(S1, 53, WAN_ADDR, EXT)), 'lan'))).toBe(`${S1}:53 > ${H1}:5000/17`);
    // Another internal endpoint needs a port of its own: there is none, so it is dropped, not overloaded onto 40000.
    const other = fx.send(4 * SEC, udp(H2, 5000, S1, 53));
    expect(other.out).toEqual([]);
    expect(other.counters['nat-output/out-of-ports']).toBe(1);
    const r = expectSameOnReplay(fx, replayDir('req1'));
    expect(r.summary.framesOut).toBe(4);
  });

  it('RFC 4787 REQ-2: paired IP address pooling ("RECOMMENDED ... Paired"): each host keeps one address of a 2-address SNAT pool, whatever it sends', () => {
    const fx = new NatFixture(natConfig({ snatTo: `${POOL[0]}-${POOL[1]}` }));
    const byHost = new Map<string, Set<string>>();
    let t = 0;
    for (let h = 10; h < 18; h++) {
      const host = `192.0.2.${h}`;
      const seen = new Set<string>();
      for (const p of [udp(host, 5000, S1, 53), udp(host, 5001, S2, 53), udp(host, 6000, S2, 123)]) seen.add(only(fx.send((t += 10), p), 'wan').src);
      byHost.set(host, seen);
    }
    for (const [host, seen] of byHost) expect([...seen], host).toHaveLength(1);
    const used = new Set([...byHost.values()].flatMap((s) => [...s]));
    expect([...used].sort()).toEqual(POOL);
  });

  it('RFC 4787 REQ-3: no port overloading ("A NAT MUST NOT have a Port assignment behavior of Port overloading"): two hosts with the same port get different external ports; with the range used up the next host is dropped, never given a port in use', () => {
    const fx = new NatFixture(natConfig({ ports: '40000-40001' }));
    const a = only(fx.send(0, udp(H1, 5000, S1, 53)), 'wan');
    const b = only(fx.send(10, udp(H2, 5000, S1, 53)), 'wan');
    expect(a.src).toBe(b.src);
    expect([a.sport, b.sport].sort()).toEqual([40000, 40001]);
    const c = fx.send(20, udp(H3, 5000, S1, 53));
    expect(c.out).toEqual([]);
    expect(c.counters['nat-output/out-of-ports']).toBe(1);
    // Each answer reaches its own host.
    expect(flat(only(fx.send(30, udp(S1, 53, WAN_ADDR, a.sport)), 'lan'))).toBe(`${S1}:53 > ${H1}:5000/17`);
    expect(flat(only(fx.send(40, udp(S1, 53, WAN_ADDR, b.sport)), 'lan'))).toBe(`${S1}:53 > ${H2}:5000/17`);
  });

  it('RFC 4787 REQ-5: the UDP mapping timer does not expire in less than two minutes ("MUST NOT expire in less than two minutes"); it does expire, and the sweep ends it (replayed by `dataplane replay`)', () => {
    // Capacity 64: the sweep looks at 256 records per batch, so each batch walks the whole table.
    const fx = new NatFixture(natConfig({ ports: ONE_PORT, capacity: 64 }));
    only(fx.send(0, udp(H1, 5000, S1, 53)), 'wan');
    expect(fx.live()).toBe(2); // the flow and its binding
    // 119 s without a packet: the mapping is there.
    expect(flat(only(fx.send(119 * SEC, udp(S1, 53, WAN_ADDR, EXT)), 'lan'))).toBe(`${S1}:53 > ${H1}:5000/17`);
    // 2 min after that answer the flow ends; its binding stays 30 s more (profile rfc), then goes.
    fx.idle(119 * SEC + 120 * SEC - 1);
    expect(fx.live()).toBe(2);
    fx.idle(119 * SEC + 120 * SEC);
    expect(fx.live()).toBe(1);
    fx.idle(119 * SEC + 150 * SEC - 1);
    expect(fx.live()).toBe(1);
    fx.idle(119 * SEC + 150 * SEC);
    expect(fx.live()).toBe(0);
    // The mapping is gone: the answer is the router's own (it has no service at port 40000).
    const late = fx.send(119 * SEC + 151 * SEC, udp(S1, 53, WAN_ADDR, EXT));
    const t = only(late, 'wan');
    expect([t.src, t.dst, t.type, t.code]).toEqual([WAN_ADDR, S1, 3, 3]);
    expect(late.counters['ip4-local/port-unreachable']).toBe(1);
    expectSameOnReplay(fx, replayDir('req5'));
  });

  it('RFC 4787 REQ-5, profile cloud-nat: UDP flows last 30 s idle (Cloud NAT\'s default, shorter than REQ-5 on purpose: the rfc profile is the default)', () => {
    const fx = new NatFixture(natConfig({ profile: 'cloud-nat', filtering: 'address-and-port-dependent' }));
    const a = only(fx.send(0, udp(H1, 5000, S1, 53)), 'wan');
    // The flow, its binding and the endpoint's count of bindings (cloud-nat's minimum of ports per endpoint).
    fx.idle(30 * SEC - 1);
    expect(fx.live()).toBe(3);
    fx.idle(30 * SEC);
    expect(fx.live()).toBe(2);
    // Address-and-port-dependent filtering needs the flow itself: the answer is now unsolicited.
    const late = fx.send(31 * SEC, udp(S1, 53, WAN_ADDR, a.sport));
    expect(late.out).toEqual([]);
    expect(late.counters['ct-input/filtered']).toBe(1);
  });

  it('RFC 4787 REQ-6: outbound packets refresh the mapping ("MUST have a NAT Outbound refresh behavior of True"); inbound ones do too (REQ-6a: MAY)', () => {
    // Address-and-port-dependent filtering: an answer passes only while the flow lives.
    const config = natConfig({ filtering: 'address-and-port-dependent' });
    const refreshed = new NatFixture(config);
    const a = only(refreshed.send(0, udp(H1, 5000, S1, 53)), 'wan');
    expect(only(refreshed.send(100 * SEC, udp(H1, 5000, S1, 53)), 'wan').sport).toBe(a.sport);
    expect(flat(only(refreshed.send(219 * SEC, udp(S1, 53, WAN_ADDR, a.sport)), 'lan'))).toBe(`${S1}:53 > ${H1}:5000/17`);
    // Inbound refresh: the answer at 219 s keeps it to 339 s.
    expect(flat(only(refreshed.send(338 * SEC, udp(S1, 53, WAN_ADDR, a.sport)), 'lan'))).toBe(`${S1}:53 > ${H1}:5000/17`);
    // The same without the refresh at 100 s: at 219 s the flow is gone.
    const stale = new NatFixture(config);
    const b = only(stale.send(0, udp(H1, 5000, S1, 53)), 'wan');
    const late = stale.send(219 * SEC, udp(S1, 53, WAN_ADDR, b.sport));
    expect(late.out).toEqual([]);
    expect(late.counters['ct-input/filtered']).toBe(1);
  });

  // REQ-8, each setting: H1 talks to S1:53; then S1:53, S1 from another port, and S2 send to its mapping.
  const filtering = [
    { setting: 'endpoint-independent', passes: ['S1:53', 'S1:5353', 'S2:53'] },
    { setting: 'address-dependent', passes: ['S1:53', 'S1:5353'] },
    { setting: 'address-and-port-dependent', passes: ['S1:53'] },
  ] as const;
  for (const { setting, passes } of filtering) {
    it(`RFC 4787 REQ-8: ${setting} filtering ("RECOMMENDED ... Endpoint-Independent Filtering ... or Address-Dependent Filtering", REQ-8a: configurable): only ${passes.join(', ')} reach the mapping (replayed by \`dataplane replay\`)`, () => {
      const fx = new NatFixture(natConfig({ ports: ONE_PORT, filtering: setting }));
      only(fx.send(0, udp(H1, 5000, S1, 53)), 'wan');
      const senders = { 'S1:53': udp(S1, 53, WAN_ADDR, EXT), 'S1:5353': udp(S1, 5353, WAN_ADDR, EXT), 'S2:53': udp(S2, 53, WAN_ADDR, EXT) };
      let t = 0;
      for (const [name, p] of Object.entries(senders)) {
        const r = fx.send((t += SEC), p);
        if ((passes as readonly string[]).includes(name)) {
          expect(tupleOf(p.frame).src).toBe(only(r, 'lan').src);
          expect(only(r, 'lan').dst).toBe(H1);
        } else {
          // Dropped silently: nothing sent back, the drop counted.
          expect(r.out, name).toEqual([]);
          expect(r.counters['ct-input/filtered'], name).toBe(1);
        }
      }
      expectSameOnReplay(fx, replayDir(`req8-${setting}`));
    });
  }

  it('RFC 4787 REQ-9: hairpinning ("A NAT MUST support Hairpinning"; REQ-9a: "External source IP address and port"): hosts reach each other through their mappings and see each other\'s external endpoints', () => {
    const fx = new NatFixture(natConfig());
    const x = only(fx.send(0, udp(H1, 5000, S1, 53)), 'wan').sport;
    // H2 sends to H1's external endpoint: H1 gets it from H2's external endpoint, not from 192.0.2.11.
    const toH1 = only(fx.send(10, udp(H2, 6000, WAN_ADDR, x)), 'lan');
    expect([toH1.src, toH1.dst, toH1.dport]).toEqual([WAN_ADDR, H1, 5000]);
    const y = toH1.sport;
    expect(y).not.toBe(x);
    // H1 answers to what it saw; H2 gets it from H1's external endpoint.
    expect(flat(only(fx.send(20, udp(H1, 5000, WAN_ADDR, y)), 'lan'))).toBe(`${WAN_ADDR}:${x} > ${H2}:6000/17`);
    // y is H2's mapping (endpoint-independent): its traffic out uses it too.
    expect(only(fx.send(30, udp(H2, 6000, S1, 53)), 'wan').sport).toBe(y);
  });

  it('RFC 4787 REQ-10: no ALG ("NAT ALGs for UDP-based protocols SHOULD be turned off"): a payload naming the inside address leaves as it came', () => {
    const fx = new NatFixture(natConfig());
    const text = `INVITE sip:${S1} SIP/2.0\r\nContact: <sip:h1@${H1}:5060>\r\n`;
    const p = udpText(H1, 5060, S1, 5060, text);
    const r = fx.send(0, p);
    only(r, 'wan');
    const payload = r.out[0].bytes.subarray(14 + 20 + 8);
    expect(new TextDecoder().decode(payload)).toBe(text);
  });

  it('RFC 4787 REQ-11: deterministic behavior ("MUST NOT change the NAT translation or the Filtering Behavior at any point in time, or under any particular conditions"): with every port in use, mapping and filtering stay as they were', () => {
    const fx = new NatFixture(natConfig({ ports: '40000-40001', filtering: 'address-dependent' }));
    const x = only(fx.send(0, udp(H1, 5000, S1, 53)), 'wan').sport;
    only(fx.send(10, udp(H2, 5000, S1, 53)), 'wan');
    // No port left: a third host is dropped...
    expect(fx.send(20, udp(H3, 5000, S1, 53)).counters['nat-output/out-of-ports']).toBe(1);
    // ...while H1 keeps its mapping for new destinations (no switch to another mapping behaviour under pressure)...
    expect(only(fx.send(30, udp(H1, 5000, S2, 53)), 'wan').sport).toBe(x);
    // ...and the filtering is still address-dependent: S1 and S2 may reach x, R may not.
    expect(only(fx.send(40, udp(S2, 9999, WAN_ADDR, x)), 'lan').dst).toBe(H1);
    const r = fx.send(50, udp(R, 53, WAN_ADDR, x));
    expect(r.out).toEqual([]);
    expect(r.counters['ct-input/filtered']).toBe(1);
  });

  it('RFC 4787 REQ-12: ICMP does not end the mapping ("Receipt of any sort of ICMP message MUST NOT terminate the NAT mapping"), is not filtered by its source (REQ-12a), and destination unreachable is translated (REQ-12b)', () => {
    const fx = new NatFixture(natConfig({ filtering: 'address-and-port-dependent' }));
    const out = fx.send(0, udp(H1, 5000, S1, 53));
    const x = only(out, 'wan').sport;
    const live = fx.live();
    // Port unreachable from S1, time exceeded from R (an address the filtering would not let in).
    for (const [from, type, code] of [[S1, 3, 3], [R, 11, 0], [R, 3, 1]] as const) {
      const e = only(fx.send(SEC, icmpError(from, WAN_ADDR, type, code, datagram(out.out[0].bytes))), 'lan');
      expect([e.src, e.dst, e.type, e.code]).toEqual([from, H1, type, code]);
      expect(flat(e.quoted!)).toBe(`${H1}:5000 > ${S1}:53/17`);
    }
    expect(fx.live()).toBe(live);
    expect(flat(only(fx.send(2 * SEC, udp(S1, 53, WAN_ADDR, x)), 'lan'))).toBe(`${S1}:53 > ${H1}:5000/17`);
    expect(only(fx.send(3 * SEC, udp(H1, 5000, S1, 53)), 'wan').sport).toBe(x);
  });

  it('RFC 4787 REQ-13: DF=1 and too big: ICMP "fragmentation needed and DF set" to the host ("MUST send back"), quoting the datagram as the host sent it', () => {
    const fx = new NatFixture(natConfig());
    const r = fx.send(0, udp(H1, 5000, S1, 53, { df: true }, WAN_MTU - 20 - 8 + 1));
    const e = only(r, 'lan');
    expect([e.src, e.dst, e.type, e.code]).toEqual([LAN_ADDR, H1, 3, 4]);
    expect(flat(e.quoted!)).toBe(`${H1}:5000 > ${S1}:53/17`);
    expect(r.out[0].bytes[14 + 20 + 6] * 256 + r.out[0].bytes[14 + 20 + 7]).toBe(WAN_MTU);
  });

  it('RFC 4787 REQ-13a: DF=0 and too big: fragmented ("MUST fragment the packet and SHOULD send the fragments in order"), every fragment translated', () => {
    const fx = new NatFixture(natConfig());
    const r = fx.send(0, udp(H1, 5000, S1, 53, {}, 1472));
    expect(r.out.map((o) => o.port)).toEqual(['wan', 'wan']);
    const frags = r.out.map((o) => tupleOf(o.bytes));
    expect(frags.map((f) => [f.src, f.dst, f.fragOffset > 0, f.mf, f.checksumsOk])).toEqual([
      [WAN_ADDR, S1, false, true, true],
      [WAN_ADDR, S1, true, false, true],
    ]);
    const whole = tupleOf(reassemble(r.out.map((o) => o.bytes)));
    expect(whole.checksumsOk).toBe(true);
    expect([whole.src, whole.dport]).toEqual([WAN_ADDR, 53]);
    expect(whole.sport).toBe(frags[0].sport);
  });

  it('RFC 4787 REQ-14: fragments in order ("MUST support receiving in-order and out-of-order fragments"): a later fragment follows its first, both ways', () => {
    const fx = new NatFixture(natConfig());
    const [first, later] = fragments(udp(H1, 5000, S1, 53, { id: 0x4242 }, 200), 64);
    const a = only(fx.send(0, first), 'wan');
    const b = fx.send(1, later);
    const bt = only(b, 'wan');
    expect(b.counters['ct-input/fragments-followed']).toBe(1);
    expect([a.src, bt.src, bt.dst, bt.id, bt.fragOffset]).toEqual([WAN_ADDR, WAN_ADDR, S1, 0x4242, 64]);
    const out = tupleOf(reassemble([fx.emitted[0].bytes, fx.emitted[1].bytes]));
    expect(out.checksumsOk).toBe(true);
    // The answer, fragmented too, goes back to H1.
    const [rFirst, rLater] = fragments(udp(S1, 53, WAN_ADDR, a.sport, { id: 0x4343 }, 300), 128);
    const c = only(fx.send(2, rFirst), 'lan');
    const d = only(fx.send(3, rLater), 'lan');
    expect([c.dst, c.dport, d.dst, d.fragOffset]).toEqual([H1, 5000, H1, 128]);
    expect(tupleOf(reassemble([fx.emitted[2].bytes, fx.emitted[3].bytes])).checksumsOk).toBe(true);
  });

  it('RFC 4787 REQ-14: fragments out of order: a later fragment before its first is held (REQ-14a: a bounded buffer), then leaves translated, never with the inside address', () => {
    const fx = new NatFixture(natConfig());
    const [first, later] = fragments(udp(H1, 5000, S1, 53, { id: 0x4444 }, 200), 64);
    const early = fx.send(0, later);
    expect(early.out).toEqual([]);
    expect(early.counters['ct-input/fragments-held']).toBe(1);
    fx.send(1, first);
    // The held fragment goes on before the next batch, once its first has left the fragment entry.
    fx.idle(2);
    const sent = fx.emitted.filter((e) => e.port === 'wan').map((e) => tupleOf(e.bytes));
    expect(sent.map((t) => [t.src, t.fragOffset])).toEqual(expect.arrayContaining([[WAN_ADDR, 0], [WAN_ADDR, 64]]));
    expect(sent).toHaveLength(2);
  });

  it('a replayed capture that ends just after the first fragment still sends the fragment held for it, translated, no earlier in time than that first fragment', () => {
    const fx = new NatFixture(natConfig({ ports: '40000-40000' }));
    const [first, later] = fragments(udp(H1, 5000, S1, 53, { id: 0x4545 }, 200), 64);
    fx.send(0, later);
    fx.send(1, first);
    for (const fillers of [true, false]) {
      const r = fx.replay('pcapng', fillers);
      const sent = r.out.filter((e) => e.port === 'wan');
      expect(sent.map((e) => { const t = tupleOf(e.bytes); return [t.src, t.fragOffset]; }), `fillers ${fillers}`).toEqual([[WAN_ADDR, 0], [WAN_ADDR, 64]]);
      expect(sent[1].at, `fillers ${fillers}`).toBeGreaterThanOrEqual(sent[0].at);
      expect(r.counters['ct-input/fragments-followed']).toBe(1);
    }
  });
});
