// Crafted captures with what the shared corpus lacks (it has no pcapng with
// several interfaces or sections, and no big-endian nanosecond pcap), read by
// us and by tshark: both must say the same. (Custom blocks are left out:
// tshark shows them as frames of their own; the reader skips them, as it
// returns packets only.)

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipIf } from '../skip.js';
import { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_LINUX_SLL, LINKTYPE_RAW } from '../../src/pcap/link-type.js';
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
import { hasTool, readOurs, runTshark } from './oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'pcap-crafted-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const crafted: [name: string, bytes: Uint8Array, records: number][] = [
  [
    'pcapng: three sections (little, big, little-endian), four interfaces, EPB/SPB/OPB, skipped unknown blocks',
    concat(
      shb(true),
      idb(true, LINKTYPE_ETHERNET, { snaplen: 100, opts: [ifName('eth0')] }),
      epb(true, { ifid: 0, ...ticks(1_700_000_000_000_001n), data: packet(30) }),
      otherBlock(true, 0x00000099, 16),
      shb(false),
      idb(false, LINKTYPE_LINUX_SLL, { snaplen: 16, opts: [ifName('any'), ifTsresol(3)] }),
      idb(false, LINKTYPE_RAW, { opts: [ifTsresol(9)] }),
      spb(false, 30, packet(16)),
      opb(false, { ifid: 1, ...ticks(1_700_000_000_500_000_001n), data: packet(32), len: 1500 }),
      epb(false, { ifid: 0, ...ticks(1_700_000_000_123n), data: packet(8), len: 40 }),
      otherBlock(false, 0x12345678, 8),
      shb(true, { minor: 2 }),
      idb(true, LINKTYPE_IPV4, {}),
      epb(true, { ifid: 0, ...ticks(7n), data: packet(4) }),
    ),
    5,
  ],
  [
    'pcapng: power-of-2 and millisecond resolutions, if_tsoffset',
    concat(
      shb(true),
      idb(true, 1, { opts: [ifTsresol(0x8a)] }),
      idb(true, 1, { opts: [ifTsresol(0x94)] }),
      idb(true, 1, { opts: [ifTsresol(0xa0)] }),
      idb(true, 1, { opts: [ifTsresol(3)] }),
      idb(true, 1, { opts: [ifTsoffset(true, 1_600_000_000), ifTsresol(9)] }),
      epb(true, { ifid: 0, ...ticks((1_700_000_000n << 10n) + 513n), data: packet(4) }),
      epb(true, { ifid: 1, ...ticks((1_700_000_000n << 20n) + 1n), data: packet(4) }),
      epb(true, { ifid: 2, ...ticks((1n << 32n) + 0xffffffffn), data: packet(4) }),
      epb(true, { ifid: 3, ...ticks(1_700_000_000_123n), data: packet(4) }),
      epb(true, { ifid: 4, ...ticks(2_000_000_005n), data: packet(4) }),
    ),
    5,
  ],
  [
    'pcap: big-endian nanoseconds, DLT_RAW 12',
    concat(
      pcapHeader({ le: false, nano: true, linkType: 12 }),
      pcapRecord(false, { tsSec: 5, frac: 999_999_999, data: packet(20) }),
      pcapRecord(false, { tsSec: 4_294_967_295, frac: 1, data: packet(40), len: 1500 }),
    ),
    2,
  ],
];

describe('crafted captures agree with tshark', skipIf(hasTool('tshark') ? undefined : 'tshark is not installed: apt-get install -y tshark'), () => {
  for (const [name, bytes, records] of crafted) {
    it(name, () => {
      const path = join(dir, 'crafted');
      writeFileSync(path, bytes);
      const ours = readOurs(path);
      expect(ours.error?.message).toBeUndefined();
      expect(ours.lines.length).toBe(records);
      const t = runTshark(path);
      expect(t.stderr).toBe('');
      // tshark prints no time for an SPB (it has none); we report 0.
      expect(ours.lines).toEqual(t.lines.map((l) => l.replace(/^(\d+\t\d+\t)\t/, '$10.000000000\t')));
    });
  }
});
