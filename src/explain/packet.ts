// The frame an explain spec describes, as it would arrive on its port: an
// Ethernet frame to the port's MAC from the sender's (its static neighbor
// entry when the config has one, else a made-up local MAC), with a valid
// IPv4 header and TCP/UDP/ICMP header and checksums, so the pipeline judges
// the packet and not the way it was made. A later fragment carries payload
// bytes only; an ICMP error quotes a UDP datagram from the destination to
// the source (the packet the error would be about).
import type { RouterConfig } from '../config/load.js';
import { ipv4ToString, macToString } from '../wire/address.js';
import { emitEthernet, ETHERTYPE_IPV4 } from '../wire/ethernet.js';
import { emitIcmp } from '../wire/icmp.js';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { emitTcp } from '../wire/tcp.js';
import { emitUdp } from '../wire/udp.js';
import type { ExplainSpec } from './spec.js';

const ETH = 14;
const IP = 20;
/** ICMP types that are errors (they quote a datagram instead of carrying an id). */
export const ICMP_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);

/** The sender's MAC: its static neighbor entry on the arrival port, else 02:ee and its address (locally administered). */
function senderMac(spec: ExplainSpec, config: RouterConfig): string {
  const n = config.neighbors.find((x) => x.port === spec.inPort && x.address >>> 0 === spec.src >>> 0);
  if (n !== undefined) return macToString(n.mac, 0);
  const a = spec.src >>> 0;
  const hex = (v: number) => v.toString(16).padStart(2, '0');
  return ['02', 'ee', hex(a >>> 24), hex((a >>> 16) & 0xff), hex((a >>> 8) & 0xff), hex(a & 0xff)].join(':');
}

/** Payload bytes with a recognisable pattern (not all zero, so nothing mistakes them for padding). */
function filler(n: number): Uint8Array {
  return new Uint8Array(Math.max(0, n)).map((_, i) => (i * 7 + 1) & 0xff);
}

/** The Ethernet frame of the spec's packet, exactly spec.length IPv4 bytes long. */
export function buildExplainFrame(spec: ExplainSpec, config: RouterConfig): Uint8Array {
  const b = new Uint8Array(ETH + spec.length);
  emitEthernet({ dst: macToString(config.ports[spec.inPort].mac, 0), src: senderMac(spec, config), vlans: [], ethertype: ETHERTYPE_IPV4 }, b, 0);
  const src = ipv4ToString(spec.src >>> 0);
  const dst = ipv4ToString(spec.dst >>> 0);
  const l4 = ETH + IP;
  const room = spec.length - IP;
  if (spec.fragmentOffset > 0) b.set(filler(room), l4);
  else if (spec.protocol === IPPROTO_TCP) {
    emitTcp({ srcPort: spec.sport, dstPort: spec.dport, seq: 1000, ack: (spec.tcpFlags & 0x10) !== 0 ? 1 : 0, flags: spec.tcpFlags, window: 65535, urgent: 0, checksum: 0, options: [], payload: filler(room - 20) }, b, l4, src, dst);
  } else if (spec.protocol === IPPROTO_UDP) {
    emitUdp({ srcPort: spec.sport, dstPort: spec.dport, checksum: 0, payload: filler(room - 8) }, b, l4, src, dst);
  } else if (spec.protocol === IPPROTO_ICMP) {
    if (ICMP_ERROR_TYPES.has(spec.icmpType)) {
      emitIcmp({ type: spec.icmpType, code: spec.icmpCode, quote: quotedDatagram(spec, room - 8) }, b, l4);
    } else emitIcmp({ type: spec.icmpType, code: spec.icmpCode, id: spec.icmpId, seq: 1, data: filler(room - 8) }, b, l4);
  } else b.set(filler(room), l4);
  emitIpv4(
    { ihl: 5, tos: spec.tos, totalLength: spec.length, id: 0x4a11, df: spec.df, mf: spec.mf, fragOffset: spec.fragmentOffset >> 3, ttl: spec.ttl, protocol: spec.protocol, checksum: 0, src, dst, options: [] },
    b,
    ETH,
  );
  return b;
}

/** What an ICMP error from SRC to DST quotes: the head of a UDP datagram DST sent to SRC (`bytes` of it at most). */
function quotedDatagram(spec: ExplainSpec, bytes: number): Uint8Array {
  const d = new Uint8Array(IP + 8 + 8);
  const from = ipv4ToString(spec.dst >>> 0);
  const to = ipv4ToString(spec.src >>> 0);
  emitUdp({ srcPort: 33434, dstPort: 33434, checksum: 0, payload: filler(8) }, d, IP, from, to);
  emitIpv4({ ihl: 5, tos: 0, totalLength: d.length, id: 1, df: false, mf: false, fragOffset: 0, ttl: 1, protocol: IPPROTO_UDP, checksum: 0, src: from, dst: to, options: [] }, d, 0);
  return d.subarray(0, Math.max(0, Math.min(d.length, bytes)));
}

