// The fused fast path (ip4-fast) against the full graph: two routers from
// the same config, one with the fast path and one without (fastPath: false),
// given the same batches. Whatever the fast path takes or leaves, the frames
// out, the counters (but its own) and each port's fates must be the full
// graph's; the frames out in the same order where nothing is left to the
// full graph, and in time order (what a capture output writes) otherwise.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { readCapture } from '../../src/pcap/reader.js';
import { Batch, OffloadMeta, PacketFlag } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';
import { skipIf } from '../skip.js';
import { arpFrame, echoFrame, rawIpFrame, tcpFrame, udpFrame } from './build.js';
import { BASE_CONFIG } from './harness.js';

// The harness's router, with a default route (real captures go anywhere) and the 198.19/16 gateway resolved.
const CONFIG = BASE_CONFIG.replace('routes:\n', 'routes:\n  - 0.0.0.0/0 via 198.51.100.254\n').replace(
  'neighbors:\n',
  'neighbors:\n  - { address: 198.51.100.253, mac: "02:bb:00:00:00:fd" }\n',
);

interface In {
  port: number;
  bytes: Uint8Array;
  meta?: readonly number[];
}

interface Result {
  /** "port hex" per frame out, in the order the graph emitted them. */
  out: string[];
  /** The same, in arrival order of what they came from (the timestamp carries the arrival index). */
  byTime: string[];
  counters: Record<string, number>;
  fates: number[];
  taken: number;
}

class Subject {
  readonly batch = new Batch({ rxCapacity: 256, generatedCapacity: 256 });
  readonly router: Router;

  constructor(yaml: string, fastPath: boolean, promiscuous = false) {
    const config = parseConfig(yaml, 'test.yaml', '.');
    const { fib, nexthops } = compileFib(config);
    this.router = new Router(config, fib, nexthops, { clock: new ManualClock(1000), batchCapacity: this.batch.capacity, maxFrame: this.batch.maxFrame, fastPath, promiscuous });
  }

  run(frames: readonly In[], traced: readonly number[] = []): Result {
    const b = this.batch;
    b.reset();
    frames.forEach((f, i) => {
      const s = b.pushFrame(f.bytes, 0, f.bytes.length, f.port, 1, i);
      if (s < 0) throw new Error('batch full');
      if (f.meta) b.offload.set(f.meta, s * OffloadMeta.WORDS);
    });
    for (const s of traced) b.markTraced(s, s + 1);
    const before = this.router.counters.nonZero();
    const takenBefore = this.router.fast?.taken ?? 0;
    this.router.process(b);
    const g = this.router.graph;
    const slots = Array.from(g.output.subarray(0, g.outputCount));
    const line = (s: number) => `${b.txPort[s]} ${Buffer.from(b.bytes(s)).toString('hex')}`;
    const counters: Record<string, number> = {};
    const taken = (this.router.fast?.taken ?? 0) - takenBefore;
    for (const [name, v] of Object.entries(this.router.counters.nonZero())) {
      const d = v.packets - (before[name]?.packets ?? 0);
      if (d !== 0 && !name.startsWith('ip4-fast/')) counters[name] = d;
    }
    const byTime = [...slots].sort((x, y) => b.tsNsec[x] - b.tsNsec[y]).map(line);
    return { out: slots.map(line), byTime, counters, fates: Array.from(g.fateByRxPort.subarray(0, 16)), taken };
  }
}

function twins(yaml = CONFIG, promiscuous = false) {
  const fast = new Subject(yaml, true, promiscuous);
  const full = new Subject(yaml, false, promiscuous);
  return {
    fast,
    full,
    /** Runs one batch through both; expects the same outcome and returns the fast one's. */
    same(frames: readonly In[], traced: readonly number[] = []): Result {
      const a = fast.run(frames, traced);
      const b = full.run(frames, traced);
      expect(a.byTime).toEqual(b.byTime);
      expect(a.counters).toEqual(b.counters);
      expect(a.fates).toEqual(b.fates);
      if (a.taken === frames.length) expect(a.out).toEqual(b.out);
      return a;
    },
  };
}

const LAN = 0;
const WAN = 1;
const DMZ = 2;
const usual = (i: number) => udpFrame({ src: `192.0.2.${10 + (i % 50)}`, dst: `198.19.${i & 255}.1` }, 1000 + i, 53, 18 + (i % 40));

describe('ip4-fast: the usual packet in one pass, everything else as the full graph does it', () => {
  it('takes usual packets (gateway, attached, ECMP routes; TCP, UDP, ICMP) and forwards them byte for byte as the full graph, in the same order', () => {
    const t = twins();
    const frames: In[] = [];
    for (let i = 0; i < 200; i++) frames.push({ port: LAN, bytes: usual(i) });
    frames.push({ port: WAN, bytes: tcpFrame({ src: '198.51.100.77', dst: '192.0.2.10', srcMac: '02:bb:00:00:00:fe', dstMac: '02:00:00:00:00:02' }, 80, 40000, 0x18, 100) });
    frames.push({ port: LAN, bytes: tcpFrame({ src: '192.0.2.10', dst: '198.18.3.9' }, 40000, 80, 0x10) }); // ECMP
    frames.push({ port: LAN, bytes: echoFrame({ src: '192.0.2.10', dst: '203.0.113.2' }, 7, 1) }); // attached (dmz)
    frames.push({ port: LAN, bytes: rawIpFrame({ src: '192.0.2.10', dst: '198.19.0.1', df: true, ttl: 2 }, 47, new Uint8Array(30)) });
    const r = t.same(frames);
    expect(r.taken).toBe(frames.length);
    expect(r.counters).toMatchObject({ 'ethernet-input/packets': frames.length, 'ip4-output/packets': frames.length, 'interface-output/packets': frames.length });
  });

  it('plain routing takes a batch by either of its loops (runs of one neighbor, a neighbor per packet) as the full graph does, whichever the batch before chose', () => {
    // 40 hosts on dmz, each a neighbor; a batch that looked up many neighbors makes the next take the per-packet loop.
    const hosts = Array.from({ length: 40 }, (_, k) => `  - { address: 203.0.113.${10 + k}, mac: "02:cc:00:00:01:${(10 + k).toString(16).padStart(2, '0')}" }\n`).join('');
    const t = twins(CONFIG.replace('neighbors:\n', `neighbors:\n${hosts}`));
    const toHost = (i: number) => ({ port: LAN, bytes: udpFrame({ src: `192.0.2.${10 + (i % 50)}`, dst: `203.0.113.${10 + (i % 40)}` }, 1000 + i, 53, 18 + (i % 40)) });
    const odd = [
      { port: LAN, bytes: udpFrame({ src: '192.0.2.10', dst: '203.0.113.9' }, 1, 2) }, // neighbor unknown: ARP
      { port: LAN, bytes: udpFrame({ src: '192.0.2.10', dst: '203.0.113.11', ttl: 1 }, 1, 2) }, // TTL expired
      { port: LAN, bytes: tcpFrame({ src: '192.0.2.10', dst: '198.18.3.9' }, 40000, 80, 0x10) }, // ECMP
    ];
    const perHost = [...Array.from({ length: 150 }, (_, i) => toHost(i)), ...odd, ...Array.from({ length: 50 }, (_, i) => toHost(i + 7))];
    const runs = [...Array.from({ length: 100 }, (_, i) => ({ port: LAN, bytes: usual(i) })), ...odd, ...Array.from({ length: 60 }, (_, i) => toHost(i >> 4)), ...Array.from({ length: 40 }, (_, i) => ({ port: LAN, bytes: usual(i) }))];
    for (const frames of [perHost, perHost, runs, runs, perHost, runs]) {
      const r = t.same(frames);
      // All but the ARP miss and the expired TTL.
      expect(r.taken).toBe(frames.length - 2);
    }
  });

  it('leaves every unusual packet, in between usual ones, to the full graph: same drops, ICMP errors, fragments, replies and counters', () => {
    const t = twins();
    const frame = (bytes: Uint8Array, port = LAN, meta?: number[]) => ({ port, bytes, meta });
    const badChecksum = usual(1);
    badChecksum[14 + 10] ^= 0xff;
    const padded = new Uint8Array(usual(2).length + 12);
    padded.set(usual(2));
    const broadcastMac = udpFrame({ src: '192.0.2.10', dst: '198.19.0.1', dstMac: 'ff:ff:ff:ff:ff:ff' }, 1, 2);
    const vlan = usual(3).slice();
    vlan[12] = 0x81;
    vlan[13] = 0x00;
    const ipv6 = usual(4).slice();
    ipv6[12] = 0x86;
    ipv6[13] = 0xdd;
    const unusual: In[] = [
      frame(udpFrame({ src: '192.0.2.10', dst: '198.19.0.1', ttl: 1 }, 1, 2)), // TTL expired
      frame(udpFrame({ src: '192.0.2.10', dst: '198.19.0.1', options: [{ type: 7, data: new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0, 0]) }] }, 1, 2)), // record route
      frame(udpFrame({ src: '192.0.2.10', dst: '198.19.0.1', mf: true }, 1, 2)), // first fragment
      frame(udpFrame({ src: '192.0.2.10', dst: '198.19.0.1', fragOffset: 8 }, 1, 2)), // last fragment
      frame(badChecksum),
      frame(padded), // Ethernet padding: taken, trimmed
      frame(echoFrame({ src: '192.0.2.10', dst: '192.0.2.1' }, 1, 1)), // to the router
      frame(udpFrame({ src: '192.0.2.10', dst: '198.18.0.9' }, 1, 2)), // blackhole
      frame(udpFrame({ src: '192.0.2.10', dst: '198.18.1.9' }, 1, 2)), // unreachable
      frame(udpFrame({ src: '192.0.2.10', dst: '198.18.2.9' }, 1, 2)), // prohibit
      frame(udpFrame({ src: '192.0.2.10', dst: '203.0.113.63' }, 1, 2)), // directed broadcast
      frame(udpFrame({ src: '192.0.2.10', dst: '203.0.113.40' }, 1, 2)), // attached, neighbor unknown: ARP
      frame(udpFrame({ src: '192.0.2.10', dst: '198.19.0.1', df: true }, 1, 2, 1500)), // too big, DF: frag needed
      frame(udpFrame({ src: '192.0.2.10', dst: '198.19.0.1' }, 1, 2, 1420)), // too big: fragmented
      frame(broadcastMac),
      frame(udpFrame({ src: '192.0.2.10', dst: '198.19.0.1', dstMac: '02:00:00:00:00:99' }, 1, 2)), // another MAC
      frame(udpFrame({ src: '192.0.2.10', dst: '198.19.0.1', srcMac: '03:00:00:00:00:01' }, 1, 2)), // group source
      frame(vlan),
      frame(ipv6),
      frame(usual(5).subarray(0, 20)), // truncated
      frame(udpFrame({ src: '127.0.0.1', dst: '198.19.0.1' }, 1, 2)), // martian source
      frame(udpFrame({ src: '192.0.2.10', dst: '224.0.0.5' }, 1, 2)), // multicast
      frame(udpFrame({ src: '192.0.2.1', dst: '198.19.0.1' }, 1, 2)), // own source
      frame(udpFrame({ src: '192.0.2.127', dst: '198.19.0.1' }, 1, 2)), // subnet broadcast source
      frame(udpFrame({ src: '192.0.2.10', dst: '198.19.0.1' }, 1, 2), LAN, [1, 0, 0, 0, 34, 6]), // partial checksum (offload)
      frame(udpFrame({ src: '192.0.2.10', dst: '198.19.0.1', dstMac: '02:00:00:00:00:03' }, 1, 2), DMZ), // to dmz, routed back out of wan: taken
    ];
    const frames: In[] = [];
    unusual.forEach((f, i) => frames.push({ port: LAN, bytes: usual(i) }, f));
    const r = t.same(frames);
    // The usual ones, the padded one and the one from dmz were taken; the rest were not.
    expect(r.taken).toBe(unusual.length + 2);
    expect(r.counters['ip4-rewrite/ttl-expired']).toBe(1);
    expect(r.counters['ip4-input/bad-checksum']).toBe(1);
    expect(r.counters['ip4-frag/fragments-made']).toBeGreaterThan(1);
  });

  it('a batch with an ARP frame goes to the full graph whole: a neighbor that changes MAC mid-batch is used as the full graph uses it', () => {
    const t = twins();
    const before = [0, 1, 2].map((i) => ({ port: LAN, bytes: usual(i) }));
    // The gateway announces a new MAC (a gratuitous ARP reply to the router), then more traffic to it.
    const moved = arpFrame(2, '02:bb:00:00:00:ee', '198.51.100.254', '02:00:00:00:00:02', '198.51.100.1', '02:00:00:00:00:02');
    const frames = [...before, { port: WAN, bytes: moved }, ...[3, 4].map((i) => ({ port: LAN, bytes: usual(i) }))];
    const r = t.same(frames);
    expect(r.taken).toBe(0);
    // Afterwards the fast path takes packets again, with whatever MAC the table holds.
    const next = t.same([0, 1].map((i) => ({ port: LAN, bytes: usual(i) })));
    expect(next.taken).toBe(2);
  });

  it('ARP about other hosts from a sender it does not know changes no neighbor: the frame alone goes to the full graph, the rest are taken', () => {
    const t = twins();
    // A host on the LAN asks for another (a broadcast request the router only counts), between usual packets.
    const otherHosts = arpFrame(1, '02:aa:00:00:00:21', '192.0.2.21', '00:00:00:00:00:00', '192.0.2.22');
    const frames = [0, 1, 2].map((i) => ({ port: LAN, bytes: usual(i) }));
    frames.splice(1, 0, { port: LAN, bytes: otherHosts });
    const r = t.same(frames);
    expect(r.taken).toBe(3);
    expect(r.counters['arp-input/not-for-us']).toBe(1);
    // Malformed or of another operation: arp-input drops it; the rest are taken too.
    const rarp = arpFrame(3, '02:aa:00:00:00:21', '192.0.2.21', '00:00:00:00:00:00', '192.0.2.22');
    const short = otherHosts.subarray(0, 30);
    const dropped = t.same([{ port: LAN, bytes: usual(3) }, { port: LAN, bytes: rarp }, { port: LAN, bytes: short }, { port: LAN, bytes: usual(4) }]);
    expect(dropped.taken).toBe(2);
  });

  it('ARP that may learn or refresh a neighbor still sends its batch to the full graph whole: for the router, or from a neighbor the table holds', () => {
    const t = twins();
    // The gateway (a configured neighbor) asks another host on the WAN for its MAC, from a new MAC: RFC 826's merge
    // refreshes the gateway's entry, which the packets before it use in the full graph.
    const fromGateway = arpFrame(1, '02:bb:00:00:00:ee', '198.51.100.254', '00:00:00:00:00:00', '198.51.100.77');
    const known = t.same([{ port: LAN, bytes: usual(0) }, { port: WAN, bytes: fromGateway }, { port: LAN, bytes: usual(1) }]);
    expect(known.taken).toBe(0);
    // A host asks for the router's address: it learns the host.
    const forUs = arpFrame(1, '02:aa:00:00:00:31', '192.0.2.31', '00:00:00:00:00:00', '192.0.2.1');
    const asked = t.same([{ port: LAN, bytes: usual(2) }, { port: LAN, bytes: forUs }]);
    expect(asked.taken).toBe(0);
    expect(asked.counters['arp-input/replies-sent']).toBe(1);
  });

  it('a promiscuous port (replay --promisc): unicast frames to any MAC are taken as the full graph takes them; group and broadcast MACs are not', () => {
    const t = twins(CONFIG, true);
    const toOthers = [0, 1, 2].map((i) => udpFrame({ src: `192.0.2.${10 + i}`, dst: `198.19.${i}.1`, dstMac: `02:00:00:00:00:${90 + i}` }, 1000 + i, 53));
    const frames = toOthers.map((bytes) => ({ port: LAN, bytes }));
    frames.push({ port: LAN, bytes: udpFrame({ src: '192.0.2.10', dst: '198.19.0.1', dstMac: '01:00:5e:00:00:01' }, 1, 2) }); // multicast MAC: dropped
    frames.push({ port: LAN, bytes: udpFrame({ src: '192.0.2.10', dst: '198.19.0.1', dstMac: 'ff:ff:ff:ff:ff:ff' }, 1, 2) });
    const r = t.same(frames);
    expect(r.taken).toBe(3);
    expect(r.counters['interface-output/packets']).toBeGreaterThanOrEqual(3);
    // Not promiscuous: another MAC is dropped by ethernet-input, in both.
    const strict = twins().same(toOthers.map((bytes) => ({ port: LAN, bytes })));
    expect(strict.taken).toBe(0);
    expect(strict.counters['ethernet-input/not-for-us']).toBe(3);
  });

  it('steps aside for a batch with a traced packet, so the trace lists the nodes it always did', () => {
    const t = twins();
    const frames = [0, 1, 2].map((i) => ({ port: LAN, bytes: usual(i) }));
    const seen = t.fast.router.counters.get('ip4-fast/packets').packets;
    const r = t.same(frames, [1]);
    expect(r.taken).toBe(0);
    expect(t.fast.router.counters.get('ip4-fast/packets').packets).toBe(seen);
    expect(t.fast.batch.flags[1] & PacketFlag.TRACED).toBe(PacketFlag.TRACED);
    expect(t.fast.router.graph.trace.count).toBe(t.full.router.graph.trace.count);
  });

  it('is left out where tunnel decap ports are configured (lb-decap judges routed packets): the graph has no ip4-fast', () => {
    const yaml = CONFIG.replace('mtu: 1400 }', 'mtu: 1400, decap: true }');
    expect(yaml).not.toBe(CONFIG);
    const r = new Subject(yaml, true);
    expect(() => r.router.graph.node('ip4-fast')).toThrow(/no node named/);
    expect(new Subject(`${CONFIG}nat:\n  masquerade:\n    - { outPort: wan }\n`, true).router.graph.node('ip4-fast').name).toBe('ip4-fast');
    expect(new Subject(CONFIG, true).router.graph.node('ip4-fast').name).toBe('ip4-fast');
  });

  const REAL = join(import.meta.dirname, '..', '..', '..', 'shared', 'data', 'pcaps', 'tcpreplay');
  /** The corpus through fast and full twins in batches of 256: how many frames, and how many the fast path took. */
  const corpus = (promiscuous: boolean) => {
    const t = twins(CONFIG, promiscuous);
    let total = 0;
    let taken = 0;
    for (const name of readdirSync(REAL).filter((n) => n.endsWith('.pcap')).sort()) {
      let batch: In[] = [];
      const flush = () => {
        if (batch.length === 0) return;
        taken += t.same(batch).taken;
        total += batch.length;
        batch = [];
      };
      for (const rec of readCapture(join(REAL, name))) {
        const bytes = rec.data.slice();
        // Addressed to the router, unless the port takes any MAC (as replay --promisc does with a capture made elsewhere).
        if (!promiscuous && bytes.length >= 14 && (bytes[0] & 1) === 0) bytes.set([2, 0, 0, 0, 0, 1], 0);
        if (bytes.length > t.fast.batch.maxFrame) continue;
        batch.push({ port: LAN, bytes });
        if (batch.length === 256) flush();
      }
      flush();
    }
    return { total, taken };
  };
  for (const promiscuous of [false, true]) {
    const what = promiscuous ? 'as captured, on a promiscuous port' : 'unicast frames addressed to the router';
    it(`real captures (tcpreplay corpus, ${what}): the same frames, counters and fates`, skipIf(existsSync(REAL) ? undefined : `no capture corpus at ${REAL}`), () => {
      const { total, taken } = corpus(promiscuous);
      expect(total).toBeGreaterThan(1000);
      // The corpus's hosts ask each other for MACs (ARP the router only counts), and those batches are taken too.
      expect(taken).toBeGreaterThan(total / 4);
      expect(taken).toBeLessThan(total);
    });
  }
});
