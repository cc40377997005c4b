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
// Lookups are batched: keys and their hashes for the whole vector (written by
// ip4-fast's pass 1 while it has the header at hand, in arrival order; where a
// packet went slow before those checks, classify keys the vector itself), then
// FlowIndex.lookupBatchHashed (bucket lines, record lines, then the lookups; a
// record is one line, so the decisions read it cached), then the
// decisions: a 1M-flow table costs its DRAM misses overlapped. The warming
// passes run only when most of the previous batch's flows had not been looked
// up lately (FastFlows.warm): a hot set's lines are cached, and there they are
// only work.
//
// Where a hot NAT packet's time over plain L3 goes (Intel Xeon VM, CPU
// profile of the bench's hot-256 loop, ~65 ns more a packet): classify ~30 ns,
// most of it the first load of each record's line, in the lookup's key check
// and again in the decision loop (a batch's records, buckets, slot memo and
// neighbor lines are more than L1 holds, so they come from L2); pass 3's
// translation ~10 ns; pass 1's key and hash ~7 ns; the sweep and the other
// per-batch service ~7 ns. Tried and no faster, one process per variant
// against its own plain L3 (load 4-5): the state words gathered in a loop of
// their own first (1.07x the time), the slot memo holding the value too so
// the record's load need not wait for the bucket's line (1.0x), the warming
// passes on a hot set (1.09x), the translation in big-endian DataView loads
// and stores (1.08x), dsr packets checked here and sent in one loop after it
// (1.0x). Mind V8's inlining budget here: classify is near it, and code added
// to it can leave FlowIndex.hinted a call per key (seen with --trace-turbo-inlining).
//
// The same on the AMD EPYC VM (family 26 model 2, 2 vCPUs, load 2-3.5 from
// other work), hot-256 NAT ~125-135 ns against plain L3 ~78-83 ns. Each step's
// share from a copy of dist/ with that step skipped or done twice, run in one
// process with an unchanged copy (alternating chunks of 64k packets, median of
// 31 pairwise ratios; identical copies give 1.013-1.026, the second one loaded
// being the slower): the translation in takeFlows skipped 0.924x (~9 ns);
// classify run twice 1.18x (~23 ns, lookups included); lookupBatchHashed run
// twice 1.10x (~12 ns); the touch skipped 0.986x; the owner's sweep skipped
// 0.992x; the recency filter skipped 1.003x; hashKey without its final mix
// 1.012x and 1.015x (both orders: nothing). The rest of the ~48 ns: pass 1's
// keys ~5 ns (CPU profile: ip4-fast process 46 vs 38 profiled ns), takeFlows
// beyond the translation ~3 ns. No V8 trouble: classify inlines
// lookupBatchHashed, hinted, state, keyWord, touchAt, clockAt; takeFlows
// inlines writeTaken, reachableMemo, applyTaken; no deopt once warm. Line
// ticks of a --cpu-prof put over half of classify on four loads: the record's
// key words in hinted (4.2% of all samples), the state word in the decision
// loop (2.1%), the bucket's version (1.3%), the slot memo (0.9%); yet the
// working set is not what costs: the slot memo at 1024, 16384 or 65536
// entries instead of 4096 is 1.007x, 1.004x, 1.017x/1.008x (5.5% of a hot
// batch's lookups miss the 4096-entry memo, two keys sharing an entry, and
// cost a scan), pass 3's neighbor memo at 256 entries 1.004x. Tried here and
// not kept (both orders, 31-41 rounds): the lookups and decisions by chunks
// of 32 or 64 entries, so the decision reads the record while the lookup's
// load is in L1 (1.018x/0.989x, 1.027x/1.015x); each key's bucket line loaded
// in pass 1 as it is hashed (1.042x/0.986x); hinted's key check as one OR of
// XORs (1.031x/0.995x); flow-encap's take() split (the tunnel and dsr-l2
// writes in methods of their own) so that V8 inlines it here, dsr-l2 hot
// (1.037x/0.993x: touchAt became the call per packet instead). The bound of
// what the bucket's line costs a hot lookup: hinted reading only the record
// (the value in the memo, no version or signature check, which is not safe)
// 0.983x/0.962x. So the hot packet's extra is many small costs of about the
// same size, each a few ns; 0.75x of plain L3 needs about half of them gone.
// At 1M random flows (bench/nat/ab-trees.ts, 21 rounds, both orders): no
// warming passes (warm always false) 1.99x/2.28x the time; the bucket line
// loaded in pass 1 as it is hashed 1.92x/1.80x: pass 1's loop body is long,
// so only a few of its misses are in flight at once, where the warming
// passes' short loops keep many.
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
  /** dsr-l2 where there is no flow-encap (FastFlows built without one): routed to its backend's address on a connected subnet (lb-forward). */
  DSR_L2: 2,
} as const;

/**
 * One in the first byte of a host-order word: TTL - 1 on the TTL/protocol
 * word (TTL > 1, so no borrow reaches the protocol), and the checksum's RFC
 * 1624 update, which adds 0x0100 to the network-order word: the ones'
 * complement sum commutes with swapping bytes, so the same add (end-around
 * carry included) on the host-order word gives the same bytes. (ip4-fast.ts
 * uses it too.)
 */
export const FIRST_BYTE_ONE = new Uint16Array(new Uint8Array([0x01, 0x00]).buffer)[0];
/** ~m + m' of RFC 1624 eqn. 3 for the TTL/protocol word m' = m - FIRST_BYTE_ONE: what TTL - 1 adds to the header's ones' complement sum. */
export const TTL_DELTA = 0xffff - FIRST_BYTE_ONE;

/** ip4-rewrite's TTL - 1 on the header at host-order word w16, alone (the packets whose translation, if any, does not update the header checksum in applyTaken's loop). */
function decrementTtl(h: Uint16Array<ArrayBufferLike>, w16: number): void {
  h[w16 + 4] = h[w16 + 4] - FIRST_BYTE_ONE;
  const cs = h[w16 + 5] + FIRST_BYTE_ONE;
  h[w16 + 5] = (cs + ((cs + 1) >>> 16)) & 0xffff;
}

/** A dsr-l2, dsr-ipip or dsr-gue flow's packet (classify's own: flow-encap sends it, it is never a candidate). */
const TUNNEL = 3;

/** Slots of FastFlows.recent: 2048 recent flows, about the bucket and record lines an L2 of 1 MiB keeps with the rest. */
const RECENT_SLOTS = 2048;

/** The recency filter (FastFlows.recent) looks at one lookup entry in this many. */
const RECENT_STRIDE = 4;

/** Poisoned flows remembered per batch; past that, every later candidate takes the full graph. */
const MAX_POISONED = 32;
/** The load balancer's arrays where there is none (never indexed then). */
const NO_WORDS = new Int32Array(0);

/** A lookup entry's word (FastFlows.entry): slot | USUAL | protocol << PROTO_SHIFT. */
export const Entry = { SLOT_MASK: 0xffff, USUAL: 0x10000, PROTO_SHIFT: 24 } as const;

/**
 * The words of a candidate's plan (FastFlows.plan): what classify() decided
 * and read of its flow, for pass 3 (ip4-fast.ts takeFlows) and applyTaken.
 *   HEAD   its FlowKind, | USUAL when it is a routed flow's usual TCP or UDP
 *          packet (no backend, not a UDP reply that moves its flow to
 *          UDP_REPLIED), which classify() touched and whose translation it
 *          read (pass 3 rewrites it from SRC, DST, PORTS); without USUAL
 *          applyTaken does the work, reading the record
 *   SRC    usual: the new source;   else the flow table's value (flowId << 1 | dir)
 *   DST    the new destination, which is also its FIB destination (dsr-l2: the backend's address)
 *   PORTS  usual: the new ports;    else its load-balancer backend, or -1
 * One record per candidate rather than a column per field: classify's and
 * pass 3's loops keep one array's base at hand instead of seven.
 */
export const Plan = { HEAD: 0, SRC: 1, DST: 2, PORTS: 3, WORDS: 4, USUAL: 0x100, KIND_MASK: 0xff } as const;

export class FastFlows {
  /** Per candidate (ip4-fast's compacted order): Plan.WORDS words (see Plan). */
  plan = new Int32Array(0);
  /** Lookup entries, in arrival order: 4 key words each, and their hashes (FlowIndex.hash). Written by ip4-fast's pass 1, or by classify(). */
  keys = new Int32Array(0);
  hashes = new Int32Array(0);
  private found = new Int32Array(0);
  /**
   * Per lookup entry, in one word (Entry): its slot, USUAL when it is a
   * candidate's usual packet (else it can only poison its flow), and its
   * protocol (the key's word 3), so that classify's loop reads one array
   * for what it needs of the entry.
   */
  entry = new Int32Array(0);
  /** The index's hash seed (flow-key.ts hashKey), for pass 1. */
  readonly seed: number;
  private readonly poisoned = new Int32Array(MAX_POISONED);
  /** Per backend: the next hop "via the backend" on its link (lb-forward's viaBackend), and the route it came from. */
  private adjacentNh = new Int32Array(0);
  private adjacentFrom = new Int32Array(0);
  private adjacentTable: NexthopTable | undefined;
  /** The batch arena as host-order 16-bit words (flow-translate.ts), made again when the arena changes. */
  private arena16: Uint16Array<ArrayBufferLike> = new Uint16Array(0);
  private arenaOf: Uint8Array | undefined;
  /** The same arena as a DataView: a key word is one big-endian load instead of four byte loads. */
  private arenaView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  /**
   * Whether the next batch's lookups load their lines ahead (FlowIndex
   * lookupBatchHashed's warming passes): when fewer than half of this
   * batch's keys were looked up lately (`recent`), as with flows at random
   * from a large table, whose bucket and record lines are DRAM misses the
   * passes overlap. A batch of flows seen lately finds those lines cached,
   * and there the passes are only work. (Only the speed depends on it.)
   */
  private warm = true;
  /** The hashes of recent lookups, one per slot by their low bits (a direct-mapped filter). */
  private readonly recent = new Int32Array(RECENT_SLOTS);

  /** Tunnel-mode packets flow-encap sent in the last classify() (neither kept nor left to the full graph). */
  sent = 0;

  constructor(
    readonly flows: FlowTable,
    private readonly firewall: FlowPolicy | undefined,
    private readonly lb: LoadBalancer | undefined,
    /** Where the load balancer has tunnel-mode VIPs (router.ts): their established flows' packets are wrapped here. */
    private readonly encap?: FlowEncap,
  ) {
    this.seed = flows.index.seed;
  }

  /** Room for a vector of `count` lookup entries, before ip4-fast's pass 1 writes them. */
  prepare(batch: Batch, count: number): void {
    if (this.keys.length < 4 * count) this.grow(Math.max(count, batch.capacity));
  }

  private useArena(b: Uint8Array): void {
    this.arenaOf = b;
    this.arena16 = new Uint16Array(b.buffer, b.byteOffset, b.length >> 1);
    this.arenaView = new DataView(b.buffer, b.byteOffset, b.length);
  }

  private grow(n: number): void {
    this.plan = new Int32Array(Plan.WORDS * n);
    this.keys = new Int32Array(4 * n);
    this.hashes = new Int32Array(n);
    this.found = new Int32Array(n);
    this.entry = new Int32Array(n);
  }

  /**
   * Keeps the candidates of ip4-fast's pass 1 (cand[0, c), in arrival order,
   * their destinations in dst) that are usual packets of a flow, compacted
   * to the front with their FIB destination in dst (the translated one, or
   * the backend's address for dsr-l2); marks the others slow. It writes
   * only the touch (last seen, SEEN_REPLY) of the kept usual and dsr-l2
   * packets' flows, while the record's line is cached from the lookup, and
   * reads their translation for applyTaken(): a kept packet that pass 3
   * leaves to the full graph meets ct-input, whose touch at the same clock
   * then changes nothing. The rest is applyTaken()'s, for packets taken.
   * (A/B in one process, load 15: 0.93x the CPU time per hot NAT packet,
   * 0.95x at 1M random flows, with FlowIndex's slot memo; applyTaken spent
   * half its time on the first load of a record it had to read again.)
   * `entries`: how many lookup entries (keys, hashes, entry) ip4-fast's
   * pass 1 wrote, every one of the vector's in
   * arrival order; -1 when it could not (a packet went slow before its
   * checks), and this keys the vector itself. Returns how many are kept.
   */
  classify(batch: Batch, vec: Uint16Array, count: number, slow: Uint8Array, cand: Uint16Array, dst: Uint32Array, c: number, entries: number, nowMs: number): number {
    if (this.keys.length < 4 * count) this.grow(Math.max(count, batch.capacity));
    if (this.arenaOf !== batch.arena) this.useArena(batch.arena);
    const keys = this.keys;
    const flows = this.flows;
    const index = flows.index;
    // Pass A (unless ip4-fast's pass 1 did it): the keys, in arrival order: every candidate's, and every slow
    // packet's that ct-input would look up.
    const entry = this.entry;
    let n = entries;
    if (n < 0) n = this.keyVector(batch, vec, count, slow);

    // Pass B: the lookups. They leave the record lines the decisions and applyTaken() read in the cache: a
    // record is one line (FlowTable), the one whose key words the lookup compared.
    const found = this.found;
    index.lookupBatchHashed(keys, this.hashes, found, n, this.warm);
    const lb = this.lb;
    const fw = this.firewall;

    // Pass C: the decisions, in arrival order. A flow a packet left to the full graph found is poisoned from there on.
    // A candidate is an entry with Entry.USUAL (pass 1 and keyVector key every candidate, and mark it usual); one
    // not kept is marked slow where the loop leaves it, rather than every candidate in a pass of its own first.
    const poisoned = this.poisoned;
    let np = 0;
    let w = 0;
    const plan = this.plan;
    // The table's int32 clock (FlowTable.clockAt), for the touches of the usual packets.
    const now = flows.clockAt(nowMs);
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
    // Whether the keys were looked up lately (a hash seen in the last few thousand lookups): see `warm`. One
    // key in RECENT_STRIDE is enough to tell a hot set from flows at random, and costs a fraction of the loop.
    const hashes = this.hashes;
    const recent = this.recent;
    let seen = 0;
    let sampled = 0;
    for (let e = 0; e < n; e += RECENT_STRIDE) {
      const h = hashes[e];
      const r = h & (RECENT_SLOTS - 1);
      if (recent[r] === h) seen++;
      else recent[r] = h;
      sampled++;
    }
    for (let e = 0; e < n; e++) {
      const v = found[e];
      const info = entry[e];
      // Entry.USUAL (a candidate's), as 0 or 1.
      const candidate = (info >>> 16) & 1;
      if (v < 0) {
        // No flow: nothing to poison either (flows start after every lookup of the batch).
        if (candidate !== 0) slow[info & 0xffff] = 1; // Entry.SLOT_MASK
        continue;
      }
      const id = v >> 1;
      let keep = candidate !== 0 && np <= MAX_POISONED;
      for (let q = 0; q < np && keep; q++) if (poisoned[q] === id) keep = false;
      // Whether it is a usual packet (see the header), and how it goes (FlowKind, its FIB destination and backend).
      let k = 0;
      let to = 0;
      let backend = -1;
      let usual = 0;
      let ns = 0;
      let pn = 0;
      // Whether the packet, if kept, touches its flow here (a usual packet's, a dsr-l2 one's), and in which direction.
      let touch = false;
      let touchDir = 0;
      if (keep && !(checkGeneration && flows.user(id, FlowUser.FIREWALL_GENERATION) !== generation)) {
        const dir = v & 1;
        const proto = info >>> 24; // Entry.PROTO_SHIFT
        const word = flows.state(id);
        const st = word & 63;
        k = FlowKind.ROUTED;
        if (lb !== undefined) {
          const u = flows.user(id, FlowUser.DESTINATION_BINDING);
          if (u < 0) {
            backend = -u - 1;
            const mode = vipMode[backendVip[backend]];
            if (mode !== LbMode.NAT) {
              // Direct return: from the client, dsr-l2, to a backend lb.pinned() keeps (active or draining); TCP: no state machine runs.
              const bs = backendState[backend];
              // flow-encap sends dsr-l2 too where the router made one (always, with a fast path): a candidate only without.
              k = mode === LbMode.DSR_L2 && encap === undefined ? FlowKind.DSR_L2 : TUNNEL;
              if (dir !== 0 || (k === TUNNEL && encap === undefined) || (bs !== BackendState.ACTIVE && bs !== BackendState.DRAINING)) k = 0;
              else if (proto === IPPROTO_TCP && st !== FlowState.LB_TCP && st !== FlowState.LB_TCP_CLOSING) k = 0;
              to = backendAddress[backend];
              // lb-forward's touch of a client's packet (ct-input's, in the full graph).
              touch = k === FlowKind.DSR_L2;
            }
          }
        }
        if (k === FlowKind.ROUTED) {
          if (proto === IPPROTO_TCP && st !== TcpState.ESTABLISHED) k = 0;
          else {
            // Routed on the destination the translation gives: the reverse of the other direction's key.
            to = flows.keyWord(id, dir ^ 1, 0);
            // A UDP reply to an unreplied flow (its first reply) moves the state: applyOther(). "dir is 1 and
            // the state UDP_UNREPLIED" in arithmetic: a branch on the direction is mispredicted half the time.
            const unreplied = word ^ FlowState.UDP_UNREPLIED;
            const firstReply = dir & ~((unreplied | -unreplied) >>> 31);
            if (backend < 0 && (proto === IPPROTO_TCP || (proto === IPPROTO_UDP && firstReply === 0))) {
              // The rest of the translation, read while the record's line is cached (applyTaken's rewrite).
              usual = 1;
              touch = true;
              ns = flows.keyWord(id, dir ^ 1, 1);
              pn = flows.keyWord(id, dir ^ 1, 2);
              // ct-input touches a UDP reply with dir 0 once the flow is UDP_REPLIED (SEEN_REPLY is set by then).
              touchDir = proto === IPPROTO_UDP ? 0 : dir;
            }
          }
        }
      }
      if (k === TUNNEL) {
        // flow-encap.ts wraps and sends it now; or it takes the full graph, and so do its flow's later packets.
        const s = info & 0xffff;
        if (encap!.take(batch, s, id, backend)) {
          slow[s] = 0;
          sent++;
          continue;
        }
        k = 0;
      }
      if (k !== 0) {
        const s = info & 0xffff;
        // A usual or dsr-l2 packet's touch (ct-input's), here while the record's line is cached. Made before
        // pass 3 decides to take it: one it leaves to the full graph meets ct-input, whose touch of the flow
        // at the same clock (the same last seen, SEEN_REPLY already set) changes nothing.
        if (touch) flows.touchAt(id, now, touchDir);
        const p = w << 2; // Plan.WORDS
        if (usual !== 0) {
          plan[p] = k | 0x100; // Plan.USUAL
          plan[p + 1] = ns;
          plan[p + 3] = pn;
        } else {
          plan[p] = k;
          plan[p + 1] = v;
          plan[p + 3] = backend;
        }
        plan[p + 2] = to;
        dst[w] = to;
        cand[w++] = s;
        continue;
      }
      if (candidate !== 0) slow[info & 0xffff] = 1;
      if (np < MAX_POISONED) poisoned[np] = id;
      np++;
    }
    this.sent = sent;
    this.warm = 2 * seen < sampled;
    if (sent > 0) encap!.finish();
    return w;
  }

  /**
   * classify()'s pass A where ip4-fast's pass 1 could not key the vector: the
   * lookup entries of every candidate and of every slow packet ct-input would
   * look up, in arrival order. Returns how many.
   */
  private keyVector(batch: Batch, vec: Uint16Array, count: number, slow: Uint8Array): number {
    const b = batch.arena;
    const view = this.arenaView;
    const start = batch.start;
    const length = batch.length;
    const keys = this.keys;
    const hashes = this.hashes;
    const index = this.flows.index;
    const entry = this.entry;
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
        ports = view.getInt32(l4);
        // TCP: ACK, and none of SYN, FIN, RST: a segment that moves no state it is let through in.
        if (proto === IPPROTO_TCP && (l4 + 14 > end || (b[l4 + 13] & 0x17) !== 0x10)) usual = false;
      } else if (proto === IPPROTO_ICMP && l4Len >= 8 && l4 + 6 <= end && b[l4] < 32 && ((ICMP_QUERY_TYPES >>> b[l4]) & 1) !== 0) {
        const id = (b[l4 + 4] << 8) | b[l4 + 5];
        ports = (id << 16) | id;
      } else continue; // nothing ct-input keys a flow by (ICMP errors only read the table)
      const e = n << 2;
      const k0 = view.getInt32(i + 12);
      const k1 = view.getInt32(i + 16);
      keys[e] = k0;
      keys[e + 1] = k1;
      keys[e + 2] = ports;
      keys[e + 3] = proto;
      hashes[n] = index.hash(k0, k1, ports, proto);
      entry[n++] = s | (usual ? Entry.USUAL : 0) | (proto << Entry.PROTO_SHIFT);
    }
    return n;
  }

  /**
   * What ct-input (and lb-forward for dsr-l2) does to the packets ip4-fast
   * took (pass 3) that are no usual ones (`usual` 0), and their flows,
   * beyond classify()'s touch: the backend's count, the translation
   * (applyOther(), from the record), and ip4-rewrite's TTL - 1. The usual
   * packets' translation and TTL - 1 (from the words classify() read, in one
   * update of the header checksum) are made in pass 3's loop itself
   * (ip4-fast.ts takeFlows). taken[0..w) are their candidate indexes (into
   * plan), slots[0..w) their slots. Done after pass 3's L2
   * writes rather than packet by packet inside it: what each writes
   * commutes with the other's, and one call per batch replaces the
   * per-packet calls V8 made when this work sat in pass 3's loop (past its
   * inlining budget there, the record's touch and the translation were each
   * a call per packet).
   */
  applyTaken(batch: Batch, taken: Uint16Array, slots: Uint16Array, w: number, nowMs: number): void {
    if (this.arenaOf !== batch.arena) this.useArena(batch.arena);
    this.nowMs = nowMs;
    const b = batch.arena;
    const h = this.arena16;
    const start = batch.start;
    const plan = this.plan;
    for (let t = 0; t < w; t++) {
      const j = taken[t];
      const s = slots[t];
      const i = start[s] + ETH_HEADER_LEN;
      const w16 = i >>> 1;
      const backend = plan[(j << 2) + Plan.PORTS];
      const k = plan[j << 2] & Plan.KIND_MASK;
      if (k === 0) {
        // No flow (classify keeps none such today): nothing of ct-input's to do.
        decrementTtl(h, w16);
        continue;
      }
      if (k === FlowKind.DSR_L2) {
        decrementTtl(h, w16);
        // From the client (classify checked it and touched the flow): lb-forward's count and marks.
        this.lb!.countPacket(backend, (b[i + 2] << 8) | b[i + 3]);
        batch.ctRef[s] = backend;
        batch.note[s] = backend;
        continue;
      }
      // The rest (classify read no translation for them): ICMP queries, the first UDP reply, LB NAT-mode flows.
      decrementTtl(h, w16);
      this.applyOther(batch, j, s, i, (b[i + 2] << 8) | b[i + 3]);
    }
  }

  /** The batch's clock, for applyOther(). */
  private nowMs = 0;

  /** applyTaken() for the rest: ICMP queries, the first UDP reply, LB NAT-mode flows. */
  private applyOther(batch: Batch, j: number, s: number, i: number, total: number): void {
    const now = this.nowMs;
    const flows = this.flows;
    const b = batch.arena;
    const v = this.plan[(j << 2) + Plan.SRC];
    const id = v >> 1;
    const dir = v & 1;
    const proto = b[i + 9];
    if (proto === IPPROTO_UDP && dir === 1) {
      if (flows.state(id) === FlowState.UDP_UNREPLIED) {
        flows.casState(id, FlowState.UDP_UNREPLIED, FlowState.UDP_REPLIED);
        flows.touch(id, now, dir);
      } else flows.touch(id, now, 0);
    } else flows.touch(id, now, dir);
    const backend = this.plan[(j << 2) + Plan.PORTS];
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
}
