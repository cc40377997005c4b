// IPv4 addresses and prefixes as uint32 numbers (host order: 10.0.0.0 is
// 0x0a000000), with strict text conversion for the control plane.

/** The netmask of a prefix length 0..32 as uint32 (0 for /0). */
export function prefixMask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** True when `prefix` has no bits set below its length. */
export function isCanonicalPrefix(prefix: number, len: number): boolean {
  return ((prefix >>> 0) & ~prefixMask(len)) === 0;
}

/**
 * Parses a dotted quad in s[start, end) without allocating; returns the
 * address as uint32 or -1. Leading zeros are refused ("010" is octal to
 * inet_aton and decimal to others, so it is ambiguous).
 */
export function parseIpv4Range(s: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

export function parseIpv4(s: string): number {
  return parseIpv4Range(s, 0, s.length);
}

export function formatIpv4(addr: number): string {
  const a = addr >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function formatPrefix(prefix: number, len: number): string {
  return `${formatIpv4(prefix)}/${len}`;
}
