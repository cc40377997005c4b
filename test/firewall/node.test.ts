// The firewall node in the router: only a flow's first packet is judged,
// allowed flows are tracked so their replies and the ICMP errors about them
// pass, denials are silent or (reject) answered with ICMP 3/13, traffic
// without an endpoint is not judged, DNAT is judged by its inside
// destination, and a newer generation of rules judges established flows
// again. Plans are written directly here (the YAML front end has its own
// tests), over the classifier the router builds.
import { describe, expect, it } from 'vitest';
import type { RouterConfig } from '../../src/config/load.js';
import { Action, Section, type ClassifierRule, type FirewallPlan, type RuleOrigin } from '../../src/firewall/plan.js';
import { FirewallClassifier } from '../../src/firewall/classifier.js';
import { parseIpv4 } from '../../src/route/prefix.js';
import { icmpErrorFrame, tcpFrame, udpFrame } from '../pipeline/build.js';
import { Harness } from '../pipeline/harness.js';
import { flat, tupleOf } from '../nat/packets.js';

const CONFIG = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }
neighbors:
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 192.0.2.20, mac: "02:aa:00:00:00:02" }
  - { address: 198.51.100.10, mac: "02:bb:00:00:00:01" }
conntrack: { capacity: 64 }
`;
const WAN_MAC = '02:00:00:00:00:02';
const LAN_MAC = '02:00:00:00:00:01';
const WEB = '192.0.2.10';
const OTHER = '192.0.2.20'; // not an endpoint
const OUTSIDE = '198.51.100.10';

const host = (a: string) => ({ include: [{ addr: parseIpv4(a), len: 32 }], except: [] });
const any = () => ({ include: [{ addr: 0, len: 0 }], except: [] });

/** WEB is the one endpoint: implied rules, plus `rules` (VPC ingress to WEB). */
function plan(extra: { name: string; priority: number; action: number; proto: number; lo: number; hi: number }[] = []): FirewallPlan {
  const origins: RuleOrigin[] = [
    { kind: 'implied', name: 'implied-deny-ingress', direction: 'ingress', priority: 65535, action: Action.DENY },
    { kind: 'implied', name: 'implied-allow-egress', direction: 'egress', priority: 65535, action: Action.ALLOW },
  ];
  const rules: ClassifierRule[] = [
    { section: Section.VPC_INGRESS, priority: 65535, action: Action.DENY, src: any(), dst: host(WEB), ports: [], origin: 0 },
    { section: Section.VPC_EGRESS, priority: 65535, action: Action.ALLOW, src: host(WEB), dst: any(), ports: [], origin: 1 },
  ];
  for (const e of extra) {
    origins.push({ kind: 'vpc', name: e.name, direction: 'ingress', priority: e.priority, action: e.action });
    rules.push({ section: Section.VPC_INGRESS, priority: e.priority, action: e.action, src: any(), dst: host(WEB), ports: [{ proto: e.proto, lo: e.lo, hi: e.hi }], origin: origins.length - 1 });
  }
  return { rules, origins, endpoints: [parseIpv4(WEB)] };
}

function router(p: FirewallPlan, yaml = CONFIG) {
  return new Harness(yaml, {}, {}, (c: RouterConfig) => ({ ...c, firewall: p }));
}

const ALLOW_WEB = { name: 'allow-web', priority: 1000, action: Action.ALLOW, proto: 6, lo: 80, hi: 80 };
const REJECT_SSH = { name: 'reject-ssh', priority: 900, action: Action.REJECT, proto: 6, lo: 22, hi: 22 };

describe('the firewall node', () => {
  it('implied rules: ingress to an endpoint is dropped silently; its egress is allowed and tracked, and the replies and ICMP errors about it pass', () => {
    const h = router(plan());
    const inbound = h.one('wan', udpFrame({ src: OUTSIDE, dst: WEB, dstMac: WAN_MAC }, 5000, 53));
    expect(inbound.out).toEqual([]);
    expect(inbound.counters['firewall/denied']).toBe(1);
    const out = h.one('lan', udpFrame({ src: WEB, dst: OUTSIDE, dstMac: LAN_MAC }, 40000, 53));
    expect(flat(tupleOf(out.out[0].bytes))).toBe(`${WEB}:40000 > ${OUTSIDE}:53/17`);
    expect(out.counters['firewall/allowed']).toBe(1);
    expect(out.counters['nat-output/flows-created']).toBe(1);
    // The reply is the flow's: not judged (the implied ingress deny would drop it).
    const reply = h.one('wan', udpFrame({ src: OUTSIDE, dst: WEB, dstMac: WAN_MAC }, 53, 40000));
    expect(flat(tupleOf(reply.out[0].bytes))).toBe(`${OUTSIDE}:53 > ${WEB}:40000/17`);
    expect(reply.counters['firewall/denied']).toBeUndefined();
    expect(reply.counters['firewall/allowed']).toBeUndefined();
    // An ICMP port unreachable about the flow is related: it passes.
    const err = h.one('wan', icmpErrorFrame({ src: OUTSIDE, dst: WEB, dstMac: WAN_MAC }, 3, 3, out.out[0].bytes.subarray(14)));
    expect(err.out.map((o) => tupleOf(o.bytes).dst)).toEqual([WEB]);
    // One about a flow that never was is judged as new ingress: denied.
    const stray = h.one('wan', icmpErrorFrame({ src: OUTSIDE, dst: WEB, dstMac: WAN_MAC }, 3, 3, udpFrame({ src: WEB, dst: OUTSIDE }, 1111, 53).subarray(14)));
    expect(stray.out).toEqual([]);
    expect(stray.counters['firewall/denied']).toBe(1);
    // Hits: the implied ingress deny twice, the implied egress allow once.
    expect(Array.from(h.router.firewall!.hits)).toEqual([2, 1]);
  });

  it('an allow rule opens a port; TCP through it reaches ESTABLISHED and later segments are not judged', () => {
    const h = router(plan([ALLOW_WEB]));
    const syn = h.one('wan', tcpFrame({ src: OUTSIDE, dst: WEB, dstMac: WAN_MAC }, 50000, 80, 0x02));
    expect(syn.out.length).toBe(1);
    expect(syn.counters['firewall/allowed']).toBe(1);
    const synAck = h.one('lan', tcpFrame({ src: WEB, dst: OUTSIDE, dstMac: LAN_MAC }, 80, 50000, 0x12));
    expect(synAck.out.length).toBe(1);
    const ack = h.one('wan', tcpFrame({ src: OUTSIDE, dst: WEB, dstMac: WAN_MAC }, 50000, 80, 0x10));
    expect(ack.out.length).toBe(1);
    expect(ack.counters['firewall/allowed']).toBeUndefined();
    // Port 81 is not opened.
    expect(h.one('wan', tcpFrame({ src: OUTSIDE, dst: WEB, dstMac: WAN_MAC }, 50001, 81, 0x02)).counters['firewall/denied']).toBe(1);
  });

  it('reject answers ICMP unreachable code 13 quoting the packet; deny sends nothing', () => {
    const h = router(plan([REJECT_SSH]));
    const r = h.one('wan', tcpFrame({ src: OUTSIDE, dst: WEB, dstMac: WAN_MAC }, 50000, 22, 0x02));
    expect(r.counters['firewall/rejected']).toBe(1);
    expect(r.out.length).toBe(1);
    const e = tupleOf(r.out[0].bytes);
    expect([r.out[0].port, e.src, e.dst, e.type, e.code, flat(e.quoted!), e.checksumsOk]).toEqual(['wan', '198.51.100.1', OUTSIDE, 3, 13, `${OUTSIDE}:50000 > ${WEB}:22/6`, true]);
  });

  it('traffic neither from nor to an endpoint is routed as without a firewall: not judged, not tracked', () => {
    const h = router(plan());
    const r = h.one('wan', udpFrame({ src: OUTSIDE, dst: OTHER, dstMac: WAN_MAC }, 5000, 53));
    expect(r.out.length).toBe(1);
    expect(r.counters['firewall/allowed']).toBeUndefined();
    expect(r.counters['firewall/denied']).toBeUndefined();
    expect(r.counters['nat-output/flows-created']).toBeUndefined();
  });

  it('a truncated TCP header is dropped by ct-input, not let through unjudged', () => {
    const h = router(plan());
    const f = tcpFrame({ src: OUTSIDE, dst: WEB, dstMac: WAN_MAC }, 50000, 80, 0x02);
    // Cut the TCP header to 12 bytes and fix the IPv4 total length and checksum.
    const cut = f.slice(0, 14 + 20 + 12);
    cut[16] = 0;
    cut[17] = 32;
    cut[24] = cut[25] = 0;
    let sum = 0;
    for (let i = 14; i < 34; i += 2) sum += (cut[i] << 8) | cut[i + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    cut[24] = ~sum >> 8;
    cut[25] = ~sum;
    const r = h.one('wan', cut);
    expect(r.out).toEqual([]);
    expect(r.counters['ct-input/truncated']).toBe(1);
  });

  it('with DNAT, the inside destination is judged, and a reject quotes the packet as it arrived', () => {
    const yaml = `${CONFIG}
nat:
  dnat:
    - { inPort: wan, proto: tcp, dport: 8080, to: "${WEB}:80" }
    - { inPort: wan, proto: tcp, dport: 2222, to: "${WEB}:22" }
`;
    const h = router(plan([ALLOW_WEB, REJECT_SSH]), yaml);
    const ok = h.one('wan', tcpFrame({ src: OUTSIDE, dst: '198.51.100.1', dstMac: WAN_MAC }, 50000, 8080, 0x02));
    expect(flat(tupleOf(ok.out[0].bytes))).toBe(`${OUTSIDE}:50000 > ${WEB}:80/6`);
    const no = h.one('wan', tcpFrame({ src: OUTSIDE, dst: '198.51.100.1', dstMac: WAN_MAC }, 50001, 2222, 0x02));
    expect(no.counters['firewall/rejected']).toBe(1);
    const e = tupleOf(no.out[0].bytes);
    expect([e.type, e.code, flat(e.quoted!)]).toEqual([3, 13, `${OUTSIDE}:50001 > 198.51.100.1:2222/6`]);
  });

  it('a newer generation judges established flows again on their next packet: dropped when now denied, kept when allowed again', () => {
    const h = router(plan([ALLOW_WEB]));
    h.one('wan', tcpFrame({ src: OUTSIDE, dst: WEB, dstMac: WAN_MAC }, 50000, 80, 0x02));
    h.one('lan', tcpFrame({ src: WEB, dst: OUTSIDE, dstMac: LAN_MAC }, 80, 50000, 0x12));
    const fw = h.router.firewall!;
    expect(fw.generation).toBe(1);
    fw.publish(FirewallClassifier.build(plan()));
    expect(fw.generation).toBe(2);
    const after = h.one('wan', tcpFrame({ src: OUTSIDE, dst: WEB, dstMac: WAN_MAC }, 50000, 80, 0x10));
    expect(after.out).toEqual([]);
    expect(after.counters['ct-input/policy-changed']).toBe(1);
    // Either direction.
    expect(h.one('lan', tcpFrame({ src: WEB, dst: OUTSIDE, dstMac: LAN_MAC }, 80, 50000, 0x10)).counters['ct-input/policy-changed']).toBe(1);
    fw.publish(FirewallClassifier.build(plan([ALLOW_WEB])));
    const again = h.one('wan', tcpFrame({ src: OUTSIDE, dst: WEB, dstMac: WAN_MAC }, 50000, 80, 0x10));
    expect(again.out.length).toBe(1);
    expect(again.counters['ct-input/policy-changed']).toBeUndefined();
  });
});
