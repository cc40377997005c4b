// The flow-table stage of ip4-fast (ip4-fast.ts) where stateful features are
// configured (connection tracking, NAT, the firewall, the load balancer):
// the usual packet of an established flow, found in the flow table in
// either direction, gets what ct-input (src/nat/ct-input.ts) and, for a
// direct-return flow, lb-forward (src/lb/lb-forward.ts) would do to it, and
// ip4-fast does the L3 steps. The result is the full graph's byte for byte:
// frames, counters, and the flow's record (last seen, SEEN_REPLY, state).
//
// The usual packet of a flow, beyond ip4-fast's checks:
//   TCP     a segment with ACK and none of SYN, FIN, RST (a plain ACK, with
//           or without PSH/URG/ECE/CWR) of a flow in ESTABLISHED, whose
//           state it leaves as it is in either direction (tcp-state.ts);
//           a direct-return flow's (LB_TCP, LB_TCP_CLOSING), whose state
//           only SYN, FIN and RST move
//   UDP     any (a reply to a flow not yet replied moves UDP_UNREPLIED to
//           UDP_REPLIED, by CAS, as ct-input does)
//   ICMP    a query (echo, ...) with its id
//   and     the firewall's generation stamped on the flow is the one in
//           force (or no newer one was published); a load-balanced flow is
//           NAT mode (translated as any flow), or dsr-l2 from the client to
//           an active or draining backend on a connected subnet, or
//           dsr-ipip/dsr-gue from the client to an active or draining
//           backend: flow-encap.ts wraps and sends those itself, from
//           classify(), and they are no candidates of ip4-fast's pass 3
// Everything else takes the full graph, as before: no flow (new flows start
// in nat-output), fragments, ICMP errors, other segments, TTL 1, ...
//
// Why the result is the same although the fast packets' table work happens
// before ct-input runs for the slow ones of the batch: what a fast packet
// does to its flow (last seen, SEEN_REPLY, UDP_REPLIED, a backend's packet
// count) commutes with what any packet does to it, and nothing a slow
// packet does in ct-input changes what decided the fast one, except a slow
// packet of the same flow earlier in the batch (a FIN before an ACK moves
// ESTABLISHED to FIN_WAIT, where the ACK moves it on). So every slow packet
// that can reach ct-input with a key is looked up too, and a flow it finds
// is "poisoned": its later packets in the batch take the full graph. Flows
// start in nat-output, after every ct-input lookup of the batch in both
// paths, so a flow a slow packet starts is seen by neither.
//
// Lookups are batched: keys for the whole vector, then FlowIndex.lookupBatch
// (bucket lines, record key lines, then the lookups), then the record lines
// the decisions read (state, flags, last seen, user words) for every hit,
// then the decisions: a 1M-flow table costs its DRAM misses overlapped.
import { TcpState } from '../../conntrack/tcp-state.js';
import { FlowState } from '../../conntrack/timeouts.js';
import type { FlowTable } from '../../flow/flow-table.js';
import { LbMode } from '../../lb/lb-config.js';
import { BackendState } from '../../lb/lb-tables.js';
import type { LoadBalancer } from '../../lb/load-balancer.js';
import { FlowUser } from '../../nat/bindings.js';
import type { FlowPolicy } from '../../nat/flow-policy.js';
import { rewriteTuple } from '../../nat/translate.js';
import { translateTcpUdp } from './flow-translate.js';
import { NexthopKind, type NexthopTable } from '../../route/nexthops.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../../wire/ipv4.js';
import { ETH_HEADER_LEN } from '../../wire/ethernet.js';
import { ICMP_QUERY_TYPES } from '../../wire/icmp.js';
import type { Batch } from '../batch.js';
import type { FlowEncap } from './flow-encap.js';

/** What a candidate is (FastFlows.kind). */
export const FlowKind = {
  /** Routed on its (translated) destination: ct-input, routing, firewall and nat-output pass it. */
  ROUTED: 1,
  /** dsr-l2: routed to its backend's address on a connected subnet (lb-forward). */
  DSR_L2: 2,
} as const;

/** A dsr-ipip or dsr-gue flow's packet (classify's own: flow-encap sends it, it is never a candidate). */
const TUNNEL = 3;

/** Poisoned flows remembered per batch; past that, every later candidate takes the full graph. */
const MAX_POISONED = 32;
/** The load balancer's arrays where there is none (never indexed then). */
const NO_WORDS = new Int32Array(0);

export class FastFlows {
  /** Per candidate (ip4-fast's compacted order): the flow table's value (flowId << 1 | dir). */
  val = new Int32Array(0);
  /** Per candidate: FlowKind. */
  kind = new Uint8Array(0);
  /** Per candidate: its load-balancer backend, or -1. */
  backend = new Int32Array(0);
  /** Lookup entries: 4 key words each, the candidate (index into cand) or -1 for a slow packet's key. */
  private keys = new Int32Array(0);
  private hashes = new Int32Array(0);
  private found = new Int32Array(0);
  /** Per lookup entry: its slot, and 1 when it is a candidate's usual packet (else it can only poison its flow). */
  private entrySlot = new Uint16Array(0);
  private entryUsual = new Uint8Array(0);
  private readonly poisoned = new Int32Array(MAX_POISONED);
  /** Per backend: the next hop "via the backend" on its link (lb-forward's viaBackend), and the route it came from. */
  private adjacentNh = new Int32Array(0);
  private adjacentFrom = new Int32Array(0);
  private adjacentTable: NexthopTable | undefined;
  private sink = 0;
  /** The batch arena as host-order 16-bit words (flow-translate.ts), made again when the arena changes. */
  private arena16: Uint16Array<ArrayBufferLike> = new Uint16Array(0);
  private arenaOf: Uint8Array | undefined;

  /** Tunnel-mode packets flow-encap sent in the last classify() (neither kept nor left to the full graph). */
  sent = 0;

  constructor(
    readonly flows: FlowTable,
    private readonly firewall: FlowPolicy | undefined,
    private readonly lb: LoadBalancer | undefined,
    /** Where the load balancer has tunnel-mode VIPs (router.ts): their established flows' packets are wrapped here. */
    private readonly encap?: FlowEncap,
  ) {}

  private grow(n: number): void {
    this.val = new Int32Array(n);
    this.kind = new Uint8Array(n);
    this.backend = new Int32Array(n);
    this.keys = new Int32Array(4 * n);
    this.hashes = new Int32Array(n);
    this.found = new Int32Array(n);
    this.entrySlot = new Uint16Array(n);
    this.entryUsual = new Uint8Array(n);
  }

  /**
   * Keeps the candidates of ip4-fast's pass 1 (cand[0, c), in arrival order,
   * their destinations in dst) that are usual packets of a flow, compacted
   * to the front with their FIB destination in dst (the translated one, or
   * the backend's address for dsr-l2); marks the others slow. Reads only:
   * what the flow stage writes is done by apply(), for packets taken.
   * Returns how many are kept.
   */
  classify(batch: Batch, vec: Uint16Array, count: number, slow: Uint8Array, cand: Uint16Array, dst: Uint32Array, c: number): number {
    if (this.keys.length < 4 * count) this.grow(Math.max(count, batch.capacity));
    const b = batch.arena;
    if (this.arenaOf !== b) {
      this.arenaOf = b;
      this.arena16 = new Uint16Array(b.buffer, b.byteOffset, b.length >> 1);
    }
    const start = batch.start;
    const length = batch.length;
    const keys = this.keys;
    // Pass A: the keys, in arrival order: every candidate's, and every slow packet's that ct-input would look up.
    const entrySlot = this.entrySlot;
    const entryUsual = this.entryUsual;
    let n = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = start[s];
      const i = o + ETH_HEADER_LEN;
      const end = o + length[s];
      let ihl = 20; // a candidate: pass 1 checked IPv4, IHL 5, not a fragment, the header checksum
      let usual = slow[s] === 0;
      // A slow packet ct-input may look up: IPv4 (ethernet-input puts l3 at 14), not a later fragment.
      if (!usual) {
        if (end < i + 20 || b[o + 12] !== 0x08 || b[o + 13] !== 0x00 || b[i] >> 4 !== 4 || (((b[i + 6] & 0x1f) << 8) | b[i + 7]) !== 0) continue;
        ihl = (b[i] & 0x0f) << 2;
      }
      const proto = b[i + 9];
      const l4 = i + ihl;
      const l4Len = ((b[i + 2] << 8) | b[i + 3]) - ihl;
      let ports: number;
      if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
        // ct-input drops a datagram too short for its ports (truncated): no key.
        if (l4Len < (proto === IPPROTO_TCP ? 20 : 8) || l4 + 4 > end) continue;
        ports = (b[l4] << 24) | (b[l4 + 1] << 16) | (b[l4 + 2] << 8) | b[l4 + 3];
        // TCP: ACK, and none of SYN, FIN, RST: a segment that moves no state it is let through in.
        if (proto === IPPROTO_TCP && (l4 + 14 > end || (b[l4 + 13] & 0x17) !== 0x10)) usual = false;
      } else if (proto === IPPROTO_ICMP && l4Len >= 8 && l4 + 6 <= end && b[l4] < 32 && ((ICMP_QUERY_TYPES >>> b[l4]) & 1) !== 0) {
        const id = (b[l4 + 4] << 8) | b[l4 + 5];
        ports = (id << 16) | id;
      } else continue; // nothing ct-input keys a flow by (ICMP errors only read the table)
      const e = n << 2;
      keys[e] = (b[i + 12] << 24) | (b[i + 13] << 16) | (b[i + 14] << 8) | b[i + 15];
      keys[e + 1] = (b[i + 16] << 24) | (b[i + 17] << 16) | (b[i + 18] << 8) | b[i + 19];
      keys[e + 2] = ports;
      keys[e + 3] = proto;
      entrySlot[n] = s;
      entryUsual[n++] = usual ? 1 : 0;
    }

    // Pass B: the lookups, then the record lines the decisions and apply() read.
    const flows = this.flows;
    const found = this.found;
    flows.index.lookupBatch(keys, this.hashes, found, n);
    const lb = this.lb;
    const fw = this.firewall;
    const users = lb !== undefined || (fw !== undefined && fw.recheck);
    let sink = 0;
    for (let e = 0; e < n; e++) {
      const v = found[e];
      if (v < 0) continue;
      const id = v >> 1;
      sink ^= flows.state(id) ^ flows.flags(id) ^ flows.idleMs(id, 0);
      if (users) sink ^= flows.user(id, FlowUser.DESTINATION_BINDING);
    }
    this.sink = sink;

    // Pass C: the decisions, in arrival order. A flow a packet left to the full graph found is poisoned from there on.
    for (let jj = 0; jj < c; jj++) slow[cand[jj]] = 1;
    const poisoned = this.poisoned;
    let np = 0;
    let w = 0;
    const val = this.val;
    const kind = this.kind;
    const backendOf = this.backend;
    // What the decisions read of the configuration, once per batch: the firewall's generation to match (when a
    // newer one than the first was published), the load balancer's per-backend and per-VIP arrays.
    const checkGeneration = fw !== undefined && fw.recheck;
    const generation = fw !== undefined ? fw.generation : 0;
    const backendState = lb !== undefined ? lb.tables.backendState : NO_WORDS;
    const backendVip = lb !== undefined ? lb.tables.backendVip : NO_WORDS;
    const backendAddress = lb !== undefined ? lb.tables.backendAddress : NO_WORDS;
    const vipMode = lb !== undefined ? lb.vipMode : NO_WORDS;
    const encap = this.encap;
    let sent = 0;
    if (encap !== undefined) encap.begin();
    for (let e = 0; e < n; e++) {
      const v = found[e];
      if (v < 0) continue; // no flow: nothing to poison either (flows start after every lookup of the batch)
      const id = v >> 1;
      let keep = entryUsual[e] === 1 && np <= MAX_POISONED;
      for (let q = 0; q < np && keep; q++) if (poisoned[q] === id) keep = false;
      // Whether it is a usual packet (see the header), and how it goes (FlowKind, its FIB destination and backend).
      let k = 0;
      let to = 0;
      let backend = -1;
      if (keep && !(checkGeneration && flows.user(id, FlowUser.FIREWALL_GENERATION) !== generation)) {
        const dir = v & 1;
        const proto = keys[(e << 2) + 3];
        const st = flows.state(id) & 63;
        k = FlowKind.ROUTED;
        if (lb !== undefined) {
          const u = flows.user(id, FlowUser.DESTINATION_BINDING);
          if (u < 0) {
            backend = -u - 1;
            const mode = vipMode[backendVip[backend]];
            if (mode !== LbMode.NAT) {
              // Direct return: from the client, dsr-l2, to a backend lb.pinned() keeps (active or draining); TCP: no state machine runs.
              const bs = backendState[backend];
              k = mode === LbMode.DSR_L2 ? FlowKind.DSR_L2 : TUNNEL;
              if (dir !== 0 || (k === TUNNEL && encap === undefined) || (bs !== BackendState.ACTIVE && bs !== BackendState.DRAINING)) k = 0;
              else if (proto === IPPROTO_TCP && st !== FlowState.LB_TCP && st !== FlowState.LB_TCP_CLOSING) k = 0;
              to = backendAddress[backend];
            }
          }
        }
        if (k === FlowKind.ROUTED) {
          if (proto === IPPROTO_TCP && st !== TcpState.ESTABLISHED) k = 0;
          // Routed on the destination the translation gives: the reverse of the other direction's key.
          else to = flows.keyWord(id, dir ^ 1, 0);
        }
      }
      if (k === TUNNEL) {
        // flow-encap.ts wraps and sends it now; or it takes the full graph, and so do its flow's later packets.
        const s = entrySlot[e];
        if (encap!.take(batch, s, id, backend)) {
          slow[s] = 0;
          sent++;
          continue;
        }
        k = 0;
      }
      if (k !== 0) {
        const s = entrySlot[e];
        slow[s] = 0;
        val[w] = v;
        kind[w] = k;
        backendOf[w] = backend;
        dst[w] = to;
        cand[w++] = s;
        continue;
      }
      if (np < MAX_POISONED) poisoned[np] = id;
      np++;
    }
    this.sent = sent;
    if (sent > 0) encap!.finish();
    return w;
  }

  /**
   * The batch's clock for apply(), set once per batch (startApply) rather
   * than passed: the time is a double, and a double passed to a function V8
   * does not inline (takeFlows's inlining budget runs out before touch()) is
   * boxed in a new HeapNumber at every call, 16 bytes a packet. apply()
   * passes the table's int32 clock instead (FlowTable.touchAt).
   */
  private nowMs = 0;
  /** The flow table's clock at nowMs (FlowTable.clockAt): an int32, never boxed. */
  private tableClock = 0;

  /** Sets the clock reading the batch's apply() calls use. */
  startApply(nowMs: number): void {
    this.nowMs = nowMs;
    this.tableClock = this.flows.clockAt(nowMs);
  }

  /**
   * What ct-input (and lb-forward for dsr-l2) does to candidate j's packet
   * (slot s, IPv4 header at i, `total` bytes) and its flow, for a packet
   * ip4-fast takes: the flow's record, the backend's count, the translation.
   *
   * Split hot and cold so that V8 inlines the hot part whole (a function
   * past its inlining budget is called, and so is everything it calls): the
   * usual packets, a dsr-l2 flow's, and TCP or UDP of a routed flow without
   * a backend, not a UDP reply that moves its flow to UDP_REPLIED, are done
   * here; the rest goes to applyOther().
   */
  apply(batch: Batch, j: number, s: number, i: number, total: number): void {
    const now = this.tableClock;
    const b = batch.arena;
    const v = this.val[j];
    const id = v >> 1;
    const dir = v & 1;
    const proto = b[i + 9];
    const flows = this.flows;
    if (this.kind[j] === FlowKind.DSR_L2) {
      // From the client (classify checked it): lb-forward's count and marks.
      flows.touchAt(id, now, 0);
      const backend = this.backend[j];
      this.lb!.countPacket(backend, total);
      batch.ctRef[s] = backend;
      batch.note[s] = backend;
      return;
    }
    // A UDP reply to an unreplied flow (its first reply) moves the state: cold.
    if (this.backend[j] >= 0 || proto === IPPROTO_ICMP || (proto === IPPROTO_UDP && dir === 1 && flows.state(id) === FlowState.UDP_UNREPLIED)) {
      this.applyOther(batch, j, s, i, total);
      return;
    }
    // ct-input touches a UDP reply with dir 0 once the flow is UDP_REPLIED (SEEN_REPLY is set by then).
    flows.touchAt(id, now, proto === IPPROTO_UDP ? 0 : dir);
    translateTcpUdp(this.arena16, i, proto === IPPROTO_TCP, flows.keyWord(id, dir ^ 1, 1), flows.keyWord(id, dir ^ 1, 0), flows.keyWord(id, dir ^ 1, 2));
  }

  /** apply() for the rest: ICMP queries, the first UDP reply, LB NAT-mode flows (and dsr-l2, as apply does it). */
  private applyOther(batch: Batch, j: number, s: number, i: number, total: number): void {
    const now = this.nowMs;
    const flows = this.flows;
    const b = batch.arena;
    const v = this.val[j];
    const id = v >> 1;
    const dir = v & 1;
    const proto = b[i + 9];
    if (proto === IPPROTO_UDP && dir === 1) {
      if (flows.state(id) === FlowState.UDP_UNREPLIED) {
        flows.casState(id, FlowState.UDP_UNREPLIED, FlowState.UDP_REPLIED);
        flows.touch(id, now, dir);
      } else flows.touch(id, now, 0);
    } else flows.touch(id, now, dir);
    const backend = this.backend[j];
    if (this.kind[j] === FlowKind.DSR_L2) {
      const lb = this.lb!;
      lb.countPacket(backend, total);
      batch.ctRef[s] = backend;
      batch.note[s] = backend;
      return;
    }
    if (backend >= 0 && dir === 0) this.lb!.countPacket(backend, total);
    const other = dir ^ 1;
    const ns = flows.keyWord(id, other, 1);
    const nd = flows.keyWord(id, other, 0);
    const np = flows.keyWord(id, other, 2);
    if (proto === IPPROTO_ICMP) {
      const rp = (np >>> 16) | (np << 16);
      const l4 = i + 20;
      const src = (b[i + 12] << 24) | (b[i + 13] << 16) | (b[i + 14] << 8) | b[i + 15];
      const dst = (b[i + 16] << 24) | (b[i + 17] << 16) | (b[i + 18] << 8) | b[i + 19];
      const qid = (b[l4 + 4] << 8) | b[l4 + 5];
      if (ns !== src || nd !== dst || rp !== ((qid << 16) | qid)) rewriteTuple(b, i, l4, proto, ns, nd, rp >>> 16, rp & 0xffff, false);
      return;
    }
    translateTcpUdp(this.arena16, i, proto === IPPROTO_TCP, ns, nd, np);
  }

  /** lb-forward's next hop for a dsr-l2 backend reached by the connected route `connected` on `port`: a gateway entry naming the backend. */
  viaBackend(nexthops: NexthopTable, backend: number, connected: number, port: number): number {
    if (nexthops !== this.adjacentTable) {
      this.adjacentTable = nexthops;
      this.adjacentNh.fill(-1);
      this.adjacentFrom.fill(-1);
    }
    if (backend >= this.adjacentNh.length) {
      const n = Math.max(64, this.lb!.tables.backendCapacity, backend + 1);
      this.adjacentNh = new Int32Array(n).fill(-1);
      this.adjacentFrom = new Int32Array(n).fill(-1);
    }
    if (this.adjacentNh[backend] < 0 || this.adjacentFrom[backend] !== connected) {
      this.adjacentNh[backend] = nexthops.intern(NexthopKind.GATEWAY, port, this.lb!.address(backend) >>> 0);
      this.adjacentFrom[backend] = connected;
    }
    return this.adjacentNh[backend];
  }

  /** Loads made only to bring lines into the cache (kept, so they are not optimised away). */
  get touched(): number {
    return this.sink;
  }
}
