// The networks the conformance cases run on, with documentation addresses
// only (RFC 5737, RFC 2544's 198.18.0.0/15).
//
//   NAT cases (RFC 4787, 5382, 5508): an inside port lan (192.0.2.0/24,
//   hosts H1-H3) and an outside port wan (198.51.100.0/24, servers S1 and
//   S2 and a router R on the path that sends ICMP errors), masquerading to
//   wan's address. Every neighbour is known, so nothing waits for ARP.
//
//   Router cases (RFC 1812): lan (192.0.2.0/25), wan (198.51.100.0/24, MTU
//   1400) and dmz (203.0.113.0/26), with a gateway on wan and routes of every
//   kind into 198.18.0.0/15.
import { echoFrame, icmpErrorFrame, icmpQueryFrame, tcpFrame, udpFrame, udpPayload, type IpOpts, type Link } from './frames.js';
import type { Packet } from './session.js';

export const H1 = '192.0.2.10';
export const H2 = '192.0.2.11';
export const H3 = '192.0.2.12';
export const S1 = '198.51.100.10';
export const S2 = '198.51.100.11';
/** A router on the outside path: it sends ICMP errors about flows it did not start. */
export const R = '198.51.100.99';
export const LAN_ADDR = '192.0.2.1';
/** wan's address: the masquerade address. */
export const WAN_ADDR = '198.51.100.1';
export const POOL = ['198.51.100.100', '198.51.100.101'];
export const LAN_MAC = '02:00:00:00:00:01';
export const WAN_MAC = '02:00:00:00:00:02';
export const DMZ_MAC = '02:00:00:00:00:03';
/** wan's MTU in both networks. */
export const WAN_MTU = 1400;

export const SEC = 1000;
export const MIN = 60 * SEC;

export type Filtering = 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';

export interface NatOptions {
  filtering?: Filtering;
  /** Timeout profile; the conformance cases use rfc (the default). */
  profile?: 'rfc' | 'cloud-nat';
  /** Masquerade (or SNAT) port range. */
  ports?: string;
  /** SNAT the hosts to this pool (an address or a range) instead of masquerading. */
  snatTo?: string;
  capacity?: number;
  /** Extra lines of the nat: section (dnat rules). */
  extra?: string;
  /** routes: lines. */
  routes?: string;
}

export function natConfig(o: NatOptions = {}): string {
  const ports = o.ports === undefined ? '' : `, ports: ${o.ports}`;
  const source =
    o.snatTo === undefined
      ? `  masquerade:\n    - { outPort: wan${ports} }`
      : `  snat:\n    - { match: { src: 192.0.2.0/24 }, outPort: wan, to: ${o.snatTo}${ports} }`;
  return `ports:
  - { name: lan, mac: "${LAN_MAC}", address: ${LAN_ADDR}/24 }
  - { name: wan, mac: "${WAN_MAC}", address: ${WAN_ADDR}/24, mtu: ${WAN_MTU} }
${o.routes === undefined ? '' : `routes:\n${o.routes}\n`}neighbors:
  - { address: ${H1}, mac: "02:aa:00:00:00:01" }
  - { address: ${H2}, mac: "02:aa:00:00:00:02" }
  - { address: ${H3}, mac: "02:aa:00:00:00:03" }
  - { address: ${S1}, mac: "02:bb:00:00:00:01" }
  - { address: ${S2}, mac: "02:bb:00:00:00:02" }
  - { address: ${R}, mac: "02:bb:00:00:00:63" }
icmp: { ratePerSecond: 100000, burst: 100000 }
nat:
${source}
  filtering: ${o.filtering ?? 'endpoint-independent'}
  profile: ${o.profile ?? 'rfc'}
${o.extra ?? ''}
conntrack: { capacity: ${o.capacity ?? 64} }
`;
}

/** The link a packet from `src` arrives on in the NAT network: lan for the hosts, wan for the rest. */
function natLink(src: string, dst: string): { port: string; link: Link } {
  const inside = src.startsWith('192.0.2.');
  return { port: inside ? 'lan' : 'wan', link: { src, dst, srcMac: inside ? '02:aa:00:00:00:01' : '02:bb:00:00:00:01', dstMac: inside ? LAN_MAC : WAN_MAC } };
}

export function udp(src: string, sport: number, dst: string, dport: number, ip: IpOpts = {}, payloadLen = 18): Packet {
  const s = natLink(src, dst);
  return { port: s.port, frame: udpFrame(s.link, sport, dport, ip, udpPayload(payloadLen)) };
}

export function udpText(src: string, sport: number, dst: string, dport: number, text: string): Packet {
  const s = natLink(src, dst);
  return { port: s.port, frame: udpFrame(s.link, sport, dport, {}, new TextEncoder().encode(text)) };
}

export function tcp(src: string, sport: number, dst: string, dport: number, flags: number, ip: IpOpts = {}, payload?: Uint8Array): Packet {
  const s = natLink(src, dst);
  return { port: s.port, frame: tcpFrame(s.link, sport, dport, flags, ip, payload) };
}

export function echo(src: string, dst: string, id: number, seq = 1): Packet {
  const s = natLink(src, dst);
  return { port: s.port, frame: echoFrame(s.link, id, seq) };
}

/** An ICMP query of any type (echo reply 0, timestamp 13/14, 9, 10...). */
export function icmpQuery(src: string, dst: string, type: number, id: number, dataLen = 56): Packet {
  const s = natLink(src, dst);
  return { port: s.port, frame: icmpQueryFrame(s.link, type, id, 1, dataLen) };
}

export function icmpError(src: string, dst: string, type: number, code: number, quote: Uint8Array): Packet {
  const s = natLink(src, dst);
  return { port: s.port, frame: icmpErrorFrame(s.link, type, code, quote) };
}

export const ROUTER_CONFIG = `ports:
  - { name: lan, mac: "${LAN_MAC}", address: 192.0.2.1/25 }
  - { name: wan, mac: "${WAN_MAC}", address: 198.51.100.1/24, mtu: ${WAN_MTU} }
  - { name: dmz, mac: "${DMZ_MAC}", address: 203.0.113.1/26 }
routes:
  - 192.0.2.128/25 via 198.51.100.254
  - 198.18.0.0/24 blackhole
  - 198.18.1.0/24 unreachable
  - prohibit 198.18.2.0/24
neighbors:
  - { address: 198.51.100.254, mac: "02:bb:00:00:00:fe" }
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 203.0.113.2, mac: "02:cc:00:00:00:02" }
icmp: { ratePerSecond: 1000, burst: 100 }
`;

/** A frame from the lan host 192.0.2.10 (to the router's lan MAC unless told). */
export function fromLan(dst: string, src = H1, dstMac = LAN_MAC): Link {
  return { src, dst, srcMac: '02:aa:00:00:00:01', dstMac };
}
