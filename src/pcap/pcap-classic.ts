// Classic libpcap files (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/).
//
// File header (24 bytes), in the writer's byte order:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  0|      Magic (0xa1b2c3d4 microseconds, 0xa1b23c4d nanoseconds)  |
//  4|       Major version (2)       |       Minor version (4)       |
//  8|                  Reserved1 (thiszone, ignored)                |
// 12|                  Reserved2 (sigfigs, ignored)                 |
// 16|                            SnapLen                            |
// 20| FCS len |F|     reserved      |           LinkType            |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Record header (16 bytes), then Captured Length bytes of packet data:
//  0 Timestamp seconds | 4 microseconds or nanoseconds | 8 Captured Length | 12 Original Length

import { CaptureFormatError, MAX_CAPLEN } from './errors.js';
import type { InputWindow } from './input.js';
import { normalizeLinkType } from './link-type.js';
import type { CaptureInterface, FormatParser, ReusedRecord } from './record.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;
/** Bits 16-31 of the link-type field: FCS length and flag, and reserved bits. */
const LINKTYPE_MASK = 0xffff;

/** Magic as read little-endian, for the four byte-order/resolution combinations. */
export function isPcapMagic(magicLe: number): boolean {
  return (
    magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS || magicLe === 0xd4c3b2a1 || magicLe === 0x4d3cb2a1
  );
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export class PcapClassicParser implements FormatParser {
  private readonly input: InputWindow;
  private readonly le: boolean;
  /** 1000 for microsecond files, 1 for nanosecond files. */
  private readonly nsPerTick: number;
  private readonly linkType: number;

  /** Reads the file header at the window's position (the magic is already known to match). */
  constructor(input: InputWindow, interfaces: CaptureInterface[]) {
    this.input = input;
    const avail = input.ensure(PCAP_FILE_HEADER_LEN);
    if (avail < PCAP_FILE_HEADER_LEN) {
      throw new CaptureFormatError(
        input.offset,
        'truncated pcap file header',
        `24 bytes needed, file has ${avail}`,
      );
    }
    const b = input.buf;
    const p = input.pos;
    const magicLe = u32le(b, p);
    this.le = magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS;
    const nano = magicLe === PCAP_MAGIC_NS || magicLe === 0x4d3cb2a1;
    this.nsPerTick = nano ? 1 : 1000;
    const u16 = this.le ? (o: number) => b[o] | (b[o + 1] << 8) : (o: number) => (b[o] << 8) | b[o + 1];
    const major = u16(p + 4);
    const minor = u16(p + 6);
    if (major !== 2) {
      throw new CaptureFormatError(input.offset, 'unsupported pcap version', `${major}.${minor} (only 2.x is known)`);
    }
    const snaplen = this.le ? u32le(b, p + 16) : u32be(b, p + 16);
    const linkField = this.le ? u32le(b, p + 20) : u32be(b, p + 20);
    this.linkType = normalizeLinkType(linkField & LINKTYPE_MASK);
    const iface: CaptureInterface = {
      linkType: this.linkType,
      snaplen,
      tsResolutionNs: this.nsPerTick,
      section: 0,
      localId: 0,
    };
    // Bit 26 says bits 28-31 hold the number of 16-bit words of FCS at the end of each frame.
    if (linkField & 0x04000000) iface.fcsLen = (linkField >>> 28) * 2;
    interfaces.push(iface);
    input.pos = p + PCAP_FILE_HEADER_LEN;
  }

  next(rec: ReusedRecord): boolean {
    const input = this.input;
    let avail = input.ensure(PCAP_RECORD_HEADER_LEN);
    if (avail < PCAP_RECORD_HEADER_LEN) {
      if (avail === 0) return false;
      throw new CaptureFormatError(
        input.offset,
        'truncated record header',
        `16 bytes needed, file ends after ${avail}`,
      );
    }
    let b = input.buf;
    let p = input.pos;
    let tsSec: number, frac: number, caplen: number, len: number;
    if (this.le) {
      tsSec = u32le(b, p);
      frac = u32le(b, p + 4);
      caplen = u32le(b, p + 8);
      len = u32le(b, p + 12);
    } else {
      tsSec = u32be(b, p);
      frac = u32be(b, p + 4);
      caplen = u32be(b, p + 8);
      len = u32be(b, p + 12);
    }
    if (caplen > MAX_CAPLEN) {
      throw new CaptureFormatError(
        input.offset,
        'corrupt record',
        `captured length ${caplen} exceeds the ${MAX_CAPLEN}-byte limit`,
      );
    }
    const total = PCAP_RECORD_HEADER_LEN + caplen;
    if (avail < total) {
      avail = input.ensure(total);
      if (avail < total) {
        throw new CaptureFormatError(
          input.offset,
          'truncated record',
          `header says ${caplen} bytes, file ends after ${avail - PCAP_RECORD_HEADER_LEN}`,
        );
      }
      b = input.buf;
      p = input.pos;
    }
    rec.buffer = b;
    rec.dataOffset = p + PCAP_RECORD_HEADER_LEN;
    rec.caplen = caplen;
    rec.len = len;
    rec.tsSec = tsSec;
    rec.tsNsec = frac * this.nsPerTick;
    rec.linkType = this.linkType;
    rec.interfaceId = 0;
    rec.offset = input.base + p;
    input.pos = p + total;
    return true;
  }
}
