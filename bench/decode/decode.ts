// Decode throughput: our validating classifier (Ethernet, VLAN, IPv4 header +
// checksum, TCP/UDP/ICMP structure + checksum) versus the decoders of the
// `cap` package and of node_pcap (`pcap`), on the same frames in one run.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { classifyFrame, CLASSIFY_SLOTS } from '../../src/decode/classify.js';
import { allocationCheck, consume, measure } from '../lib/measure.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';
import { SHARED_PCAPS } from '../lib/paths.js';
import { fromCapture, synthetic64, type FrameSet } from './frames.js';

const require = createRequire(import.meta.url);

interface CapDecoders {
  Ethernet(b: Buffer, off?: number): { info: { type: number }; offset: number };
  IPV4(b: Buffer, off: number): { info: { protocol: number; totallen: number }; hdrlen: number; offset: number };
  TCP(b: Buffer, off: number): { info: { srcport: number }; offset: number };
  UDP(b: Buffer, off: number): { info: { srcport: number }; offset: number };
  ICMPV4(b: Buffer, n: number, off: number): { info: { type: number }; offset: number };
}
type NodePcapDecode = (packet: { buf: Buffer; header: Buffer; link_type: string }) => unknown;

function loadPeer<T>(load: () => T): T | undefined {
  try {
    return load();
  } catch {
    return undefined;
  }
}

function runOurs(set: FrameSet): () => void {
  const out = new Int32Array(CLASSIFY_SLOTS);
  const { arena, offsets, lengths, linkType, count } = set;
  return () => {
    let acc = 0;
    for (let i = 0; i < count; i++) acc += classifyFrame(arena, offsets[i], lengths[i], linkType, out) + out[0];
    consume(acc);
  };
}

function runCap(set: FrameSet, dec: CapDecoders): () => void {
  const bufs = Array.from({ length: set.count }, (_, i) => Buffer.from(set.arena.buffer, set.arena.byteOffset + set.offsets[i], set.lengths[i]));
  return () => {
    let acc = 0;
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i];
      const eth = dec.Ethernet(b);
      if (eth.info.type !== 0x0800) continue;
      const ip = dec.IPV4(b, eth.offset);
      acc += ip.info.protocol;
      if (ip.info.protocol === 6) acc += dec.TCP(b, ip.offset).info.srcport;
      else if (ip.info.protocol === 17) acc += dec.UDP(b, ip.offset).info.srcport;
      else if (ip.info.protocol === 1) acc += dec.ICMPV4(b, b.length - ip.offset, ip.offset).info.type;
    }
    consume(acc);
  };
}

function runNodePcap(set: FrameSet, decode: NodePcapDecode): () => void {
  const packets = Array.from({ length: set.count }, (_, i) => {
    const header = Buffer.alloc(16);
    header.writeUInt32LE(set.lengths[i], 8);
    header.writeUInt32LE(set.lengths[i], 12);
    return { buf: Buffer.from(set.arena.buffer, set.arena.byteOffset + set.offsets[i], set.lengths[i]), header, link_type: 'LINKTYPE_ETHERNET' };
  });
  return () => {
    for (let i = 0; i < packets.length; i++) decode(packets[i]);
  };
}

export async function runDecodeBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const rows: BenchRow[] = [];
  const targets: BenchTarget[] = [];
  const cap = loadPeer(() => (require('cap') as { decoders: CapDecoders }).decoders);
  const nodePcap = loadPeer(() => (require('pcap') as { decode: { packet: NodePcapDecode } }).decode.packet);

  const sets: FrameSet[] = [synthetic64(4096)];
  const real = fromCapture(join(SHARED_PCAPS, 'tcpreplay', 'test.pcap'), 4096);
  if (real) sets.push(real);

  for (const set of sets) {
    const name = `decode/${set.label}`;
    const oursFn = runOurs(set);
    const alloc = await allocationCheck(oursFn, 2000);
    const ours = measure(`${name} ours`, oursFn);
    const oursMpps = (ours.hz * set.count) / 1e6;
    rows.push({
      name,
      subject: 'dataplane classifyFrame',
      value: oursMpps,
      unit: 'Mpps',
      nsPerOp: 1e3 / oursMpps,
      rmePct: ours.rmePct,
      notes: `${set.count} frames, ${(set.bytes / set.count).toFixed(0)} B avg; ${alloc.gcRuns} GCs, heap ${alloc.heapDeltaBytes >= 0 ? '+' : ''}${(alloc.heapDeltaBytes / 1024).toFixed(0)} KiB over ${((2000 * set.count) / 1e6).toFixed(1)}M frames`,
    });
    let capMpps = NaN;
    if (cap) {
      const m = measure(`${name} cap`, runCap(set, cap));
      capMpps = (m.hz * set.count) / 1e6;
      rows.push({ name, subject: 'cap decoders', value: capMpps, unit: 'Mpps', nsPerOp: 1e3 / capMpps, rmePct: m.rmePct, notes: `dataplane = ${(oursMpps / capMpps).toFixed(1)}x` });
    } else {
      rows.push({ name, subject: 'cap decoders', value: NaN, unit: 'Mpps', notes: 'cap not installed (optional dependency; needs libpcap-dev)' });
    }
    if (nodePcap) {
      // node_pcap console.logs every ethertype it does not know: keep the table readable.
      const log = console.log;
      console.log = () => {};
      let m: ReturnType<typeof measure>;
      try {
        m = measure(`${name} node_pcap`, runNodePcap(set, nodePcap), { maxTime: 1 });
      } finally {
        console.log = log;
      }
      const mpps = (m.hz * set.count) / 1e6;
      rows.push({ name, subject: 'node_pcap decode', value: mpps, unit: 'Mpps', nsPerOp: 1e3 / mpps, rmePct: m.rmePct, notes: `dataplane = ${(oursMpps / mpps).toFixed(1)}x` });
    } else {
      rows.push({ name, subject: 'node_pcap decode', value: NaN, unit: 'Mpps', notes: 'pcap not installed (optional dependency; needs libpcap-dev)' });
    }
    if (set.label.startsWith('64B')) {
      targets.push({ description: 'decode with validation >= 15 Mpps (64-byte frames)', met: oursMpps >= 15, measured: `${oursMpps.toFixed(1)} Mpps` });
      targets.push({ description: 'decode >= 10x cap decoders (64-byte frames)', met: oursMpps / capMpps >= 10, measured: `${(oursMpps / capMpps).toFixed(1)}x` });
    }
  }
  return { rows, targets };
}
