// Every capture of the shared corpus (../shared/data/pcaps: libpcap's,
// tcpdump's, scapy's and tcpreplay's test files) against tshark and tcpdump.
//
// Running tshark on ~950 files takes minutes, so its answers are kept in
// fixtures/oracle.json with the sha1 of each file; a file that is new or has
// changed is asked live (when tshark is installed). Regenerate with
//   UPDATE_PCAP_ORACLE=1 npx vitest run test/pcap/corpus.test.ts
//
// Rules: the reader never throws anything but CaptureFormatError. Where
// tshark read the whole file, we read the same records (caplen, len,
// timestamp, interface) and no error. Where tshark stopped or refused (unknown
// link types, bad versions, truncation), its records are a prefix of ours; then
// libpcap's count (tcpdump --count) decides: equal when libpcap read it all.
// Known differences, emulated in oracle.ts: tshark keeps nanoseconds in an
// int32 (an out-of-range pcap fraction wraps), and it moves SunATM's 4-byte
// pseudo-header out of the frame.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureFormatError, CaptureReader } from '../../src/pcap/reader.js';
import {
  DATA_DIR,
  FIXTURE,
  hasTool,
  listCaptures,
  loadFixture,
  oracleEntry,
  readOurs,
  runTshark,
  sha1,
} from './oracle.js';
import type { OracleEntry, OracleFixture, OurRead } from './oracle.js';
import { skipIf } from '../skip.js';

const files = listCaptures();
const fixture = loadFixture();
const haveTshark = hasTool('tshark');
const UPDATE = process.env.UPDATE_PCAP_ORACLE === '1';

/** What is wrong with our reading of a file, or null. */
function judge(ours: OurRead, entry: OracleEntry): string | null {
  if (ours.crash !== undefined) return `threw a non-CaptureFormatError: ${String(ours.crash)}`;
  const stop = ours.error ? ` (stopped: ${ours.error.message})` : '';
  const n = entry.tshark.count;
  if (ours.lines.length < n) return `read ${ours.lines.length} records, tshark read ${n}${stop}`;
  if (sha1(ours.lines.slice(0, n).join('\n')) !== entry.tshark.sha1) return 'records differ from what tshark says';
  if (entry.tshark.ok) {
    if (ours.error) return `tshark read it all, we stopped: ${ours.error.message}`;
    if (ours.lines.length !== n) return `read ${ours.lines.length} records, tshark read ${n}`;
    return null;
  }
  const lib = entry.tcpdump;
  if (lib?.ok && (ours.error || ours.lines.length !== lib.count)) {
    return `libpcap read ${lib.count} records and no error, we read ${ours.lines.length}${stop}`;
  }
  if (lib && !lib.ok && ours.lines.length < lib.count) return `libpcap read ${lib.count}, we read ${ours.lines.length}${stop}`;
  return null;
}

/** The first line where we and tshark differ, asked live. */
function firstDifference(path: string, ours: OurRead): string {
  if (!haveTshark) return '';
  const t = runTshark(path).lines;
  const i = t.findIndex((line, k) => ours.lines[k] !== line);
  return i < 0 ? '' : `; record ${i}: ours ${JSON.stringify(ours.lines[i])}, tshark ${JSON.stringify(t[i])}`;
}

async function entryFor(rel: string, path: string): Promise<OracleEntry | undefined> {
  const known = fixture?.files[rel];
  if (known && known.sha1 === sha1(readFileSync(path))) return known;
  return haveTshark ? oracleEntry(path) : undefined;
}

describe(`shared capture corpus (${DATA_DIR})`, skipIf(files.length === 0 ? `no captures in ${DATA_DIR}` : undefined), () => {
  it(
    'regenerates fixtures/oracle.json from tshark and tcpdump',
    { ...skipIf(UPDATE ? undefined : 'runs only with UPDATE_PCAP_ORACLE=1 (rewrites the fixture)'), timeout: 900_000 },
    async () => {
      const out: OracleFixture = { tools: 'tshark 4.0 (frame.cap_len, len, time_epoch, interface_id); tcpdump --count', files: {} };
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < files.length) {
          const rel = files[next++];
          out.files[rel] = await oracleEntry(join(DATA_DIR, rel));
        }
      };
      await Promise.all(Array.from({ length: 6 }, worker));
      // One line per file, so that a change in the corpus reads as a small diff.
      const lines = files.map((rel) => `  ${JSON.stringify(rel)}: ${JSON.stringify(out.files[rel])}`);
      writeFileSync(FIXTURE, `{\n "tools": ${JSON.stringify(out.tools)},\n "files": {\n${lines.join(',\n')}\n }\n}\n`);
    },
  );

  const byDir = new Map<string, string[]>();
  for (const rel of files) {
    const top = rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '.';
    byDir.set(top, [...(byDir.get(top) ?? []), rel]);
  }
  for (const [dir, rels] of byDir) {
    it(`${dir}/: all ${rels.length} captures read as tshark and libpcap say, or stop with CaptureFormatError`, skipIf(UPDATE ? 'UPDATE_PCAP_ORACLE=1: the fixture is being rewritten' : undefined), async () => {
      const problems: string[] = [];
      let compared = 0;
      for (const rel of rels) {
        const path = join(DATA_DIR, rel);
        const ours = readOurs(path);
        const entry = await entryFor(rel, path);
        if (entry === undefined) {
          if (ours.crash !== undefined) problems.push(`${rel}: threw ${String(ours.crash)}`);
          continue;
        }
        compared++;
        const problem = judge(ours, entry);
        if (problem) problems.push(`${rel}: ${problem}${firstDifference(path, ours)}`);
      }
      expect(problems).toEqual([]);
      // Without tshark and without the fixture nothing would be compared: say so rather than pass quietly.
      expect(compared, 'no oracle: install tshark or keep fixtures/oracle.json').toBe(rels.length);
    });
  }

  interface Named {
    file: string;
    what: string;
    format: 'pcap' | 'pcapng';
    /** First bytes of the file, which show the byte order and resolution. */
    magic?: string;
    records?: number;
    tsResolutionNs?: number;
    /** The CaptureFormatError expected after the records. */
    error?: { offset: number; message: string };
  }

  const named: Named[] = [
    { file: 'tcpdump/pptp.pcap', what: 'big-endian microsecond pcap', format: 'pcap', magic: 'a1b2c3d4', records: 23 },
    { file: 'tcpdump/isup.pcap', what: 'big-endian microsecond pcap', format: 'pcap', magic: 'a1b2c3d4' },
    { file: 'tcpdump/dns_tcp.pcap', what: 'little-endian microsecond pcap', format: 'pcap', magic: 'd4c3b2a1' },
    {
      file: 'tcpdump/tcp-handshake-nano.pcap',
      what: 'little-endian nanosecond pcap',
      format: 'pcap',
      magic: '4d3cb2a1',
      records: 3,
      tsResolutionNs: 1,
    },
    {
      file: 'tcpdump/timestamp_invalid_nano.pcap',
      what: 'nanosecond pcap with out-of-range fractions (passed through)',
      format: 'pcap',
      magic: '4d3cb2a1',
      records: 3,
    },
    { file: 'tcpdump/time_2106_max.pcap', what: 'the largest 32-bit timestamp', format: 'pcap', records: 1 },
    { file: 'tcpdump/bootp_asan.pcap', what: 'FCS bits in the link-type field (masked)', format: 'pcap' },
    {
      file: 'scapy/pfcp.pcap',
      what: 'big-endian pcapng with obsolete packet blocks (OPB)',
      format: 'pcapng',
      magic: '0a0d0d0a000000',
      records: 200,
    },
    {
      file: 'scapy/dcerpc_msnrpc.pcapng',
      what: 'little-endian pcapng, if_tsresol 9, with an ISB to skip',
      format: 'pcapng',
      magic: '0a0d0d0a',
      records: 10,
      tsResolutionNs: 1,
    },
    { file: 'tcpdump/dhcp-option-108.pcapng', what: 'pcapng with an ISB to skip', format: 'pcapng', records: 2 },
    { file: 'tcpdump/empty.pcapng', what: 'pcapng with no packets', format: 'pcapng', records: 0 },
    { file: 'tcpdump/dsa.pcap', what: 'a link type tshark does not know (libpcap reads 8)', format: 'pcap', records: 8 },
    {
      file: 'scapy/bad_rsn_parsing_overrides_ssid.pcap',
      what: 'a file cut in a record header',
      format: 'pcap',
      records: 1,
      error: { offset: 359, message: 'truncated record header at byte 359: 16 bytes needed, file ends after 1' },
    },
    {
      file: 'libpcap/pcap-invalid-version-1.pcap',
      what: 'pcap version 1.4',
      format: 'pcap',
      records: 0,
      error: { offset: 0, message: 'unsupported pcap version at byte 0: 1.4 (only 2.x is known)' },
    },
    {
      file: 'libpcap/pcapng-invalid-vers-1.pcapng',
      what: 'pcapng version 0.1',
      format: 'pcapng',
      records: 0,
      error: { offset: 0, message: 'unsupported pcapng version at byte 0: 0.1 (only 1.0 is known)' },
    },
    {
      file: 'libpcap/pcapng-invalid-vers-2.pcapng',
      what: 'pcapng version 1.1',
      format: 'pcapng',
      records: 0,
      error: { offset: 0, message: 'unsupported pcapng version at byte 0: 1.1 (only 1.0 is known)' },
    },
    {
      file: 'libpcap/shb-option-too-long.pcapng',
      what: 'an SHB whose trailer disagrees with its header',
      format: 'pcapng',
      records: 0,
      error: { offset: 0, message: 'corrupt block at byte 0: block length 52 in the header but 808464432 in the trailer' },
    },
  ];

  for (const n of named) {
    const path = join(DATA_DIR, n.file);
    it(`${n.what}: ${n.file}`, skipIf(files.includes(n.file) ? undefined : `${n.file} is not in ${DATA_DIR}`), async () => {
      const bytes = readFileSync(path);
      if (n.magic) expect(bytes.subarray(0, n.magic.length / 2).toString('hex')).toBe(n.magic);
      let format: string;
      let tsResolutionNs = 0;
      try {
        const r = CaptureReader.open(path);
        format = r.format;
        r.next();
        tsResolutionNs = r.interfaces[0]?.tsResolutionNs ?? 0;
        r.close();
      } catch (e) {
        expect(e).toBeInstanceOf(CaptureFormatError);
        format = n.format;
      }
      expect(format).toBe(n.format);
      if (n.tsResolutionNs !== undefined) expect(tsResolutionNs).toBe(n.tsResolutionNs);
      const ours = readOurs(path);
      expect(ours.crash).toBeUndefined();
      if (n.records !== undefined) expect(ours.lines.length).toBe(n.records);
      if (n.error) {
        expect(ours.error).toBeInstanceOf(CaptureFormatError);
        expect({ offset: ours.error?.offset, message: ours.error?.message }).toEqual(n.error);
      } else {
        expect(ours.error?.message).toBeUndefined();
      }
      // Live, when tshark is here: the fixture and the reader agree with the real thing.
      if (haveTshark) {
        const t = runTshark(path);
        expect(ours.lines.slice(0, t.lines.length)).toEqual(t.lines);
        if (t.ok) expect(ours.lines.length).toBe(t.lines.length);
      }
      const entry = await entryFor(n.file, path);
      if (entry) expect(judge(ours, entry)).toBeNull();
    });
  }
});
