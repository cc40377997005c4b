// The `nat:` section: the example loads exactly as written, and each
// mistake is named by its field.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { IPPROTO_TCP } from '../../src/wire/ipv4.js';
import { parseIpv4Address } from '../../src/wire/address.js';
import { configProblems } from './config-problems.js';

const PORTS = `
ports:
  - { name: lan, address: 192.0.2.1/24 }
  - { name: wan, address: 198.51.100.1/24 }
`;

const EXAMPLE = `
nat:
  masquerade:
    - { outPort: wan }                       # all traffic leaving wan gets wan's address
  snat:
    - { match: { src: 192.0.2.0/24 }, outPort: wan, to: 198.51.100.100-198.51.100.101, ports: 20000-29999 }
  dnat:
    - { inPort: wan, proto: tcp, dport: 8080, to: "192.0.2.10:80" }
  filtering: endpoint-independent           # | address-dependent | address-and-port-dependent
  profile: rfc                              # | cloud-nat
conntrack: { capacity: 1048576 }
`;

const problems = (yaml: string) => configProblems(yaml);

describe('nat config', () => {
  it('loads the example exactly as written', () => {
    const c = parseConfig(PORTS + EXAMPLE, 'c.yaml', '.');
    expect(c.conntrack.capacity).toBe(1048576);
    const nat = c.nat!;
    expect(nat.masquerade).toEqual([{ outPort: 1, nonMasquerade: [], masqLinkLocal: false, ports: { lo: 1024, hi: 65535 } }]);
    expect(nat.snat[0].addresses).toEqual([parseIpv4Address('198.51.100.100'), parseIpv4Address('198.51.100.101')]);
    expect(nat.snat[0].ports).toEqual({ lo: 20000, hi: 29999 });
    expect(nat.snat[0].src).toEqual({ net: parseIpv4Address('192.0.2.0'), mask: 0xffffff00 });
    expect(nat.dnat[0]).toEqual({ inPort: 1, proto: IPPROTO_TCP, dports: { lo: 8080, hi: 8080 }, dst: parseIpv4Address('198.51.100.1'), to: parseIpv4Address('192.0.2.10'), toPort: 80 });
    expect([nat.filtering, nat.profile, nat.minPortsPerEndpoint]).toEqual(['endpoint-independent', 'rfc', 0]);
  });

  it('without nat: no NAT, the default flow-table capacity', () => {
    const c = parseConfig(PORTS, 'c.yaml', '.');
    expect(c.nat).toBeUndefined();
    expect(c.conntrack.capacity).toBe(1 << 20);
  });

  it('names every mistake', () => {
    expect(
      problems(`${PORTS}
nat:
  masquerade: [{ outPort: wan }, { outPort: wan }, { outPort: dmz }]
  snat:
    - { outPort: wan, to: 198.51.100.101-198.51.100.100 }
    - { outPort: wan, to: 198.51.100.0-198.51.101.255 }
    - { outPort: wan, to: 198.51.100.7, ports: 3000-2000 }
  dnat:
    - { inPort: wan, proto: tcp, dport: 8000-8010, to: "192.0.2.10:80" }
    - { inPort: wan, proto: tcp, dport: 8005, to: "192.0.2.11" }
    - { inPort: wan, proto: udp, dport: 53, to: "192.0.2.10:70000" }
  filtering: full-cone
  minPortsPerEndpoint: 64
`),
    ).toEqual([
      'nat.filtering: must be one of "endpoint-independent", "address-dependent", "address-and-port-dependent"',
      // The rest of nat: is still checked in the same pass.
      'nat.masquerade[1].outPort: port "wan" is masqueraded by nat.masquerade[0] already',
      'nat.masquerade[2].outPort: "dmz" is not a configured port (ports: lan, wan)',
      'nat.snat[0].to: 198.51.100.101-198.51.100.100 runs backwards (198.51.100.100 is below 198.51.100.101)',
      'nat.snat[1].to: 198.51.100.0-198.51.101.255 holds 512 addresses; a pool holds at most 256',
      'nat.snat[2].ports: 3000-2000 must be LOW-HIGH with 1 <= LOW <= HIGH <= 65535',
      'nat.dnat[0].to: a range of ports (8000-8010) is forwarded to the same ports: give "to" without ":PORT"',
      'nat.dnat[2].to: port 70000 must be 1-65535',
      'nat.dnat[1]: forwards 198.51.100.1 port 8005 that nat.dnat[0] forwards already',
      'nat.minPortsPerEndpoint: applies to profile cloud-nat only',
    ]);
    expect(
      problems(`${PORTS}
nat:
  masquerade: [{ outPort: wan }, { outPort: wan }, { outPort: dmz }]
  snat:
    - { outPort: wan, to: 198.51.100.101-198.51.100.100 }
    - { outPort: wan, to: 198.51.100.0-198.51.101.255 }
    - { outPort: wan, to: 198.51.100.7, ports: 3000-2000 }
  dnat:
    - { inPort: wan, proto: tcp, dport: 8000-8010, to: "192.0.2.10:80" }
    - { inPort: wan, proto: tcp, dport: 8005, to: "192.0.2.11" }
    - { inPort: wan, proto: udp, dport: 53, to: "192.0.2.10:70000" }
  minPortsPerEndpoint: 64
`),
    ).toEqual([
      'nat.masquerade[1].outPort: port "wan" is masqueraded by nat.masquerade[0] already',
      'nat.masquerade[2].outPort: "dmz" is not a configured port (ports: lan, wan)',
      'nat.snat[0].to: 198.51.100.101-198.51.100.100 runs backwards (198.51.100.100 is below 198.51.100.101)',
      'nat.snat[1].to: 198.51.100.0-198.51.101.255 holds 512 addresses; a pool holds at most 256',
      'nat.snat[2].ports: 3000-2000 must be LOW-HIGH with 1 <= LOW <= HIGH <= 65535',
      'nat.dnat[0].to: a range of ports (8000-8010) is forwarded to the same ports: give "to" without ":PORT"',
      'nat.dnat[2].to: port 70000 must be 1-65535',
      'nat.dnat[1]: forwards 198.51.100.1 port 8005 that nat.dnat[0] forwards already',
      'nat.minPortsPerEndpoint: applies to profile cloud-nat only',
    ]);
  });

  it('an address part above 255 in snat.to or dnat.to is a problem naming the field, not a crash', () => {
    expect(
      problems(`${PORTS}
nat:
  snat:
    - { outPort: wan, to: 198.51.100.100-198.51.100.300 }
    - { outPort: wan, to: 198.51.100.256 }
  dnat:
    - { inPort: wan, proto: tcp, dport: 8080, to: "192.0.2.310:80" }
`),
    ).toEqual([
      'nat.snat[0].to: "198.51.100.100-198.51.100.300" is not an address or a range of addresses',
      'nat.snat[1].to: "198.51.100.256" is not an address or a range of addresses',
      'nat.dnat[0].to: "192.0.2.310" is not an IPv4 address',
    ]);
  });

  it('the nat section alone (no ports:) says the ports are missing, and that none is configured, not an empty list', () => {
    expect(problems('nat:\n  masquerade:\n    - { outPort: wan }\n')).toEqual([
      'ports: required field missing (expected a list)',
      'nat.masquerade[0].outPort: "wan" is not a configured port (no ports are configured)',
    ]);
  });

  it('a CIDR with host bits set is a problem naming the field and the network it probably meant, as a route prefix is', () => {
    expect(
      problems(`${PORTS}
nat:
  masquerade:
    - { outPort: wan, nonMasqueradeCIDRs: [10.0.0.0/8, 172.16.5.1/12] }
  snat:
    - { match: { src: 192.0.2.5/24 }, outPort: wan, to: 198.51.100.100 }
    - { match: { src: 192.0.2.0/24, dst: 203.0.113.7/25 }, outPort: wan, to: 198.51.100.101 }
    - { match: { src: 192.0.2.5/32, dst: 0.0.0.0/0 }, outPort: wan, to: 198.51.100.102 }
`),
    ).toEqual([
      'nat.masquerade[0].nonMasqueradeCIDRs[1]: 172.16.5.1/12 has host bits set for /12 (did you mean 172.16.0.0/12?)',
      'nat.snat[0].match.src: 192.0.2.5/24 has host bits set for /24 (did you mean 192.0.2.0/24?)',
      'nat.snat[1].match.dst: 203.0.113.7/25 has host bits set for /25 (did you mean 203.0.113.0/25?)',
    ]);
  });

  it('cloud-nat sets aside 64 ports per endpoint unless told otherwise', () => {
    const c = parseConfig(`${PORTS}\nnat: { masquerade: [{ outPort: wan }], profile: cloud-nat }\n`, 'c.yaml', '.');
    expect(c.nat!.minPortsPerEndpoint).toBe(64);
  });
});
