// Two workers' routers sharing learned neighbors through the NeighborSync
// ring: the ARP reply reaches one worker, the packet waits in the other.
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/pipeline/clock.js';
import { NeighborSync } from '../../src/arp/neighbor-sync.js';
import { ARP_REPLY, parseArp } from '../../src/wire/arp.js';
import { parseEthernet } from '../../src/wire/ethernet.js';
import { arpFrame, udpFrame, HOST_MAC, ROUTER_MAC } from '../pipeline/build.js';
import { BASE_CONFIG, Harness } from '../pipeline/harness.js';

function worker(index: number, shared: SharedArrayBuffer, clock: ManualClock) {
  const h = new Harness(BASE_CONFIG, { rxCapacity: 16, generatedCapacity: 16 }, { clock, neighborSync: new NeighborSync(index, shared) });
  const send = (port: string, frames: Uint8Array[]) => h.send(frames.map((frame) => ({ port, frame }))).out.map((o) => o.bytes);
  return { send };
}

describe('NeighborSync', () => {
  it('delivers entries to the other workers only, in order', () => {
    const shared = new SharedArrayBuffer(NeighborSync.byteLength(8));
    const a = new NeighborSync(0, shared);
    const b = new NeighborSync(1, shared);
    const mac = Uint8Array.from([2, 0, 0, 0, 0, 9]);
    a.publish(1, 0xc6336409, mac, 0);
    a.publish(2, 0xc633640a, mac, 0);
    const seenByB: string[] = [];
    b.drain((port, ip, m) => seenByB.push(`${port} ${ip.toString(16)} ${Array.from(m).join(':')}`), new Uint8Array(6));
    expect(seenByB).toEqual(['1 c6336409 2:0:0:0:0:9', '2 c633640a 2:0:0:0:0:9']);
    const seenByA: string[] = [];
    a.drain((port) => seenByA.push(String(port)), new Uint8Array(6));
    expect(seenByA).toEqual([]);
    expect(b.pending()).toBe(false);
  });

  it('a packet waiting for ARP on one worker leaves when another worker gets the reply', () => {
    const shared = new SharedArrayBuffer(NeighborSync.byteLength());
    const clock = new ManualClock(1000);
    const w0 = worker(0, shared, clock);
    const w1 = worker(1, shared, clock);
    const LAN = 'lan';
    const WAN = 'wan';
    const out0 = w0.send(LAN, [udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: '198.19.0.5' }, 1, 2)]);
    expect(out0).toHaveLength(1); // the ARP request
    const req = parseArp(out0[0], 14, 28);
    expect(req.ok && req.repr.tpa).toBe('198.51.100.253');
    // The reply arrives on worker 1's queue.
    const out1 = w1.send(WAN, [arpFrame(ARP_REPLY, '02:bb:00:00:00:fd', '198.51.100.253', '02:00:00:00:00:02', '198.51.100.1', '02:00:00:00:00:02')]);
    expect(out1).toHaveLength(0);
    // Worker 0's next batch (even an empty one) applies it and sends the held packet.
    const released = w0.send(LAN, []);
    expect(released).toHaveLength(1);
    const eth = parseEthernet(released[0], 0, released[0].length);
    expect(eth.ok && eth.repr.dst).toBe('02:bb:00:00:00:fd');
  });
});
