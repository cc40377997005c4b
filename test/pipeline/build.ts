// Builds Ethernet frames for pipeline tests with the wire emitters.
import { emitArp, ARP_REQUEST } from '../../src/wire/arp.js';
import { emitEthernet, ETHERTYPE_ARP } from '../../src/wire/ethernet.js';
import { buildIpv4Frame, type Ipv4HeaderOpts } from '../../src/wire/frame-builder.js';
import { emitIcmp, ICMP_ECHO_REQUEST } from '../../src/wire/icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../../src/wire/ipv4.js';
import { emitTcp } from '../../src/wire/tcp.js';
import { emitUdp } from '../../src/wire/udp.js';

export interface IpOpts extends Ipv4HeaderOpts {
  src: string;
  dst: string;
  dstMac?: string;
  srcMac?: string;
}

const ROUTER_MAC = '02:00:00:00:00:01';
const HOST_MAC = '02:aa:00:00:00:01';

function frame(ip: IpOpts, protocol: number, l4: (b: Uint8Array, o: number) => number, l4Max: number): Uint8Array {
  const link = { src: ip.src, dst: ip.dst, srcMac: ip.srcMac ?? HOST_MAC, dstMac: ip.dstMac ?? ROUTER_MAC };
  return buildIpv4Frame(link, ip, protocol, l4, l4Max);
}

export function udpFrame(ip: IpOpts, sport: number, dport: number, payloadLen = 18): Uint8Array {
  const payload = new Uint8Array(payloadLen).map((_, i) => (i * 7 + 1) & 0xff);
  return frame(ip, IPPROTO_UDP, (b, o) => emitUdp({ srcPort: sport, dstPort: dport, checksum: 0, payload }, b, o, ip.src, ip.dst), payloadLen + 8);
}

/** A UDP datagram carrying exactly `payload`. */
export function udpDataFrame(ip: IpOpts, sport: number, dport: number, payload: Uint8Array): Uint8Array {
  return frame(ip, IPPROTO_UDP, (b, o) => emitUdp({ srcPort: sport, dstPort: dport, checksum: 0, payload }, b, o, ip.src, ip.dst), payload.length + 8);
}

export function tcpSynFrame(ip: IpOpts, sport: number, dport: number): Uint8Array {
  return frame(
    ip,
    IPPROTO_TCP,
    (b, o) => emitTcp({ srcPort: sport, dstPort: dport, seq: 1000, ack: 0, flags: 2, window: 65535, urgent: 0, checksum: 0, options: [], payload: new Uint8Array(0) }, b, o, ip.src, ip.dst),
    60,
  );
}

/** A TCP segment with the given flags (TCP_SYN | TCP_ACK ...) and payload bytes. */
export function tcpFrame(ip: IpOpts, sport: number, dport: number, flags: number, payloadLen = 0, seq = 1000, ack = 0): Uint8Array {
  const payload = new Uint8Array(payloadLen).map((_, i) => (i * 5 + 3) & 0xff);
  return frame(
    ip,
    IPPROTO_TCP,
    (b, o) => emitTcp({ srcPort: sport, dstPort: dport, seq, ack, flags, window: 65535, urgent: 0, checksum: 0, options: [], payload }, b, o, ip.src, ip.dst),
    20 + payloadLen,
  );
}

/** A TCP segment carrying exactly `payload`. */
export function tcpDataFrame(ip: IpOpts, sport: number, dport: number, flags: number, payload: Uint8Array, seq = 1000, ack = 0): Uint8Array {
  return frame(
    ip,
    IPPROTO_TCP,
    (b, o) => emitTcp({ srcPort: sport, dstPort: dport, seq, ack, flags, window: 65535, urgent: 0, checksum: 0, options: [], payload }, b, o, ip.src, ip.dst),
    20 + payload.length,
  );
}

/** An ICMP query message of any type (echo reply, timestamp ...) with id and sequence. */
export function icmpQueryFrame(ip: IpOpts, type: number, id: number, seq: number, dataLen = 8): Uint8Array {
  const data = new Uint8Array(dataLen).map((_, i) => i & 0xff);
  return frame(ip, IPPROTO_ICMP, (b, o) => emitIcmp({ type, code: 0, id, seq, data }, b, o), dataLen + 8);
}

/** An ICMP error quoting `quote` (an IPv4 datagram, or its first bytes). */
export function icmpErrorFrame(ip: IpOpts, type: number, code: number, quote: Uint8Array, mtu?: number): Uint8Array {
  return frame(ip, IPPROTO_ICMP, (b, o) => emitIcmp({ type, code, quote, mtu }, b, o), quote.length + 8);
}

export function echoFrame(ip: IpOpts, id: number, seq: number, dataLen = 56): Uint8Array {
  const data = new Uint8Array(dataLen).map((_, i) => i & 0xff);
  return frame(ip, IPPROTO_ICMP, (b, o) => emitIcmp({ type: ICMP_ECHO_REQUEST, code: 0, id, seq, data }, b, o), dataLen + 8);
}

export function rawIpFrame(ip: IpOpts, protocol: number, payload: Uint8Array): Uint8Array {
  return frame(ip, protocol, (b, o) => (b.set(payload, o), payload.length), payload.length);
}

export function arpFrame(oper: number, sha: string, spa: string, tha: string, tpa: string, dstMac = 'ff:ff:ff:ff:ff:ff'): Uint8Array {
  const b = new Uint8Array(42);
  emitEthernet({ dst: dstMac, src: sha, vlans: [], ethertype: ETHERTYPE_ARP }, b, 0);
  emitArp({ oper, sha, spa, tha, tpa }, b, 14);
  return b;
}

export { ARP_REQUEST, ROUTER_MAC, HOST_MAC };
