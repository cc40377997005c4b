// The disruption preview's computation (src/lb/preview.ts) and the capture
// reading it uses (src/lb/capture-flows.ts), on configs built here and a
// capture written with the project's pcap writer. The CLI around them is
// tested in test/cli/lb-preview.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureFlows } from '../../src/lb/capture-flows.js';
import type { LoadBalancerConfig, VipConfig } from '../../src/lb/lb-config.js';
import { lbFlowHash } from '../../src/lb/lb-hash.js';
import { buildMaglev } from '../../src/lb/maglev.js';
import { previewLoadBalancer } from '../../src/lb/preview.js';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { PcapWriter } from '../../src/pcap/writer.js';
import { parseIpv4Address } from '../../src/wire/address.js';
import { tcpFrame, udpFrame } from '../pipeline/build.js';

const dir = mkdtempSync(join(tmpdir(), `lb-preview-${process.pid}-`));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const VIP = '203.0.113.10';
const BACKENDS = ['198.51.100.11', '198.51.100.12', '198.51.100.13', '198.51.100.14'];

function vip(over: Partial<VipConfig> = {}, backends = BACKENDS): VipConfig {
  return {
    name: 'web',
    address: parseIpv4Address(VIP),
    protocol: 6,
    port: 80,
    mode: 'dsr-l2',
    tableSize: 65537,
    hash: 'five-tuple',
    affinity: undefined,
    healthCheck: undefined,
    dynamicWeights: undefined,
    snat: false,
    guePort: 6080,
    backends: backends.map((a) => ({ address: parseIpv4Address(a), weight: 100 })),
    ...over,
  };
}

const lb = (...vips: VipConfig[]): LoadBalancerConfig => ({ vips });

/**
 * 2000 TCP flows to VIP:80 (clients 192.0.2.1-100 x 20 source ports), each
 * flow twice (SYN and ACK: one flow), 50 UDP flows to VIP:53, 30 TCP flows to
 * VIP:443, 40 to another address, and 5 fragments to VIP.
 */
function writeCapture(): string {
  const path = join(dir, 'flows.pcap');
  const w = new PcapWriter(path, { linkType: LINKTYPE_ETHERNET });
  let t = 0;
  for (let c = 1; c <= 100; c++) {
    for (let p = 0; p < 20; p++) {
      const ip = { src: `192.0.2.${c}`, dst: VIP };
      w.write(tcpFrame(ip, 40000 + p * 7, 80, 0x02), 1000, t++);
      w.write(tcpFrame(ip, 40000 + p * 7, 80, 0x10), 1000, t++);
    }
  }
  for (let i = 0; i < 50; i++) w.write(udpFrame({ src: `198.18.0.${i + 1}`, dst: VIP }, 5000 + i, 53), 1001, i);
  for (let i = 0; i < 30; i++) w.write(tcpFrame({ src: `198.18.1.${i + 1}`, dst: VIP }, 6000 + i, 443, 0x02), 1002, i);
  for (let i = 0; i < 40; i++) w.write(tcpFrame({ src: `198.18.2.${i + 1}`, dst: '203.0.113.99' }, 7000 + i, 80, 0x02), 1003, i);
  for (let i = 0; i < 5; i++) w.write(udpFrame({ src: '198.18.3.1', dst: VIP, mf: true, id: 77 }, 9000, 53, 40), 1004, i);
  w.close();
  return path;
}

const capture = writeCapture();
const allVips = [
  { address: parseIpv4Address(VIP), protocol: 6 },
  { address: parseIpv4Address(VIP), protocol: 17 },
];

describe('readCaptureFlows', () => {
  it('keeps unique TCP/UDP 5-tuples to the VIP addresses and protocols, counts fragments apart', () => {
    const f = readCaptureFlows(capture, allVips);
    expect(f.frames).toBe(4000 + 50 + 30 + 40 + 5);
    expect(f.packets).toBe(4000 + 50 + 30);
    expect(f.count).toBe(2000 + 50 + 30);
    expect(f.fragments).toBe(5);
    expect(readCaptureFlows(capture, [allVips[1]]).count).toBe(50);
  });
});

describe('previewLoadBalancer', () => {
  const flows = readCaptureFlows(capture, allVips);

  it('the same config: nothing moves', () => {
    const [p] = previewLoadBalancer(lb(vip()), lb(vip()), flows);
    expect(p).toMatchObject({ name: 'web', change: 'unchanged', slotsMoved: 0, flows: 2000, flowsMoved: 0, notes: [] });
  });

  it('removing one of 4 equal backends moves 25% of the slots and about 25% of the flows: exactly those that were on it', () => {
    const after = vip({}, BACKENDS.slice(0, 3));
    const [p] = previewLoadBalancer(lb(vip()), lb(after), flows);
    expect(p.change).toBe('changed');
    expect(p.slotShare).toBeGreaterThanOrEqual(0.25 - 1e-4);
    expect(p.slotShare).toBeLessThan(0.255);
    expect(p.flows).toBe(2000);
    // Which flows were on the removed backend, counted here from the table directly.
    const before = vip();
    const t = buildMaglev(before.backends.map((b) => ({ key: b.address, weight: b.weight })), 65537);
    let onRemoved = 0;
    for (let i = 0; i < flows.count; i++) {
      if (flows.proto[i] !== 6 || (flows.ports[i] & 0xffff) !== 80) continue;
      const h = lbFlowHash(flows.src[i], flows.dst[i], flows.ports[i], 6);
      if (before.backends[t[h % 65537]].address === parseIpv4Address(BACKENDS[3])) onRemoved++;
    }
    expect(p.flowsMoved).toBeGreaterThanOrEqual(onRemoved);
    expect(p.flowsMoved! / 2000).toBeGreaterThan(0.22);
    expect(p.flowsMoved! / 2000).toBeLessThan(0.28);
    expect(p.flowsMoved! - onRemoved).toBeLessThanOrEqual(0.005 * 2000);
    const removed = p.backends.find((b) => b.address === parseIpv4Address(BACKENDS[3]))!;
    expect(removed.after).toBeUndefined();
    expect(removed.before).toBeCloseTo(0.25, 3);
  });

  it('draining a backend (weight 0) moves the same as removing it', () => {
    const drained = vip();
    drained.backends[3] = { ...drained.backends[3], weight: 0 };
    const [a] = previewLoadBalancer(lb(vip()), lb(drained), flows);
    const [b] = previewLoadBalancer(lb(vip()), lb(vip({}, BACKENDS.slice(0, 3))), flows);
    expect([a.slotsMoved, a.flowsMoved]).toEqual([b.slotsMoved, b.flowsMoved]);
    expect(a.backends.find((x) => x.address === parseIpv4Address(BACKENDS[3]))!.after).toBe(0);
  });

  it('a new table size is compared over the hash space: about 3/4 move for 4 backends (independent tables)', () => {
    const [p] = previewLoadBalancer(lb(vip()), lb(vip({ tableSize: 655373 })), flows);
    expect(p.sampled).toBe(true);
    expect(p.notes).toContain('tableSize changes');
    expect(p.slotShare).toBeGreaterThan(0.72);
    expect(p.slotShare).toBeLessThan(0.78);
    expect(p.flowsMoved! / p.flows!).toBeGreaterThan(0.68);
    expect(p.flowsMoved! / p.flows!).toBeLessThan(0.82);
  });

  it('hashing without the source port moves flows but no slot', () => {
    const [p] = previewLoadBalancer(lb(vip()), lb(vip({ hash: 'no-source-port' })), flows);
    expect(p.slotsMoved).toBe(0);
    expect(p.notes).toEqual(['hash changes']);
    expect(p.flowsMoved! / p.flows!).toBeGreaterThan(0.68);
  });

  it("a VIP whose port changes: its old flows no longer match it, all move", () => {
    const [p] = previewLoadBalancer(lb(vip()), lb(vip({ port: 8080 })), flows);
    expect(p.slotsMoved).toBe(0);
    expect(p.notes).toEqual(['port changes']);
    expect([p.flows, p.flowsMoved]).toEqual([2000, 2000]);
  });

  it('VIPs added and removed are reported as such, with their flows', () => {
    const dns = vip({ name: 'dns', protocol: 17, port: 53 });
    const all = vip({ name: 'any', port: 0 });
    const ps = previewLoadBalancer(lb(vip(), all), lb(vip(), dns), flows);
    expect(ps.map((p) => [p.name, p.change, p.flows, p.flowsMoved])).toEqual([
      ['web', 'unchanged', 2000, 0],
      ['dns', 'added', 50, 50],
      ['any', 'removed', 2030, 2030],
    ]);
    expect(previewLoadBalancer(undefined, lb(vip()))[0]).toMatchObject({ change: 'added', flows: undefined });
  });
});

describe('previewLoadBalancer with clientIP affinity', () => {
  const flows = readCaptureFlows(capture, allVips);
  const affinity = (sourcePrefixLength = 32) => ({ affinity: { timeoutMs: 10_800_000, sourcePrefixLength } });

  /** The backend of each TCP/80 flow as the dataplane picks it with affinity: a client's first flow hashes, its later flows follow. */
  function clientBackends(v: VipConfig, mask: number): number[] {
    const table = buildMaglev(v.backends.map((b) => ({ key: b.address, weight: b.weight })), v.tableSize);
    const byClient = new Map<number, number>();
    const out: number[] = [];
    for (let i = 0; i < flows.count; i++) {
      if (flows.proto[i] !== 6 || (flows.ports[i] & 0xffff) !== 80) continue;
      const client = (flows.src[i] & mask) >>> 0;
      if (!byClient.has(client)) byClient.set(client, v.backends[table[lbFlowHash(flows.src[i], flows.dst[i], flows.ports[i], 6) % table.length]].address);
      out.push(byClient.get(client)!);
    }
    return out;
  }

  it("removing a backend moves whole clients: those whose first flow's backend changes take all their 20 flows along", () => {
    const a = vip(affinity());
    const b = vip(affinity(), BACKENDS.slice(0, 3));
    const [p] = previewLoadBalancer(lb(a), lb(b), flows);
    const was = clientBackends(a, 0xffffffff);
    const now = clientBackends(b, 0xffffffff);
    const expected = was.filter((x, i) => x !== now[i]).length;
    expect(p.flows).toBe(2000);
    expect(p.flowsMoved).toBe(expected);
    expect(p.flowsMoved! % 20).toBe(0);
    expect(p.hashing).toEqual({ before: { by: 'client', prefixLength: 32, hash: 'five-tuple' }, after: { by: 'client', prefixLength: 32, hash: 'five-tuple' } });
  });

  it('a /24 affinity netmask makes the 100 clients of 192.0.2.0/24 one: all their flows move together or none does', () => {
    const [p] = previewLoadBalancer(lb(vip(affinity(24))), lb(vip(affinity(24), BACKENDS.slice(0, 3))), flows);
    const was = clientBackends(vip(affinity(24)), 0xffffff00);
    const now = clientBackends(vip(affinity(24), BACKENDS.slice(0, 3)), 0xffffff00);
    expect(new Set(was).size).toBe(1);
    expect(p.flowsMoved).toBe(was[0] === now[0] ? 0 : 2000);
  });

  it('turning affinity on moves the flows that were not on their client\'s first backend (about 3/4 with 4 backends)', () => {
    const [p] = previewLoadBalancer(lb(vip()), lb(vip(affinity())), flows);
    expect(p.slotsMoved).toBe(0);
    expect(p.flowsMoved! / p.flows!).toBeGreaterThan(0.68);
    expect(p.flowsMoved! / p.flows!).toBeLessThan(0.8);
    expect(p.hashing).toEqual({ before: { by: 'flow', hash: 'five-tuple' }, after: { by: 'client', prefixLength: 32, hash: 'five-tuple' } });
  });

  it('the same affinity config: nothing moves', () => {
    const [p] = previewLoadBalancer(lb(vip(affinity())), lb(vip(affinity())), flows);
    expect([p.change, p.flowsMoved]).toEqual(['unchanged', 0]);
  });
});

