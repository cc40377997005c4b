// The built-in demo scenario: a small router between a client LAN and a
// server network, and a capture of crafted traffic that shows what it does
// (forwarding, echo, traceroute's time exceeded, unreachable networks, path
// MTU discovery, fragmentation, ARP). Used by `dataplane demo` when the
// process cannot build a live lab, and as a worked example of the config.
import { emitArp, ARP_REQUEST } from '../wire/arp.js';
import { emitEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../wire/ethernet.js';
import { emitIcmp, ICMP_ECHO_REQUEST } from '../wire/icmp.js';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_UDP } from '../wire/ipv4.js';
import { emitUdp } from '../wire/udp.js';

export const DEMO_CONFIG = `# The demo router: clients on "lan", servers behind "wan" (MTU 1400).
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24, mtu: 1400 }
routes:
  - 203.0.113.0/24 via 198.51.100.2      # the server network, behind a second router
  - 198.18.0.0/24 blackhole               # silently dropped
  - prohibit 198.18.1.0/24                # ICMP administratively prohibited
neighbors:
  - { address: 198.51.100.2, mac: "02:00:00:00:0a:02" }
icmp: { ratePerSecond: 100, burst: 50 }
`;

const CLIENT_MAC = '02:00:00:00:0c:01';
const ROUTER_LAN_MAC = '02:00:00:00:00:01';
const CLIENT = '192.0.2.10';

export interface DemoFrame {
  what: string;
  frame: Uint8Array;
}

function ipFrame(dst: string, protocol: number, ttl: number, df: boolean, l4: (b: Uint8Array, o: number) => number, room: number): Uint8Array {
  const b = new Uint8Array(34 + room);
  emitEthernet({ dst: ROUTER_LAN_MAC, src: CLIENT_MAC, vlans: [], ethertype: ETHERTYPE_IPV4 }, b, 0);
  const len = l4(b, 34);
  emitIpv4({ ihl: 5, tos: 0, totalLength: 20 + len, id: 0x1000 + (b.length & 0xfff), df, mf: false, fragOffset: 0, ttl, protocol, checksum: 0, src: CLIENT, dst, options: [] }, b, 14);
  return b.slice(0, 34 + len);
}

function udp(dst: string, dport: number, ttl: number, payload: number, df = false): Uint8Array {
  const data = new Uint8Array(payload).map((_, i) => 0x41 + (i % 26));
  return ipFrame(dst, IPPROTO_UDP, ttl, df, (b, o) => emitUdp({ srcPort: 40000 + ttl, dstPort: dport, checksum: 0, payload: data }, b, o, CLIENT, dst), payload + 8);
}

function ping(dst: string, seq: number): Uint8Array {
  const data = new Uint8Array(56).map((_, i) => i);
  return ipFrame(dst, IPPROTO_ICMP, 64, true, (b, o) => emitIcmp({ type: ICMP_ECHO_REQUEST, code: 0, id: 0x0d0e, seq, data }, b, o), 64);
}

function arpWhoHas(target: string): Uint8Array {
  const b = new Uint8Array(42);
  emitEthernet({ dst: 'ff:ff:ff:ff:ff:ff', src: CLIENT_MAC, vlans: [], ethertype: ETHERTYPE_ARP }, b, 0);
  emitArp({ oper: ARP_REQUEST, sha: CLIENT_MAC, spa: CLIENT, tha: '00:00:00:00:00:00', tpa: target }, b, 14);
  return b;
}

/** The frames the client sends, in order, each with what it shows. */
export function demoTraffic(): DemoFrame[] {
  return [
    { what: 'ARP: who has the router (192.0.2.1)?', frame: arpWhoHas('192.0.2.1') },
    { what: 'ping the router', frame: ping('192.0.2.1', 1) },
    { what: 'ping a server through the router', frame: ping('203.0.113.5', 2) },
    { what: 'traceroute probe, TTL 1: the router answers time exceeded', frame: udp('203.0.113.5', 33434, 1, 32) },
    { what: 'traceroute probe, TTL 2: forwarded with TTL 1', frame: udp('203.0.113.5', 33435, 2, 32) },
    { what: 'UDP to a network with no route: net unreachable', frame: udp('198.19.0.1', 53, 64, 32) },
    { what: 'UDP to a blackhole route: dropped silently', frame: udp('198.18.0.9', 53, 64, 32) },
    { what: 'UDP to a prohibit route: administratively prohibited', frame: udp('198.18.1.9', 53, 64, 32) },
    { what: 'UDP to the router itself: port unreachable', frame: udp('192.0.2.1', 7, 64, 32) },
    { what: '1500-byte datagram with DF towards the 1400-byte MTU: fragmentation needed', frame: udp('203.0.113.5', 9, 64, 1472, true) },
    { what: '1500-byte datagram without DF: fragmented in two', frame: udp('203.0.113.5', 9, 64, 1472, false) },
  ];
}
