// A parallel replay of a capture full of frames the router cannot take or
// drops (runts, bad IPv4 headers, other link types, frames cut by the
// snaplen, too big, on no port), over many of the shards' chunks: every
// shard reads the whole capture and keeps its own flows' frames
// (shard-worker.ts), so each must count what one worker counts and the
// merge must write, byte for byte, what one worker writes, from a file and
// from memory, whatever the main thread's share of the flows; and a
// truncated capture must end with one worker's error, not a crash or a hang.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { PcapngWriter } from '../../src/pcap/writer.js';
import { arpFrame, tcpFrame, udpFrame } from '../pipeline/build.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-replay-messy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LAN_MAC = '02:00:00:00:00:01';
const WAN_MAC = '02:00:00:00:00:02';
const CLIENT_MAC = '02:aa:00:00:00:01';
const GW_MAC = '02:bb:00:00:00:fe';
const T0 = 1_700_000_000;
const LINKTYPE_RAW = 101;

// BASE_CONFIG's ports and routes with an ICMP limit that is never reached (a limit shared by all flows sends the replay back to one worker).
const CONFIG = `
ports:
  - { name: lan, mac: "${LAN_MAC}", address: 192.0.2.1/25 }
  - { name: wan, mac: "${WAN_MAC}", address: 198.51.100.1/24, mtu: 1400 }
  - { name: dmz, mac: "02:00:00:00:00:03", address: 203.0.113.1/26 }
routes:
  - 192.0.2.128/25 via 198.51.100.254
neighbors:
  - { address: 198.51.100.254, mac: "${GW_MAC}" }
  - { address: 192.0.2.10, mac: "${CLIENT_MAC}" }
icmp: { ratePerSecond: 1000000000, burst: 1000000000 }
`;

/** A capture of flows in both directions, with frames the router cannot take or drops mixed in; large enough for many of the shards' chunks (CHUNK_INPUT_BYTES of capture each). */
function messyCapture(): Uint8Array {
  const path = join(dir, 'messy.pcapng');
  const w = new PcapngWriter(path, {
    interfaces: [
      { name: 'lan', linkType: LINKTYPE_ETHERNET, snaplen: 1200 },
      { name: 'wan', linkType: LINKTYPE_ETHERNET },
      { name: 'dmz', linkType: LINKTYPE_ETHERNET },
      { name: 'tun', linkType: LINKTYPE_RAW },
      { name: 'nowhere', linkType: LINKTYPE_ETHERNET },
    ],
    nanosecond: true,
  });
  const lan = (dst: string) => ({ src: '192.0.2.10', dst, srcMac: CLIENT_MAC, dstMac: LAN_MAC });
  let us = 0;
  for (let i = 0; i < 24_000; i++) {
    // Busy stretches (full batches) and gaps of a few ms (batches with one shard's frames only, or none).
    us += i % 3000 === 0 ? 4000 : 3;
    const host = `192.0.2.${130 + (i % 97)}`;
    let port = 0;
    let bytes: Uint8Array;
    if (i % 13 === 1) bytes = new Uint8Array(10).fill(0xab); // a runt: no Ethernet header
    else if (i % 17 === 2) bytes = tcpFrame(lan(host), 40000, 80, 0x10).subarray(0, 14 + 12); // IPv4 cut inside its header
    else if (i % 19 === 3) {
      bytes = tcpFrame(lan(host), 40001, 80, 0x10);
      bytes[14] = 0x65; // version 6 in an IPv4 ethertype
    } else if (i % 23 === 4) {
      bytes = udpFrame(lan(host), 40002, 53);
      bytes[14] = 0x43; // IHL 3 (12 bytes)
    } else if (i % 29 === 5) bytes = arpFrame(1, CLIENT_MAC, '192.0.2.10', '00:00:00:00:00:00', '192.0.2.1');
    else if (i % 31 === 6) {
      bytes = udpFrame(lan(host), 40003, 53).slice();
      bytes[12] = 0x86;
      bytes[13] = 0xdd; // IPv6
    } else if (i % 37 === 7) {
      const plain = udpFrame(lan(host), 40004, 53);
      bytes = new Uint8Array(plain.length + 4);
      bytes.set(plain.subarray(0, 12));
      bytes.set([0x81, 0x00, 0x00, 0x05], 12); // VLAN 5, on a port without VLANs
      bytes.set(plain.subarray(12), 16);
    } else if (i % 41 === 8) bytes = udpFrame(lan(host), 40005, 9, 1300); // cut by lan's 1200-byte snaplen
    else if (i % 43 === 9) {
      port = 3; // a raw-IP interface: not Ethernet
      bytes = udpFrame(lan(host), 40006, 53).subarray(14);
    } else if (i % 47 === 10) {
      port = 4; // an interface no port has
      bytes = udpFrame(lan(host), 40007, 53);
    } else if (i % 53 === 11) {
      port = 1;
      bytes = new Uint8Array(12_000); // larger than any batch slot
    } else if (i % 59 === 12) {
      bytes = udpFrame(lan(host), 40008, 53).slice();
      bytes[14 + 3] = 0xff; // total length past the frame
    } else if (i % 61 === 13) {
      bytes = udpFrame(lan(host), 40009, 53).slice();
      bytes[14 + 10] ^= 0xff; // bad header checksum
    } else if (i % 2 === 0) bytes = tcpFrame(lan(host), 40000 + (i % 50), 80, 0x18, 100 + (i % 900), i);
    else {
      port = 1;
      bytes = tcpFrame({ src: host, dst: '192.0.2.10', srcMac: GW_MAC, dstMac: WAN_MAC }, 80, 40000 + (i % 50), 0x18, 300 + (i % 1000), i);
    }
    w.write(port, bytes, T0 + Math.floor(us / 1e6), (us % 1e6) * 1000);
  }
  w.close();
  return readFileSync(path);
}

describe('parallel replay of a messy capture', () => {
  const dist = (p: string) => pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'src', p)).href;
  const load = async () => ({
    ...((await import(dist('replay/parallel-replay.js'))) as typeof import('../../src/replay/parallel-replay.js')),
    ...((await import(dist('config/load.js'))) as typeof import('../../src/config/load.js')),
    ...((await import(dist('pcap/writer.js'))) as typeof import('../../src/pcap/writer.js')),
  });

  it('a messy capture over many chunks: one worker\'s counts (skipped frames, drops) and file byte for byte, from a file and from memory', async () => {
    const { replayParallel, loadConfig, MemorySink, CHUNK_INPUT_BYTES } = await load();
    const configPath = join(dir, 'messy.yaml');
    writeFileSync(configPath, CONFIG);
    const config = loadConfig(configPath);
    const bytes = messyCapture();
    expect(bytes.length).toBeGreaterThan(8 * CHUNK_INPUT_BYTES);
    const inputPath = join(dir, 'messy.pcapng');
    const oneOut = join(dir, 'messy-1.pcapng');
    const one = await replayParallel(config, inputPath, oneOut, 1);
    // What the capture holds was seen and counted, not lost.
    const skipped = one.summary.skipped;
    expect(Object.keys(skipped).sort()).toEqual(['frame cut short by the capture snaplen', 'frame larger than 1920 bytes', 'interface 4 matches no port', 'link type 101 (not Ethernet)'].sort());
    expect(one.summary.framesRead).toBe(24_000);
    const oneBytes = readFileSync(oneOut);
    for (const n of [2, 3]) {
      const out = join(dir, `messy-${n}.pcapng`);
      const par = await replayParallel(config, inputPath, out, n);
      expect(par.fallback, `${n} workers`).toBeUndefined();
      expect(par.workers).toBe(n);
      expect(par.summary).toEqual(one.summary);
      expect(Buffer.compare(readFileSync(out), oneBytes), `${n} workers, file`).toBe(0);
      const sink = new MemorySink();
      const mem = await replayParallel(config, bytes, sink, n);
      expect(mem.summary).toEqual(one.summary);
      expect(Buffer.compare(Buffer.from(sink.bytes()), oneBytes), `${n} workers, memory`).toBe(0);
      // The main thread's share of the flows changes who routes what, never the result: none (the default), half a pool shard's, twice one.
      for (const mainShare of [4, 16]) {
        const shared = join(dir, `messy-${n}-share${mainShare}.pcapng`);
        const s = await replayParallel(config, inputPath, shared, n, { mainShare });
        expect(s.fallback, `${n} workers, share ${mainShare}`).toBeUndefined();
        expect(s.summary).toEqual(one.summary);
        expect(Buffer.compare(readFileSync(shared), oneBytes), `${n} workers, share ${mainShare}, file`).toBe(0);
      }
    }
    await expect(replayParallel(config, inputPath, join(dir, 'messy-bad.pcapng'), 2, { mainShare: 17 })).rejects.toThrow(/mainShare must be an integer in 0\.\.16 \(got 17\)/);
  }, 120_000);

  it('a capture cut inside a record: one worker\'s error (the byte offset), from a file and from memory; no OUT', async () => {
    const { replayParallel, loadConfig, MemorySink } = await load();
    const configPath = join(dir, 'cut.yaml');
    writeFileSync(configPath, CONFIG);
    const config = loadConfig(configPath);
    const whole = messyCapture();
    // Past the first chunks, inside a record.
    const cut = whole.subarray(0, (5 << 20) + 7);
    const cutPath = join(dir, 'cut.pcapng');
    writeFileSync(cutPath, cut);
    const errorOf = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    const oneMsg = await errorOf(replayParallel(config, cutPath, join(dir, 'cut-1.pcapng'), 1));
    expect(oneMsg).toMatch(/truncated .* at byte \d+/);
    for (const n of [2, 3]) {
      const out = join(dir, `cut-${n}.pcapng`);
      expect(await errorOf(replayParallel(config, cutPath, out, n)), `${n} workers, file`).toBe(oneMsg);
      expect(existsSync(out)).toBe(false);
      const sink = new MemorySink();
      expect(await errorOf(replayParallel(config, cut, sink, n)), `${n} workers, memory`).toBe(await errorOf(replayParallel(config, cut, new MemorySink(), 1)));
      expect(sink.bytes().length).toBe(0);
    }
  }, 120_000);
});
