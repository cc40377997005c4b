// One text line per FrameSummary, in the spirit of `tcpdump -n` (not byte for
// byte): addresses and ports as numbers, absolute TCP sequence numbers, the
// tcpdump -v fragment note "(frag id:size@offset+)", and a trailing
// "[malformed: reason]" when a header failed its check ("[malformed quote:
// reason]" for the datagram an ICMP error quotes). Where a length field makes
// no sense, the line says so in tcpdump's words ("truncated-udplength 4",
// "bad length 12 > 4", "bad hdr length 16 - too short, < 20", "[|tcp]" for a
// header cut short) instead of printing a negative length.
import { linkTypeName } from '../pcap/link-type.js';
import type { FrameSummary, IcmpSection, IpSection, TcpSection, UdpSection } from './summary.js';

const ETHERTYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0800, 'IPv4'],
  [0x0806, 'ARP'],
  [0x8035, 'RARP'],
  [0x809b, 'AppleTalk'],
  [0x80f3, 'AARP'],
  [0x8100, '802.1Q'],
  [0x8137, 'IPX'],
  [0x86dd, 'IPv6'],
  [0x8809, 'Slow Protocols'],
  [0x8847, 'MPLS unicast'],
  [0x8848, 'MPLS multicast'],
  [0x8863, 'PPPoE D'],
  [0x8864, 'PPPoE S'],
  [0x888e, 'EAPOL'],
  [0x88a8, '802.1Q-QinQ'],
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
  [1, 'ICMP'],
  [2, 'IGMP'],
  [4, 'IPIP'],
  [6, 'TCP'],
  [17, 'UDP'],
  [41, 'IPv6'],
  [46, 'RSVP'],
  [47, 'GRE'],
  [50, 'ESP'],
  [51, 'AH'],
  [89, 'OSPF'],
  [103, 'PIM'],
  [112, 'VRRP'],
  [132, 'SCTP'],
]);

/** tcpdump's order and letters: F S R P . U E W. */
const TCP_FLAG_LETTERS: readonly [number, string][] = [
  [0x01, 'F'],
  [0x02, 'S'],
  [0x04, 'R'],
  [0x08, 'P'],
  [0x10, '.'],
  [0x20, 'U'],
  [0x40, 'E'],
  [0x80, 'W'],
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
  if (ic.code === 2) return `${dst} protocol ${inner?.ip?.proto ?? '?'} unreachable`;
  if (ic.code === 3) {
    const l4 = inner?.udp ?? inner?.tcp;
    const proto = inner?.udp ? 'udp' : inner?.tcp ? 'tcp' : 'ip';
    return l4 ? `${dst} ${proto} port ${l4.dport} unreachable` : `${dst} port unreachable`;
  }
  const text = UNREACHABLE[ic.code];
  if (text === undefined) return `${dst} unreachable - code ${ic.code}`;
  const line = text.replace('%s', dst);
  return ic.code === 4 && ic.mtu !== undefined ? `${line} (mtu ${ic.mtu})` : line;
}

export function icmpText(ic: IcmpSection): string {
  const echo = `id ${ic.id ?? '?'}, seq ${ic.seq ?? '?'}`;
  switch (ic.type) {
    case 0:
      return `ICMP echo reply, ${echo}`;
    case 8:
      return `ICMP echo request, ${echo}`;
    case 3:
      return `ICMP ${unreachableText(ic)}`;
    case 4:
      return 'ICMP source quench';
    case 5:
      return `ICMP redirect ${ic.inner?.ip?.dst ?? '?'} (code ${ic.code})`;
    case 11:
      return ic.code === 1 ? 'ICMP ip reassembly time exceeded' : ic.code === 0 ? 'ICMP time exceeded in-transit' : `ICMP time exceeded (code ${ic.code})`;
    case 12:
      return `ICMP parameter problem (code ${ic.code})`;
    case 13:
      return `ICMP time stamp query, ${echo}`;
    case 14:
      return `ICMP time stamp reply, ${echo}`;
    case 15:
      return `ICMP information request, ${echo}`;
    case 16:
      return `ICMP information reply, ${echo}`;
    case 17:
      return `ICMP address mask request, ${echo}`;
    case 18:
      return `ICMP address mask reply, ${echo}`;
    default:
      return `ICMP type-#${ic.type}, code ${ic.code}`;
  }
}

function fragNote(ip: IpSection): string {
  if (!ip.mf && ip.frag === 0) return '';
  return ` (frag ${ip.id}:${ip.len - ip.ihl * 4}@${ip.frag * 8}${ip.mf ? '+' : ''})`;
}

const TCP_MIN_HEADER = 20;
const UDP_HEADER = 8;

/** `payload` is the TCP segment length the IPv4 header claims. */
function tcpText(tcp: TcpSection, payload: number): string {
  const hl = (tcp.doff ?? 0) * 4;
  if (tcp.doff !== undefined && hl < TCP_MIN_HEADER) return `tcp ${payload - hl} [bad hdr length ${hl} - too short, < ${TCP_MIN_HEADER}]`;
  if (tcp.flags === undefined) return '[|tcp]';
  let body = `Flags [${tcpFlagsString(tcp.flags)}], seq ${tcp.seq}`;
  if (tcp.flags & 0x10) body += `, ack ${tcp.ack}`;
  body += `, win ${tcp.win}`;
  return hl > payload ? `${body} [bad hdr length ${hl} - too long, > ${payload}]` : `${body}, length ${payload - hl}`;
}

/** `payload` is the UDP datagram length the IPv4 header claims; tcpdump's words for a length field below 8 or past it. */
function udpText(udp: UdpSection, payload: number): string {
  if (udp.len === undefined) return '[|udp]';
  if (udp.len < UDP_HEADER) return `truncated-udplength ${udp.len}`;
  if (udp.len > payload) return `UDP, bad length ${udp.len - UDP_HEADER} > ${payload - UDP_HEADER}`;
  return `UDP, length ${udp.len - UDP_HEADER}`;
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
  if (s.eth) return 14 + 4 * s.eth.vlan.length;
  const tags = 4 * (s.link?.vlan?.length ?? 0);
  switch (s.link?.type) {
    case 113:
      return 16 + tags;
    case 276:
      return 20 + tags;
    case 0:
    case 108:
      return 4;
    default:
      return 0;
  }
}

function arpText(s: FrameSummary): string {
  const arp = s.arp;
  const len = s.len - linkHeaderLen(s);
  if (!arp) return `ARP, length ${len}`;
  if (arp.op === 1) return `ARP, Request who-has ${arp.tpa} tell ${arp.spa}, length ${len}`;
  if (arp.op === 2) return `ARP, Reply ${arp.spa} is-at ${arp.sha}, length ${len}`;
  return `ARP, opcode ${arp.op}, length ${len}`;
}

function bodyText(s: FrameSummary): string {
  if (s.ip) return ipText(s, s.ip);
  const type = s.eth ? s.eth.type : s.link?.proto;
  if (type === undefined || type < 0) {
    if (!s.link) return `length ${s.len}`;
    const what = type === undefined ? '' : ', unknown protocol';
    return `linktype ${linkTypeName(s.link.type)} (${s.link.type})${what}, length ${s.len}`;
  }
  if (type === 0x0806) return arpText(s);
  if (type === 0x0800) return `IP, length ${s.len}`;
  return `${ethertypeString(type)}, length ${s.len}`;
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
