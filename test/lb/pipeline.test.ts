// The load balancer in the router: a new flow to a VIP gets a Maglev
// backend and keeps it (pinned in the flow table) through table changes;
// dsr-l2 rewrites the MAC only, dsr-ipip/dsr-gue tunnel to the backend with
// the inner packet untouched, nat translates both ways; drain keeps existing
// flows, a backend that goes down loses its direct-return flows to others;
// fragments, affinity, the MTU of a tunnel, and a decap port in front of a
// backend. The config objects are written directly (the YAML front end has
// its own tests).
import { describe, expect, it } from 'vitest';
import type { RouterConfig } from '../../src/config/load.js';
import type { LbModeName, VipConfig } from '../../src/lb/lb-config.js';
import { parseIpv4 } from '../../src/route/prefix.js';
import { macToString } from '../../src/wire/address.js';
import { rawIpFrame, tcpFrame, udpDataFrame, udpFrame } from '../pipeline/build.js';
import { Harness } from '../pipeline/harness.js';
import { flat, tupleOf } from '../nat/packets.js';

const CONFIG = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24, mtu: 1500 }
neighbors:
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 192.0.2.20, mac: "02:aa:00:00:00:02" }
  - { address: 198.51.100.11, mac: "02:bb:00:00:00:11" }
  - { address: 198.51.100.12, mac: "02:bb:00:00:00:12" }
  - { address: 198.51.100.13, mac: "02:bb:00:00:00:13" }
conntrack: { capacity: 4096 }
`;
const LAN_MAC = '02:00:00:00:00:01';
const WAN_MAC = '02:00:00:00:00:02';
const CLIENT = '192.0.2.10';
const VIP = '203.0.113.10';
const BACKENDS = ['198.51.100.11', '198.51.100.12', '198.51.100.13'];
const MAC_OF: Record<string, string> = { '02:bb:00:00:00:11': BACKENDS[0], '02:bb:00:00:00:12': BACKENDS[1], '02:bb:00:00:00:13': BACKENDS[2] };

function vip(mode: LbModeName, extra: Partial<VipConfig> = {}): VipConfig {
  return {
    name: 'web', address: parseIpv4(VIP) >>> 0, protocol: 6, port: 80, mode, tableSize: 65537, hash: 'five-tuple',
    affinity: undefined, healthCheck: undefined, dynamicWeights: undefined, snat: false, guePort: 6080,
    backends: BACKENDS.map((a) => ({ address: parseIpv4(a) >>> 0, weight: 100 })),
    ...extra,
  };
}

function router(vips: VipConfig[], yaml = CONFIG) {
  return new Harness(yaml, {}, {}, (c: RouterConfig) => ({ ...c, loadBalancer: { vips } }));
}

/** The backend a dsr-l2 frame went to, by its destination MAC. */
const l2Backend = (frame: Uint8Array) => MAC_OF[macToString(frame, 0)];
const syn = (sport: number, src = CLIENT) => tcpFrame({ src, dst: VIP, dstMac: LAN_MAC }, sport, 80, 0x02);
const ack = (sport: number, src = CLIENT) => tcpFrame({ src, dst: VIP, dstMac: LAN_MAC }, sport, 80, 0x10, 100);

describe('the load balancer in the router', () => {
  it('dsr-l2: the MAC becomes the backend\'s, the IP packet stays the client\'s to the VIP; a flow keeps its backend; flows spread', () => {
    const h = router([vip('dsr-l2')]);
    const first = h.one('lan', syn(40000));
    expect(first.out.length).toBe(1);
    const t = tupleOf(first.out[0].bytes);
    expect([first.out[0].port, flat(t), t.ttl, t.checksumsOk]).toEqual(['wan', `${CLIENT}:40000 > ${VIP}:80/6`, 63, true]);
    const b = l2Backend(first.out[0].bytes);
    expect(BACKENDS).toContain(b);
    expect(first.counters['nat-output/flows-created']).toBe(1);
    for (let i = 0; i < 5; i++) expect(l2Backend(h.one('lan', ack(40000)).out[0].bytes)).toBe(b);
    const seen: Record<string, number> = {};
    for (let p = 1000; p < 1600; p++) {
      const o = h.one('lan', syn(p)).out[0];
      seen[l2Backend(o.bytes)] = (seen[l2Backend(o.bytes)] ?? 0) + 1;
    }
    for (const a of BACKENDS) expect(seen[a]).toBeGreaterThan(150);
    const status = h.router.lbControl!.status();
    expect(status.reduce((n, s) => n + s.newFlows, 0)).toBe(601);
  });

  it('drain (weight 0): established flows stay, new flows go elsewhere; a backend that goes down loses its direct-return flows', () => {
    const h = router([vip('dsr-l2')]);
    const pinned = new Map<number, string>();
    for (let p = 2000; p < 2100; p++) pinned.set(p, l2Backend(h.one('lan', syn(p)).out[0].bytes));
    const drained = BACKENDS[0];
    const v = vip('dsr-l2');
    v.backends[0].weight = 0;
    const r = h.router.lbControl!.reload({ vips: [v] });
    expect(r.problems).toEqual([]);
    expect(r.changes).toEqual([`web: backend ${drained} weight 100 -> 0 (draining)`]);
    for (const [p, b] of pinned) expect(l2Backend(h.one('lan', ack(p)).out[0].bytes)).toBe(b);
    for (let p = 3000; p < 3200; p++) expect(l2Backend(h.one('lan', syn(p)).out[0].bytes)).not.toBe(drained);
    // Down: nothing answers there, so its flows move (and stay where they moved).
    const down = BACKENDS[1];
    const activeBefore = h.router.lbControl!.status().find((b) => b.address === down)!.activeFlows;
    h.router.lbControl!.setHealth(0, 1, false);
    for (const [p, b] of pinned) {
      const now = l2Backend(h.one('lan', ack(p)).out[0].bytes);
      if (b === down) expect(now).not.toBe(down);
      else expect(now).toBe(b);
      expect(l2Backend(h.one('lan', ack(p)).out[0].bytes)).toBe(now);
    }
    // The moved flows count as ended on the backend that went down, started on the one they moved to.
    const st = h.router.lbControl!.status();
    const moved = [...pinned.values()].filter((b) => b === down).length;
    expect(moved).toBeGreaterThan(10);
    expect(st.reduce((n, b) => n + b.activeFlows, 0)).toBe(300);
    expect(st.find((b) => b.address === down)!.activeFlows).toBe(activeBefore - moved);
    // All out: no backend.
    h.router.lbControl!.setHealth(0, 2, false);
    const none = h.one('lan', syn(4000));
    expect(none.out).toEqual([]);
    expect(none.counters['ct-input/lb-no-backend']).toBe(1);
  });

  it('dsr-ipip: an outer IPv4 header (protocol 4) from the egress port to the backend; the inner packet is the client\'s', () => {
    const h = router([vip('dsr-ipip')]);
    const o = h.one('lan', syn(40001)).out[0];
    const outer = tupleOf(o.bytes);
    expect([o.port, outer.src, outer.proto, outer.ttl, outer.checksumsOk]).toEqual(['wan', '198.51.100.1', 4, 63, true]);
    expect(BACKENDS).toContain(outer.dst);
    expect(macToString(o.bytes, 0)).toBe(Object.keys(MAC_OF).find((m) => MAC_OF[m] === outer.dst));
    const inner = tupleOf(o.bytes, 34);
    expect([flat(inner), inner.ttl, inner.checksumsOk]).toEqual([`${CLIENT}:40001 > ${VIP}:80/6`, 64, true]);
    expect(tupleOf(h.one('lan', ack(40001)).out[0].bytes).dst).toBe(outer.dst);
  });

  it('dsr-gue: outer UDP to the GUE port with a per-flow source port, a GUE header (version 0, protocol 4), then the client\'s packet', () => {
    const h = router([vip('dsr-gue', { guePort: 6080 })]);
    const sports = new Set<number>();
    for (let p = 5000; p < 5020; p++) {
      const o = h.one('lan', syn(p)).out[0];
      const outer = tupleOf(o.bytes);
      expect([outer.proto, outer.dport, outer.checksumsOk]).toEqual([17, 6080, true]);
      expect(outer.sport).toBeGreaterThanOrEqual(49152);
      expect(Array.from(o.bytes.subarray(42, 46))).toEqual([0, 4, 0, 0]);
      expect(flat(tupleOf(o.bytes, 46))).toBe(`${CLIENT}:${p} > ${VIP}:80/6`);
      // The same flow keeps its source port.
      expect(tupleOf(h.one('lan', ack(p)).out[0].bytes).sport).toBe(outer.sport);
      sports.add(outer.sport);
    }
    expect(sports.size).toBeGreaterThan(15);
  });

  it('a tunnel that no longer fits the MTU: fragmentation needed to the client with the MTU left after the tunnel', () => {
    const h = router([vip('dsr-ipip')]);
    const big = tcpFrame({ src: CLIENT, dst: VIP, dstMac: LAN_MAC, df: true }, 40002, 80, 0x10, 1460);
    const r = h.one('lan', big);
    expect(r.out.length).toBe(1);
    const e = tupleOf(r.out[0].bytes);
    expect([r.out[0].port, e.dst, e.type, e.code, flat(e.quoted!)]).toEqual(['lan', CLIENT, 3, 4, `${CLIENT}:40002 > ${VIP}:80/6`]);
    expect((r.out[0].bytes[14 + 20 + 6] << 8) | r.out[0].bytes[14 + 20 + 7]).toBe(1480);
    expect(r.counters['lb-forward/frag-needed']).toBe(1);
    // One that fits passes.
    expect(tupleOf(h.one('lan', tcpFrame({ src: CLIENT, dst: VIP, dstMac: LAN_MAC, df: true }, 40002, 80, 0x10, 1440)).out[0].bytes).proto).toBe(4);
  });

  it('a TCP super-packet (offload) for a tunnel-mode backend is cut into segments, each tunnelled whole', () => {
    const h = new Harness(CONFIG, { largeSlots: true }, {}, (c: RouterConfig) => ({ ...c, loadBalancer: { vips: [vip('dsr-ipip')] } }));
    const big = tcpFrame({ src: CLIENT, dst: VIP, dstMac: LAN_MAC, df: true }, 40005, 80, 0x18, 3000, 5000);
    // GSO_TYPE TCPV4, GSO_SIZE 1000 (OffloadMeta: FLAGS, GSO_TYPE, HDR_LEN, GSO_SIZE, CSUM_START, CSUM_OFFSET).
    const r = h.send([{ port: 'lan', frame: big, meta: [0, 1, 54, 1000, 0, 0] }]);
    expect(r.out.length).toBe(3);
    const backends = new Set<string>();
    r.out.forEach((o, i) => {
      const outer = tupleOf(o.bytes);
      const inner = tupleOf(o.bytes, 34);
      backends.add(outer.dst);
      expect([o.port, outer.proto, outer.checksumsOk, inner.checksumsOk, flat(inner)]).toEqual(['wan', 4, true, true, `${CLIENT}:40005 > ${VIP}:80/6`]);
      expect((o.bytes[36] << 8) | o.bytes[37]).toBe(40 + 1000);
      const seq = ((o.bytes[34 + 24] << 24) | (o.bytes[34 + 25] << 16) | (o.bytes[34 + 26] << 8) | o.bytes[34 + 27]) >>> 0;
      expect(seq).toBe(5000 + i * 1000);
      expect(o.meta[1]).toBe(0);
    });
    expect(backends.size).toBe(1);
    expect(r.counters['lb-encap/segments-made']).toBe(3);
  });

  it('nat: the destination becomes the backend, its replies come back from the VIP; snat: the backend sees the dataplane\'s address', () => {
    const h = router([vip('nat')]);
    const o = h.one('lan', syn(40003)).out[0];
    const t = tupleOf(o.bytes);
    expect(BACKENDS).toContain(t.dst);
    expect([flat(t).replace(t.dst, 'B'), t.checksumsOk]).toEqual([`${CLIENT}:40003 > B:80/6`, true]);
    const reply = h.one('wan', tcpFrame({ src: t.dst, dst: CLIENT, dstMac: WAN_MAC }, 80, 40003, 0x12));
    const rt = tupleOf(reply.out[0].bytes);
    expect([reply.out[0].port, flat(rt), rt.checksumsOk]).toEqual(['lan', `${VIP}:80 > ${CLIENT}:40003/6`, true]);

    const s = router([vip('nat', { snat: true })]);
    const so = tupleOf(s.one('lan', syn(40004)).out[0].bytes);
    expect(so.src).toBe('198.51.100.1');
    expect(BACKENDS).toContain(so.dst);
    const back = s.one('wan', tcpFrame({ src: so.dst, dst: '198.51.100.1', dstMac: WAN_MAC }, 80, so.sport, 0x12));
    expect(flat(tupleOf(back.out[0].bytes))).toBe(`${VIP}:80 > ${CLIENT}:40004/6`);
  });

  it('nat: the router\'s ICMP error about a backend\'s reply (TTL 1) goes back to the backend from the address of the port toward it (RFC 1812 4.3.2.4), the quote untranslated', () => {
    // A default route out of lan: the VIP, which the reply's source becomes, routes there, the backend does not.
    const h = router([vip('nat')], `${CONFIG}routes:\n  - default via 192.0.2.20\n`);
    const t = tupleOf(h.one('lan', syn(40005)).out[0].bytes);
    const r = h.one('wan', tcpFrame({ src: t.dst, dst: CLIENT, dstMac: WAN_MAC, ttl: 1 }, 80, 40005, 0x12));
    expect(r.out.map((o) => o.port)).toEqual(['wan']);
    const err = tupleOf(r.out[0].bytes);
    expect([err.src, err.dst, err.proto, err.checksumsOk]).toEqual(['198.51.100.1', t.dst, 1, true]);
    // The quote: the backend's datagram as it sent it (28 bytes of outer IPv4 and ICMP headers before it).
    expect(flat(tupleOf(r.out[0].bytes, 14 + 28))).toBe(`${t.dst}:80 > ${CLIENT}:40005/6`);
  });

  it('fragments hash on (src, dst, protocol): every fragment of a datagram reaches one backend, in any order', () => {
    const h = router([vip('dsr-l2', { protocol: 17, port: 0 })]);
    for (let id = 1; id <= 30; id++) {
      const src = `192.0.2.${100 + id}`;
      const first = udpFrame({ src, dst: VIP, dstMac: LAN_MAC, id, mf: true }, 7000 + id, 9000, 64);
      const later = rawIpFrame({ src, dst: VIP, dstMac: LAN_MAC, id, fragOffset: 72 }, 17, new Uint8Array(40));
      const a = h.one('lan', id % 2 === 0 ? later : first).out[0];
      const b = h.one('lan', id % 2 === 0 ? first : later).out[0];
      expect(l2Backend(a.bytes)).toBe(l2Backend(b.bytes));
    }
  });

  it('nat mode: later fragments follow their first fragment to its backend, in either order', () => {
    const h = router([vip('nat', { protocol: 17, port: 0 })]);
    for (let id = 1; id <= 12; id++) {
      const src = `192.0.2.${140 + id}`;
      const first = udpFrame({ src, dst: VIP, dstMac: LAN_MAC, id, mf: true }, 7000 + id, 9000, 64);
      const later = rawIpFrame({ src, dst: VIP, dstMac: LAN_MAC, id, fragOffset: 72 }, 17, new Uint8Array(40));
      // A later fragment that comes first is held, and goes on at the next batch after its first fragment found the flow.
      const runs = id % 2 === 0 ? [h.one('lan', later), h.one('lan', first), h.send([])] : [h.one('lan', first), h.one('lan', later)];
      const out = runs.flatMap((r) => r.out);
      const dsts = out.map((o) => tupleOf(o.bytes).dst);
      expect(dsts.length, `${id}: ${JSON.stringify(runs.map((r) => r.counters))}`).toBe(2);
      expect(BACKENDS).toContain(dsts[0]);
      expect(dsts[1]).toBe(dsts[0]);
    }
  });

  it('ClientIP affinity: one client\'s flows share a backend; after the timeout it may be chosen again', () => {
    const h = router([vip('dsr-l2', { affinity: { timeoutMs: 10_000, sourcePrefixLength: 32 } })]);
    const firstOf: string[] = [];
    for (let c = 1; c <= 12; c++) {
      const src = `192.0.2.${c + 30}`;
      const first = l2Backend(h.one('lan', syn(6000, src)).out[0].bytes);
      for (let p = 6001; p < 6020; p++) expect(l2Backend(h.one('lan', syn(p, src)).out[0].bytes)).toBe(first);
      firstOf.push(first);
    }
    // Within the timeout (counted from the client's last new flow) the affinity holds...
    h.clock.advance(9_000);
    for (let c = 1; c <= 12; c++) expect(l2Backend(h.one('lan', syn(7000, `192.0.2.${c + 30}`)).out[0].bytes)).toBe(firstOf[c - 1]);
    // ...past it, each client's next flow is hashed afresh (and sticks again): some land elsewhere.
    h.clock.advance(10_001);
    const after = Array.from({ length: 12 }, (_, i) => l2Backend(h.one('lan', syn(7100, `192.0.2.${i + 31}`)).out[0].bytes));
    expect(after.filter((b, i) => b !== firstOf[i]).length).toBeGreaterThan(0);
    after.forEach((b, i) => expect(l2Backend(h.one('lan', syn(7101, `192.0.2.${i + 31}`)).out[0].bytes)).toBe(b));
    // Without affinity the same flows spread.
    const n = router([vip('dsr-l2')]);
    const spread = new Set<string>();
    for (let p = 6001; p < 6020; p++) spread.add(l2Backend(n.one('lan', syn(p, '192.0.2.31')).out[0].bytes));
    expect(spread.size).toBe(3);
  });

  it('a decap port delivers the inner packet of an IPIP or GUE datagram to the host the outer header named, on L2', () => {
    const h = new Harness(CONFIG.replace('mtu: 1500 }', 'mtu: 1500, decap: true }'));
    const inner = tcpFrame({ src: CLIENT, dst: VIP }, 41000, 80, 0x02).subarray(14);
    const ipip = rawIpFrame({ src: '192.0.2.20', dst: BACKENDS[1], dstMac: LAN_MAC }, 4, inner);
    const r = h.one('lan', ipip);
    expect(r.out.length).toBe(1);
    expect([r.out[0].port, l2Backend(r.out[0].bytes), flat(tupleOf(r.out[0].bytes)), tupleOf(r.out[0].bytes).ttl]).toEqual(['wan', BACKENDS[1], `${CLIENT}:41000 > ${VIP}:80/6`, 63]);
    const payload = new Uint8Array(4 + inner.length);
    payload.set([0, 4, 0, 0]);
    payload.set(inner, 4);
    const r2 = h.one('lan', udpDataFrame({ src: '192.0.2.20', dst: BACKENDS[2], dstMac: LAN_MAC }, 50000, 6080, payload));
    expect([l2Backend(r2.out[0].bytes), flat(tupleOf(r2.out[0].bytes))]).toEqual([BACKENDS[2], `${CLIENT}:41000 > ${VIP}:80/6`]);
    expect(r2.counters['lb-decap/gue']).toBe(1);
    // GUE version 1: the inner IPv4 header right after UDP (no GUE header).
    const r3 = h.one('lan', udpDataFrame({ src: '192.0.2.20', dst: BACKENDS[0], dstMac: LAN_MAC }, 50001, 6080, inner));
    expect([l2Backend(r3.out[0].bytes), flat(tupleOf(r3.out[0].bytes))]).toEqual([BACKENDS[0], `${CLIENT}:41000 > ${VIP}:80/6`]);
    // A GUE control message, or a damaged inner header, is not delivered as a packet.
    const control = new Uint8Array(payload);
    control[0] = 0x20;
    expect(flat(tupleOf(h.one('lan', udpDataFrame({ src: '192.0.2.20', dst: BACKENDS[0], dstMac: LAN_MAC }, 50002, 6080, control)).out[0].bytes))).toBe(`192.0.2.20:50002 > ${BACKENDS[0]}:6080/17`);
    const damaged = new Uint8Array(payload);
    damaged[4 + 10] ^= 0xff; // the inner header checksum
    const bad = h.one('lan', udpDataFrame({ src: '192.0.2.20', dst: BACKENDS[0], dstMac: LAN_MAC }, 50003, 6080, damaged));
    expect([bad.out.map((o) => flat(tupleOf(o.bytes))), bad.counters['lb-decap/bad-inner']]).toEqual([[], 1]);
    // Plain traffic to the backend passes untouched.
    expect(flat(tupleOf(h.one('lan', udpFrame({ src: CLIENT, dst: BACKENDS[0], dstMac: LAN_MAC }, 1, 6081)).out[0].bytes))).toBe(`${CLIENT}:1 > ${BACKENDS[0]}:6081/17`);
  });
});

