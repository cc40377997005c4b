// Packets the NAT has nothing to map for (a protocol without ports): where a
// source rule would take them they are dropped and counted, never sent out
// with an inside address; where no rule applies they are routed as they are.
import { describe, expect, it } from 'vitest';
import { rawIpFrame } from '../pipeline/build.js';
import { NatFixture } from './fixture.js';
import { H1, natConfig, S1 } from './net.js';
import { only } from './packets.js';

const GRE = 47;

describe('NAT: protocols it does not map', () => {
  it('GRE from inside out of the masqueraded port is dropped (untranslatable), not sent from 192.0.2.10; GRE routed in, with no rule on lan, passes as it is', () => {
    const fx = new NatFixture(natConfig());
    const out = fx.send(0, { port: 'lan', frame: rawIpFrame({ src: H1, dst: S1 }, GRE, new Uint8Array(24)) });
    expect(out.out).toEqual([]);
    expect(out.counters['nat-output/untranslatable']).toBe(1);
    const inbound = only(fx.send(10, { port: 'wan', frame: rawIpFrame({ src: S1, dst: H1, dstMac: '02:00:00:00:00:02' }, GRE, new Uint8Array(24)) }), 'lan');
    expect([inbound.src, inbound.dst, inbound.proto]).toEqual([S1, H1, GRE]);
    expect(fx.live()).toBe(0);
  });

  it('an ICMP message shorter than its 8-byte header is dropped as truncated: no flow, nothing sent with a checksum made for an id it does not hold', () => {
    const fx = new NatFixture(natConfig());
    for (const len of [2, 4, 7]) {
      const icmp = new Uint8Array(len);
      icmp[0] = 8; // echo request, cut before its id
      const out = fx.send(0, { port: 'lan', frame: rawIpFrame({ src: H1, dst: S1 }, 1, icmp) });
      expect(out.out, `${len} bytes`).toEqual([]);
      expect(out.counters['ct-input/truncated'], `${len} bytes`).toBe(1);
    }
    expect(fx.live()).toBe(0);
  });
});
