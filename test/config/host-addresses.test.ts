// Addresses that cannot be what the config says they are: a port on a
// multicast or loopback address, a neighbor on a subnet's broadcast address
// or with a group MAC, a NAT address nobody can answer from, a firewall
// endpoint that is the router itself. Each is one problem naming its field
// and the reason; the legitimate neighbours of each case still load.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { hostAddressProblem } from '../../src/config/address-check.js';
import { isMartianSource, macGroupReason, parseIpv4Address, parseMacAddress, specialAddressReason, subnetEdge } from '../../src/wire/address.js';
import { configProblems } from './config-problems.js';

const ip = parseIpv4Address;

const PORTS = `ports:
  - { name: lan, address: 192.0.2.1/24 }
  - { name: wan, address: 198.51.100.1/24 }
`;

const loads = (yaml: string) => parseConfig(yaml, 'c.yaml', '.');

describe('address classes (wire/address.ts)', () => {
  it.each([
    ['0.0.0.0', 'the unspecified address 0.0.0.0'],
    ['0.0.0.1', 'in 0.0.0.0/8 ("this network", RFC 1122: never a host\'s address)'],
    ['127.0.0.1', 'a loopback address (127.0.0.0/8)'],
    ['224.0.0.1', 'a multicast address (224.0.0.0/4)'],
    ['239.255.255.255', 'a multicast address (224.0.0.0/4)'],
    ['240.0.0.1', 'in the reserved block 240.0.0.0/4 (RFC 1112: never forwarded)'],
    ['255.255.255.255', 'the limited broadcast address 255.255.255.255'],
    ['1.0.0.0', undefined],
    ['169.254.0.1', undefined],
    ['223.255.255.254', undefined],
  ])('%s is %s', (a, reason) => {
    expect(specialAddressReason(ip(a))).toBe(reason);
  });

  it('names exactly the addresses the packet path drops as martian (isMartianSource)', () => {
    for (let top = 0; top < 256; top++) {
      for (const low of [0, 1, 0xfffffe, 0xffffff]) {
        const a = ((top << 24) | low) >>> 0;
        expect(specialAddressReason(a) !== undefined).toBe(isMartianSource(a));
      }
    }
  });

  it("a subnet's network and broadcast addresses; a /31 and /32 have neither", () => {
    expect(subnetEdge(ip('192.0.2.0'), ip('192.0.2.1'), 24)).toBe('network');
    expect(subnetEdge(ip('192.0.2.255'), ip('192.0.2.1'), 24)).toBe('broadcast');
    expect(subnetEdge(ip('192.0.2.7'), ip('192.0.2.1'), 29)).toBe('broadcast');
    expect(subnetEdge(ip('192.0.2.8'), ip('192.0.2.1'), 29)).toBe(undefined);
    expect(subnetEdge(ip('192.0.2.0'), ip('192.0.2.1'), 31)).toBe(undefined);
    expect(subnetEdge(ip('192.0.2.5'), ip('192.0.2.1'), 24)).toBe(undefined);
    expect(hostAddressProblem(ip('198.51.100.255'), [{ name: 'wan', address: ip('198.51.100.1'), prefixLen: 24 }])).toBe('is the broadcast address of port "wan"\'s subnet 198.51.100.0/24');
  });

  it('group and all-zero MACs', () => {
    expect(macGroupReason(parseMacAddress('00:00:00:00:00:00'))).toBe('all zero');
    expect(macGroupReason(parseMacAddress('ff:ff:ff:ff:ff:ff'))).toBe('the broadcast address');
    expect(macGroupReason(parseMacAddress('01:00:5e:00:00:01'))).toBe('a multicast address');
    expect(macGroupReason(parseMacAddress('02:00:00:00:00:01'))).toBe(undefined);
  });
});

describe('port addresses', () => {
  it('a port is never on a multicast, loopback, "this network" or reserved address', () => {
    expect(
      configProblems(`ports:
  - { name: l, address: 224.0.0.1/24 }
  - { name: m, address: 127.0.0.1/8 }
  - { name: n, address: 255.255.255.255/32 }
  - { name: o, address: 0.0.0.1/8 }
  - { name: p, address: 240.0.0.1/8 }
  - { name: q, address: 169.254.0.1/16 }
`),
    ).toEqual([
      'ports[0].address: 224.0.0.1/24 is a multicast address (224.0.0.0/4); a port needs a unicast address',
      'ports[1].address: 127.0.0.1/8 is a loopback address (127.0.0.0/8); a port needs a unicast address',
      'ports[2].address: 255.255.255.255/32 is the limited broadcast address 255.255.255.255; a port needs a unicast address',
      'ports[3].address: 0.0.0.1/8 is in 0.0.0.0/8 ("this network", RFC 1122: never a host\'s address); a port needs a unicast address',
      'ports[4].address: 240.0.0.1/8 is in the reserved block 240.0.0.0/4 (RFC 1112: never forwarded); a port needs a unicast address',
    ]);
  });
});

describe('neighbors', () => {
  it('refuses a second entry for an address, the router, subnet edges and special addresses, group and own MACs', () => {
    expect(
      configProblems(`${PORTS}neighbors:
  - { address: 198.51.100.6, mac: "02:00:00:00:0a:06" }
  - { address: 198.51.100.6, mac: "02:00:00:00:0a:07" }
  - { address: 198.51.100.1, mac: "02:00:00:00:0a:08" }
  - { address: 198.51.100.255, mac: "02:00:00:00:0a:09" }
  - { address: 198.51.100.0, mac: "02:00:00:00:0a:0a" }
  - { address: 198.51.100.11, mac: "00:00:00:00:00:00" }
  - { address: 198.51.100.12, mac: "01:00:5e:00:00:01" }
  - { address: 198.51.100.13, mac: "02:00:00:00:00:01" }
  - { address: 0.0.0.0, mac: "02:00:00:00:0a:0b", dev: wan }
  - { address: 255.255.255.255, mac: "02:00:00:00:0a:0c", dev: wan }
  - { address: 224.0.0.5, mac: "02:00:00:00:0a:0d", dev: wan }
  - { address: 198.51.100.3, mac: "ff:ff:ff:ff:ff:ff" }
  - { address: 198.51.100.14, mac: "02:00:00:00:0a:0e" }
  - { address: 198.51.100.14, mac: "02:00:00:00:0a:0e" }
`),
    ).toEqual([
      'neighbors[1].address: 198.51.100.6 is already neighbors[0] (with MAC 02:00:00:00:0a:06)',
      'neighbors[2].address: 198.51.100.1 is port "wan"\'s own address',
      'neighbors[3].address: 198.51.100.255 is the broadcast address of port "wan"\'s subnet 198.51.100.0/24',
      'neighbors[4].address: 198.51.100.0 is the network address of port "wan"\'s subnet 198.51.100.0/24',
      'neighbors[5].mac: 00:00:00:00:00:00 is all zero; a neighbor has a station\'s unicast MAC',
      'neighbors[6].mac: 01:00:5e:00:00:01 is a multicast address; a neighbor has a station\'s unicast MAC',
      'neighbors[7].mac: 02:00:00:00:00:01 is port "lan"\'s own MAC',
      'neighbors[8].address: 0.0.0.0 is the unspecified address 0.0.0.0',
      'neighbors[9].address: 255.255.255.255 is the limited broadcast address 255.255.255.255',
      'neighbors[10].address: 224.0.0.5 is a multicast address (224.0.0.0/4)',
      'neighbors[11].mac: ff:ff:ff:ff:ff:ff is the broadcast address; a neighbor has a station\'s unicast MAC',
      'neighbors[13].address: 198.51.100.14 is already neighbors[12]',
    ]);
  });

  it("refuses a dev whose port never reaches the address (it is on another port's subnet), unless a route sends it out that dev", () => {
    const entry = `neighbors:\n  - { address: 198.51.100.5, mac: "02:00:00:00:0a:05", dev: lan }\n`;
    expect(configProblems(`${PORTS}${entry}`)).toEqual([
      'neighbors[0].dev: 198.51.100.5 is on port "wan"\'s subnet 198.51.100.0/24, and no route sends it out "lan": the entry would never be used (leave out dev, or name "wan")',
    ]);
    // A route through a gateway does not reach the address itself.
    expect(configProblems(`${PORTS}routes:\n  - 198.51.100.5/32 via 192.0.2.2\n${entry}`)).toHaveLength(1);
    const routed = loads(`${PORTS}routes:\n  - 198.51.100.4/30 dev lan\n${entry}`);
    expect(routed.neighbors).toEqual([{ address: ip('198.51.100.5'), mac: parseMacAddress('02:00:00:00:0a:05'), port: 0 }]);
    // Off every connected subnet, dev says where the host is (as before).
    expect(loads(`${PORTS}neighbors:\n  - { address: 10.1.1.1, mac: "02:00:00:00:0a:05", dev: lan }\n`).neighbors).toHaveLength(1);
  });
});

describe('NAT addresses', () => {
  it('an SNAT address is one host: not unspecified, broadcast, multicast or a subnet edge; the router\'s own addresses are fine', () => {
    expect(
      configProblems(`${PORTS}nat:
  snat:
    - { outPort: wan, to: 198.51.100.1 }
    - { outPort: wan, to: 198.51.100.255 }
    - { outPort: wan, to: 0.0.0.0 }
    - { outPort: wan, to: 224.0.0.1 }
    - { outPort: wan, to: 192.0.2.1 }
    - { outPort: wan, to: 255.255.255.255 }
    - { outPort: wan, to: 198.51.100.250-198.51.100.255 }
    - { outPort: wan, to: 203.0.113.0 }
`),
    ).toEqual([
      'nat.snat[1].to: 198.51.100.255 is the broadcast address of port "wan"\'s subnet 198.51.100.0/24; a translated source must be one host\'s address',
      'nat.snat[2].to: 0.0.0.0 is the unspecified address 0.0.0.0; a translated source must be one host\'s address',
      'nat.snat[3].to: 224.0.0.1 is a multicast address (224.0.0.0/4); a translated source must be one host\'s address',
      'nat.snat[5].to: 255.255.255.255 is the limited broadcast address 255.255.255.255; a translated source must be one host\'s address',
      'nat.snat[6].to: the pool\'s address 198.51.100.255 is the broadcast address of port "wan"\'s subnet 198.51.100.0/24; a translated source must be one host\'s address',
    ]);
  });

  it("DNAT's dst and to are one host's address; a dst the router does not own is fine (upstream routes it here)", () => {
    expect(
      configProblems(`${PORTS}nat:
  dnat:
    - { inPort: wan, proto: tcp, dport: 81, dst: 10.0.0.1, to: 192.0.2.13 }
    - { inPort: wan, proto: tcp, dport: 82, to: 0.0.0.0 }
    - { inPort: wan, proto: tcp, dport: 83, to: "255.255.255.255:80" }
    - { inPort: wan, proto: tcp, dport: 84, to: "192.0.2.255:80" }
    - { inPort: wan, proto: tcp, dport: 85, dst: 224.0.0.1, to: 192.0.2.13 }
    - { inPort: wan, proto: tcp, dport: 86, dst: 198.51.100.255, to: 192.0.2.13 }
`),
    ).toEqual([
      'nat.dnat[1].to: 0.0.0.0 is the unspecified address 0.0.0.0',
      'nat.dnat[2].to: 255.255.255.255 is the limited broadcast address 255.255.255.255',
      'nat.dnat[3].to: 192.0.2.255 is the broadcast address of port "lan"\'s subnet 192.0.2.0/24',
      'nat.dnat[4].dst: 224.0.0.1 is a multicast address (224.0.0.0/4)',
      'nat.dnat[5].dst: 198.51.100.255 is the broadcast address of port "wan"\'s subnet 198.51.100.0/24',
    ]);
  });
});

describe('firewall endpoints', () => {
  it('an endpoint is one VM or pod, never the router', () => {
    expect(
      configProblems(`ports:
  - { name: lan, address: 192.0.2.1/24 }
endpoints:
  - { address: 0.0.0.0 }
  - { address: 255.255.255.255 }
  - { address: 192.0.2.1 }
  - { address: 224.0.0.1 }
  - { address: 192.0.2.255 }
  - { address: 192.0.2.10 }
  - { address: 10.9.0.1 }
firewall: {}
`),
    ).toEqual([
      'endpoints[0].address: 0.0.0.0 is the unspecified address 0.0.0.0; an endpoint is one VM or pod',
      'endpoints[1].address: 255.255.255.255 is the limited broadcast address 255.255.255.255; an endpoint is one VM or pod',
      'endpoints[2].address: 192.0.2.1 is port "lan"\'s own address (the router is not an endpoint it protects)',
      'endpoints[3].address: 224.0.0.1 is a multicast address (224.0.0.0/4); an endpoint is one VM or pod',
      'endpoints[4].address: 192.0.2.255 is the broadcast address of port "lan"\'s subnet 192.0.2.0/24; an endpoint is one VM or pod',
    ]);
  });
});
