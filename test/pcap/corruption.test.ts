// Truncated, corrupt and random input: the reader yields every good record,
// then throws CaptureFormatError at the byte where the problem starts. It
// never hangs and never throws anything else.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFormatError, CaptureReader, MAX_CAPLEN } from '../../src/pcap/reader.js';
import { MemorySink, PcapngWriter, PcapWriter } from '../../src/pcap/writer.js';
import {
  block,
  ByteBuilder,
  concat,
  epb,
  idb,
  ifName,
  ifTsresol,
  opb,
  otherBlock,
  packet,
  pcapHeader,
  pcapRecord,
  shb,
  spb,
} from './build.js';

const dir = mkdtempSync(join(tmpdir(), 'pcap-corrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  /** Offsets of the records read. */
  offsets: number[];
  error?: CaptureFormatError;
}

/** Reads everything; fails the test on any exception but CaptureFormatError, or on a runaway record count. */
function read(reader: () => CaptureReader, maxRecords: number): Outcome {
  const offsets: number[] = [];
  let r: CaptureReader | undefined;
  try {
    r = reader();
    while (r.next()) {
      offsets.push(r.record.offset);
      if (offsets.length > maxRecords) throw new Error(`more than ${maxRecords} records: not advancing?`);
    }
    return { offsets };
  } catch (e) {
    if (e instanceof CaptureFormatError) return { offsets, error: e };
    throw e;
  } finally {
    r?.close();
  }
}

/** A file made of parts (header/blocks/records), with the offset where each part starts. */
function layout(parts: { bytes: Uint8Array; packet: boolean }[]): { bytes: Uint8Array; starts: number[]; packets: number[] } {
  const starts: number[] = [];
  const packets: number[] = [];
  let o = 0;
  for (const p of parts) {
    starts.push(o);
    if (p.packet) packets.push(o);
    o += p.bytes.length;
  }
  return { bytes: concat(...parts.map((p) => p.bytes)), starts, packets };
}

const classic = layout([
  { bytes: pcapHeader({ le: false, nano: true, linkType: 1, snaplen: 2000 }), packet: false },
  ...[60, 1514, 0, 7, 300].map((n, i) => ({
    bytes: pcapRecord(false, { tsSec: 1_700_000_000 + i, frac: i, data: packet(n, i) }),
    packet: true,
  })),
]);

const ng = layout([
  { bytes: shb(true, { opts: [[4, [100, 112]]] }), packet: false },
  { bytes: idb(true, 1, { snaplen: 1000, opts: [ifName('eth0'), ifTsresol(9)] }), packet: false },
  { bytes: epb(true, { ifid: 0, tsHi: 1, tsLo: 2, data: packet(61) }), packet: true },
  { bytes: otherBlock(true, 5, 20), packet: false },
  { bytes: spb(true, 99, packet(99)), packet: true },
  { bytes: shb(false), packet: false },
  { bytes: idb(false, 101, {}), packet: false },
  { bytes: opb(false, { ifid: 0, tsHi: 0, tsLo: 9, data: packet(10) }), packet: true },
  { bytes: otherBlock(false, 0x40000bad, 8), packet: false },
  { bytes: epb(false, { ifid: 0, tsHi: 0, tsLo: 10, data: packet(3), opts: [[1, [1, 2, 3]]] }), packet: true },
]);

describe('a file cut at every byte offset', () => {
  for (const [name, file] of [
    ['classic pcap (big-endian, nanoseconds)', classic],
    ['pcapng (two sections, both byte orders, EPB/SPB/OPB and skipped blocks)', ng],
  ] as const) {
    it(`${name}: records before the cut, then an error at the start of the cut record (none on a boundary)`, () => {
      const path = join(dir, 'cut');
      const headerLen = file.starts[1];
      for (let cut = 0; cut <= file.bytes.length; cut++) {
        const bytes = file.bytes.subarray(0, cut);
        writeFileSync(path, bytes);
        const fromMemory = read(() => CaptureReader.fromBytes(bytes), 100);
        const fromFile = read(() => CaptureReader.open(path, { chunkSize: 64 }), 100);
        const end = (o: number): number => file.starts[file.starts.indexOf(o) + 1] ?? file.bytes.length;
        const expectedOffsets = file.packets.filter((o) => end(o) <= cut);
        const onBoundary = cut >= headerLen && (file.starts.includes(cut) || cut === file.bytes.length);
        const partStart = cut < headerLen ? 0 : Math.max(...file.starts.filter((s) => s <= cut));
        for (const got of [fromMemory, fromFile]) {
          expect(got.offsets, `cut at ${cut}`).toEqual(expectedOffsets);
          if (onBoundary) expect(got.error?.message, `cut at ${cut}`).toBeUndefined();
          else {
            expect(got.error, `cut at ${cut}`).toBeInstanceOf(CaptureFormatError);
            expect(got.error?.offset, `cut at ${cut}: ${got.error?.message}`).toBe(partStart);
          }
        }
      }
    });
  }

  it('names the offset and both lengths in the message', () => {
    const cut = classic.starts[2] + 16 + 200; // 200 bytes into the 1514-byte record
    const got = read(() => CaptureReader.fromBytes(classic.bytes.subarray(0, cut)), 10);
    expect(got.error?.message).toBe(`truncated record at byte ${classic.starts[2]}: header says 1514 bytes, file ends after 200`);
    const ngCut = ng.starts[4] + 20;
    const g2 = read(() => CaptureReader.fromBytes(ng.bytes.subarray(0, ngCut)), 10);
    expect(g2.error?.message).toBe(`truncated block at byte ${ng.starts[4]}: block length says 116 bytes, file ends after 20`);
  });
});

describe('corrupt blocks and records', () => {
  const head = concat(shb(true), idb(true, 1, { snaplen: 100 }));
  const at = head.length;
  function errorOf(bytes: Uint8Array): CaptureFormatError | undefined {
    return read(() => CaptureReader.fromBytes(bytes), 10).error;
  }

  it.each([
    ['block length 0', block(true, 6, new Uint8Array(20), { len: 0 }), 'block length 0 is less than the minimum of 12'],
    ['block length 8', block(true, 6, new Uint8Array(20), { len: 8 }), 'block length 8 is less than the minimum of 12'],
    ['block length not a multiple of 4', block(true, 6, new Uint8Array(20), { len: 33 }), 'block length 33 is not a multiple of 4'],
    ['block length 4 GiB', block(true, 0xbad, new Uint8Array(20), { len: 0xfffffffc }), 'block length 4294967292 is more than the limit'],
    ['trailer disagreeing with the header', block(true, 6, new Uint8Array(20), { trailer: 36 }), 'block length 32 in the header but 36 in the trailer'],
    ['skipped block with a bad trailer', block(true, 0xbad, new Uint8Array(20), { trailer: 4 }), 'block length 32 in the header but 4 in the trailer'],
    ['unknown block longer than the file', block(true, 0xbad, new Uint8Array(20), { len: 4000 }), 'truncated block'],
    ['EPB shorter than its fixed fields', block(true, 6, new Uint8Array(12)), 'block length 24 is less than 32'],
    ['EPB captured length past the block', epb(true, { ifid: 0, tsHi: 0, tsLo: 0, data: packet(8), caplen: 2000 }), 'captured length 2000 does not fit in a block of 40 bytes'],
    ['EPB on an undefined interface', epb(true, { ifid: 3, tsHi: 0, tsLo: 0, data: packet(8) }), 'interface 3 is not defined (the section has 1 interface)'],
    ['SPB longer than its block', spb(true, 90, packet(8)), 'captured length 90 (original 90, snaplen 100) does not fit'],
    ['IDB option running past the block', block(true, 1, new ByteBuilder(true).u16(1).u16(0).u32(0).u16(2).u16(64).u32(0).build()), 'option 2 at byte'],
    ['IDB shorter than its fixed fields', block(true, 1, new Uint8Array(4)), 'block length 16 is less than 20'],
    ['SHB with a bad byte-order magic', block(true, 0x0a0d0d0a, new Uint8Array(16)), 'byte-order magic is 0x00000000'],
    ['SHB with length 0', block(true, 0x0a0d0d0a, new ByteBuilder(true).u32(0x1a2b3c4d).u32(1).build(), { len: 0 }), 'block length 0 is less than the minimum of 28'],
  ])('%s', (_name, bad, message) => {
    const good = epb(true, { ifid: 0, tsHi: 0, tsLo: 1, data: packet(20) });
    const got = read(() => CaptureReader.fromBytes(concat(head, good, bad, good)), 10);
    expect(got.offsets).toEqual([at]);
    expect(got.error).toBeInstanceOf(CaptureFormatError);
    expect(got.error?.offset).toBe(at + good.length);
    expect(got.error?.message).toContain(`at byte ${at + good.length}: `);
    expect(got.error?.message).toContain(message);
  });

  it('a packet block before any IDB', () => {
    const e = errorOf(concat(shb(false), epb(false, { ifid: 0, tsHi: 0, tsLo: 0, data: packet(4) })));
    expect(e?.message).toBe('corrupt enhanced packet block at byte 28: interface 0 is not defined (the section has 0 interfaces)');
  });

  it('a second section does not see the first one\'s interfaces', () => {
    const e = errorOf(concat(head, shb(true), epb(true, { ifid: 0, tsHi: 0, tsLo: 0, data: packet(4) })));
    expect(e?.offset).toBe(at + 28);
  });

  it('pcap: a captured length over 256 MiB is corrupt, not a reason to allocate', () => {
    for (const caplen of [MAX_CAPLEN + 1, 0xffffffff]) {
      const bytes = concat(pcapHeader({ le: true, linkType: 1 }), pcapRecord(true, { tsSec: 0, frac: 0, data: packet(4), caplen }));
      const got = read(() => CaptureReader.fromBytes(bytes), 10);
      expect(got.error?.message).toBe(`corrupt record at byte 24: captured length ${caplen} exceeds the 268435456-byte limit`);
    }
  });

  it('pcap: a huge captured length in a short file is a truncation, and the buffer does not grow to it', () => {
    const bytes = concat(
      pcapHeader({ le: true, linkType: 1, snaplen: 65535 }),
      pcapRecord(true, { tsSec: 0, frac: 0, data: packet(100) }),
      pcapRecord(true, { tsSec: 0, frac: 0, data: packet(100), caplen: 200 << 20 }),
    );
    const path = join(dir, 'huge-caplen.pcap');
    writeFileSync(path, bytes);
    const before = process.memoryUsage().arrayBuffers;
    const got = read(() => CaptureReader.open(path), 10);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 << 20);
    expect(got.offsets).toEqual([24]);
    expect(got.error?.message).toBe('truncated record at byte 140: header says 209715200 bytes, file ends after 100');
  });

  it('pcap: a captured length above the snaplen (but sane) is read, as libpcap and tshark do', () => {
    const bytes = concat(pcapHeader({ le: true, linkType: 1, snaplen: 64 }), pcapRecord(true, { tsSec: 0, frac: 0, data: packet(1000) }));
    const r = CaptureReader.fromBytes(bytes);
    expect(r.next()).toBe(true);
    expect(r.record.caplen).toBe(1000);
  });
});

describe('random input (fast-check)', () => {
  const sink = new MemorySink();
  const pw = new PcapWriter(sink, { linkType: 1, snaplen: 300 });
  for (let i = 0; i < 20; i++) pw.write(packet(i * 17, i), i, i * 1000);
  pw.close();
  const validPcap = sink.bytes();
  const ngSink = new MemorySink();
  const nw = new PcapngWriter(ngSink, { interfaces: [{ name: 'a', linkType: 1 }, { name: 'b', linkType: 101 }], nanosecond: true });
  for (let i = 0; i < 20; i++) nw.write(i & 1, packet(i * 13, i), i, i);
  nw.close();
  const validNg = concat(ngSink.bytes(), ng.bytes);

  const prefixes = [
    new Uint8Array(0),
    pcapHeader({ le: true, linkType: 1 }),
    pcapHeader({ le: false, nano: true, linkType: 1 }),
    shb(true),
    shb(false),
    concat(shb(true), idb(true, 1, {})),
    concat(shb(false), idb(false, 1, { opts: [ifTsresol(0x9f)] })),
  ];

  it('garbage after any header: ends cleanly or with CaptureFormatError, never hangs', () => {
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 2000 }), (prefix, tail) => {
        const bytes = concat(prefix, tail);
        read(() => CaptureReader.fromBytes(bytes), bytes.length / 12 + 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('garbage made of plausible words (small lengths, block types, magics)', () => {
    const word = fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 12, 16, 28, 32, 0x0a0d0d0a, 0x1a2b3c4d, 0x4d3c2b1a, 0xffffffff, 0x80000000);
    fc.assert(
      fc.property(fc.constantFrom(...prefixes.slice(1)), fc.array(word, { maxLength: 200 }), fc.boolean(), (prefix, words, le) => {
        const b = new ByteBuilder(le);
        for (const w of words) b.u32(w);
        const bytes = concat(prefix, b.build());
        read(() => CaptureReader.fromBytes(bytes), bytes.length / 12 + 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('valid files with bytes overwritten: good records first, then at most a CaptureFormatError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(validPcap, validNg),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        (valid, edits) => {
          const bytes = valid.slice();
          for (const e of edits) bytes[e.at % bytes.length] = e.value;
          const first = Math.min(...edits.map((e) => e.at % bytes.length));
          const got = read(() => CaptureReader.fromBytes(bytes), bytes.length / 12 + 1);
          const clean = read(() => CaptureReader.fromBytes(valid), 1000).offsets;
          // Records that end before the first edited byte are read exactly as in the valid file.
          const intact = clean.filter((o, i) => (clean[i + 1] ?? valid.length) <= first);
          expect(got.offsets.slice(0, intact.length)).toEqual(intact);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
