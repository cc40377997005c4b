// The network of the NAT requirement tests: a router with an inside port
// (lan, 192.0.2.0/24, hosts H1-H3) and an outside port (wan,
// 198.51.100.0/24, servers S1 and S2 and a router R on the path), every
// neighbour known so no packet waits for ARP. `natConfig` writes the YAML with
// the NAT options a test needs; the frame helpers build a packet from a host
// (arriving on lan) or from the outside (arriving on wan).
import { fragmentFrame } from '../../src/wire/frame-builder.js';
import { echoFrame, icmpErrorFrame, icmpQueryFrame, tcpDataFrame, tcpFrame, udpDataFrame, udpFrame, type IpOpts } from '../pipeline/build.js';

// The network itself (addresses, MACs, natConfig) is the conformance report's: one definition for both.
export { H1, H2, H3, S1, S2, R, LAN_ADDR, WAN_ADDR, POOL, WAN_MTU, natConfig, type NatOptions } from '../../src/conformance/network.js';
import { LAN_MAC, WAN_MAC } from '../../src/conformance/network.js';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

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
