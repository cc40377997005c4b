// pcapng (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/).
//
// Every block, in the byte order of its section:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +---------------------------------------------------------------+
//  0|                          Block Type                           |
//  4|                      Block Total Length                       |
//  8/                          Block Body                           /
//   |                      Block Total Length                       |
//   +---------------------------------------------------------------+
//
// SHB body: byte-order magic 0x1A2B3C4D, major 1, minor 0, section length (i64), options.
// IDB body: link type (u16), reserved (u16), snaplen, options (if_name, if_tsresol, ...).
// EPB body: interface id, timestamp high, low, captured length, original length, data (padded to 4), options.
// SPB body: original length, data (captured length = min(original, snaplen of interface 0)).
// OPB body: interface id (u16), drops (u16), timestamp high, low, captured length, original length, data, options.
// Other blocks (NRB, ISB, DSB, custom, ...) are skipped.
//
// A new SHB starts a new section: its own byte order and its own interfaces.
// Interface ids in records count across sections, so that
// reader.interfaces[record.interfaceId] is always the record's interface
// (tshark 4.0's frame.interface_id restarts at 0 in each section instead:
// that is CaptureInterface.localId).

import { CaptureFormatError, MAX_CAPLEN } from './errors.js';
import type { InputWindow } from './input.js';
import { normalizeLinkType } from './link-type.js';
import type { CaptureInterface, FormatParser, ReusedRecord } from './record.js';
import { TickConverter } from './timestamp.js';

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 0x00000001;
export const BLOCK_OPB = 0x00000002;
export const BLOCK_SPB = 0x00000003;
export const BLOCK_EPB = 0x00000006;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const OPT_IF_NAME = 2;
export const OPT_IF_TSRESOL = 9;
export const OPT_IF_FCSLEN = 13;
export const OPT_IF_TSOFFSET = 14;

const SHB_MIN_LEN = 28;
const IDB_MIN_LEN = 20;
const EPB_MIN_LEN = 32;
const SPB_MIN_LEN = 16;
/** Largest block accepted: the largest packet plus room for options. */
const MAX_BLOCK_LEN = MAX_CAPLEN + (1 << 20);
/** if_tsresol when the option is absent: microseconds. */
const DEFAULT_TSRESOL = 6;

const utf8 = new TextDecoder('utf-8');

function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function blockName(type: number): string {
  if (type === BLOCK_EPB) return 'enhanced packet block';
  if (type === BLOCK_SPB) return 'simple packet block';
  if (type === BLOCK_OPB) return 'packet block';
  return `block of type 0x${type.toString(16)}`;
}

export class PcapngParser implements FormatParser {
  private readonly input: InputWindow;
  private readonly interfaces: CaptureInterface[];
  /** Per interface (global index): timestamp converter. */
  private readonly converters: TickConverter[] = [];
  /** Byte order of the current section. */
  private le = true;
  /** Global index of the current section's interface 0, and its interface count. */
  private sectionBase = 0;
  private sectionInterfaces = 0;
  /** Number of the current section: -1 until the first SHB is read. */
  private section = -1;

  /** Reads the first SHB at the window's position (its block type is already known to match). */
  constructor(input: InputWindow, interfaces: CaptureInterface[]) {
    this.input = input;
    this.interfaces = interfaces;
    this.readSectionHeader();
  }

  next(rec: ReusedRecord): boolean {
    const input = this.input;
    for (;;) {
      const avail = input.ensure(12);
      if (avail === 0) return false;
      if (avail < 8) {
        throw new CaptureFormatError(input.offset, 'truncated block header', `8 bytes needed, file ends after ${avail}`);
      }
      let b = input.buf;
      let p = input.pos;
      const type = this.u32(b, p);
      if (type === BLOCK_SHB) {
        this.readSectionHeader();
        continue;
      }
      const blockLen = this.u32(b, p + 4);
      this.checkBlockLength(blockLen, 12);
      if (type !== BLOCK_EPB && type !== BLOCK_SPB && type !== BLOCK_IDB && type !== BLOCK_OPB) {
        this.skipBlock(blockLen);
        continue;
      }
      this.loadBlock(avail, blockLen);
      b = input.buf;
      p = input.pos;
      if (type === BLOCK_EPB) {
        this.readPacket(rec, b, p, blockLen, this.u32(b, p + 8));
        return true;
      }
      if (type === BLOCK_OPB) {
        this.readPacket(rec, b, p, blockLen, this.u16(b, p + 8));
        return true;
      }
      if (type === BLOCK_SPB) {
        this.readSimplePacket(rec, b, p, blockLen);
        return true;
      }
      this.readInterface(b, p, blockLen);
    }
  }

  private u32(b: Uint8Array, o: number): number {
    return this.le ? u32le(b, o) : u32be(b, o);
  }

  private u16(b: Uint8Array, o: number): number {
    return this.le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
  }

  /** EPB and OPB share the layout from byte 12 on: ts high, ts low, caplen, len, data. */
  private readPacket(rec: ReusedRecord, b: Uint8Array, p: number, blockLen: number, localId: number): void {
    const offset = this.input.base + p;
    if (blockLen < EPB_MIN_LEN || this.u32(b, p + 20) > blockLen - EPB_MIN_LEN) this.badPacket(b, p, blockLen);
    const id = this.interfaceIndex(b, p, localId);
    this.converters[id].convert(this.u32(b, p + 12), this.u32(b, p + 16), rec);
    rec.buffer = b;
    rec.dataOffset = p + 28;
    rec.caplen = this.u32(b, p + 20);
    rec.len = this.u32(b, p + 24);
    rec.linkType = this.interfaces[id].linkType;
    rec.interfaceId = id;
    rec.offset = offset;
    this.input.pos = p + blockLen;
  }

  private badPacket(b: Uint8Array, p: number, blockLen: number): never {
    const offset = this.input.base + p;
    const kind = blockName(this.u32(b, p));
    if (blockLen < EPB_MIN_LEN) {
      throw new CaptureFormatError(offset, `corrupt ${kind}`, `block length ${blockLen} is less than ${EPB_MIN_LEN}`);
    }
    const caplen = this.u32(b, p + 20);
    throw new CaptureFormatError(
      offset,
      `corrupt ${kind}`,
      `captured length ${caplen} does not fit in a block of ${blockLen} bytes`,
    );
  }

  private readSimplePacket(rec: ReusedRecord, b: Uint8Array, p: number, blockLen: number): void {
    const offset = this.input.base + p;
    const kind = 'simple packet block';
    if (blockLen < SPB_MIN_LEN) {
      throw new CaptureFormatError(offset, `corrupt ${kind}`, `block length ${blockLen} is less than ${SPB_MIN_LEN}`);
    }
    const id = this.interfaceIndex(b, p, 0);
    const len = this.u32(b, p + 8);
    const snaplen = this.interfaces[id].snaplen;
    const caplen = snaplen !== 0 && len > snaplen ? snaplen : len;
    if (caplen > blockLen - SPB_MIN_LEN) {
      throw new CaptureFormatError(
        offset,
        `corrupt ${kind}`,
        `captured length ${caplen} (original ${len}, snaplen ${snaplen}) does not fit in a block of ${blockLen} bytes`,
      );
    }
    rec.buffer = b;
    rec.dataOffset = p + 12;
    rec.caplen = caplen;
    rec.len = len;
    rec.tsSec = 0;
    rec.tsNsec = 0;
    rec.linkType = this.interfaces[id].linkType;
    rec.interfaceId = id;
    rec.offset = offset;
    this.input.pos = p + blockLen;
  }

  private interfaceIndex(b: Uint8Array, p: number, localId: number): number {
    if (localId >= this.sectionInterfaces) {
      throw new CaptureFormatError(
        this.input.base + p,
        `corrupt ${blockName(this.u32(b, p))}`,
        `interface ${localId} is not defined (the section has ${this.sectionInterfaces} interface${this.sectionInterfaces === 1 ? '' : 's'})`,
      );
    }
    return this.sectionBase + localId;
  }

  private readInterface(b: Uint8Array, p: number, blockLen: number): void {
    const offset = this.input.base + p;
    if (blockLen < IDB_MIN_LEN) {
      throw new CaptureFormatError(
        offset,
        'corrupt interface description block',
        `block length ${blockLen} is less than ${IDB_MIN_LEN}`,
      );
    }
    const iface: CaptureInterface = {
      linkType: normalizeLinkType(this.u16(b, p + 8)),
      snaplen: this.u32(b, p + 12),
      tsResolutionNs: 1000,
      section: this.section,
      localId: this.sectionInterfaces,
    };
    let tsresol = DEFAULT_TSRESOL;
    let tsoffset = 0;
    const end = p + blockLen - 4;
    for (let o = p + 16; o + 4 <= end; ) {
      const code = this.u16(b, o);
      const len = this.u16(b, o + 2);
      const v = o + 4;
      if (v + len > end) {
        throw new CaptureFormatError(
          offset,
          'corrupt interface description block',
          `option ${code} at byte ${this.input.base + o} has length ${len}, past the end of the block`,
        );
      }
      if (code === OPT_ENDOFOPT) break;
      if (code === OPT_IF_NAME) {
        let n = len;
        while (n > 0 && b[v + n - 1] === 0) n--;
        iface.name = utf8.decode(b.subarray(v, v + n));
      } else if (code === OPT_IF_TSRESOL && len >= 1) {
        tsresol = b[v];
      } else if (code === OPT_IF_FCSLEN && len >= 1) {
        iface.fcsLen = b[v];
      } else if (code === OPT_IF_TSOFFSET && len >= 8) {
        // Signed 64-bit seconds; offsets beyond 2^53 are not meaningful.
        const lo = this.u32(b, this.le ? v : v + 4);
        const hi = this.u32(b, this.le ? v + 4 : v) | 0;
        tsoffset = hi * 4294967296 + lo;
      }
      o = v + ((len + 3) & ~3);
    }
    const converter = new TickConverter(tsresol, tsoffset);
    iface.tsResolutionNs = converter.resolutionNs;
    this.interfaces.push(iface);
    this.converters.push(converter);
    this.sectionInterfaces++;
    this.input.pos = p + blockLen;
  }

  /** Reads an SHB at the window's position: sets the byte order and starts a new section. */
  private readSectionHeader(): void {
    const input = this.input;
    const offset = input.offset;
    const avail = input.ensure(SHB_MIN_LEN);
    if (avail < 12) {
      throw new CaptureFormatError(offset, 'truncated section header block', `12 bytes needed, file ends after ${avail}`);
    }
    let b = input.buf;
    let p = input.pos;
    const magicLe = u32le(b, p + 8);
    if (magicLe === BYTE_ORDER_MAGIC) this.le = true;
    else if (magicLe === 0x4d3c2b1a) this.le = false;
    else {
      throw new CaptureFormatError(
        offset,
        'corrupt section header block',
        `byte-order magic is 0x${u32be(b, p + 8).toString(16).padStart(8, '0')}, not 1a2b3c4d in either byte order`,
      );
    }
    const blockLen = this.u32(b, p + 4);
    this.checkBlockLength(blockLen, SHB_MIN_LEN);
    this.loadBlock(avail, blockLen);
    b = input.buf;
    p = input.pos;
    const major = this.u16(b, p + 12);
    const minor = this.u16(b, p + 14);
    // 1.2 was written by some old tools and means the same as 1.0 (libpcap and Wireshark accept both).
    if (major !== 1 || (minor !== 0 && minor !== 2)) {
      throw new CaptureFormatError(offset, 'unsupported pcapng version', `${major}.${minor} (only 1.0 is known)`);
    }
    this.sectionBase = this.interfaces.length;
    this.sectionInterfaces = 0;
    this.section++;
    input.pos = p + blockLen;
  }

  private checkBlockLength(blockLen: number, min: number): void {
    if (blockLen < min || (blockLen & 3) !== 0 || blockLen > MAX_BLOCK_LEN) {
      const why =
        blockLen < min
          ? `less than the minimum of ${min}`
          : (blockLen & 3) !== 0
            ? 'not a multiple of 4'
            : `more than the limit of ${MAX_BLOCK_LEN}`;
      throw new CaptureFormatError(this.input.offset, 'corrupt block', `block length ${blockLen} is ${why}`);
    }
  }

  /** Skips a block the reader does not use without loading it whole; checks its trailer. */
  private skipBlock(blockLen: number): void {
    const input = this.input;
    const offset = input.offset;
    const skipped = input.skip(blockLen - 4);
    const avail = skipped === blockLen - 4 ? input.ensure(4) : 0;
    if (avail < 4) truncated(offset, blockLen, skipped + Math.min(avail, 4));
    const trailer = this.u32(input.buf, input.pos);
    if (trailer !== blockLen) badTrailer(offset, blockLen, trailer);
    input.pos += 4;
  }

  /**
   * Brings the whole block at the window's position into the window (`avail`
   * bytes of its `blockLen` are there) and checks the copy of its length at
   * its end. The window's buffer may move: callers read input.buf and
   * input.pos again.
   */
  private loadBlock(avail: number, blockLen: number): void {
    const input = this.input;
    if (avail < blockLen) {
      avail = input.ensure(blockLen);
      if (avail < blockLen) truncated(input.offset, blockLen, avail);
    }
    const trailer = this.u32(input.buf, input.pos + blockLen - 4);
    if (trailer !== blockLen) badTrailer(input.offset, blockLen, trailer);
  }
}

function truncated(offset: number, blockLen: number, avail: number): never {
  throw new CaptureFormatError(offset, 'truncated block', `block length says ${blockLen} bytes, file ends after ${avail}`);
}

function badTrailer(offset: number, blockLen: number, trailer: number): never {
  throw new CaptureFormatError(offset, 'corrupt block', `block length ${blockLen} in the header but ${trailer} in the trailer`);
}
