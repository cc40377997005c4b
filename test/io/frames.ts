// Just enough of ARP, IPv4, ICMP echo and UDP, written out by hand, for the
// I/O tests to play a host at the other end of a port (independent of src/wire).

export const ETH_ARP = 0x0806;
export const ETH_IPV4 = 0x0800;

export function parseMac(s: string): Uint8Array {
  return Uint8Array.from(s.split(':').map((h) => parseInt(h, 16)));
}

export function formatMac(m: Uint8Array): string {
  return Array.from(m, (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function parseIp(s: string): number {
  return s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

const u16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export function ethType(f: Uint8Array): number {
  return f.length >= 14 ? u16(f, 12) : -1;
}

export function onesComplement(b: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < len; i += 2) sum += u16(b, off + i);
  if (len & 1) sum += b[off + len - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The ARP reply to `f` when it asks who has `ip`, else undefined. */
export function arpReplyFor(f: Uint8Array, mac: Uint8Array, ip: number): Uint8Array | undefined {
  if (ethType(f) !== ETH_ARP || f.length < 42 || u16(f, 20) !== 1 || u32(f, 38) !== ip) return undefined;
  const r = new Uint8Array(42);
  r.set(f.subarray(6, 12), 0); // to the asker
  r.set(mac, 6);
  r.set(f.subarray(12, 22), 12); // type, htype, ptype, sizes, op (fixed below)
  r[21] = 2;
  r.set(mac, 22);
  r.set(f.subarray(38, 42), 28); // sender ip = the address asked for
  r.set(f.subarray(22, 32), 32); // target = the asker's mac and ip
  return r;
}

/** The ICMP echo reply to `f` when it is an echo request to `ip`, else undefined. */
export function echoReplyFor(f: Uint8Array, mac: Uint8Array, ip: number): Uint8Array | undefined {
  if (ethType(f) !== ETH_IPV4 || f.length < 14 + 20 + 8) return undefined;
  const ihl = (f[14] & 15) * 4;
  if (f[14 + 9] !== 1 || u32(f, 14 + 16) !== ip || f[14 + ihl] !== 8) return undefined;
  const total = u16(f, 16);
  const r = f.slice(0, 14 + total);
  r.set(f.subarray(6, 12), 0);
  r.set(mac, 6);
  r.set(f.subarray(14 + 16, 14 + 20), 14 + 12); // src <- old dst
  r.set(f.subarray(14 + 12, 14 + 16), 14 + 16); // dst <- old src
  r[14 + 8] = 64;
  r[14 + 10] = r[14 + 11] = 0;
  const ipSum = ~onesComplement(r, 14, ihl) & 0xffff;
  r[14 + 10] = ipSum >> 8;
  r[14 + 11] = ipSum & 0xff;
  const icmp = 14 + ihl;
  r[icmp] = 0;
  r[icmp + 2] = r[icmp + 3] = 0;
  const sum = ~onesComplement(r, icmp, total - ihl) & 0xffff;
  r[icmp + 2] = sum >> 8;
  r[icmp + 3] = sum & 0xff;
  return r;
}

export interface UdpView {
  srcPort: number;
  dstPort: number;
  payload: string;
  /** The UDP checksum verifies (or is zero: none). */
  checksumOk: boolean;
}

export function udpOf(f: Uint8Array): UdpView | undefined {
  if (ethType(f) !== ETH_IPV4 || f.length < 14 + 20 + 8 || f[14 + 9] !== 17) return undefined;
  const ihl = (f[14] & 15) * 4;
  const total = u16(f, 16);
  const u = 14 + ihl;
  const len = total - ihl;
  const pseudo = new Uint8Array(12);
  pseudo.set(f.subarray(14 + 12, 14 + 20), 0);
  pseudo[9] = 17;
  pseudo[10] = len >> 8;
  pseudo[11] = len & 0xff;
  const csum = u16(f, u + 6);
  const checksumOk = csum === 0 || onesComplement(f, u, len, onesComplement(pseudo, 0, 12)) === 0xffff;
  const payload = new TextDecoder().decode(f.subarray(u + 8, u + len));
  return { srcPort: u16(f, u), dstPort: u16(f, u + 2), payload, checksumOk };
}

export function formatHex(f: Uint8Array): string {
  return Buffer.from(f.buffer, f.byteOffset, f.length).toString('hex');
}

/** A tagged UDP frame (no UDP checksum) from 02:00:00:00:00:02 to ROUTER-ish 02:00:5e:00:33:01; `tag` tells frames apart. */
export function vlanFrame(tpid: number, tci: number, tag: number): Uint8Array {
  const payload = new TextEncoder().encode(`dp-io vlan ${tag}`);
  const f = new Uint8Array(18 + 20 + 8 + payload.length);
  f.set(parseMac('02:00:5e:00:33:01'), 0);
  f.set(parseMac('02:00:00:00:00:02'), 6);
  f.set([tpid >> 8, tpid & 0xff, tci >> 8, tci & 0xff, 0x08, 0x00], 12);
  const ipLen = 20 + 8 + payload.length;
  f.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0, tag, 0, 0, 64, 17, 0, 0, 203, 0, 113, 2, 203, 0, 113, 1], 18);
  const sum = ~onesComplement(f, 18, 20) & 0xffff;
  f[28] = sum >> 8;
  f[29] = sum & 0xff;
  const udpLen = 8 + payload.length;
  f.set([0x9c, 0x40, 0x23, 0x2b, udpLen >> 8, udpLen & 0xff, 0, 0], 38);
  f.set(payload, 46);
  return f;
}
