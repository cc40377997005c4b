// A stream of datagrams to a host that is resolved only by the router's own
// ARP request (it never speaks first): the first ones wait in the pending
// queue, the reply releases them, and every later one must leave directly
// from ip4-output (not be queued again, not trigger another request), with
// one worker and with two workers sharing a NeighborSync when the reply
// reaches the worker that did not queue them (AF_PACKET fanout).
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/pipeline/clock.js';
import { NeighborSync } from '../../src/arp/neighbor-sync.js';
import { ARP_REPLY, ARP_REQUEST, parseArp } from '../../src/wire/arp.js';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, parseEthernet } from '../../src/wire/ethernet.js';
import { arpFrame, udpFrame, HOST_MAC, ROUTER_MAC } from '../pipeline/build.js';
import { BASE_CONFIG, Harness, type Sent } from '../pipeline/harness.js';

const HOST = '198.51.100.13';
const HOST_MAC13 = '02:bb:00:00:00:0d';
const WAN_MAC = '02:00:00:00:00:02';
const reply = () => arpFrame(ARP_REPLY, HOST_MAC13, HOST, WAN_MAC, '198.51.100.1', WAN_MAC);
const datagram = (id: number) => udpFrame({ src: '192.0.2.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC, dst: HOST, id }, 5000, 9999);

function kinds(out: Sent[]) {
  const r = { datagrams: 0, requests: 0 };
  for (const o of out) {
    const eth = parseEthernet(o.bytes, 0, o.bytes.length);
    if (!eth.ok) throw new Error('bad frame out');
    if (eth.repr.ethertype === ETHERTYPE_IPV4) {
      expect(o.port).toBe('wan');
      expect(eth.repr.dst).toBe(HOST_MAC13);
      r.datagrams++;
    } else if (eth.repr.ethertype === ETHERTYPE_ARP) {
      const a = parseArp(o.bytes, 14, o.bytes.length - 14);
      if (!a.ok) throw new Error('bad ARP out');
      if (a.repr.oper !== ARP_REQUEST) continue; // our answer to the host's own request
      expect(a.repr.tpa).toBe(HOST);
      r.requests++;
    }
  }
  return r;
}

/**
 * Worker `a` receives one datagram per millisecond; the first one's ARP
 * request is answered one batch later on worker `b` (`a` itself with one
 * worker). Returns what left and what arp-resolve counted over the stream.
 */
function stream(a: Harness, b: Harness, clock: ManualClock, n: number) {
  let datagrams = 0;
  let requests = 0;
  let replyDue = false;
  const resolve: Record<string, number> = {};
  const count = (c: Record<string, number>) => {
    for (const [k, v] of Object.entries(c)) if (k.startsWith('arp-resolve/')) resolve[k] = (resolve[k] ?? 0) + v;
  };
  for (let i = 0; i < n; i++) {
    if (replyDue) {
      const r = b.one('wan', reply());
      count(r.counters);
      datagrams += kinds(r.out).datagrams;
      replyDue = false;
    }
    const r = a.one('lan', datagram(i));
    count(r.counters);
    const k = kinds(r.out);
    datagrams += k.datagrams;
    requests += k.requests;
    if (k.requests > 0) replyDue = true;
    clock.advance(1);
  }
  // One more batch on each worker applies what the other published.
  datagrams += kinds(a.send([]).out).datagrams + (a === b ? 0 : kinds(b.send([]).out).datagrams);
  return { datagrams, requests, resolve };
}

function workers(count: 1 | 2) {
  const clock = new ManualClock(1000);
  const shared = new SharedArrayBuffer(NeighborSync.byteLength());
  const sync = (i: number) => (count === 2 ? new NeighborSync(i, shared) : undefined);
  const a = new Harness(BASE_CONFIG, {}, { clock, neighborSync: sync(0) });
  const b = count === 2 ? new Harness(BASE_CONFIG, {}, { clock, neighborSync: sync(1) }) : a;
  return { a, b, clock };
}

describe('a host resolved only by our ARP request', () => {
  for (const count of [1, 2] as const) {
    const where = count === 1 ? 'the reply on the same worker' : 'the reply on the other worker (NeighborSync)';
    it(`${where}: after the held datagrams, later ones leave directly, none queued or lost`, () => {
      const { a, b, clock } = workers(count);
      const s = stream(a, b, clock, 300);
      expect(s.requests).toBe(1);
      expect(s.datagrams).toBe(300);
      // Only the first datagram waited: the reply (on either worker) is applied before the next batch.
      expect(s.resolve['arp-resolve/queued']).toBe(1);
      expect(s.resolve['arp-resolve/requests-sent']).toBe(1);
      expect(s.resolve['arp-resolve/queue-overflow']).toBeUndefined();
    });

    it(`${where}: once an entry learned from the host's own request has expired, nothing waits: the known MAC is used while one unicast request confirms it`, () => {
      const { a, b, clock } = workers(count);
      // The host spoke once (its request reaches worker b; a learns it through the ring)...
      kinds(b.one('wan', arpFrame(ARP_REQUEST, HOST_MAC13, HOST, '00:00:00:00:00:00', '198.51.100.1')).out);
      a.send([]);
      expect(kinds(a.one('lan', datagram(0)).out).datagrams).toBe(1);
      // ...and not again for longer than reachableMs (30 s by default).
      clock.advance(31_000);
      const first = a.one('lan', datagram(1));
      expect(requestDestinations(first.out)).toEqual([HOST_MAC13]);
      expect(kinds(first.out).datagrams).toBe(1);
      expect(kinds(b.one('wan', reply()).out).datagrams).toBe(0);
      const s = stream(a, b, clock, 300);
      // The reply to that request confirms it: no more requests.
      expect(s.requests).toBe(0);
      expect(s.datagrams).toBe(300);
      expect(s.resolve['arp-resolve/queued']).toBeUndefined();
      expect(s.resolve['arp-resolve/queue-overflow']).toBeUndefined();
      expect(first.counters['arp-resolve/refreshes-sent']).toBe(1);
      expect(first.counters['arp-resolve/sent-stale']).toBe(1);
    });
  }

  function replyOnly(a: Harness) {
    return a.one('wan', reply());
  }

  it('an entry that expired longer ago than a reachable time is resolved anew: held, broadcast request', () => {
    const { a, clock } = workers(1);
    kinds(a.one('wan', arpFrame(ARP_REQUEST, HOST_MAC13, HOST, '00:00:00:00:00:00', '198.51.100.1')).out);
    clock.advance(61_000);
    const r = a.one('lan', datagram(0));
    expect(kinds(r.out).datagrams).toBe(0);
    expect(requestDestinations(r.out)).toEqual(['ff:ff:ff:ff:ff:ff']);
    expect(r.counters['arp-resolve/queued']).toBe(1);
    expect(kinds(replyOnly(a).out).datagrams).toBe(1);
  });

  it('a stale neighbor that never answers: three unicast requests while its datagrams still leave, then forgotten at the deadline; the next datagram resolves anew and ends in host unreachable', () => {
    const { a, clock } = workers(1); // BASE_CONFIG: arp.resolveTimeoutMs 300
    kinds(a.one('wan', arpFrame(ARP_REQUEST, HOST_MAC13, HOST, '00:00:00:00:00:00', '198.51.100.1')).out);
    clock.advance(31_000);
    const requests: string[] = [];
    let leftStale = 0;
    let unreachable = 0;
    let failed = 0;
    // One datagram every 25 ms for 1 s.
    for (let t = 0; t < 1000; t += 25) {
      const r = a.one('lan', datagram(t));
      const broadcastSoFar = requests.includes('ff:ff:ff:ff:ff:ff');
      requests.push(...requestDestinations(r.out));
      for (const o of r.out) {
        const eth = parseEthernet(o.bytes, 0, o.bytes.length);
        if (!eth.ok || eth.repr.ethertype !== ETHERTYPE_IPV4) continue;
        if (o.port === 'wan') {
          expect(broadcastSoFar).toBe(false); // once forgotten, nothing leaves with the old MAC
          expect(eth.repr.dst).toBe(HOST_MAC13);
          leftStale++;
        } else unreachable++;
      }
      failed += r.counters['arp-resolve/resolution-failed'] ?? 0;
      clock.advance(25);
    }
    const firstBroadcast = requests.indexOf('ff:ff:ff:ff:ff:ff');
    expect(requests.slice(0, firstBroadcast)).toEqual([HOST_MAC13, HOST_MAC13, HOST_MAC13]);
    expect(firstBroadcast).toBe(3);
    // Every datagram until the deadline (300 ms, the timer within a third of it more) left.
    expect(leftStale).toBeGreaterThanOrEqual(12);
    expect(leftStale).toBeLessThanOrEqual(17);
    // The new resolution failed too: the datagrams it held came back as ICMP host unreachable.
    expect(failed).toBeGreaterThan(0);
    expect(unreachable).toBe(failed);
  });
});

/** The Ethernet destinations of the ARP requests among `out`. */
function requestDestinations(out: Sent[]): string[] {
  const r: string[] = [];
  for (const o of out) {
    const eth = parseEthernet(o.bytes, 0, o.bytes.length);
    if (!eth.ok || eth.repr.ethertype !== ETHERTYPE_ARP) continue;
    const a = parseArp(o.bytes, 14, o.bytes.length - 14);
    if (a.ok && a.repr.oper === ARP_REQUEST) r.push(eth.repr.dst);
  }
  return r;
}
