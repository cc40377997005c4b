// The network of the NAT requirement tests: a router with an inside port
// (lan, 192.0.2.0/24, hosts H1-H3) and an outside port (wan,
// 198.51.100.0/24, servers S1 and S2 and a router R on the path), every
// neighbour known so no packet waits for ARP. `natConfig` writes the YAML with
// the NAT options a test needs; the frame helpers build a packet from a host
// (arriving on lan) or from the outside (arriving on wan).
import { fragmentFrame } from '../../src/wire/frame-builder.js';
import { echoFrame, icmpErrorFrame, icmpQueryFrame, tcpDataFrame, tcpFrame, udpDataFrame, udpFrame, type IpOpts } from '../pipeline/build.js';

export const H1 = '192.0.2.10';
export const H2 = '192.0.2.11';
export const H3 = '192.0.2.12';
export const S1 = '198.51.100.10';
export const S2 = '198.51.100.11';
/** A router on the outside path: sends ICMP errors about flows it did not start. */
export const R = '198.51.100.99';
/** The router's addresses: wan's is the masquerade address. */
export const LAN_ADDR = '192.0.2.1';
export const WAN_ADDR = '198.51.100.1';
export const POOL = ['198.51.100.100', '198.51.100.101'];
const LAN_MAC = '02:00:00:00:00:01';
const WAN_MAC = '02:00:00:00:00:02';
/** wan's MTU: packets bigger than this are fragmented or refused (RFC 4787 REQ-13). */
export const WAN_MTU = 1400;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

export interface NatOptions {
  filtering?: 'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent';
  profile?: 'rfc' | 'cloud-nat';
  /** Masquerade port range ("40000-40000": one port, so replays know it). */
  ports?: string;
  /** An SNAT rule for the hosts, to this pool (an address or a range), instead of masquerade. */
  snatTo?: string;
  capacity?: number;
  /** Extra `nat:` lines (dnat rules). */
  extra?: string;
  /** `routes:` lines. */
  routes?: string;
}

export function natConfig(o: NatOptions = {}): string {
  const source =
    o.snatTo === undefined
      ? `  masquerade:\n    - { outPort: wan${o.ports === undefined ? '' : `, ports: ${o.ports}`} }`
      : `  snat:\n    - { match: { src: 192.0.2.0/24 }, outPort: wan, to: ${o.snatTo}${o.ports === undefined ? '' : `, ports: ${o.ports}`} }`;
  return `
ports:
  - { name: lan, mac: "${LAN_MAC}", address: ${LAN_ADDR}/24 }
  - { name: wan, mac: "${WAN_MAC}", address: ${WAN_ADDR}/24, mtu: ${WAN_MTU} }
${o.routes === undefined ? '' : `routes:\n${o.routes}`}
neighbors:
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

type Ip = Omit<IpOpts, 'src' | 'dst' | 'dstMac'>;

/** Which port a packet from `src` arrives on, and the MAC it is sent to. */
function side(src: string): { port: string; dstMac: string } {
  return src.startsWith('192.0.2.') ? { port: 'lan', dstMac: LAN_MAC } : { port: 'wan', dstMac: WAN_MAC };
}

export interface Packet {
  port: string;
  frame: Uint8Array;
}

export function udp(src: string, sport: number, dst: string, dport: number, ip: Ip = {}, payloadLen?: number): Packet {
  const s = side(src);
  return { port: s.port, frame: udpFrame({ ...ip, src, dst, dstMac: s.dstMac }, sport, dport, payloadLen) };
}

/** A UDP datagram carrying `text` (what an application-level gateway would look into). */
export function udpText(src: string, sport: number, dst: string, dport: number, text: string): Packet {
  const s = side(src);
  return { port: s.port, frame: udpDataFrame({ src, dst, dstMac: s.dstMac }, sport, dport, new TextEncoder().encode(text)) };
}

/** A TCP segment carrying `text`. */
export function tcpText(src: string, sport: number, dst: string, dport: number, flags: number, text: string): Packet {
  const s = side(src);
  return { port: s.port, frame: tcpDataFrame({ src, dst, dstMac: s.dstMac }, sport, dport, flags, new TextEncoder().encode(text)) };
}

export function tcp(src: string, sport: number, dst: string, dport: number, flags: number, ip: Ip = {}, payloadLen = 0): Packet {
  const s = side(src);
  return { port: s.port, frame: tcpFrame({ ...ip, src, dst, dstMac: s.dstMac }, sport, dport, flags, payloadLen) };
}

export function echo(src: string, dst: string, id: number, seq = 1): Packet {
  const s = side(src);
  return { port: s.port, frame: echoFrame({ src, dst, dstMac: s.dstMac }, id, seq) };
}

export function echoReply(src: string, dst: string, id: number, seq = 1): Packet {
  const s = side(src);
  return { port: s.port, frame: icmpQueryFrame({ src, dst, dstMac: s.dstMac }, 0, id, seq, 56) };
}

/** An ICMP error from `src` to `dst` quoting `quote` (an IPv4 datagram: a frame's bytes from 14). */
export function icmpError(src: string, dst: string, type: number, code: number, quote: Uint8Array, ip: Ip = {}): Packet {
  const s = side(src);
  return { port: s.port, frame: icmpErrorFrame({ ...ip, src, dst, dstMac: s.dstMac }, type, code, quote) };
}

/** The IPv4 datagram of an Ethernet frame. */
export function datagram(frame: Uint8Array): Uint8Array {
  return frame.slice(14);
}

/**
 * The packet cut in two fragments at `at` bytes of its IP payload (a
 * multiple of 8): the first (offset 0, more fragments) holds the L4 header,
 * the second the rest. Both keep the IP id.
 */
export function fragments(p: Packet, at: number): [Packet, Packet] {
  const [first, later] = fragmentFrame(p.frame, at);
  return [
    { port: p.port, frame: first },
    { port: p.port, frame: later },
  ];
}
