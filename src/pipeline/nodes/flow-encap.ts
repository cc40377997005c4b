// flow-encap: the fast path's direct-return modes. A packet of an
// established dsr-l2, dsr-ipip or dsr-gue flow, from the client, that
// ip4-fast's flow stage (ip4-fast-flow.ts) found and judged usual, is sent
// from there: what ct-input (touch), lb-forward (the backend's count, its
// route, the MTU check), lb-encap (the outer headers: src/lb/tunnel-header.ts,
// the same bytes), ip4-rewrite (TTL - 1; the outer TTL, 63) and ip4-output
// (the Ethernet header) do to it in the full graph, byte for byte.
//
// Per backend, once per batch (prepare): its route, egress port, neighbor,
// the Ethernet header as three words, the room the MTU leaves, and the
// outer header's constant part (addresses, TTL, protocol, their checksum
// sum). A packet then costs the checks that depend on it (TTL, length),
// the touch and count, and a few wide stores. dsr-l2 used to go through
// ip4-fast's passes 2 and 3 and applyTaken like a routed flow's packet: a
// FIB lookup and a neighbor probe per packet (its 10 backends defeat pass
// 3's one-entry neighbor cache), for a destination that is the same for
// every packet of a backend.
//
// It leaves to the full graph (returns false; the flow stage then sends the
// flow's later packets of the batch there too, so a flow is not reordered):
//   - TTL <= 1 (lb-encap passes it unwrapped, ip4-rewrite answers time
//     exceeded);
//   - a backend route that is not one gateway or attached next hop (ECMP is
//     resolved by the inner flow's hash in lb-forward; blackholes drop
//     there); for dsr-l2, one that is not attached (lb-forward drops it);
//   - dsr-l2: a packet longer than the egress MTU (ip4-frag's);
//   - a packet that no longer fits the egress MTU once wrapped: with DF,
//     lb-forward sends ICMP fragmentation needed with the MTU left for it;
//     without, ip4-frag fragments the outer datagram;
//   - a next hop without a reachable neighbor (arp-resolve asks).
//
// Headroom: the outer headers (20 or 32 bytes) go in front of the received
// frame's Ethernet header, which the outer IPv4 header overwrites. A batch
// slot's frame starts HEADROOM (128) bytes into its slot (batch.ts), and an
// AF_XDP frame 256 bytes into its UMEM chunk (XDP_PACKET_HEADROOM): either
// way the new start stays inside the packet's own slot or chunk, as the full
// graph's lb-encap and ip4-output already assume. Nothing is copied.
//
// Nothing allocates per packet: the clock is read once per batch (begin) and
// kept as the flow table's int32 clock; the backend's route is remembered per
// backend while the FIB is the same object, as lb-forward does.
import { NeighborState, type NeighborTable } from '../../arp/neighbor-table.js';
import type { FlowTable } from '../../flow/flow-table.js';
import { LbMode } from '../../lb/lb-config.js';
import { GUE_OVERHEAD, IPIP_OVERHEAD } from '../../lb/lb-forward.js';
import type { LoadBalancer } from '../../lb/load-balancer.js';
import { BackendRoutes } from '../../lb/backend-routes.js';
import { gueSourcePort, IPPROTO_IPIP, OUTER_TTL, outerIpv4Id } from '../../lb/tunnel-header.js';
import { NO_ROUTE } from '../../route/fib-view.js';
import { NexthopKind } from '../../route/nexthops.js';
import { ETH_HEADER_LEN } from '../../wire/ethernet.js';
import { IPPROTO_UDP } from '../../wire/ipv4.js';
import type { Batch } from '../batch.js';
import type { ForwardingContext } from '../context.js';
import type { Dispatch, PipelineNode } from '../node.js';

/** Where flow-encap sends and counts, known once the graph is built (FlowEncap.bind). */
export interface FlowEncapWiring {
  /** The graph (what it sends through, and counts into). */
  graph: Dispatch;
  /** The node the packets leave from (ip4-fast) and its next that is the output. */
  from: PipelineNode;
  tx: number;
  /** The nodes whose "packets" counters a wrapped packet advances, as if it had walked them. */
  bypassed: readonly PipelineNode[];
  /** The same for a dsr-l2 packet (lb-encap not among them). */
  bypassedL2: readonly PipelineNode[];
  /** lb-encap's ipip and gue counters (-1 without lb-encap: no tunnel-mode VIP). */
  ipipCounter: number;
  gueCounter: number;
}

/** How prepare() found a backend for this batch (FlowEncap.sendAs). */
const Send = { FULL_GRAPH: 0, L2: 1, IPIP: 2, GUE: 3 } as const;
/** The outer header's TTL as sent: lb-encap's 64, less ip4-rewrite's one. */
const SENT_TTL = OUTER_TTL - 1;

export class FlowEncap {
  private wiring: FlowEncapWiring | undefined;
  /** Each backend's route, looked up once per FIB. */
  private readonly routes = new BackendRoutes();
  /** The batch's clock (begin): for the neighbors' expiry, and the flow table's int32 form for touchAt. */
  private nowMs = 0;
  private tableClock = 0;
  /** The batch (begin counts them): a backend's entries below hold for the batch whose number is in stamp. */
  private seq = 0;
  /** Per backend, for the batch in stamp (prepare): how it is sent (Send), by which port and route. */
  private stamp = new Int32Array(0);
  private sendAs = new Uint8Array(0);
  private port = new Int32Array(0);
  private nh = new Int32Array(0);
  /** The longest inner datagram that fits the egress MTU once wrapped (dsr-l2: the MTU). */
  private room = new Int32Array(0);
  /** The Ethernet header's first 12 bytes (the neighbor's MAC, the port's) as three big-endian words. */
  private mac0 = new Int32Array(0);
  private mac1 = new Int32Array(0);
  private mac2 = new Int32Array(0);
  /** The outer header's source, destination, GUE port, and the ones' complement sum of its constant words (TTL/protocol, addresses). */
  private src = new Int32Array(0);
  private dst = new Int32Array(0);
  private gport = new Int32Array(0);
  private sum = new Int32Array(0);
  /** Per backend: dsr-l2's next hop "via the backend", interned as lb-forward does, and the route it came from. */
  private adjacentNh = new Int32Array(0);
  private adjacentFrom = new Int32Array(0);
  private adjacentTable: unknown = undefined;
  /** The batch arena as a DataView: the headers are written in 32-bit big-endian stores. */
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private viewOf: Uint8Array | undefined;
  /** Packets and outer bytes sent this batch, per mode, for lb-encap's counters (finish). */
  private l2 = 0;
  private ipip = 0;
  private ipipBytes = 0;
  private gue = 0;
  private gueBytes = 0;
  /**
   * The slots sent this batch, in the order take() sent them, handed to the
   * output in one enqueueMany by finish(): a Graph.enqueue per packet (its
   * trace check, its next's lookup) was a quarter of take()'s time on dsr-l2.
   */
  private sentSlots = new Uint16Array(0);
  private sentCount = 0;

  constructor(
    private readonly ctx: ForwardingContext,
    private readonly lb: LoadBalancer,
    private readonly flows: FlowTable,
    private readonly neighbors: NeighborTable,
  ) {}

  /** Where to send and count (after the graph is built). */
  bind(wiring: FlowEncapWiring): void {
    this.wiring = wiring;
  }

  /** Once per batch, before take(). */
  begin(): void {
    this.nowMs = this.ctx.clock.nowMs();
    this.tableClock = this.flows.clockAt(this.nowMs);
    this.seq = (this.seq + 1) | 0;
    // At the wrap, no stamp of 2^32 batches ago may match.
    if (this.seq === 0) this.stamp.fill(-1);
  }

  private grow(backend: number): void {
    const n = Math.max(64, this.lb.tables.backendCapacity, backend + 1);
    this.stamp = new Int32Array(n).fill(-1);
    this.sendAs = new Uint8Array(n);
    this.port = new Int32Array(n);
    this.nh = new Int32Array(n);
    this.room = new Int32Array(n);
    this.mac0 = new Int32Array(n);
    this.mac1 = new Int32Array(n);
    this.mac2 = new Int32Array(n);
    this.src = new Int32Array(n);
    this.dst = new Int32Array(n);
    this.gport = new Int32Array(n);
    this.sum = new Int32Array(n);
    this.adjacentNh = new Int32Array(n).fill(-1);
    this.adjacentFrom = new Int32Array(n).fill(-1);
  }

  /** The backend's entries for this batch: its route, port and neighbor, or Send.FULL_GRAPH where a packet to it cannot be sent here. */
  private prepare(backend: number): void {
    this.stamp[backend] = this.seq;
    this.sendAs[backend] = Send.FULL_GRAPH;
    const ctx = this.ctx;
    const lb = this.lb;
    const fib = ctx.fib;
    const nexthops = ctx.nexthops;
    const addr = lb.tables.backendAddress[backend];
    let nh = this.routes.get(fib, backend);
    if (nh < 0) {
      nh = fib.lookup(addr >>> 0);
      if (nh === NO_ROUTE) return;
      this.routes.remember(fib, backend, nh, lb.tables.backendCapacity);
    }
    const kind = nexthops.kind[nh];
    const vip = lb.tables.backendVip[backend];
    const mode = lb.vipMode[vip];
    if (mode === LbMode.DSR_L2 ? kind !== NexthopKind.ATTACHED : kind !== NexthopKind.GATEWAY && kind !== NexthopKind.ATTACHED) return;
    const port = nexthops.port[nh];
    // int32 throughout (a gateway above 2^31 read from its Uint32Array would be a double).
    const target = kind === NexthopKind.GATEWAY ? nexthops.gateway[nh] | 0 : addr;
    const nt = this.neighbors;
    const found = nt.find(port, target);
    if (found < 0 || nt.state[found] !== NeighborState.REACHABLE || nt.expiresMs[found] <= this.nowMs) return;
    if (mode === LbMode.DSR_L2) this.viaBackend(backend, nh, port, addr);
    const mac = nt.mac;
    const pmac = ctx.ports.mac;
    const m = found * 6;
    const pm = port * 6;
    this.mac0[backend] = (mac[m] << 24) | (mac[m + 1] << 16) | (mac[m + 2] << 8) | mac[m + 3];
    this.mac1[backend] = (mac[m + 4] << 24) | (mac[m + 5] << 16) | (pmac[pm] << 8) | pmac[pm + 1];
    this.mac2[backend] = (pmac[pm + 2] << 24) | (pmac[pm + 3] << 16) | (pmac[pm + 4] << 8) | pmac[pm + 5];
    this.port[backend] = port;
    this.nh[backend] = nh;
    const gue = mode === LbMode.DSR_GUE;
    const src = ctx.ports.address[port] | 0;
    this.src[backend] = src;
    this.dst[backend] = addr;
    this.gport[backend] = lb.vipGuePort[vip];
    this.sum[backend] = ((SENT_TTL << 8) | (gue ? IPPROTO_UDP : IPPROTO_IPIP)) + (src >>> 16) + (src & 0xffff) + (addr >>> 16) + (addr & 0xffff);
    this.room[backend] = ctx.ports.mtu[port] - (mode === LbMode.DSR_L2 ? 0 : gue ? GUE_OVERHEAD : IPIP_OVERHEAD);
    this.sendAs[backend] = mode === LbMode.DSR_L2 ? Send.L2 : gue ? Send.GUE : Send.IPIP;
  }

  /** lb-forward's next hop for a dsr-l2 backend reached by the connected route `connected` on `port`: a gateway entry naming the backend, interned as the full graph would. */
  private viaBackend(backend: number, connected: number, port: number, addr: number): void {
    const nexthops = this.ctx.nexthops;
    if (nexthops !== this.adjacentTable) {
      this.adjacentTable = nexthops;
      this.adjacentNh.fill(-1);
      this.adjacentFrom.fill(-1);
    }
    if (this.adjacentNh[backend] < 0 || this.adjacentFrom[backend] !== connected) {
      this.adjacentNh[backend] = nexthops.intern(NexthopKind.GATEWAY, port, addr >>> 0);
      this.adjacentFrom[backend] = connected;
    }
  }

  /**
   * Sends slot s's packet (IPv4 at start + 14, IHL 5, not a fragment, no
   * offload, start even: ip4-fast's pass 1) of flow `id` pinned to
   * direct-return backend `backend`, from its client; false, having changed
   * nothing, when it must take the full graph (see the header).
   */
  take(batch: Batch, s: number, id: number, backend: number): boolean {
    if (backend >= this.stamp.length) this.grow(backend);
    if (this.stamp[backend] !== this.seq) this.prepare(backend);
    const mode = this.sendAs[backend];
    if (mode === Send.FULL_GRAPH) return false;
    const b = batch.arena;
    if (this.viewOf !== b) {
      this.viewOf = b;
      this.view = new DataView(b.buffer, b.byteOffset, b.length);
    }
    const view = this.view;
    const o = batch.start[s];
    const i = o + ETH_HEADER_LEN;
    const ttl = b[i + 8];
    if (ttl <= 1) return false;
    const inner = (b[i + 2] << 8) | b[i + 3];
    if (inner > this.room[backend]) return false;
    // Taken: ct-input's touch and lb-forward's count, then the headers.
    this.flows.touchAt(id, this.tableClock, 0);
    this.lb.countPacket(backend, inner);
    const port = this.port[backend];
    batch.txPort[s] = port;
    if (mode === Send.L2) {
      // ip4-output's Ethernet header (the EtherType stays), ip4-rewrite's TTL - 1 (RFC 1624, as ip4-fast-flow's
      // decrementTtl: a checksum in 0..0xfffe), the frame trimmed to the datagram; lb-forward's marks.
      view.setInt32(o, this.mac0[backend]);
      view.setInt32(o + 4, this.mac1[backend]);
      view.setInt32(o + 8, this.mac2[backend]);
      b[i + 8] = ttl - 1;
      const cs = view.getUint16(i + 10) + 0x0100;
      view.setUint16(i + 10, (cs + ((cs + 1) >>> 16)) & 0xffff);
      batch.length[s] = ETH_HEADER_LEN + inner;
      batch.ctRef[s] = backend;
      batch.note[s] = backend;
      this.l2++;
    } else {
      // tunnel-header.ts's writeTunnelHeaders, in wide stores from the backend's constant part.
      const gue = mode === Send.GUE;
      const n = i - (gue ? GUE_OVERHEAD : IPIP_OVERHEAD);
      const total = inner + (i - n);
      const tos = b[i + 1];
      const df = b[i + 6] & 0x40;
      const ipId = outerIpv4Id(b, i);
      let sum = this.sum[backend] + (0x4500 | tos) + total + ipId + (df << 8);
      sum = (sum & 0xffff) + (sum >>> 16);
      sum = (sum & 0xffff) + (sum >>> 16);
      view.setInt32(n, (0x45 << 24) | (tos << 16) | total);
      view.setInt32(n + 4, (ipId << 16) | (df << 8));
      view.setInt32(n + 8, (SENT_TTL << 24) | ((gue ? IPPROTO_UDP : IPPROTO_IPIP) << 16) | (~sum & 0xffff));
      view.setInt32(n + 12, this.src[backend]);
      view.setInt32(n + 16, this.dst[backend]);
      if (gue) {
        view.setInt32(n + 20, (gueSourcePort(b, i) << 16) | this.gport[backend]);
        view.setInt32(n + 24, (total - 20) << 16);
        // GUE header: version 0, no control, no optional fields, protocol 4 (IPv4), no flags.
        view.setInt32(n + 28, IPPROTO_IPIP << 16);
        this.gue++;
        this.gueBytes += total;
      } else {
        this.ipip++;
        this.ipipBytes += total;
      }
      const e = n - ETH_HEADER_LEN;
      view.setInt32(e, this.mac0[backend]);
      view.setInt32(e + 4, this.mac1[backend]);
      view.setInt32(e + 8, this.mac2[backend]);
      view.setUint16(e + 12, 0x0800);
      // What run-loop.ts and the port layer read (start, length, txPort), and what ip4-lookup/ip4-rewrite leave (l3, next hop).
      batch.start[s] = e;
      batch.length[s] = ETH_HEADER_LEN + total;
      batch.l3[s] = n;
      batch.nextHop[s] = this.nh[backend];
    }
    if (this.sentCount >= this.sentSlots.length) this.growSent(batch.capacity);
    this.sentSlots[this.sentCount++] = s;
    return true;
  }

  private growSent(capacity: number): void {
    const next = new Uint16Array(Math.max(capacity, 2 * this.sentSlots.length, 256));
    next.set(this.sentSlots);
    this.sentSlots = next;
  }

  /** After the batch's take() calls (when one returned true): the sent packets to the output; the counters of the nodes they skipped, and lb-encap's. */
  finish(): void {
    const w = this.wiring!;
    // To the output as take() sent them, before ip4-fast's taken packets (as per-packet enqueues did).
    w.graph.enqueueMany(w.from, w.tx, this.sentSlots, this.sentCount);
    this.sentCount = 0;
    const v = w.graph.counters.values;
    const l2 = this.l2;
    if (l2 > 0) {
      const bypassed = w.bypassedL2;
      for (let q = 0; q < bypassed.length; q++) v[2 * bypassed[q].processedCounter] += l2;
      this.l2 = 0;
    }
    const sent = this.ipip + this.gue;
    if (sent === 0) return;
    const bypassed = w.bypassed;
    for (let q = 0; q < bypassed.length; q++) v[2 * bypassed[q].processedCounter] += sent;
    v[2 * w.ipipCounter] += this.ipip;
    v[2 * w.ipipCounter + 1] += this.ipipBytes;
    v[2 * w.gueCounter] += this.gue;
    v[2 * w.gueCounter + 1] += this.gueBytes;
    this.ipip = 0;
    this.ipipBytes = 0;
    this.gue = 0;
    this.gueBytes = 0;
  }
}
