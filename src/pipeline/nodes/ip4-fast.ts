// ip4-fast: the usual forwarded packet in one pass, in front of
// ethernet-input. A packet it takes does what ethernet-input, ip4-input,
// ip4-lookup, ip4-rewrite and ip4-output would do to it, with the same
// result byte for byte, and goes straight to the output; every other packet
// goes to ethernet-input untouched and takes the full graph as before, so
// drops, counters, ICMP errors and ARP are the full graph's.
//
// The usual packet: an Ethernet II frame to the receiving port's MAC from a
// unicast source, no offload metadata, within the port's MTU; IPv4 with IHL
// 5, a total length that fits the frame, a valid header checksum, not a
// fragment; source and destination neither martian, multicast nor the
// router's own or the subnet's broadcast; a FIB hit on a gateway or attached
// route (an ECMP group is resolved as ip4-lookup does); TTL > 1; no larger
// than the egress MTU; a reachable neighbor for the next hop.
//
// Three passes over the vector, so that the FIB is read with lookupBatch
// (four independent loads at a time) rather than one dependent walk per
// packet: (1) the L2 and L3 checks, collecting destinations; (2) the batch
// lookup; (3) route, TTL, MTU, neighbor, then the rewrite. Nothing is
// written to a packet or its slot's metadata before pass 3 has decided to
// take it, which is what lets a packet leave for ethernet-input "unchanged".
//
// Equivalence holds because no node of the full graph changes what the
// checks here read within a batch, with one exception: arp-input may learn
// or change a neighbor's MAC from an ARP frame in the same batch, which
// ip4-output (running after arp-input) would then use for packets before
// that frame too. So a batch that holds an ARP frame goes to the full graph
// whole. The router steps this node aside for traced batches (router.ts) so
// a packet trace lists the same nodes it always did, and installs it only
// when no stateful feature (conntrack, NAT, firewall, load balancer, tunnel
// decap) splices nodes into the path.
//
// The bypassed nodes' "packets" counters are advanced by the number taken,
// once per batch, so per-node counts read as if the packets had walked the
// graph; "ip4-fast/packets" counts every packet this node looked at and
// "ip4-fast/taken" those it forwarded itself.
import { ETH_HEADER_LEN, ETHERTYPE_ARP } from '../../wire/ethernet.js';
import { NexthopKind } from '../../route/nexthops.js';
import { NO_ROUTE } from '../../route/fib-view.js';
import { NeighborState, type NeighborTable } from '../../arp/neighbor-table.js';
import { OffloadMeta, PacketFlag, type Batch } from '../batch.js';
import type { ForwardingContext } from '../context.js';
import { flowHash } from '../flow-hash.js';
import { defineNode, OUTPUT, PipelineNode, type Dispatch } from '../node.js';
import { lookupInto } from './lookup-batch.js';

const spec = defineNode({
  name: 'ip4-fast',
  next: { slow: 'ethernet-input', tx: OUTPUT },
  drops: {},
  counters: { taken: 'packets forwarded in one pass by the fast path (the rest went to ethernet-input)' },
});

export class Ip4Fast extends PipelineNode<typeof spec> {
  /** Per-slot scratch: 1 when pass 1 or 3 left the packet to the full graph. */
  private slow = new Uint8Array(0);
  /** Candidates of pass 1 (slots, in arrival order), then the taken ones compacted to the front. */
  private cand = new Uint16Array(0);
  private dst = new Uint32Array(0);
  private nh = new Int32Array(0);

  /** `bypassed`: the nodes whose work a taken packet skips, to advance their packet counters. */
  constructor(
    private readonly ctx: ForwardingContext,
    private readonly neighbors: NeighborTable,
    private readonly bypassed: readonly PipelineNode[],
  ) {
    super(spec);
  }

  private grow(n: number): void {
    this.slow = new Uint8Array(n);
    this.cand = new Uint16Array(n);
    this.dst = new Uint32Array(n);
    this.nh = new Int32Array(n);
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    if (this.cand.length < vec.length || this.slow.length < batch.capacity) this.grow(Math.max(vec.length, batch.capacity));
    const b = batch.arena;
    const ctx = this.ctx;
    const ports = ctx.ports;
    const portMac = ports.mac;
    const portMtu = ports.mtu;
    const portAddress = ports.address;
    const portBroadcast = ports.broadcast;
    const portCount = ports.count;
    const start = batch.start;
    const length = batch.length;
    const rxPort = batch.rxPort;
    const meta = batch.offload;
    const slow = this.slow;
    const cand = this.cand;
    const dst = this.dst;

    // Pass 1: what ethernet-input and ip4-input check, reading only.
    let c = 0;
    let slowCount = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = start[s];
      const len = length[s];
      const port = rxPort[s];
      const pm = port * 6;
      const i = o + ETH_HEADER_LEN;
      const om = s * OffloadMeta.WORDS;
      let ok =
        len >= ETH_HEADER_LEN + 20 &&
        b[o] === portMac[pm] &&
        b[o + 1] === portMac[pm + 1] &&
        b[o + 2] === portMac[pm + 2] &&
        b[o + 3] === portMac[pm + 3] &&
        b[o + 4] === portMac[pm + 4] &&
        b[o + 5] === portMac[pm + 5] &&
        (b[o + 6] & 1) === 0 &&
        b[o + 12] === 0x08 &&
        b[o + 13] === 0x00 &&
        b[i] === 0x45 &&
        (meta[om] | meta[om + 1]) === 0 &&
        len - ETH_HEADER_LEN <= portMtu[port];
      if (ok) {
        const total = (b[i + 2] << 8) | b[i + 3];
        // Not a fragment: MF clear and offset 0 (DF may be set).
        ok = total >= 20 && total <= len - ETH_HEADER_LEN && ((b[i + 6] & 0x3f) | b[i + 7]) === 0;
        if (ok) {
          let sum =
            ((b[i] << 8) | b[i + 1]) +
            ((b[i + 2] << 8) | b[i + 3]) +
            ((b[i + 4] << 8) | b[i + 5]) +
            ((b[i + 6] << 8) | b[i + 7]) +
            ((b[i + 8] << 8) | b[i + 9]) +
            ((b[i + 10] << 8) | b[i + 11]) +
            ((b[i + 12] << 8) | b[i + 13]) +
            ((b[i + 14] << 8) | b[i + 15]) +
            ((b[i + 16] << 8) | b[i + 17]) +
            ((b[i + 18] << 8) | b[i + 19]);
          sum = (sum & 0xffff) + (sum >>> 16);
          sum = (sum & 0xffff) + (sum >>> 16);
          const src = ((b[i + 12] << 24) | (b[i + 13] << 16) | (b[i + 14] << 8) | b[i + 15]) >>> 0;
          const to = ((b[i + 16] << 24) | (b[i + 17] << 16) | (b[i + 18] << 8) | b[i + 19]) >>> 0;
          const st = src >>> 24;
          const dt = to >>> 24;
          // Martian and group addresses (ip4-input's checks), then the router's own source and the subnet's broadcast.
          ok = sum === 0xffff && st !== 0 && st !== 127 && st < 224 && dt !== 0 && dt !== 127 && dt < 224 && src !== portBroadcast[port];
          for (let p = 0; ok && p < portCount; p++) if (portAddress[p] === src) ok = false;
          if (ok) {
            cand[c] = s;
            dst[c++] = to;
            slow[s] = 0;
            continue;
          }
        }
      } else if (b[o + 12] === ETHERTYPE_ARP >> 8 && b[o + 13] === (ETHERTYPE_ARP & 0xff) && len >= ETH_HEADER_LEN) {
        // An ARP frame may change a neighbor the packets before it would use (see the header): all to the full graph.
        d.enqueueMany(this, this.next.slow, vec, count);
        return;
      }
      slow[s] = 1;
      slowCount++;
    }
    if (c === 0) {
      d.enqueueMany(this, this.next.slow, vec, count);
      return;
    }

    // Pass 2: the FIB for every candidate at once.
    const nh = this.nh;
    lookupInto(ctx.fib, dst, nh, c);

    // Pass 3: route, TTL, MTU, neighbor; then the rewrite of the taken ones.
    const nexthops = ctx.nexthops;
    const kinds = nexthops.kind;
    const nhPort = nexthops.port;
    const nhGateway = nexthops.gateway;
    const nt = this.neighbors;
    const ntPort = nt.port;
    const ntIp = nt.ip;
    const ntState = nt.state;
    const ntExpires = nt.expiresMs;
    const ntMac = nt.mac;
    const now = ctx.clock.nowMs();
    const txPort = batch.txPort;
    const nextHop = batch.nextHop;
    const l3 = batch.l3;
    const flags = batch.flags;
    // One-entry neighbor cache, re-validated from the table's arrays (as ip4-output's).
    let lastPort = -1;
    let lastTarget = -1;
    let lastSlot = 0;
    let w = 0;
    for (let j = 0; j < c; j++) {
      const s = cand[j];
      const i = start[s] + ETH_HEADER_LEN;
      let n = nh[j];
      let kind = n === NO_ROUTE ? -1 : kinds[n];
      let hash = -1;
      if (kind === NexthopKind.ECMP) {
        hash = flowHash(b, i);
        n = nexthops.resolve(n, hash);
        kind = kinds[n];
      }
      const port = kind === NexthopKind.GATEWAY || kind === NexthopKind.ATTACHED ? nhPort[n] : -1;
      const total = (b[i + 2] << 8) | b[i + 3];
      if (port < 0 || b[i + 8] <= 1 || total > portMtu[port]) {
        slow[s] = 1;
        slowCount++;
        continue;
      }
      const target = kind === NexthopKind.GATEWAY ? nhGateway[n] : dst[j];
      let ns: number;
      if (port === lastPort && target === lastTarget && ntPort[lastSlot] === port && ntIp[lastSlot] === target && ntState[lastSlot] === NeighborState.REACHABLE && ntExpires[lastSlot] > now) {
        ns = lastSlot;
      } else {
        ns = nt.findReachable(port, target, now);
        if (ns < 0) {
          slow[s] = 1;
          slowCount++;
          continue;
        }
        lastPort = port;
        lastTarget = target;
        lastSlot = ns;
      }
      // Taken: ip4-lookup's, ip4-rewrite's and ip4-output's writes, in one go.
      nextHop[s] = n;
      txPort[s] = port;
      if (hash !== -1) batch.flowHash[s] = hash;
      flags[s] |= PacketFlag.IP4_VALID;
      l3[s] = i;
      // TTL - 1 with the RFC 1624 update of decrementIpv4Ttl (wire/ipv4.ts), inlined.
      b[i + 8] = b[i + 8] - 1;
      const cs = ((b[i + 10] << 8) | b[i + 11]) + 0x0100;
      const folded = (cs + ((cs + 1) >>> 16)) & 0xffff;
      b[i + 10] = folded >>> 8;
      b[i + 11] = folded & 0xff;
      const e = i - ETH_HEADER_LEN;
      const m = ns * 6;
      const pm = port * 6;
      b[e] = ntMac[m];
      b[e + 1] = ntMac[m + 1];
      b[e + 2] = ntMac[m + 2];
      b[e + 3] = ntMac[m + 3];
      b[e + 4] = ntMac[m + 4];
      b[e + 5] = ntMac[m + 5];
      b[e + 6] = portMac[pm];
      b[e + 7] = portMac[pm + 1];
      b[e + 8] = portMac[pm + 2];
      b[e + 9] = portMac[pm + 3];
      b[e + 10] = portMac[pm + 4];
      b[e + 11] = portMac[pm + 5];
      // The EtherType is IPv4 already; the frame is trimmed to the datagram (Ethernet padding dropped).
      length[s] = ETH_HEADER_LEN + total;
      cand[w++] = s;
    }

    if (w > 0) {
      const v = d.counters.values;
      const bypassed = this.bypassed;
      for (let q = 0; q < bypassed.length; q++) v[2 * bypassed[q].processedCounter] += w;
      v[2 * this.counter.taken] += w;
      d.enqueueMany(this, this.next.tx, cand, w);
    }
    if (slowCount === count) d.enqueueMany(this, this.next.slow, vec, count);
    else if (slowCount > 0) {
      // In arrival order, as the full graph would have seen them.
      for (let k = 0; k < count; k++) if (slow[vec[k]] === 1) d.enqueue(this, this.next.slow, vec[k]);
    }
  }
}
