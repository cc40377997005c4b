// Decodes one captured frame into a FrameSummary: the link header, then ARP or
// IPv4, then TCP/UDP/ICMP (transport.ts). This is the readable path for the
// CLI and tests: it allocates freely, never throws, and never reads past the
// captured bytes. The verdicts are the classifier's: for a frame captured in
// full, `malformed` names the code classifyFrame returns.
//
// What the classifier cannot know, this can: a frame cut short by the
// capture's snap length (caplen < len). Then a datagram longer than the
// captured bytes but no longer than the wire bytes is not malformed; its
// fields are decoded as far as they were captured and its L4 checksum is
// reported as unverifiable (null).
import { WireDrop } from '../wire/drop-reason.js';
import { ipv4ToString } from '../wire/address.js';
import { arpOper, arpSha, arpSpa, arpTha, arpTpa, checkArp } from '../wire/arp.js';
import { ethDstString, ethSrcString, ethType, ethVlanId, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../wire/ethernet.js';
import { checkIpv4, ipv4Ihl, ipv4TotalLength } from '../wire/ipv4.js';
import { LINKTYPE_ETHERNET } from '../pcap/link-type.js';
import { CLASSIFY_SLOTS, classifyLink, SLOT_ETHERTYPE, SLOT_L3_OFFSET, SLOT_VLAN_COUNT } from './classify.js';
import { formatTimestamp, setMalformed, type FrameSummary } from './summary.js';
import { ipv4HeaderReadable, ipv4Section } from './ip-section.js';
import { decodeTransport } from './transport.js';


/** Decode runs one frame at a time, so one scratch array serves every call. */
const slots = new Int32Array(CLASSIFY_SLOTS);

function decodeArp(b: Uint8Array, o: number, avail: number, s: FrameSummary): void {
  const r = checkArp(b, o, avail);
  if (r !== WireDrop.OK) return setMalformed(s, r);
  s.arp = { op: arpOper(b, o), sha: arpSha(b, o), spa: ipv4ToString(arpSpa(b, o)), tha: arpTha(b, o), tpa: ipv4ToString(arpTpa(b, o)) };
}

/**
 * IPv4 at b[ip] with `avail` captured bytes; `missing` bytes of the frame
 * were on the wire but not captured.
 */
function decodeIpv4(b: Uint8Array, ip: number, avail: number, missing: number, s: FrameSummary): void {
  let claimed = avail;
  const readable = ipv4HeaderReadable(b, ip, avail);
  if (readable && missing > 0) {
    // Cut short by the snap length: judge the header against the wire length.
    const total = ipv4TotalLength(b, ip);
    if (ipv4Ihl(b, ip) * 4 <= avail && total > avail && total <= avail + missing) claimed = total;
  }
  const r = checkIpv4(b, ip, claimed);
  if (!readable || ipv4Ihl(b, ip) * 4 > avail) {
    return setMalformed(s, r !== WireDrop.OK ? r : WireDrop.IPV4_TRUNCATED);
  }
  const sec = ipv4Section(b, ip, avail);
  s.ip = sec;
  if (r !== WireDrop.OK) setMalformed(s, r);
  else if (sec.csumOk === false) setMalformed(s, WireDrop.IPV4_BAD_CHECKSUM);
  // Past a total length that runs beyond the frame, bad options or a bad
  // checksum, the payload still starts IHL * 4 bytes in: tshark and tcpdump
  // show what is there, and so does this (unverified). A total length below
  // the header length leaves no payload to read.
  if (sec.len < sec.ihl * 4) return;
  decodeTransport(b, ip, sec.ihl * 4, sec.len, avail, s);
}

function vlanIds(b: Uint8Array, off: number, linkType: number, l3: number, count: number): number[] {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    // Tags sit back to back just before the L3 header, whatever the link.
    ids.push(linkType === LINKTYPE_ETHERNET ? ethVlanId(b, off, i) : ((b[l3 - 4 * (count - i)] << 8) | b[l3 - 4 * (count - i) + 1]) & 0x0fff);
  }
  return ids;
}

/**
 * Decodes frame number `n` (1-based): `caplen` bytes at b[off] of a frame that
 * was `len` bytes on the wire, captured on `linkType`. `tsDigits` is the
 * capture's timestamp resolution in decimal digits (6 for microseconds); when
 * omitted it is inferred from the value (exact either way).
 */
export function decodeFrame(
  b: Uint8Array,
  off: number,
  caplen: number,
  len: number,
  linkType: number,
  n: number,
  tsSec: number,
  tsNsec: number,
  tsDigits?: number,
): FrameSummary {
  const s: FrameSummary = { n, ts: formatTimestamp(tsSec, tsNsec, tsDigits), caplen, len };
  const avail = Math.max(0, Math.min(caplen, b.length - off));
  const end = off + avail;
  const missing = len > avail ? len - avail : 0;
  const r = classifyLink(b, off, avail, linkType, slots);
  const l3 = slots[SLOT_L3_OFFSET];
  const type = slots[SLOT_ETHERTYPE];
  const vlans = r === WireDrop.OK ? slots[SLOT_VLAN_COUNT] : 0;
  if (linkType === LINKTYPE_ETHERNET) {
    if (avail >= 14) {
      s.eth = {
        src: ethSrcString(b, off),
        dst: ethDstString(b, off),
        type: r === WireDrop.OK ? type : ethType(b, off),
        vlan: vlanIds(b, off, linkType, l3, vlans),
      };
    }
  } else {
    s.link = { type: linkType };
    if (r === WireDrop.OK) {
      s.link.proto = type;
      if (vlans > 0) s.link.vlan = vlanIds(b, off, linkType, l3, vlans);
    }
  }
  if (r !== WireDrop.OK) {
    setMalformed(s, r);
    return s;
  }
  if (type === ETHERTYPE_ARP) decodeArp(b, l3, end - l3, s);
  else if (type === ETHERTYPE_IPV4) decodeIpv4(b, l3, end - l3, missing, s);
  return s;
}
