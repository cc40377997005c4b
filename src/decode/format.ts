// One text line per FrameSummary, in the spirit of `tcpdump -n` (not byte for
// byte): addresses and ports as numbers, absolute TCP sequence numbers, the
// tcpdump -v fragment note "(frag id:size@offset+)", and a trailing
// "[malformed: reason]" when a header failed its check ("[malformed quote:
// reason]" for the datagram an ICMP error quotes). Where a length field makes
// no sense, the line says so in tcpdump's words ("truncated-udplength 4",
// "bad length 12 > 4", "bad hdr length 16 - too short, < 20", "[|tcp]" for a
// header cut short) instead of printing a negative length.
import {
  LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_LOOP, LINKTYPE_NULL, linkTypeName, NULL_HEADER_LEN, SLL2_HEADER_LEN, SLL_HEADER_LEN,
} from '../pcap/link-type.js';
import { ARP_REPLY, ARP_REQUEST } from '../wire/arp.js';
import { ETH_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN, VLAN_TAG_LEN } from '../wire/ethernet.js';
import {
  ICMP_ADDRESS_MASK_REPLY, ICMP_ADDRESS_MASK_REQUEST, ICMP_DEST_UNREACHABLE, ICMP_INFO_REPLY, ICMP_INFO_REQUEST, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_PARAMETER_PROBLEM, ICMP_REDIRECT, ICMP_SOURCE_QUENCH, ICMP_TIME_EXCEEDED,
  ICMP_TIME_EXCEEDED_REASSEMBLY, ICMP_TIME_EXCEEDED_TTL, ICMP_TIMESTAMP, ICMP_TIMESTAMP_REPLY, ICMP_UNREACH_FRAG_NEEDED, ICMP_UNREACH_PORT,
  ICMP_UNREACH_PROTOCOL,
} from '../wire/icmp.js';
import { IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_IGMP, IPPROTO_IPIP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_MIN_HEADER_LEN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../wire/tcp.js';
import { UDP_HEADER_LEN } from '../wire/udp.js';
import type { FrameSummary, IcmpSection, IpSection, TcpSection, UdpSection } from './summary.js';

const ETHERTYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [ETHERTYPE_IPV4, 'IPv4'],
  [ETHERTYPE_ARP, 'ARP'],
  [0x8035, 'RARP'],
  [0x809b, 'AppleTalk'],
  [0x80f3, 'AARP'],
  [ETHERTYPE_VLAN, '802.1Q'],
  [0x8137, 'IPX'],
  [ETHERTYPE_IPV6, 'IPv6'],
  [0x8809, 'Slow Protocols'],
  [0x8847, 'MPLS unicast'],
  [0x8848, 'MPLS multicast'],
  [0x8863, 'PPPoE D'],
  [0x8864, 'PPPoE S'],
  [0x888e, 'EAPOL'],
  [ETHERTYPE_QINQ, '802.1Q-QinQ'],
  [0x88cc, 'LLDP'],
  [0x88e5, 'MACsec'],
  [0x88f7, 'PTP'],
  [0x8902, 'CFM'],
  [0x8906, 'FCoE'],
  [0x894f, 'NSH'],
  [0x6558, 'Transparent Ethernet'],
  [0x9000, 'Loopback'],
]);

const IP_PROTO_NAMES: ReadonlyMap<number, string> = new Map([
  [IPPROTO_ICMP, 'ICMP'],
  [IPPROTO_IGMP, 'IGMP'],
  [IPPROTO_IPIP, 'IPIP'],
  [IPPROTO_TCP, 'TCP'],
  [IPPROTO_UDP, 'UDP'],
  [41, 'IPv6'],
  [46, 'RSVP'],
  [IPPROTO_GRE, 'GRE'],
  [50, 'ESP'],
  [51, 'AH'],
  [89, 'OSPF'],
  [103, 'PIM'],
  [112, 'VRRP'],
  [IPPROTO_SCTP, 'SCTP'],
]);

/** tcpdump's order and letters: F S R P . U E W. */
const TCP_FLAG_LETTERS: readonly [number, string][] = [
  [TCP_FIN, 'F'],
  [TCP_SYN, 'S'],
  [TCP_RST, 'R'],
  [TCP_PSH, 'P'],
  [TCP_ACK, '.'],
  [TCP_URG, 'U'],
  [TCP_ECE, 'E'],
  [TCP_CWR, 'W'],
];

export function tcpFlagsString(flags: number): string {
  let s = '';
  for (const [bit, letter] of TCP_FLAG_LETTERS) if (flags & bit) s += letter;
  return s === '' ? 'none' : s;
}

export function ethertypeString(type: number): string {
  if (type < 0x0600) return '802.3 LLC'; // a length field, not an ethertype
  return `ethertype ${ETHERTYPE_NAMES.get(type) ?? 'Unknown'} (0x${type.toString(16).padStart(4, '0')})`;
}

function ipProtoString(proto: number): string {
  const name = IP_PROTO_NAMES.get(proto);
  return name === undefined ? `ip-proto-${proto}` : `ip-proto-${proto} ${name}`;
}

const UNREACHABLE: readonly string[] = [
  'net %s unreachable',
  'host %s unreachable',
  '', // protocol: formatted below
  '', // port: formatted below
  '%s unreachable - need to frag',
  '%s unreachable - source route failed',
  'net %s unreachable - unknown',
  'host %s unreachable - unknown',
  'host %s unreachable - source host isolated',
  'net %s unreachable - admin prohibited',
  'host %s unreachable - admin prohibited',
  'net %s unreachable - tos prohibited',
  'host %s unreachable - tos prohibited',
  'host %s unreachable - admin prohibited filter',
  'host %s unreachable - host precedence violation',
  'host %s unreachable - precedence cutoff',
];

function unreachableText(ic: IcmpSection): string {
  const inner = ic.inner;
  const dst = inner?.ip?.dst ?? '?';
  if (ic.code === ICMP_UNREACH_PROTOCOL) return `${dst} protocol ${inner?.ip?.proto ?? '?'} unreachable`;
  if (ic.code === ICMP_UNREACH_PORT) {
    const l4 = inner?.udp ?? inner?.tcp;
    const proto = inner?.udp ? 'udp' : inner?.tcp ? 'tcp' : 'ip';
    return l4 ? `${dst} ${proto} port ${l4.dport} unreachable` : `${dst} port unreachable`;
  }
  const text = UNREACHABLE[ic.code];
  if (text === undefined) return `${dst} unreachable - code ${ic.code}`;
  const line = text.replace('%s', dst);
  return ic.code === ICMP_UNREACH_FRAG_NEEDED && ic.mtu !== undefined ? `${line} (mtu ${ic.mtu})` : line;
}

export function icmpText(ic: IcmpSection): string {
  const echo = `id ${ic.id ?? '?'}, seq ${ic.seq ?? '?'}`;
  switch (ic.type) {
    case ICMP_ECHO_REPLY:
      return `ICMP echo reply, ${echo}`;
    case ICMP_ECHO_REQUEST:
      return `ICMP echo request, ${echo}`;
    case ICMP_DEST_UNREACHABLE:
      return `ICMP ${unreachableText(ic)}`;
    case ICMP_SOURCE_QUENCH:
      return 'ICMP source quench';
    case ICMP_REDIRECT:
      return `ICMP redirect ${ic.inner?.ip?.dst ?? '?'} (code ${ic.code})`;
    case ICMP_TIME_EXCEEDED:
      return ic.code === ICMP_TIME_EXCEEDED_REASSEMBLY
        ? 'ICMP ip reassembly time exceeded'
        : ic.code === ICMP_TIME_EXCEEDED_TTL
          ? 'ICMP time exceeded in-transit'
          : `ICMP time exceeded (code ${ic.code})`;
    case ICMP_PARAMETER_PROBLEM:
      return `ICMP parameter problem (code ${ic.code})`;
    case ICMP_TIMESTAMP:
      return `ICMP time stamp query, ${echo}`;
    case ICMP_TIMESTAMP_REPLY:
      return `ICMP time stamp reply, ${echo}`;
    case ICMP_INFO_REQUEST:
      return `ICMP information request, ${echo}`;
    case ICMP_INFO_REPLY:
      return `ICMP information reply, ${echo}`;
    case ICMP_ADDRESS_MASK_REQUEST:
      return `ICMP address mask request, ${echo}`;
    case ICMP_ADDRESS_MASK_REPLY:
      return `ICMP address mask reply, ${echo}`;
    default:
      return `ICMP type-#${ic.type}, code ${ic.code}`;
  }
}

function fragNote(ip: IpSection): string {
  if (!ip.mf && ip.frag === 0) return '';
  return ` (frag ${ip.id}:${ip.len - ip.ihl * 4}@${ip.frag * 8}${ip.mf ? '+' : ''})`;
}

/** `payload` is the TCP segment length the IPv4 header claims. */
function tcpText(tcp: TcpSection, payload: number): string {
  const hl = (tcp.doff ?? 0) * 4;
  if (tcp.doff !== undefined && hl < TCP_MIN_HEADER_LEN) return `tcp ${payload - hl} [bad hdr length ${hl} - too short, < ${TCP_MIN_HEADER_LEN}]`;
  if (tcp.flags === undefined) return '[|tcp]';
  let body = `Flags [${tcpFlagsString(tcp.flags)}], seq ${tcp.seq}`;
  if (tcp.flags & TCP_ACK) body += `, ack ${tcp.ack}`;
  body += `, win ${tcp.win}`;
  return hl > payload ? `${body} [bad hdr length ${hl} - too long, > ${payload}]` : `${body}, length ${payload - hl}`;
}

/** `payload` is the UDP datagram length the IPv4 header claims; tcpdump's words for a length field below 8 or past it. */
function udpText(udp: UdpSection, payload: number): string {
  if (udp.len === undefined) return '[|udp]';
  if (udp.len < UDP_HEADER_LEN) return `truncated-udplength ${udp.len}`;
  if (udp.len > payload) return `UDP, bad length ${udp.len - UDP_HEADER_LEN} > ${payload - UDP_HEADER_LEN}`;
  return `UDP, length ${udp.len - UDP_HEADER_LEN}`;
}

function ipText(s: FrameSummary, ip: IpSection): string {
  const payload = ip.len - ip.ihl * 4;
  const tcp = s.tcp;
  const udp = s.udp;
  let body: string;
  let src = ip.src;
  let dst = ip.dst;
  if (payload < 0) {
    // Total length below the header length: no payload to describe (tcpdump: "IP bad-len 0").
    body = `${ipProtoString(ip.proto)}, bad-len ${ip.len}`;
  } else if (tcp) {
    src += `.${tcp.sport}`;
    dst += `.${tcp.dport}`;
    body = tcpText(tcp, payload);
  } else if (udp) {
    src += `.${udp.sport}`;
    dst += `.${udp.dport}`;
    body = udpText(udp, payload);
  } else if (s.icmp) {
    body = `${icmpText(s.icmp)}, length ${payload}`;
  } else {
    body = `${ipProtoString(ip.proto)}, length ${payload}`;
  }
  return `${src} > ${dst}: ${body}${fragNote(ip)}`;
}

/** Bytes of link header before the L3 payload, as tcpdump counts an ARP "length". */
function linkHeaderLen(s: FrameSummary): number {
  if (s.eth) return ETH_HEADER_LEN + VLAN_TAG_LEN * s.eth.vlan.length;
  const tags = VLAN_TAG_LEN * (s.link?.vlan?.length ?? 0);
  switch (s.link?.type) {
    case LINKTYPE_LINUX_SLL:
      return SLL_HEADER_LEN + tags;
    case LINKTYPE_LINUX_SLL2:
      return SLL2_HEADER_LEN + tags;
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      return NULL_HEADER_LEN;
    default:
      return 0;
  }
}

/**
 * The frame's length on the wire as far as it is known. A record whose
 * original length is below its captured length is corrupt in that field
 * (nothing captures more bytes than were sent; tcpdump calls it invalid), so
 * the captured bytes stand for it, as Wireshark dissects such a frame, and
 * no length derived from it goes negative ("ARP, length -4"). The summary
 * keeps both as the file says (JSON `len` and `caplen`, tshark's frame.len).
 */
function wireLength(s: FrameSummary): number {
  return s.len < s.caplen ? s.caplen : s.len;
}

function arpText(s: FrameSummary): string {
  const arp = s.arp;
  const len = wireLength(s) - linkHeaderLen(s);
  if (!arp) return `ARP, length ${len}`;
  if (arp.op === ARP_REQUEST) return `ARP, Request who-has ${arp.tpa} tell ${arp.spa}, length ${len}`;
  if (arp.op === ARP_REPLY) return `ARP, Reply ${arp.spa} is-at ${arp.sha}, length ${len}`;
  return `ARP, opcode ${arp.op}, length ${len}`;
}

function bodyText(s: FrameSummary): string {
  if (s.ip) return ipText(s, s.ip);
  const type = s.eth ? s.eth.type : s.link?.proto;
  if (type === undefined || type < 0) {
    if (!s.link) return `length ${wireLength(s)}`;
    const what = type === undefined ? '' : ', unknown protocol';
    return `linktype ${linkTypeName(s.link.type)} (${s.link.type})${what}, length ${wireLength(s)}`;
  }
  if (type === ETHERTYPE_ARP) return arpText(s);
  if (type === ETHERTYPE_IPV4) return `IP, length ${wireLength(s)}`;
  return `${ethertypeString(type)}, length ${wireLength(s)}`;
}

/** The text line for one frame (no trailing newline). */
export function formatFrame(s: FrameSummary): string {
  const vlan = s.eth?.vlan ?? s.link?.vlan;
  const tags = vlan && vlan.length > 0 ? `vlan ${vlan.join(',')} ` : '';
  const quote = s.icmp?.inner?.malformed;
  const badQuote = quote === undefined ? '' : ` [malformed quote: ${quote}]`;
  const bad = s.malformed === undefined ? '' : ` [malformed: ${s.malformed}]`;
  return `${s.ts} ${tags}${bodyText(s)}${badQuote}${bad}`;
}
