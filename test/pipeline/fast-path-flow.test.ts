// The fused fast path with its flow stage (ip4-fast-flow.ts) against the
// full graph, where stateful features are configured: two routers from the
// same config, one with the fast path and one without (fastPath: false),
// given the same batches of whole conversations (TCP handshakes, data both
// ways, FIN and RST; UDP; ICMP echo) with unusual packets mixed in (TTL 1,
// first fragments, IP options, bad checksums, UDP without a checksum, ICMP
// errors about the flows),
// the clock moving between batches (flows expire), and real captures.
// Whatever the fast path takes or leaves, the frames out, the counters (but
// its own), each port's fates, every flow-table record (keys, state, last
// seen, flags, generation, user words) and the load balancer's per-backend
// counters must be the full graph's.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, type RouterConfig } from '../../src/config/load.js';
import { Action, Section, type ClassifierRule, type FirewallPlan, type RuleOrigin } from '../../src/firewall/plan.js';
import { FirewallClassifier } from '../../src/firewall/classifier.js';
import { Rec } from '../../src/flow/flow-table.js';
import type { LbModeName, VipConfig } from '../../src/lb/lb-config.js';
import { createNatTables } from '../../src/nat/nat-tables.js';
import { trackingConfig } from '../../src/nat/nat-config.js';
import { readCapture } from '../../src/pcap/reader.js';
import { Batch } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';
import { parseIpv4 } from '../../src/route/prefix.js';
import { skipIf } from '../skip.js';
import { echoFrame, icmpErrorFrame, icmpQueryFrame, tcpFrame, udpFrame, type IpOpts } from './build.js';
import { BASE_CONFIG } from './harness.js';

const MACS = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03'];
const LAN = 0;
const WAN = 1;
const CLIENTS = Array.from({ length: 8 }, (_, i) => `192.0.2.${10 + i}`);
const BACKENDS = ['198.51.100.11', '198.51.100.12', '198.51.100.13'];
const VIP = '203.0.113.100';
// The harness's router with a default route, the lan clients and the backends resolved, and room for flows.
const CONFIG =
  BASE_CONFIG.replace('routes:\n', 'routes:\n  - 0.0.0.0/0 via 198.51.100.254\n').replace(
    'neighbors:\n',
    `neighbors:\n  - { address: 198.51.100.253, mac: "02:bb:00:00:00:fd" }\n${CLIENTS.slice(1)
      .map((a, i) => `  - { address: ${a}, mac: "02:aa:00:00:01:${(i + 2).toString(16).padStart(2, '0')}" }\n`)
      .join('')}${BACKENDS.map((a, i) => `  - { address: ${a}, mac: "02:bb:00:00:01:${(i + 1).toString(16).padStart(2, '0')}" }\n`).join('')}`,
  ) + 'conntrack: { capacity: 4096 }\n';

type Configure = (c: RouterConfig) => RouterConfig;

interface Out {
  port: number;
  bytes: Uint8Array;
}

interface Result {
  byTime: string[];
  outs: Out[];
  counters: Record<string, number>;
  fates: number[];
  taken: number;
}

class Subject {
  readonly batch = new Batch({ rxCapacity: 256, generatedCapacity: 256 });
  readonly router: Router;
  readonly clock = new ManualClock(1000);

  constructor(yaml: string, fastPath: boolean, configure?: Configure) {
    const parsed = parseConfig(yaml, 'test.yaml', '.');
    const config = configure ? configure(parsed) : parsed;
    const { fib, nexthops } = compileFib(config);
    // Seeded NAT tables (ports are handed out in a random order otherwise), made as the router would make its own.
    const tracking = trackingConfig(config);
    const affinityMs = config.loadBalancer?.vips.reduce((m, v) => Math.max(m, v.affinity?.timeoutMs ?? 0), 0);
    const nat = tracking && { buffers: createNatTables(tracking, config.ports.map((p) => p.address), { capacity: config.conntrack.capacity, workers: 1, seed: 1, affinityMs }), worker: 0 };
    this.router = new Router(config, fib, nexthops, { clock: this.clock, batchCapacity: this.batch.capacity, maxFrame: this.batch.maxFrame, fastPath, nat });
  }

  run(frames: readonly Out[]): Result {
    const b = this.batch;
    b.reset();
    frames.forEach((f, i) => {
      if (b.pushFrame(f.bytes, 0, f.bytes.length, f.port, 1, i) < 0) throw new Error('batch full');
    });
    const before = this.router.counters.nonZero();
    const takenBefore = this.router.fast?.taken ?? 0;
    this.router.process(b);
    const g = this.router.graph;
    const slots = Array.from(g.output.subarray(0, g.outputCount)).sort((x, y) => b.tsNsec[x] - b.tsNsec[y]);
    const counters: Record<string, number> = {};
    for (const [name, v] of Object.entries(this.router.counters.nonZero())) {
      const d = v.packets - (before[name]?.packets ?? 0);
      if (d !== 0 && !name.startsWith('ip4-fast/')) counters[name] = d;
    }
    return {
      byTime: slots.map((s) => `${b.txPort[s]} ${Buffer.from(b.bytes(s)).toString('hex')}`),
      outs: slots.map((s) => ({ port: b.txPort[s], bytes: b.bytes(s).slice() })),
      counters,
      fates: Array.from(g.fateByRxPort.subarray(0, 16)),
      taken: (this.router.fast?.taken ?? 0) - takenBefore,
    };
  }

  /** Every flow-table record in use, and the load balancer's counters. */
  state(): { flows: number[][]; lb: number[] } {
    const flows = this.router.nat!.flows;
    const out = new Int32Array(Rec.WORDS);
    const records: number[][] = [];
    const r = flows.usedRanges();
    for (let w = 0; w < r.length; w += 2) for (let id = r[w]; id < r[w + 1]; id++) if (flows.readRecord(id, out)) records.push([id, ...out]);
    return { flows: records, lb: this.router.lb ? Array.from(this.router.lb.tables.counters[0]) : [] };
  }
}

function twins(yaml: string, configure?: Configure) {
  const fast = new Subject(yaml, true, configure);
  const full = new Subject(yaml, false, configure);
  let taken = 0;
  let total = 0;
  return {
    fast,
    full,
    get taken() {
      return taken;
    },
    get total() {
      return total;
    },
    advance(ms: number) {
      fast.clock.advance(ms);
      full.clock.advance(ms);
    },
    /** One batch through both: the same frames, counters, fates and flow-table state; returns the outputs. */
    same(frames: readonly Out[]): Out[] {
      const a = fast.run(frames);
      const b = full.run(frames);
      expect(a.byTime).toEqual(b.byTime);
      expect(a.counters).toEqual(b.counters);
      expect(a.fates).toEqual(b.fates);
      expect(fast.state()).toEqual(full.state());
      taken += a.taken;
      total += frames.length;
      return b.outs;
    },
  };
}

/** xorshift32: the same conversations every run. */
function rng(seed: number) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;
const RST = 0x04;
type Odd = 'ttl1' | 'frag' | 'options' | 'badsum' | 'error' | 'ecn' | 'nocsum' | undefined;

interface Ev {
  dir: 0 | 1;
  flags: number;
  odd: Odd;
}

interface Conv {
  f: number;
  proto: number;
  port: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  events: Ev[];
  next: number;
  /** The first packet as it left the router (learned from the output by its IP id): where replies come from. */
  out?: { port: number; src: string; dst: string; sport: number; dport: number };
}

function addr(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/**
 * Conversations: TCP (handshake, data both ways, then FIN/FIN or RST), UDP,
 * ICMP echo, from `initiators` (port, source) to `target(f)`, with unusual
 * packets mixed in. `replies`: the responder answers through the router.
 */
function conversations(n: number, seed: number, initiators: readonly { port: number; src: string }[], target: (f: number, proto: number) => { dst: string; dport: number }, replies: boolean, protos = [6, 6, 17, 1]): Conv[] {
  const r = rng(seed);
  const odd = (): Odd => {
    const x = r();
    if (x > 0.12) return undefined;
    return (['ttl1', 'frag', 'options', 'badsum', 'error', 'ecn', 'nocsum'] as const)[Math.floor(r() * 7)];
  };
  const convs: Conv[] = [];
  for (let f = 0; f < n; f++) {
    const proto = protos[f % protos.length];
    const from = initiators[f % initiators.length];
    const { dst, dport } = target(f, proto);
    const events: Ev[] = [];
    const data = 4 + Math.floor(r() * 12);
    const dirOf = (): 0 | 1 => (replies && r() < 0.5 ? 1 : 0);
    if (proto === 6) {
      events.push({ dir: 0, flags: SYN, odd: undefined });
      if (replies) events.push({ dir: 1, flags: SYN | ACK, odd: undefined });
      events.push({ dir: 0, flags: ACK, odd: undefined });
      for (let i = 0; i < data; i++) events.push({ dir: dirOf(), flags: ACK | (r() < 0.5 ? PSH : 0), odd: odd() });
      const end = r();
      if (end < 0.2) events.push({ dir: dirOf(), flags: RST, odd: undefined }, { dir: dirOf(), flags: ACK, odd: undefined });
      else if (end < 0.8) {
        const a = dirOf();
        events.push({ dir: a, flags: FIN | ACK, odd: undefined }, { dir: (replies ? 1 - a : 0) as 0 | 1, flags: ACK, odd: undefined });
        events.push({ dir: (replies ? 1 - a : 0) as 0 | 1, flags: FIN | ACK, odd: undefined }, { dir: a, flags: ACK, odd: undefined });
        for (let i = 0; i < 2; i++) events.push({ dir: dirOf(), flags: ACK, odd: undefined });
      }
    } else {
      events.push({ dir: 0, flags: 0, odd: undefined });
      for (let i = 0; i < data; i++) events.push({ dir: dirOf(), flags: 0, odd: odd() });
    }
    convs.push({ f, proto, port: from.port, src: from.src, dst, sport: 30000 + f, dport, events, next: 0 });
  }
  return convs;
}

function frameOf(c: Conv, ev: Ev, seq: number): Out | undefined {
  let port: number;
  let ip: IpOpts;
  let sport: number;
  let dport: number;
  if (ev.dir === 0) {
    port = c.port;
    ip = { src: c.src, dst: c.dst, dstMac: MACS[c.port], id: c.f };
    sport = c.sport;
    dport = c.dport;
  } else {
    const o = c.out!;
    port = o.port;
    ip = { src: o.dst, dst: o.src, dstMac: MACS[o.port], id: 0x4000 | c.f };
    sport = o.dport;
    dport = o.sport;
  }
  if (ev.odd === 'ttl1') ip.ttl = 1;
  if (ev.odd === 'frag') ip.mf = true;
  if (ev.odd === 'options') ip.options = [{ type: 7, data: new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0, 0]) }];
  if (ev.odd === 'ecn') ip.tos = 3;
  if (ev.odd === 'error') {
    // The responder's side says the initiator's packet (as it left the router) did not get through.
    if (c.out === undefined) return undefined;
    const o = c.out;
    const quote = c.proto === 6 ? tcpFrame({ src: o.src, dst: o.dst }, o.sport, o.dport, ACK, 4) : c.proto === 17 ? udpFrame({ src: o.src, dst: o.dst }, o.sport, o.dport) : echoFrame({ src: o.src, dst: o.dst }, o.sport, 1);
    return { port: o.port, bytes: icmpErrorFrame({ src: o.dst, dst: o.src, dstMac: MACS[o.port] }, 3, 3, quote.subarray(14)) };
  }
  let bytes: Uint8Array;
  if (c.proto === 6) bytes = tcpFrame(ip, sport, dport, ev.flags, ev.flags & PSH ? 10 + (seq % 40) : 0, 1000 + seq);
  else if (c.proto === 17) bytes = udpFrame(ip, sport, dport, 18 + (seq % 30));
  else bytes = ev.dir === 0 ? echoFrame(ip, sport, seq, 8) : icmpQueryFrame(ip, 0, sport, seq, 8);
  if (ev.odd === 'badsum') bytes[14 + 10] ^= 0x5a;
  // UDP without a checksum (RFC 768: zero), which a translation must leave without one.
  if (ev.odd === 'nocsum' && c.proto === 17) {
    bytes[14 + 20 + 6] = 0;
    bytes[14 + 20 + 7] = 0;
  }
  return { port, bytes };
}

/** Learns where each conversation's first packets left (by IP id) from a batch's outputs. */
function learn(convs: readonly Conv[], outs: readonly Out[]): void {
  for (const o of outs) {
    const b = o.bytes;
    if (b.length < 34 || b[12] !== 0x08 || b[13] !== 0x00) continue;
    const id = (b[18] << 8) | b[19];
    if (id >= convs.length) continue;
    const c = convs[id];
    const proto = b[23];
    if (proto !== c.proto) continue;
    const l4 = 14 + ((b[14] & 0x0f) << 2);
    const sport = proto === 1 ? (b[l4 + 4] << 8) | b[l4 + 5] : (b[l4] << 8) | b[l4 + 1];
    const dport = proto === 1 ? sport : (b[l4 + 2] << 8) | b[l4 + 3];
    c.out = { port: o.port, src: addr(b, 26), dst: addr(b, 30), sport, dport };
  }
}

/**
 * Runs the conversations to the end, interleaved at random in batches (one
 * to three events of a flow in a row, so a FIN and the ACK after it share a
 * batch), the clock moving a second per batch and now and then past the
 * UDP and ICMP timeouts.
 */
function drive(t: ReturnType<typeof twins>, convs: Conv[], seed: number): void {
  const r = rng(seed);
  let seq = 0;
  for (let round = 0; round < 400; round++) {
    const frames: Out[] = [];
    const order = convs.filter((c) => c.next < c.events.length);
    if (order.length === 0) break;
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const c of order) {
      if (frames.length > 200) break;
      const first = c.next === 0;
      const take = first ? 1 : 1 + Math.floor(r() * 3);
      for (let k = 0; k < take && c.next < c.events.length; k++) {
        const ev = c.events[c.next];
        if (ev.dir === 1 && c.out === undefined) break;
        c.next++;
        const fr = frameOf(c, ev, seq++);
        if (fr !== undefined) frames.push(fr);
      }
    }
    learn(convs, t.same(frames));
    t.advance(round % 17 === 16 ? 130_000 : 1000);
  }
  expect(convs.every((c) => c.next === c.events.length)).toBe(true);
}

const lanClients = CLIENTS.map((src) => ({ port: LAN, src }));
const toServers = (f: number) => ({ dst: `198.19.${f % 8}.${1 + (f % 5)}`, dport: 1000 + f });

const host = (a: string) => ({ include: [{ addr: parseIpv4(a), len: 32 }], except: [] });
const any = () => ({ include: [{ addr: 0, len: 0 }], except: [] });
/** The lan clients are endpoints: egress allowed (tracked), ingress denied but for TCP 80 to the first. */
function firewallPlan(denyEgressTo?: number): FirewallPlan {
  const origins: RuleOrigin[] = [
    { kind: 'implied', name: 'implied-deny-ingress', direction: 'ingress', priority: 65535, action: Action.DENY },
    { kind: 'implied', name: 'implied-allow-egress', direction: 'egress', priority: 65535, action: Action.ALLOW },
    { kind: 'vpc', name: 'allow-web', direction: 'ingress', priority: 1000, action: Action.ALLOW },
  ];
  const rules: ClassifierRule[] = CLIENTS.flatMap((c) => [
    { section: Section.VPC_INGRESS, priority: 65535, action: Action.DENY, src: any(), dst: host(c), ports: [], origin: 0 },
    { section: Section.VPC_EGRESS, priority: 65535, action: Action.ALLOW, src: host(c), dst: any(), ports: [], origin: 1 },
  ]);
  rules.push({ section: Section.VPC_INGRESS, priority: 1000, action: Action.ALLOW, src: any(), dst: host(CLIENTS[0]), ports: [{ proto: 6, lo: 80, hi: 80 }], origin: 2 });
  if (denyEgressTo !== undefined) {
    origins.push({ kind: 'vpc', name: 'deny-some', direction: 'egress', priority: 900, action: Action.DENY });
    for (const c of CLIENTS) rules.push({ section: Section.VPC_EGRESS, priority: 900, action: Action.DENY, src: host(c), dst: any(), ports: [{ proto: 17, lo: denyEgressTo, hi: 2000 }], origin: 3 });
  }
  return { rules, origins, endpoints: CLIENTS.map((c) => parseIpv4(c)) };
}

function vip(mode: LbModeName, protocol: number): VipConfig {
  return {
    name: `v${protocol}`, address: parseIpv4(VIP) >>> 0, protocol, port: 0, mode, tableSize: 251, hash: 'five-tuple',
    affinity: undefined, healthCheck: undefined, dynamicWeights: undefined, snat: false, guePort: 6080,
    backends: BACKENDS.map((a) => ({ address: parseIpv4(a) >>> 0, weight: 100 })),
  };
}

describe('ip4-fast with its flow stage: established flows in one pass, the same result as the full graph', () => {
  for (const filtering of ['endpoint-independent', 'address-dependent', 'address-and-port-dependent']) {
    it(`NAT masquerade, ${filtering} filtering: TCP, UDP and ICMP conversations, unusual packets, expiry`, () => {
      const t = twins(`${CONFIG}nat:\n  masquerade:\n    - { outPort: wan }\n  filtering: ${filtering}\n`);
      drive(t, conversations(60, 7 + filtering.length, lanClients, toServers, true), 3);
      // Most packets of established flows took the fast path; handshakes, FINs, RSTs and the odd ones did not.
      expect(t.taken).toBeGreaterThan(t.total * 0.3);
      expect(t.taken).toBeLessThan(t.total);
    });
  }

  it('TTL - 1 and the translation in one header checksum update: the checksum edges (0x0000, 0x0001, 0xfffe) as the full graph writes them, both ways', () => {
    const t = twins(`${CONFIG}nat:\n  masquerade:\n    - { outPort: wan }\n`);
    const client = CLIENTS[0];
    const server = '198.19.3.4';
    // The flow, and its first reply (which moves it to UDP_REPLIED: its later packets both ways are usual ones).
    const first = t.same([{ port: LAN, bytes: udpFrame({ src: client, dst: server, ttl: 64 }, 40000, 53) }])[0].bytes;
    const natPort = (first[34] << 8) | first[35];
    const masq = Array.from(first.subarray(26, 30)).join('.');
    const reply = (id: number, ttl: number) => udpFrame({ src: server, dst: masq, id, ttl, srcMac: '02:bb:00:00:00:fe', dstMac: MACS[WAN] }, 53, natPort);
    const outbound = (id: number, ttl: number) => udpFrame({ src: client, dst: server, id, ttl }, 40000, 53);
    t.same([{ port: WAN, bytes: reply(1, 50) }]);
    const fold = (x: number) => {
      while (x > 0xffff) x = (x & 0xffff) + (x >>> 16);
      return x;
    };
    // The ones' complement sum of the header's words but the checksum.
    const headerSum = (b: Uint8Array) => {
      let x = 0;
      for (let w = 14; w < 34; w += 2) if (w !== 24) x += (b[w] << 8) | b[w + 1];
      return fold(x);
    };
    for (const [port, make] of [[LAN, outbound], [WAN, reply]] as const) {
      for (const ttl of [64, 2, 255]) {
        // The sum out with IP id 0; the id that makes the checksum out come to `c` adds ~c minus that.
        const probe = t.same([{ port, bytes: make(0, ttl) }])[0].bytes;
        const s0 = headerSum(probe);
        for (const c of [0x0000, 0x0001, 0xfffe]) {
          const id = fold(0xffff - c + (0xffff - s0)) % 0xffff;
          const before = t.taken;
          const out = t.same([{ port, bytes: make(id, ttl) }])[0].bytes;
          expect(t.taken - before).toBe(1); // the fast path took it
          expect(out[22]).toBe(ttl - 1);
          expect((out[24] << 8) | out[25]).toBe(c);
          expect(fold(headerSum(out) + c)).toBe(0xffff);
        }
      }
    }
  });

  it('SNAT to a pool with port ranges, and DNAT (port forwarding) from outside', () => {
    const yaml = `${CONFIG}nat:\n  snat:\n    - { match: { src: 192.0.2.0/25 }, outPort: wan, to: 198.51.100.100-198.51.100.101, ports: 20000-29999 }\n  dnat:\n    - { inPort: wan, proto: tcp, dport: 8080, to: "192.0.2.10:80" }\n    - { inPort: wan, proto: udp, dport: 5353, to: "192.0.2.11:53" }\n`;
    const t = twins(yaml);
    const outbound = conversations(40, 11, lanClients, toServers, true);
    const outside = Array.from({ length: 8 }, (_, i) => ({ port: WAN, src: `198.19.${10 + i}.7` }));
    const inbound = conversations(24, 12, outside, (_f, proto) => ({ dst: '198.51.100.1', dport: proto === 6 ? 8080 : 5353 }), true, [6, 17]);
    for (const c of inbound) c.f += outbound.length;
    drive(t, [...outbound, ...inbound], 5);
    expect(t.taken).toBeGreaterThan(t.total * 0.3);
  });

  it('a stateful firewall (tracking without NAT), and a new rule generation between batches: old flows judged again', () => {
    const t = twins(CONFIG, (c) => ({ ...c, firewall: firewallPlan() }));
    const convs = conversations(48, 21, lanClients, toServers, true);
    // Half way, the rules change: flows judged by the old ones are judged again (UDP to ports 1024-2000 now denied).
    const half = convs.map((c) => ({ ...c, events: c.events.slice(0, Math.ceil(c.events.length / 2)) }));
    drive(t, half, 9);
    const before = t.taken;
    expect(before).toBeGreaterThan(0);
    for (const s of [t.fast, t.full]) s.router.firewall!.publish(FirewallClassifier.build(firewallPlan(1024)));
    for (let i = 0; i < convs.length; i++) {
      convs[i].next = half[i].next;
      convs[i].out = half[i].out;
    }
    drive(t, convs, 10);
    expect(t.taken).toBeGreaterThan(before);
    expect(t.full.router.counters.get('ct-input/policy-changed').packets).toBeGreaterThan(0);
    expect(t.fast.router.counters.get('ct-input/policy-changed').packets).toBe(t.full.router.counters.get('ct-input/policy-changed').packets);
  });

  for (const mode of ['dsr-l2', 'dsr-ipip', 'dsr-gue', 'nat'] as const) {
    it(`the load balancer, ${mode}: pinned flows (TCP and UDP VIPs), backends drained and taken down between batches`, () => {
      const t = twins(CONFIG, (c) => ({ ...c, loadBalancer: { vips: [vip(mode, 6), vip(mode, 17)] } }));
      const convs = conversations(60, 31, lanClients, (f) => ({ dst: VIP, dport: 80 + (f % 3) }), mode === 'nat', [6, 17]);
      const half = convs.map((c) => ({ ...c, events: c.events.slice(0, Math.ceil(c.events.length / 2)) }));
      drive(t, half, 13);
      // A backend drained (its flows stay) and one down (its direct-return flows move).
      for (const s of [t.fast, t.full]) {
        for (const v of [0, 1]) {
          s.router.lbControl!.setEffectiveWeights(v, [0, 100, 100]);
          s.router.lbControl!.setHealth(v, 1, false);
        }
      }
      for (let i = 0; i < convs.length; i++) {
        convs[i].next = half[i].next;
        convs[i].out = half[i].out;
      }
      drive(t, convs, 14);
      // Tunnel modes too: flow-encap wraps established flows' packets on the fast path.
      expect(t.taken).toBeGreaterThan(t.total * 0.3);
    });
  }

  const REAL = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'pcaps', 'tcpreplay');
  it('real captures (tcpreplay corpus) through a masquerading NAT: the same frames, counters, fates and flows', skipIf(existsSync(REAL) ? undefined : `no capture corpus at ${REAL}`), () => {
    const t = twins(`${CONFIG}nat:\n  masquerade:\n    - { outPort: wan }\n`);
    for (const name of readdirSync(REAL).filter((n) => n.endsWith('.pcap')).sort()) {
      let batch: Out[] = [];
      const flush = () => {
        if (batch.length > 0) t.same(batch);
        batch = [];
        t.advance(1);
      };
      for (const rec of readCapture(join(REAL, name))) {
        const bytes = rec.data.slice();
        if (bytes.length >= 14 && (bytes[0] & 1) === 0) bytes.set([2, 0, 0, 0, 0, 1], 0);
        // ARP frames send a batch to the full graph whole: left out, so the flows' batches are the fast path's to take.
        if (bytes.length > t.fast.batch.maxFrame || (bytes[12] === 0x08 && bytes[13] === 0x06)) continue;
        batch.push({ port: LAN, bytes });
        if (batch.length === 256) flush();
      }
      flush();
    }
    expect(t.total).toBeGreaterThan(1000);
    expect(t.taken).toBeGreaterThan(100);
  });
});
