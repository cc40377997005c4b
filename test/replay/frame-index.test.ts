// The frame index path of a parallel replay: the main thread reads the
// capture once and tells each other shard where its frames are
// (frame-index.ts); the shards read only those (indexed-input.ts). Checked
// here: the index's words (positions past 4 GiB too), the file reader's
// windows, and a replay over several index chunks of a capture full of
// frames the router cannot take or drops (runts, bad IPv4 headers, other
// link types, frames cut by the snaplen, too big, on no port), which must
// be counted as one worker counts them and written byte for byte as one
// worker writes; and a truncated capture, which must end with one worker's
// error, not a crash or a hang.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { PcapngWriter } from '../../src/pcap/writer.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Batch } from '../../src/pipeline/batch.js';
import { FrameIndexWriter, FRAME_WORDS } from '../../src/replay/frame-index.js';
import { FileFrames, IndexedInput, MemoryFrames } from '../../src/replay/indexed-input.js';
import { arpFrame, tcpFrame, udpFrame } from '../pipeline/build.js';

const dir = mkdtempSync(join(os.tmpdir(), 'dp-replay-index-'));
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

describe('frame index', () => {
  it('keeps each shard\'s frames and batches, positions past 4 GiB included', () => {
    const w = new FrameIndexWriter(3, 4);
    const big = 5 * 2 ** 32 + 12345;
    w.frame(1, big, 60, 2, T0, 999_999_999);
    w.frame(2, 7, 1500, 0, T0 + 1, 0);
    w.endBatch(5, 1234.5);
    w.endBatch(0, NaN);
    w.frame(1, 2 ** 33, 64, 1, T0 + 2, 3);
    w.endBatch(1, 99);
    const c1 = w.finish(1, true);
    expect({ frames: c1.frameCount, batches: c1.batchCount, last: c1.last }).toEqual({ frames: 2, batches: 3, last: true });
    const f = new Uint32Array(c1.frames, 0, c1.frameCount * FRAME_WORDS);
    expect(f[0] + f[1] * 2 ** 32).toBe(big);
    expect(Array.from(f.subarray(2, 6))).toEqual([60, 2, T0, 999_999_999]);
    expect(f[FRAME_WORDS] + f[FRAME_WORDS + 1] * 2 ** 32).toBe(2 ** 33);
    expect(Array.from(new Float64Array(c1.batches, 0, 9))).toEqual([1, 5, 1234.5, 0, 0, NaN, 1, 1, 99]);
    const c2 = w.finish(2, false);
    expect({ frames: c2.frameCount, batches: c2.batchCount }).toEqual({ frames: 1, batches: 3 });
    // Buffers handed back: the chunk after the next starts empty in them.
    w.finish(2, false, { frames: c2.frames, batches: c2.batches });
    w.frame(2, 1, 60, 0, 0, 0);
    w.endBatch(1, 1);
    const again = w.finish(2, true);
    expect(again.frames).toBe(c2.frames);
    expect(again.batches).toBe(c2.batches);
    expect({ frames: again.frameCount, batches: again.batchCount }).toEqual({ frames: 1, batches: 1 });
    expect(Array.from(new Uint32Array(again.frames, 0, FRAME_WORDS))).toEqual([1, 0, 60, 0, 0, 0]);
  });

  it('a shard\'s input: its frames into each batch, the clock where the index says, and rx\'s count of all shards\' frames', () => {
    const bytes = new Uint8Array(4096).map((_, i) => i & 0xff);
    const w = new FrameIndexWriter(2, 4);
    w.frame(1, 100, 60, 1, T0, 5);
    w.frame(1, 1000, 70, 0, T0, 6);
    w.endBatch(4, 10.5);
    w.endBatch(2, NaN);
    const clock = new ManualClock();
    clock.set(3);
    const input = new IndexedInput(new MemoryFrames(bytes), clock);
    input.chunk.load(w.finish(1, true));
    const batch = new Batch();
    batch.reset();
    expect(input.rx(batch)).toBe(4);
    expect(batch.rxCount).toBe(2);
    expect(clock.nowMs()).toBe(10.5);
    expect(Array.from(batch.arena.subarray(batch.start[0], batch.start[0] + 60))).toEqual(Array.from(bytes.subarray(100, 160)));
    expect(Array.from(batch.arena.subarray(batch.start[1], batch.start[1] + 70))).toEqual(Array.from(bytes.subarray(1000, 1070)));
    expect([batch.rxPort[0], batch.rxPort[1], batch.tsNsec[1]]).toEqual([1, 0, 6]);
    batch.reset();
    expect(input.rx(batch)).toBe(2);
    expect(batch.rxCount).toBe(0);
    expect(clock.nowMs()).toBe(10.5); // no frame of any shard set it
    expect(input.chunkDone).toBe(true);
  });

  it('an index that does not add up is refused', () => {
    const w = new FrameIndexWriter(2, 4);
    w.frame(1, 0, 60, 0, 0, 0);
    const bad = w.finish(1, true); // the frame's batch was never ended
    expect(() => new IndexedInput(new MemoryFrames(new Uint8Array(64)), new ManualClock()).chunk.load(bad)).toThrow(/1 frames but its batches say 0/);
  });

  it('reads a file forward in windows, and a frame larger than the window, and says when the file is shorter than the index', () => {
    const data = new Uint8Array(3 << 20).map((_, i) => (i * 31) & 0xff);
    const path = join(dir, 'frames.bin');
    writeFileSync(path, data);
    const f = new FileFrames(path);
    try {
      for (const [pos, len] of [[10, 60], [900_000, 1500], [1_048_570, 100], [1_100_000, 2_000_000], [3_145_000, 500]] as const) {
        const at = f.at(pos, len);
        expect(Buffer.compare(f.buffer.subarray(at, at + len), data.subarray(pos, pos + len)), `${pos}+${len}`).toBe(0);
      }
      expect(() => f.at(data.length - 10, 60)).toThrow(/capture ends before the frame/);
    } finally {
      f.close();
    }
  });

  it('a batch whose frames lie in two of the file\'s windows: each frame\'s bytes in its slot (copies queued from a window are done before it moves)', () => {
    const data = new Uint8Array(3 << 20).map((_, i) => (i * 13 + (i >> 10)) & 0xff);
    const path = join(dir, 'straddle.bin');
    writeFileSync(path, data);
    // One batch: two frames in the first window (it starts at the first frame), two past its end, one in the window after.
    const frames = [[1_047_000, 1500], [1_500_000, 60], [2_095_000, 1400], [2_200_000, 70], [3_100_000, 999]] as const;
    const w = new FrameIndexWriter(2, 4);
    frames.forEach(([pos, len], k) => w.frame(1, pos, len, k % 2, T0, k));
    w.endBatch(frames.length, 1);
    const bytes = new FileFrames(path);
    try {
      const input = new IndexedInput(bytes, new ManualClock());
      input.chunk.load(w.finish(1, true));
      const batch = new Batch();
      batch.reset();
      expect(input.rx(batch)).toBe(frames.length);
      expect(batch.rxCount).toBe(frames.length);
      frames.forEach(([pos, len], k) => {
        expect(batch.length[k]).toBe(len);
        expect(Buffer.compare(batch.arena.subarray(batch.start[k], batch.start[k] + len), data.subarray(pos, pos + len)), `frame ${k} at ${pos}`).toBe(0);
        expect([batch.rxPort[k], batch.tsNsec[k]]).toEqual([k % 2, k]);
      });
    } finally {
      bytes.close();
    }
  });
});

/** A capture of flows in both directions, with frames the router cannot take or drops mixed in; large enough for several index chunks (4 MiB each). */
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

describe('parallel replay through the frame index', () => {
  const dist = (p: string) => pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'src', p)).href;
  const load = async () => ({
    ...((await import(dist('replay/parallel-replay.js'))) as typeof import('../../src/replay/parallel-replay.js')),
    ...((await import(dist('config/load.js'))) as typeof import('../../src/config/load.js')),
    ...((await import(dist('pcap/writer.js'))) as typeof import('../../src/pcap/writer.js')),
  });

  it('a messy capture over several index chunks: one worker\'s counts (skipped frames, drops) and file byte for byte, from a file and from memory', async () => {
    const { replayParallel, loadConfig, MemorySink } = await load();
    const configPath = join(dir, 'messy.yaml');
    writeFileSync(configPath, CONFIG);
    const config = loadConfig(configPath);
    const bytes = messyCapture();
    expect(bytes.length).toBeGreaterThan(3 * (4 << 20));
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
    // Past the first index chunk, inside a record.
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
