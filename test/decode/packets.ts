// Hand-built frames for the decode tests: each builder lays out the header
// fields as the RFC diagrams do and fills in checksums, so a test can break
// exactly one thing.
import { finishChecksum, internetChecksum, pseudoHeaderSum, sumWords } from '../../src/wire/checksum.js';

export function ip4(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  put16(b, o, v >>> 16);
  put16(b, o + 2, v & 0xffff);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytes(n: number, fill = 0): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

export interface TcpFields {
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  win?: number;
  options?: number[];
  payload?: Uint8Array;
  /** Override the data offset (words). */
  doff?: number;
}

/** A TCP segment with a zero checksum (ipv4Packet fills it). */
export function tcpSegment(f: TcpFields = {}): Uint8Array {
  const opts = f.options ?? [];
  const hl = 20 + opts.length;
  const payload = f.payload ?? new Uint8Array(0);
  const b = new Uint8Array(hl + payload.length);
  put16(b, 0, f.sport ?? 40000);
  put16(b, 2, f.dport ?? 80);
  put32(b, 4, f.seq ?? 1);
  put32(b, 8, f.ack ?? 0);
  b[12] = (f.doff ?? hl / 4) << 4;
  b[13] = f.flags ?? 0x02;
  put16(b, 14, f.win ?? 512);
  b.set(opts, 20);
  b.set(payload, hl);
  return b;
}

export interface UdpFields {
  sport?: number;
  dport?: number;
  payload?: Uint8Array;
  /** Override the length field. */
  len?: number;
}

export function udpDatagram(f: UdpFields = {}): Uint8Array {
  const payload = f.payload ?? new Uint8Array(4);
  const b = new Uint8Array(8 + payload.length);
  put16(b, 0, f.sport ?? 40000);
  put16(b, 2, f.dport ?? 53);
  put16(b, 4, f.len ?? b.length);
  b.set(payload, 8);
  return b;
}

export interface IcmpFields {
  type?: number;
  code?: number;
  /** Bytes 4-7: identifier/sequence for echo, next-hop MTU (in the low 16 bits) for frag-needed. */
  rest?: number;
  payload?: Uint8Array;
}

/** An ICMP message with its checksum computed (it covers only the message). */
export function icmpMessage(f: IcmpFields = {}): Uint8Array {
  const payload = f.payload ?? new Uint8Array(0);
  const b = new Uint8Array(8 + payload.length);
  b[0] = f.type ?? 8;
  b[1] = f.code ?? 0;
  put32(b, 4, f.rest ?? 0x00010002);
  b.set(payload, 8);
  put16(b, 2, internetChecksum(b, 0, b.length));
  return b;
}

export interface Ipv4Fields {
  src?: string;
  dst?: string;
  proto?: number;
  ttl?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in 8-byte units. */
  frag?: number;
  options?: number[];
  payload?: Uint8Array;
  /** Override the total length field (checksums still computed over the real bytes). */
  totalLength?: number;
  /** Leave the L4 checksum as the payload has it. */
  keepL4Checksum?: boolean;
}

export function ipv4Packet(f: Ipv4Fields = {}): Uint8Array {
  const opts = f.options ?? [];
  const hl = 20 + opts.length;
  const payload = f.payload ?? udpDatagram();
  const b = new Uint8Array(hl + payload.length);
  const proto = f.proto ?? 17;
  b[0] = 0x40 | (hl / 4);
  put16(b, 2, f.totalLength ?? b.length);
  put16(b, 4, f.id ?? 0x1234);
  put16(b, 6, (f.df ? 0x4000 : 0) | (f.mf ? 0x2000 : 0) | (f.frag ?? 0));
  b[8] = f.ttl ?? 64;
  b[9] = proto;
  put32(b, 12, ip4(f.src ?? '198.51.100.1'));
  put32(b, 16, ip4(f.dst ?? '203.0.113.5'));
  b.set(opts, 20);
  b.set(payload, hl);
  put16(b, 10, internetChecksum(b, 0, hl));
  const whole = !f.mf && (f.frag ?? 0) === 0;
  if (whole && !f.keepL4Checksum && (proto === 6 || proto === 17)) {
    const l4len = payload.length;
    const at = hl + (proto === 6 ? 16 : 6);
    put16(b, at, 0);
    let c = finishChecksum(sumWords(b, hl, l4len, pseudoHeaderSum(ip4(f.src ?? '198.51.100.1'), ip4(f.dst ?? '203.0.113.5'), proto, l4len)));
    if (proto === 17 && c === 0) c = 0xffff;
    put16(b, at, c);
  }
  return b;
}

export function ethernet(type: number, payload: Uint8Array, vlans: [tpid: number, vid: number][] = []): Uint8Array {
  const b = new Uint8Array(14 + 4 * vlans.length + payload.length);
  b.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02], 0);
  let o = 12;
  for (const [tpid, vid] of vlans) {
    put16(b, o, tpid);
    put16(b, o + 2, vid);
    o += 4;
  }
  put16(b, o, type);
  b.set(payload, o + 2);
  return b;
}

export function sll(proto: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(16 + payload.length);
  put16(b, 0, 0); // to us
  put16(b, 2, 1); // ARPHRD_ETHER
  put16(b, 4, 6);
  b.set([0x02, 0, 0, 0, 0, 0x03], 6);
  put16(b, 14, proto);
  b.set(payload, 16);
  return b;
}

export function sll2(proto: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  put16(b, 0, proto);
  put32(b, 4, 2); // interface index
  put16(b, 8, 1); // ARPHRD_ETHER
  b[10] = 0; // to us
  b[11] = 6;
  b.set([0x02, 0, 0, 0, 0, 0x03], 12);
  b.set(payload, 20);
  return b;
}

export function nullHeader(af: number, littleEndian: boolean, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(4 + payload.length);
  if (littleEndian) b.set([af & 0xff, (af >> 8) & 0xff, 0, 0], 0);
  else put32(b, 0, af);
  b.set(payload, 4);
  return b;
}

export function arpPacket(op: number, spa: string, tpa: string): Uint8Array {
  const b = new Uint8Array(28);
  put16(b, 0, 1);
  put16(b, 2, 0x0800);
  b[4] = 6;
  b[5] = 4;
  put16(b, 6, op);
  b.set([0x02, 0, 0, 0, 0, 0x02], 8);
  put32(b, 14, ip4(spa));
  if (op === 2) b.set([0x02, 0, 0, 0, 0, 0x01], 18);
  put32(b, 24, ip4(tpa));
  return b;
}

/** A copy of `b` with b[i] XORed by `x`. */
export function flip(b: Uint8Array, i: number, x = 0x01): Uint8Array {
  const c = b.slice();
  c[i] ^= x;
  return c;
}

/** A classic pcap file (microsecond, little-endian) holding `frames` on `linkType`. */
export function pcapFile(linkType: number, frames: Uint8Array[], snaplen = 65535): Uint8Array {
  const head = new Uint8Array(24);
  const dv = new DataView(head.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, snaplen, true);
  dv.setUint32(20, linkType, true);
  const parts: Uint8Array[] = [head];
  frames.forEach((f, i) => {
    const rec = new Uint8Array(16);
    const r = new DataView(rec.buffer);
    r.setUint32(0, 1490000000 + i, true);
    r.setUint32(4, 123456, true);
    r.setUint32(8, f.length, true);
    r.setUint32(12, f.length, true);
    parts.push(rec, f);
  });
  return concat(...parts);
}
