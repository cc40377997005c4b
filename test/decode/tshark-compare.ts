// decodeFrame held against tshark, field by field: the comparison that the
// corpus cross-check (tshark.test.ts), the held-out check of scapy-built
// captures (tshark-heldout.test.ts) and the edge cases (edge-oracles.test.ts)
// run. For every frame on a link type we
// decode: lengths and timestamp; for every IPv4 frame: addresses, protocol,
// TTL, lengths, id, flags, fragment offset, header checksum verdict, ports,
// TCP seq/ack/flags/window, UDP length, ICMP type/code/id/seq/MTU, L4
// checksum verdicts, and the IPv4 header and ports an ICMP error quotes.
// tshark lists tunnelled and quoted headers as further occurrences of the same
// field, so the outer header is compared with the first occurrence and an ICMP
// quote with the one after (tshark gives a quoted TCP header tcp.seq, not
// tcp.seq_raw).
import { CaptureFormatError, CaptureReader } from '../../src/pcap/reader.js';
import { decodeFrame } from '../../src/decode/frame.js';
import { tsDigits } from '../../src/decode/command.js';
import type { FrameSummary } from '../../src/decode/summary.js';
import { tsharkAll, type TsharkRow } from './tshark-oracle.js';
import type { Tally } from './tally.js';

/** Link types decodeFrame claims to decode. tshark also finds IPv4 inside 802.11, PPP, ATM, ... which we do not. */
export const SUPPORTED = new Set([0, 1, 12, 14, 101, 108, 113, 228, 276]);
/** frame.protocols entries that are link layer for the link types above. */
const LINK_PROTOS = new Set(['eth', 'ethertype', 'vlan', 'ieee8021ad', 'sll', 'raw', 'null', 'loop', 'ethtrailer']);

export interface OurFrame {
  s: FrameSummary;
  linkType: number;
}

/** Our decode of a whole file; `error` is the reader's CaptureFormatError, `crash` anything else (a bug). */
export function decodeFile(file: string): { frames: OurFrame[]; error?: string; crash?: string } {
  const frames: OurFrame[] = [];
  let reader: CaptureReader | undefined;
  try {
    reader = CaptureReader.open(file);
    while (reader.next()) {
      const r = reader.record;
      const digits = tsDigits(reader.interfaces[r.interfaceId]?.tsResolutionNs);
      frames.push({ s: decodeFrame(r.buffer, r.dataOffset, r.caplen, r.len, r.linkType, frames.length + 1, r.tsSec, r.tsNsec, digits), linkType: r.linkType });
    }
    return { frames };
  } catch (e) {
    if (e instanceof CaptureFormatError) return { frames, error: e.message };
    return { frames, crash: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  } finally {
    reader?.close();
  }
}

/** tshark prints frame.time_epoch with 9 digits; ours has the capture's precision. */
function tsAs9(ts: string): string {
  const [sec, frac = ''] = ts.split('.');
  return `${sec}.${frac.padEnd(9, '0')}`;
}

function tsharkOuterIsIp(t: TsharkRow): boolean {
  const protos = (t['frame.protocols'][0] ?? '').split(':');
  let i = 0;
  while (i < protos.length && LINK_PROTOS.has(protos[i])) i++;
  return protos[i] === 'ip';
}

const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
const bool = (v: string | undefined): boolean | undefined => (v === undefined ? undefined : v === '1' || v === 'True');
/** tshark checksum status: 0 bad, 1 good, 2 unverified, 3 not present. */
const csum = (v: string | undefined): boolean | undefined => (v === '1' ? true : v === '0' ? false : undefined);

export function compareFrame(t: TsharkRow, o: OurFrame, tally: Tally, where: string): void {
  const s = o.s;
  tally.eq('frame.len', s.len, num(t['frame.len'][0]), where);
  tally.eq('frame.cap_len', s.caplen, num(t['frame.cap_len'][0]), where);
  tally.eq('frame.time_epoch', tsAs9(s.ts), t['frame.time_epoch'][0], where);
  if (!SUPPORTED.has(o.linkType)) return;
  if (s.eth) {
    tally.eq('eth.src', s.eth.src, t['eth.src'][0], where);
    tally.eq('eth.dst', s.eth.dst, t['eth.dst'][0], where);
    // tshark files 802.1ad (0x88a8) tags under ieee8021ad.id, 802.1Q ones under vlan.id; service tags are the outer ones.
    const tags = [...t['ieee8021ad.id'], ...t['vlan.id']];
    if (s.eth.vlan.length > 0) tally.eq('vlan.id', s.eth.vlan.join(','), tags.slice(0, s.eth.vlan.length).join(','), where);
  }
  const ours4 = s.ip !== undefined || (s.malformed?.startsWith('ipv4-') ?? false);
  tally.eq('ip.present', ours4, tsharkOuterIsIp(t), where);
  const ip = s.ip;
  if (!ip || t['ip.src'].length === 0) return;
  tally.eq('ip.src', ip.src, t['ip.src'][0], where);
  tally.eq('ip.dst', ip.dst, t['ip.dst'][0], where);
  tally.eq('ip.proto', ip.proto, num(t['ip.proto'][0]), where);
  tally.eq('ip.ttl', ip.ttl, num(t['ip.ttl'][0]), where);
  tally.eq('ip.len', ip.len, num(t['ip.len'][0]), where);
  tally.eq('ip.hdr_len', ip.ihl * 4, num(t['ip.hdr_len'][0]), where);
  tally.eq('ip.id', ip.id, num(t['ip.id'][0]), where);
  tally.eq('ip.flags.df', ip.df, bool(t['ip.flags.df'][0]), where);
  tally.eq('ip.flags.mf', ip.mf, bool(t['ip.flags.mf'][0]), where);
  tally.eq('ip.frag_offset', ip.frag, num(t['ip.frag_offset'][0]), where);
  if (ip.csumOk !== undefined) tally.eq('ip.checksum.status', ip.csumOk, csum(t['ip.checksum.status'][0]), where);
  // Options: only when the frame has one IPv4 header (tshark lists a quote's or tunnel's options too); tshark also lists EOL.
  if (t['ip.src'].length === 1 && ip.ihl > 5) {
    tally.eq('ip.opt.type', ip.options.map((x) => x.type).join(','), t['ip.opt.type'].filter((x) => x !== '0').join(','), where);
  }
  if (ip.frag !== 0) return;
  if (ip.proto === 6) {
    tally.eq('tcp.present', s.tcp !== undefined, t['tcp.srcport'].length > 0, where);
    if (s.tcp && t['tcp.srcport'].length > 0) {
      tally.eq('tcp.srcport', s.tcp.sport, num(t['tcp.srcport'][0]), where);
      tally.eq('tcp.dstport', s.tcp.dport, num(t['tcp.dstport'][0]), where);
      tally.eq('tcp.seq_raw', s.tcp.seq, num(t['tcp.seq_raw'][0]), where);
      tally.eq('tcp.ack_raw', s.tcp.ack, num(t['tcp.ack_raw'][0]), where);
      const flags = num(t['tcp.flags'][0]);
      tally.eq('tcp.flags', s.tcp.flags, flags === undefined ? undefined : flags & 0xff, where);
      tally.eq('tcp.window_size_value', s.tcp.win, num(t['tcp.window_size_value'][0]), where);
      const theirs = csum(t['tcp.checksum.status'][0]);
      if (typeof s.tcp.csumOk === 'boolean' && theirs !== undefined) tally.eq('tcp.checksum.status', s.tcp.csumOk, theirs, where);
    }
  } else if (ip.proto === 17) {
    tally.eq('udp.present', s.udp !== undefined, t['udp.srcport'].length > 0, where);
    if (s.udp && t['udp.srcport'].length > 0) {
      tally.eq('udp.srcport', s.udp.sport, num(t['udp.srcport'][0]), where);
      tally.eq('udp.dstport', s.udp.dport, num(t['udp.dstport'][0]), where);
      tally.eq('udp.length', s.udp.len, num(t['udp.length'][0]), where);
      const theirs = csum(t['udp.checksum.status'][0]);
      if (typeof s.udp.csumOk === 'boolean' && theirs !== undefined) tally.eq('udp.checksum.status', s.udp.csumOk, theirs, where);
    }
  } else if (ip.proto === 1) {
    tally.eq('icmp.present', s.icmp !== undefined, t['icmp.type'].length > 0, where);
    if (s.icmp && t['icmp.type'].length > 0) compareIcmp(t, s, tally, where);
  }
}

function compareIcmp(t: TsharkRow, s: FrameSummary, tally: Tally, where: string): void {
  const ic = s.icmp;
  if (!ic) return;
  tally.eq('icmp.type', ic.type, num(t['icmp.type'][0]), where);
  tally.eq('icmp.code', ic.code, num(t['icmp.code'][0]), where);
  if (ic.mtu !== undefined) tally.eq('icmp.mtu', ic.mtu, num(t['icmp.mtu'][0]), where);
  if (ic.id !== undefined) {
    tally.eq('icmp.ident', ic.id, num(t['icmp.ident'][0]), where);
    tally.eq('icmp.seq', ic.seq, num(t['icmp.seq'][0]), where);
  }
  const theirs = csum(t['icmp.checksum.status'][0]);
  if (typeof ic.csumOk === 'boolean' && theirs !== undefined) tally.eq('icmp.checksum.status', ic.csumOk, theirs, where);
  const inner = ic.inner;
  if (!inner) return;
  // The quoted header is tshark's second IPv4 occurrence.
  tally.eq('inner.ip.present', inner.ip !== undefined, t['ip.src'].length > 1, where);
  if (!inner.ip || t['ip.src'].length < 2) return;
  tally.eq('inner.ip.src', inner.ip.src, t['ip.src'][1], where);
  tally.eq('inner.ip.dst', inner.ip.dst, t['ip.dst'][1], where);
  tally.eq('inner.ip.proto', inner.ip.proto, num(t['ip.proto'][1]), where);
  tally.eq('inner.ip.ttl', inner.ip.ttl, num(t['ip.ttl'][1]), where);
  tally.eq('inner.ip.len', inner.ip.len, num(t['ip.len'][1]), where);
  tally.eq('inner.ip.id', inner.ip.id, num(t['ip.id'][1]), where);
  // A quoted first fragment (or whole datagram) starts with its L4 header; tshark shows one from 4 bytes of TCP/UDP.
  if (inner.ip.frag === 0 && inner.ip.proto === 6) tally.eq('inner.tcp.present', inner.tcp !== undefined, t['tcp.srcport'].length > 0, where);
  if (inner.ip.frag === 0 && inner.ip.proto === 17) tally.eq('inner.udp.present', inner.udp !== undefined, t['udp.srcport'].length > 0, where);
  if (inner.udp && t['udp.srcport'].length > 0) {
    tally.eq('inner.udp.srcport', inner.udp.sport, num(t['udp.srcport'][0]), where);
    tally.eq('inner.udp.dstport', inner.udp.dport, num(t['udp.dstport'][0]), where);
    tally.eq('inner.udp.length', inner.udp.len, num(t['udp.length'][0]), where);
  }
  if (inner.tcp && t['tcp.srcport'].length > 0) {
    tally.eq('inner.tcp.srcport', inner.tcp.sport, num(t['tcp.srcport'][0]), where);
    tally.eq('inner.tcp.dstport', inner.tcp.dport, num(t['tcp.dstport'][0]), where);
    tally.eq('inner.tcp.seq', inner.tcp.seq, num(t['tcp.seq'][0]), where);
  }
  if (inner.icmp && t['icmp.type'].length > 1) {
    tally.eq('inner.icmp.type', inner.icmp.type, num(t['icmp.type'][1]), where);
    tally.eq('inner.icmp.code', inner.icmp.code, num(t['icmp.code'][1]), where);
  }
}

export interface CompareResult {
  /** Files that were compared (at least one frame on a link type we decode). */
  compared: string[];
  frames: number;
  /** Decoder exceptions other than the reader's CaptureFormatError: bugs. */
  crashes: string[];
  /** Files where our frame count and tshark's differ. */
  countMismatch: string[];
}

/** Decodes every file, runs tshark over those with a frame we decode, and tallies the fields. `root` is cut from names in examples. */
export async function compareWithTshark(files: readonly string[], root: string, tally: Tally): Promise<CompareResult> {
  const ours = new Map(files.map((f) => [f, decodeFile(f)]));
  const crashes = [...ours].filter(([, o]) => o.crash !== undefined).map(([f, o]) => `${f}: ${o.crash}`);
  const compared = files.filter((f) => ours.get(f)?.frames.some((fr) => SUPPORTED.has(fr.linkType)));
  const theirs = await tsharkAll(compared);
  const countMismatch: string[] = [];
  let frames = 0;
  for (const file of compared) {
    const o = ours.get(file);
    const t = theirs.get(file);
    if (!o || !t) throw new Error(`missing result for ${file}`);
    const name = file.slice(root.length + 1);
    if (o.frames.length !== t.rows.length) countMismatch.push(`${name}: ours ${o.frames.length}, tshark ${t.rows.length}${o.error ? ` (ours: ${o.error})` : ''}`);
    const n = Math.min(o.frames.length, t.rows.length);
    for (let i = 0; i < n; i++) {
      const m = o.frames[i].s.malformed;
      compareFrame(t.rows[i], o.frames[i], tally, `${name}#${i + 1}${m === undefined ? '' : ` (${m})`}`);
    }
    frames += n;
  }
  return { compared, frames, crashes, countMismatch };
}
