// The flows of a capture that a set of VIPs would balance, for the
// disruption preview (preview.ts): every TCP or UDP packet whose destination
// address and protocol are some VIP's, reduced to unique 5-tuples. Which VIP
// (and port) a flow belongs to is the preview's to decide per config; this
// keeps every flow to a VIP address and protocol.
//
// Fragments are counted apart and left out: the packet path hashes them on
// the 3-tuple (lbFragmentHash), and a non-first fragment carries no port to
// match a VIP's. Checksums are not verified (captures taken on a host often
// carry offloaded, unfinished ones); a frame too short for the IPv4 header
// and the ports is skipped.
import { CaptureReader } from '../pcap/reader.js';
import { CLASSIFY_SLOTS, classifyLink, SLOT_ETHERTYPE, SLOT_L3_OFFSET } from '../decode/classify.js';
import { ETHERTYPE_IPV4 } from '../wire/ethernet.js';
import { IPPROTO_TCP, IPPROTO_UDP, ipv4Dst, ipv4IsFragment, ipv4Protocol, ipv4Src } from '../wire/ipv4.js';
import { WireDrop } from '../wire/drop-reason.js';

/** Unique flows, as parallel arrays (addresses uint32; ports srcPort << 16 | dstPort). */
export interface CaptureFlows {
  count: number;
  src: Uint32Array;
  dst: Uint32Array;
  ports: Uint32Array;
  proto: Uint8Array;
  /** Frames read, and TCP/UDP packets to a VIP address among them. */
  frames: number;
  packets: number;
  /** Fragments to a VIP address (left out). */
  fragments: number;
}

/** What the flows are gathered for: the address and protocol of each VIP in either config. */
export interface VipAddress {
  address: number;
  protocol: number;
}

/** Reads `path` (pcap or pcapng, any link type the decoder knows); throws CaptureFormatError or the file system's error. */
export function readCaptureFlows(path: string, vips: readonly VipAddress[]): CaptureFlows {
  const wanted = new Set(vips.map((v) => `${v.address >>> 0}/${v.protocol}`));
  const seen = new Set<string>();
  const out = { src: [] as number[], dst: [] as number[], ports: [] as number[], proto: [] as number[] };
  const slots = new Int32Array(CLASSIFY_SLOTS);
  let frames = 0;
  let packets = 0;
  let fragments = 0;
  const reader = CaptureReader.open(path);
  try {
    while (reader.next()) {
      frames++;
      const r = reader.record;
      const b = r.buffer;
      if (classifyLink(b, r.dataOffset, r.caplen, r.linkType, slots) !== WireDrop.OK || slots[SLOT_ETHERTYPE] !== ETHERTYPE_IPV4) continue;
      const ip = slots[SLOT_L3_OFFSET];
      const end = r.dataOffset + r.caplen;
      if (ip + 20 > end || b[ip] >> 4 !== 4) continue;
      const ihl = (b[ip] & 0x0f) * 4;
      const proto = ipv4Protocol(b, ip);
      if (ihl < 20 || (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP)) continue;
      const dst = ipv4Dst(b, ip) >>> 0;
      if (!wanted.has(`${dst}/${proto}`)) continue;
      if (ipv4IsFragment(b, ip)) {
        fragments++;
        continue;
      }
      const l4 = ip + ihl;
      if (l4 + 4 > end) continue;
      packets++;
      const src = ipv4Src(b, ip) >>> 0;
      const ports = ((b[l4] << 24) | (b[l4 + 1] << 16) | (b[l4 + 2] << 8) | b[l4 + 3]) >>> 0;
      const key = `${src} ${dst} ${ports} ${proto}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.src.push(src);
      out.dst.push(dst);
      out.ports.push(ports);
      out.proto.push(proto);
    }
  } finally {
    reader.close();
  }
  return {
    count: out.src.length,
    src: Uint32Array.from(out.src),
    dst: Uint32Array.from(out.dst),
    ports: Uint32Array.from(out.ports),
    proto: Uint8Array.from(out.proto),
    frames,
    packets,
    fragments,
  };
}
