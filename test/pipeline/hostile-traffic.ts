// Hostile traffic for a router with every stateful feature on, as scripts
// fast-check writes, and the run that sends a script through the router and
// checks it after every batch. The config, the templates of valid traffic,
// the mutations and the checks are described in
// mutated-traffic.property.test.ts, which runs them.
import fc from 'fast-check';
import { tupleOf, type Tuple } from '../../src/conformance/packet.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { ARP_REPLY, ARP_REQUEST } from '../../src/wire/arp.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { IPOPT_LSRR, IPOPT_NOP, IPOPT_RA, IPOPT_RR, IPOPT_TS, type Ipv4Option } from '../../src/wire/ipv4-options.js';
import { arpFrame, echoFrame, icmpErrorFrame, icmpQueryFrame, rawIpFrame, tcpFrame, udpFrame, type IpOpts } from './build.js';
import { Harness, type Sent } from './harness.js';
import { accountingProblems, checksumProblems, flowStateProblems, frameProblems, portFates } from './router-state-audit.js';

const MAC = { lan: '02:00:00:00:00:01', wan: '02:00:00:00:00:02', dmz: '02:00:00:00:00:03' } as const;
type PortName = keyof typeof MAC;
const PORTS: PortName[] = ['lan', 'wan', 'dmz'];
const GATEWAY_MAC = '02:bb:00:00:00:fe';
const WAN_ADDRESS = '198.51.100.1';

/** Every host the traffic names on a connected subnet, with its MAC: each has a static neighbor entry, so nothing waits for ARP. */
const HOST_MAC: Record<string, string> = {
  '192.0.2.10': '02:aa:00:00:00:10',
  '192.0.2.11': '02:aa:00:00:00:11',
  '192.0.2.12': '02:aa:00:00:00:12',
  '203.0.113.11': '02:cc:00:00:00:11',
  '203.0.113.12': '02:cc:00:00:00:12',
  '203.0.113.21': '02:cc:00:00:00:21',
  '203.0.113.22': '02:cc:00:00:00:22',
  '203.0.113.30': '02:cc:00:00:00:30',
  '198.51.100.254': GATEWAY_MAC,
  '198.51.100.50': '02:bb:00:00:00:50',
};
const LAN_HOSTS = ['192.0.2.10', '192.0.2.11', '192.0.2.12'];
const DMZ_HOSTS = ['203.0.113.11', '203.0.113.12', '203.0.113.21', '203.0.113.22', '203.0.113.30'];
/** Hosts behind wan's gateway (the default route). */
const REMOTES = ['198.18.0.1', '198.18.0.2', '198.18.7.9', '198.19.5.5', '198.18.200.1', '198.18.201.1'];
const ROUTER = { lan: '192.0.2.1', wan: WAN_ADDRESS, dmz: '203.0.113.1' } as const;
const VIP_NAT = '203.0.113.100';
const VIP_DSR = '203.0.113.101';
const VIP_IPIP = '203.0.113.102';
const NAT_BACKENDS = ['203.0.113.11', '203.0.113.12'];
const DSR_BACKENDS = ['203.0.113.21', '203.0.113.22'];

/**
 * Sized so that limits are reached: 8 NAT ports per protocol (out of ports),
 * 4 bindings per inside host (cloud-nat's minPortsPerEndpoint), 64 entries
 * in the flow table (full, evicting), 2 datagrams in reassembly for 200 ms,
 * an ICMP error budget; MTUs below the LAN's (fragmentation, fragmentation
 * needed, IPIP that no longer fits); routes that drop.
 */
const CONFIG = `
ports:
  - { name: lan, mac: "${MAC.lan}", address: 192.0.2.1/25 }
  - { name: wan, mac: "${MAC.wan}", address: ${WAN_ADDRESS}/24, mtu: 1400 }
  - { name: dmz, mac: "${MAC.dmz}", address: 203.0.113.1/26, mtu: 1280 }
routes:
  - default via 198.51.100.254
  - 198.18.200.0/24 blackhole
  - unreachable 198.18.201.0/24
neighbors:
${Object.entries(HOST_MAC).map(([a, m]) => `  - { address: ${a}, mac: "${m}" }`).join('\n')}
icmp: { ratePerSecond: 200, burst: 20 }
reassembly: { datagrams: 2, timeoutMs: 200 }
nat:
  masquerade:
    - { outPort: wan, ports: 40000-40007 }
  dnat:
    - { inPort: wan, proto: tcp, dport: 8080, to: "192.0.2.10:80" }
    - { inPort: wan, proto: udp, dport: 5000-5003, to: "192.0.2.11" }
  filtering: address-dependent
  profile: cloud-nat
  minPortsPerEndpoint: 4
conntrack: { capacity: 64 }
namespaces:
  - { name: prod, labels: { env: prod } }
endpoints:
  - { address: 192.0.2.10, namespace: prod, labels: { app: web }, ports: [{ name: http, port: 80 }] }
  - { address: 192.0.2.11, namespace: prod, labels: { app: db }, ports: [{ name: pg, port: 5432 }] }
  - { address: 203.0.113.11, labels: { app: backend } }
  - { address: 203.0.113.12, labels: { app: backend } }
  - { address: 203.0.113.21, labels: { app: dsr } }
firewall:
  rules:
    - { name: allow-web, direction: ingress, action: allow, protocols: [{ protocol: tcp, ports: [80, 8080] }, { protocol: icmp }], targets: { labels: { app: web } } }
    - { name: allow-db, direction: ingress, action: allow, protocols: [{ protocol: tcp, ports: [5432] }, { protocol: udp }], source: { cidrs: [192.0.2.0/25, 203.0.113.0/26, 198.18.0.0/15] }, targets: { labels: { app: db } } }
    - { name: allow-backend, direction: ingress, action: allow, protocols: [{ protocol: tcp, ports: ["80-81"] }, { protocol: icmp }], targets: { labels: { app: backend } } }
    - { name: allow-dsr, direction: ingress, action: allow, protocols: [{ protocol: udp }], targets: { labels: { app: dsr } } }
    - { name: reject-telnet, direction: ingress, priority: 100, action: reject, protocols: [{ protocol: tcp, ports: [23] }] }
    - { name: deny-db-dns, direction: egress, priority: 200, action: deny, protocols: [{ protocol: udp, ports: [53] }], targets: { labels: { app: db } } }
networkPolicies:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: { name: db-from-web, namespace: prod }
    spec:
      podSelector: { matchLabels: { app: db } }
      ingress:
        - from: [{ podSelector: { matchLabels: { app: web } } }, { ipBlock: { cidr: 198.18.0.0/16 } }]
          ports: [{ port: pg }, { protocol: UDP, port: 5000, endPort: 5003 }]
loadBalancer:
  vips:
    - { name: web-nat, address: ${VIP_NAT}, protocol: tcp, port: 80, mode: nat, tableSize: 251, backends: [{ address: ${NAT_BACKENDS[0]} }, { address: ${NAT_BACKENDS[1]} }] }
    - { name: dns-dsr, address: ${VIP_DSR}, protocol: udp, mode: dsr-l2, tableSize: 251, affinity: { type: clientIP, timeoutSeconds: 60 }, backends: [{ address: ${DSR_BACKENDS[0]} }, { address: ${DSR_BACKENDS[1]} }] }
    - { name: tls-ipip, address: ${VIP_IPIP}, protocol: tcp, port: 443, mode: dsr-ipip, tableSize: 251, backends: [{ address: 198.51.100.50 }] }
`;

/** Largest frame the harness's batch takes (2048-byte slots less the headroom). */
const MAX_FRAME = 1920;
/** Frames a batch receives at most (the harness's rxCapacity). */
const MAX_RX = 64;
/** The flow state is audited after every this many batches, and at the end. */
const AUDIT_EVERY = 4;

const TCP_FLAGS = [0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x01, 0x03, 0x00, 0x3f];

const pick = <T>(xs: readonly T[], n: number): T => xs[n % xs.length];

function portOf(address: string): PortName {
  if (address.startsWith('192.0.2.')) return 'lan';
  if (address.startsWith('203.0.113.')) return 'dmz';
  return 'wan';
}

/** Where a packet from `src` comes in: the port, and the MACs of that link (a remote host's frames come from the gateway). */
function from(src: string, dst: string, ip: Omit<IpOpts, 'src' | 'dst'> = {}): { port: PortName; ip: IpOpts } {
  const port = portOf(src);
  return { port, ip: { ...ip, src, dst, srcMac: HOST_MAC[src] ?? GATEWAY_MAC, dstMac: MAC[port] } };
}

// ---- The script fast-check writes.

/** A mutation: `op` says what, `at` and `val` where and to what (each op reads them its way). */
interface Mutation {
  op: number;
  at: number;
  val: number;
}

interface FrameSpec {
  /** Which template (an index of TEMPLATES). */
  kind: number;
  /** The template's choices (hosts, ports, flags, sizes...), each read modulo what it chooses from. */
  r: number[];
  /** IPv4 header choices: TTL, DF, id, options. */
  header: number;
  /** Sent on another port than the template's, when set. */
  port: number | null;
  mutations: readonly Mutation[];
  /** Recompute the IPv4 header checksum after mutating, so the damage reaches past ip4-input. */
  fix: boolean;
}

export interface BatchSpec {
  advanceMs: number;
  frames: FrameSpec[];
}

const mutation = fc.record({ op: fc.nat(13), at: fc.nat(0xffff), val: fc.nat(0xffff) });

function frameSpec(hostile: boolean): fc.Arbitrary<FrameSpec> {
  return fc.record({
    // The garbage template (the last) only in hostile scripts.
    kind: fc.nat(TEMPLATES.length - (hostile ? 1 : 2)),
    r: fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }),
    header: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(0xffff) }),
    port: fc.oneof({ weight: 15, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat(2) }),
    mutations: hostile ? fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) }) : fc.constant([]),
    fix: fc.boolean(),
  });
}

function batchSpec(hostile: boolean): fc.Arbitrary<BatchSpec> {
  return fc.record({
    advanceMs: fc.oneof(
      { weight: 3, arbitrary: fc.constant(0) },
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 300 }) },
      { weight: 2, arbitrary: fc.integer({ min: 300, max: 40_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 40_000, max: 1_500_000 }) },
    ),
    frames: fc.array(frameSpec(hostile), { minLength: 0, maxLength: 48, size: 'max' }),
  });
}

/**
 * A script of up to `batches` batches: hostile (valid frames, two in five
 * of them mutated, and garbage), or valid frames only (`hostile` false).
 */
export function scriptOf(hostile: boolean, batches = 24): fc.Arbitrary<BatchSpec[]> {
  return fc.array(batchSpec(hostile), { minLength: 1, maxLength: batches, size: 'max' });
}

// ---- What the router has told us: NAT ports it handed out, flows it let through, frames it sent.

interface Seen {
  proto: number;
  /** The packet as it left: its source and destination. */
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

class Memory {
  /** Masqueraded flows (as sent on wan, from wan's address and the port it got). */
  readonly masqueraded: Seen[] = [];
  /** Port-forwarded flows (as sent on lan to the inside address). */
  readonly forwarded: Seen[] = [];
  /** NAT-mode VIP flows (as sent on dmz to a backend). */
  readonly balanced: Seen[] = [];
  /** DSR VIP flows (as sent: client to VIP). */
  readonly direct: Seen[] = [];
  /** Recent IPv4 frames sent, for ICMP errors to quote. */
  readonly sent: Sent[] = [];
  /** Fragments held back for a later batch. */
  later: { port: PortName; frame: Uint8Array }[] = [];

  learn(out: readonly Sent[]): void {
    for (const o of out) {
      if (o.bytes.length < 34 || ((o.bytes[12] << 8) | o.bytes[13]) !== 0x0800) continue;
      const t = tupleOf(o.bytes);
      if (t === undefined) continue;
      remember(this.sent, o, 32);
      if (t.sport < 0 || t.fragOffset !== 0 || (t.proto === 1 && t.type !== 8)) continue;
      const seen = { proto: t.proto, src: t.src, sport: t.sport, dst: t.dst, dport: t.dport };
      if (o.port === 'wan' && t.src === WAN_ADDRESS) remember(this.masqueraded, seen, 24);
      else if (o.port === 'lan' && portOf(t.src) === 'wan') remember(this.forwarded, seen, 24);
      else if (o.port === 'dmz' && NAT_BACKENDS.includes(t.dst) && t.proto === 6) remember(this.balanced, seen, 24);
      else if (t.dst === VIP_DSR || t.dst === VIP_IPIP) remember(this.direct, seen, 24);
    }
  }
}

function remember<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.shift();
}

// ---- Templates: valid frames of every kind the router meets.

type Built = { port: PortName; frames: Uint8Array[] };

/** IPv4 header fields for a frame: mostly plain; sometimes a low TTL, DF, an odd id, options. */
function headerOpts(header: number, r: number[]): Omit<IpOpts, 'src' | 'dst'> {
  if (header === 0) return { id: r[7] };
  const ttl = pick([64, 1, 2, 255, 0], header >> 3);
  const options = pick<Ipv4Option[]>(
    [
      [],
      [{ type: IPOPT_RR, data: Uint8Array.from([4, ...new Array<number>(12).fill(0)]) }],
      [{ type: IPOPT_TS, data: Uint8Array.from([5, 0, ...new Array<number>(8).fill(0)]) }],
      [{ type: IPOPT_TS, data: Uint8Array.from([5, 1, ...new Array<number>(16).fill(0)]) }],
      [{ type: IPOPT_RA, data: Uint8Array.from([0, 0]) }],
      [{ type: IPOPT_LSRR, data: Uint8Array.from([4, 198, 18, 0, 1]) }],
      [{ type: IPOPT_NOP, data: new Uint8Array(0) }, { type: IPOPT_RR, data: Uint8Array.from([4, 0, 0, 0, 0]) }],
      // Any other type (2-255) with a few bytes of anything: unknown, or a known one the wrong size.
      [{ type: 2 + ((header >> 8) % 254), data: Uint8Array.from({ length: header & 7 }, (_, i) => (r[i] >> 3) & 0xff) }],
    ],
    header >> 6,
  );
  return { ttl, df: (header & 4) !== 0, id: r[7], options };
}

/** TCP, UDP or an ICMP query from src:sport to dst:dport; `c` chooses flags and sizes. */
function l4(proto: number, at: { port: PortName; ip: IpOpts }, sport: number, dport: number, c: number, echoType = 8): Built {
  const big = c % 13 === 0 ? 1200 + (c % 400) : c % 50;
  const frame =
    proto === 6
      ? tcpFrame(at.ip, sport, dport, pick(TCP_FLAGS, c >> 4), big, c * 7919, c * 104729)
      : proto === 17
        ? udpFrame(at.ip, sport, dport, big)
        : icmpQueryFrame(at.ip, echoType, sport, c, big);
  return { port: at.port, frames: [frame] };
}

const PROTOS = [6, 17, 1];

/** Cuts a datagram (an Ethernet frame) into fragments of `chunk` data bytes, in the order `order` picks, one maybe lost, repeated or overlapping. */
function fragments(frame: Uint8Array, chunk: number, order: number): Uint8Array[] {
  const ihl = (frame[14] & 15) * 4;
  const data = frame.subarray(14 + ihl);
  const pieces: Uint8Array[] = [];
  for (let off = 0; off < data.length; off += chunk) {
    const overlap = order % 7 === 0 && off > 0 ? 8 : 0;
    const start = off - overlap;
    const end = Math.min(off + chunk, data.length);
    const f = new Uint8Array(14 + ihl + end - start);
    f.set(frame.subarray(0, 14 + ihl));
    f.set(data.subarray(start, end), 14 + ihl);
    const total = ihl + end - start;
    f[16] = total >> 8;
    f[17] = total & 0xff;
    const field = (end < data.length ? 0x2000 : 0) | (start / 8);
    f[20] = field >> 8;
    f[21] = field & 0xff;
    fixIpChecksum(f);
    pieces.push(f);
  }
  // A seeded shuffle (the order is part of the script).
  let s = order + 1;
  for (let i = pieces.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [pieces[i], pieces[j]] = [pieces[j], pieces[i]];
  }
  if (order % 5 === 1 && pieces.length > 1) pieces.pop(); // one never comes
  if (order % 5 === 2) pieces.push(pieces[0]); // one comes twice
  return pieces;
}

const TEMPLATES: ((r: number[], m: Memory, hdr: Omit<IpOpts, 'src' | 'dst'>) => Built)[] = [
  // An inside host to the internet (masqueraded), the DMZ or another inside host (hairpin through the router).
  (r, _m, hdr) => {
    const src = pick([...LAN_HOSTS, ...DMZ_HOSTS], r[0]);
    const dst = pick([...REMOTES, ...REMOTES, ...LAN_HOSTS, ...DMZ_HOSTS], r[1]);
    return l4(pick(PROTOS, r[2]), from(src, dst, hdr), 1000 + (r[3] % 12), pick([80, 443, 53, 23, 5432, 5001, r[4]], r[4]), r[5]);
  },
  // The internet answering a masqueraded flow, at the port the router gave it (or, by some other host, or to a port it did not give).
  (r, m, hdr) => {
    const s = m.masqueraded.length > 0 ? pick(m.masqueraded, r[0]) : { proto: pick(PROTOS, r[0]), src: WAN_ADDRESS, sport: 40000 + (r[1] % 8), dst: pick(REMOTES, r[1]), dport: 80 };
    const remote = r[2] % 5 === 0 ? pick(REMOTES, r[3]) : s.dst;
    const rport = r[2] % 7 === 0 ? r[4] : s.dport;
    return l4(s.proto, from(remote, s.src, hdr), rport, r[2] % 11 === 0 ? 40000 + (r[5] % 8) : s.sport, r[6], 0);
  },
  // The internet to the router's outside address: the port forwards, the NAT's ports, anything else.
  (r, _m, hdr) => {
    const dport = pick([8080, 5000, 5001, 5003, 40000 + (r[3] % 8), 22, r[3]], r[2]);
    return l4(pick(PROTOS, r[1]), from(pick(REMOTES, r[0]), WAN_ADDRESS, hdr), 2000 + (r[4] % 4), dport, r[5]);
  },
  // The inside host of a port forward answering.
  (r, m, hdr) => {
    const s = m.forwarded.length > 0 ? pick(m.forwarded, r[0]) : { proto: 6, src: '198.18.0.1', sport: 2000, dst: '192.0.2.10', dport: 80 };
    return l4(s.proto, from(s.dst, s.src, hdr), s.dport, s.sport, r[1], 0);
  },
  // Clients to the VIPs (and to a VIP's address on a port or protocol it does not serve).
  (r, _m, hdr) => {
    const client = pick([...LAN_HOSTS, ...REMOTES, '203.0.113.30'], r[0]);
    const [vip, proto, dport] = pick<[string, number, number]>([[VIP_NAT, 6, 80], [VIP_DSR, 17, r[3]], [VIP_IPIP, 6, 443], [VIP_NAT, 6, 81], [VIP_DSR, 6, 53], [VIP_IPIP, 1, 0]], r[1]);
    return l4(proto, from(client, vip, hdr), 3000 + (r[2] % 8), dport, r[4]);
  },
  // Backends answering: a nat-mode backend to the client (through the router), a dsr-l2 backend from the VIP straight to the client.
  (r, m, hdr) => {
    if (r[0] % 2 === 0) {
      const s = m.balanced.length > 0 ? pick(m.balanced, r[1]) : { proto: 6, src: '192.0.2.10', sport: 3000, dst: NAT_BACKENDS[0], dport: 80 };
      return l4(6, from(s.dst, s.src, hdr), s.dport, s.sport, r[2]);
    }
    const s = m.direct.length > 0 ? pick(m.direct, r[1]) : { proto: 17, src: '192.0.2.10', sport: 3000, dst: VIP_DSR, dport: 53 };
    const at = from(pick(DSR_BACKENDS, r[3]), s.src, hdr);
    return l4(s.proto, { port: at.port, ip: { ...at.ip, src: s.dst } }, s.dport, s.sport, r[2], 0);
  },
  // An ICMP error about a frame the router sent, from where it went (or a router on the way), quoting all of it or its first bytes.
  (r, m, hdr) => {
    let quoted: Uint8Array;
    let port: PortName;
    let src: string;
    let dst: string;
    if (m.sent.length > 0) {
      const s = pick(m.sent, r[0]);
      const t = tupleOf(s.bytes) as Tuple;
      quoted = s.bytes.subarray(14);
      port = s.port as PortName;
      src = port === 'wan' && r[1] % 2 === 0 ? '198.51.100.254' : t.dst;
      dst = t.src;
    } else {
      const at = from('192.0.2.10', '198.18.0.1');
      quoted = udpFrame(at.ip, 1000, 53).subarray(14);
      port = 'wan';
      src = '198.18.0.1';
      dst = WAN_ADDRESS;
    }
    const ihl = (quoted[0] & 15) * 4;
    quoted = quoted.subarray(0, Math.min(quoted.length, pick([ihl + 8, ihl + 4, quoted.length, ihl + 20, 8], r[2])));
    const [type, code] = pick([[3, 3], [3, 1], [3, 4], [11, 0], [12, 0], [3, 13], [4, 0], [5, 1]], r[3]);
    const ip = { ...hdr, src, dst, srcMac: HOST_MAC[src] ?? GATEWAY_MAC, dstMac: MAC[port] };
    return { port, frames: [icmpErrorFrame(ip, type, code, quoted, type === 3 && code === 4 ? pick([576, 68, 1280, 0, 1400], r[4]) : undefined)] };
  },
  // A datagram in fragments, in any order: to the router (reassembled), through the NAT, to a port forward, to the dsr VIP.
  (r, m, hdr) => {
    const size = 200 + (r[0] % 2600);
    const [src, dst, proto, sport, dport] = pick<[string, string, number, number, number]>(
      [
        ['192.0.2.10', '192.0.2.1', 1, 7, 0],
        ['192.0.2.11', pick(REMOTES, r[1]), 17, 1000 + (r[2] % 4), 53],
        ['192.0.2.12', pick(REMOTES, r[1]), 6, 1000 + (r[2] % 4), 80],
        [pick(REMOTES, r[1]), WAN_ADDRESS, 17, 2000, 5000 + (r[2] % 4)],
        [pick(REMOTES, r[1]), WAN_ADDRESS, 17, m.masqueraded[0]?.dport ?? 53, m.masqueraded[0]?.sport ?? 40000],
        ['192.0.2.10', VIP_DSR, 17, 3000 + (r[2] % 4), 53],
        [pick(REMOTES, r[1]), VIP_NAT, 6, 3000 + (r[2] % 4), 80],
      ],
      r[3],
    );
    const at = from(src, dst, { ...hdr, df: false, mf: false, fragOffset: 0 });
    const whole = proto === 6 ? tcpFrame(at.ip, sport, dport, 0x18, size) : proto === 17 ? udpFrame(at.ip, sport, dport, size) : echoFrame(at.ip, sport, r[4], size);
    const dataLen = whole.length - 14 - (whole[14] & 15) * 4;
    let chunk = pick([8, 16, 64, 512, 1024, 1232], r[5]);
    while (dataLen / chunk > 12) chunk *= 2;
    return { port: at.port, frames: fragments(whole, chunk, r[6]) };
  },
  // To the router itself: ping, a TCP segment (reset), UDP (port unreachable), from any port's side.
  (r, _m, hdr) => {
    const src = pick([...LAN_HOSTS, ...REMOTES, ...DMZ_HOSTS], r[0]);
    const dst = pick([ROUTER.lan, ROUTER.wan, ROUTER.dmz, '192.0.2.127', '255.255.255.255'], r[1]);
    return l4(pick(PROTOS, r[2]), from(src, dst, hdr), 4000 + (r[3] % 4), pick([22, 80, 179, 33434], r[4]), r[5]);
  },
  // ARP: requests for the router and the VIPs, replies and gratuitous announcements (some for the neighbors' addresses).
  (r) => {
    const port = pick(PORTS, r[0]);
    const spa = pick(Object.keys(HOST_MAC), r[1]);
    const sha = `02:ee:00:00:00:${(r[2] & 0xff).toString(16).padStart(2, '0')}`;
    const tpa = pick([ROUTER[port], VIP_NAT, VIP_DSR, spa, '192.0.2.99'], r[3]);
    const oper = r[4] % 3 === 0 ? ARP_REPLY : ARP_REQUEST;
    return { port, frames: [arpFrame(oper, sha, spa, '00:00:00:00:00:00', tpa, oper === ARP_REPLY ? MAC[port] : 'ff:ff:ff:ff:ff:ff')] };
  },
  // Other IP protocols (GRE, IPIP, protocol 0) across the router and to it.
  (r, _m, hdr) => {
    const src = pick([...LAN_HOSTS, ...REMOTES], r[0]);
    const dst = pick([...REMOTES, ...LAN_HOSTS, WAN_ADDRESS, VIP_NAT], r[1]);
    const payload = Uint8Array.from({ length: 20 + (r[2] % 60) }, (_, i) => (r[3] + i * 31) & 0xff);
    if (r[4] % 2 === 0) payload[0] = 0x45; // an IPIP payload that looks like a header
    const at = from(src, dst, hdr);
    return { port: at.port, frames: [rawIpFrame(at.ip, pick([47, 4, 0, 50, 132], r[5]), payload)] };
  },
  // Not IPv4 at all, or not for us: random bytes, IPv6, VLAN tags, another MAC, a broadcast or multicast source.
  (r) => {
    const port = pick(PORTS, r[0]);
    const len = r[1] % 200;
    const f = Uint8Array.from({ length: len }, (_, i) => (Math.imul(r[2] + i, 2654435761) >>> 24) & 0xff);
    if (len >= 15) {
      const kind = r[3] % 5;
      if (kind <= 2) f.set(Uint8Array.from(MAC[port].split(':').map((x) => parseInt(x, 16))), 0);
      if (kind === 0) f.set([0x08, 0x00, 0x45], 12);
      if (kind === 1) f.set([0x81, 0x00], 12);
      if (kind === 2) f.set([0x86, 0xdd], 12);
      if (kind === 3) f.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x5e, 0, 0, 1, 0x08, 0x00], 0);
    }
    return { port, frames: [f] };
  },
];

// ---- Mutations.

function fixIpChecksum(f: Uint8Array): void {
  if (f.length < 34) return;
  const ihl = (f[14] & 15) * 4;
  if (ihl < 20 || 14 + ihl > f.length) return;
  f[24] = f[25] = 0;
  const c = internetChecksum(f, 14, ihl);
  f[24] = c >> 8;
  f[25] = c & 0xff;
}

function mutate(frame: Uint8Array, ms: readonly Mutation[], fix: boolean): Uint8Array {
  let f = frame.slice();
  for (const { op, at, val } of ms) {
    const ihl = f.length > 14 ? (f[14] & 15) * 4 : 20;
    const l4 = 14 + ihl;
    const set = (i: number, v: number) => {
      if (i < f.length) f[i] = v & 0xff;
    };
    switch (op) {
      case 0: // a byte of the headers (Ethernet, IPv4 with options, the first bytes of L4)
        if (f.length > 0) f[at % Math.min(f.length, l4 + 24)] ^= (val % 255) + 1;
        break;
      case 1: // a byte of the first 128 (what an ICMP error quotes, too)
        if (f.length > 0) f[at % Math.min(f.length, 128)] ^= (val % 255) + 1;
        break;
      case 2: // cut short
        f = f.subarray(0, at % (f.length + 1)).slice();
        break;
      case 3: { // trailing bytes
        const extra = Math.min((val % 96) + 1, MAX_FRAME - f.length);
        const g = new Uint8Array(f.length + extra);
        g.set(f);
        for (let i = f.length; i < g.length; i++) g[i] = (at + i) & 0xff;
        f = g;
        break;
      }
      case 4: { // total length: anything, or off by a little
        const total = at % 2 === 0 ? val : Math.max(0, f.length - 14 + ((val % 17) - 8));
        set(16, total >> 8);
        set(17, total);
        break;
      }
      case 5: // IHL
        set(14, (f[14] & 0xf0) | (val & 15));
        break;
      case 6: // flags and fragment offset
        set(20, val >> 8);
        set(21, val);
        break;
      case 7: // TTL
        set(22, val % 3);
        break;
      case 8: // protocol
        set(23, pick([1, 6, 17, 4, 47, val], at));
        break;
      case 9: // the IPv4 checksum
        set(24, f[24] ^ ((val % 255) + 1));
        break;
      case 10: // the L4 checksum (UDP, TCP, ICMP)
        set(l4 + pick([6, 16, 2], at), val);
        break;
      case 11: // IP version
        set(14, (val & 0xf0) | (f[14] & 15));
        break;
      case 12: // the first bytes of L4 (ports, ICMP type and code, TCP data offset and flags)
        if (f.length > l4) f[l4 + (at % Math.min(f.length - l4, 16))] ^= (val % 255) + 1;
        break;
      default: // addresses: one of the router's, broadcast, zero, loopback, multicast
        if (f.length >= 34) f.set(pick([[192, 0, 2, 1], [255, 255, 255, 255], [0, 0, 0, 0], [127, 0, 0, 1], [224, 0, 0, 5], [198, 51, 100, 1], [203, 0, 113, 100]], val), 26 + (at % 2) * 4);
    }
  }
  if (fix) fixIpChecksum(f);
  return f;
}

// ---- The run.

export interface RunResult {
  batches: number;
  frames: number;
  sent: number;
}

export interface RunOptions {
  /** Audit the flow state after every this many batches (and after the last); default AUDIT_EVERY (1: find the batch that broke it). */
  auditEvery?: number;
  /**
   * Also expect every checksum of every IPv4 frame sent to verify (TCP, UDP
   * and ICMP, what an ICMP error quotes): for scripts of valid frames only.
   */
  checksums?: boolean;
  /** Sees each batch as it went (for a test that digs into a failure). */
  onBatch?: (b: number, h: Harness, frames: readonly { port: string; frame: Uint8Array }[], out: readonly Sent[], counters: Record<string, number>) => void;
}

/** Sends the script through a new router (fast path on or off), checking it after every batch; throws at the first problem. */
export function runScript(script: readonly BatchSpec[], fastPath: boolean, opts: RunOptions = {}): RunResult {
  const auditEvery = opts.auditEvery ?? AUDIT_EVERY;
  const h = new Harness(CONFIG, {}, { clock: new ManualClock(1_700_000_000_000), fastPath });
  const m = new Memory();
  const names = h.config.ports.map((p) => p.name);
  let fates = portFates(h);
  const result = { batches: 0, frames: 0, sent: 0 };
  const fail = (b: number, what: string, problems: string[]) => {
    if (problems.length > 0) throw new Error(`batch ${b}: ${what}:\n  ${problems.slice(0, 8).join('\n  ')}`);
  };
  script.forEach((spec, b) => {
    h.clock.advance(spec.advanceMs);
    const frames = m.later.splice(0, MAX_RX);
    for (const fs of spec.frames) {
      const hdr = headerOpts(fs.header, fs.r);
      const built = TEMPLATES[fs.kind](fs.r, m, hdr);
      const port = fs.port === null ? built.port : PORTS[fs.port];
      const mutated = built.frames.map((f) => (fs.mutations.length > 0 ? mutate(f, fs.mutations, fs.fix) : f));
      // Fragments: some now, the rest in a later batch (as is whatever the batch has no room for).
      const now = built.frames.length > 1 ? 1 + (fs.r[7] % built.frames.length) : 1;
      for (const [i, frame] of mutated.entries()) (i < now && frames.length < MAX_RX ? frames : m.later).push({ port, frame });
    }
    if (m.later.length > 4 * MAX_RX) m.later.splice(0, m.later.length - 4 * MAX_RX);
    const { out, counters } = h.send(frames);
    opts.onBatch?.(b, h, frames, out, counters);
    result.batches++;
    result.frames += frames.length;
    result.sent += out.length;
    fail(b, 'frames sent', frameProblems(h, out));
    if (opts.checksums) fail(b, 'checksums', checksumProblems(out));
    const next = portFates(h);
    fail(b, 'accounting', accountingProblems(fates, next, out.length, names));
    fates = next;
    m.learn(out);
    if (b % auditEvery === auditEvery - 1 || b === script.length - 1) fail(b, 'flow state', flowStateProblems(h));
  });
  return result;
}

