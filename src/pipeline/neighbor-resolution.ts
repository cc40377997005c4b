// Moving packets in and out of the ARP pending queue: releasing them when a
// neighbor is learned, and, on the timer, retrying requests and giving up
// (RFC 1812 4.3.2.3 / RFC 1122 2.3.2.2: ICMP host unreachable for the packets
// that waited in vain).
import { ARP_HTYPE_ETHERNET, ARP_LEN, ARP_PTYPE_IPV4, ARP_REQUEST, ARP_SHA, ARP_THA, setArpHlen, setArpHtype, setArpOper, setArpPlen, setArpPtype, setArpSpa, setArpTpa } from '../wire/arp.js';
import { IPV4_ADDR_LEN, MAC_LEN } from '../wire/address.js';
import { ETH_DST, ETH_HEADER_LEN, ETH_SRC, ETHERTYPE_ARP, setEthType } from '../wire/ethernet.js';
import { writeIpv4EthernetHeader } from './nodes/ip4-output.js';
import { ICMP_DEST_UNREACHABLE, ICMP_UNREACH_HOST } from '../wire/icmp.js';
import { NeighborState } from '../route/neighbor.js';
import type { Batch } from './batch.js';
import { icmpErrorCode, type ForwardingContext } from './context.js';

/** ARP requests sent for one resolution before giving up (Linux's mcast_solicit). */
export const ARP_MAX_PROBES = 3;
const HOST_UNREACHABLE = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_HOST);

/**
 * Copies the datagrams waiting for (port, ip) into generated slots with
 * their Ethernet header, hands each to `emit`, and frees their queue
 * entries. Returns how many had to be dropped for want of a slot.
 */
export function releasePending(ctx: ForwardingContext, batch: Batch, port: number, ip: number, neighbor: number, emit: (slot: number) => void): number {
  const q = ctx.pending;
  const b = batch.arena;
  let short = 0;
  for (let e = 0; e < q.capacity && q.used > 0; e++) {
    if (q.port[e] !== port || q.target[e] !== ip >>> 0) continue;
    const f = batch.allocGeneratedAt(q.rxPort[e], q.tsSec[e], q.tsNsec[e]);
    if (f < 0) {
      short++;
      q.remove(e);
      continue;
    }
    const l3 = batch.slotStart(f) + ETH_HEADER_LEN;
    const len = q.length[e];
    b.set(q.data.subarray(q.offset(e), q.offset(e) + len), l3);
    const eth = l3 - ETH_HEADER_LEN;
    writeIpv4EthernetHeader(ctx, b, eth, neighbor, port);
    batch.start[f] = eth;
    batch.l3[f] = l3;
    batch.length[f] = ETH_HEADER_LEN + len;
    batch.txPort[f] = port;
    batch.flags[f] = q.flags[e];
    q.remove(e);
    emit(f);
  }
  return short;
}

/** Builds an ARP request for `target` out of `port` in generated slot `f`. */
export function writeArpRequest(ctx: ForwardingContext, batch: Batch, f: number, port: number, target: number): void {
  const b = batch.arena;
  const e = batch.slotStart(f);
  b.fill(0xff, e + ETH_DST, e + ETH_DST + MAC_LEN);
  ctx.ports.writeMac(port, b, e + ETH_SRC);
  setEthType(b, e, ETHERTYPE_ARP);
  const a = e + ETH_HEADER_LEN;
  setArpHtype(b, a, ARP_HTYPE_ETHERNET);
  setArpPtype(b, a, ARP_PTYPE_IPV4);
  setArpHlen(b, a, MAC_LEN);
  setArpPlen(b, a, IPV4_ADDR_LEN);
  setArpOper(b, a, ARP_REQUEST);
  ctx.ports.writeMac(port, b, a + ARP_SHA);
  setArpSpa(b, a, ctx.ports.address[port]);
  b.fill(0, a + ARP_THA, a + ARP_THA + MAC_LEN);
  setArpTpa(b, a, target);
  batch.start[f] = e;
  batch.l3[f] = a;
  batch.length[f] = ETH_HEADER_LEN + ARP_LEN;
  batch.txPort[f] = port;
}

/**
 * Timer work for unresolved neighbors, run before each batch: re-sends ARP
 * requests that are due, and for resolutions past their deadline turns the
 * waiting datagrams into ICMP host unreachable requests. New packets are
 * placed in generated slots of `batch` and passed to `toTx` (ARP requests)
 * or `toIcmpError` (expired datagrams). Returns the number of datagrams
 * dropped for want of a slot.
 */
export function serviceNeighbors(ctx: ForwardingContext, batch: Batch, toTx: (slot: number) => void, toIcmpError: (slot: number) => void): number {
  const nt = ctx.neighbors;
  const q = ctx.pending;
  const now = ctx.clock.nowMs();
  let lost = 0;
  for (let i = 0; i < nt.capacity; i++) {
    if (nt.port[i] === -1 || nt.state[i] !== NeighborState.INCOMPLETE) continue;
    const port = nt.port[i];
    const ip = nt.ip[i];
    if (now >= nt.deadlineMs[i]) {
      for (let e = 0; e < q.capacity && q.used > 0; e++) {
        if (q.port[e] !== port || q.target[e] !== ip) continue;
        const f = batch.allocGeneratedAt(q.rxPort[e], q.tsSec[e], q.tsNsec[e]);
        if (f < 0) {
          lost++;
        } else {
          const l3 = batch.slotStart(f) + ETH_HEADER_LEN;
          batch.arena.set(q.data.subarray(q.offset(e), q.offset(e) + q.length[e]), l3);
          batch.start[f] = l3 - ETH_HEADER_LEN;
          batch.l3[f] = l3;
          batch.length[f] = ETH_HEADER_LEN + q.length[e];
          batch.flags[f] = q.flags[e];
          batch.icmpError[f] = HOST_UNREACHABLE;
          toIcmpError(f);
        }
        q.remove(e);
      }
      nt.remove(i);
      i--; // backward-shift deletion may have moved another entry into slot i
      continue;
    }
    if (now >= nt.nextProbeMs[i] && nt.probes[i] < ARP_MAX_PROBES) {
      const f = batch.allocGeneratedAt(port, 0, 0);
      if (f < 0) continue;
      writeArpRequest(ctx, batch, f, port, ip);
      nt.probes[i]++;
      nt.nextProbeMs[i] = now + ctx.arp.resolveTimeoutMs / ARP_MAX_PROBES;
      toTx(f);
    }
  }
  return lost;
}
