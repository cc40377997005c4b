// The shape `dataplane decode --json` prints, one object per frame. A section
// is present only when that header was decoded; a header that is cut short or
// invalid sets `malformed` to the WireDrop reason, keeping the sections
// decoded before it. The walk goes on past it only where the next header is
// still where it would be (a bad IPv4 checksum, bad options, a total length
// past the frame), showing what is there as tshark and tcpdump do.
//
// Field conventions:
// - `ts` is a string, "<seconds>.<fraction>" with as many fraction digits as
//   the capture's timestamp resolution (6 for microsecond pcap, 9 for
//   nanosecond). A JSON number cannot hold 10 integer digits plus 9 fraction
//   digits exactly (a double keeps ~16 significant digits).
// - `csumOk` is true/false when the checksum was verified, null when it cannot
//   be: a fragment, a capture cut short by the snap length, or a UDP datagram
//   sent without checksum (0x0000).
// - Numbers are as on the wire: `ip.ihl` in 32-bit words, `ip.frag` in 8-byte
//   units, `tcp.flags` the low 8 flag bits, `eth.type` the ethertype after any
//   VLAN tags.
//
// Beyond the fields the brief listed, a few are added because the text line
// needs them: `arp` (ARP over Ethernet/IPv4), `link` (non-Ethernet link types:
// the link type and the protocol it announces), `tcp.doff` (for the payload
// length) and `icmp.csumOk` (like tcp/udp).
import { wireDropName } from '../wire/drop-reason.js';

export interface EthSection {
  src: string;
  dst: string;
  /** Ethertype after VLAN tags (a value below 0x0600 is an 802.3 length). */
  type: number;
  /** VLAN IDs, outermost first. */
  vlan: number[];
}

export interface LinkSection {
  /** The capture's LINKTYPE_* number. */
  type: number;
  /** The ethertype the link header announces (for NULL/LOOP and raw: 0x0800/0x86dd by family/version); -1 when unknown; absent when the link is not decoded. */
  proto?: number;
  vlan?: number[];
}

export interface ArpSection {
  /** 1 request, 2 reply. */
  op: number;
  sha: string;
  spa: string;
  tha: string;
  tpa: string;
}

export interface IpOption {
  type: number;
  /** Bytes the option occupies, type byte included (1 for EOL/NOP). */
  len: number;
}

export interface IpSection {
  src: string;
  dst: string;
  proto: number;
  ttl: number;
  id: number;
  len: number;
  ihl: number;
  df: boolean;
  mf: boolean;
  frag: number;
  /** Header checksum verified. Inside an ICMP quote, absent when the header is cut short. */
  csumOk?: boolean;
  options: IpOption[];
}

/**
 * A TCP header as far as it is there: the ports from 4 bytes, the rest up to
 * the window from 16. In an ICMP quote `seq` comes from 8 bytes (what RFC 792
 * guarantees). With a data offset below 5, `ack`, `flags` and `win` are left
 * out, as tshark and tcpdump stop there.
 */
export interface TcpSection {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Data offset (header length) in 32-bit words. */
  doff?: number;
  flags?: number;
  win?: number;
  /** Absent inside an ICMP quote. */
  csumOk?: boolean | null;
}

/** A UDP header as far as it is there: the ports from 4 bytes, `len` from 6. */
export interface UdpSection {
  sport: number;
  dport: number;
  len?: number;
  csumOk?: boolean | null;
}

export interface InnerSection {
  ip?: IpSection;
  tcp?: TcpSection;
  udp?: UdpSection;
  icmp?: IcmpSection;
  /**
   * A quoted header cut short of what RFC 792 has an error quote (the whole
   * IPv4 header and 8 bytes of a TCP/UDP/ICMP header), or an IPv4 header with
   * a bad version or IHL. Apart from the frame's `malformed`: the frame itself
   * is sound, and routers forward such errors.
   */
  malformed?: string;
}

export interface IcmpSection {
  type: number;
  code: number;
  /** Echo, timestamp, information and address-mask messages only. */
  id?: number;
  seq?: number;
  /** Destination unreachable, fragmentation needed (type 3 code 4) only. */
  mtu?: number;
  /** Error messages only (unreachable, source quench, redirect, time exceeded, parameter problem): the quoted datagram. */
  inner?: InnerSection;
  csumOk?: boolean | null;
}

export interface FrameSummary {
  /** 1-based frame number in the capture. */
  n: number;
  ts: string;
  caplen: number;
  len: number;
  eth?: EthSection;
  link?: LinkSection;
  arp?: ArpSection;
  ip?: IpSection;
  tcp?: TcpSection;
  udp?: UdpSection;
  icmp?: IcmpSection;
  malformed?: string;
}

/**
 * "<sec>.<fraction>" with `digits` fraction digits (0-9). With no `digits`,
 * 6 when the nanoseconds are whole microseconds, else 9: exact either way.
 */
export function formatTimestamp(tsSec: number, tsNsec: number, digits?: number): string {
  // A corrupt classic pcap record can carry a fraction of a second >= 1 s; carry it over, as tshark does.
  if (tsNsec >= 1e9) {
    tsSec += Math.floor(tsNsec / 1e9);
    tsNsec %= 1e9;
  }
  const d = digits ?? (tsNsec % 1000 === 0 ? 6 : 9);
  if (d <= 0) return String(tsSec);
  const frac = Math.floor(tsNsec / 10 ** (9 - Math.min(d, 9)));
  return `${tsSec}.${String(frac).padStart(Math.min(d, 9), '0')}`;
}

/** Sets `malformed` unless already set: the first reason wins, later headers are read only to show what is there. */
export function setMalformed(s: FrameSummary, code: number): void {
  if (s.malformed === undefined) s.malformed = wireDropName(code);
}
