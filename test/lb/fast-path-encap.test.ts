// dsr-ipip and dsr-gue on the fast path (pipeline/nodes/flow-encap.ts):
// two routers from one config, one with the fast path and one without
// (fastPath: false), given the same batches. Established flows' packets are
// wrapped by the fast path (all of them, where nothing sends them elsewhere),
// and its frames, counters, fates, flow records and backend counters are the
// full graph's; the frames are also checked field by field (outer header,
// checksum, TTL, GUE port, inner packet untouched). What the fast path must
// leave to the full graph (too big once wrapped, fragments, TTL 1, no
// neighbor, an ECMP route) gets the full graph's answer, ICMP fragmentation
// needed with the MTU left for the packet included.
import { describe, expect, it } from 'vitest';
import { parseConfig, type RouterConfig } from '../../src/config/load.js';
import { Rec } from '../../src/flow/flow-table.js';
import type { LbModeName, VipConfig } from '../../src/lb/lb-config.js';
import { lbFlowHash } from '../../src/lb/lb-hash.js';
import { createNatTables } from '../../src/nat/nat-tables.js';
import { trackingConfig } from '../../src/nat/nat-config.js';
import { Batch } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';
import { parseIpv4 } from '../../src/route/prefix.js';
import { internetChecksum } from '../../src/wire/checksum.js';
import { tcpFrame, udpFrame, type IpOpts } from '../pipeline/build.js';

const CONFIG = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24, mtu: 1400 }
  - { name: dmz, mac: "02:00:00:00:00:03", address: 203.0.113.1/26 }
routes:
  - 198.19.0.0/16 via 198.51.100.254
  - 198.18.3.0/24 nexthop via 203.0.113.2 nexthop via 203.0.113.3
neighbors:
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 192.0.2.11, mac: "02:aa:00:00:00:02" }
  - { address: 198.51.100.11, mac: "02:bb:00:00:00:11" }
  - { address: 198.51.100.12, mac: "02:bb:00:00:00:12" }
  - { address: 198.51.100.254, mac: "02:bb:00:00:00:fe" }
  - { address: 203.0.113.2, mac: "02:cc:00:00:00:02" }
  - { address: 203.0.113.3, mac: "02:cc:00:00:00:03" }
icmp: { ratePerSecond: 100000, burst: 10000 }
conntrack: { capacity: 4096 }
`;
const LAN = 0;
const WAN_ADDRESS = '198.51.100.1';
const CLIENTS = ['192.0.2.10', '192.0.2.11'];
const VIP = '203.0.113.100';
/** Attached with a neighbor; behind a gateway (198.19/16 via .254). */
const BACKENDS = ['198.51.100.11', '198.51.100.12', '198.19.5.5'];
const NEXT_HOP_MAC: Record<string, string> = { '198.51.100.11': '02bb00000011', '198.51.100.12': '02bb00000012', '198.19.5.5': '02bb000000fe' };

function vip(mode: LbModeName, protocol: number, backends: readonly string[] = BACKENDS): VipConfig {
  return {
    name: `v${protocol}`, address: parseIpv4(VIP) >>> 0, protocol, port: 0, mode, tableSize: 251, hash: 'five-tuple',
    affinity: undefined, healthCheck: undefined, dynamicWeights: undefined, snat: false, guePort: 6080,
    backends: backends.map((a) => ({ address: parseIpv4(a) >>> 0, weight: 100 })),
  };
}

interface Out {
  port: number;
  bytes: Uint8Array;
}

class Subject {
  readonly batch = new Batch({ rxCapacity: 256, generatedCapacity: 256 });
  readonly router: Router;
  readonly clock = new ManualClock(1000);

  constructor(fastPath: boolean, configure: (c: RouterConfig) => RouterConfig) {
    const config = configure(parseConfig(CONFIG, 'test.yaml', '.'));
    const { fib, nexthops } = compileFib(config);
    const tracking = trackingConfig(config)!;
    const nat = { buffers: createNatTables(tracking, config.ports.map((p) => p.address), { capacity: config.conntrack.capacity, workers: 1, seed: 1 }), worker: 0 };
    this.router = new Router(config, fib, nexthops, { clock: this.clock, batchCapacity: this.batch.capacity, maxFrame: this.batch.maxFrame, fastPath, nat });
  }

  run(frames: readonly Uint8Array[]) {
    const b = this.batch;
    b.reset();
    frames.forEach((f, i) => {
      if (b.pushFrame(f, 0, f.length, LAN, 1, i) < 0) throw new Error('batch full');
    });
    const before = this.router.counters.nonZero();
    const takenBefore = this.router.fast?.taken ?? 0;
    this.router.process(b);
    const g = this.router.graph;
    const slots = Array.from(g.output.subarray(0, g.outputCount)).sort((x, y) => b.tsNsec[x] - b.tsNsec[y]);
    // The outer headers were put in front inside each packet's own slot: nothing written into a neighbouring one.
    for (const s of slots) {
      if (s < b.rxCapacity) {
        expect(b.start[s]).toBeGreaterThanOrEqual(s * b.slotStride);
        expect(b.start[s] + b.length[s]).toBeLessThanOrEqual(s * b.slotStride + b.slotBytes);
      }
    }
    const counters: Record<string, number> = {};
    for (const [name, v] of Object.entries(this.router.counters.nonZero())) {
      const d = v.packets - (before[name]?.packets ?? 0);
      const bytes = v.bytes - (before[name]?.bytes ?? 0);
      if (d !== 0 && !name.startsWith('ip4-fast/')) counters[name] = d * 1e6 + bytes;
    }
    return {
      hex: slots.map((s) => `${b.txPort[s]} ${Buffer.from(b.bytes(s)).toString('hex')}`),
      outs: slots.map((s): Out => ({ port: b.txPort[s], bytes: b.bytes(s).slice() })),
      counters,
      fates: Array.from(g.fateByRxPort.subarray(0, 16)),
      taken: (this.router.fast?.taken ?? 0) - takenBefore,
    };
  }

  state(): { flows: number[][]; lb: number[] } {
    const flows = this.router.nat!.flows;
    const out = new Int32Array(Rec.WORDS);
    const records: number[][] = [];
    const r = flows.usedRanges();
    for (let w = 0; w < r.length; w += 2) for (let id = r[w]; id < r[w + 1]; id++) if (flows.readRecord(id, out)) records.push([id, ...out]);
    return { flows: records, lb: Array.from(this.router.lb!.tables.counters[0]) };
  }
}

/** Both routers, the same batches: everything the same; returns the outputs and how many the fast path took. */
function twins(configure: (c: RouterConfig) => RouterConfig) {
  const fast = new Subject(true, configure);
  const full = new Subject(false, configure);
  return {
    fast,
    full,
    same(frames: readonly Uint8Array[]): { outs: Out[]; taken: number; counters: Record<string, number> } {
      const a = fast.run(frames);
      const b = full.run(frames);
      expect(a.hex).toEqual(b.hex);
      expect(a.counters).toEqual(b.counters);
      expect(a.fates).toEqual(b.fates);
      expect(fast.state()).toEqual(full.state());
      expect(b.taken).toBe(0);
      return { outs: b.outs, taken: a.taken, counters: a.counters };
    },
  };
}

const u32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const u16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const ip = (b: Uint8Array, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const hex = (b: Uint8Array, from: number, to: number) => Buffer.from(b.subarray(from, to)).toString('hex');

/** A flow's packet: client c (0, 1), source port, TCP (ACK, with payload) or UDP, and header options. */
function packet(proto: number, c: number, sport: number, payload: number, opts: Partial<IpOpts> = {}, tcpFlags = 0x10): Uint8Array {
  const ipo: IpOpts = { src: CLIENTS[c], dst: VIP, dstMac: '02:00:00:00:00:01', ...opts };
  return proto === 6 ? tcpFrame(ipo, sport, 80, tcpFlags, payload, 1000 + payload) : udpFrame(ipo, sport, 53, payload);
}

/**
 * Checks one tunnelled frame field by field against the packet it carries:
 * Ethernet to the next hop's MAC from wan's, outer IPv4 from wan's address to
 * a backend with TTL 63, a valid checksum, TOS and DF copied, ID 0 with DF;
 * GUE: UDP from 49152 + the inner flow hash to 6080, checksum 0, GUE header
 * version 0 protocol 4; the inner packet byte for byte as sent. Returns the backend.
 */
function checkTunnelled(mode: LbModeName, out: Out, sent: Uint8Array): string {
  const b = out.bytes;
  const gue = mode === 'dsr-gue';
  const overhead = gue ? 32 : 20;
  expect(out.port).toBe(1);
  expect(hex(b, 6, 14)).toBe('020000000002' + '0800');
  const o = 14;
  const inner = o + overhead;
  const innerLen = u16(sent, 16);
  expect(b.length).toBe(14 + overhead + innerLen);
  expect(hex(b, inner, inner + innerLen)).toBe(hex(sent, 14, 14 + innerLen)); // the inner TTL too: not decremented
  expect(b[o]).toBe(0x45);
  expect(b[o + 1]).toBe(sent[15]);
  expect(u16(b, o + 2)).toBe(innerLen + overhead);
  expect(b[o + 6] & 0xbf).toBe(0);
  expect(b[o + 6] & 0x40).toBe(sent[20] & 0x40);
  expect(b[o + 7]).toBe(0);
  if ((sent[20] & 0x40) !== 0) expect(u16(b, o + 4)).toBe(0);
  expect(b[o + 8]).toBe(63);
  expect(b[o + 9]).toBe(gue ? 17 : 4);
  expect(internetChecksum(b, o, 20)).toBe(0);
  expect(ip(b, o + 12)).toBe(WAN_ADDRESS);
  const backend = ip(b, o + 16);
  expect(BACKENDS).toContain(backend);
  expect(hex(b, 0, 6)).toBe(NEXT_HOP_MAC[backend]);
  if (gue) {
    const u = o + 20;
    const s = sent;
    const hash = lbFlowHash(u32(s, 26) | 0, u32(s, 30) | 0, u32(s, 34) | 0, s[23]);
    expect(u16(b, u)).toBe(49152 + (hash & 0x3fff));
    expect(u16(b, u + 2)).toBe(6080);
    expect(u16(b, u + 4)).toBe(innerLen + 12);
    expect(u16(b, u + 6)).toBe(0);
    expect(hex(b, u + 8, u + 12)).toBe('00040000');
  }
  return backend;
}

const configure = (mode: LbModeName) => (c: RouterConfig): RouterConfig => ({ ...c, loadBalancer: { vips: [vip(mode, 6), vip(mode, 17)] } });
/** The first packets of flows (SYN for TCP): they start the flows in both routers (the full graph). */
const firsts = (flows: readonly [number, number, number][]) => flows.map(([proto, c, sport]) => packet(proto, c, sport, proto === 6 ? 0 : 10, { df: true }, 0x02));

describe('dsr-ipip and dsr-gue on the fast path (flow-encap): the full graph\'s frames, byte for byte', () => {
  for (const mode of ['dsr-ipip', 'dsr-gue'] as const) {
    it(`${mode}: established TCP and UDP flows, DF set and clear, TOS, sizes up to the MTU: all taken, field by field`, () => {
      const t = twins(configure(mode));
      const flows: [number, number, number][] = [];
      for (let f = 0; f < 24; f++) flows.push([f % 2 === 0 ? 6 : 17, f % 3 === 0 ? 1 : 0, 20000 + f]);
      const first = t.same(firsts(flows));
      expect(first.taken).toBe(0);
      const pinned = first.outs.map((o, k) => checkTunnelled(mode, o, firsts(flows)[k]));
      // Every backend gets flows (the gateway one included), so both kinds of next hop are exercised.
      expect(new Set(pinned).size).toBe(BACKENDS.length);
      const room = 1400 - (mode === 'dsr-gue' ? 32 : 20);
      const frames: Uint8Array[] = [];
      const of: number[] = [];
      for (let round = 0; round < 6; round++) {
        flows.forEach(([proto, c, sport], f) => {
          const header = proto === 6 ? 40 : 28;
          // Up to exactly the room the tunnel leaves (the largest that fits the egress MTU once wrapped).
          const payload = round === 5 ? room - header : (f * 37 + round * 101) % 600;
          frames.push(packet(proto, c, sport, payload, { df: (f + round) % 3 !== 0, tos: (f * 4) & 0xfc, id: (f * 977 + round * 13) & 0xffff, ttl: 2 + f }, round % 2 === 0 ? 0x10 : 0x18));
          of.push(f);
        });
      }
      const r = t.same(frames);
      expect(r.taken).toBe(frames.length);
      expect(r.outs.length).toBe(frames.length);
      r.outs.forEach((o, k) => expect(checkTunnelled(mode, o, frames[k])).toBe(pinned[of[k]]));
      expect(r.counters[`lb-encap/${mode === 'dsr-gue' ? 'gue' : 'ipip'}`]).toBeGreaterThan(frames.length * 1e6);
      // Outer IDs without DF: distinct inner IDs of a client (per protocol, as RFC 6864 asks of it) give distinct outer IDs.
      const ids = new Map<string, Set<number>>();
      let clear = 0;
      r.outs.forEach((o, k) => {
        if ((frames[k][20] & 0x40) !== 0) return;
        clear++;
        const who = `${ip(frames[k], 26)}/${frames[k][23]}`;
        const set = ids.get(who) ?? new Set<number>();
        expect(set.has(u16(o.bytes, 18)), `${who} inner id ${u16(frames[k], 18)}`).toBe(false);
        set.add(u16(o.bytes, 18));
        ids.set(who, set);
      });
      expect(clear).toBeGreaterThan(frames.length / 4);
    });

    it(`${mode}: too big once wrapped: ICMP fragmentation needed with the MTU left (DF), outer fragments (no DF), from the full graph`, () => {
      const t = twins(configure(mode));
      const flows: [number, number, number][] = [[6, 0, 30000], [17, 1, 30001]];
      t.same(firsts(flows));
      const overhead = mode === 'dsr-gue' ? 32 : 20;
      const room = 1400 - overhead;
      const fits = packet(6, 0, 30000, room - 40, { df: true });
      const tooBigDf = packet(6, 0, 30000, room - 40 + 1, { df: true });
      const tooBigUdp = packet(17, 1, 30001, room - 28 + 9, { df: false, id: 0x1234 });
      const fitsUdp = packet(17, 1, 30001, 100, { df: false });
      // The too-big packets go first: their flows' later packets in the batch go to the full graph too (order kept).
      const r = t.same([tooBigDf, fits, tooBigUdp, fitsUdp]);
      expect(r.taken).toBe(0);
      expect(r.counters['lb-forward/frag-needed']).toBe(1e6 + tooBigDf.length);
      const icmp = r.outs.filter((o) => o.port === LAN);
      expect(icmp.length).toBe(1);
      const e = icmp[0].bytes;
      expect(ip(e, 30)).toBe(CLIENTS[0]);
      expect(e[23]).toBe(1);
      expect([e[34], e[35]]).toEqual([3, 4]);
      expect(u16(e, 40)).toBe(room);
      // No DF: the outer datagram is cut to the wan MTU (two fragments), the same outer ID on both.
      const frags = r.outs.filter((o) => o.port === 1 && u16(o.bytes, 20) !== 0 && u16(o.bytes, 20) !== 0x4000);
      expect(frags.length).toBe(2);
      expect(u16(frags[0].bytes, 18)).toBe(u16(frags[1].bytes, 18));
      // In the next batch (nothing poisons them now), the ones that fit are taken.
      const next = t.same([fits, fitsUdp]);
      expect(next.taken).toBe(2);
      checkTunnelled(mode, next.outs[0], fits);
      checkTunnelled(mode, next.outs[1], fitsUdp);
    });

    it(`${mode}: fragments of an established flow take the full graph, each wrapped, with different outer IDs`, () => {
      const t = twins(configure(mode));
      t.same(firsts([[17, 0, 31000]]));
      const firstFrag = packet(17, 0, 31000, 200, { df: false, mf: true, id: 77 });
      const laterFrag = udpFrame({ src: CLIENTS[0], dst: VIP, dstMac: '02:00:00:00:00:01', id: 77, fragOffset: 26 }, 31000, 53, 40);
      const whole = packet(17, 0, 31000, 20, { df: false, id: 78 });
      const r = t.same([firstFrag, laterFrag, whole]);
      // The flow's whole packet after its first fragment is left to the full graph too (the fragment poisons the flow).
      expect(r.taken).toBe(0);
      expect(r.outs.length).toBe(3);
      const outerIds = r.outs.map((o) => u16(o.bytes, 18));
      expect(new Set(outerIds).size).toBe(3);
      const again = t.same([whole]);
      expect(again.taken).toBe(1);
    });

    it(`${mode}: TTL 1, a backend without a neighbor, one behind an ECMP route: the full graph's answer`, () => {
      // Backends: one with no neighbor entry (ARP), one on an ECMP route.
      const t = twins((c) => ({ ...c, loadBalancer: { vips: [vip(mode, 17, ['198.51.100.77']), vip(mode, 6, ['198.18.3.9'])] } }));
      t.same(firsts([[17, 0, 32000], [6, 0, 32001]]));
      const ttl1 = packet(17, 0, 32000, 10, { ttl: 1 });
      const arp = packet(17, 0, 32000, 10);
      const ecmp = packet(6, 0, 32001, 10);
      const r = t.same([ttl1, arp, ecmp]);
      expect(r.taken).toBe(0);
      expect(r.counters['ip4-rewrite/ttl-expired']).toBeGreaterThan(0);
      // With a TTL-1 packet first, ECMP alone: still nothing taken.
      expect(t.same([ecmp, ecmp]).taken).toBe(0);
      expect(t.same([arp]).taken).toBe(0);
    });
  }
});

describe('dsr-l2 on the fast path (flow-encap): the full graph\'s frames, byte for byte', () => {
  const ATTACHED = ['198.51.100.11', '198.51.100.12'];
  const l2 = (backends: readonly string[]) => (c: RouterConfig): RouterConfig => ({ ...c, loadBalancer: { vips: [vip('dsr-l2', 6, backends), vip('dsr-l2', 17, backends)] } });

  it('established TCP and UDP flows, TTLs, TOS, sizes up to the egress MTU: all taken, the backend\'s MAC, TTL - 1, the inner packet kept', () => {
    const t = twins(l2(ATTACHED));
    const flows: [number, number, number][] = [];
    for (let f = 0; f < 24; f++) flows.push([f % 2 === 0 ? 6 : 17, f % 3 === 0 ? 1 : 0, 21000 + f]);
    expect(t.same(firsts(flows)).taken).toBe(0);
    const frames: Uint8Array[] = [];
    for (let round = 0; round < 6; round++) {
      flows.forEach(([proto, c, sport], f) => {
        const header = proto === 6 ? 40 : 28;
        // Up to exactly the wan MTU (1400), the largest datagram ip4-rewrite sends unfragmented.
        const payload = round === 5 ? 1400 - header : (f * 37 + round * 101) % 600;
        frames.push(packet(proto, c, sport, payload, { df: (f + round) % 3 !== 0, tos: (f * 4) & 0xfc, id: (f * 977 + round * 13) & 0xffff, ttl: 2 + ((f * 53) % 250) }, round % 2 === 0 ? 0x10 : 0x18));
      });
    }
    const r = t.same(frames);
    expect(r.taken).toBe(frames.length);
    expect(Math.floor(r.counters['lb-forward/packets'] / 1e6)).toBe(frames.length);
    r.outs.forEach((o, k) => {
      const sent = frames[k];
      expect(o.port).toBe(1);
      expect(o.bytes.length).toBe(sent.length);
      expect(ATTACHED.map((a) => NEXT_HOP_MAC[a])).toContain(hex(o.bytes, 0, 6));
      expect(hex(o.bytes, 6, 12)).toBe('020000000002');
      expect(o.bytes[22]).toBe(sent[22] - 1);
      expect(internetChecksum(o.bytes, 14, 20)).toBe(0);
      // Only the MACs, the TTL and the header checksum change.
      expect(hex(o.bytes, 12, 22)).toBe(hex(sent, 12, 22));
      expect(hex(o.bytes, 26, o.bytes.length)).toBe(hex(sent, 26, sent.length));
    });
  });

  it('TTL 1, too big for the egress MTU, a backend without a neighbor, one behind a gateway, one on an ECMP route: the full graph\'s answer', () => {
    const t = twins((c) => ({
      ...c,
      loadBalancer: { vips: [vip('dsr-l2', 17, ['198.51.100.11']), vip('dsr-l2', 6, ['198.51.100.77'])] },
    }));
    t.same(firsts([[17, 0, 33000], [6, 1, 33001]]));
    const ttl1 = packet(17, 0, 33000, 10, { ttl: 1 });
    const tooBig = packet(17, 0, 33000, 1400 - 28 + 1, { df: false });
    const noNeighbor = packet(6, 1, 33001, 10);
    const r = t.same([ttl1, tooBig, noNeighbor]);
    expect(r.taken).toBe(0);
    expect(r.counters['ip4-rewrite/ttl-expired']).toBeGreaterThan(0);
    // Alone in a batch: the too big one is fragmented by the full graph, the one without a neighbor waits for ARP.
    expect(t.same([tooBig]).taken).toBe(0);
    expect(t.same([noNeighbor]).taken).toBe(0);
    expect(t.same([packet(17, 0, 33000, 10)]).taken).toBe(1);
    for (const backend of ['198.19.5.5', '198.18.3.9']) {
      const u = twins(l2([backend]));
      u.same(firsts([[17, 0, 34000]]));
      const s = u.same([packet(17, 0, 34000, 10)]);
      expect(s.taken).toBe(0);
      expect(s.counters['lb-forward/backend-not-adjacent']).toBeGreaterThan(0);
    }
  });
});
