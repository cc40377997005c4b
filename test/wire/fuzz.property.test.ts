// Decoding never throws and never looks past `len`, whatever the bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkArp, parseArp } from '../../src/wire/arp.js';
import { WIRE_DROP_COUNT, WireDrop } from '../../src/wire/drop-reason.js';
import { checkEthernet, ethHeaderLen, ethVlanCount, parseEthernet } from '../../src/wire/ethernet.js';
import { checkIcmp, parseIcmp, parseIcmpQuote } from '../../src/wire/icmp.js';
import { ipv4OptionsError, parseIpv4Options } from '../../src/wire/ipv4-options.js';
import { checkIpv4, ipv4HeaderLen, ipv4TotalLength, parseIpv4 } from '../../src/wire/ipv4.js';
import { parseTcpOptions, tcpOptionsWellFormed } from '../../src/wire/tcp-options.js';
import { checkTcp, parseTcp, tcpHeaderLen } from '../../src/wire/tcp.js';
import { checkUdp, parseUdp, udpLength } from '../../src/wire/udp.js';
import * as golden from './golden.js';
import { bytes } from './arbitraries.js';

type Parser = (b: Uint8Array, o: number, len: number) => unknown;
type Check = (b: Uint8Array, o: number, len: number) => number;

const LAYERS: { name: string; check: Check; parse: Parser }[] = [
  { name: 'ethernet', check: checkEthernet, parse: parseEthernet },
  { name: 'arp', check: checkArp, parse: parseArp },
  { name: 'ipv4', check: checkIpv4, parse: parseIpv4 },
  { name: 'tcp', check: checkTcp, parse: parseTcp },
  { name: 'udp', check: checkUdp, parse: parseUdp },
  { name: 'icmp', check: checkIcmp, parse: parseIcmp },
];

/** Random bytes, an offset into them and a length that stays inside. */
const framed = fc
  .tuple(bytes(120), fc.nat(16), fc.nat(140))
  .map(([body, off, want]) => {
    const b = new Uint8Array(off + body.length);
    b.fill(0xa5, 0, off);
    b.set(body, off);
    return { b, o: off, len: Math.min(want, body.length) };
  });

/** Random bytes biased towards headers that pass the first checks (IPv4 version/IHL, VLAN TPIDs, option kinds). */
const plausible = fc
  .tuple(bytes(100, 20), fc.integer({ min: 5, max: 15 }), fc.nat(120), fc.constantFrom(0x8100, 0x88a8, 0x0800, 0x0806))
  .map(([body, ihl, total, tpid]) => {
    const b = body.slice();
    b[0] = 0x40 | ihl;
    b[2] = 0;
    b[3] = total;
    b[12] = tpid >> 8;
    b[13] = tpid & 0xff;
    return b;
  });

describe('fuzz: decoding never throws and depends only on b[o, o+len)', () => {
  for (const layer of LAYERS) {
    it(`${layer.name}: check returns a known code, parse agrees with it, and a copy of just the bytes decodes the same`, () => {
      fc.assert(fc.property(framed, ({ b, o, len }) => {
        const code = layer.check(b, o, len);
        expect(code >= 0 && code < WIRE_DROP_COUNT).toBe(true);
        const r = layer.parse(b, o, len) as { ok: boolean; reason?: number };
        expect(r.ok).toBe(code === WireDrop.OK);
        if (!r.ok) expect(r.reason).toBe(code);
        const exact = b.slice(o, o + len);
        expect(layer.check(exact, 0, len)).toBe(code);
        expect(layer.parse(exact, 0, len)).toEqual(r);
      }), { numRuns: 1000 });
    });
  }

  it('plausible IPv4 headers: when the check passes, header and total length fit in len and options parse inside', () => {
    fc.assert(fc.property(plausible, (b) => {
      const code = checkIpv4(b, 0, b.length);
      if (code !== WireDrop.OK) return;
      expect(ipv4HeaderLen(b, 0)).toBeLessThanOrEqual(ipv4TotalLength(b, 0));
      expect(ipv4TotalLength(b, 0)).toBeLessThanOrEqual(b.length);
      const exact = b.slice(0, ipv4HeaderLen(b, 0));
      expect(parseIpv4Options(exact, 20, exact.length)).toEqual(parseIpv4Options(b, 20, ipv4HeaderLen(b, 0)));
    }), { numRuns: 2000 });
  });

  it('plausible TCP / UDP: after the check, the header (or length field) fits in len', () => {
    fc.assert(fc.property(plausible, fc.nat(100), (b, cut) => {
      const len = Math.min(b.length, cut);
      if (checkTcp(b, 0, len) === WireDrop.OK) expect(tcpHeaderLen(b, 0)).toBeLessThanOrEqual(len);
      if (checkUdp(b, 0, len) === WireDrop.OK) expect(udpLength(b, 0)).toBeLessThanOrEqual(len);
    }), { numRuns: 2000 });
  });

  it('plausible Ethernet: after the check, the tags and the payload EtherType are inside len', () => {
    fc.assert(fc.property(plausible, fc.nat(100), (b, cut) => {
      const len = Math.min(b.length, cut);
      if (checkEthernet(b, 0, len) !== WireDrop.OK) return;
      expect(ethHeaderLen(ethVlanCount(b, 0, len))).toBeLessThanOrEqual(len);
    }), { numRuns: 2000 });
  });

  it('option walkers (IPv4, TCP) never throw and agree with their validators', () => {
    fc.assert(fc.property(bytes(40), (b) => {
      expect(() => parseIpv4Options(b, 0, b.length)).not.toThrow();
      expect(() => parseTcpOptions(b, 0, b.length)).not.toThrow();
      const ipErr = ipv4OptionsError(b, 0, b.length);
      expect(ipErr).toBeLessThan(b.length);
      tcpOptionsWellFormed(b, 0, b.length);
    }), { numRuns: 2000 });
  });

  it('ICMP quotes of any bytes and any length decode without throwing, offsets inside the quote', () => {
    fc.assert(fc.property(framed, fc.boolean(), ({ b, o, len }, v4) => {
      if (v4 && len > 0) b[o] = 0x45;
      const q = parseIcmpQuote(b, o, len);
      if (q.l4Offset >= 0) {
        expect(q.l4Offset).toBeGreaterThanOrEqual(o + 20);
        expect(q.l4Offset + q.l4Len).toBeLessThanOrEqual(o + len);
      }
      const exact = b.slice(o, o + len);
      const q2 = parseIcmpQuote(exact, 0, len);
      expect({ ...q2, l4Offset: q2.l4Offset < 0 ? -1 : q2.l4Offset + o }).toEqual(q);
    }), { numRuns: 2000 });
  });
});

describe('fuzz: truncations and single-byte mutations of every golden packet', () => {
  const packets = Object.entries(golden).filter((e): e is [string, Uint8Array] => e[1] instanceof Uint8Array);

  it.each(packets)('%s: every prefix and offset decodes at every layer without throwing', (_name, pkt) => {
    for (let o = 0; o < Math.min(pkt.length, 40); o++) {
      for (let len = 0; len <= pkt.length - o; len++) {
        for (const layer of LAYERS) {
          const code = layer.check(pkt, o, len);
          expect((layer.parse(pkt, o, len) as { ok: boolean }).ok).toBe(code === WireDrop.OK);
        }
        parseIcmpQuote(pkt, o, len);
      }
    }
  });

  it('random single-byte mutations of golden packets decode without throwing', () => {
    const arb = fc.tuple(fc.constantFrom(...packets.map((p) => p[1])), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(40));
    fc.assert(fc.property(arb, ([pkt, at, value, o]) => {
      const b = pkt.slice();
      b[at % b.length] = value;
      const off = o % b.length;
      for (const layer of LAYERS) layer.parse(b, off, b.length - off);
      parseIcmpQuote(b, off, b.length - off);
    }), { numRuns: 3000 });
  });
});
