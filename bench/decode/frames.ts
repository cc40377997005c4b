// Frame sets for decode benchmarks: synthetic 64-byte frames and the frames of
// a real capture, each packed into one arena with an offset/length table, as
// the pipeline will see them.
import { existsSync } from 'node:fs';
import { internetChecksum, finishChecksum, sumWords, pseudoHeaderSumFromIpv4 } from '../../src/wire/checksum.js';
import { CaptureReader } from '../../src/pcap/reader.js';

export interface FrameSet {
  label: string;
  arena: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
  linkType: number;
  count: number;
  bytes: number;
}

/** 64-byte Ethernet/IPv4/UDP frames (60 bytes + FCS on the wire) with valid checksums and varied flows. */
export function synthetic64(count: number): FrameSet {
  const FRAME = 60;
  const arena = new Uint8Array(count * FRAME);
  const offsets = new Uint32Array(count);
  const lengths = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const o = i * FRAME;
    offsets[i] = o;
    lengths[i] = FRAME;
    const b = arena;
    b.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00], o);
    const ip = o + 14;
    const total = FRAME - 14;
    b[ip] = 0x45;
    b[ip + 2] = total >> 8;
    b[ip + 3] = total & 0xff;
    b[ip + 4] = i >> 8;
    b[ip + 5] = i & 0xff;
    b[ip + 8] = 64;
    b[ip + 9] = 17;
    b.set([198, 18, (i >> 8) & 0xff, i & 0xff, 198, 19, 0, 1], ip + 12);
    const ipCsum = internetChecksum(b, ip, 20);
    b[ip + 10] = ipCsum >> 8;
    b[ip + 11] = ipCsum & 0xff;
    const udp = ip + 20;
    const udpLen = total - 20;
    const sport = 1024 + (i % 60000);
    b.set([sport >> 8, sport & 0xff, 0x00, 0x09, udpLen >> 8, udpLen & 0xff], udp);
    for (let k = udp + 8; k < o + FRAME; k++) b[k] = k & 0xff;
    let c = finishChecksum(sumWords(b, udp, udpLen, pseudoHeaderSumFromIpv4(b, ip, 17, udpLen)));
    if (c === 0) c = 0xffff;
    b[udp + 6] = c >> 8;
    b[udp + 7] = c & 0xff;
  }
  return { label: '64B Ethernet/IPv4/UDP', arena, offsets, lengths, linkType: 1, count, bytes: count * FRAME };
}

/** All frames of a real capture, repeated until at least `minCount` frames. */
export function fromCapture(path: string, minCount: number): FrameSet | undefined {
  if (!existsSync(path)) return undefined;
  const frames: Uint8Array[] = [];
  let linkType = -1;
  const reader = CaptureReader.open(path);
  try {
    while (reader.next()) {
      const r = reader.record;
      if (linkType === -1) linkType = r.linkType;
      if (r.linkType !== linkType) continue;
      frames.push(r.data.slice());
    }
  } finally {
    reader.close();
  }
  if (frames.length === 0) return undefined;
  const copies = Math.max(1, Math.ceil(minCount / frames.length));
  const count = frames.length * copies;
  let bytes = 0;
  for (const f of frames) bytes += f.length;
  bytes *= copies;
  const arena = new Uint8Array(bytes);
  const offsets = new Uint32Array(count);
  const lengths = new Uint32Array(count);
  let o = 0;
  for (let c = 0, i = 0; c < copies; c++) {
    for (const f of frames) {
      arena.set(f, o);
      offsets[i] = o;
      lengths[i] = f.length;
      o += f.length;
      i++;
    }
  }
  return { label: path.split('/').slice(-2).join('/'), arena, offsets, lengths, linkType, count, bytes };
}
