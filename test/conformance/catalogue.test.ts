// The conformance catalogue (src/conformance/) as tests: every requirement
// passes on the dataplane as it is, and a row fails when the config or the
// packets are broken on purpose, so a passing row means the check held.
import { describe, expect, it } from 'vitest';
import { CATALOGUE, select } from '../../src/conformance/catalogue.js';
import { label, runRequirement, type Requirement } from '../../src/conformance/requirement.js';
import { RFC1812 } from '../../src/conformance/rfc1812.js';
import { RFC4787 } from '../../src/conformance/rfc4787.js';
import { internetChecksum } from '../../src/wire/checksum.js';

function find(list: readonly Requirement[], id: string, text: string): Requirement {
  const r = list.find((x) => x.id === id && x.text.includes(text));
  if (r === undefined) throw new Error(`no requirement ${id} about "${text}"`);
  return r;
}

describe('conformance catalogue', () => {
  it('covers the four RFCs, each requirement once, with a line of text', () => {
    const counts = Object.fromEntries([1812, 4787, 5382, 5508].map((rfc) => [rfc, select([rfc as 1812]).length]));
    expect(counts).toEqual({ 1812: 19, 4787: 16, 5382: 14, 5508: 13 });
    expect(select().length).toBe(CATALOGUE.length);
    const keys = CATALOGUE.map((r) => `${label(r)}: ${r.text}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of CATALOGUE) expect(r.text, label(r)).toMatch(/^[^\n]{10,160}$/);
  });

  for (const r of CATALOGUE) {
    it(`${label(r)}: ${r.text}`, () => {
      const row = runRequirement(r);
      expect(row.failure).toBeUndefined();
      expect(row.pass).toBe(true);
      // Evidence: at least one packet in, and what came out for it (or that nothing did).
      expect(row.evidence.some((line) => /\bin (lan|wan|dmz): /.test(line) && /\bout( (lan|wan|dmz))?: /.test(line)), row.evidence.join('\n')).toBe(true);
    });
  }
});

describe('a row fails when the dataplane does not do what the RFC asks', () => {
  it('RFC 1812 5.3.13.5 with each Record Route made full on the way in (pointer 12, checksum fixed): fails, the option came out as it went in', () => {
    const r = find(RFC1812, '5.3.13.5', 'Record Route');
    const tamper = (f: Uint8Array) => {
      if ((f[14] & 15) > 5 && f[34] === 7) {
        f[36] = 12;
        f[24] = f[25] = 0;
        const c = internetChecksum(f, 14, (f[14] & 15) * 4);
        f[24] = c >> 8;
        f[25] = c & 0xff;
      }
      return f;
    };
    const row = runRequirement(r, { tamper });
    expect(row.pass).toBe(false);
    expect(row.failure).toBe('TTL and Record Route out of wan: expected [63,["rr ptr 8 [198.51.100.1 0.0.0.0]"]], got [63,["rr ptr 12 [0.0.0.0 0.0.0.0]"]]');
    expect(row.evidence).toEqual(['in lan: 192.0.2.10:40000>192.0.2.200:33434 udp opts rr ptr 12 [0.0.0.0 0.0.0.0]; out wan: 192.0.2.10:40000>192.0.2.200:33434 udp ttl 63 opts rr ptr 12 [0.0.0.0 0.0.0.0]']);
  });

  it('RFC 4787 REQ-8 address-dependent filtering, run on an endpoint-independent NAT: fails on S2, whose datagram got in', () => {
    const r = find(RFC4787, 'REQ-8', 'address-dependent filtering (');
    const row = runRequirement(r, { config: (yaml) => yaml.replace('filtering: address-dependent', 'filtering: endpoint-independent') });
    expect(row.pass).toBe(false);
    expect(row.failure).toBe('frames out: expected [], got ["lan: 198.51.100.11:53>192.0.2.10:5000 udp ttl 63"]');
    expect(row.evidence.at(-1)).toBe('t=3s in wan: 198.51.100.11:53>198.51.100.1:40000 udp; out lan: 198.51.100.11:53>192.0.2.10:5000 udp ttl 63');
  });

  it('RFC 1812 4.3.2.8 with a rate limit too high to bite: fails, four errors where the burst allows two', () => {
    const r = find(RFC1812, '4.3.2.8', 'rate of ICMP errors');
    const row = runRequirement(r, { config: (yaml) => yaml.replace('ratePerSecond: 1, burst: 2', 'ratePerSecond: 1000, burst: 100') });
    expect(row.pass).toBe(false);
    expect(row.failure).toBe('errors sent for 4 unroutable datagrams at once (burst 2): expected 2, got 4');
  });

  it('RFC 1812 5.3.1 with every frame\'s header checksum damaged on the way in: fails, nothing forwarded, and the evidence shows the bad checksum', () => {
    const r = find(RFC1812, '5.3.1', 'decremented');
    const row = runRequirement(r, { tamper: (f) => ((f[24] ^= 0xff), f) });
    expect(row.pass).toBe(false);
    expect(row.failure).toBe('ports the step sent by: expected ["wan"], got []');
    expect(row.evidence).toEqual(['in lan: 192.0.2.10:40000>192.0.2.200:33434 udp (bad checksum); out: none (ip4-input/bad-checksum)']);
  });

  it('RFC 4787 REQ-1 on a NAT whose range has one port: fails (a second internal endpoint gets no mapping)', () => {
    const r = find(RFC4787, 'REQ-1', 'endpoint-independent mapping');
    const row = runRequirement(r, { config: (yaml) => yaml.replace('{ outPort: wan }', '{ outPort: wan, ports: 40000-40000 }') });
    expect(row.pass).toBe(false);
    expect(row.failure).toMatch(/^ports the step sent by: expected \["wan"\], got \[\]$/);
  });

  it('a config that does not load fails its row with the loader\'s message, and the others still run', () => {
    const r = find(RFC1812, '4.3.3.6', 'echo');
    const row = runRequirement(r, { config: (yaml) => yaml.replace('mtu: 1400', 'mtu: -5') });
    expect(row.pass).toBe(false);
    expect(row.failure).toMatch(/^error: conformance\.yaml: invalid config:\n.*ports\[1\]\.mtu: must be 68-9216/);
    expect(runRequirement(find(RFC1812, '5.3.1', 'decremented')).pass).toBe(true);
  });
});
