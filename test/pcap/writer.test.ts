import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../src/pcap/link-type.js';
import { CaptureReader } from '../../src/pcap/reader.js';
import { MemorySink, PcapngWriter, PcapWriter } from '../../src/pcap/writer.js';
import { hasTool, readOurs, runTshark } from './oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'pcap-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const words = (s: string): string => s.replace(/\s+/g, '');

/** The fixed input of the golden tests. */
function writeFixed(w: { write(...a: never[]): void }, ng: boolean): void {
  const a = new Uint8Array([1, 2, 3, 4, 5]);
  const b = new Uint8Array([6, 7, 8, 9, 10, 11]);
  if (ng) {
    const n = w as unknown as PcapngWriter;
    n.write(0, a, 1_700_000_000, 123_456_789);
    n.write(1, b, 1, 2, 1500);
  } else {
    const p = w as unknown as PcapWriter;
    p.write(a, 1_700_000_000, 123_456_789);
    p.write(b, 1, 2, 1500);
  }
}

describe('golden bytes', () => {
  it('pcap, microseconds: header, then record headers with the fraction cut to microseconds', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: LINKTYPE_ETHERNET, snaplen: 4 });
    writeFixed(w, false);
    w.close();
    expect(hex(sink.bytes())).toBe(
      words(`
        d4c3b2a1 0200 0400 00000000 00000000 04000000 01000000
        00f15365 40e20100 04000000 05000000 01020304
        01000000 00000000 04000000 dc050000 06070809`),
    );
  });

  it('pcap, nanoseconds: magic a1b23c4d and the fraction as given', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: LINKTYPE_RAW, nanosecond: true });
    writeFixed(w, false);
    w.close();
    expect(hex(sink.bytes())).toBe(
      words(`
        4d3cb2a1 0200 0400 00000000 00000000 00000400 65000000
        00f15365 15cd5b07 05000000 05000000 0102030405
        01000000 02000000 06000000 dc050000 060708090a0b`),
    );
  });

  it('pcapng: SHB, an IDB per interface with if_name and if_tsresol, EPBs padded with end of options', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink, {
      interfaces: [
        { name: 'eth0', linkType: LINKTYPE_ETHERNET },
        { name: 'tun0', linkType: LINKTYPE_RAW, snaplen: 4 },
      ],
      nanosecond: true,
    });
    writeFixed(w, true);
    w.close();
    expect(hex(sink.bytes())).toBe(
      words(`
        0a0d0d0a 1c000000 4d3c2b1a 0100 0000 ffffffff ffffffff 1c000000
        01000000 28000000 0100 0000 00000400 0200 0400 65746830 0900 0100 09000000 00000000 28000000
        01000000 28000000 6500 0000 04000000 0200 0400 74756e30 0900 0100 09000000 00000000 28000000
        06000000 2c000000 00000000 fe9c9717 15cd853d 05000000 05000000 0102030405000000 00000000 2c000000
        06000000 28000000 01000000 00000000 02ca9a3b 04000000 dc050000 06070809 00000000 28000000`),
    );
  });

  it('pcapng, microseconds: if_tsresol 6 and timestamps in microsecond ticks', () => {
    const sink = new MemorySink();
    const w = new PcapngWriter(sink, { interfaces: [{ name: '', linkType: LINKTYPE_ETHERNET, snaplen: 0 }] });
    w.write(0, new Uint8Array([0xaa]), 1_700_000_000, 123_456_789);
    w.close();
    // 1700000000123456 us = 0x00060a24_18202240; snaplen 0 means no limit.
    expect(hex(sink.bytes().subarray(28))).toBe(
      words(`
        01000000 20000000 0100 0000 00000000 0900 0100 06000000 00000000 20000000
        06000000 28000000 00000000 240a0600 40222018 01000000 01000000 aa000000 00000000 28000000`),
    );
  });
});

describe('writers', () => {
  it('write files that tshark and capinfos accept, with the same records we read back', () => {
    const pcapPath = join(dir, 'fixed.pcap');
    const ngPath = join(dir, 'fixed.pcapng');
    const p = new PcapWriter(pcapPath, { linkType: LINKTYPE_ETHERNET, nanosecond: true });
    const n = new PcapngWriter(ngPath, {
      interfaces: [
        { name: 'eth0', linkType: LINKTYPE_ETHERNET },
        { name: 'raw0', linkType: LINKTYPE_RAW, snaplen: 128 },
      ],
      nanosecond: false,
    });
    for (let i = 0; i < 100; i++) {
      const data = new Uint8Array(14 + ((i * 37) % 1500)).fill(i);
      p.write(data, 1_700_000_000 + i, i * 1_000_001);
      n.write(i & 1, data, 1_700_000_000 + i, i * 1000, data.length + (i & 3));
    }
    p.close();
    n.close();
    for (const path of [pcapPath, ngPath]) {
      const ours = readOurs(path);
      expect(ours.error).toBeUndefined();
      expect(ours.lines.length).toBe(100);
      if (hasTool('capinfos')) {
        const c = spawnSync('capinfos', ['-c', '-M', path], { encoding: 'utf8' });
        expect(c.status).toBe(0);
        expect(c.stdout).toMatch(/Number of packets:\s+100\b/);
      }
      if (hasTool('tshark')) {
        const t = runTshark(path);
        expect(t.stderr).toBe('');
        expect(t.ok).toBe(true);
        expect(ours.lines).toEqual(t.lines);
      }
    }
  });

  it('cut packets to the snaplen and keep the original length', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: 1, snaplen: 10 });
    w.write(new Uint8Array(100).fill(7), 1, 0);
    w.close();
    const r = CaptureReader.fromBytes(sink.bytes());
    expect(r.next()).toBe(true);
    expect([r.record.caplen, r.record.len]).toEqual([10, 100]);
  });

  it('MemorySink keeps a copy of what was written, also when given a Buffer the caller then reuses', () => {
    const sink = new MemorySink();
    const reused = Buffer.alloc(8, 1);
    sink.write(reused.subarray(0, 4));
    reused.fill(2);
    sink.write(new Uint8Array(reused.buffer, reused.byteOffset, 4));
    reused.fill(3);
    expect(Array.from(sink.bytes())).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
  });

  it('reject values that do not fit the format, and writes after close', () => {
    const w = new PcapWriter(new MemorySink(), { linkType: 1 });
    expect(() => w.write(new Uint8Array(1), -1, 0)).toThrow(RangeError);
    expect(() => w.write(new Uint8Array(1), 2 ** 32, 0)).toThrow(RangeError);
    expect(() => w.write(new Uint8Array(1), 1.5, 0)).toThrow(RangeError);
    const n = new PcapngWriter(new MemorySink(), { interfaces: [{ name: 'a', linkType: 1 }] });
    expect(() => n.write(1, new Uint8Array(1), 0, 0)).toThrow(RangeError);
    expect(() => new PcapngWriter(new MemorySink(), { interfaces: [{ name: 'a', linkType: 70000 }] })).toThrow(RangeError);
    w.close();
    expect(() => w.write(new Uint8Array(1), 1, 0)).toThrow('write after close');
  });

  it('grow the buffer for a packet bigger than it, and flush in chunks', () => {
    const chunks: number[] = [];
    const w = new PcapWriter({ write: (c) => chunks.push(c.length) }, { linkType: 1, snaplen: 4 << 20 });
    w.write(new Uint8Array(3 << 20).fill(1), 1, 0);
    for (let i = 0; i < 1000; i++) w.write(new Uint8Array(1500), 1, 0);
    w.close();
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(24 + 16 + (3 << 20) + 1000 * 1516);
    expect(chunks.length).toBeLessThan(5);
  });

  it('write to a file path through fs.writeSync', () => {
    const path = join(dir, 'path.pcap');
    const sink = new MemorySink();
    for (const target of [path, sink]) {
      const w = new PcapWriter(target, { linkType: 1 });
      writeFixed(w, false);
      w.close();
    }
    expect(hex(readFileSync(path))).toBe(hex(sink.bytes()));
  });
});

describe('round trip (fast-check)', () => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const packetBytes = fc.uint8Array({ maxLength: 1600 });

  it('pcap: write then read gives back every record and timestamp, and re-writing is byte-identical', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 1, max: 2000 }),
        fc.array(fc.record({ data: packetBytes, tsSec: u32, ns: fc.integer({ min: 0, max: 999_999_999 }), extra: fc.nat(100) }), {
          maxLength: 30,
        }),
        (nanosecond, snaplen, records) => {
          const sink = new MemorySink();
          const w = new PcapWriter(sink, { linkType: LINKTYPE_ETHERNET, snaplen, nanosecond });
          const tsNsec = (ns: number): number => (nanosecond ? ns : ns - (ns % 1000));
          for (const r of records) w.write(r.data, r.tsSec, tsNsec(r.ns), r.data.length + r.extra);
          w.close();
          const bytes = sink.bytes();
          const reader = CaptureReader.fromBytes(bytes);
          const again = new MemorySink();
          const w2 = new PcapWriter(again, { linkType: reader.interfaces[0].linkType, snaplen, nanosecond });
          for (const r of records) {
            expect(reader.next()).toBe(true);
            const got = reader.record;
            const caplen = Math.min(r.data.length, snaplen);
            expect(got.data).toEqual(r.data.subarray(0, caplen));
            expect([got.caplen, got.len, got.tsSec, got.tsNsec]).toEqual([caplen, r.data.length + r.extra, r.tsSec, tsNsec(r.ns)]);
            w2.write(got.data, got.tsSec, got.tsNsec, got.len);
          }
          expect(reader.next()).toBe(false);
          w2.close();
          expect(again.bytes()).toEqual(bytes);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('pcapng: write then read gives back interfaces, records and timestamps, and re-writing is byte-identical', () => {
    const iface = fc.record({
      name: fc.string({ maxLength: 20 }).filter((s) => !s.endsWith('\0')),
      linkType: fc.integer({ min: 0, max: 0xffff }),
      snaplen: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2000 })),
    });
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(iface, { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ i: fc.nat(), data: packetBytes, tsSec: u32, ns: fc.integer({ min: 0, max: 999_999_999 }), extra: fc.nat(100) }), {
          maxLength: 30,
        }),
        (nanosecond, interfaces, records) => {
          const sink = new MemorySink();
          const w = new PcapngWriter(sink, { interfaces, nanosecond });
          const tsNsec = (ns: number): number => (nanosecond ? ns : ns - (ns % 1000));
          for (const r of records) w.write(r.i % interfaces.length, r.data, r.tsSec, tsNsec(r.ns), r.data.length + r.extra);
          w.close();
          const bytes = sink.bytes();
          const reader = CaptureReader.fromBytes(bytes);
          const again = new MemorySink();
          let w2: PcapngWriter | undefined;
          for (const r of records) {
            expect(reader.next()).toBe(true);
            w2 ??= new PcapngWriter(again, {
              interfaces: reader.interfaces.map((x) => ({ name: x.name ?? '', linkType: x.linkType, snaplen: x.snaplen })),
              nanosecond: reader.interfaces[0].tsResolutionNs === 1,
            });
            const got = reader.record;
            const id = r.i % interfaces.length;
            const snaplen = interfaces[id].snaplen;
            const caplen = snaplen === 0 ? r.data.length : Math.min(r.data.length, snaplen);
            expect(got.data).toEqual(r.data.subarray(0, caplen));
            expect([got.interfaceId, got.caplen, got.len, got.tsSec, got.tsNsec]).toEqual([
              id,
              caplen,
              r.data.length + r.extra,
              r.tsSec,
              tsNsec(r.ns),
            ]);
            w2.write(got.interfaceId, got.data, got.tsSec, got.tsNsec, got.len);
          }
          expect(reader.next()).toBe(false);
          expect(reader.interfaces.map((x) => ({ name: x.name ?? '', linkType: x.linkType, snaplen: x.snaplen }))).toEqual(
            interfaces.map((x) => ({ ...x, linkType: x.linkType === 12 || x.linkType === 14 ? LINKTYPE_RAW : x.linkType })),
          );
          if (w2 && !interfaces.some((x) => x.linkType === 12 || x.linkType === 14)) {
            w2.close();
            expect(again.bytes()).toEqual(bytes);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
