// Load-balanced flows as the control plane lists them (src/nat/flow-control.ts):
// the VIP, the backend a flow is pinned to and that backend's state; the
// `vip` and `backend` filter words; deleting a VIP's flows counts them ended
// against their backends.
import { lbRegistryView } from '../../src/lb/lb-tables.js';
import { describe, expect, it } from 'vitest';
import type { RouterConfig } from '../../src/config/load.js';
import type { LbModeName, VipConfig } from '../../src/lb/lb-config.js';
import { FlowControl } from '../../src/nat/flow-control.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { parseIpv4 } from '../../src/route/prefix.js';
import { tcpFrame } from '../pipeline/build.js';
import { Harness } from '../pipeline/harness.js';
import { tupleOf } from '../nat/packets.js';

const CONFIG = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }
neighbors:
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 198.51.100.11, mac: "02:bb:00:00:00:11" }
  - { address: 198.51.100.12, mac: "02:bb:00:00:00:12" }
  - { address: 198.51.100.13, mac: "02:bb:00:00:00:13" }
conntrack: { capacity: 1024 }
`;
const LAN_MAC = '02:00:00:00:00:01';
const CLIENT = '192.0.2.10';
const BACKENDS = ['198.51.100.11', '198.51.100.12', '198.51.100.13'];

function vip(name: string, address: string, mode: LbModeName): VipConfig {
  return {
    name, address: parseIpv4(address) >>> 0, protocol: 6, port: 80, mode, tableSize: 65537, hash: 'five-tuple',
    affinity: undefined, healthCheck: undefined, dynamicWeights: undefined, snat: false, guePort: 6080,
    backends: BACKENDS.map((a) => ({ address: parseIpv4(a) >>> 0, weight: 100 })),
  };
}

function setup() {
  const clock = new ManualClock(5_000_000);
  const h = new Harness(CONFIG, {}, { clock }, (c: RouterConfig) => ({ ...c, loadBalancer: { vips: [vip('web', '203.0.113.10', 'nat'), vip('api', '203.0.113.20', 'dsr-l2')] } }));
  const lb = h.router.lbControl!;
  const tables = h.router.natTables!;
  const ctl = new FlowControl(tables.buffers, tables.pools, { tables: lbRegistryView(lb.tables), vipNames: () => lb.vipConfigs.map((v) => v.name) }, clock);
  const syn = (dst: string, sport: number) => h.one('lan', tcpFrame({ src: CLIENT, dst, dstMac: LAN_MAC }, sport, 80, 0x02));
  return { h, lb, ctl, syn };
}

describe('load-balanced flows in the flow list', () => {
  it('each shows its VIP, backend and backend state; vip, backend and dst (the VIP, before translation) pick them', () => {
    const { lb, ctl, syn } = setup();
    const natBackend = tupleOf(syn('203.0.113.10', 40000).out[0].bytes).dst;
    for (let p = 41000; p < 41010; p++) syn('203.0.113.20', p);

    const web = ctl.flows('vip web', 10).flows;
    expect(web).toHaveLength(1);
    const f = web[0];
    expect(f.original).toEqual({ src: CLIENT, dst: '203.0.113.10', sport: 40000, dport: 80 });
    expect(f.reply).toEqual({ src: natBackend, dst: CLIENT, sport: 80, dport: 40000 });
    expect([f.dnat, f.snat, f.state, f.backend]).toEqual([true, false, 'syn_sent', { vip: 'web', address: natBackend, state: 'active' }]);
    // The VIP is the destination as the packets arrived, the backend as they left.
    expect(ctl.flows('dst 203.0.113.10', 10).flows.map((x) => x.id)).toEqual([f.id]);
    expect(ctl.flows(`dst ${natBackend} and vip web`, 10).matched).toBe(1);
    expect(ctl.flows(`orig dst ${natBackend}`, 10).matched).toBe(0);

    // Direct server return: no translation, the backend in the flow only.
    const api = ctl.flows('vip api', 100);
    expect(api.matched).toBe(10);
    expect(api.flows.every((x) => x.state === 'lb_tcp' && !x.dnat && x.original.dst === '203.0.113.20')).toBe(true);
    const byBackend = (a: string) => ctl.flows(`vip api and backend ${a}`, 100).matched;
    expect(BACKENDS.reduce((n, a) => n + byBackend(a), 0)).toBe(10);
    expect(ctl.flows('dnat', 100).matched).toBe(1);

    // A drained backend: its flows stay and say so.
    const drained = api.flows[0].backend!.address;
    const j = lb.vipConfigs[1].backends.findIndex((b) => (b.address >>> 0) === (parseIpv4(drained) >>> 0));
    lb.setEffectiveWeights(1, lb.vipConfigs[1].backends.map((b, k) => (k === j ? 0 : b.weight)));
    const states = ctl.flows(`vip api and backend ${drained}`, 100).flows.map((x) => x.backend!.state);
    expect(states.length).toBeGreaterThan(0);
    expect(new Set(states)).toEqual(new Set(['draining']));
  });

  it("deleting a VIP's flows: the owner's sweep ends them and counts them ended against their backends; the other VIP's flow stays", () => {
    const { h, lb, ctl, syn } = setup();
    syn('203.0.113.10', 40000);
    for (let p = 41000; p < 41010; p++) syn('203.0.113.20', p);
    const active = () => lb.status().filter((s) => s.vip === 'api').reduce((n, s) => n + s.activeFlows, 0);
    expect(active()).toBe(10);
    expect(ctl.deleteFlows('vip api')).toEqual({ deleted: 10, skipped: 0 });
    h.send([]);
    expect(active()).toBe(0);
    expect(ctl.flows('', 100).flows.map((f) => f.backend?.vip)).toEqual(['web']);
    // The next SYN to the VIP is a new flow again.
    expect(syn('203.0.113.20', 41000).counters['nat-output/flows-created']).toBe(1);
    expect(active()).toBe(1);
  });
});
