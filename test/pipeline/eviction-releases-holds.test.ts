// A flow the full table evicts to make room gives back what it held (its NAT
// binding, its permit, its load-balancer backend) whatever the new entry is
// that takes its id. The entry that evicts it may be a binding, a permit or a
// fragment entry, not only another flow: found by
// mutated-traffic.property.test.ts, where bindings outlived every flow (held
// by flows long gone, their ports never coming back) and a fragment entry
// evicted by a new flow was read as a flow, dropping holds on entries it
// never held.
import { describe, expect, it } from 'vitest';
import { tcpFrame, udpFrame } from './build.js';
import { Harness } from './harness.js';
import { flowStateProblems } from './router-state-audit.js';
import { FlowTable } from '../../src/flow/flow-table.js';
import { tupleOf } from '../../src/conformance/packet.js';

const LAN_MAC = '02:00:00:00:00:01';
const CONFIG = `
ports:
  - { name: lan, mac: "${LAN_MAC}", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }
routes:
  - default via 198.51.100.254
neighbors:
  - { address: 198.51.100.254, mac: "02:bb:00:00:00:fe" }
${Array.from({ length: 12 }, (_, i) => `  - { address: 192.0.2.${10 + i}, mac: "02:aa:00:00:00:${(16 + i).toString(16)}" }`).join('\n')}
nat:
  masquerade:
    - { outPort: wan }
conntrack: { capacity: 16 }
`;

const host = (i: number) => ({ src: `192.0.2.${10 + i}`, dst: '198.18.0.1', srcMac: `02:aa:00:00:00:${(16 + i).toString(16)}`, dstMac: LAN_MAC });
const live = (h: Harness) => FlowTable.stats(h.router.natTables!.buffers.flows)[0].live;

describe('a flow evicted from a full table gives back what it held', () => {
  it('when the entry that takes its id is a new binding', () => {
    const h = new Harness(CONFIG);
    // Eight hosts, a flow and a binding each: the table (16) is full of them, the flows unanswered.
    for (let i = 0; i < 8; i++) expect(h.one('lan', tcpFrame(host(i), 40000, 80, 0x02)).out).toHaveLength(1);
    expect(live(h)).toBe(16);
    // A ninth host: its binding takes the id of the oldest flow (host 0's), its flow the next one's (host 1's).
    expect(h.one('lan', tcpFrame(host(8), 40000, 80, 0x02)).out).toHaveLength(1);
    expect(FlowTable.stats(h.router.natTables!.buffers.flows)[0].evicted).toBe(2);
    // Hosts 0 and 1 have no flow left: nothing holds their bindings.
    expect(flowStateProblems(h)).toEqual([]);
    // Long after every timeout the sweep has ended everything (the flows, then the bindings they let go
    // of, a binding timeout later): no binding is kept by a flow that is gone.
    for (let i = 0; i < 4; i++) {
      h.clock.advance(3 * 3600_000);
      h.send([]);
    }
    expect(live(h)).toBe(0);
  });

  it('when the evicted entry is a fragment entry and the new one a flow', () => {
    const h = new Harness(CONFIG);
    // Host 0's flow (entry 1) holds its binding (entry 0). Host 1's first fragment starts a flow (3, on
    // binding 2) and records where its later fragments go: a fragment entry (4) naming flow 3.
    const syn = h.one('lan', tcpFrame(host(0), 40000, 80, 0x02)).out;
    const first = h.one('lan', udpFrame({ ...host(1), mf: true, id: 77 }, 5000, 53, 64)).out;
    expect(live(h)).toBe(5);
    // Both flows answered: the fragment entry is now the oldest entry without an answer.
    const fromRemote = { src: '198.18.0.1', dst: '198.51.100.1', srcMac: '02:bb:00:00:00:fe', dstMac: '02:00:00:00:00:02' };
    const natPort = (sent: Uint8Array) => tupleOf(sent)!.sport;
    expect(h.one('wan', tcpFrame(fromRemote, 80, natPort(syn[0].bytes), 0x12)).out).toHaveLength(1);
    expect(h.one('wan', udpFrame(fromRemote, 53, natPort(first[0].bytes))).out).toHaveLength(1);
    // More hosts fill the table; host 7's flow evicts the fragment entry.
    for (let i = 2; i < 8; i++) expect(h.one('lan', tcpFrame(host(i), 40000, 80, 0x02)).out).toHaveLength(1);
    expect(FlowTable.stats(h.router.natTables!.buffers.flows)[0]).toMatchObject({ live: 16, evicted: 1 });
    // The fragment entry held nothing: host 0's binding is still held by its flow.
    expect(flowStateProblems(h)).toEqual([]);
  });
});
