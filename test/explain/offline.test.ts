// Explain offline: one packet through a router built from the config, with
// the answers read off the real pipeline's verdicts, checked against the
// frames the same run would send.
import { describe, expect, it } from 'vitest';
import { explainOffline } from '../../src/explain/offline.js';
import { formatExplain } from '../../src/explain/format.js';
import { BACKENDS, config, FIREWALL_YAML, LB_FIREWALL_YAML, LB_YAML, NAT_YAML } from './configs.js';

const nat = config(NAT_YAML);
const fw = config(FIREWALL_YAML);
const lb = config(LB_YAML);
const lbFw = config(LB_FIREWALL_YAML);

describe('explain offline', () => {
  it('routes: the route in iproute2 words, the next hop and port, the TTL rewrite, the frame sent', () => {
    const r = explainOffline(nat, 'udp 192.0.2.10:40000 > 203.0.113.10:53 in lan ttl 9');
    expect(r.outcome).toBe('forwarded');
    expect(r.route).toEqual({ destination: '203.0.113.10', route: '203.0.113.0/24 via 198.51.100.254 dev wan', nextHop: '198.51.100.254', port: 'wan' });
    expect(r.steps.map((s) => s.node)).toEqual(['ethernet-input', 'ip4-input', 'ct-input', 'ip4-lookup', 'nat-output', 'ip4-rewrite', 'ip4-output']);
    expect(r.steps.find((s) => s.node === 'ip4-rewrite')?.text).toContain('ttl 9 -> 8');
    expect(r.steps.at(-1)).toMatchObject({ verdict: 'out', to: 'wan', answer: false });
    expect(r.sent).toHaveLength(1);
    expect(r.sent[0].port).toBe('wan');
    expect(r.sent[0].frame).toMatch(/^198\.51\.100\.1\.\d+ > 203\.0\.113\.10\.53: UDP/);
    expect(r.drop).toBeUndefined();
    expect(formatExplain(r)).toContain('route:    203.0.113.10: 203.0.113.0/24 via 198.51.100.254 dev wan, next hop 198.51.100.254 on wan');
  });

  it('NAT: masquerade shows the new binding (the port the sent frame carries) and the rule', () => {
    const r = explainOffline(nat, 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan');
    expect(r.nat?.newFlow).toBe(true);
    expect(r.nat?.rule).toBe('masquerade[0] (wan)');
    expect(r.nat?.source?.from).toBe('192.0.2.10:40000');
    const port = /^198\.51\.100\.1:(\d+)$/.exec(r.nat?.source?.to ?? '')?.[1];
    expect(port).toBeDefined();
    expect(r.sent[0].frame).toContain(`198.51.100.1.${port} > 203.0.113.10.80: Flags [S]`);
    expect(r.nat?.destination).toBeUndefined();
    expect(r.counters['nat-output/flows-created']).toBe(1);
  });

  it('NAT: port forwarding (DNAT) shows the destination binding and its rule', () => {
    const r = explainOffline(nat, 'tcp 198.51.100.7:5000 > 198.51.100.1:8080 in wan');
    expect(r.nat).toMatchObject({ destination: { from: '198.51.100.1:8080', to: '192.0.2.10:80' }, rule: 'dnat[0]', newFlow: true });
    expect(r.route).toMatchObject({ destination: '192.0.2.10', route: '192.0.2.0/24 dev lan', nextHop: '192.0.2.10', port: 'lan' });
    expect(r.sent[0].frame).toContain('198.51.100.7.5000 > 192.0.2.10.80');
  });

  it('TTL 1: dropped by ip4-rewrite, ICMP time exceeded back to the sender', () => {
    const r = explainOffline(nat, 'udp 192.0.2.10:40000 > 203.0.113.10:53 in lan ttl 1');
    expect(r.outcome).toBe('dropped');
    expect(r.drop?.reason).toBe('ip4-rewrite/ttl-expired');
    expect(r.icmp).toEqual({ type: 11, code: 0, text: 'ICMP time exceeded in transit', to: '192.0.2.10', port: 'lan' });
    expect(r.sent).toEqual([{ port: 'lan', frame: expect.stringContaining('192.0.2.1 > 192.0.2.10: ICMP time exceeded in-transit') }]);
    expect(r.steps.filter((s) => s.answer).at(-1)).toMatchObject({ verdict: 'out', to: 'lan' });
    // A probe with TTL 1 starts no flow (traceroute leaves no bindings).
    expect(r.counters['nat-output/flows-created']).toBeUndefined();
  });

  it('no route: ICMP net unreachable, the route "unreachable"', () => {
    const r = explainOffline(nat, 'icmp echo 192.0.2.10 > 198.18.0.1 in lan');
    expect(r.route).toEqual({ destination: '198.18.0.1', route: 'unreachable' });
    expect(r.drop?.reason).toBe('ip4-lookup/no-route');
    expect(r.icmp).toMatchObject({ type: 3, code: 0, to: '192.0.2.10', port: 'lan' });
  });

  it('DF over a smaller egress MTU: fragmentation needed with the MTU; without DF it leaves in fragments', () => {
    const df = explainOffline(nat, 'icmp echo 192.0.2.10 > 203.0.113.10 in lan len 1500 df');
    expect(df.drop?.reason).toBe('ip4-rewrite/fragmentation-needed');
    expect(df.icmp).toMatchObject({ type: 3, code: 4, text: 'ICMP fragmentation needed, mtu 1400', to: '192.0.2.10' });
    const frag = explainOffline(nat, 'icmp echo 192.0.2.10 > 203.0.113.10 in lan len 1500');
    expect(frag.outcome).toBe('forwarded');
    expect(frag.sent.map((s) => s.port)).toEqual(['wan', 'wan']);
    expect(frag.steps.some((s) => s.node === 'ip4-frag')).toBe(true);
  });

  it('a next hop with no known MAC: the packet waits for ARP, the request is what is sent', () => {
    const r = explainOffline(nat, 'udp 192.0.2.10:40000 > 198.51.100.77:53 in lan');
    expect(r.outcome).toBe('arp');
    expect(r.arp).toEqual({ target: '198.51.100.77', port: 'wan' });
    expect(r.sent).toEqual([{ port: 'wan', frame: expect.stringContaining('Request who-has 198.51.100.77 tell 198.51.100.1') }]);
  });

  it('to the router: an echo is answered (the reply is the answer, not a translation)', () => {
    const r = explainOffline(nat, 'icmp echo 192.0.2.10 > 192.0.2.1 in lan');
    expect(r.outcome).toBe('local');
    expect(r.nat).toBeUndefined();
    expect(r.sent[0]).toMatchObject({ port: 'lan', frame: expect.stringContaining('192.0.2.1 > 192.0.2.10: ICMP echo reply') });
  });

  it('firewall: the deciding rule with its priority, for allow, reject (ICMP code 13) and deny (silent)', () => {
    const allow = explainOffline(fw, 'tcp 198.51.100.10:40000 > 192.0.2.10:80 in wan');
    expect(allow.outcome).toBe('forwarded');
    expect(allow.firewall).toMatchObject({ decision: 'allow', rules: [{ name: 'allow-web', kind: 'vpc', direction: 'ingress', priority: 1000, action: 'allow' }] });
    const reject = explainOffline(fw, 'tcp 198.51.100.10:40000 > 192.0.2.10:22 in wan');
    expect(reject.firewall).toMatchObject({ decision: 'reject', rules: [{ name: 'reject-ssh', priority: 900, action: 'reject' }], text: 'rejected by reject-ssh (vpc ingress priority 900 reject)' });
    expect(reject.drop?.reason).toBe('firewall/rejected');
    expect(reject.icmp).toMatchObject({ type: 3, code: 13, to: '198.51.100.10', port: 'wan' });
    const deny = explainOffline(fw, 'udp 198.51.100.10:40000 > 192.0.2.10:53 in wan');
    expect(deny.firewall).toMatchObject({ decision: 'deny', rules: [{ name: 'deny-dns', priority: 800 }] });
    expect(deny.drop?.reason).toBe('firewall/denied');
    expect([deny.icmp, deny.sent]).toEqual([undefined, []]);
    const implied = explainOffline(fw, 'tcp 198.51.100.10:40000 > 192.0.2.10:443 in wan');
    expect(implied.firewall?.rules).toEqual([{ name: 'implied-deny-ingress', kind: 'implied', direction: 'ingress', priority: 65535, action: 'deny' }]);
    const bystander = explainOffline(fw, 'tcp 198.51.100.10:40000 > 192.0.2.20:443 in wan');
    expect(bystander.firewall?.decision).toBe('not-judged');
  });

  it('load balancer: the backend and the tunnel (outer header as sent), NAT mode and MAC rewrite', () => {
    const ipip = explainOffline(lb, 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan');
    const backend = ipip.lb?.backend ?? '';
    expect(BACKENDS).toContain(backend);
    expect(ipip.lb).toMatchObject({ vip: 'web', vipAddress: '203.0.113.10', mode: 'dsr-ipip', encapsulation: 'ipip', outer: `198.51.100.1 > ${backend} ipip`, newFlow: true });
    expect(ipip.route).toMatchObject({ destination: backend, nextHop: backend, port: 'wan' });
    expect(ipip.sent[0].frame).toContain(`198.51.100.1 > ${backend}: ip-proto-4`);
    const natVip = explainOffline(lb, 'udp 192.0.2.10:40000 > 203.0.113.11:53 in lan');
    expect(natVip.lb).toMatchObject({ vip: 'dns', mode: 'nat', backend: '198.51.100.12', encapsulation: 'none' });
    expect(natVip.nat).toMatchObject({ destination: { from: '203.0.113.11:53', to: '198.51.100.12:53' }, rule: 'load balancer dns' });
    const l2 = explainOffline(lb, 'tcp 192.0.2.10:40000 > 203.0.113.12:443 in lan');
    expect(l2.lb).toMatchObject({ vip: 'l2', backend: '198.51.100.11', encapsulation: 'mac' });
    expect(l2.sent[0].frame).toContain('192.0.2.10.40000 > 203.0.113.12.443');
  });

  it('firewall behind a direct-return VIP: the rule judged against the backend, in the answer and the trace', () => {
    // Client ports whose flows Maglev gives to each backend.
    const byBackend = new Map<string, ReturnType<typeof explainOffline>>();
    for (let p = 40000; p < 40100 && byBackend.size < 2; p++) {
      const r = explainOffline(lbFw, `tcp 192.0.2.10:${p} > 203.0.113.10:80 in lan`);
      if (r.lb?.backend !== undefined && !byBackend.has(r.lb.backend)) byBackend.set(r.lb.backend, r);
    }
    const denied = byBackend.get('198.51.100.11')!;
    const port = /:(\d+) >/.exec(denied.spec)![1];
    expect(denied.outcome).toBe('dropped');
    expect(denied.drop?.reason).toBe('firewall/denied');
    expect(denied.firewall).toMatchObject({
      decision: 'deny', backend: '198.51.100.11', judged: `192.0.2.10:${port} -> 198.51.100.11:80 tcp`,
      rules: [{ name: 'deny-shard-one', direction: 'ingress', priority: 100, action: 'deny' }],
      text: 'denied by deny-shard-one (vpc ingress priority 100 deny), judged as to backend 198.51.100.11:80',
    });
    expect(formatExplain(denied)).toContain('firewall: deny: denied by deny-shard-one (vpc ingress priority 100 deny), judged as to backend 198.51.100.11:80');
    // The trace's own line for the firewall says it too.
    expect(denied.steps.find((s) => s.node === 'firewall')?.text).toContain('judged as to backend 198.51.100.11:80');
    const allowed = byBackend.get('198.51.100.12')!;
    expect(allowed.outcome).toBe('forwarded');
    expect(allowed.firewall).toMatchObject({ decision: 'allow', backend: '198.51.100.12', rules: [{ name: 'allow-web' }], text: 'allowed by allow-web (vpc ingress priority 1000 allow), judged as to backend 198.51.100.12:80' });
  });

  it('firewall behind a nat-mode VIP: judged against the backend too', () => {
    const r = explainOffline(lbFw, 'udp 192.0.2.10:40000 > 203.0.113.11:53 in lan');
    expect(r.firewall).toMatchObject({
      decision: 'deny', backend: '198.51.100.12', judged: '192.0.2.10:40000 -> 198.51.100.12:53 udp',
      rules: [{ name: 'implied-deny-ingress' }], text: 'denied by implied-deny-ingress (implied ingress priority 65535 deny), judged as to backend 198.51.100.12:53',
    });
  });

  it('firewall behind a port forward: judged against the inside address and port', () => {
    const r = explainOffline(lbFw, 'tcp 192.0.2.10:40000 > 192.0.2.1:2222 in lan');
    expect(r.firewall).toMatchObject({ decision: 'reject', judged: '192.0.2.10:40000 -> 198.51.100.11:22 tcp', rules: [{ name: 'reject-ssh' }], text: 'rejected by reject-ssh (vpc ingress priority 900 reject), judged as to 198.51.100.11:22' });
    expect(r.firewall?.backend).toBeUndefined();
    expect(r.icmp).toMatchObject({ type: 3, code: 13, to: '192.0.2.10' });
  });

  it('the same spec on the same config gives the same answer (the config keeps no state)', () => {
    const spec = 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan';
    expect(explainOffline(lb, spec)).toEqual(explainOffline(lb, spec));
  });
});
