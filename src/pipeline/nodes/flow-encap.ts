// flow-encap: the fast path's tunnel modes. A packet of an established
// dsr-ipip or dsr-gue flow, from the client, that ip4-fast's flow stage
// (ip4-fast-flow.ts) found and judged usual, is wrapped and sent from there:
// what ct-input (touch), lb-forward (the backend's count, its route, the MTU
// check), lb-encap (the outer headers: src/lb/tunnel-header.ts, the same
// writer), ip4-rewrite (the outer TTL, 63) and ip4-output (the Ethernet
// header) do to it in the full graph, byte for byte.
//
// It leaves to the full graph (returns false; the flow stage then sends the
// flow's later packets of the batch there too, so a flow is not reordered):
//   - inner TTL <= 1 (lb-encap passes it unwrapped, ip4-rewrite answers time
//     exceeded);
//   - a backend route that is not one gateway or attached next hop (ECMP is
//     resolved by the inner flow's hash in lb-forward; blackholes drop there);
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
import { gueSourcePort, OUTER_TTL, outerIpv4Id, writeTunnelHeaders } from '../../lb/tunnel-header.js';
import { NO_ROUTE } from '../../route/fib-view.js';
import { NexthopKind } from '../../route/nexthops.js';
import { ETH_HEADER_LEN } from '../../wire/ethernet.js';
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
  /** lb-encap's ipip and gue counters. */
  ipipCounter: number;
  gueCounter: number;
}

export class FlowEncap {
  private wiring: FlowEncapWiring | undefined;
  /** Each backend's route, looked up once per FIB. */
  private readonly routes = new BackendRoutes();
  /** The batch's clock (begin): for the neighbors' expiry, and the flow table's int32 form for touchAt. */
  private nowMs = 0;
  private tableClock = 0;
  /** The neighbor of the previous packet (nothing changes the table or the clock within a batch). */
  private lastPort = -1;
  private lastTarget = -1;
  private lastSlot = 0;
  /** Packets and outer bytes sent this batch, per mode, for lb-encap's counters (finish). */
  private ipip = 0;
  private ipipBytes = 0;
  private gue = 0;
  private gueBytes = 0;

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
    this.lastPort = -1;
    this.lastTarget = -1;
  }

  /**
   * Wraps and sends slot s's packet (IPv4 at start + 14, IHL 5, not a
   * fragment, no offload: ip4-fast's pass 1) of flow `id` pinned to tunnel
   * backend `backend`, from its client; false, having changed nothing, when
   * it must take the full graph (see the header).
   */
  take(batch: Batch, s: number, id: number, backend: number): boolean {
    const b = batch.arena;
    const o = batch.start[s];
    const i = o + ETH_HEADER_LEN;
    if (b[i + 8] <= 1) return false;
    const ctx = this.ctx;
    const lb = this.lb;
    const fib = ctx.fib;
    const nexthops = ctx.nexthops;
    const addr = lb.tables.backendAddress[backend];
    let nh = this.routes.get(fib, backend);
    if (nh < 0) {
      nh = fib.lookup(addr >>> 0);
      if (nh === NO_ROUTE) return false;
      this.routes.remember(fib, backend, nh, this.lb.tables.backendCapacity);
    }
    const kind = nexthops.kind[nh];
    if (kind !== NexthopKind.GATEWAY && kind !== NexthopKind.ATTACHED) return false;
    const port = nexthops.port[nh];
    const gue = lb.vipMode[lb.tables.backendVip[backend]] === LbMode.DSR_GUE;
    const overhead = gue ? GUE_OVERHEAD : IPIP_OVERHEAD;
    const inner = (b[i + 2] << 8) | b[i + 3];
    if (inner + overhead > ctx.ports.mtu[port]) return false;
    // int32 throughout (a gateway above 2^31 read from its Uint32Array would be a double, boxed when kept in a field).
    const target = kind === NexthopKind.GATEWAY ? nexthops.gateway[nh] | 0 : addr;
    if (port !== this.lastPort || target !== this.lastTarget) {
      const nt = this.neighbors;
      let found = nt.find(port, target | 0);
      if (found >= 0 && (nt.state[found] !== NeighborState.REACHABLE || nt.expiresMs[found] <= this.nowMs)) found = -1;
      if (found < 0) return false;
      this.lastPort = port;
      this.lastTarget = target;
      this.lastSlot = found;
    }
    // Taken: ct-input's touch and lb-forward's count, then the headers.
    this.flows.touchAt(id, this.tableClock, 0);
    lb.countPacket(backend, inner);
    const n = i - overhead;
    const sport = gue ? gueSourcePort(b, i) : 0;
    const total = writeTunnelHeaders(b, n, i, gue, ctx.ports.address[port] | 0, addr, sport, lb.vipGuePort[lb.tables.backendVip[backend]], outerIpv4Id(b, i), OUTER_TTL - 1);
    const e = n - ETH_HEADER_LEN;
    const mac = this.neighbors.mac;
    const pmac = ctx.ports.mac;
    const m = this.lastSlot * 6;
    const pm = port * 6;
    b[e] = mac[m];
    b[e + 1] = mac[m + 1];
    b[e + 2] = mac[m + 2];
    b[e + 3] = mac[m + 3];
    b[e + 4] = mac[m + 4];
    b[e + 5] = mac[m + 5];
    b[e + 6] = pmac[pm];
    b[e + 7] = pmac[pm + 1];
    b[e + 8] = pmac[pm + 2];
    b[e + 9] = pmac[pm + 3];
    b[e + 10] = pmac[pm + 4];
    b[e + 11] = pmac[pm + 5];
    b[e + 12] = 0x08;
    b[e + 13] = 0x00;
    // What run-loop.ts and the port layer read (start, length, txPort), and what ip4-lookup/ip4-rewrite leave (l3, next hop).
    batch.start[s] = e;
    batch.length[s] = ETH_HEADER_LEN + total;
    batch.txPort[s] = port;
    batch.l3[s] = n;
    batch.nextHop[s] = nh;
    if (gue) {
      this.gue++;
      this.gueBytes += total;
    } else {
      this.ipip++;
      this.ipipBytes += total;
    }
    const w = this.wiring!;
    w.graph.enqueue(w.from, w.tx, s);
    return true;
  }

  /** After the batch's take() calls: the counters of the nodes the sent packets skipped, and lb-encap's. */
  finish(): void {
    const sent = this.ipip + this.gue;
    if (sent === 0) return;
    const w = this.wiring!;
    const v = w.graph.counters.values;
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
