// The control plane's view of flows and NAT mappings (src/nat/flow-control.ts):
// real packets through the Router (one or two workers sharing the table, a
// virtual clock), then listing with filters, and deleting while other flows
// go on: a deleted flow ends at its owner's next sweep and its next packet
// starts a new flow; a deleted mapping stops taking packets and a new one is
// made.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { FlowTable } from '../../src/flow/flow-table.js';
import { FlowControl } from '../../src/nat/flow-control.js';
import { FlowFilterError, parseFlowFilter } from '../../src/nat/flow-filter.js';
import { createNatTables, natPools } from '../../src/nat/nat-tables.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Harness } from '../pipeline/harness.js';
import { flat, tupleOf } from './packets.js';
import { echo, H1, H2, natConfig, S1, S2, tcp, TCP_ACK, TCP_SYN, udp, WAN_ADDR, type Packet } from './net.js';

const START = 1_000_000;
const MIN = 60_000;

function oneWorker(yaml = natConfig({ ports: '20000-20099' })) {
  const clock = new ManualClock(START);
  const h = new Harness(yaml, {}, { clock });
  const tables = h.router.natTables!;
  const ctl = new FlowControl(tables.buffers, tables.pools, undefined, clock);
  const send = (p: Packet) => h.one(p.port, p.frame);
  return { h, clock, ctl, send };
}

/** A TCP connection H1:sport -> S1:80 through its handshake; the NAT port it got. */
function connect(send: (p: Packet) => ReturnType<Harness['one']>, host: string, sport: number, server = S1): number {
  const natPort = tupleOf(send(tcp(host, sport, server, 80, TCP_SYN)).out[0].bytes).sport;
  send(tcp(server, 80, WAN_ADDR, natPort, TCP_SYN | TCP_ACK));
  send(tcp(host, sport, server, 80, TCP_ACK));
  return natPort;
}

describe('listing flows', () => {
  it('shows both tuples, the state, the mapping, idle time and time left; filters pick by address before or after translation, state, protocol', () => {
    const { clock, ctl, send } = oneWorker();
    const natPort = connect(send, H1, 40000);
    const udpOut = tupleOf(send(udp(H2, 5353, S2, 53)).out[0].bytes);
    send(echo(H1, S2, 7));
    clock.advance(5000);

    const all = ctl.flows('', 100);
    expect(all.matched).toBe(3);
    expect(all.flows.map((f) => f.protocol).sort()).toEqual(['icmp', 'tcp', 'udp']);

    const { flows, matched, omitted } = ctl.flows('dst 198.51.100.10', 10);
    expect([matched, omitted, flows.length]).toEqual([1, 0, 1]);
    const f = flows[0];
    expect(f.original).toEqual({ src: H1, dst: S1, sport: 40000, dport: 80 });
    expect(f.reply).toEqual({ src: S1, dst: WAN_ADDR, sport: 80, dport: natPort });
    expect([f.protocol, f.protocolNumber, f.state, f.replied, f.worker, f.snat, f.dnat]).toEqual(['tcp', 6, 'established', true, 0, true, false]);
    expect(f.binding).toEqual({ internal: H1, internalPort: 40000, external: WAN_ADDR, externalPort: natPort });
    expect(f.inboundBinding).toBeUndefined();
    expect(f.backend).toBeUndefined();
    // rfc profile: an established connection lasts 124 minutes idle.
    expect([f.idleMs, f.timeoutMs, f.expiresInMs]).toEqual([5000, 124 * MIN, 124 * MIN - 5000]);

    // The UDP flow: replied once its answer came.
    const u = ctl.flows('udp', 10).flows[0];
    expect([u.state, u.replied, u.expiresInMs]).toEqual(['udp_unreplied', false, 2 * MIN - 5000]);
    send(udp(S2, 53, WAN_ADDR, udpOut.sport));
    expect(ctl.flows('udp and replied', 10).flows.map((x) => [x.state, x.idleMs])).toEqual([['udp_replied', 0]]);

    // The ICMP query: its id as both ports, and no port word matches it.
    const i = ctl.flows('icmp', 10).flows[0];
    expect([i.original.sport, i.original.dport, i.state]).toEqual([7, 7, 'icmp']);
    expect(ctl.flows('icmp and port 7', 10).matched).toBe(0);
    // Masquerade gave it a new id, which stands in both port halves: that is source NAT only, not DNAT.
    expect(i.reply.sport).not.toBe(7);
    expect([i.snat, i.dnat]).toEqual([true, false]);
    expect(ctl.flows('icmp and dnat', 10).matched).toBe(0);
    expect(ctl.flows('icmp and snat', 10).matched).toBe(1);

    // Without a side, a word matches the packets as they arrived or as they left translated.
    expect(ctl.flows(`src ${WAN_ADDR}`, 10).matched).toBe(3);
    expect(ctl.flows(`orig src ${WAN_ADDR}`, 10).matched).toBe(0);
    // TCP and UDP ports are separate spaces: the UDP flow's external port may be the same number.
    expect(ctl.flows(`reply dst ${WAN_ADDR} and reply dport ${natPort} and tcp`, 10).flows.map((x) => x.original.sport)).toEqual([40000]);
    expect(ctl.flows(`sport ${natPort} and tcp`, 10).matched).toBe(1);
    expect(ctl.flows('net 192.0.2.0/24 and not icmp', 10).matched).toBe(2);
    expect(ctl.flows('state established or (udp and dport 53)', 10).matched).toBe(2);
    expect(ctl.flows('state syn_sent', 10).matched).toBe(0);
    expect(ctl.flows('snat and not dnat', 10).matched).toBe(3);
    expect(ctl.flows('worker 1', 10).matched).toBe(0);

    // The limit: the first N, and how many more matched.
    const two = ctl.flows('', 2);
    expect([two.flows.length, two.matched, two.omitted]).toEqual([2, 3, 1]);
    expect(ctl.flows('', 0)).toEqual({ flows: [], matched: 3, omitted: 3 });
  });

  it('a filter typo is an error that names the word and what was expected', () => {
    const { ctl } = oneWorker();
    expect(() => ctl.flows('dsst 203.0.113.10', 10)).toThrow(FlowFilterError);
    expect(() => ctl.flows('dsst 203.0.113.10', 10)).toThrow(`flow filter "dsst 203.0.113.10": at 'dsst' (word 1): expected a filter term`);
    expect(() => ctl.flows('dst 203.0.113.300', 10)).toThrow(`at '203.0.113.300' (word 2): expected host, net, port, portrange or an address after 'dst'`);
    expect(() => ctl.flows('state establshed', 10)).toThrow(/at 'establshed' \(word 2\): expected a flow state \(none, syn_sent, syn_recv, established, /);
    expect(() => ctl.flows('tcp and', 10)).toThrow('at the end: expected a filter term');
    expect(() => ctl.flows('net 192.0.2.1/24', 10)).toThrow("at '192.0.2.1/24' (word 2): 192.0.2.1/24 has host bits set below /24");
    expect(() => ctl.flows('port 70000', 10)).toThrow("at '70000' (word 2): expected a port number 0-65535");
    expect(() => ctl.flows('(tcp or udp', 10)).toThrow("at the end: expected ')'");
    expect(() => ctl.flows('src sport 80', 10)).toThrow("'src sport' says the direction twice");
    expect(() => ctl.flows('internal host 192.0.2.10', 10)).toThrow("'internal' applies to NAT mappings, not flows (use orig or reply)");
    expect(() => ctl.natMappings('state established', 10)).toThrow(`NAT mapping filter "state established": at 'state' (word 1): 'state' applies to flows, not NAT mappings`);
    expect(() => ctl.flows('', -1)).toThrow('limit must be a whole number >= 0 (got -1)');
    // Parsed alone, the same.
    expect(() => parseFlowFilter('vip')).toThrow("at the end: expected a VIP's name");
  });
});

describe('deleting flows', () => {
  it("a deleted flow is gone from the list at once, ends at the owner's next sweep, and its next packet starts a new flow; the others go on", () => {
    const { h, ctl, send } = oneWorker();
    const natPort = connect(send, H1, 40000);
    send(udp(H2, 5353, S2, 53));
    send(echo(H1, S2, 7));
    const udpBefore = ctl.flows('udp', 1).flows[0];
    const table = FlowTable.attach(h.router.natTables!.buffers.flows, -1);
    const live = () => FlowTable.stats(h.router.natTables!.buffers.flows)[0].live;
    const liveBefore = live();

    expect(ctl.deleteFlows('udp and dst port 53')).toEqual({ deleted: 1, skipped: 0 });
    expect(ctl.flows('', 10).flows.map((f) => f.protocol).sort()).toEqual(['icmp', 'tcp']);
    // Not ended by the main thread: still in the table until the owner's sweep.
    expect(live()).toBe(liveBefore);
    expect(ctl.deleteFlows('udp')).toEqual({ deleted: 0, skipped: 0 });

    // The TCP connection goes on (the sweep at the start of this batch ends the UDP flow, not this one).
    const ack = send(tcp(H1, 40000, S1, 80, TCP_ACK));
    expect(flat(tupleOf(ack.out[0].bytes))).toBe(`${WAN_ADDR}:${natPort} > ${S1}:80/6`);
    expect(ack.counters['nat-output/flows-created']).toBeUndefined();
    expect(live()).toBe(liveBefore - 1);
    expect(table.generation(udpBefore.id)).toBe(udpBefore.generation);
    expect(table.flags(udpBefore.id) & 1).toBe(0); // its id is free

    // The deleted flow's next packet: a new flow (the mapping outlived it: same external port, RFC 4787 REQ-1).
    const again = send(udp(H2, 5353, S2, 53));
    expect(again.counters['nat-output/flows-created']).toBe(1);
    const udpAfter = ctl.flows('udp', 1).flows[0];
    expect(udpAfter.state).toBe('udp_unreplied');
    expect(udpAfter.reply).toEqual(udpBefore.reply);
    expect([udpAfter.id, udpAfter.generation]).not.toEqual([udpBefore.id, udpBefore.generation]);
    expect(ctl.flows('state established', 10).matched).toBe(1);
  });

  it('a deleted TCP connection: its next segment is a new flow (picked up mid-connection), the other connection keeps its state', () => {
    const { ctl, send } = oneWorker();
    connect(send, H1, 40000);
    const other = connect(send, H2, 41000);
    expect(ctl.deleteFlows(`src ${H1} and tcp`)).toEqual({ deleted: 1, skipped: 0 });
    const next = send(tcp(H1, 40000, S1, 80, TCP_ACK));
    expect(next.counters['nat-output/flows-created']).toBe(1);
    const still = send(tcp(S1, 80, WAN_ADDR, other, TCP_ACK));
    expect(flat(tupleOf(still.out[0].bytes))).toBe(`${S1}:80 > ${H2}:41000/6`);
    expect(still.counters['nat-output/flows-created']).toBeUndefined();
    expect(ctl.flows(`src ${H2}`, 10).flows.map((f) => f.state)).toEqual(['established']);
    expect(ctl.flows(`src ${H1}`, 10).flows.map((f) => f.original.sport)).toEqual([40000]);
  });

  it('two workers: a flow is ended only by its owner; the other worker still translates it until then, and its flows are untouched', () => {
    const yaml = natConfig({ ports: '20000-20099' });
    const config = parseConfig(yaml, 'test.yaml', '.');
    const buffers = createNatTables(config.nat!, config.ports.map((p) => p.address), { capacity: 64, workers: 2, seed: 1 });
    const clock = new ManualClock(START);
    const w0 = new Harness(yaml, {}, { clock, nat: { buffers, worker: 0 } });
    const w1 = new Harness(yaml, {}, { clock, nat: { buffers, worker: 1 } });
    const ctl = new FlowControl(buffers, natPools(config.nat!, config.ports.map((p) => p.address)), undefined, clock);
    const on = (h: Harness) => (p: Packet) => h.one(p.port, p.frame);
    const p0 = tupleOf(on(w0)(udp(H1, 1000, S1, 53)).out[0].bytes).sport;
    const p1 = tupleOf(on(w1)(udp(H2, 2000, S1, 53)).out[0].bytes).sport;
    expect(ctl.flows('', 10).flows.map((f) => [f.original.src, f.worker])).toEqual([[H1, 0], [H2, 1]]);
    expect(ctl.flows('worker 1', 10).flows.map((f) => f.original.src)).toEqual([H2]);

    expect(ctl.deleteFlows(`src ${H2}`)).toEqual({ deleted: 1, skipped: 0 });
    // Worker 0's sweep leaves worker 1's flow; worker 0 still translates its reply (the flow is in the table).
    const reply = on(w0)(udp(S1, 53, WAN_ADDR, p1));
    expect(flat(tupleOf(reply.out[0].bytes))).toBe(`${S1}:53 > ${H2}:2000/17`);
    expect(FlowTable.stats(buffers.flows).map((s) => s.live)).toEqual([2, 2]);
    expect(ctl.flows('', 10).flows.map((f) => f.original.src)).toEqual([H1]);
    // Worker 1's sweep ends it; worker 0's flow still answers.
    w1.send([]);
    expect(FlowTable.stats(buffers.flows).map((s) => s.live)).toEqual([2, 1]);
    const mine = on(w1)(udp(S1, 53, WAN_ADDR, p0));
    expect(flat(tupleOf(mine.out[0].bytes))).toBe(`${S1}:53 > ${H1}:1000/17`);
    // H2's next datagram, on worker 0 this time: a new flow of worker 0, through the mapping worker 1 made.
    const again = on(w0)(udp(H2, 2000, S1, 53));
    expect(again.counters['nat-output/flows-created']).toBe(1);
    expect(tupleOf(again.out[0].bytes).sport).toBe(p1);
    expect(ctl.flows(`src ${H2}`, 10).flows.map((f) => f.worker)).toEqual([0]);
  });
});

describe('NAT mappings', () => {
  it('lists each mapping: internal and external endpoints, rule, holders, state; filters by side, address, port, protocol', () => {
    const { clock, ctl, send } = oneWorker();
    const tcpPort = connect(send, H1, 40000);
    const udpPort = tupleOf(send(udp(H1, 40000, S1, 53)).out[0].bytes).sport;
    send(udp(H1, 40000, S2, 53)); // the same mapping (endpoint-independent): two holders
    const h2Port = tupleOf(send(udp(H2, 5000, S1, 53)).out[0].bytes).sport;
    clock.advance(1000);

    const all = ctl.natMappings('', 10);
    expect(all.matched).toBe(3);
    const m = ctl.natMappings(`internal host ${H1} and udp`, 10).mappings;
    expect(m).toHaveLength(1);
    expect(m[0]).toMatchObject({ protocol: 'udp', internal: H1, internalPort: 40000, external: WAN_ADDR, externalPort: udpPort, rule: 'masquerade[0]', flows: 2, state: 'held', timeoutMs: null, expiresInMs: null, worker: 0 });
    expect(ctl.natMappings(`external port ${tcpPort} and tcp`, 10).mappings.map((x) => x.internalPort)).toEqual([40000]);
    expect(ctl.natMappings(`port ${h2Port} and udp`, 10).mappings.map((x) => x.internal)).toEqual([H2]);
    expect(ctl.natMappings(`external host ${H1}`, 10).matched).toBe(0);
    expect(ctl.natMappings(`host ${WAN_ADDR}`, 1)).toMatchObject({ matched: 3, omitted: 2 });

    // A mapping no flow holds: unheld, with the binding timeout (30 s) running.
    expect(ctl.deleteFlows(`src ${H2}`).deleted).toBe(1);
    send(udp(H1, 40000, S1, 53)); // a batch: the sweep ends H2's flow
    const un = ctl.natMappings(`internal host ${H2}`, 10).mappings[0];
    expect([un.state, un.flows, un.timeoutMs, un.expiresInMs]).toEqual(['unheld', 0, 30_000, 30_000]);
  });

  it('deleting a mapping ends it and the flows holding it; inbound packets stop reaching the host; a new flow makes a new mapping; other mappings go on', () => {
    // Endpoint-independent filtering: anyone may reach a mapping's external endpoint while it lives.
    const { ctl, send } = oneWorker();
    const natPort = tupleOf(send(udp(H1, 40000, S1, 53)).out[0].bytes).sport;
    send(udp(H1, 40000, S2, 53));
    const otherPort = tupleOf(send(udp(H2, 5000, S1, 53)).out[0].bytes).sport;
    const inbound = send(udp(S2, 9999, WAN_ADDR, natPort));
    expect(flat(tupleOf(inbound.out[0].bytes))).toBe(`${S2}:9999 > ${H1}:40000/17`);
    expect(ctl.flows(`src ${S2} and sport 9999`, 10).flows[0].inboundBinding).toEqual({ internal: H1, internalPort: 40000, external: WAN_ADDR, externalPort: natPort });

    // Its two outbound flows and the inbound one hold it.
    expect(ctl.deleteNatMappings(`internal host ${H1} and internal port 40000`)).toEqual({ deleted: 1, flows: 3, skipped: 0 });
    expect(ctl.natMappings('', 10).mappings.map((m) => m.internal)).toEqual([H2]);
    expect(ctl.flows('', 10).flows.map((f) => f.original.src)).toEqual([H2]);
    expect(ctl.deleteNatMappings(`internal host ${H1}`)).toEqual({ deleted: 0, flows: 0, skipped: 0 });

    // The next batch's sweep ends the flows, which brings the mapping to its end; the one after ends the mapping.
    send(udp(H2, 5000, S1, 53));
    send(udp(H2, 5000, S1, 53));
    // Gone: an unsolicited packet to its old external endpoint no longer reaches H1; the router answers it as a host with no such port.
    const late = send(udp(S2, 9999, WAN_ADDR, natPort));
    expect(late.out.map((o) => { const t = tupleOf(o.bytes); return [o.port, t.dst, t.type, t.code]; })).toEqual([['wan', S2, 3, 3]]);
    // H1's next datagram makes a new mapping (and flow).
    const fresh = send(udp(H1, 40000, S1, 53));
    expect(fresh.counters['nat-output/flows-created']).toBe(1);
    const m = ctl.natMappings(`internal host ${H1}`, 10).mappings;
    expect(m.map((x) => [x.internalPort, x.state, x.flows])).toEqual([[40000, 'held', 1]]);
    // H2's mapping was never disturbed.
    const h2 = send(udp(S1, 53, WAN_ADDR, otherPort));
    expect(flat(tupleOf(h2.out[0].bytes))).toBe(`${S1}:53 > ${H2}:5000/17`);
  });

  it('a packet of a deleted mapping before its flows have ended is dropped as busy, not given the dying mapping', () => {
    const { ctl, send } = oneWorker();
    send(udp(H1, 40000, S1, 53));
    expect(ctl.deleteNatMappings(`internal host ${H1}`).deleted).toBe(1);
    // A new destination for the same endpoint, in the batch whose sweep ends the old flow but not yet the mapping.
    const r = send(udp(H1, 40000, S2, 53));
    expect(r.out).toHaveLength(0);
    expect(r.counters['nat-output/busy']).toBe(1);
    const retry = send(udp(H1, 40000, S2, 53));
    expect(retry.out).toHaveLength(1);
    expect(ctl.natMappings('', 10).mappings.map((m) => [m.internal, m.flows])).toEqual([[H1, 1]]);
  });
});
