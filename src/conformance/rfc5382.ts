// RFC 5382 (NAT behavioral requirements for TCP): the requirements this NAT
// meets, on natConfig() (network.ts). test/nat/rfc5382-tcp.test.ts tests
// them in more detail; test/nat/README.md lists the ones that do not apply.
import { datagram, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, tcpPayload } from './frames.js';
import { H1, H2, H3, icmpError, MIN, natConfig, R, S1, S2, SEC, tcp, WAN_ADDR, type Filtering } from './network.js';
import { flat } from './packet.js';
import { checkEqual, dropped, only, type Session, type StepResult } from './session.js';
import type { Requirement } from './requirement.js';

const SYN_ACK = TCP_SYN | TCP_ACK;
const FIN_ACK = TCP_FIN | TCP_ACK;

function flow(r: StepResult, port: string): string {
  return flat(only(r, port));
}

/** H1:`sport` opens a connection to `server`:80 (three-way handshake from t); its external port. */
function connect(s: Session, t: number, server = S1, sport = 5000): number {
  const x = only(s.send(t, tcp(H1, sport, server, 80, TCP_SYN)), 'wan').sport;
  only(s.send(t + 1, tcp(server, 80, WAN_ADDR, x, SYN_ACK)), 'lan');
  only(s.send(t + 2, tcp(H1, sport, server, 80, TCP_ACK)), 'wan');
  return x;
}

const FILTERING: { setting: Filtering; passes: string[]; text: string }[] = [
  { setting: 'endpoint-independent', passes: ['S1:81', 'S2:80'], text: 'endpoint-independent filtering for TCP (REQ-3a: configurable): a SYN from any endpoint reaches the mapping' },
  { setting: 'address-dependent', passes: ['S1:81'], text: 'address-dependent filtering for TCP (REQ-3a: configurable): a SYN only from an address the host connected to' },
  { setting: 'address-and-port-dependent', passes: [], text: 'address-and-port-dependent filtering for TCP (REQ-3a: configurable): no SYN from another endpoint' },
];

export const RFC5382: Requirement[] = [
  {
    rfc: 5382,
    id: 'REQ-1',
    text: 'endpoint-independent mapping for TCP',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const x = connect(s, 0, S1);
      const y = only(s.send(10, tcp(H1, 5000, S2, 80, TCP_SYN)), 'wan');
      checkEqual([y.src, y.sport], [WAN_ADDR, x], 'the external endpoint toward S2');
      checkEqual(flow(s.send(11, tcp(S2, 80, WAN_ADDR, x, SYN_ACK)), 'lan'), `${S2}:80>${H1}:5000`, 'S2\'s answer');
    },
  },
  {
    rfc: 5382,
    id: 'REQ-2',
    text: 'every valid TCP sequence of a connection started inside: handshake, data both ways, close from both ends',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const x = connect(s, 0);
      checkEqual(s.state(H1, 5000, S1, 80), 'TCP_ESTABLISHED', 'the connection\'s state after the handshake');
      const steps: [string, number, number, string][] = [
        [H1, TCP_ACK | TCP_PSH, 100, 'wan'],
        [S1, TCP_ACK | TCP_PSH, 200, 'lan'],
        [H1, FIN_ACK, 0, 'wan'],
        [S1, TCP_ACK, 0, 'lan'],
        [S1, FIN_ACK, 0, 'lan'],
        [H1, TCP_ACK, 0, 'wan'],
      ];
      let t = 10;
      for (const [from, flags, len, port] of steps) {
        const p = from === H1 ? tcp(H1, 5000, S1, 80, flags, {}, tcpPayload(len)) : tcp(S1, 80, WAN_ADDR, x, flags, {}, tcpPayload(len));
        checkEqual(flow(s.send((t += 10), p), port), from === H1 ? `${WAN_ADDR}:${x}>${S1}:80` : `${S1}:80>${H1}:5000`, `segment ${flags} from ${from}`);
      }
      checkEqual(s.state(H1, 5000, S1, 80), 'TCP_TIME_WAIT', 'the connection\'s state after both FINs');
      s.note('conntrack: TCP_ESTABLISHED after the handshake, TCP_TIME_WAIT after both FINs');
    },
  },
  {
    rfc: 5382,
    id: 'REQ-2',
    text: 'a connection started outside, where the NAT permits it (port forwarding), opens and closes',
    config: natConfig({ extra: '  dnat:\n    - { inPort: wan, proto: tcp, dport: 8080, to: "192.0.2.10:80" }' }),
    check(ctx) {
      const s = ctx.session();
      checkEqual(flow(s.send(0, tcp(S1, 7000, WAN_ADDR, 8080, TCP_SYN)), 'lan'), `${S1}:7000>${H1}:80`, 'the SYN in');
      checkEqual(flow(s.send(10, tcp(H1, 80, S1, 7000, SYN_ACK)), 'wan'), `${WAN_ADDR}:8080>${S1}:7000`, 'the SYN-ACK out');
      only(s.send(20, tcp(S1, 7000, WAN_ADDR, 8080, TCP_ACK)), 'lan');
      checkEqual(s.state(S1, 7000, WAN_ADDR, 8080), 'TCP_ESTABLISHED', 'the connection\'s state');
      only(s.send(30, tcp(S1, 7000, WAN_ADDR, 8080, FIN_ACK)), 'lan');
      only(s.send(40, tcp(H1, 80, S1, 7000, FIN_ACK)), 'wan');
      only(s.send(50, tcp(S1, 7000, WAN_ADDR, 8080, TCP_ACK)), 'lan');
      checkEqual(s.state(S1, 7000, WAN_ADDR, 8080), 'TCP_TIME_WAIT', 'the connection\'s state after both FINs');
    },
  },
  {
    rfc: 5382,
    id: 'REQ-2a',
    text: 'TCP simultaneous open: both ends\' SYNs cross and the connection opens',
    config: natConfig({ filtering: 'address-and-port-dependent' }),
    check(ctx) {
      const s = ctx.session();
      const x = only(s.send(0, tcp(H1, 5000, S1, 80, TCP_SYN)), 'wan').sport;
      checkEqual(flow(s.send(10, tcp(S1, 80, WAN_ADDR, x, TCP_SYN)), 'lan'), `${S1}:80>${H1}:5000`, 'S1\'s crossing SYN');
      checkEqual(only(s.send(20, tcp(H1, 5000, S1, 80, SYN_ACK)), 'wan').sport, x, 'H1\'s SYN-ACK\'s external port');
      only(s.send(30, tcp(S1, 80, WAN_ADDR, x, SYN_ACK)), 'lan');
      only(s.send(40, tcp(H1, 5000, S1, 80, TCP_ACK)), 'wan');
      only(s.send(50, tcp(S1, 80, WAN_ADDR, x, TCP_ACK)), 'lan');
      checkEqual(s.state(H1, 5000, S1, 80), 'TCP_ESTABLISHED', 'the connection\'s state');
    },
  },
  ...FILTERING.map(({ setting, passes, text }): Requirement => ({
    rfc: 5382,
    id: 'REQ-3',
    text,
    config: natConfig({ ports: '40000-40000', filtering: setting }),
    check(ctx) {
      const s = ctx.session();
      const x = connect(s, 0);
      let t = SEC;
      for (const [name, p] of [['S1:81', tcp(S1, 81, WAN_ADDR, x, TCP_SYN)], ['S2:80', tcp(S2, 80, WAN_ADDR, x, TCP_SYN)]] as const) {
        const r = s.send((t += SEC), p);
        if (passes.includes(name)) checkEqual(only(r, 'lan').dst, H1, `where ${name}'s SYN went`);
        else dropped(r, 'ct-input/filtered');
      }
    },
  })),
  {
    rfc: 5382,
    id: 'REQ-4',
    text: 'an unsolicited inbound SYN is not answered for at least 6 s (REQ-4a: silently dropped); the host\'s own SYN meanwhile opens the way',
    config: natConfig({ filtering: 'address-and-port-dependent' }),
    check(ctx) {
      const s = ctx.session();
      const x = connect(s, 0);
      dropped(s.send(1 * SEC, tcp(S2, 443, WAN_ADDR, x, TCP_SYN)), 'ct-input/filtered');
      checkEqual(s.idle(2 * SEC).out.length, 0, 'frames sent 1 s after the unsolicited SYN');
      checkEqual(only(s.send(3 * SEC, tcp(H1, 5000, S2, 443, TCP_SYN)), 'wan').sport, x, 'H1\'s SYN to S2\'s external port');
      checkEqual(flow(s.send(4 * SEC, tcp(S2, 443, WAN_ADDR, x, TCP_SYN)), 'lan'), `${S2}:443>${H1}:5000`, 'S2\'s next SYN');
      for (let t = 5; t <= 8; t++) checkEqual(s.idle(t * SEC).out.length, 0, `frames sent at ${t} s`);
      // A SYN to a port no mapping holds, with the default (endpoint-independent) filtering.
      const other = ctx.session(natConfig());
      dropped(other.send(0, tcp(S1, 5555, WAN_ADDR, 40000, TCP_SYN)), 'ct-input/unsolicited-syn');
      for (let t = 1; t <= 6; t++) checkEqual(other.idle(t * SEC).out.length, 0, `frames sent at ${t} s`);
      other.note('nothing sent in the 6 s after either unsolicited SYN');
    },
  },
  {
    rfc: 5382,
    id: 'REQ-5',
    text: 'an established connection idles at least 2 h 4 min, a transitory one (opening, closing) at least 4 min',
    config: natConfig({ filtering: 'address-and-port-dependent' }),
    check(ctx) {
      const est = ctx.session();
      const x = connect(est, 0);
      checkEqual(only(est.send(2 + 124 * MIN - 1, tcp(S1, 80, WAN_ADDR, x, TCP_ACK, {}, tcpPayload(10))), 'lan').dst, H1, 'data 124 min after the last packet');
      const live = est.live();
      est.idle(2 + 248 * MIN - 1);
      checkEqual(est.live(), live - 1, 'flow-table entries 124 min after that (the connection ended, its binding waits)');
      const open = ctx.session();
      const y = only(open.send(0, tcp(H1, 5000, S1, 80, TCP_SYN)), 'wan').sport;
      checkEqual(only(open.send(4 * MIN - 1, tcp(S1, 80, WAN_ADDR, y, SYN_ACK)), 'lan').dst, H1, 'the SYN-ACK 4 min less 1 ms after the SYN');
      only(open.send(4 * MIN, tcp(H1, 5000, S1, 80, TCP_ACK)), 'wan');
      only(open.send(4 * MIN + 1, tcp(H1, 5000, S1, 80, FIN_ACK)), 'wan');
      checkEqual(only(open.send(8 * MIN, tcp(S1, 80, WAN_ADDR, y, FIN_ACK)), 'lan').dst, H1, 'the FIN 4 min less 1 ms after H1\'s');
    },
  },
  {
    rfc: 5382,
    id: 'REQ-6',
    text: 'no ALG: an FTP PORT command naming the inside address leaves untouched',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      connect(s, 0);
      const text = 'PORT 192,0,2,10,19,137\r\n';
      const r = s.send(10, tcp(H1, 5000, S1, 80, TCP_ACK | TCP_PSH, {}, new TextEncoder().encode(text)));
      only(r, 'wan');
      checkEqual(new TextDecoder().decode(r.out[0].bytes.subarray(14 + 20 + 20)), text, 'the payload out');
    },
  },
  {
    rfc: 5382,
    id: 'REQ-7',
    text: 'no port overloading for TCP: hosts never share an external port; with none left the SYN is refused',
    config: natConfig({ ports: '40000-40001' }),
    check(ctx) {
      const s = ctx.session();
      const a = only(s.send(0, tcp(H1, 5000, S1, 80, TCP_SYN)), 'wan').sport;
      const b = only(s.send(10, tcp(H2, 5000, S1, 80, TCP_SYN)), 'wan').sport;
      checkEqual([a, b].sort(), [40000, 40001], 'external ports of H1:5000 and H2:5000');
      dropped(s.send(20, tcp(H3, 5000, S1, 80, TCP_SYN)), 'nat-output/out-of-ports');
      checkEqual(flow(s.send(30, tcp(S1, 80, WAN_ADDR, b, SYN_ACK)), 'lan'), `${S1}:80>${H2}:5000`, 'the SYN-ACK to H2');
    },
  },
  {
    rfc: 5382,
    id: 'REQ-8',
    text: 'hairpinning for TCP, each host seeing the other\'s external endpoint (REQ-8a)',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const x = connect(s, 0);
      const syn = only(s.send(10, tcp(H2, 6000, WAN_ADDR, x, TCP_SYN)), 'lan');
      checkEqual([syn.src, syn.dst, syn.dport], [WAN_ADDR, H1, 5000], 'H2\'s SYN to H1\'s mapping');
      checkEqual(flow(s.send(20, tcp(H1, 5000, WAN_ADDR, syn.sport, SYN_ACK)), 'lan'), `${WAN_ADDR}:${x}>${H2}:6000`, 'H1\'s SYN-ACK');
      checkEqual(flow(s.send(30, tcp(H2, 6000, WAN_ADDR, x, TCP_ACK)), 'lan'), `${WAN_ADDR}:${syn.sport}>${H1}:5000`, 'H2\'s ACK');
      checkEqual(s.state(H2, 6000, WAN_ADDR, x), 'TCP_ESTABLISHED', 'the connection\'s state');
    },
  },
  {
    rfc: 5382,
    id: 'REQ-9',
    text: 'ICMP destination unreachable about a TCP connection is translated, quote and checksums included',
    config: natConfig(),
    check(ctx) {
      const s = ctx.session();
      const syn = s.send(0, tcp(H1, 5000, S1, 80, TCP_SYN));
      only(syn, 'wan');
      for (const [from, code] of [[R, 1], [S1, 3], [R, 13]] as const) {
        const r = s.send(10, icmpError(from, WAN_ADDR, 3, code, datagram(syn.out[0].bytes)));
        const e = only(r, 'lan');
        checkEqual([e.src, e.dst, e.type, e.code, e.quoted && flat(e.quoted)], [from, H1, 3, code, `${H1}:5000>${S1}:80`], `the 3/${code} from ${from}`);
      }
    },
  },
  {
    rfc: 5382,
    id: 'REQ-10',
    text: 'ICMP ends neither the mapping nor the TCP connection',
    config: natConfig({ filtering: 'address-and-port-dependent' }),
    check(ctx) {
      const s = ctx.session();
      const x = connect(s, 0);
      const data = s.send(10, tcp(H1, 5000, S1, 80, TCP_ACK, {}, tcpPayload(100)));
      const live = s.live();
      for (const [from, type, code] of [[S1, 3, 3], [R, 3, 1], [R, 11, 0], [R, 12, 0]] as const) {
        only(s.send(20, icmpError(from, WAN_ADDR, type, code, datagram(data.out[0].bytes))), 'lan');
      }
      checkEqual([s.live(), s.state(H1, 5000, S1, 80)], [live, 'TCP_ESTABLISHED'], 'flow-table entries and the connection\'s state after the errors');
      checkEqual(only(s.send(MIN, tcp(S1, 80, WAN_ADDR, x, TCP_ACK, {}, tcpPayload(10))), 'lan').dst, H1, 'data a minute later');
    },
  },
];
