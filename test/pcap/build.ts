// Builds pcap and pcapng bytes field by field, in either byte order, for
// tests that need what the writers never produce (big-endian files, several
// sections, SPB/OPB, odd resolutions, corrupt blocks).

export class ByteBuilder {
  private buf = new Uint8Array(256);
  private len = 0;
  constructor(private readonly le: boolean) {}

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.len++] = v;
    return this;
  }

  u16(v: number): this {
    this.room(2);
    const b = this.buf;
    if (this.le) [b[this.len], b[this.len + 1]] = [v & 0xff, (v >>> 8) & 0xff];
    else [b[this.len], b[this.len + 1]] = [(v >>> 8) & 0xff, v & 0xff];
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    this.room(4);
    const bytes = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    this.buf.set(this.le ? bytes : bytes.reverse(), this.len);
    this.len += 4;
    return this;
  }

  bytes(data: Uint8Array | number[]): this {
    this.room(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  pad4(): this {
    while (this.len & 3) this.u8(0);
    return this;
  }

  get length(): number {
    return this.len;
  }

  build(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
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

/** Deterministic packet bytes of a given length. */
export function packet(len: number, seed = 1): Uint8Array {
  const d = new Uint8Array(len);
  for (let i = 0; i < len; i++) d[i] = (i * 7 + seed * 13) & 0xff;
  return d;
}

export interface ClassicRecord {
  tsSec: number;
  frac: number;
  data: Uint8Array;
  /** Defaults to data.length. */
  caplen?: number;
  len?: number;
}

export function pcapHeader(o: { le: boolean; nano?: boolean; linkType: number; snaplen?: number; major?: number }): Uint8Array {
  return new ByteBuilder(o.le)
    .u32(o.nano ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(o.major ?? 2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(o.snaplen ?? 65535)
    .u32(o.linkType)
    .build();
}

export function pcapRecord(le: boolean, r: ClassicRecord): Uint8Array {
  return new ByteBuilder(le)
    .u32(r.tsSec)
    .u32(r.frac)
    .u32(r.caplen ?? r.data.length)
    .u32(r.len ?? r.data.length)
    .bytes(r.data)
    .build();
}

export type Option = [code: number, value: Uint8Array | number[]];

function options(b: ByteBuilder, opts: Option[] | undefined): void {
  if (!opts || opts.length === 0) return;
  for (const [code, value] of opts) b.u16(code).u16(value.length).bytes(value).pad4();
  b.u32(0);
}

/** A block: type, total length, body (padded to 4), total length; lengths can be overridden to corrupt it. */
export function block(le: boolean, type: number, body: Uint8Array, o: { len?: number; trailer?: number } = {}): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const len = 12 + padded;
  return new ByteBuilder(le)
    .u32(type)
    .u32(o.len ?? len)
    .bytes(body)
    .pad4()
    .u32(o.trailer ?? o.len ?? len)
    .build();
}

export function shb(le: boolean, o: { major?: number; minor?: number; opts?: Option[] } = {}): Uint8Array {
  const body = new ByteBuilder(le).u32(0x1a2b3c4d).u16(o.major ?? 1).u16(o.minor ?? 0).u32(0xffffffff).u32(0xffffffff);
  options(body, o.opts);
  return block(le, 0x0a0d0d0a, body.build());
}

export function idb(le: boolean, linkType: number, o: { snaplen?: number; opts?: Option[] } = {}): Uint8Array {
  const body = new ByteBuilder(le).u16(linkType).u16(0).u32(o.snaplen ?? 0);
  options(body, o.opts);
  return block(le, 1, body.build());
}

/** if_name, if_tsresol and if_tsoffset option values. */
export const ifName = (name: string): Option => [2, Array.from(new TextEncoder().encode(name))];
export const ifTsresol = (v: number): Option => [9, [v]];
export function ifTsoffset(le: boolean, seconds: number): Option {
  const hi = Math.floor(seconds / 4294967296);
  const lo = seconds - hi * 4294967296;
  const b = new ByteBuilder(le);
  return [14, Array.from((le ? b.u32(lo).u32(hi >>> 0) : b.u32(hi >>> 0).u32(lo)).build())];
}

export function epb(
  le: boolean,
  r: { ifid: number; tsHi: number; tsLo: number; data: Uint8Array; caplen?: number; len?: number; opts?: Option[] },
): Uint8Array {
  const body = new ByteBuilder(le)
    .u32(r.ifid)
    .u32(r.tsHi)
    .u32(r.tsLo)
    .u32(r.caplen ?? r.data.length)
    .u32(r.len ?? r.data.length)
    .bytes(r.data)
    .pad4();
  options(body, r.opts);
  return block(le, 6, body.build());
}

export function spb(le: boolean, len: number, data: Uint8Array): Uint8Array {
  return block(le, 3, new ByteBuilder(le).u32(len).bytes(data).build());
}

export function opb(
  le: boolean,
  r: { ifid: number; tsHi: number; tsLo: number; data: Uint8Array; len?: number },
): Uint8Array {
  const body = new ByteBuilder(le)
    .u16(r.ifid)
    .u16(0)
    .u32(r.tsHi)
    .u32(r.tsLo)
    .u32(r.data.length)
    .u32(r.len ?? r.data.length)
    .bytes(r.data);
  return block(le, 2, body.build());
}

/** A block of any other type (NRB 4, ISB 5, DSB 10, custom 0xbad / 0x40000bad, ...). */
export function otherBlock(le: boolean, type: number, bodyLen: number): Uint8Array {
  return block(le, type, packet(bodyLen, type & 0xff));
}

/** Splits a 64-bit tick count into 32-bit halves. */
export function ticks(t: bigint): { tsHi: number; tsLo: number } {
  return { tsHi: Number(t >> 32n), tsLo: Number(t & 0xffffffffn) };
}
