// Per-port accounting: every frame received on a port is counted exactly
// once as forwarded, dropped, delivered to the router, or queued for ARP,
// whatever happens to its slot afterwards (it becomes an ICMP error that is
// then rate-limited, it is cut into fragments, it waits for ARP and times
// out). So per port: received = forwarded + dropped + local + queued.
import { describe, expect, it } from 'vitest';
import { PORT_STAT_FIELDS, PortStat } from '../../src/runtime/port-stats.js';
import { ARP_REPLY, ARP_REQUEST } from '../../src/wire/arp.js';
import { arpFrame, echoFrame, HOST_MAC, ROUTER_MAC, udpFrame } from './build.js';
import { BASE_CONFIG, Harness } from './harness.js';

const FROM_LAN = { src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC };
const FROM_WAN = { src: '198.51.100.254', srcMac: '02:bb:00:00:00:fe', dstMac: '02:00:00:00:00:02' };

function fates(h: Harness, port: string) {
  const i = h.config.ports.findIndex((p) => p.name === port);
  const s = h.loop.portStats;
  const at = (f: number) => s[i * PORT_STAT_FIELDS + f];
  return {
    rx: at(PortStat.RX_PACKETS),
    forwarded: at(PortStat.RX_FORWARDED),
    dropped: at(PortStat.RX_DROPPED),
    local: at(PortStat.RX_LOCAL),
    queued: at(PortStat.RX_QUEUED),
  };
}

describe('per-port accounting', () => {
  it('counts each received frame once: received = forwarded + dropped + local + queued', () => {
    // A low ICMP rate, so most errors are rate-limited after their packet was counted as dropped.
    const h = new Harness(BASE_CONFIG.replace('icmp: { ratePerSecond: 1000, burst: 100 }', 'icmp: { ratePerSecond: 1, burst: 2 }'));
    const mix = (i: number) => [
      { port: 'lan', frame: udpFrame({ ...FROM_LAN, dst: '192.0.2.200', id: i }, 1, 2) }, // forwarded
      { port: 'lan', frame: udpFrame({ ...FROM_LAN, dst: '192.0.2.200', ttl: 1 }, 1, 2) }, // dropped (time exceeded, mostly rate-limited)
      { port: 'lan', frame: udpFrame({ ...FROM_LAN, dst: '198.18.200.1' }, 1, 2) }, // dropped (no route)
      { port: 'lan', frame: udpFrame({ ...FROM_LAN, dst: '198.18.0.9' }, 1, 2) }, // dropped (blackhole)
      { port: 'lan', frame: echoFrame({ ...FROM_LAN, dst: '192.0.2.1' }, 1, i) }, // local (echo reply)
      { port: 'lan', frame: udpFrame({ ...FROM_LAN, dst: '192.0.2.200' }, 1, 2, 1450) }, // forwarded as fragments (wan MTU 1400)
      { port: 'lan', frame: udpFrame({ ...FROM_LAN, dst: '198.19.0.5' }, 1, 2) }, // queued for ARP (198.51.100.253 unknown)
      { port: 'lan', frame: arpFrame(ARP_REQUEST, HOST_MAC, '192.0.2.10', '00:00:00:00:00:00', '192.0.2.1') }, // local (ARP reply)
      { port: 'wan', frame: udpFrame({ ...FROM_WAN, dst: '192.0.2.10' }, 3, 4) }, // forwarded
      { port: 'wan', frame: udpFrame({ ...FROM_WAN, dst: '198.51.100.1' }, 3, 4) }, // dropped (port unreachable)
    ];
    for (let i = 0; i < 20; i++) {
      h.send(mix(i));
      h.clock.advance(40); // the ARP resolution (300 ms) times out along the way: ICMP host unreachable, not counted again
    }
    const lan = fates(h, 'lan');
    const wan = fates(h, 'wan');
    expect(lan).toEqual({ rx: 160, forwarded: 40, dropped: 60, local: 40, queued: 20 });
    expect(wan).toEqual({ rx: 40, forwarded: 20, dropped: 20, local: 0, queued: 0 });
    // The graph did send errors and drop others for the rate: those never count twice.
    expect(h.router.counters.get('icmp-error/rate-limited').packets).toBeGreaterThan(0);
    expect(h.router.counters.get('arp-resolve/resolution-failed').packets).toBeGreaterThan(0);
  });

  it('a queued packet that is released later is not counted again as forwarded', () => {
    const h = new Harness(BASE_CONFIG);
    h.one('lan', udpFrame({ ...FROM_LAN, dst: '198.19.0.5' }, 1, 2));
    const reply = h.one('wan', arpFrame(ARP_REPLY, '02:bb:00:00:00:fd', '198.51.100.253', '02:00:00:00:00:02', '198.51.100.1', '02:00:00:00:00:02'));
    expect(reply.out).toHaveLength(1);
    expect(fates(h, 'lan')).toEqual({ rx: 1, forwarded: 0, dropped: 0, local: 0, queued: 1 });
    expect(fates(h, 'wan')).toEqual({ rx: 1, forwarded: 0, dropped: 0, local: 1, queued: 0 });
  });
});
