// RFC 4787 (NAT behavioral requirements for unicast UDP): the requirements
// this NAT meets, on natConfig() (network.ts). test/nat/rfc4787-udp.test.ts
// tests them in more detail (and by `dataplane replay`); test/nat/README.md
// lists the ones that do not apply, and why.
import { datagram, fragments } from './frames.js';
import { H1, H2, H3, icmpError, LAN_ADDR, natConfig, POOL, R, S1, S2, SEC, udp, udpText, WAN_ADDR, WAN_MTU, type Filtering } from './network.js';
import { flat, reassemble, tupleOf } from './packet.js';
import { check, checkEqual, dropped, only, type Session, type StepResult } from './session.js';
import type { Requirement } from './requirement.js';

/** One external port: every binding's port is known. */
const EXT = 40000;

function flow(r: StepResult, port: string): string {
  return flat(only(r, port));
}

/** H1:5000 talks to S1:53, then S1:53, S1:5353 and S2:53 send to its mapping; only `passes` may reach H1. */
function filteringCase(s: Session, passes: readonly string[]): void {
  only(s.send(0, udp(H1, 5000, S1, 53)), 'wan');
  const senders = [['S1:53', udp(S1, 53, WAN_ADDR, EXT)], ['S1:5353', udp(S1, 5353, WAN_ADDR, EXT)], ['S2:53', udp(S2, 53, WAN_ADDR, EXT)]] as const;
  let t = 0;
  for (const [name, p] of senders) {
    const r = s.send((t += SEC), p);
    if (passes.includes(name)) checkEqual(only(r, 'lan').dst, H1, `where ${name}'s datagram went`);
    else dropped(r, 'ct-input/filtered');
  }
}

const FILTERING: { setting: Filtering; passes: string[]; text: string }[] = [
  { setting: 'endpoint-independent', passes: ['S1:53', 'S1:5353', 'S2:53'], text: 'endpoint-independent filtering (REQ-8a: configurable): any endpoint may reach a mapping' },
  { setting: 'address-dependent', passes: ['S1:53', 'S1:5353'], text: 'address-dependent filtering (REQ-8a: configurable): only the addresses the host sent to' },
  { setting: 'address-and-port-dependent', passes: ['S1:53'], text: 'address-and-port-dependent filtering (REQ-8a: configurable): only the endpoints the host sent to' },
];

export const RFC4787: Requirement[] = [
  {
    rfc: 4787,
    id: 'REQ-1',
    text: 'endpoint-independent mapping: one internal endpoint keeps one external endpoint whatever the destination',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const a = only(s.send(0, udp(H1, 5000, S1, 53)), 'wan');
      const b = only(s.send(10, udp(H1, 5000, S2, 53)), 'wan');
      const c = only(s.send(20, udp(H1, 5000, S1, 5353)), 'wan');
      checkEqual(a.src, WAN_ADDR, 'source address out');
      checkEqual([b.src, b.sport, c.src, c.sport], [a.src, a.sport, a.src, a.sport], 'external endpoints toward S2:53 and S1:5353');
      check(only(s.send(30, udp(H1, 5001, S1, 53)), 'wan').sport !== a.sport, 'another internal port got the same external port');
      checkEqual(flow(s.send(40, udp(S2, 53, WAN_ADDR, a.sport)), 'lan'), `${S2}:53>${H1}:5000`, 'the answer from S2');
    },
  },
  {
    rfc: 4787,
    id: 'REQ-2',
    text: 'paired IP address pooling: a host keeps one external address of a pool for all its sessions',
    config: natConfig({ snatTo: `${POOL[0]}-${POOL[1]}` }),
    check(ctx) {
      const s = ctx.session();
      const used = new Set<string>();
      let t = 0;
      for (let h = 10; h < 18; h++) {
        const host = `192.0.2.${h}`;
        const seen = new Set<string>();
        // Only the first host's packets in the evidence: the other seven show the same.
        for (const p of [udp(host, 5000, S1, 53), udp(host, 5001, S2, 53), udp(host, 6000, S2, 123)]) seen.add(only(s.send((t += 10), p, h > 10), 'wan').src);
        checkEqual(seen.size, 1, `external addresses ${host} got (${[...seen].join(', ')})`);
        used.add([...seen][0]);
      }
      s.note(`8 hosts x 3 sessions: each host one address; used: ${[...used].sort().join(', ')}`);
      checkEqual([...used].sort(), POOL, 'pool addresses in use');
    },
  },
  {
    rfc: 4787,
    id: 'REQ-3',
    text: 'no port overloading: two hosts never share an external port; with the range used up a new mapping is refused',
    config: natConfig({ ports: '40000-40001' }),
    check(ctx) {
      const s = ctx.session();
      const a = only(s.send(0, udp(H1, 5000, S1, 53)), 'wan');
      const b = only(s.send(10, udp(H2, 5000, S1, 53)), 'wan');
      checkEqual([a.sport, b.sport].sort(), [40000, 40001], 'external ports of H1:5000 and H2:5000');
      dropped(s.send(20, udp(H3, 5000, S1, 53)), 'nat-output/out-of-ports');
      checkEqual(flow(s.send(30, udp(S1, 53, WAN_ADDR, b.sport)), 'lan'), `${S1}:53>${H2}:5000`, 'the answer to H2');
    },
  },
  {
    rfc: 4787,
    id: 'REQ-5',
    text: 'a UDP mapping does not expire in less than two minutes idle; it does expire',
    config: natConfig({ ports: '40000-40000' }),
    check(ctx) {
      const s = ctx.session();
      only(s.send(0, udp(H1, 5000, S1, 53)), 'wan');
      checkEqual(flow(s.send(119 * SEC, udp(S1, 53, WAN_ADDR, EXT)), 'lan'), `${S1}:53>${H1}:5000`, 'the answer after 119 s');
      s.idle(239 * SEC - 1);
      checkEqual(s.live(), 2, 'flow-table entries (flow and binding) 2 min less 1 ms after the answer');
      s.idle(239 * SEC);
      checkEqual(s.live(), 1, 'flow-table entries 2 min after the answer (the flow ended, its binding waits 30 s)');
      s.idle(269 * SEC);
      checkEqual(s.live(), 0, 'flow-table entries 2.5 min after the answer');
      s.note('flow live until t=238.999s, ended at t=239s (2 min idle); its binding gone at t=269s');
      const late = only(s.send(270 * SEC, udp(S1, 53, WAN_ADDR, EXT)), 'wan');
      checkEqual([late.src, late.type, late.code], [WAN_ADDR, 3, 3], 'the answer once expired (the router\'s own port unreachable)');
    },
  },
  {
    rfc: 4787,
    id: 'REQ-6',
    text: 'outbound packets refresh the mapping timer (inbound ones too, REQ-6a MAY)',
    config: natConfig({ filtering: 'address-and-port-dependent' }),
    check(ctx) {
      const s = ctx.session();
      const a = only(s.send(0, udp(H1, 5000, S1, 53)), 'wan');
      checkEqual(only(s.send(100 * SEC, udp(H1, 5000, S1, 53)), 'wan').sport, a.sport, 'the mapping at 100 s');
      checkEqual(flow(s.send(219 * SEC, udp(S1, 53, WAN_ADDR, a.sport)), 'lan'), `${S1}:53>${H1}:5000`, 'the answer at 219 s (119 s after the refresh)');
      const stale = ctx.session();
      const b = only(stale.send(0, udp(H1, 5000, S1, 53)), 'wan');
      dropped(stale.send(219 * SEC, udp(S1, 53, WAN_ADDR, b.sport)), 'ct-input/filtered');
    },
  },
  ...FILTERING.map(({ setting, passes, text }): Requirement => ({
    rfc: 4787,
    id: 'REQ-8',
    text,
    config: natConfig({ ports: '40000-40000', filtering: setting }),
    check(ctx) {
      filteringCase(ctx.session(), passes);
    },
  })),
  {
    rfc: 4787,
    id: 'REQ-9',
    text: 'hairpinning: hosts reach each other through their mappings, seeing each other\'s external endpoint (REQ-9a)',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const x = only(s.send(0, udp(H1, 5000, S1, 53)), 'wan').sport;
      const toH1 = only(s.send(10, udp(H2, 6000, WAN_ADDR, x)), 'lan');
      checkEqual([toH1.src, toH1.dst, toH1.dport], [WAN_ADDR, H1, 5000], 'H2\'s datagram to H1\'s mapping');
      check(toH1.sport !== x, 'H2 was given H1\'s external port');
      checkEqual(flow(s.send(20, udp(H1, 5000, WAN_ADDR, toH1.sport)), 'lan'), `${WAN_ADDR}:${x}>${H2}:6000`, 'H1\'s answer to H2\'s mapping');
    },
  },
  {
    rfc: 4787,
    id: 'REQ-10',
    text: 'no ALG: a payload naming the inside address leaves untouched',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const text = `INVITE sip:${S1} SIP/2.0\r\nContact: <sip:h1@${H1}:5060>\r\n`;
      const r = s.send(0, udpText(H1, 5060, S1, 5060, text));
      only(r, 'wan');
      checkEqual(new TextDecoder().decode(r.out[0].bytes.subarray(14 + 20 + 8)), text, 'the payload out');
    },
  },
  {
    rfc: 4787,
    id: 'REQ-11',
    text: 'deterministic: with every port in use, mapping and filtering behave as before',
    config: natConfig({ ports: '40000-40001', filtering: 'address-dependent' }),
    check(ctx) {
      const s = ctx.session();
      const x = only(s.send(0, udp(H1, 5000, S1, 53)), 'wan').sport;
      only(s.send(10, udp(H2, 5000, S1, 53)), 'wan');
      dropped(s.send(20, udp(H3, 5000, S1, 53)), 'nat-output/out-of-ports');
      checkEqual(only(s.send(30, udp(H1, 5000, S2, 53)), 'wan').sport, x, 'H1\'s mapping toward S2 with no port free');
      checkEqual(only(s.send(40, udp(S2, 9999, WAN_ADDR, x)), 'lan').dst, H1, 'S2 (sent to) reaching the mapping');
      dropped(s.send(50, udp(R, 53, WAN_ADDR, x)), 'ct-input/filtered');
    },
  },
  {
    rfc: 4787,
    id: 'REQ-12',
    text: 'ICMP does not end a mapping; it is not filtered by its source (REQ-12a) and destination unreachable is translated (REQ-12b)',
    config: natConfig({ filtering: 'address-and-port-dependent' }),
    check(ctx) {
      const s = ctx.session();
      const out = s.send(0, udp(H1, 5000, S1, 53));
      const x = only(out, 'wan').sport;
      const live = s.live();
      for (const [from, type, code] of [[S1, 3, 3], [R, 11, 0], [R, 3, 1]] as const) {
        const e = only(s.send(SEC, icmpError(from, WAN_ADDR, type, code, datagram(out.out[0].bytes))), 'lan');
        checkEqual([e.src, e.dst, e.type, e.code, e.quoted && flat(e.quoted)], [from, H1, type, code, `${H1}:5000>${S1}:53`], `the ${type}/${code} from ${from}`);
      }
      checkEqual(s.live(), live, 'flow-table entries after the errors');
      checkEqual(flow(s.send(2 * SEC, udp(S1, 53, WAN_ADDR, x)), 'lan'), `${S1}:53>${H1}:5000`, 'S1\'s answer after the errors');
    },
  },
  {
    rfc: 4787,
    id: 'REQ-13',
    text: 'DF set and too big for the outside link: ICMP fragmentation needed to the host, quoting its datagram as sent',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const e = only(s.send(0, udp(H1, 5000, S1, 53, { df: true }, WAN_MTU - 20 - 8 + 1)), 'lan');
      checkEqual([e.src, e.dst, e.type, e.code, e.mtu, e.quoted && flat(e.quoted)], [LAN_ADDR, H1, 3, 4, WAN_MTU, `${H1}:5000>${S1}:53`], 'the error');
    },
  },
  {
    rfc: 4787,
    id: 'REQ-13a',
    text: 'DF clear and too big: fragmented, every fragment translated',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const r = s.send(0, udp(H1, 5000, S1, 53, {}, 1472));
      checkEqual(r.out.map((o) => o.port), ['wan', 'wan'], 'ports the fragments left by');
      const frags = r.out.map((o) => tupleOf(o.bytes));
      checkEqual(frags.map((f) => f && [f.src, f.dst, f.fragOffset > 0, f.mf, f.checksumsOk]), [[WAN_ADDR, S1, false, true, true], [WAN_ADDR, S1, true, false, true]], 'the fragments');
      const whole = tupleOf(reassemble(r.out.map((o) => o.bytes)));
      checkEqual(whole && [whole.checksumsOk, whole.src, whole.sport, whole.dport], [true, WAN_ADDR, frags[0]?.sport, 53], 'the reassembled datagram');
    },
  },
  {
    rfc: 4787,
    id: 'REQ-14',
    text: 'fragments received in order: a later fragment follows its first, both ways',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const [first, later] = fragments(udp(H1, 5000, S1, 53, { id: 0x4242 }, 200).frame, 64);
      const a = s.send(0, { port: 'lan', frame: first });
      const b = s.send(1, { port: 'lan', frame: later });
      const at = only(a, 'wan');
      const bt = only(b, 'wan');
      checkEqual([bt.src, bt.dst, bt.id, bt.fragOffset], [WAN_ADDR, S1, 0x4242, 64], 'the later fragment out');
      const whole = tupleOf(reassemble([a.out[0].bytes, b.out[0].bytes]));
      checkEqual(whole && [whole.checksumsOk, whole.sport], [true, at.sport], 'the datagram they make');
      const [rFirst, rLater] = fragments(udp(S1, 53, WAN_ADDR, at.sport, { id: 0x4343 }, 300).frame, 128);
      const c = only(s.send(2, { port: 'wan', frame: rFirst }), 'lan');
      const d = only(s.send(3, { port: 'wan', frame: rLater }), 'lan');
      checkEqual([c.dst, c.dport, d.dst, d.fragOffset], [H1, 5000, H1, 128], 'the answer\'s fragments in');
    },
  },
  {
    rfc: 4787,
    id: 'REQ-14',
    text: 'fragments out of order: a later fragment before its first is held (bounded, REQ-14a), then sent translated',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const [first, later] = fragments(udp(H1, 5000, S1, 53, { id: 0x4444 }, 200).frame, 64);
      const early = s.send(0, { port: 'lan', frame: later });
      checkEqual(early.out.length, 0, 'frames out for the early fragment');
      checkEqual(early.counters['ct-input/fragments-held'] ?? 0, 1, 'ct-input/fragments-held');
      const r1 = s.send(1, { port: 'lan', frame: first });
      // The held fragment goes on in the next batch, once its first has made the fragment entry.
      const r2 = s.send(2, []);
      const sent = [...r1.out, ...r2.out].map((o) => [o.port, tupleOf(o.bytes)] as const);
      checkEqual(sent.map(([port, t]) => [port, t?.src, t?.fragOffset]).sort(), [['wan', WAN_ADDR, 0], ['wan', WAN_ADDR, 64]], 'the fragments out');
    },
  },
];
