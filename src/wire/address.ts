// IPv4 and Ethernet (EUI-48) addresses.
//
// On the fast path an IPv4 address is an unsigned 32-bit number in host order
// (198.51.100.1 = 0xc6336401) read straight from the packet; text only appears
// in reprs, config and logs. Text parsing is control-plane code: it throws on
// bad input (or, with the `try` variant, returns -1) and is never called per
// packet.

/** Reads a big-endian IPv4 address at b[o, o+4) as an unsigned 32-bit number. */
export function readIpv4(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Writes an IPv4 address (any 32-bit integer, signed or not) big-endian at b[o, o+4). */
export function writeIpv4(b: Uint8Array, o: number, n: number): void {
  b[o] = n >>> 24;
  b[o + 1] = n >>> 16;
  b[o + 2] = n >>> 8;
  b[o + 3] = n;
}

/** Dotted-quad text of a 32-bit address: 0xc6336401 -> "198.51.100.1". */
export function ipv4ToString(n: number): string {
  const v = n >>> 0;
  return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
}

/**
 * Parses strict dotted-quad text into an unsigned 32-bit number, or returns -1.
 * Exactly four decimal parts of 0-255; leading zeros are refused because
 * inet_aton() would read "010" as octal 8 and the two readings must not differ.
 */
export function tryParseIpv4Address(s: string): number {
  return tryParseIpv4At(s, 0, s.length);
}

/** tryParseIpv4Address of the text s[from, to), read in place (a routes file's line is not sliced into tokens). */
export function tryParseIpv4At(s: string, from: number, to: number): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 0x2e; // a virtual '.' closes the last part
    if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && part === 0) return -1; // leading zero
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) return -1;
    } else if (c === 0x2e) {
      if (digits === 0) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  return parts === 4 ? value : -1;
}

/** Parses dotted-quad text ("198.51.100.1") into an unsigned 32-bit number; throws RangeError on bad text. */
export function parseIpv4Address(s: string): number {
  const n = tryParseIpv4Address(s);
  if (n < 0) throw new RangeError(`invalid IPv4 address "${s}": expected four decimal parts 0-255, like 198.51.100.1`);
  return n;
}

/** Accepts either form used by reprs and callers: dotted text or a 32-bit number. */
export function toIpv4Number(a: string | number): number {
  return typeof a === 'number' ? a >>> 0 : parseIpv4Address(a);
}

/** Is `a` never valid as a source (RFC 1812 5.3.7, RFC 6890): 0/8, 127/8, 224/4 multicast, 240/4 and broadcast. */
export function isMartianSource(a: number): boolean {
  const top = a >>> 24;
  return top === 0 || top === 127 || top >= 224;
}

/**
 * Why `a` can never be one host's unicast address, or undefined when it can
 * be: the special-purpose blocks of RFC 6890 that RFC 1812 5.3.7 says are
 * never forwarded to or from (the addresses isMartianSource refuses), each
 * named. Config checks word their problems with it ("... is " + reason).
 */
export function specialAddressReason(a: number): string | undefined {
  const v = a >>> 0;
  const top = v >>> 24;
  if (v === 0) return 'the unspecified address 0.0.0.0';
  if (top === 0) return 'in 0.0.0.0/8 ("this network", RFC 1122: never a host\'s address)';
  if (top === 127) return 'a loopback address (127.0.0.0/8)';
  if (top >= 224 && top < 240) return 'a multicast address (224.0.0.0/4)';
  if (v === 0xffffffff) return 'the limited broadcast address 255.255.255.255';
  if (top >= 240) return 'in the reserved block 240.0.0.0/4 (RFC 1112: never forwarded)';
  return undefined;
}

/** Netmask of a prefix length as an unsigned 32-bit number (24 -> 0xffffff00). */
export function ipv4Mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/**
 * Whether `a` is the network or the broadcast address of the subnet
 * `address`/`prefixLen` (undefined when it is a host of it, or not on it);
 * a /31 or /32 has neither (RFC 3021).
 */
export function subnetEdge(a: number, address: number, prefixLen: number): 'network' | 'broadcast' | undefined {
  if (prefixLen >= 31) return undefined;
  const m = ipv4Mask(prefixLen);
  if (((a ^ address) & m) !== 0) return undefined;
  const host = (a & ~m) >>> 0;
  return host === 0 ? 'network' : host === (~m >>> 0) ? 'broadcast' : undefined;
}

export const MAC_LEN = 6;
/** Bytes in an IPv4 address. */
export const IPV4_ADDR_LEN = 4;

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Text of the 6-byte MAC address at b[o, o+6): "02:00:00:00:00:01" (lower case). */
export function macToString(b: Uint8Array, o: number): string {
  return (
    HEX_BYTE[b[o]] + ':' + HEX_BYTE[b[o + 1]] + ':' + HEX_BYTE[b[o + 2]] + ':' +
    HEX_BYTE[b[o + 3]] + ':' + HEX_BYTE[b[o + 4]] + ':' + HEX_BYTE[b[o + 5]]
  );
}

/** Why six MAC bytes cannot be one station's address ("all zero", "the broadcast address", "a multicast address"), or undefined. */
export function macGroupReason(mac: Uint8Array): string | undefined {
  if ((mac[0] & 1) === 0) return mac.every((x) => x === 0) ? 'all zero' : undefined;
  return mac.every((x) => x === 0xff) ? 'the broadcast address' : 'a multicast address';
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * Writes MAC text ("02:00:00:00:00:01" or "02-00-00-00-00-01", any case) into
 * b[o, o+6). Returns false, writing nothing, when the text is not a MAC address.
 */
export function tryWriteMac(b: Uint8Array, o: number, s: string): boolean {
  if (s.length !== 17) return false;
  const sep = s.charCodeAt(2);
  if (sep !== 0x3a && sep !== 0x2d) return false;
  for (let i = 0; i < 6; i++) {
    if (i > 0 && s.charCodeAt(i * 3 - 1) !== sep) return false;
    if (hexDigit(s.charCodeAt(i * 3)) < 0 || hexDigit(s.charCodeAt(i * 3 + 1)) < 0) return false;
  }
  for (let i = 0; i < 6; i++) b[o + i] = (hexDigit(s.charCodeAt(i * 3)) << 4) | hexDigit(s.charCodeAt(i * 3 + 1));
  return true;
}

/** Writes MAC text into b[o, o+6); throws RangeError on bad text. */
export function writeMac(b: Uint8Array, o: number, s: string): void {
  if (!tryWriteMac(b, o, s)) {
    throw new RangeError(`invalid MAC address "${s}": expected six hex pairs like 02:00:00:00:00:01`);
  }
}

/** The six bytes of MAC text; throws RangeError on bad text. */
export function parseMacAddress(s: string): Uint8Array {
  const out = new Uint8Array(MAC_LEN);
  writeMac(out, 0, s);
  return out;
}
