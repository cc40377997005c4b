// ip4-fast: the usual forwarded packet in one pass, in front of
// ethernet-input. A packet it takes does what ethernet-input, ip4-input,
// ip4-lookup, ip4-rewrite and ip4-output would do to it, with the same
// result byte for byte, and goes straight to the output; every other packet
// goes to ethernet-input untouched and takes the full graph as before, so
// drops, counters, ICMP errors and ARP are the full graph's.
//
// The usual packet: an Ethernet II frame to the receiving port's MAC (any
// unicast MAC on a promiscuous port, replay --promisc) from a unicast
// source, no offload metadata, within the port's MTU; IPv4 with IHL 5, a
// total length that fits the frame, a valid header checksum, not a
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
// that frame too. So a batch that holds an ARP frame that may do so goes to
// the full graph whole; ARP about other hosts from a sender the neighbor
// table does not hold changes nothing there (arp-input counts it), and goes
// to the full graph alone (arpLeavesNeighbors). The router steps this node
// aside for traced batches (router.ts) so a packet trace lists the same
// nodes it always did.
//
// Where stateful features are configured (connection tracking, NAT, the
// firewall, the load balancer), a flow stage (ip4-fast-flow.ts) sits between
// passes 1 and 2: only usual packets of established flows stay candidates,
// with the destination their translation gives (or, dsr-l2, their backend's
// address) to look up; pass 3 makes a usual flow packet's translation and
// ip4-rewrite's TTL - 1 with its L2 rewrite (from what the flow stage read
// of the record), and after the loop the flow stage does ct-input's (and
// lb-forward's) work on the other packets it took, in one call.
// Not with tunnel decap ports (lb-decap judges routed packets). Tunnelling
// VIPs' packets the flow stage wraps and sends itself (flow-encap.ts):
// neither kept nor left to the graph.
//
// The bypassed nodes' "packets" counters are advanced by the number taken,
// once per batch, so per-node counts read as if the packets had walked the
// graph; "ip4-fast/packets" counts every packet this node looked at (every
// received packet of an untraced batch).
import { ETH_HEADER_LEN, ETHERTYPE_ARP } from '../../wire/ethernet.js';
import { ARP_REPLY, ARP_REQUEST, ARP_SHA, ARP_SPA, ARP_TPA, arpOper, checkArp } from '../../wire/arp.js';
import { readIpv4 } from '../../wire/address.js';
import { WireDrop } from '../../wire/drop-reason.js';
import { NexthopKind } from '../../route/nexthops.js';
import { NO_ROUTE } from '../../route/fib-view.js';
import { NeighborState, type NeighborTable } from '../../arp/neighbor-table.js';
import { believableSenderMac, learnsSender } from '../../arp/arp-input.js';
import { OffloadMeta, type Batch } from '../batch.js';
import type { ForwardingContext } from '../context.js';
import { flowHash } from '../flow-hash.js';
import { defineNode, OUTPUT, PipelineNode, type Dispatch } from '../node.js';
import { lookupInto } from './lookup-batch.js';
import { FIRST_BYTE_ONE, FlowKind, TTL_DELTA, type FastFlows } from './ip4-fast-flow.js';
import { hashKey } from '../../flow/flow-key.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../../wire/ipv4.js';
import { ICMP_QUERY_TYPES } from '../../wire/icmp.js';

const spec = defineNode({
  name: 'ip4-fast',
  next: { slow: 'ethernet-input', tx: OUTPUT },
  drops: {},
});

/** Host-order 16-bit word of two bytes as they lie in memory (the views below read in host order). */
function word(b0: number, b1: number): number {
  return new Uint16Array(new Uint8Array([b0, b1]).buffer)[0];
}
const ETHERTYPE_IPV4_WORD = word(0x08, 0x00);
/** The TTL's bits in the host-order TTL/protocol word (its first byte). */
const TTL_BYTE_MASK = word(0xff, 0x00);
/** Bits of the own-address filter (a power of two): an address sets bit (address & (OWN_FILTER_BITS - 1)). */
const OWN_FILTER_BITS = 1024;
/** Pass 1's flow-stage columns where there is no flow stage (never written then). */
const NO_KEYS = new Int32Array(0);
/** reachableMemo() entries: a power of two, above the backends of a usual VIP. */
const NEIGHBOR_MEMO_BITS = 5;

export class Ip4Fast extends PipelineNode<typeof spec> {
  /**
   * Packets this node forwarded itself (the rest went to ethernet-input). Not
   * a counter on purpose: it depends on how packets fall into batches (a
   * batch with an ARP frame that may change a neighbor goes to the full
   * graph whole), and the counters must not (replay on N workers gives one
   * worker's counters).
   */
  taken = 0;
  /** Per-slot scratch: 1 when pass 1 or 3 left the packet to the full graph. */
  private slow = new Uint8Array(0);
  /** Candidates of pass 1 (slots, in arrival order), then the taken ones compacted to the front. */
  private cand = new Uint16Array(0);
  private dst = new Uint32Array(0);
  /** The IPv4 total length of each candidate, read in pass 1 (plain routing's pass 3 uses it; the flow stage compacts cand and dst only). */
  private total = new Uint16Array(0);
  private nh = new Int32Array(0);
  /** Pass 3 with the flow stage: the candidate index (into FastFlows.plan) and the slot of each packet taken that is no usual one (FastFlows.applyTaken's). */
  private takenIndex = new Uint16Array(0);
  private otherSlot = new Uint16Array(0);
  /**
   * 16-bit views of the arena and the neighbors' MACs: a MAC is compared and
   * written as three words, the header checksum summed as ten (the ones'
   * complement sum is the same in either byte order, RFC 1071 2(B), so host
   * order serves). Slot starts are even; an odd one takes the full graph.
   */
  private arena16: Uint16Array<ArrayBufferLike> = new Uint16Array(0);
  /** The arena as a DataView: an address or length is one big-endian load instead of two or four byte loads. */
  private arenaView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private arenaOf: Uint8Array | undefined;
  /** batch.offload as 32-bit words: FLAGS and GSO_TYPE of slot s are word 3s (6 words per slot), tested in one load. */
  private offload32: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  private offloadOf: Uint16Array | undefined;
  /**
   * The router's own addresses and its subnets' broadcasts, one bit each by
   * their low bits: a source whose bit is clear is none of them, so the
   * exact checks run only for the few that share the bit. Built once: the
   * port table's addresses do not change after it is made (ports.ts).
   */
  private readonly ownFilter: Uint32Array;
  private readonly ntMac16: Uint16Array;
  /** The ports' MACs as host-order words, three per port. */
  private readonly portMac16: Uint16Array;

  /** The flow stage, where stateful features are configured (useFlows). */
  private flow: FastFlows | undefined = undefined;
  /** The nodes a taken dsr-l2 packet skips (with a flow stage). */
  private bypassedDsr: readonly PipelineNode[] = [];

  /** `bypassed`: the nodes whose work a taken packet skips, to advance their packet counters. */
  constructor(
    private readonly ctx: ForwardingContext,
    private readonly neighbors: NeighborTable,
    private bypassed: readonly PipelineNode[],
  ) {
    super(spec);
    const mac = neighbors.mac;
    this.ntMac16 = new Uint16Array(mac.buffer, mac.byteOffset, mac.length >> 1);
    if (mac.byteOffset % 2 !== 0) throw new Error('ip4-fast: the neighbor MAC table must start at an even offset');
    this.portMac16 = new Uint16Array(new Uint8Array(ctx.ports.mac).buffer);
    this.ownFilter = new Uint32Array(OWN_FILTER_BITS / 32);
    const ports = ctx.ports;
    for (let p = 0; p < ports.count; p++) {
      for (const a of [ports.address[p], ports.broadcast[p]]) {
        const bit = a & (OWN_FILTER_BITS - 1);
        this.ownFilter[bit >>> 5] |= 1 << (bit & 31);
      }
    }
  }

  /**
   * Takes established flows' packets too (before the graph is built):
   * `routed` are the nodes a routed flow's packet skips, `dsr` those a
   * dsr-l2 packet skips (ct-input hands it to lb-forward, not routing).
   */
  useFlows(flow: FastFlows, routed: readonly PipelineNode[], dsr: readonly PipelineNode[]): void {
    this.flow = flow;
    this.bypassed = routed;
    this.bypassedDsr = dsr;
  }

  /**
   * Whether arp-input leaves the neighbor table as it is for the ARP frame at
   * `o` on `port`: one it drops (malformed, neither request nor reply), or
   * one about other hosts (its target none of the port's addresses) from a
   * sender the table does not hold, which arp-input only counts. Any other
   * may learn or refresh a neighbor (RFC 826's merge flag) that the packets
   * before it in the batch then use in the full graph. Hosts on a LAN ask
   * for each other all the time, and replayed captures hold their requests:
   * such a frame no longer sends its whole batch to the full graph.
   */
  private arpLeavesNeighbors(b: Uint8Array, o: number, len: number, port: number): boolean {
    const l3 = o + ETH_HEADER_LEN;
    if (checkArp(b, l3, len - ETH_HEADER_LEN) !== WireDrop.OK) return true;
    const oper = arpOper(b, l3);
    if (oper !== ARP_REQUEST && oper !== ARP_REPLY) return true;
    if (!believableSenderMac(b, l3 + ARP_SHA, this.ctx.ports)) return true;
    const spa = readIpv4(b, l3 + ARP_SPA);
    return !learnsSender(spa, this.ctx.ports.answersArp(port, readIpv4(b, l3 + ARP_TPA)), this.neighbors.find(port, spa) >= 0);
  }

  private grow(n: number): void {
    this.slow = new Uint8Array(n);
    this.cand = new Uint16Array(n);
    this.dst = new Uint32Array(n);
    this.total = new Uint16Array(n);
    this.nh = new Int32Array(n);
    this.takenIndex = new Uint16Array(n);
    this.otherSlot = new Uint16Array(n);
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    if (this.cand.length < vec.length || this.slow.length < batch.capacity) this.grow(Math.max(vec.length, batch.capacity));
    const b = batch.arena;
    if (this.arenaOf !== b) {
      this.arenaOf = b;
      this.arena16 = new Uint16Array(b.buffer, b.byteOffset, b.length >> 1);
      this.arenaView = new DataView(b.buffer, b.byteOffset, b.length);
    }
    const meta = batch.offload;
    if (this.offloadOf !== meta) {
      this.offloadOf = meta;
      this.offload32 = new Uint32Array(meta.buffer, meta.byteOffset, meta.length >> 1);
    }
    const h = this.arena16;
    const view = this.arenaView;
    const meta32 = this.offload32;
    const ownFilter = this.ownFilter;
    const ctx = this.ctx;
    const ports = ctx.ports;
    const pmac = this.portMac16;
    // Ports that take unicast frames for any MAC (replay --promisc), as ethernet-input does.
    const promiscuous = ports.promiscuous;
    const portMtu = ports.mtu;
    const portAddress = ports.address;
    const portBroadcast = ports.broadcast;
    const portCount = ports.count;
    const start = batch.start;
    const length = batch.length;
    const rxPort = batch.rxPort;
    const slow = this.slow;
    const cand = this.cand;
    const dst = this.dst;
    const totals = this.total;

    // With the flow stage: its lookup entries (keys, hashes) written by pass 1; `entries` is -1 once a
    // packet went slow before the flow stage's checks (FastFlows.classify then keys the vector itself).
    const flow = this.flow;
    let entries = 0;
    let keys = NO_KEYS;
    let hashes = NO_KEYS;
    let entry = NO_KEYS;
    let seed = 0;
    if (flow !== undefined) {
      flow.prepare(batch, count);
      keys = flow.keys;
      hashes = flow.hashes;
      entry = flow.entry;
      // An int32 local: the field may hold it as a double (hashKey).
      seed = flow.seed | 0;
    }

    // Pass 1: what ethernet-input and ip4-input check, reading only. Constants as locals: read in the
    // loop, a module's binding is a cell load and a check per packet.
    const ethLen = ETH_HEADER_LEN;
    const ipv4Word = ETHERTYPE_IPV4_WORD;
    const metaStride = OffloadMeta.WORDS >> 1;
    const ownMask = OWN_FILTER_BITS - 1;
    let c = 0;
    let slowCount = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = start[s];
      const len = length[s];
      const port = rxPort[s];
      const pw = port * 3;
      const w0 = o >>> 1;
      if (
        (o & 1) === 0 &&
        len >= ethLen + 20 &&
        ((h[w0] === pmac[pw] && h[w0 + 1] === pmac[pw + 1] && h[w0 + 2] === pmac[pw + 2]) || (promiscuous[port] !== 0 && (b[o] & 1) === 0)) &&
        (b[o + 6] & 1) === 0 &&
        h[w0 + 6] === ipv4Word &&
        b[o + 14] === 0x45 &&
        meta32[s * metaStride] === 0 &&
        len - ethLen <= portMtu[port]
      ) {
        const i = o + ethLen;
        const total = view.getUint16(i + 2);
        // Not a fragment: MF clear and offset 0 (DF may be set).
        if (total >= 20 && total <= len - ethLen && ((b[i + 6] & 0x3f) | b[i + 7]) === 0) {
          const x = w0 + 7;
          let sum = h[x] + h[x + 1] + h[x + 2] + h[x + 3] + h[x + 4] + h[x + 5] + h[x + 6] + h[x + 7] + h[x + 8] + h[x + 9];
          sum = (sum & 0xffff) + (sum >>> 16);
          sum = (sum & 0xffff) + (sum >>> 16);
          const src = view.getUint32(i + 12);
          const to = view.getUint32(i + 16);
          const st = src >>> 24;
          const dt = to >>> 24;
          // Martian and group addresses (ip4-input's checks), then the router's own source and the subnet's broadcast.
          let ok = sum === 0xffff && st !== 0 && st !== 127 && st < 224 && dt !== 0 && dt !== 127 && dt < 224;
          const bit = src & ownMask;
          if (((ownFilter[bit >>> 5] >>> (bit & 31)) & 1) !== 0) {
            if (src === portBroadcast[port]) ok = false;
            for (let p = 0; p < portCount; p++) if (portAddress[p] === src) ok = false;
          }
          if (ok && keys !== NO_KEYS) {
            // The flow stage's key and hash (FastFlows.classify's pass A for a candidate, here while the
            // header is at hand): in arrival order as long as no packet before went slow in these checks.
            const proto = b[i + 9];
            const l4 = i + 20;
            const end = o + len;
            let ports = 0;
            let keyed = true;
            let usual = 1;
            if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
              // ct-input drops a datagram too short for its ports (truncated): no key.
              if (total - 20 < (proto === IPPROTO_TCP ? 20 : 8) || l4 + 4 > end) keyed = false;
              else {
                ports = view.getInt32(l4);
                // TCP: ACK, and none of SYN, FIN, RST (see ip4-fast-flow.ts).
                if (proto === IPPROTO_TCP && (l4 + 14 > end || (b[l4 + 13] & 0x17) !== 0x10)) usual = 0;
              }
            } else if (proto === IPPROTO_ICMP && total >= 28 && l4 + 6 <= end && b[l4] < 32 && ((ICMP_QUERY_TYPES >>> b[l4]) & 1) !== 0) {
              const id = (b[l4 + 4] << 8) | b[l4 + 5];
              ports = (id << 16) | id;
            } else keyed = false;
            if (keyed && entries >= 0) {
              const e = entries << 2;
              keys[e] = src;
              keys[e + 1] = to;
              keys[e + 2] = ports;
              keys[e + 3] = proto;
              hashes[entries] = hashKey(src, to, ports, proto, seed);
              // Entry: slot | USUAL | protocol << PROTO_SHIFT.
              entry[entries++] = s | (usual << 16) | (proto << 24);
            }
            if (!keyed || usual === 0) {
              // No flow's usual packet: to the full graph, as classify would leave it.
              slow[s] = 1;
              slowCount++;
              continue;
            }
          }
          if (ok) {
            cand[c] = s;
            totals[c] = total;
            dst[c++] = to;
            slow[s] = 0;
            continue;
          }
        }
      } else if (len >= ETH_HEADER_LEN && b[o + 12] === ETHERTYPE_ARP >> 8 && b[o + 13] === (ETHERTYPE_ARP & 0xff)) {
        if (!this.arpLeavesNeighbors(b, o, len, port)) {
          // It may change a neighbor the packets before it would use (see the header): all to the full graph.
          d.enqueueMany(this, this.next.slow, vec, count);
          return;
        }
        // ARP about other hosts: to the full graph alone (ct-input keys no ARP frame, so the flow stage's entries stand).
        slow[s] = 1;
        slowCount++;
        continue;
      }
      slow[s] = 1;
      slowCount++;
      // Its key, if ct-input would look one up, belongs before the later candidates': classify keys the vector itself.
      entries = -1;
    }
    // With the flow stage, the batch's clock, read once: classify touches flows by it and pass 3 checks neighbors.
    const now = flow !== undefined ? ctx.clock.nowMs() : 0;
    if (flow !== undefined && c > 0) {
      const kept = flow.classify(batch, vec, count, slow, cand, dst, c, entries, now);
      // Tunnel-mode packets the flow stage sent itself (flow-encap.ts) were neither kept nor left.
      slowCount += c - kept - flow.sent;
      this.taken += flow.sent;
      c = kept;
    }
    if (c === 0 && slowCount === count) {
      d.enqueueMany(this, this.next.slow, vec, count);
      return;
    }

    // Pass 2: the FIB for every candidate at once.
    const nh = this.nh;
    lookupInto(ctx.fib, dst, nh, c);

    // Pass 3: route, TTL, MTU, neighbor; then the rewrite of the taken ones. Two loops, so that a
    // router without a flow stage runs one without the flow checks and calls (they cost plain L3 ~5%).
    if (flow === undefined) this.takeRouted(batch, c);
    else this.takeFlows(batch, c, flow, now);
    const w = this.takenCount;
    slowCount += this.leftCount;
    const dsrTaken = this.dsrCount;

    if (w > 0) {
      const v = d.counters.values;
      const bypassed = this.bypassed;
      const routed = w - dsrTaken;
      if (routed > 0) for (let q = 0; q < bypassed.length; q++) v[2 * bypassed[q].processedCounter] += routed;
      if (dsrTaken > 0) {
        const dsr = this.bypassedDsr;
        for (let q = 0; q < dsr.length; q++) v[2 * dsr[q].processedCounter] += dsrTaken;
      }
      this.taken += w;
      d.enqueueMany(this, this.next.tx, cand, w);
    }
    if (slowCount === count) d.enqueueMany(this, this.next.slow, vec, count);
    else if (slowCount > 0) {
      // In arrival order, as the full graph would have seen them.
      for (let k = 0; k < count; k++) if (slow[vec[k]] === 1) d.enqueue(this, this.next.slow, vec[k]);
    }
  }

  /** Pass 3's results: packets taken (compacted to the front of cand), left to the full graph, taken as dsr-l2. */
  private takenCount = 0;
  private leftCount = 0;
  private dsrCount = 0;

  /** The clock of pass 3's batch, for reachable(). */
  private batchNowMs = 0;

  /**
   * NeighborTable.findReachable for pass 3's loops: the slot of (port,
   * address) when REACHABLE and not expired at batchNowMs, else -1. The
   * clock comes from a field and the address as an int32: where V8 does not
   * inline a call (the flow stage's loop is past its budget), a double
   * argument (the clock, an address of 2^31 or more) is a new HeapNumber
   * at every call.
   */
  private reachable(port: number, address: number): number {
    const nt = this.neighbors;
    const i = nt.find(port, address);
    return i >= 0 && nt.state[i] === NeighborState.REACHABLE && nt.expiresMs[i] > this.batchNowMs ? i : -1;
  }

  /**
   * reachable() for takeFlows, through a memo of NEIGHBOR_MEMO (port,
   * address) answers valid for one batch (nothing changes the table or the
   * clock while pass 3 runs). A load balancer's flows alternate between its
   * backends, each its own neighbor: the one-entry cache of the loop misses
   * at almost every packet, and a table probe per packet cost dsr-l2 ~8% of
   * its time (10 backends, hot flows).
   */
  private reachableMemo(port: number, address: number): number {
    const m = Math.imul(address ^ (port << 24), 0x9e3779b1) >>> (32 - NEIGHBOR_MEMO_BITS);
    const seq = this.memoSeq;
    if (this.memoStamp[m] === seq && this.memoAddress[m] === address && this.memoPort[m] === port) return this.memoSlot[m];
    const i = this.reachable(port, address);
    this.memoStamp[m] = seq;
    this.memoAddress[m] = address;
    this.memoPort[m] = port;
    this.memoSlot[m] = i;
    return i;
  }

  /** reachableMemo()'s entries, and the batch they hold for (memoStamp === memoSeq). */
  private readonly memoStamp = new Int32Array(1 << NEIGHBOR_MEMO_BITS);
  private readonly memoAddress = new Int32Array(1 << NEIGHBOR_MEMO_BITS);
  private readonly memoPort = new Int32Array(1 << NEIGHBOR_MEMO_BITS);
  private readonly memoSlot = new Int32Array(1 << NEIGHBOR_MEMO_BITS);
  private memoSeq = 0;

  /**
   * Pass 3 without a flow stage (plain routing). Which loop: by how many
   * neighbors the batch before looked up; a batch rarely differs much from
   * the one before, and either loop gives the same result.
   */
  private takeRouted(batch: Batch, c: number): void {
    if (this.neighborLookups * 8 > this.lastRoutedCount) this.takeRoutedPerPacket(batch, c);
    else this.takeRoutedRuns(batch, c);
    this.lastRoutedCount = c;
  }

  /** The neighbor lookups of the last plain-routing batch, and its candidates (takeRouted's choice). */
  private neighborLookups = 0;
  private lastRoutedCount = 0;

  /**
   * Pass 3 without a flow stage (plain routing), for runs of packets to one
   * neighbor (a gateway's traffic): the loop proper makes no call, and a
   * packet whose neighbor differs from the packet before's is taken after
   * it, which then resumes.
   */
  private takeRoutedRuns(batch: Batch, c: number): void {
    const b = batch.arena;
    const h = this.arena16;
    const ctx = this.ctx;
    const pmac = this.portMac16;
    const portMtu = ctx.ports.mtu;
    const start = batch.start;
    const txPort = batch.txPort;
    const length = batch.length;
    const slow = this.slow;
    const cand = this.cand;
    const dst = this.dst;
    const totals = this.total;
    const nh = this.nh;
    let slowCount = 0;
    const nexthops = ctx.nexthops;
    const kinds = nexthops.kind;
    const nhPort = nexthops.port;
    const nhGateway = nexthops.gateway;
    const mac16 = this.ntMac16;
    // Imported constants as locals: read in the loop, each is a module cell load and a check per packet.
    const ethLen = ETH_HEADER_LEN;
    const none = NO_ROUTE;
    const gateway = NexthopKind.GATEWAY;
    const attached = NexthopKind.ATTACHED;
    const ecmp = NexthopKind.ECMP;
    const one = FIRST_BYTE_ONE;
    const ttlMask = TTL_BYTE_MASK;
    this.batchNowMs = ctx.clock.nowMs();
    // The neighbor of the previous packet: nothing changes the table or the clock while this loop runs,
    // so an entry reachable() returned holds for the rest of the batch. Its Ethernet header (the
    // neighbor's MAC, then the port's) is kept as six host-order words, so a packet's header is six stores.
    // Addresses are compared as int32: a uint32 of 2^31 or more is a double, and a double compare.
    let lastPort = -1;
    let lastTarget = 0;
    let e0 = 0;
    let e1 = 0;
    let e2 = 0;
    let e3 = 0;
    let e4 = 0;
    let e5 = 0;
    let w = 0;
    let j = 0;
    // The loop proper makes no call: a packet that needs one (an ECMP group to resolve, a neighbor other
    // than the last packet's) leaves it for the code after it, which resumes it after that packet. A call
    // in its body cost plain L3 ~3 ns a packet (its registers spilled and reloaded around it), leaving and
    // resuming the loop ~5 ns a packet where each has its own neighbor: takeRouted chooses.
    let lookups = 0;
    while (j < c) {
      for (; j < c; j++) {
        const s = cand[j];
        const o = start[s];
        const n = nh[j];
        const kind = n === none ? -1 : kinds[n];
        if (kind === ecmp) break;
        const port = kind === gateway || kind === attached ? nhPort[n] : -1;
        const total = totals[j];
        const x = (o >>> 1) + 7;
        const ttlWord = h[x + 4];
        // TTL <= 1: the TTL byte of the host-order TTL/protocol word, masked, against FIRST_BYTE_ONE.
        if (port < 0 || (ttlWord & ttlMask) <= one || total > portMtu[port]) {
          slow[s] = 1;
          slowCount++;
          continue;
        }
        const target = (kind === gateway ? nhGateway[n] : dst[j]) | 0;
        if (port !== lastPort || target !== lastTarget) break;
        // Taken: ip4-rewrite's TTL and checksum update and ip4-output's header, trimmed to the datagram
        // (Ethernet padding dropped), and the port it leaves by. ip4-lookup's next hop and L3 offset and
        // ip4-input's IP4_VALID flag are not written: nothing reads them after the output (run-loop.ts
        // reads txPort, start and length; tracing, which would, takes the full graph).
        h[x + 4] = ttlWord - one;
        const cs = h[x + 5] + one;
        h[x + 5] = (cs + ((cs + 1) >>> 16)) & 0xffff;
        const w0 = x - 7;
        h[w0] = e0;
        h[w0 + 1] = e1;
        h[w0 + 2] = e2;
        h[w0 + 3] = e3;
        h[w0 + 4] = e4;
        h[w0 + 5] = e5;
        txPort[s] = port;
        length[s] = ethLen + total;
        cand[w++] = s;
      }
      if (j === c) break;
      // Packet j stopped the loop: resolve what it needs; an ECMP member is looked at again by the loop,
      // a packet whose neighbor is new is taken here (its checks passed in the loop), and the loop resumes.
      const s = cand[j];
      const n = nh[j];
      if (kinds[n] === ecmp) {
        // The flow hash ip4-lookup would write is not: no node reads it once the packet is handed to its
        // port. A member that is a group again has no port (the full graph then), as ip4-lookup finds.
        const member = nexthops.resolve(n, flowHash(b, start[s] + ethLen));
        nh[j] = kinds[member] === ecmp ? none : member;
        continue;
      }
      const port = nhPort[n];
      const target = (kinds[n] === gateway ? nhGateway[n] : dst[j]) | 0;
      const found = this.reachable(port, target);
      lookups++;
      j++;
      if (found < 0) {
        slow[s] = 1;
        slowCount++;
        continue;
      }
      lastPort = port;
      lastTarget = target;
      const m = found * 3;
      const pw = port * 3;
      e0 = mac16[m];
      e1 = mac16[m + 1];
      e2 = mac16[m + 2];
      e3 = pmac[pw];
      e4 = pmac[pw + 1];
      e5 = pmac[pw + 2];
      // The loop's rewrite, for this packet: TTL - 1 (see there), then writeTaken's header, port and length.
      const o = start[s];
      const x = (o >>> 1) + 7;
      h[x + 4] -= one;
      const cs = h[x + 5] + one;
      h[x + 5] = (cs + ((cs + 1) >>> 16)) & 0xffff;
      writeTaken(batch, h, s, o, port, totals[j - 1], mac16, m, pmac);
      cand[w++] = s;
    }

    this.takenCount = w;
    this.leftCount = slowCount;
    this.dsrCount = 0;
    this.neighborLookups = lookups;
  }

  /**
   * takeRoutedRuns for packets that each have their own neighbor (the hosts
   * of an attached subnet): one loop, reachable() called in it where the
   * neighbor changes.
   */
  private takeRoutedPerPacket(batch: Batch, c: number): void {
    const b = batch.arena;
    const h = this.arena16;
    const ctx = this.ctx;
    const pmac = this.portMac16;
    const portMtu = ctx.ports.mtu;
    const start = batch.start;
    const txPort = batch.txPort;
    const length = batch.length;
    const slow = this.slow;
    const cand = this.cand;
    const dst = this.dst;
    const totals = this.total;
    const nh = this.nh;
    let slowCount = 0;
    const nexthops = ctx.nexthops;
    const kinds = nexthops.kind;
    const nhPort = nexthops.port;
    const nhGateway = nexthops.gateway;
    const mac16 = this.ntMac16;
    // Imported constants as locals: read in the loop, each is a module cell load and a check per packet.
    const ethLen = ETH_HEADER_LEN;
    const none = NO_ROUTE;
    const gateway = NexthopKind.GATEWAY;
    const attached = NexthopKind.ATTACHED;
    const ecmp = NexthopKind.ECMP;
    const one = FIRST_BYTE_ONE;
    const ttlMask = TTL_BYTE_MASK;
    this.batchNowMs = ctx.clock.nowMs();
    // The neighbor of the previous packet: nothing changes the table or the clock while this loop runs,
    // so an entry reachable() returned holds for the rest of the batch. Its Ethernet header (the
    // neighbor's MAC, then the port's) is kept as six host-order words, so a packet's header is six stores.
    // Addresses are compared as int32: a uint32 of 2^31 or more is a double, and a double compare.
    let lastPort = -1;
    let lastTarget = 0;
    let e0 = 0;
    let e1 = 0;
    let e2 = 0;
    let e3 = 0;
    let e4 = 0;
    let e5 = 0;
    let w = 0;
    let lookups = 0;
    for (let j = 0; j < c; j++) {
      const s = cand[j];
      const o = start[s];
      let n = nh[j];
      let kind = n === none ? -1 : kinds[n];
      if (kind === ecmp) {
        // The flow hash ip4-lookup would write is not: no node reads it once the packet is handed to its port.
        n = nexthops.resolve(n, flowHash(b, o + ethLen));
        kind = kinds[n];
      }
      const port = kind === gateway || kind === attached ? nhPort[n] : -1;
      const total = totals[j];
      const x = (o >>> 1) + 7;
      const ttlWord = h[x + 4];
      if (port < 0 || (ttlWord & ttlMask) <= one || total > portMtu[port]) {
        slow[s] = 1;
        slowCount++;
        continue;
      }
      const target = (kind === gateway ? nhGateway[n] : dst[j]) | 0;
      if (port !== lastPort || target !== lastTarget) {
        const found = this.reachable(port, target);
        lookups++;
        if (found < 0) {
          slow[s] = 1;
          slowCount++;
          continue;
        }
        lastPort = port;
        lastTarget = target;
        const m = found * 3;
        const pw = port * 3;
        e0 = mac16[m];
        e1 = mac16[m + 1];
        e2 = mac16[m + 2];
        e3 = pmac[pw];
        e4 = pmac[pw + 1];
        e5 = pmac[pw + 2];
      }
      // Taken: ip4-rewrite's TTL and checksum update and ip4-output's header, trimmed to the datagram
      // (Ethernet padding dropped), and the port it leaves by. ip4-lookup's next hop and L3 offset and
      // ip4-input's IP4_VALID flag are not written: nothing reads them after the output (run-loop.ts
      // reads txPort, start and length; tracing, which would, takes the full graph).
      h[x + 4] = ttlWord - one;
      const cs = h[x + 5] + one;
      h[x + 5] = (cs + ((cs + 1) >>> 16)) & 0xffff;
      const w0 = x - 7;
      h[w0] = e0;
      h[w0 + 1] = e1;
      h[w0 + 2] = e2;
      h[w0 + 3] = e3;
      h[w0 + 4] = e4;
      h[w0 + 5] = e5;
      txPort[s] = port;
      length[s] = ethLen + total;
      cand[w++] = s;
    }

    this.takenCount = w;
    this.leftCount = slowCount;
    this.dsrCount = 0;
    this.neighborLookups = lookups;
  }

  /** Pass 3 with the flow stage: the L2 writes and, for a usual packet, TTL - 1 and its translation; then ct-input's (and lb-forward's) work for the other taken packets (FastFlows.applyTaken). */
  private takeFlows(batch: Batch, c: number, flow: FastFlows, now: number): void {
    const b = batch.arena;
    const h = this.arena16;
    const ctx = this.ctx;
    const pmac = this.portMac16;
    const portMtu = ctx.ports.mtu;
    const start = batch.start;
    const slow = this.slow;
    const cand = this.cand;
    const dst = this.dst;
    const nh = this.nh;
    let slowCount = 0;
    const nexthops = ctx.nexthops;
    const kinds = nexthops.kind;
    const nhPort = nexthops.port;
    const nhGateway = nexthops.gateway;
    const mac16 = this.ntMac16;
    this.batchNowMs = now;
    // A new batch for reachableMemo(); at the wrap, no stamp of 2^32 batches ago may match.
    this.memoSeq = (this.memoSeq + 1) | 0;
    if (this.memoSeq === 0) this.memoStamp.fill(-1);
    // The neighbor of the previous packet: nothing changes the table or the clock while this loop runs,
    // so an entry reachable() returned holds for the rest of the batch.
    let lastPort = -1;
    let lastTarget = -1;
    let lastSlot = 0;
    let w = 0;
    let dsrTaken = 0;
    const plan = flow.plan;
    const takenIndex = this.takenIndex;
    const otherSlot = this.otherSlot;
    let wo = 0;
    // Constants as locals: read in the loop, a module's binding is a cell load and a check per packet.
    const one = FIRST_BYTE_ONE;
    const ttlDelta = TTL_DELTA;
    const tcpProto = IPPROTO_TCP;
    for (let j = 0; j < c; j++) {
      const s = cand[j];
      const o = start[s];
      const i = o + ETH_HEADER_LEN;
      let n = nh[j];
      let kind = n === NO_ROUTE ? -1 : kinds[n];
      const head = plan[j << 2]; // Plan.HEAD (Plan.WORDS words a candidate)
      const fk = head & 0xff; // Plan.KIND_MASK
      if (kind === NexthopKind.ECMP) {
        // A flow's packet is hashed as routing sees it (translated, or not at all for dsr-l2): left to the full graph.
        if (fk !== 0) kind = -1;
        else {
          n = nexthops.resolve(n, flowHash(b, i));
          kind = kinds[n];
        }
      }
      // dsr-l2: the backend must be on a connected subnet (lb-forward drops it otherwise, in the full graph).
      if (fk === FlowKind.DSR_L2 && kind !== NexthopKind.ATTACHED) kind = -1;
      const port = kind === NexthopKind.GATEWAY || kind === NexthopKind.ATTACHED ? nhPort[n] : -1;
      const total = (b[i + 2] << 8) | b[i + 3];
      const ttl = b[i + 8];
      if (port < 0 || ttl <= 1 || total > portMtu[port]) {
        slow[s] = 1;
        slowCount++;
        continue;
      }
      const target = kind === NexthopKind.GATEWAY ? nhGateway[n] : dst[j];
      if (port !== lastPort || target !== lastTarget) {
        const found = this.reachableMemo(port, target | 0);
        if (found < 0) {
          slow[s] = 1;
          slowCount++;
          continue;
        }
        lastPort = port;
        lastTarget = target;
        lastSlot = found;
      }
      // Taken: ip4-output's writes; then ip4-rewrite's TTL - 1 and ct-input's translation for a usual packet
      // (below, one header checksum update for both), the rest's after the loop in one call
      // (FastFlows.applyTaken). dsr-l2: lb-forward's next hop via the
      // backend is interned as the full graph would (the next-hop table alike), though nothing reads it here.
      if (fk === FlowKind.DSR_L2) {
        flow.viaBackend(nexthops, plan[(j << 2) + 3], n, port); // Plan.PORTS: the backend
        dsrTaken++;
      }
      writeTaken(batch, h, s, o, port, total, mac16, lastSlot * 3, pmac);
      cand[w++] = s;
      if (head < 0x100) {
        // Not Plan.USUAL.
        // The rest (dsr-l2, ICMP queries, a first UDP reply, LB NAT-mode flows): FastFlows.applyTaken, after the loop.
        takenIndex[wo] = j;
        otherSlot[wo++] = s;
        continue;
      }
      // A usual packet (Plan.USUAL: classify() touched its flow and read its translation): ct-input's
      // translation and ip4-rewrite's TTL - 1 here, in one update of the header checksum (RFC 1624 eqn. 3 with
      // both words' changes; the same bytes as one after the other: both give a checksum in 0..0xfffe, never
      // -0). translateTcpUdp (flow-translate.ts) written out: its bytecode is past V8's limit for inlining
      // (460 bytes on Node 20). In this loop rather than in applyTaken's own pass over the taken packets:
      // A/B in one process, both orders, 16 rounds, load 15: 0.91x and 0.95x the CPU per hot NAT packet, 0.94x and
      // 1.0x at 1M random flows.
      const w16 = i >>> 1;
      const proto = b[i + 9];
      const pj = j << 2;
      const ns = plan[pj + 1]; // Plan.SRC, DST, PORTS
      const nd = plan[pj + 2];
      const rp = plan[pj + 3];
      h[w16 + 4] = h[w16 + 4] - one;
      const sn = ((ns >>> 8) & 0xff00ff) | ((ns & 0xff00ff) << 8);
      const dn = ((nd >>> 8) & 0xff00ff) | ((nd & 0xff00ff) << 8);
      const pn = ((rp >>> 8) & 0xff00ff) | ((rp & 0xff00ff) << 8);
      const s0 = h[w16 + 6];
      const s1 = h[w16 + 7];
      const d0 = h[w16 + 8];
      const d1 = h[w16 + 9];
      const p0 = h[w16 + 10];
      const p1 = h[w16 + 11];
      if ((((s0 << 16) | s1) ^ sn | ((d0 << 16) | d1) ^ dn | ((p1 << 16) | p0) ^ pn) === 0) {
        // Not translated: TTL - 1's checksum update alone.
        const cs = h[w16 + 5] + one;
        h[w16 + 5] = (cs + ((cs + 1) >>> 16)) & 0xffff;
        continue;
      }
      const addrDelta = 0x3fffc - s0 - s1 - d0 - d1 + (sn >>> 16) + (sn & 0xffff) + (dn >>> 16) + (dn & 0xffff);
      h[w16 + 6] = sn >>> 16;
      h[w16 + 7] = sn;
      h[w16 + 8] = dn >>> 16;
      h[w16 + 9] = dn;
      h[w16 + 10] = pn;
      h[w16 + 11] = pn >>> 16;
      let x = 0xffff - h[w16 + 5] + addrDelta + ttlDelta;
      x = (x & 0xffff) + (x >>> 16);
      h[w16 + 5] = 0xffff - ((x & 0xffff) + (x >>> 16));
      const tcp = proto === tcpProto;
      const at = w16 + (tcp ? 18 : 13);
      const csum = h[at];
      if (!tcp && csum === 0) continue;
      let y = 0xffff - csum + addrDelta + 0x1fffe - p0 - p1 + (pn >>> 16) + (pn & 0xffff);
      y = (y & 0xffff) + (y >>> 16);
      y = 0xffff - ((y & 0xffff) + (y >>> 16));
      h[at] = !tcp && y === 0 ? 0xffff : y;
    }
    if (wo > 0) flow.applyTaken(batch, takenIndex, otherSlot, wo, now);

    this.takenCount = w;
    this.leftCount = slowCount;
    this.dsrCount = dsrTaken;
  }
}

/**
 * A taken flow packet's writes, as ip4-output would make them (the
 * neighbor's MAC at word `m` of `neighborMac`, the port's; trimmed to the
 * datagram, Ethernet padding dropped), and the port it leaves by.
 * ip4-rewrite's TTL - 1 is made with the translation, in the same header
 * checksum update (takeFlows, or FastFlows.applyTaken). ip4-lookup's next hop, L3 offset
 * and ECMP hash and ip4-input's IP4_VALID flag are not written, as in
 * takeRouted: nothing reads them after the output (run-loop.ts reads
 * txPort, start and length; tracing, which would, takes the full graph).
 * Small, so that V8 inlines it into pass 3's loop.
 */
function writeTaken(
  batch: Batch, h: Uint16Array<ArrayBufferLike>, s: number, o: number, port: number, total: number,
  neighborMac: Uint16Array, m: number, portMac: Uint16Array,
): void {
  batch.txPort[s] = port;
  const w0 = o >>> 1;
  const pw = port * 3;
  h[w0] = neighborMac[m];
  h[w0 + 1] = neighborMac[m + 1];
  h[w0 + 2] = neighborMac[m + 2];
  h[w0 + 3] = portMac[pw];
  h[w0 + 4] = portMac[pw + 1];
  h[w0 + 5] = portMac[pw + 2];
  batch.length[s] = ETH_HEADER_LEN + total;
}
