// Capture writers: classic pcap and pcapng, little-endian, buffered in one
// 1 MiB buffer and handed to a sink in large chunks (a file written with
// fs.writeSync, or memory for tests). write() allocates nothing.
//
// pcap:   file header, then per packet a 16-byte record header and the data.
// pcapng: SHB, one IDB per interface (if_name, if_tsresol), then per packet an
//         EPB with its data padded to 4 bytes and an end-of-options marker.
// Packets longer than the snaplen are cut to it (the original length is kept).

import { closeSync, openSync, writeSync } from 'node:fs';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from './pcap-classic.js';
import { BLOCK_EPB, BLOCK_IDB, BLOCK_SHB, BYTE_ORDER_MAGIC, OPT_COMMENT, OPT_IF_NAME, OPT_IF_TSRESOL } from './pcapng.js';

/** Where writers put their bytes. `chunk` is only valid during the call: copy it to keep it. */
export interface ByteSink {
  write(chunk: Uint8Array): void;
  close?(): void;
}

/** Collects everything written, for tests and in-memory pipelines. */
export class MemorySink implements ByteSink {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  write(chunk: Uint8Array): void {
    // A copy: the caller may reuse its buffer. Not chunk.slice(): on a Buffer that is a view, not a copy.
    this.chunks.push(Uint8Array.prototype.slice.call(chunk));
    this.length += chunk.length;
  }

  /** All bytes written so far, in one array. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** Writes to a file (created or truncated) with fs.writeSync. */
class FileSink implements ByteSink {
  private fd: number;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  write(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off);
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

const DEFAULT_SNAPLEN = 262144;
const BUFFER_SIZE = 1 << 20;

/** The buffer both writers fill; little-endian field setters. */
class OutputBuffer {
  protected buf = new Uint8Array(BUFFER_SIZE);
  protected pos = 0;
  private readonly sink: ByteSink;
  private closed = false;

  constructor(sink: string | ByteSink) {
    this.sink = typeof sink === 'string' ? new FileSink(sink) : sink;
  }

  /** Makes room for n more bytes. */
  protected reserve(n: number): void {
    if (this.closed) throw new Error('capture writer: write after close');
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < n) size *= 2;
      this.buf = new Uint8Array(size);
    }
  }

  protected u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  protected u16(v: number): void {
    const b = this.buf;
    const o = this.pos;
    b[o] = v;
    b[o + 1] = v >>> 8;
    this.pos = o + 2;
  }

  protected u32(v: number): void {
    const b = this.buf;
    const o = this.pos;
    b[o] = v;
    b[o + 1] = v >>> 8;
    b[o + 2] = v >>> 16;
    b[o + 3] = v >>> 24;
    this.pos = o + 4;
  }

  protected bytes(data: Uint8Array, n: number): void {
    this.buf.set(n === data.length ? data : data.subarray(0, n), this.pos);
    this.pos += n;
  }

  protected zeros(n: number): void {
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  /** Hands the buffered bytes to the sink. */
  flush(): void {
    if (this.pos > 0) {
      this.sink.write(this.buf.subarray(0, this.pos));
      this.pos = 0;
    }
  }

  /** Flushes and closes the sink (idempotent). */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.sink.close?.();
  }
}

function checkU32(name: string, v: number): void {
  if (v >>> 0 !== v) throw new RangeError(`capture writer: ${name} ${v} is not an integer in [0, 2^32)`);
}

export interface PcapWriterOptions {
  linkType: number;
  /** Default 262144. */
  snaplen?: number;
  /** Nanosecond timestamps (magic 0xa1b23c4d); default microseconds. */
  nanosecond?: boolean;
}

export class PcapWriter extends OutputBuffer {
  private readonly snaplen: number;
  private readonly nanosecond: boolean;

  constructor(sink: string | ByteSink, opts: PcapWriterOptions) {
    super(sink);
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    this.nanosecond = opts.nanosecond ?? false;
    checkU32('snaplen', this.snaplen);
    checkU32('link type', opts.linkType);
    this.u32(this.nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
    this.u16(2);
    this.u16(4);
    this.u32(0); // thiszone
    this.u32(0); // sigfigs
    this.u32(this.snaplen);
    this.u32(opts.linkType);
  }

  /** Appends one packet. In a microsecond file tsNsec is truncated to microseconds. */
  write(data: Uint8Array, tsSec: number, tsNsec: number, origLen: number = data.length): void {
    const frac = this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000);
    checkU32('timestamp seconds', tsSec);
    checkU32('timestamp fraction', frac);
    checkU32('original length', origLen);
    const caplen = data.length > this.snaplen ? this.snaplen : data.length;
    this.reserve(16 + caplen);
    this.u32(tsSec);
    this.u32(frac);
    this.u32(caplen);
    this.u32(origLen);
    this.bytes(data, caplen);
  }
}

export interface PcapngInterfaceOptions {
  name: string;
  linkType: number;
  /** Default 262144. */
  snaplen?: number;
}

export interface PcapngWriterOptions {
  interfaces: PcapngInterfaceOptions[];
  /** if_tsresol 9 (nanoseconds) instead of 6 (microseconds). */
  nanosecond?: boolean;
}

const utf8 = new TextEncoder();

export class PcapngWriter extends OutputBuffer {
  private readonly snaplens: number[];
  private readonly ticksPerSec: number;
  private readonly nsPerTick: number;

  constructor(sink: string | ByteSink, opts: PcapngWriterOptions) {
    super(sink);
    const nano = opts.nanosecond ?? false;
    this.ticksPerSec = nano ? 1e9 : 1e6;
    this.nsPerTick = nano ? 1 : 1000;
    this.snaplens = opts.interfaces.map((i) => i.snaplen ?? DEFAULT_SNAPLEN);
    // SHB: no options, section length unknown (-1).
    this.u32(BLOCK_SHB);
    this.u32(28);
    this.u32(BYTE_ORDER_MAGIC);
    this.u16(1);
    this.u16(0);
    this.u32(0xffffffff);
    this.u32(0xffffffff);
    this.u32(28);
    for (let i = 0; i < opts.interfaces.length; i++) {
      const iface = opts.interfaces[i];
      checkU32('snaplen', this.snaplens[i]);
      if (iface.linkType >>> 0 !== iface.linkType || iface.linkType > 0xffff) {
        throw new RangeError(`capture writer: link type ${iface.linkType} does not fit in 16 bits`);
      }
      const name = utf8.encode(iface.name);
      if (name.length > 0xffff) throw new RangeError('capture writer: interface name longer than 65535 bytes');
      const namePadded = (name.length + 3) & ~3;
      const blockLen = 20 + (name.length > 0 ? 4 + namePadded : 0) + 8 + 4;
      this.reserve(blockLen);
      this.u32(BLOCK_IDB);
      this.u32(blockLen);
      this.u16(iface.linkType);
      this.u16(0);
      this.u32(this.snaplens[i]);
      if (name.length > 0) {
        this.u16(OPT_IF_NAME);
        this.u16(name.length);
        this.bytes(name, name.length);
        this.zeros(namePadded - name.length);
      }
      this.u16(OPT_IF_TSRESOL);
      this.u16(1);
      this.u8(nano ? 9 : 6);
      this.zeros(3);
      this.u32(0); // opt_endofopt
      this.u32(blockLen);
    }
  }

  /**
   * Appends one packet on `interfaceId` (an index into opts.interfaces), with
   * optional packet comments (opt_comment, UTF-8; tshark shows them as
   * frame.comment). Without comments nothing is allocated.
   */
  write(interfaceId: number, data: Uint8Array, tsSec: number, tsNsec: number, origLen: number = data.length, comments?: readonly string[]): void {
    if (!(interfaceId >= 0 && interfaceId < this.snaplens.length && Number.isInteger(interfaceId))) {
      throw new RangeError(`capture writer: interface ${interfaceId} is not one of the ${this.snaplens.length} declared`);
    }
    checkU32('timestamp seconds', tsSec);
    checkU32('timestamp nanoseconds', tsNsec);
    checkU32('original length', origLen);
    const snaplen = this.snaplens[interfaceId];
    const caplen = snaplen !== 0 && data.length > snaplen ? snaplen : data.length;
    const padded = (caplen + 3) & ~3;
    const encoded = comments?.map((c) => utf8.encode(c));
    let optionsLen = 0;
    if (encoded !== undefined) {
      for (const c of encoded) {
        if (c.length > 0xffff) throw new RangeError('capture writer: a packet comment longer than 65535 bytes');
        optionsLen += 4 + ((c.length + 3) & ~3);
      }
    }
    const blockLen = 32 + padded + optionsLen + 4;
    this.reserve(blockLen);
    // ticks = tsSec * ticksPerSec + frac, split into 32-bit halves without
    // BigInt: tsSec = sHi * 2^16 + sLo keeps every product below 2^53.
    const frac = Math.floor(tsNsec / this.nsPerTick);
    const sHi = Math.floor(tsSec / 65536);
    const sLo = tsSec & 0xffff;
    const a = sLo * this.ticksPerSec + frac;
    const bProd = sHi * this.ticksPerSec;
    const bHigh = Math.floor(bProd / 65536);
    const c = (bProd - bHigh * 65536) * 65536 + a;
    const cHigh = Math.floor(c / 4294967296);
    this.u32(BLOCK_EPB);
    this.u32(blockLen);
    this.u32(interfaceId);
    this.u32(bHigh + cHigh);
    this.u32(c - cHigh * 4294967296);
    this.u32(caplen);
    this.u32(origLen);
    this.bytes(data, caplen);
    this.zeros(padded - caplen);
    if (encoded !== undefined) {
      for (const c of encoded) {
        this.u16(OPT_COMMENT);
        this.u16(c.length);
        this.bytes(c, c.length);
        this.zeros(((c.length + 3) & ~3) - c.length);
      }
    }
    this.u32(0); // opt_endofopt
    this.u32(blockLen);
  }
}
