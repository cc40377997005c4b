// Frames for the conformance cases, built with the wire emitters: Ethernet +
// IPv4 + UDP/TCP/ICMP with every checksum right, and the fragments of a
// datagram. Built once per case step (not on a hot path), so plain objects
// and fresh buffers are fine here.
import { emitIcmp, ICMP_ECHO_REQUEST } from '../wire/icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { buildIpv4Frame, fragmentFrame, type FrameLink, type Ipv4HeaderOpts } from '../wire/frame-builder.js';
import { emitTcp } from '../wire/tcp.js';
import { emitUdp } from '../wire/udp.js';
import { internetChecksum } from '../wire/checksum.js';

/** The IPv4 header fields a case may set (the rest: TTL 64, id 0x1234, no flags). */
export type IpOpts = Ipv4HeaderOpts;

/** Where a frame goes: the addresses and the MACs of the link it arrives on. */
export type Link = FrameLink;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

const frame = buildIpv4Frame;

/** Payload bytes that are not all zero (so a checksum over them means something). */
function pattern(n: number, mul: number, add: number): Uint8Array {
  return new Uint8Array(n).map((_, i) => (i * mul + add) & 0xff);
}

export function udpFrame(link: Link, sport: number, dport: number, ip: IpOpts = {}, payload: Uint8Array = pattern(18, 7, 1)): Uint8Array {
  return frame(link, ip, IPPROTO_UDP, (b, o) => emitUdp({ srcPort: sport, dstPort: dport, checksum: 0, payload }, b, o, link.src, link.dst), payload.length + 8);
}

export function udpPayload(n: number): Uint8Array {
  return pattern(n, 7, 1);
}

export function tcpFrame(link: Link, sport: number, dport: number, flags: number, ip: IpOpts = {}, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return frame(
    link,
    ip,
    IPPROTO_TCP,
    (b, o) => emitTcp({ srcPort: sport, dstPort: dport, seq: 1000, ack: 0, flags, window: 65535, urgent: 0, checksum: 0, options: [], payload }, b, o, link.src, link.dst),
    20 + payload.length,
  );
}

export function tcpPayload(n: number): Uint8Array {
  return pattern(n, 5, 3);
}

/** An ICMP query (echo request 8, echo reply 0, timestamp 13/14, or any type) with id and sequence. */
export function icmpQueryFrame(link: Link, type: number, id: number, seq = 1, dataLen = 56, ip: IpOpts = {}): Uint8Array {
  const data = pattern(dataLen, 1, 0);
  return frame(link, ip, IPPROTO_ICMP, (b, o) => emitIcmp({ type, code: 0, id, seq, data }, b, o), dataLen + 8);
}

export function echoFrame(link: Link, id: number, seq = 1, ip: IpOpts = {}): Uint8Array {
  return icmpQueryFrame(link, ICMP_ECHO_REQUEST, id, seq, 56, ip);
}

/** An ICMP error quoting `quote` (an IPv4 datagram or its first bytes). */
export function icmpErrorFrame(link: Link, type: number, code: number, quote: Uint8Array, ip: IpOpts = {}): Uint8Array {
  return frame(link, ip, IPPROTO_ICMP, (b, o) => emitIcmp({ type, code, quote }, b, o), quote.length + 8);
}

/** Any protocol's payload as it is. */
export function rawIpFrame(link: Link, protocol: number, payload: Uint8Array, ip: IpOpts = {}): Uint8Array {
  return frame(link, ip, protocol, (b, o) => (b.set(payload, o), payload.length), payload.length);
}

/** The IPv4 datagram of an Ethernet frame. */
export function datagram(f: Uint8Array): Uint8Array {
  return f.slice(14);
}

/** The ICMP message of a frame (from the end of the IPv4 header). */
export function icmpOf(f: Uint8Array): Uint8Array {
  return f.subarray(14 + (f[14] & 15) * 4);
}

/** Sets a frame's ICMP checksum right again after a byte of the message was changed. */
export function fixIcmpChecksum(f: Uint8Array): void {
  const m = icmpOf(f);
  m[2] = m[3] = 0;
  const c = internetChecksum(m, 0, m.length);
  m[2] = c >> 8;
  m[3] = c & 0xff;
}

/** A frame cut in two fragments at `at` bytes of its IP payload (see fragmentFrame). */
export const fragments = fragmentFrame;
