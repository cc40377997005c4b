// The replay fixture itself (fixture.ts): the script it writes is a capture
// `dataplane replay` reads as the live run went (interfaces named after the
// ports, timestamps from the virtual clock), in pcapng and in classic pcap,
// and what replay still does differently.
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/pcap/reader.js';
import { BATCH_FILLERS, lines, NatFixture, START_MS, writeCapture } from './fixture.js';
import { echo, H1, natConfig, S1, S2, udp, WAN_ADDR } from './net.js';
import { flat, only } from './packets.js';

describe('NAT replay fixtures', () => {
  it('write the script as pcapng: one interface per port, named after it, each step at its virtual time, then the fillers that close its batch', () => {
    const fx = new NatFixture(natConfig());
    fx.send(0, udp(H1, 5000, S1, 53));
    fx.send(1500, udp(S1, 53, WAN_ADDR, 40000));
    const records = [...readCapture(writeCapture(fx.script, fx.ports))];
    expect(records).toHaveLength(2 * (1 + BATCH_FILLERS));
    const steps = [records[0], records[1 + BATCH_FILLERS]];
    expect(steps.map((r) => [r.interfaceId, r.tsSec * 1000 + r.tsNsec / 1e6 - START_MS])).toEqual([[0, 0], [1, 1500]]);
    expect(Buffer.from(steps[1].data).equals(Buffer.from(fx.script[1].frame))).toBe(true);
    expect([...readCapture(writeCapture(fx.script, fx.ports, 'pcapng', false))]).toHaveLength(2);
  });

  it('replay a one-port script from a classic pcap (--in-port) as it ran live', () => {
    const fx = new NatFixture(natConfig({ ports: '40000-40000' }));
    expect(flat(only(fx.send(0, udp(H1, 5000, S1, 53)), 'wan'))).toBe(`${WAN_ADDR}:40000 > ${S1}:53/17`);
    expect(flat(only(fx.send(10, udp(H1, 5000, S2, 53)), 'wan'))).toBe(`${WAN_ADDR}:40000 > ${S2}:53/17`);
    only(fx.send(20, echo(H1, S1, 7)), 'wan');
    const r = fx.replay('pcap');
    expect(r.summary.framesRead).toBe(3 * (1 + BATCH_FILLERS));
    expect(lines(r.out)).toEqual(lines(fx.emitted));
    expect(r.counters).toEqual(fx.liveCounters());
  });

  // Replay cuts batches by capture time (CaptureInput's BATCH_WINDOW_MS): an answer a second after its
  // request runs in a later batch than the request, after nat-output made the flow.
  it('replay runs each frame at its own time: an answer a second after its request comes back through the mapping (no fillers)', () => {
    const fx = new NatFixture(natConfig({ ports: '40000-40000' }));
    only(fx.send(0, udp(H1, 5000, S1, 53)), 'wan');
    expect(flat(only(fx.send(1000, udp(S1, 53, WAN_ADDR, 40000)), 'lan'))).toBe(`${S1}:53 > ${H1}:5000/17`);
    const r = fx.replay('pcapng', false);
    expect(lines(r.out)).toEqual(lines(fx.emitted));
  });
});
