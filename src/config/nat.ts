// The config's `nat:` section, checked and turned into the NatConfig the
// dataplane runs (src/nat/nat-config.ts): port names to indexes, addresses
// and ranges to numbers. Every mistake is a problem naming its field.
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { ipv4ToString, parseIpv4Address, tryParseIpv4Address } from '../wire/address.js';
import { CLOUD_NAT_MIN_PORTS, DEFAULT_NAT_PORTS, MAX_POOL_ADDRESSES, type Net, type NatConfig, type PortRange } from '../nat/nat-config.js';
import { parseCidr } from './firewall-endpoints.js';
import { hostAddressProblem, type AddressCheckPort } from './address-check.js';
import type { RawConfig } from './schema.js';

const PROTOCOLS: Record<string, number> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, icmp: IPPROTO_ICMP };

function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** A schema-checked "A.B.C.D/LEN"; host bits are a problem naming `field`, as in a route prefix or a firewall cidr (192.0.2.5/24 is a typo, not a network). */
function net(cidr: string, field: string, problems: string[]): Net {
  const { addr, len } = parseCidr(cidr, field, problems);
  return { net: addr, mask: maskOf(len) };
}

function portRange(v: number | string | undefined, field: string, problems: string[]): PortRange | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return { lo: v, hi: v };
  const [lo, hi = lo] = v.split('-').map(Number);
  if (lo < 1 || hi > 65535 || lo > hi) {
    problems.push(`${field}: ${v} must be LOW-HIGH with 1 <= LOW <= HIGH <= 65535`);
    return undefined;
  }
  return { lo, hi };
}

/** A problem when `a` (written `text`) cannot be one host's address (address-check.ts). */
function hostProblem(a: number, text: string, field: string, ports: readonly AddressCheckPort[], problems: string[]): void {
  const why = hostAddressProblem(a, ports);
  if (why !== undefined) problems.push(`${field}: ${text} ${why}`);
}

/**
 * An SNAT pool's first address that cannot be a source (address-check.ts);
 * the router's own addresses can (masquerade is SNAT to one).
 */
function poolProblem(addresses: readonly number[], field: string, ports: readonly AddressCheckPort[], problems: string[]): void {
  for (const a of addresses) {
    const why = hostAddressProblem(a, ports);
    if (why === undefined) continue;
    problems.push(`${field}: ${addresses.length > 1 ? `the pool's address ${ipv4ToString(a)}` : ipv4ToString(a)} ${why}; a translated source must be one host's address`);
    return;
  }
}

/** Checks `nat:` against the ports and returns what the dataplane runs (undefined when there is no nat section). */
export function compileNat(raw: RawConfig['nat'], ports: readonly { name: string; address: number; prefixLen: number }[], problems: string[]): NatConfig | undefined {
  if (raw === undefined) return undefined;
  const portOf = (name: string, field: string): number => {
    const i = ports.findIndex((p) => p.name === name);
    if (i < 0) problems.push(`${field}: "${name}" is not a configured port (${ports.length === 0 ? 'no ports are configured' : `ports: ${ports.map((p) => p.name).join(', ')}`})`);
    return i;
  };
  const masqPorts = new Map<number, number>();
  const masquerade = raw.masquerade.map((m, i) => {
    const field = `nat.masquerade[${i}]`;
    const outPort = portOf(m.outPort, `${field}.outPort`);
    const other = masqPorts.get(outPort);
    if (outPort >= 0 && other !== undefined) problems.push(`${field}.outPort: port "${m.outPort}" is masqueraded by nat.masquerade[${other}] already`);
    masqPorts.set(outPort, i);
    return { outPort, nonMasquerade: m.nonMasqueradeCIDRs.map((c, k) => net(c, `${field}.nonMasqueradeCIDRs[${k}]`, problems)), masqLinkLocal: m.masqLinkLocal, ports: portRange(m.ports, `${field}.ports`, problems) ?? DEFAULT_NAT_PORTS };
  });
  const snat = raw.snat.map((r, i) => {
    const field = `nat.snat[${i}]`;
    const [first, last = first] = r.to.split('-');
    // The schema checks only the shape (digits and dots): 198.51.100.300 is a problem to report here, not a throw.
    const lo = tryParseIpv4Address(first);
    const hi = tryParseIpv4Address(last);
    const addresses: number[] = [];
    if (lo < 0 || hi < 0) problems.push(`${field}.to: "${r.to}" is not an address or a range of addresses`);
    else if (hi < lo) problems.push(`${field}.to: ${r.to} runs backwards (${last} is below ${first})`);
    else if (hi - lo + 1 > MAX_POOL_ADDRESSES) problems.push(`${field}.to: ${r.to} holds ${hi - lo + 1} addresses; a pool holds at most ${MAX_POOL_ADDRESSES}`);
    else for (let a = lo; a <= hi; a++) addresses.push(a >>> 0);
    poolProblem(addresses, `${field}.to`, ports, problems);
    return {
      src: r.match.src === undefined ? undefined : net(r.match.src, `${field}.match.src`, problems),
      dst: r.match.dst === undefined ? undefined : net(r.match.dst, `${field}.match.dst`, problems),
      proto: r.match.proto === undefined ? 0 : PROTOCOLS[r.match.proto],
      outPort: portOf(r.outPort, `${field}.outPort`),
      addresses,
      ports: portRange(r.ports, `${field}.ports`, problems) ?? DEFAULT_NAT_PORTS,
    };
  });
  const dnat = raw.dnat.map((r, i) => {
    const field = `nat.dnat[${i}]`;
    const inPort = portOf(r.inPort, `${field}.inPort`);
    const dports = portRange(r.dport, `${field}.dport`, problems) ?? { lo: 0, hi: 0 };
    const [toText, toPortText] = r.to.split(':');
    const to = tryParseIpv4Address(toText);
    const toPort = toPortText === undefined ? 0 : Number(toPortText);
    if (to < 0) problems.push(`${field}.to: "${toText}" is not an IPv4 address`);
    if (toPortText !== undefined && (toPort < 1 || toPort > 65535)) problems.push(`${field}.to: port ${toPortText} must be 1-65535`);
    if (toPort !== 0 && dports.hi > dports.lo) problems.push(`${field}.to: a range of ports (${r.dport}) is forwarded to the same ports: give "to" without ":PORT"`);
    const dst = r.dst !== undefined ? parseIpv4Address(r.dst) : inPort >= 0 ? ports[inPort].address : 0;
    if (r.dst !== undefined) hostProblem(dst, r.dst, `${field}.dst`, ports, problems);
    if (to >= 0) hostProblem(to, toText, `${field}.to`, ports, problems);
    return { inPort, proto: PROTOCOLS[r.proto], dports, dst: dst >>> 0, to: to >>> 0, toPort };
  });
  dnat.forEach((a, i) => {
    for (let j = 0; j < i; j++) {
      const b = dnat[j];
      if (a.inPort === b.inPort && a.proto === b.proto && a.dst === b.dst && a.dports.lo <= b.dports.hi && b.dports.lo <= a.dports.hi) {
        problems.push(`nat.dnat[${i}]: forwards ${ipv4ToString(a.dst)} port ${a.dports.lo}${a.dports.hi > a.dports.lo ? `-${a.dports.hi}` : ''} that nat.dnat[${j}] forwards already`);
      }
    }
  });
  if (raw.minPortsPerEndpoint !== undefined && raw.profile !== 'cloud-nat') problems.push('nat.minPortsPerEndpoint: applies to profile cloud-nat only');
  return {
    masquerade,
    snat,
    dnat,
    filtering: raw.filtering,
    profile: raw.profile,
    minPortsPerEndpoint: raw.profile === 'cloud-nat' ? (raw.minPortsPerEndpoint ?? CLOUD_NAT_MIN_PORTS) : 0,
  };
}
