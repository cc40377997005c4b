// The live trace's main-thread side (src/trace/live-trace.ts): what `ctl trace
// read` gets. TAP and AF_XDP ports give no receive time, so a packet without
// one is stamped when it reaches the main thread (it used to read as 1970).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { LiveTrace } from '../../src/trace/live-trace.js';
import type { TracedPacket } from '../../src/trace/traced-packet.js';

const config = parseConfig('ports:\n  - { name: lan, address: 192.0.2.1/24 }\n', 'live-trace.yaml', '/');

function packet(tsSec: number, tsNsec: number): TracedPacket {
  return { id: 1, worker: 0, inPort: 0, tsSec, tsNsec, inBytes: new Uint8Array(60), records: new Int32Array(0), outs: [], drops: [] };
}

describe('LiveTrace', () => {
  it('stamps a packet its port gave no time with the wall clock, and keeps a kernel timestamp as it is', () => {
    const trace = new LiveTrace(() => 1_795_969_931_250.5);
    const { session } = trace.start({ filter: '', count: 10 }, config);
    trace.accept(session, packet(0, 0));
    trace.accept(session, packet(1_700_000_000, 42));
    const [tap, ring] = trace.read(10);
    expect([tap.tsSec, tap.tsNsec]).toEqual([1_795_969_931, 250_500_000]);
    expect([ring.tsSec, ring.tsNsec]).toEqual([1_700_000_000, 42]);
  });

  it('keeps only the current session\'s packets, at most count', () => {
    const trace = new LiveTrace(() => 5000);
    const first = trace.start({ filter: '', count: 1 }, config).session;
    const second = trace.start({ filter: 'in lan', count: 1 }, config).session;
    trace.accept(first, packet(0, 0));
    trace.accept(second, packet(0, 0));
    trace.accept(second, packet(0, 0));
    expect(trace.read(10).map((p) => p.tsSec)).toEqual([5]);
  });
});
