// The firewall judges a load-balanced or DNATed flow by where it really
// goes: its chosen backend (address and port), not the VIP or the outside
// address it was sent to, as Kubernetes applies NetworkPolicy to the pod
// behind a Service and netfilter's FORWARD filter sees the packet after
// DNAT. Each VIP mode (dsr-l2, dsr-ipip, dsr-gue, nat): a backend's ingress
// deny blocks the flows Maglev gives it while the other backend's pass; a
// NetworkPolicy selecting the backend pod decides; the client's egress rule
// is judged against the backend too; a newer generation of rules judges a
// pinned flow by its backend; a port forward is judged by its inside address
// and port. Frames go through the whole router (Harness), YAML configs.
import { describe, expect, it } from 'vitest';
import type { LbModeName } from '../../src/lb/lb-config.js';
import { FirewallClassifier } from '../../src/firewall/classifier.js';
import { parseConfig } from '../../src/config/load.js';
import { macToString } from '../../src/wire/address.js';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { readCapture } from '../../src/pcap/reader.js';
import { MemorySink, PcapngWriter } from '../../src/pcap/writer.js';
import { replayCapture } from '../../src/replay/replay.js';
import { tcpFrame } from '../pipeline/build.js';
import { Harness } from '../pipeline/harness.js';
import { flat, tupleOf } from '../nat/packets.js';

const LAN_MAC = '02:00:00:00:00:01';
const WAN_MAC = '02:00:00:00:00:02';
const CLIENT = '192.0.2.10';
const VIP = '203.0.113.10';
const B1 = '198.51.100.11';
const B2 = '198.51.100.12';
const MAC_OF: Record<string, string> = { '02:bb:00:00:00:11': B1, '02:bb:00:00:00:12': B2 };

const BASE = `
ports:
  - { name: lan, mac: "${LAN_MAC}", address: 192.0.2.1/24 }
  - { name: wan, mac: "${WAN_MAC}", address: 198.51.100.1/24 }
neighbors:
  - { address: ${CLIENT}, mac: "02:aa:00:00:00:01" }
  - { address: ${B1}, mac: "02:bb:00:00:00:11" }
  - { address: ${B2}, mac: "02:bb:00:00:00:12" }
conntrack: { capacity: 4096 }
`;

const lbYaml = (mode: LbModeName) => `
loadBalancer:
  vips:
    - { name: web, address: ${VIP}, protocol: tcp, port: 80, mode: ${mode}, tableSize: 251, backends: [{ address: ${B1}, weight: 100 }, { address: ${B2}, weight: 100 }] }
`;

/** The backends as endpoints (pods of namespace prod), the client outside. */
const ENDPOINTS = `
namespaces:
  - { name: prod, labels: { env: prod } }
endpoints:
  - { address: ${B1}, namespace: prod, labels: { app: web, shard: one } }
  - { address: ${B2}, namespace: prod, labels: { app: web, shard: two } }
`;

/** Web open on port 80, except on shard one (a higher-priority deny there). */
const ALLOW_WEB = `
firewall:
  rules:
    - { name: allow-web, direction: ingress, priority: 1000, action: allow, protocols: [{ protocol: tcp, ports: [80] }], targets: { labels: { app: web } } }
`;
const DENY_B1 = `${ALLOW_WEB}    - { name: deny-shard-one, direction: ingress, priority: 100, action: deny, protocols: [{ protocol: tcp, ports: [80] }], targets: { labels: { shard: one } } }
`;

const syn = (sport: number) => tcpFrame({ src: CLIENT, dst: VIP, dstMac: LAN_MAC }, sport, 80, 0x02);
const ack = (sport: number) => tcpFrame({ src: CLIENT, dst: VIP, dstMac: LAN_MAC }, sport, 80, 0x10, 100);

/** NAT mode runs the TCP state machine both ways: the backend's SYN-ACK, so that the client's ACK is the connection's. DSR sees the client's side only. */
function answer(h: Harness, mode: LbModeName, sport: number, backend: string): void {
  if (mode === 'nat') expect(h.one('wan', tcpFrame({ src: backend, dst: CLIENT, dstMac: WAN_MAC }, 80, sport, 0x12)).out.length).toBe(1);
}

/** The backend an output frame goes to: the outer destination of a tunnel, the destination of a NAT-mode packet, the MAC's owner for dsr-l2. */
function backendOf(mode: LbModeName, bytes: Uint8Array): string {
  if (mode === 'dsr-l2') return MAC_OF[macToString(bytes, 0)];
  return tupleOf(bytes).dst;
}

/** Which backend each client port's flow goes to, from the same config without a firewall (Maglev is deterministic). */
function picks(mode: LbModeName, ports: number[]): Map<number, string> {
  const h = new Harness(BASE + lbYaml(mode));
  return new Map(ports.map((p) => [p, backendOf(mode, h.one('lan', syn(p)).out[0].bytes)]));
}

const MODES: LbModeName[] = ['dsr-l2', 'dsr-ipip', 'dsr-gue', 'nat'];
const PORTS = Array.from({ length: 40 }, (_, i) => 41000 + i);

describe('the firewall judges a load-balanced flow by its backend', () => {
  it.each(MODES)('%s: the backend\'s ingress deny blocks the flows it is given; the other backend\'s flows pass and stay established', (mode) => {
    const to = picks(mode, PORTS);
    expect(new Set(to.values())).toEqual(new Set([B1, B2]));
    const h = new Harness(BASE + lbYaml(mode) + ENDPOINTS + DENY_B1);
    for (const [p, b] of to) {
      const r = h.one('lan', syn(p));
      if (b === B1) {
        expect(r.out).toEqual([]);
        expect(r.counters['firewall/denied']).toBe(1);
        // No flow was started: the next segment is judged again, and denied again.
        expect(h.one('lan', ack(p)).counters['firewall/denied']).toBe(1);
      } else {
        expect(r.out.map((o) => backendOf(mode, o.bytes))).toEqual([B2]);
        expect([r.counters['firewall/allowed'], r.counters['nat-output/flows-created']]).toEqual([1, 1]);
        // Established: not judged again, still to its backend.
        answer(h, mode, p, b);
        const a = h.one('lan', ack(p));
        expect(a.out.map((o) => backendOf(mode, o.bytes))).toEqual([B2]);
        expect([a.counters['firewall/allowed'], a.counters['firewall/denied']]).toEqual([undefined, undefined]);
      }
    }
    // The hits: every B1 flow twice (SYN and ACK) on deny-shard-one, every B2 flow once on allow-web.
    const n1 = [...to.values()].filter((b) => b === B1).length;
    const origins = h.router.firewall!.judge.plan.origins.map((o) => o.name);
    const hits = h.router.firewall!.hits;
    expect(hits[origins.indexOf('deny-shard-one')]).toBe(2 * n1);
    expect(hits[origins.indexOf('allow-web')]).toBe(PORTS.length - n1);
    // The load balancer counts no packet, and no flow, for the backend the firewall kept them from.
    const status = h.router.lbControl!.status();
    expect(status.find((s) => s.address === B1)).toMatchObject({ packets: 0, newFlows: 0 });
    expect(status.find((s) => s.address === B2)).toMatchObject({ newFlows: PORTS.length - n1 });
  });

  it('nat mode: the reply of an allowed flow passes (stateful), translated back to the VIP', () => {
    const to = picks('nat', PORTS);
    const h = new Harness(BASE + lbYaml('nat') + ENDPOINTS + DENY_B1);
    const p = PORTS.find((x) => to.get(x) === B2)!;
    h.one('lan', syn(p));
    const reply = h.one('wan', tcpFrame({ src: B2, dst: CLIENT, dstMac: WAN_MAC }, 80, p, 0x12));
    expect(reply.out.map((o) => flat(tupleOf(o.bytes)))).toEqual([`${VIP}:80 > ${CLIENT}:${p}/6`]);
    expect([reply.counters['firewall/allowed'], reply.counters['firewall/denied']]).toEqual([undefined, undefined]);
  });

  it('dsr-l2: a reject rule on the backend answers the client with ICMP 3/13 quoting its packet to the VIP', () => {
    const to = picks('dsr-l2', PORTS);
    const h = new Harness(BASE + lbYaml('dsr-l2') + ENDPOINTS + DENY_B1.replace('action: deny', 'action: reject'));
    const p = PORTS.find((x) => to.get(x) === B1)!;
    const r = h.one('lan', syn(p));
    expect(r.counters['firewall/rejected']).toBe(1);
    const e = tupleOf(r.out[0].bytes);
    expect([r.out[0].port, e.dst, e.type, e.code, flat(e.quoted!), e.checksumsOk]).toEqual(['lan', CLIENT, 3, 13, `${CLIENT}:${p} > ${VIP}:80/6`, true]);
  });

  it.each(['dsr-l2', 'nat'] as LbModeName[])('%s: a NetworkPolicy selecting the backend pod decides its flows; an unselected backend stays open', (mode) => {
    const to = picks(mode, PORTS);
    // shard one admits port 80 from 10.0.0.0/8 only (not the client); shard two is selected by no policy.
    const policy = `
networkPolicies:
  - { metadata: { name: shard-one-internal, namespace: prod }, spec: { podSelector: { matchLabels: { shard: one } }, ingress: [{ from: [{ ipBlock: { cidr: 10.0.0.0/8 } }], ports: [{ protocol: TCP, port: 80 }] }] } }
`;
    const h = new Harness(BASE + lbYaml(mode) + ENDPOINTS + policy);
    for (const [p, b] of to) {
      const r = h.one('lan', syn(p));
      expect([b, r.out.length, r.counters['firewall/denied'] ?? 0]).toEqual(b === B1 ? [B1, 0, 1] : [B2, 1, 0]);
    }
    // Admitting the client's network opens shard one too.
    const open = new Harness(BASE + lbYaml(mode) + ENDPOINTS + policy.replace('10.0.0.0/8', '192.0.2.0/24'));
    for (const p of PORTS) expect(open.one('lan', syn(p)).out.length).toBe(1);
  });

  it.each(['dsr-l2', 'dsr-gue', 'nat'] as LbModeName[])('%s: the client\'s egress rule still applies, judged against the backend it goes to', (mode) => {
    const to = picks(mode, PORTS);
    const yaml = `${BASE}${lbYaml(mode)}
endpoints:
  - { address: ${CLIENT}, labels: { app: client } }
firewall:
  rules:
    - { name: client-not-b2, direction: egress, priority: 100, action: deny, destination: { cidrs: [${B2}/32] }, targets: { labels: { app: client } } }
`;
    const h = new Harness(yaml);
    for (const [p, b] of to) {
      const r = h.one('lan', syn(p));
      expect([b, r.out.length, r.counters['firewall/denied'] ?? 0]).toEqual(b === B2 ? [B2, 0, 1] : [B1, 1, 0]);
    }
  });

  it.each(['dsr-l2', 'dsr-ipip', 'nat'] as LbModeName[])('%s: a newer generation judges a pinned flow again by its backend', (mode) => {
    const to = picks(mode, PORTS);
    const allowAll = BASE + lbYaml(mode) + ENDPOINTS + ALLOW_WEB;
    const h = new Harness(allowAll);
    for (const [p, b] of to) {
      expect(h.one('lan', syn(p)).out.length).toBe(1);
      answer(h, mode, p, b);
    }
    const fw = h.router.firewall!;
    fw.publish(FirewallClassifier.build(parseConfig(BASE + lbYaml(mode) + ENDPOINTS + DENY_B1, 'new.yaml', '.').firewall!));
    for (const [p, b] of to) {
      const r = h.one('lan', ack(p));
      expect([b, r.out.length, r.counters['ct-input/policy-changed'] ?? 0]).toEqual(b === B1 ? [B1, 0, 1] : [B2, 1, 0]);
    }
  });

  it('dsr-l2: a flow whose backend goes down moves only to a backend the firewall lets it reach', () => {
    const to = picks('dsr-l2', PORTS);
    // Both open at first; then shard two is denied, and shard one goes down: its flows may not move to shard two.
    const h = new Harness(BASE + lbYaml('dsr-l2') + ENDPOINTS + ALLOW_WEB);
    for (const p of PORTS) h.one('lan', syn(p));
    const fw = h.router.firewall!;
    fw.publish(FirewallClassifier.build(parseConfig(BASE + lbYaml('dsr-l2') + ENDPOINTS + DENY_B1.replace(/shard: one/g, 'shard: two'), 'new.yaml', '.').firewall!));
    h.router.lbControl!.setHealth(0, 0, false);
    for (const [p, b] of to) {
      const r = h.one('lan', ack(p));
      if (b === B1) {
        expect(r.out).toEqual([]);
        expect(r.counters['ct-input/lb-moved-denied']).toBe(1);
      } else {
        // Pinned to shard two, now denied: the newer generation drops it.
        expect(r.counters['ct-input/policy-changed']).toBe(1);
      }
    }
  });
});

describe('through replay', () => {
  it.each(['dsr-l2', 'dsr-gue'] as LbModeName[])('%s: a capture of SYNs and then ACKs to the VIP reaches shard two only; shard one\'s flows are denied at every segment', (mode) => {
    const to = picks(mode, PORTS);
    const sink = new MemorySink();
    const w = new PcapngWriter(sink, { interfaces: [{ name: 'lan', linkType: LINKTYPE_ETHERNET }, { name: 'wan', linkType: LINKTYPE_ETHERNET }], nanosecond: true });
    let t = 0;
    // Every SYN, then three rounds of ACKs: established flows' segments arrive in batches (the fast path takes them).
    for (const p of PORTS) w.write(0, syn(p), 1000, t++ * 1000);
    for (let round = 0; round < 3; round++) for (const p of PORTS) w.write(0, ack(p), 1001, t++ * 1000);
    w.close();
    const out = new MemorySink();
    const summary = replayCapture(parseConfig(BASE + lbYaml(mode) + ENDPOINTS + DENY_B1, 'replay.yaml', '.'), sink.bytes(), out);
    const sent = [...readCapture(out.bytes())].map((r) => backendOf(mode, r.data));
    const n2 = [...to.values()].filter((b) => b === B2).length;
    expect(sent.length).toBe(4 * n2);
    expect(new Set(sent)).toEqual(new Set([B2]));
    const hits = Object.fromEntries((summary.firewall ?? []).map((r) => [r.name, r.hits]));
    expect([hits['deny-shard-one'], hits['allow-web']]).toEqual([4 * (PORTS.length - n2), n2]);
  });
});

describe('the firewall judges a port forward by its inside address and port', () => {
  it('DNAT to another port: the inside port decides, whatever the outside port would have met', () => {
    const yaml = `${BASE}
endpoints:
  - { address: ${B1}, labels: { app: web } }
firewall:
  rules:
    - { name: allow-8080, direction: ingress, priority: 1000, action: allow, protocols: [{ protocol: tcp, ports: [8080] }] }
    - { name: allow-80-from-lan, direction: ingress, priority: 1000, action: allow, protocols: [{ protocol: tcp, ports: [80] }], source: { cidrs: [192.0.2.0/24] } }
nat:
  dnat:
    - { inPort: lan, proto: tcp, dport: 8080, to: "${B1}:80" }
    - { inPort: lan, proto: tcp, dport: 8081, to: "${B1}:8080" }
`;
    const h = new Harness(yaml);
    // 8080 outside is 80 inside: allowed for the lan by allow-80-from-lan (allow-8080 would have said the same for the outside port).
    const a = h.one('lan', tcpFrame({ src: CLIENT, dst: '192.0.2.1', dstMac: LAN_MAC }, 42000, 8080, 0x02));
    expect(a.out.map((o) => flat(tupleOf(o.bytes)))).toEqual([`${CLIENT}:42000 > ${B1}:80/6`]);
    // From another source network the inside port 80 is not open, though the outside port 8080 is.
    const y2 = yaml.replace('192.0.2.0/24', '10.0.0.0/8');
    const h2 = new Harness(y2);
    const d = h2.one('lan', tcpFrame({ src: CLIENT, dst: '192.0.2.1', dstMac: LAN_MAC }, 42001, 8080, 0x02));
    expect(d.out).toEqual([]);
    expect(d.counters['firewall/denied']).toBe(1);
    // 8081 outside is 8080 inside: open.
    const b = h2.one('lan', tcpFrame({ src: CLIENT, dst: '192.0.2.1', dstMac: LAN_MAC }, 42002, 8081, 0x02));
    expect(b.out.map((o) => flat(tupleOf(o.bytes)))).toEqual([`${CLIENT}:42002 > ${B1}:8080/6`]);
  });
});
