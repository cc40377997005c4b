// Link-layer header types (LINKTYPE_* values, as written in pcap and pcapng
// files; https://www.tcpdump.org/linktypes.html). The reader reports the
// normalized value: old files written on BSDs carry the platform's DLT_RAW
// (12, or 14 on OpenBSD) where newer ones carry LINKTYPE_RAW (101).

/** BSD loopback: 4-byte address family in host byte order, then the packet. */
export const LINKTYPE_NULL = 0;
/** Ethernet II / 802.3. */
export const LINKTYPE_ETHERNET = 1;
/** Raw IP (version from the first nibble). */
export const LINKTYPE_RAW = 101;
/** OpenBSD loopback: like NULL but the address family is big-endian. */
export const LINKTYPE_LOOP = 108;
/** Linux "cooked" capture v1 (16-byte pseudo header). */
export const LINKTYPE_LINUX_SLL = 113;
/** Raw IPv4 only. */
export const LINKTYPE_IPV4 = 228;
/** Raw IPv6 only. */
export const LINKTYPE_IPV6 = 229;
/** Linux "cooked" capture v2 (20-byte pseudo header). */
export const LINKTYPE_LINUX_SLL2 = 276;

/** Bytes of the Linux cooked header (SLL), the SLL2 header, and the NULL/LOOP family word. */
export const SLL_HEADER_LEN = 16;
export const SLL2_HEADER_LEN = 20;
export const NULL_HEADER_LEN = 4;

/** DLT_RAW on most BSDs, found in old capture files in place of LINKTYPE_RAW. */
const DLT_RAW_BSD = 12;
/** DLT_RAW on OpenBSD. */
const DLT_RAW_OPENBSD = 14;

/** Maps the platform-specific raw-IP values 12 and 14 to LINKTYPE_RAW; other values pass through. */
export function normalizeLinkType(n: number): number {
  return n === DLT_RAW_BSD || n === DLT_RAW_OPENBSD ? LINKTYPE_RAW : n;
}

const NAMES = new Map<number, string>([
  [LINKTYPE_NULL, 'NULL'],
  [LINKTYPE_ETHERNET, 'ETHERNET'],
  [6, 'IEEE802_5'],
  [9, 'PPP'],
  [DLT_RAW_BSD, 'RAW'],
  [DLT_RAW_OPENBSD, 'RAW'],
  [50, 'PPP_HDLC'],
  [51, 'PPP_ETHER'],
  [LINKTYPE_RAW, 'RAW'],
  [104, 'C_HDLC'],
  [105, 'IEEE802_11'],
  [LINKTYPE_LOOP, 'LOOP'],
  [LINKTYPE_LINUX_SLL, 'LINUX_SLL'],
  [127, 'IEEE802_11_RADIOTAP'],
  [147, 'USER0'],
  [LINKTYPE_IPV4, 'IPV4'],
  [LINKTYPE_IPV6, 'IPV6'],
  [LINKTYPE_LINUX_SLL2, 'LINUX_SLL2'],
]);

/** A short name for a link type ("ETHERNET", "RAW", ...), or "LINKTYPE_<n>" when unknown. */
export function linkTypeName(n: number): string {
  return NAMES.get(n) ?? `LINKTYPE_${n}`;
}
