import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_RAW,
  linkTypeName,
  normalizeLinkType,
} from '../../src/pcap/link-type.js';
import { CaptureFormatError, CaptureReader, readCapture } from '../../src/pcap/reader.js';
import type { CaptureRecord } from '../../src/pcap/reader.js';
import {
  concat,
  epb,
  idb,
  ifName,
  ifTsoffset,
  ifTsresol,
  opb,
  otherBlock,
  packet,
  pcapHeader,
  pcapRecord,
  shb,
  spb,
  ticks,
} from './build.js';

const dir = mkdtempSync(join(tmpdir(), 'pcap-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tmpFile(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

interface Plain {
  data: number[];
  caplen: number;
  len: number;
  tsSec: number;
  tsNsec: number;
  linkType: number;
  interfaceId: number;
  offset: number;
}

function plain(r: CaptureRecord): Plain {
  const { caplen, len, tsSec, tsNsec, linkType, interfaceId, offset } = r;
  return { data: Array.from(r.data), caplen, len, tsSec, tsNsec, linkType, interfaceId, offset };
}

function readAll(reader: CaptureReader): Plain[] {
  const out: Plain[] = [];
  while (reader.next()) out.push(plain(reader.record));
  return out;
}

describe('link types', () => {
  it('normalizes the BSD and OpenBSD DLT_RAW values 12 and 14 to LINKTYPE_RAW', () => {
    expect(normalizeLinkType(12)).toBe(LINKTYPE_RAW);
    expect(normalizeLinkType(14)).toBe(LINKTYPE_RAW);
    expect(normalizeLinkType(LINKTYPE_ETHERNET)).toBe(LINKTYPE_ETHERNET);
    expect(normalizeLinkType(LINKTYPE_IPV4)).toBe(LINKTYPE_IPV4);
  });

  it('names link types, and unknown ones by number', () => {
    expect(linkTypeName(LINKTYPE_ETHERNET)).toBe('ETHERNET');
    expect(linkTypeName(LINKTYPE_LINUX_SLL)).toBe('LINUX_SLL');
    expect(linkTypeName(4242)).toBe('LINKTYPE_4242');
  });
});

describe('classic pcap', () => {
  const records = [
    { tsSec: 1_700_000_000, frac: 123_456, data: packet(60, 1) },
    { tsSec: 1_700_000_001, frac: 999_999, data: packet(1514, 2), len: 9000 },
    { tsSec: 4_294_967_295, frac: 0, data: packet(0, 3) },
  ];

  for (const le of [true, false]) {
    for (const nano of [false, true]) {
      it(`reads ${le ? 'little' : 'big'}-endian ${nano ? 'nanosecond' : 'microsecond'} files`, () => {
        const bytes = concat(
          pcapHeader({ le, nano, linkType: LINKTYPE_ETHERNET, snaplen: 9000 }),
          ...records.map((r) => pcapRecord(le, r)),
        );
        const reader = CaptureReader.fromBytes(bytes);
        expect(reader.format).toBe('pcap');
        expect(reader.interfaces).toEqual([
          { linkType: LINKTYPE_ETHERNET, snaplen: 9000, tsResolutionNs: nano ? 1 : 1000, section: 0, localId: 0 },
        ]);
        const got = readAll(reader);
        let offset = 24;
        expect(got).toEqual(
          records.map((r) => {
            const rec = {
              data: Array.from(r.data),
              caplen: r.data.length,
              len: r.len ?? r.data.length,
              tsSec: r.tsSec,
              tsNsec: nano ? r.frac : r.frac * 1000,
              linkType: LINKTYPE_ETHERNET,
              interfaceId: 0,
              offset,
            };
            offset += 16 + r.data.length;
            return rec;
          }),
        );
        expect(reader.next()).toBe(false);
        expect(reader.bytesRead).toBe(bytes.length);
      });
    }
  }

  it('masks the FCS bits out of the link type and reports the FCS length', () => {
    // 0x04000000: FCS length present; 0x20000000: two 16-bit words (4 bytes).
    const reader = CaptureReader.fromBytes(pcapHeader({ le: true, linkType: 0x24000001 }));
    expect(reader.interfaces[0]).toMatchObject({ linkType: LINKTYPE_ETHERNET, fcsLen: 4 });
    // tcpdump's test files carry 0x30000000 without the "present" bit: masked, no FCS length.
    const other = CaptureReader.fromBytes(pcapHeader({ le: false, linkType: 0x30000065 }));
    expect(other.interfaces[0]).toEqual({
      linkType: LINKTYPE_RAW,
      snaplen: 65535,
      tsResolutionNs: 1000,
      section: 0,
      localId: 0,
    });
  });

  it('reports LINKTYPE_RAW for files written with DLT_RAW 12 or 14', () => {
    for (const lt of [12, 14]) {
      const bytes = concat(pcapHeader({ le: true, linkType: lt }), pcapRecord(true, { tsSec: 1, frac: 2, data: packet(20) }));
      const reader = CaptureReader.fromBytes(bytes);
      expect(reader.interfaces[0].linkType).toBe(LINKTYPE_RAW);
      expect(reader.next()).toBe(true);
      expect(reader.record.linkType).toBe(LINKTYPE_RAW);
    }
  });

  it('passes an out-of-range fraction through unnormalized, like libpcap', () => {
    const bytes = concat(
      pcapHeader({ le: true, linkType: 1 }),
      pcapRecord(true, { tsSec: 10, frac: 2_147_483_648, data: packet(4) }),
    );
    const [r] = readAll(CaptureReader.fromBytes(bytes));
    expect(r.tsSec).toBe(10);
    expect(r.tsNsec).toBe(2_147_483_648_000);
  });

  it('exposes buffer and dataOffset so hot loops need no view per record', () => {
    const bytes = concat(pcapHeader({ le: true, linkType: 1 }), pcapRecord(true, { tsSec: 1, frac: 0, data: packet(40, 9) }));
    const reader = CaptureReader.fromBytes(bytes);
    expect(reader.next()).toBe(true);
    const r = reader.record;
    expect(r.buffer).toBe(bytes); // in-memory input: no copy
    expect(r.dataOffset).toBe(40);
    expect(Array.from(r.buffer.subarray(r.dataOffset, r.dataOffset + r.caplen))).toEqual(Array.from(packet(40, 9)));
  });
});

describe('pcapng', () => {
  it('reads several interfaces with their own link types, snaplens and resolutions', () => {
    const a = packet(60, 1);
    const b = packet(64, 2);
    const bytes = concat(
      shb(true),
      idb(true, LINKTYPE_ETHERNET, { snaplen: 65535, opts: [ifName('eth0')] }),
      otherBlock(true, 4, 24), // NRB: skipped
      idb(true, LINKTYPE_RAW, { snaplen: 64, opts: [ifName('tun0\0\0'), ifTsresol(9)] }),
      epb(true, { ifid: 0, ...ticks(1_700_000_000_123_456n), data: a }),
      otherBlock(true, 5, 28), // ISB: skipped
      epb(true, { ifid: 1, ...ticks(1_700_000_000_987_654_321n), data: b, len: 100 }),
      otherBlock(true, 0x40000bad, 16), // custom block: skipped
    );
    const reader = CaptureReader.fromBytes(bytes);
    expect(reader.format).toBe('pcapng');
    expect(reader.interfaces).toEqual([]); // IDBs are read as the file is
    const got = readAll(reader);
    expect(reader.interfaces).toEqual([
      { linkType: LINKTYPE_ETHERNET, snaplen: 65535, name: 'eth0', tsResolutionNs: 1000, section: 0, localId: 0 },
      { linkType: LINKTYPE_RAW, snaplen: 64, name: 'tun0', tsResolutionNs: 1, section: 0, localId: 1 },
    ]);
    expect(got.map(({ data, ...r }) => ({ ...r, n: data.length }))).toEqual([
      { caplen: 60, len: 60, tsSec: 1_700_000_000, tsNsec: 123_456_000, linkType: 1, interfaceId: 0, offset: 140, n: 60 },
      { caplen: 64, len: 100, tsSec: 1_700_000_000, tsNsec: 987_654_321, linkType: 101, interfaceId: 1, offset: 272, n: 64 },
    ]);
    expect(got[0].data).toEqual(Array.from(a));
    expect(got[1].data).toEqual(Array.from(b));
  });

  it('starts a new section at each SHB, in its own byte order, with its own interfaces', () => {
    const c = packet(30, 3);
    const d = packet(32, 4);
    const bytes = concat(
      shb(true),
      idb(true, LINKTYPE_ETHERNET, { snaplen: 100 }),
      epb(true, { ifid: 0, ...ticks(1_000_001n), data: c }),
      shb(false),
      idb(false, LINKTYPE_LINUX_SLL, { snaplen: 16, opts: [ifName('any'), ifTsresol(3)] }),
      idb(false, LINKTYPE_RAW, { opts: [ifTsresol(9)] }),
      spb(false, 30, c.subarray(0, 16)), // caplen = min(30, snaplen 16 of interface 0)
      opb(false, { ifid: 1, ...ticks(2_500_000_001n), data: d, len: 1500 }),
      epb(false, { ifid: 0, ...ticks(5_123n), data: d.subarray(0, 8), len: 40 }),
      shb(true, { minor: 2 }), // version 1.2 means 1.0
      idb(true, LINKTYPE_IPV4, {}),
      epb(true, { ifid: 0, ...ticks(7n), data: c.subarray(0, 4) }),
    );
    const reader = CaptureReader.fromBytes(bytes);
    const got = readAll(reader);
    expect(reader.interfaces.map((i) => [i.linkType, i.snaplen, i.name, i.tsResolutionNs, i.section, i.localId])).toEqual([
      [LINKTYPE_ETHERNET, 100, undefined, 1000, 0, 0],
      [LINKTYPE_LINUX_SLL, 16, 'any', 1_000_000, 1, 0],
      [LINKTYPE_RAW, 0, undefined, 1, 1, 1],
      [LINKTYPE_IPV4, 0, undefined, 1000, 2, 0],
    ]);
    expect(got.map((r) => [r.interfaceId, r.linkType, r.caplen, r.len, r.tsSec, r.tsNsec])).toEqual([
      [0, LINKTYPE_ETHERNET, 30, 30, 1, 1000],
      [1, LINKTYPE_LINUX_SLL, 16, 30, 0, 0], // SPB: no timestamp
      [2, LINKTYPE_RAW, 32, 1500, 2, 500_000_001],
      [1, LINKTYPE_LINUX_SLL, 8, 40, 5, 123_000_000],
      [3, LINKTYPE_IPV4, 4, 4, 0, 7000],
    ]);
    expect(got[1].data).toEqual(Array.from(c.subarray(0, 16)));
    expect(got[2].data).toEqual(Array.from(d));
  });

  it.each([
    ['10^-6 (default)', undefined, 1_700_000_000_123_456n, 1_700_000_000, 123_456_000],
    ['10^-9', 9, 1_700_000_000_987_654_321n, 1_700_000_000, 987_654_321],
    ['10^-3', 3, 1_700_000_000_123n, 1_700_000_000, 123_000_000],
    ['10^0', 0, 1_700_000_000n, 1_700_000_000, 0],
    ['2^-10', 0x8a, (1_700_000_000n << 10n) + 512n, 1_700_000_000, 500_000_000],
    ['2^-20', 0x94, (1_700_000_000n << 20n) + 1n, 1_700_000_000, 953], // 1e9 / 2^20 = 953.67
    ['2^-32', 0xa0, (1n << 32n) + 0xffffffffn, 1, 999_999_999],
    ['2^-3', 0x83, 8n * 1_000n + 3n, 1000, 375_000_000],
    ['10^-12 (BigInt path)', 12, 10_000_000_123_456_789_012n, 10_000_000, 123_456_789],
    ['2^-40 (BigInt path)', 0xa8, (3n << 40n) + (1n << 39n), 3, 500_000_000],
    ['max ticks at 10^-9', 9, 0xffffffffffffffffn, 18_446_744_073, 709_551_615],
  ])('converts timestamps at resolution %s', (_name, tsresol, t, sec, nsec) => {
    const bytes = concat(
      shb(true),
      idb(true, LINKTYPE_ETHERNET, { opts: tsresol === undefined ? [] : [ifTsresol(tsresol)] }),
      epb(true, { ifid: 0, ...ticks(t), data: packet(4) }),
    );
    const [r] = readAll(CaptureReader.fromBytes(bytes));
    expect([r.tsSec, r.tsNsec]).toEqual([sec, nsec]);
  });

  it('adds if_tsoffset seconds (both byte orders)', () => {
    for (const le of [true, false]) {
      const bytes = concat(
        shb(le),
        idb(le, LINKTYPE_ETHERNET, { opts: [ifTsoffset(le, 1_600_000_000), ifTsresol(9)] }),
        epb(le, { ifid: 0, ...ticks(2_000_000_005n), data: packet(4) }),
      );
      const [r] = readAll(CaptureReader.fromBytes(bytes));
      expect([r.tsSec, r.tsNsec]).toEqual([1_600_000_002, 5]);
    }
  });

  it('ignores EPB options', () => {
    const bytes = concat(
      shb(true),
      idb(true, 1),
      epb(true, { ifid: 0, tsHi: 0, tsLo: 5, data: packet(5), opts: [[1, [104, 105, 0]], [2, [1, 0, 0, 0]]] }),
    );
    const [r] = readAll(CaptureReader.fromBytes(bytes));
    expect(r.data).toEqual(Array.from(packet(5)));
  });
});

describe('files and buffers', () => {
  const big = concat(
    pcapHeader({ le: true, linkType: 1, snaplen: 262144 }),
    ...Array.from({ length: 40 }, (_, i) =>
      pcapRecord(true, { tsSec: i, frac: i * 7, data: packet(i % 5 === 4 ? 70_000 : 1 + ((i * 97) % 1514), i) }),
    ),
  );
  const ng = concat(
    shb(true),
    idb(true, 1, { opts: [ifName('x')] }),
    otherBlock(true, 0xbad, 5000),
    ...Array.from({ length: 40 }, (_, i) =>
      epb(true, { ifid: 0, tsHi: 0, tsLo: i * 1000, data: packet(i % 5 === 4 ? 70_000 : 1 + ((i * 31) % 1514), i) }),
    ),
    shb(false),
    idb(false, 101),
    epb(false, { ifid: 0, tsHi: 0, tsLo: 1, data: packet(100) }),
  );

  it.each([
    ['pcap', big],
    ['pcapng', ng],
  ])('reads a %s file in small chunks (refills, growth, skips) exactly as from memory', (name, bytes) => {
    const expected = readAll(CaptureReader.fromBytes(bytes));
    const path = tmpFile(`chunks.${name}`, bytes);
    for (const chunkSize of [64, 1000, 4096, 1 << 20]) {
      const reader = CaptureReader.open(path, { chunkSize });
      expect(readAll(reader)).toEqual(expected);
      expect(reader.bytesRead).toBe(bytes.length);
      reader.close();
    }
  });

  it('readCapture yields independent copies and closes the file, also on early return', () => {
    const path = tmpFile('gen.pcap', big);
    const fds = (): number => readdirSync('/proc/self/fd').length;
    const before = fds();
    const all = [...readCapture(path)];
    expect(all.length).toBe(40);
    expect(all.map(plain)).toEqual(readAll(CaptureReader.fromBytes(big)));
    expect(all[0].buffer).not.toBe(all[1].buffer);
    for (const r of readCapture(path)) {
      expect(r.caplen).toBeGreaterThan(0);
      break;
    }
    expect(fds()).toBe(before);
    expect([...readCapture(big)].length).toBe(40);
  });

  it('next() keeps throwing the same error after a corrupt record, and returns false after close()', () => {
    const reader = CaptureReader.fromBytes(concat(big.subarray(0, 100)));
    expect(() => readAll(reader)).toThrow(CaptureFormatError);
    let again: unknown;
    try {
      reader.next();
    } catch (e) {
      again = e;
    }
    expect(again).toBeInstanceOf(CaptureFormatError);
    const ok = CaptureReader.fromBytes(big);
    ok.close();
    expect(ok.next()).toBe(false);
  });
});

describe('not a capture', () => {
  function formatError(bytes: Uint8Array): CaptureFormatError {
    try {
      const r = CaptureReader.fromBytes(bytes);
      while (r.next());
    } catch (e) {
      if (e instanceof CaptureFormatError) return e;
      throw e;
    }
    throw new Error('no error');
  }

  it('an empty file', () => {
    const e = formatError(new Uint8Array(0));
    expect(e.offset).toBe(0);
    expect(e.message).toBe('empty file at byte 0: no pcap or pcapng header (0 bytes)');
    const path = tmpFile('empty.pcap', new Uint8Array(0));
    expect(() => CaptureReader.open(path)).toThrow('empty file');
  });

  it('a text file, with the magic it saw', () => {
    const e = formatError(new TextEncoder().encode('hello world\n'));
    expect(e.offset).toBe(0);
    expect(e.message).toBe('not a pcap or pcapng file at byte 0: magic bytes 68 65 6c 6c');
  });

  it('a gzip file, with a hint', () => {
    expect(formatError(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0])).message).toContain('gzip-compressed');
  });

  it('too short for a header', () => {
    expect(formatError(new Uint8Array([0xd4, 0xc3])).message).toContain('too short');
    expect(formatError(pcapHeader({ le: true, linkType: 1 }).subarray(0, 20)).message).toBe(
      'truncated pcap file header at byte 0: 24 bytes needed, file has 20',
    );
  });

  it('unsupported versions', () => {
    expect(formatError(pcapHeader({ le: true, linkType: 1, major: 1 })).message).toContain('unsupported pcap version');
    expect(formatError(shb(true, { major: 2 })).message).toContain('unsupported pcapng version at byte 0: 2.0');
  });
});
