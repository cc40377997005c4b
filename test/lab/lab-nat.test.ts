// The lab's NAT mode as config (no root needed): the router config `lab up
// --nat` writes loads through the real config loader and says what issue 9's
// example says, for each filtering; wrong options are refused by name. The
// kernel's ruleset is checked by nft itself in test/e2e/lab-cli.test.ts.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { checkLabNat, kernelNatRuleset, NAT_DEFAULT_CAPACITY, NAT_FILTERINGS } from '../../src/lab/lab-nat.js';
import { labConfigYaml } from '../../src/lab/topology.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../../src/wire/ipv4.js';
import { parseIpv4Address } from '../../src/wire/address.js';

describe('lab NAT mode: the dataplane config', () => {
  it.each(NAT_FILTERINGS)('loads with masquerade on wan, the two port forwards and %s filtering', (filtering) => {
    const yaml = labConfigYaml({ prefix: 'dp-nat', ports: 'tap', engine: 'dataplane', workers: 2, nat: { filtering, capacity: 4096 } });
    const c = parseConfig(yaml, 'router.yaml', '.');
    const wan = c.ports.findIndex((p) => p.name === 'wan');
    expect(c.nat?.masquerade.map((m) => m.outPort)).toEqual([wan]);
    expect(c.nat?.dnat.map((d) => [d.inPort, d.proto, d.dports.lo, d.dports.hi, d.dst >>> 0, d.to >>> 0, d.toPort])).toEqual([
      [wan, IPPROTO_TCP, 8080, 8080, parseIpv4Address('198.51.100.1') >>> 0, parseIpv4Address('192.0.2.10') >>> 0, 80],
      [wan, IPPROTO_UDP, 5353, 5353, parseIpv4Address('198.51.100.1') >>> 0, parseIpv4Address('192.0.2.10') >>> 0, 53],
    ]);
    expect(c.nat?.filtering).toBe(filtering);
    expect(c.nat?.profile).toBe('rfc');
    expect(c.conntrack.capacity).toBe(4096);
  });

  it('is in the shape of the issue: masquerade, dnat, filtering, profile, then conntrack', () => {
    const yaml = labConfigYaml({ prefix: 'dp-nat', ports: 'afpacket', engine: 'dataplane', workers: 1, nat: {} });
    expect(yaml).toContain(
      [
        'nat:',
        '  masquerade:',
        '    - { outPort: wan }',
        '  dnat:',
        '    - { inPort: wan, proto: tcp, dport: 8080, to: "192.0.2.10:80" }',
        '    - { inPort: wan, proto: udp, dport: 5353, to: "192.0.2.10:53" }',
        '  filtering: endpoint-independent',
        '  profile: rfc',
        `conntrack: { capacity: ${NAT_DEFAULT_CAPACITY} }`,
      ].join('\n'),
    );
    expect(parseConfig(yaml, 'router.yaml', '.').conntrack.capacity).toBe(NAT_DEFAULT_CAPACITY);
  });

  it('leaves a lab without --nat a plain router', () => {
    const c = parseConfig(labConfigYaml({ prefix: 'dp-lab', ports: 'tap', engine: 'dataplane', workers: 1 }), 'router.yaml', '.');
    expect(c.nat).toBeUndefined();
  });
});

describe('lab NAT mode: options and the kernel ruleset', () => {
  it('refuses a capacity the config would refuse, and an unknown filtering', () => {
    expect(checkLabNat({ capacity: 15 })).toMatch(/conntrack capacity must be a whole number from 16 to 16777216 \(got 15\)/);
    expect(checkLabNat({ capacity: 1.5 })).toMatch(/conntrack capacity must be a whole number/);
    expect(checkLabNat({ filtering: 'full-cone' as never })).toMatch(/NAT filtering must be endpoint-independent, address-dependent or address-and-port-dependent \(got 'full-cone'\)/);
    expect(checkLabNat({ capacity: 1024, filtering: 'address-dependent' })).toBeUndefined();
  });

  it('lets inbound UDP through the mapping only as wide as the filtering says', () => {
    const eif = kernelNatRuleset({ filtering: 'endpoint-independent' }, '198.51.100.1');
    const adf = kernelNatRuleset({ filtering: 'address-dependent' }, '198.51.100.1');
    const apdf = kernelNatRuleset({ filtering: 'address-and-port-dependent' }, '198.51.100.1');
    for (const r of [eif, adf, apdf]) {
      expect(r).toContain('oifname "wan" masquerade');
      expect(r).toContain('iifname "wan" ip daddr 198.51.100.1 tcp dport 8080 dnat to 192.0.2.10:80');
      expect(r).toContain('iifname "wan" ip daddr 198.51.100.1 udp dport 5353 dnat to 192.0.2.10:53');
    }
    expect(eif).toMatch(/ip daddr 198\.51\.100\.1 dnat ip to udp dport map @eim_udp/);
    expect(adf).toMatch(/ip daddr 198\.51\.100\.1 udp dport \. ip saddr @adf_udp dnat ip to udp dport map @eim_udp/);
    // Linux conntrack alone is address-and-port-dependent: no map at all.
    expect(apdf).not.toContain('eim_udp');
  });
});
