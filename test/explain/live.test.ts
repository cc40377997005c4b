// Explain live: a router over copies of the tables a running dataplane's
// workers share. A worker router (over the real shared tables, as
// Dataplane.start wires them) makes flows first; explaining then sees them
// (an existing binding's port, a pinned backend) and leaves every shared
// buffer, counter and the next hops exactly as they were, even when a
// worker held flow-index locks at the moment of the copy.
import { describe, expect, it } from 'vitest';
import { explainLive, type LiveTables } from '../../src/explain/live.js';
import { LbControl } from '../../src/lb/lb-control.js';
import { createNatTables } from '../../src/nat/nat-tables.js';
import { trackingConfig } from '../../src/nat/nat-config.js';
import { Batch } from '../../src/pipeline/batch.js';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';
import { FlowIndex } from '../../src/flow/flow-index.js';
import { tcpFrame, udpFrame } from '../pipeline/build.js';
import { config, LB_YAML, NAT_YAML } from './configs.js';

/** The tables as Dataplane.start makes them (two workers), and worker 0's router over them. */
function running(yaml: string) {
  const c = config(yaml);
  const compiled = compileFib(c);
  const tracking = trackingConfig(c)!;
  const nat = createNatTables(tracking, c.ports.map((p) => p.address), { capacity: c.conntrack.capacity, workers: 2 });
  const lb = c.loadBalancer && LbControl.create(c.loadBalancer, 2);
  const batch = new Batch({ rxCapacity: 8, generatedCapacity: 8 });
  let counterBuffer: SharedArrayBuffer | undefined;
  const worker = new Router(c, compiled.fib, compiled.nexthops, {
    batchCapacity: batch.capacity,
    maxFrame: batch.maxFrame,
    nat: { buffers: nat, worker: 0 },
    lb: lb && { buffers: lb.tables.buffers, worker: 0 },
    counterBuffer: (n) => (counterBuffer = new SharedArrayBuffer(n)),
  });
  const send = (frame: Uint8Array, port: number) => {
    batch.reset();
    batch.pushFrame(frame, 0, frame.length, port, 1, 0);
    worker.process(batch);
    return worker.graph.outputCount > 0 ? batch.bytes(worker.graph.output[0]).slice() : undefined;
  };
  const live: LiveTables = { config: c, compiled, nat, lb: lb?.tables.buffers };
  const buffers = (): SharedArrayBuffer[] => [nat.flows.meta, nat.flows.records, nat.flows.links, nat.flows.index, ...nat.ports, ...(lb ? [lb.tables.buffers.meta, ...lb.tables.buffers.tables, ...lb.tables.buffers.counters] : []), counterBuffer!];
  return { live, send, buffers, worker, compiled };
}

const snapshot = (bufs: SharedArrayBuffer[]) => bufs.map((b) => Buffer.from(new Uint8Array(b).slice()));
/** Which of the buffers differ from a snapshot (by position; [] when none does). */
const changed = (bufs: SharedArrayBuffer[], before: Buffer[]) => bufs.flatMap((b, i) => (Buffer.from(new Uint8Array(b)).equals(before[i]) ? [] : [i]));
const LAN_MAC = '02:00:00:00:00:01';

describe('explain live', () => {
  it('sees an existing NAT binding (its port, no new flow), gives a new one a binding, and writes nothing shared', () => {
    const dp = running(NAT_YAML);
    const out = dp.send(udpFrame({ src: '192.0.2.10', dst: '203.0.113.10', dstMac: LAN_MAC }, 40000, 53), 0)!;
    const boundPort = (out[14 + 20] << 8) | out[14 + 21];
    const before = snapshot(dp.buffers());
    const hops = dp.compiled.nexthops.toPlain();
    const existing = explainLive(dp.live, 'udp 192.0.2.10:40000 > 203.0.113.10:53 in lan');
    expect(existing.nat).toMatchObject({ source: { from: '192.0.2.10:40000', to: `198.51.100.1:${boundPort}` }, newFlow: false, rule: 'the existing flow' });
    const fresh = explainLive(dp.live, 'udp 192.0.2.10:40001 > 203.0.113.10:53 in lan');
    expect(fresh.nat?.newFlow).toBe(true);
    expect(fresh.nat?.source?.to).not.toBe(`198.51.100.1:${boundPort}`);
    expect(explainLive(dp.live, 'udp 192.0.2.10:40002 > 203.0.113.10:53 in lan ttl 1').icmp?.type).toBe(11);
    expect(changed(dp.buffers(), before)).toEqual([]);
    // The connection tracker's view of the flow is the live one: an ACK after only a SYN is invalid there.
    dp.send(tcpFrame({ src: '192.0.2.10', dst: '203.0.113.10', dstMac: LAN_MAC }, 41000, 80, 0x02), 0);
    const afterSyn = snapshot(dp.buffers());
    expect(explainLive(dp.live, 'tcp 192.0.2.10:41000 > 203.0.113.10:80 in lan flags A').drop?.reason).toBe('ct-input/tcp-invalid');
    expect(changed(dp.buffers(), afterSyn)).toEqual([]);
    expect(dp.compiled.nexthops.toPlain()).toEqual(hops);
    expect(dp.worker.counters.nonZero()['nat-output/flows-created']?.packets).toBe(2);
  });

  it('sees a pinned backend; a dsr-l2 backend (which interns a next hop) leaves the next hops and the LB counters alone', () => {
    const dp = running(LB_YAML);
    dp.send(tcpFrame({ src: '192.0.2.10', dst: '203.0.113.10', dstMac: LAN_MAC }, 40000, 80, 0x02), 0);
    const before = snapshot(dp.buffers());
    const hops = dp.compiled.nexthops.toPlain();
    const pinned = explainLive(dp.live, 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan flags A');
    expect(pinned.lb).toMatchObject({ vip: 'web', encapsulation: 'ipip', newFlow: false });
    expect(explainLive(dp.live, 'tcp 192.0.2.10:40000 > 203.0.113.12:22 in lan').lb).toMatchObject({ backend: '198.51.100.11', encapsulation: 'mac', newFlow: true });
    expect(changed(dp.buffers(), before)).toEqual([]);
    expect(dp.compiled.nexthops.toPlain()).toEqual(hops);
  });

  it('a flow-index bucket a worker held locked when the copy was taken does not stall the explain', () => {
    const dp = running(NAT_YAML);
    const index = new FlowIndex(dp.live.nat!.flows.index, new Int32Array(0), 0);
    const per = index.buckets.length / index.bucketCount;
    // Every bucket locked (odd version), as if workers were inserting everywhere at once.
    for (let i = 0; i < index.buckets.length; i += per) index.buckets[i] |= 1;
    const before = snapshot(dp.buffers());
    expect(explainLive(dp.live, 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan').nat?.newFlow).toBe(true);
    expect(changed(dp.buffers(), before)).toEqual([]);
  });
});
