// rewriteTuple and rewriteIcmpError against full recomputation: whatever the
// packet and the new tuple, every checksum in the result verifies, the
// fields hold the new values, and a partial (offloaded) L4 checksum moves
// by the pseudo-header only.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rewriteIcmpError, rewriteTcpUdp, rewriteTuple } from '../../src/nat/translate.js';
import { foldSum, pseudoHeaderSum } from '../../src/wire/checksum.js';
import { ipv4ToString } from '../../src/wire/address.js';
import { echoFrame, icmpErrorFrame, tcpFrame, udpFrame } from '../pipeline/build.js';
import { tupleOf } from './packets.js';

const RUNS = { numRuns: 500 };
const addr = fc.integer({ min: 0x01000000, max: 0xdfffffff }); // unicast-looking, any
const port = fc.integer({ min: 0, max: 0xffff });

function read32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

describe('rewriteTuple keeps every checksum right (RFC 1624 against recomputation)', () => {
  it('TCP and UDP: addresses, ports and both checksums', () => {
    fc.assert(
      fc.property(fc.boolean(), addr, addr, port, port, addr, addr, port, port, fc.integer({ min: 0, max: 200 }), (tcp, s, d, sp, dp, ns, nd, nsp, ndp, len) => {
        const ip = { src: ipv4ToString(s), dst: ipv4ToString(d) };
        const f = tcp ? tcpFrame(ip, sp, dp, 0x18, len) : udpFrame(ip, sp, dp, len);
        rewriteTuple(f, 14, 34, tcp ? 6 : 17, ns | 0, nd | 0, nsp, ndp, false);
        const t = tupleOf(f);
        expect([t.src, t.dst, t.sport, t.dport]).toEqual([ipv4ToString(ns), ipv4ToString(nd), nsp, ndp]);
        expect(t.checksumsOk).toBe(true);
      }),
      RUNS,
    );
  });

  it('UDP without a checksum stays without one; a checksum that comes out 0 is sent as 0xffff', () => {
    fc.assert(
      fc.property(addr, addr, port, port, addr, port, (s, d, sp, dp, ns, nsp) => {
        const f = udpFrame({ src: ipv4ToString(s), dst: ipv4ToString(d) }, sp, dp);
        f[40] = 0;
        f[41] = 0;
        rewriteTuple(f, 14, 34, 17, ns | 0, d | 0, nsp, dp, false);
        expect((f[40] << 8) | f[41]).toBe(0);
        const g = udpFrame({ src: ipv4ToString(s), dst: ipv4ToString(d) }, sp, dp);
        rewriteTuple(g, 14, 34, 17, ns | 0, d | 0, nsp, dp, false);
        expect((g[40] << 8) | g[41]).not.toBe(0);
      }),
      RUNS,
    );
  });

  it('ICMP query: the id, and the ICMP checksum (no pseudo-header)', () => {
    fc.assert(
      fc.property(addr, addr, port, addr, port, (s, d, id, ns, nid) => {
        const f = echoFrame({ src: ipv4ToString(s), dst: ipv4ToString(d) }, id, 7);
        rewriteTuple(f, 14, 34, 1, ns | 0, d | 0, nid, nid, false);
        const t = tupleOf(f);
        expect([t.src, t.sport]).toEqual([ipv4ToString(ns), nid]);
        expect(t.checksumsOk).toBe(true);
      }),
      RUNS,
    );
  });

  it('a partial checksum (offload) moves by the addresses only and stays the pseudo-header sum', () => {
    fc.assert(
      fc.property(addr, addr, port, port, addr, addr, port, (s, d, sp, dp, ns, nd, nsp) => {
        const f = tcpFrame({ src: ipv4ToString(s), dst: ipv4ToString(d) }, sp, dp, 0x10, 40);
        const l4Len = f.length - 34;
        const partial = (a: number, b: number) => foldSum(pseudoHeaderSum(a, b, 6, l4Len));
        f[50] = partial(s, d) >>> 8;
        f[51] = partial(s, d) & 0xff;
        rewriteTuple(f, 14, 34, 6, ns | 0, nd | 0, nsp, dp, true);
        // Equal as ones-complement numbers (0 and 0xffff are the same).
        expect(foldSum((f[50] << 8) | f[51]) % 0xffff).toBe(partial(ns, nd) % 0xffff);
        expect(read32(f, 26)).toBe(ns >>> 0);
      }),
      RUNS,
    );
  });

  it('a later fragment: addresses and the IPv4 checksum only', () => {
    fc.assert(
      fc.property(addr, addr, addr, addr, (s, d, ns, nd) => {
        const f = udpFrame({ src: ipv4ToString(s), dst: ipv4ToString(d), fragOffset: 10 }, 1, 2);
        const before = f.slice(34);
        rewriteTuple(f, 14, -1, 17, ns | 0, nd | 0, 0, 0, false);
        expect(tupleOf(f).checksumsOk).toBe(true);
        expect([read32(f, 26), read32(f, 30)]).toEqual([ns >>> 0, nd >>> 0]);
        expect(f.slice(34)).toEqual(before);
      }),
      RUNS,
    );
  });
});

describe('rewriteIcmpError translates outside and inside (RFC 5508 REQ-4)', () => {
  it('every checksum verifies: outer IPv4, ICMP, quoted IPv4 and the quoted UDP/TCP/ICMP checksum', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 6, 17), addr, addr, port, port, addr, addr, port, port, addr, addr, (proto, s, d, sp, dp, qs, qd, qsp, qdp, es, ed) => {
        const ip = { src: ipv4ToString(s), dst: ipv4ToString(d) };
        const inner = (proto === 6 ? tcpFrame(ip, sp, dp, 0x02) : proto === 17 ? udpFrame(ip, sp, dp) : echoFrame(ip, sp, 1)).subarray(14);
        const f = icmpErrorFrame({ src: ipv4ToString(d), dst: ipv4ToString(s) }, 3, 3, inner);
        const qPorts = proto === 1 ? ((qsp << 16) | qsp) : ((qsp << 16) | qdp);
        rewriteIcmpError(f, 14, 34, f.length, 42, qs | 0, qd | 0, qPorts, es | 0, ed | 0);
        const t = tupleOf(f);
        expect(t.checksumsOk).toBe(true);
        expect([t.src, t.dst]).toEqual([ipv4ToString(es), ipv4ToString(ed)]);
        expect([t.quoted!.src, t.quoted!.dst, t.quoted!.sport]).toEqual([ipv4ToString(qs), ipv4ToString(qd), qsp]);
        if (proto !== 1) expect(t.quoted!.dport).toBe(qdp);
      }),
      RUNS,
    );
  });
});

describe('rewriteTcpUdp (the established path) writes what rewriteTuple writes', () => {
  it('same bytes for TCP, UDP (with and without a checksum) and partial checksums', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), fc.boolean(), addr, addr, port, port, addr, addr, port, port, (tcp, noCsum, partial, s, d, sp, dp, ns, nd, nsp, ndp) => {
        const ip = { src: ipv4ToString(s), dst: ipv4ToString(d) };
        const f = tcp ? tcpFrame(ip, sp, dp, 0x18, 30) : udpFrame(ip, sp, dp, 30);
        if (!tcp && noCsum) f[40] = f[41] = 0;
        const g = f.slice();
        rewriteTuple(f, 14, 34, tcp ? 6 : 17, ns | 0, nd | 0, nsp, ndp, partial);
        rewriteTcpUdp(g, 14, 34, tcp, s | 0, d | 0, (sp << 16) | dp, ns | 0, nd | 0, (nsp << 16) | ndp, partial);
        expect(g).toEqual(f);
      }),
      RUNS,
    );
  });
});
