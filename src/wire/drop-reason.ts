// Reasons a header check can reject a packet. Codes are small integers so the
// hot path can store them in a typed array; names are what counters, logs and
// `dataplane decode` print. The pipeline's nodes add their own reasons in the
// same style; these are only the ones a header check can return.

export const WireDrop = {
  OK: 0,
  ETHERNET_TRUNCATED: 1,
  VLAN_TRUNCATED: 2,
  ARP_TRUNCATED: 3,
  ARP_UNSUPPORTED: 4,
  IPV4_TRUNCATED: 5,
  IPV4_BAD_VERSION: 6,
  IPV4_BAD_IHL: 7,
  IPV4_BAD_TOTAL_LENGTH: 8,
  IPV4_BAD_CHECKSUM: 9,
  IPV4_BAD_OPTIONS: 10,
  TCP_TRUNCATED: 11,
  TCP_BAD_DATA_OFFSET: 12,
  TCP_BAD_OPTIONS: 13,
  TCP_BAD_CHECKSUM: 14,
  UDP_TRUNCATED: 15,
  UDP_BAD_LENGTH: 16,
  UDP_BAD_CHECKSUM: 17,
  ICMP_TRUNCATED: 18,
  ICMP_BAD_CHECKSUM: 19,
  LINK_TRUNCATED: 20,
  LINK_UNSUPPORTED: 21,
} as const;

export type WireDropCode = (typeof WireDrop)[keyof typeof WireDrop];

/** What the repr-level `parseX` functions return: a repr, or the drop reason that `checkX` gave. */
export type ParseResult<T> = { ok: true; repr: T } | { ok: false; reason: number };

const NAMES: readonly string[] = [
  'ok',
  'ethernet-truncated',
  'vlan-truncated',
  'arp-truncated',
  'arp-unsupported',
  'ipv4-truncated',
  'ipv4-bad-version',
  'ipv4-bad-ihl',
  'ipv4-bad-total-length',
  'ipv4-bad-checksum',
  'ipv4-bad-options',
  'tcp-truncated',
  'tcp-bad-data-offset',
  'tcp-bad-options',
  'tcp-bad-checksum',
  'udp-truncated',
  'udp-bad-length',
  'udp-bad-checksum',
  'icmp-truncated',
  'icmp-bad-checksum',
  'link-truncated',
  'link-unsupported',
];

const DESCRIPTIONS: readonly string[] = [
  'header is valid',
  'frame shorter than the 14-byte Ethernet header',
  'frame ends inside an 802.1Q tag',
  'ARP packet shorter than its fixed header and addresses',
  'ARP for a hardware or protocol type other than Ethernet/IPv4',
  'shorter than 20 bytes or than the header length it claims',
  'IP version field is not 4',
  'IHL below 5 (20 bytes)',
  'total length below the header length or above the captured bytes',
  'header checksum does not verify',
  'an option is shorter than its minimum or runs past the end of the header',
  'segment shorter than the 20-byte TCP header',
  'data offset below 5 (20 bytes) or past the end of the segment',
  'an option length is below 2 or runs past the end of the TCP header',
  'checksum does not verify',
  'shorter than the 8-byte UDP header',
  'length field below 8 or above the IP payload',
  'checksum does not verify',
  'shorter than the 8-byte ICMP header',
  'checksum does not verify',
  'frame shorter than its link-layer header',
  'link type or encapsulation that is not decoded',
];

export function wireDropName(code: number): string {
  return NAMES[code] ?? `unknown-${code}`;
}

export function wireDropDescription(code: number): string {
  return DESCRIPTIONS[code] ?? 'unknown drop reason';
}

export const WIRE_DROP_COUNT = NAMES.length;
