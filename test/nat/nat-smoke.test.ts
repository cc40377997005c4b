import { describe, expect, it } from 'vitest';
import { Harness } from '../pipeline/harness.js';
import { tcpFrame, udpFrame, echoFrame, icmpQueryFrame, icmpErrorFrame } from '../pipeline/build.js';
import { tupleOf, flat } from './packets.js';

const CONFIG = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }
neighbors:
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 192.0.2.11, mac: "02:aa:00:00:00:02" }
  - { address: 198.51.100.10, mac: "02:bb:00:00:00:01" }
  - { address: 198.51.100.11, mac: "02:bb:00:00:00:02" }
nat:
  masquerade:
    - { outPort: wan }
  dnat:
    - { inPort: wan, proto: tcp, dport: 8080, to: "192.0.2.10:80" }
conntrack: { capacity: 1024 }
`;
const WAN_MAC = '02:00:00:00:00:02';

describe('nat smoke', () => {
  it('masquerades udp out and back', () => {
    const h = new Harness(CONFIG);
    const r = h.one('lan', udpFrame({ src: '192.0.2.10', dst: '198.51.100.10' }, 40000, 53));
    expect(r.out).toHaveLength(1);
    const t = tupleOf(r.out[0].bytes);
    console.log(flat(t), r.counters);
    expect(t.src).toBe('198.51.100.1');
    expect(t.checksumsOk).toBe(true);
    const back = h.one('wan', udpFrame({ src: '198.51.100.10', dst: '198.51.100.1', dstMac: WAN_MAC }, 53, t.sport));
    const u = tupleOf(back.out[0].bytes);
    console.log(flat(u), back.counters);
    expect(flat(u)).toBe('198.51.100.10:53 > 192.0.2.10:40000/17');
    expect(u.checksumsOk).toBe(true);
  });
});

describe('nat smoke 2', () => {
  it('tcp, icmp echo, icmp error, dnat, hairpin', () => {
    const h = new Harness(CONFIG);
    const syn = h.one('lan', tcpFrame({ src: '192.0.2.10', dst: '198.51.100.10' }, 40001, 80, 0x02));
    const t = tupleOf(syn.out[0].bytes);
    console.log('syn', flat(t), t.checksumsOk);
    const synack = h.one('wan', tcpFrame({ src: '198.51.100.10', dst: '198.51.100.1', dstMac: WAN_MAC }, 80, t.sport, 0x12));
    console.log('synack', flat(tupleOf(synack.out[0].bytes)), tupleOf(synack.out[0].bytes).checksumsOk);
    const ping = h.one('lan', echoFrame({ src: '192.0.2.10', dst: '198.51.100.10' }, 777, 1));
    const p = tupleOf(ping.out[0].bytes);
    console.log('ping', flat(p), p.checksumsOk);
    const pong = h.one('wan', icmpQueryFrame({ src: '198.51.100.10', dst: '198.51.100.1', dstMac: WAN_MAC }, 0, p.sport, 1));
    console.log('pong', flat(tupleOf(pong.out[0].bytes)), tupleOf(pong.out[0].bytes).checksumsOk);
    // port unreachable from the server about the translated udp datagram
    const u = h.one('lan', udpFrame({ src: '192.0.2.10', dst: '198.51.100.10' }, 40002, 9999));
    const ub = u.out[0].bytes;
    const err = h.one('wan', icmpErrorFrame({ src: '198.51.100.10', dst: '198.51.100.1', dstMac: WAN_MAC }, 3, 3, ub.subarray(14)));
    const e = tupleOf(err.out[0].bytes);
    console.log('err', flat(e), e.type, e.code, flat(e.quoted!), e.checksumsOk, err.counters);
    // dnat
    const d = h.one('wan', tcpFrame({ src: '198.51.100.11', dst: '198.51.100.1', dstMac: WAN_MAC }, 5555, 8080, 0x02));
    console.log('dnat', d.out.length && flat(tupleOf(d.out[0].bytes)), d.counters);
    const dr = h.one('lan', tcpFrame({ src: '192.0.2.10', dst: '198.51.100.11' }, 80, 5555, 0x12));
    console.log('dnat reply', dr.out.length && flat(tupleOf(dr.out[0].bytes)), dr.counters);
    // hairpin: 192.0.2.11 to the udp binding of 192.0.2.10:40000
    const b1 = h.one('lan', udpFrame({ src: '192.0.2.10', dst: '198.51.100.10' }, 40000, 53));
    const ext = tupleOf(b1.out[0].bytes).sport;
    const hp = h.one('lan', udpFrame({ src: '192.0.2.11', dst: '198.51.100.1' }, 41000, ext));
    console.log('hairpin', hp.out.length && flat(tupleOf(hp.out[0].bytes)), hp.counters);
    const hpr = h.one('lan', udpFrame({ src: '192.0.2.10', dst: tupleOf(hp.out[0].bytes).src }, 40000, tupleOf(hp.out[0].bytes).sport));
    console.log('hairpin back', hpr.out.length && flat(tupleOf(hpr.out[0].bytes)), hpr.counters);
    // traceroute-like ttl 1
    const ttl = h.one('lan', udpFrame({ src: '192.0.2.10', dst: '198.51.100.10', ttl: 1 }, 42000, 33434));
    const te = tupleOf(ttl.out[0].bytes);
    console.log('ttl', flat(te), te.type, flat(te.quoted!));
  });
});

describe('nat smoke 3', () => {
  it('fragments out of order', () => {
    const h = new Harness(CONFIG);
    // a UDP datagram of 1000 bytes payload cut in two: first 504 bytes of L4 (offset 0, MF), then the rest
    const whole = udpFrame({ src: '192.0.2.10', dst: '198.51.100.10', id: 0x4242 }, 40100, 53, 1000);
    const ip = whole.subarray(14);
    const l4 = ip.subarray(20);
    const first = rawFrag(l4.subarray(0, 504), 0, true);
    const second = rawFrag(l4.subarray(504), 504 / 8, false);
    const r1 = h.one('lan', second);
    console.log('second first', r1.out.length, r1.counters);
    const r2 = h.one('lan', first);
    console.log('then first', r2.out.map((o) => flat(tupleOf(o.bytes))), r2.counters);
    const r3 = h.send([]);
    console.log('next batch', r3.out.map((o) => flat(tupleOf(o.bytes))), r3.counters);
  });
});

import { rawIpFrame } from '../pipeline/build.js';
function rawFrag(payload: Uint8Array, offset8: number, mf: boolean): Uint8Array {
  return rawIpFrame({ src: '192.0.2.10', dst: '198.51.100.10', id: 0x4242, mf, fragOffset: offset8 }, 17, payload);
}
