// The metrics over real routers (two workers on memory ports sharing the
// flow table, as `dataplane run`'s workers do): every family moves with the
// traffic that should move it, and nothing else; the text is what promtool
// accepts.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { DataplaneMetrics } from '../../src/metrics/dataplane-metrics.js';
import { tcpFrame, udpFrame } from '../pipeline/build.js';
import { PipelineRig } from '../../src/metrics/memory-rig.js';
import { parseExposition } from './exposition.js';
import { skipIf } from '../skip.js';
import { missingToolsMessage } from '../../src/host/tools.js';

const CONFIG = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }
neighbors:
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 198.51.100.10, mac: "02:bb:00:00:00:10" }
  - { address: 198.51.100.11, mac: "02:bb:00:00:00:11" }
  - { address: 198.51.100.12, mac: "02:bb:00:00:00:12" }
nat:
  masquerade:
    - { outPort: wan, ports: 20000-20099 }
conntrack: { capacity: 4096 }
endpoints:
  - { address: 192.0.2.10 }
firewall:
  rules:
    - { name: deny-telnet, direction: egress, action: deny, protocols: [{ protocol: tcp, ports: [23] }] }
loadBalancer:
  vips:
    - name: web
      address: 203.0.113.10
      protocol: tcp
      port: 80
      mode: dsr-l2
      tableSize: 251
      backends:
        - { address: 198.51.100.11, weight: 1 }
        - { address: 198.51.100.12, weight: 1 }
`;
const LAN_MAC = '02:00:00:00:00:01';
const dns = (sport: number) => udpFrame({ src: '192.0.2.10', dst: '198.51.100.10', dstMac: LAN_MAC }, sport, 53);
const telnet = (sport: number) => tcpFrame({ src: '192.0.2.10', dst: '198.51.100.10', dstMac: LAN_MAC }, sport, 23, 0x02);
const web = (sport: number) => tcpFrame({ src: '192.0.2.10', dst: '203.0.113.10', dstMac: LAN_MAC }, sport, 80, 0x02);
const unrouted = () => udpFrame({ src: '192.0.2.10', dst: '203.0.113.99', dstMac: LAN_MAC }, 5000, 9);

async function scrape(m: DataplaneMetrics) {
  const text = await m.scrape();
  const v = parseExposition(text);
  const get = (series: string) => {
    const x = v.get(series);
    if (x === undefined) throw new Error(`no series ${series} in:\n${text}`);
    return x;
  };
  const sum = (prefix: string) => [...v].filter(([k]) => k.startsWith(prefix)).reduce((n, [, x]) => n + x, 0);
  return { text, get, sum, has: (series: string) => v.has(series) };
}

describe('metrics over two workers of real routers', () => {
  it('before any traffic every configured series exists at zero', async () => {
    const rig = new PipelineRig(CONFIG);
    const s = await scrape(new DataplaneMetrics(rig));
    expect(s.get('dataplane_port_receive_packets_total{port="lan"}')).toBe(0);
    expect(s.get('dataplane_drops_total{node="ip4-lookup",reason="no-route"}')).toBe(0);
    expect(s.get('dataplane_flow_table_entries')).toBe(0);
    expect(s.get('dataplane_flow_table_capacity')).toBeGreaterThanOrEqual(4096);
    expect(s.get('dataplane_nat_ports_in_use{rule="masquerade[0]",address="198.51.100.1"}')).toBe(0);
    expect(s.get('dataplane_firewall_rule_hits_total{rule="deny-telnet",kind="vpc",direction="egress"}')).toBe(0);
    expect(s.get('dataplane_lb_backend_state{vip="web",backend="198.51.100.11",state="active"}')).toBe(1);
    expect(s.get('dataplane_lb_backend_state{vip="web",backend="198.51.100.11",state="down"}')).toBe(0);
    expect(s.get('dataplane_worker_busy_seconds_total{worker="1"}')).toBe(0);
  });

  it('ports, NAT, flow table, firewall, VIP backends, drops, ICMP errors and busy time move with traffic on both workers', async () => {
    const rig = new PipelineRig(CONFIG);
    const m = new DataplaneMetrics(rig);
    // Worker 0: 10 DNS flows masqueraded out of wan; worker 1: 3 telnet SYNs (denied), 4 SYNs to the VIP, one unrouted datagram.
    expect(rig.send(0, 'lan', Array.from({ length: 10 }, (_, i) => dns(40000 + i)))).toHaveLength(10);
    expect(rig.send(1, 'lan', [telnet(41000), telnet(41001), telnet(41002)])).toHaveLength(0);
    expect(rig.send(1, 'lan', [web(42000), web(42001), web(42002), web(42003)])).toHaveLength(4);
    const icmp = rig.send(1, 'lan', [unrouted()]);
    expect(icmp).toHaveLength(1);
    const s = await scrape(m);
    expect(s.get('dataplane_port_receive_packets_total{port="lan"}')).toBe(18);
    expect(s.get('dataplane_port_receive_bytes_total{port="lan"}')).toBe(10 * dns(0).length + 3 * telnet(0).length + 4 * web(0).length + unrouted().length);
    expect(s.get('dataplane_port_transmit_packets_total{port="wan"}')).toBe(14);
    expect(s.get('dataplane_port_transmit_packets_total{port="lan"}')).toBe(1);
    expect(s.get('dataplane_port_transmit_bytes_total{port="lan"}')).toBe(icmp[0].length);
    expect(s.get('dataplane_port_receive_drops_total{port="lan",stage="pipeline"}')).toBe(4);
    expect(s.get('dataplane_port_receive_drops_total{port="lan",stage="port"}')).toBe(0);
    expect(s.get('dataplane_drops_total{node="ip4-lookup",reason="no-route"}')).toBe(1);
    expect(s.get('dataplane_drops_total{node="firewall",reason="denied"}')).toBe(3);
    expect(s.sum('dataplane_drops_total{')).toBe(4);
    expect(s.get('dataplane_icmp_errors_sent_total')).toBe(1);
    expect(s.get('dataplane_icmp_errors_rate_limited_total')).toBe(0);
    expect(s.get('dataplane_nat_ports_in_use{rule="masquerade[0]",address="198.51.100.1"}')).toBe(10);
    // The 10 masqueraded flows and the 4 load-balanced ones; the denied SYNs started none.
    expect(s.get('dataplane_flows_created_total')).toBe(14);
    expect(s.get('dataplane_flow_table_entries')).toBeGreaterThanOrEqual(10 + 4);
    expect(s.get('dataplane_flow_table_inserts_total')).toBe(s.get('dataplane_flow_table_entries'));
    expect(s.get('dataplane_firewall_rule_hits_total{rule="deny-telnet",kind="vpc",direction="egress"}')).toBe(3);
    expect(s.sum('dataplane_lb_backend_flows_total{vip="web"')).toBe(4);
    expect(s.sum('dataplane_lb_backend_packets_total{vip="web"')).toBe(4);
    expect(s.sum('dataplane_lb_backend_bytes_total{vip="web"')).toBe(4 * (web(0).length - 14)); // IP bytes: no Ethernet header
    expect(s.sum('dataplane_lb_backend_active_flows{vip="web"')).toBe(4);
    // Both workers processed frames; a worker's busy time only grows.
    const busy = [s.get('dataplane_worker_busy_seconds_total{worker="0"}'), s.get('dataplane_worker_busy_seconds_total{worker="1"}')];
    expect(busy[0]).toBeGreaterThan(0);
    expect(busy[1]).toBeGreaterThan(0);
    rig.send(0, 'lan', [dns(40000)]);
    const again = await scrape(m);
    expect(again.get('dataplane_worker_busy_seconds_total{worker="0"}')).toBeGreaterThan(busy[0]);
    expect(again.get('dataplane_worker_busy_seconds_total{worker="1"}')).toBe(busy[1]);
    // The same flow again: one more packet, no new binding.
    expect(again.get('dataplane_port_receive_packets_total{port="lan"}')).toBe(19);
    expect(again.get('dataplane_flows_created_total')).toBe(14);
  });

  it('a backend reported down by health checks shows in its state series', async () => {
    const rig = new PipelineRig(CONFIG);
    const m = new DataplaneMetrics(rig);
    rig.lb!.setHealth(0, 1, false); // VIP web, its second backend
    const s = await scrape(m);
    expect(s.get('dataplane_lb_backend_state{vip="web",backend="198.51.100.12",state="down"}')).toBe(1);
    expect(s.get('dataplane_lb_backend_state{vip="web",backend="198.51.100.12",state="active"}')).toBe(0);
    expect(s.get('dataplane_lb_backend_state{vip="web",backend="198.51.100.11",state="active"}')).toBe(1);
  });

  it('rule hits follow a new firewall plan: its rules by name, a rule kept counting on, a rule dropped gone', async () => {
    const rig = new PipelineRig(CONFIG);
    const m = new DataplaneMetrics(rig);
    const hits = (rule: string, kind = 'vpc') => `dataplane_firewall_rule_hits_total{rule="${rule}",kind="${kind}",direction="egress"}`;
    rig.send(0, 'lan', [telnet(41000), dns(40000)]);
    const before = await scrape(m);
    expect(before.get(hits('deny-telnet'))).toBe(1);
    expect(before.get(hits('implied-allow-egress', 'implied'))).toBe(1);
    // `ctl firewall set`: deny-telnet replaced by deny-ssh, ahead of it in the plan. Hits between the scrape and the change count too.
    rig.send(1, 'lan', [dns(40001)]);
    const ssh = (sport: number) => tcpFrame({ src: '192.0.2.10', dst: '198.51.100.10', dstMac: LAN_MAC }, sport, 22, 0x02);
    const replaced = CONFIG.replace(
      '    - { name: deny-telnet, direction: egress, action: deny, protocols: [{ protocol: tcp, ports: [23] }] }',
      '    - { name: deny-ssh, direction: egress, priority: 10, action: deny, protocols: [{ protocol: tcp, ports: [22] }] }',
    );
    expect(replaced).not.toBe(CONFIG);
    rig.setFirewall(parseConfig(replaced, 'test.yaml', '.').firewall!);
    rig.send(0, 'lan', [ssh(43000), dns(40002)]);
    const after = await scrape(m);
    expect(after.get(hits('deny-ssh'))).toBe(1);
    expect(after.get(hits('implied-allow-egress', 'implied'))).toBe(3);
    expect(after.has(hits('deny-telnet'))).toBe(false);
    expect(after.sum('dataplane_firewall_rule_hits_total{')).toBe(4);
    if (missingToolsMessage(['promtool']) === undefined) {
      const r = spawnSync('promtool', ['check', 'metrics'], { input: after.text, encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    }
  });

  it('promtool check metrics accepts a scrape after traffic', skipIf(missingToolsMessage(['promtool'])), async () => {
    const rig = new PipelineRig(CONFIG);
    rig.send(0, 'lan', [dns(40000), telnet(41000), web(42000), unrouted()]);
    const text = await new DataplaneMetrics(rig).scrape();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
