// Two workers share one flow table: a flow's first packet on one, its replies,
// ICMP errors and later fragments on the other (as AF_PACKET fanout and TAP
// queues spread them), the binding's port from the creator's range and freed
// by it alone.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { FlowTable } from '../../src/flow/flow-table.js';
import { PortAllocator } from '../../src/flow/port-allocator.js';
import { createNatTables } from '../../src/nat/nat-tables.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { icmpErrorFrame, tcpFrame, udpFrame } from '../pipeline/build.js';
import { Harness } from '../pipeline/harness.js';
import { flat, tupleOf } from './packets.js';

const CONFIG = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }
neighbors:
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 198.51.100.10, mac: "02:bb:00:00:00:01" }
nat:
  masquerade:
    - { outPort: wan, ports: 20000-20099 }
  profile: cloud-nat
conntrack: { capacity: 64 }
`;
const WAN_MAC = '02:00:00:00:00:02';

function twoWorkers() {
  const config = parseConfig(CONFIG, 'test.yaml', '.');
  const buffers = createNatTables(config.nat!, config.ports.map((p) => p.address), { capacity: 64, workers: 2, seed: 1 });
  const clock = new ManualClock(1000);
  const w0 = new Harness(CONFIG, {}, { clock, nat: { buffers, worker: 0 } });
  const w1 = new Harness(CONFIG, {}, { clock, nat: { buffers, worker: 1 } });
  return { w0, w1, buffers, clock };
}

describe('NAT across two workers sharing one flow table', () => {
  it('a flow started on worker 0 is answered through worker 1, both ways, and errors about it are translated there too', () => {
    const { w0, w1, buffers } = twoWorkers();
    const out = w0.one('lan', udpFrame({ src: '192.0.2.10', dst: '198.51.100.10' }, 40000, 53));
    const t = tupleOf(out.out[0].bytes);
    expect(t.src).toBe('198.51.100.1');
    // Worker 0's half of 20000-20099.
    expect(t.sport).toBeGreaterThanOrEqual(20000);
    expect(t.sport).toBeLessThan(20050);
    const back = w1.one('wan', udpFrame({ src: '198.51.100.10', dst: '198.51.100.1', dstMac: WAN_MAC }, 53, t.sport));
    expect(flat(tupleOf(back.out[0].bytes))).toBe('198.51.100.10:53 > 192.0.2.10:40000/17');
    // The next packet out goes through worker 1: same binding, no new flow.
    const again = w1.one('lan', udpFrame({ src: '192.0.2.10', dst: '198.51.100.10' }, 40000, 53));
    expect(flat(tupleOf(again.out[0].bytes))).toBe(`198.51.100.1:${t.sport} > 198.51.100.10:53/17`);
    expect(again.counters['nat-output/flows-created']).toBeUndefined();
    // An ICMP port unreachable about it, on worker 1.
    const err = w1.one('wan', icmpErrorFrame({ src: '198.51.100.10', dst: '198.51.100.1', dstMac: WAN_MAC }, 3, 3, out.out[0].bytes.subarray(14)));
    const e = tupleOf(err.out[0].bytes);
    expect([e.dst, flat(e.quoted!), e.checksumsOk]).toEqual(['192.0.2.10', '192.0.2.10:40000 > 198.51.100.10:53/17', true]);
    expect(err.counters['ct-input/icmp-errors-translated']).toBe(1);
    const stats = FlowTable.stats(buffers.flows);
    expect(stats.map((s) => s.live)).toEqual([3, 0]); // the flow, its binding and (cloud-nat) the endpoint's count of bindings: all worker 0's
  });

  it('TCP: SYN on one worker, SYN-ACK and ACK on the other, the state reaches ESTABLISHED; only the owner ends it and frees its port', () => {
    const { w0, w1, buffers, clock } = twoWorkers();
    const syn = tupleOf(w1.one('lan', tcpFrame({ src: '192.0.2.10', dst: '198.51.100.10' }, 41000, 443, 0x02)).out[0].bytes);
    expect(syn.sport).toBeGreaterThanOrEqual(20050); // worker 1's half
    const synAck = w0.one('wan', tcpFrame({ src: '198.51.100.10', dst: '198.51.100.1', dstMac: WAN_MAC }, 443, syn.sport, 0x12));
    expect(flat(tupleOf(synAck.out[0].bytes))).toBe('198.51.100.10:443 > 192.0.2.10:41000/6');
    w0.one('lan', tcpFrame({ src: '192.0.2.10', dst: '198.51.100.10' }, 41000, 443, 0x10));
    const view = FlowTable.attach(buffers.flows, -1);
    const v = view.lookup((192 << 24) | (2 << 8) | 10, (198 << 24) | (51 << 16) | (100 << 8) | 10, (41000 << 16) | 443, 6);
    expect(v).toBeGreaterThanOrEqual(0);
    expect(view.state(v >> 1) & 63).toBe(3); // TcpState.ESTABLISHED
    const inUse = () => PortAllocator.stats(buffers.ports[0]).map((w) => w.inUse);
    expect(inUse()).toEqual([0, 1]);
    // Idle past cloud-nat's 1200 s: worker 0's sweep leaves it; worker 1's ends flow then binding (30 s later) and frees the port.
    clock.advance(1_201_000);
    w0.send([]);
    expect(view.lookup((192 << 24) | (2 << 8) | 10, (198 << 24) | (51 << 16) | (100 << 8) | 10, (41000 << 16) | 443, 6)).toBe(v);
    w1.send([]);
    expect(view.lookup((192 << 24) | (2 << 8) | 10, (198 << 24) | (51 << 16) | (100 << 8) | 10, (41000 << 16) | 443, 6)).toBe(-1);
    expect(inUse()).toEqual([0, 1]); // the binding outlives its last flow by the binding timeout
    clock.advance(31_000);
    w1.send([]);
    expect(inUse()).toEqual([0, 0]);
  });
});
