// ip4-output: the Ethernet header for a routed datagram. The MAC of the next
// hop (the gateway, or the destination itself on an attached route:
// NexthopTable.neighborAddress, inlined below) comes from the ARP module's
// neighbor table; a miss goes to arp-resolve, which holds the datagram and
// asks.
//
// Offload metadata (batch.offload): towards an offload TAP it goes along
// unchanged (ports are untagged, so the Ethernet header written here starts
// where the received one did, and CSUM_START, counted from the frame's start,
// still holds); towards any other port a partial checksum is completed here. A TCP
// super-packet for such a port was segmented by ip4-gso already; one that
// still arrives (it cannot by ip4-rewrite) is dropped as
// gso-to-non-offload-port rather than sent as a 64 KiB frame.
import { ETH_HEADER_LEN, ETHERTYPE_IPV4 } from '../../wire/ethernet.js';
import { NexthopKind } from '../../route/nexthops.js';
import { NeighborState, type NeighborTable } from '../../arp/neighbor-table.js';
import { OffloadMeta, type Batch } from '../batch.js';
import { completeChecksum } from '../offload.js';
import type { ForwardingContext } from '../context.js';
import { defineNode, OUTPUT, PipelineNode, type Dispatch } from '../node.js';

const spec = defineNode({
  name: 'ip4-output',
  next: { tx: OUTPUT, resolve: 'arp-resolve' },
  drops: {
    gsoToNonOffloadPort: 'a TCP super-packet that reached a port without offload unsegmented (ip4-gso segments them; a safety net)',
  },
});

export class Ip4Output extends PipelineNode<typeof spec> {
  constructor(
    private readonly ctx: ForwardingContext,
    private readonly neighbors: NeighborTable,
  ) {
    super(spec);
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const ctx = this.ctx;
    const now = ctx.clock.nowMs();
    const nt = this.neighbors;
    const ntPort = nt.port;
    const ntIp = nt.ip;
    const ntState = nt.state;
    const ntExpires = nt.expiresMs;
    const ntMac = nt.mac;
    const portMac = ctx.ports.mac;
    const nhKind = ctx.nexthops.kind;
    const nhGateway = ctx.nexthops.gateway;
    // One-entry cache of the last neighbor: a batch mostly goes to few next
    // hops. The entry is re-validated from the table's arrays, so a neighbor
    // that expired, moved or went away is never used stale.
    let lastPort = -1;
    let lastTarget = -1;
    let lastSlot = 0;
    const l3 = batch.l3;
    const txPort = batch.txPort;
    const nextHop = batch.nextHop;
    const start = batch.start;
    const length = batch.length;
    const meta = batch.offload;
    const portOffload = ctx.ports.offload;
    let w = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = l3[s];
      const port = txPort[s];
      const nh = nextHop[s];
      const om = s * OffloadMeta.WORDS;
      const offloaded = (meta[om] | meta[om + 1]) !== 0;
      if (offloaded && portOffload[port] === 0) {
        if (meta[om + OffloadMeta.GSO_TYPE] !== 0) {
          d.drop(this, this.reason.gsoToNonOffloadPort, s);
          continue;
        }
        completeChecksum(batch, s);
      }
      const target = nhKind[nh] === NexthopKind.GATEWAY ? nhGateway[nh] : ((b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19]) >>> 0;
      let n: number;
      if (port === lastPort && target === lastTarget && ntPort[lastSlot] === port && ntIp[lastSlot] === target && ntState[lastSlot] === NeighborState.REACHABLE && ntExpires[lastSlot] > now) {
        n = lastSlot;
      } else {
        n = nt.findReachable(port, target, now);
        if (n >= 0) {
          lastPort = port;
          lastTarget = target;
          lastSlot = n;
        }
      }
      if (n < 0) {
        d.enqueue(this, this.next.resolve, s);
        continue;
      }
      // Ethernet header: neighbor's MAC, port's MAC, IPv4.
      const e = o - ETH_HEADER_LEN;
      const m = n * 6;
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
      b[e + 12] = ETHERTYPE_IPV4 >> 8;
      b[e + 13] = ETHERTYPE_IPV4 & 0xff;
      start[s] = e;
      length[s] = ETH_HEADER_LEN + ((b[o + 2] << 8) | b[o + 3]);
      vec[w++] = s;
    }
    d.enqueueMany(this, this.next.tx, vec, w);
  }
}
