// NAT bindings, filter permissions and translated flows in the shared flow
// table, as one worker sees them. Everything here runs for a flow's first
// packet (or its end); established packets only look up and rewrite
// (ct-input.ts).
//
// Entries, told apart by the zone of their keys (flow-key.ts word 3, bits 8+):
//
//   flow     zone 0  original key: the packet as it arrived; reply key: the
//                    answer as it will arrive (after translation). Holds the
//                    bindings and permission it uses (user words 0-2).
//   binding  zone 1  internal endpoint (c, 0, cp << 16, proto | rule) and
//                    external endpoint (0, n, np, proto): RFC 4787's
//                    endpoint-independent mapping, shared by every flow of
//                    c:cp through the rule, held by them (refs.ts). Owns its
//                    port; its owner frees it when the binding ends.
//   permit   zone 2  (remote address, n, np, proto): address-dependent
//                    filtering lets the remote in to n:np while a flow of
//                    the binding to that address lives. One key (both the
//                    same), held like a binding.
//   fragment zone 3  (src, dst, ip id, proto): where later fragments of a
//                    datagram find the flow of its first fragment.
//   endpoint zone 4  (c, 0, 0, proto): with the cloud-nat profile, counts the
//                    bindings of internal host c (its holds) against the
//                    minimum of ports per endpoint it may use.
//   affinity zone 5  (client, VIP address, VIP index, proto): the load
//                    balancer's ClientIP session affinity; user word 0 is
//                    the backend + 1 (src/lb/load-balancer.ts).
//
// A load-balanced flow holds its backend in FlowUser.DESTINATION_BINDING as
// -(backend + 1) (a load-balanced flow never goes through a binding), so
// the flow's end is counted against its backend (lbFlowEnded).
//
// Bindings and permits are created marked SEEN_REPLY, so the table never
// evicts them as "flows without a reply".
import { FlowState } from '../conntrack/timeouts.js';
import { FLAG_SEEN_REPLY, FLOW_EXISTS, type FlowTable } from '../flow/flow-table.js';
import { OUT_OF_PORTS, type PortAllocator } from '../flow/port-allocator.js';
import type { NatTables } from './nat-tables.js';
import { POOL_PROTOCOLS, protoSlot } from './nat-tables.js';
import { HELD_ONCE, hold, holders, unhold } from './refs.js';
import type { NatRules } from './rules.js';

export const Zone = { FLOW: 0, BINDING: 1, PERMIT: 2, FRAGMENT: 3, ENDPOINT: 4, AFFINITY: 5 } as const;

/** The zone of an entry from word 3 of its key. */
export function zoneOf(k3: number): number {
  return (k3 >>> 8) & 0xf;
}

/** Flow user words. */
/** A flow's user words: its holds (+ 1, 0 for none), and the firewall generation that judged it (firewall/firewall.ts). */
export const FlowUser = { SOURCE_BINDING: 0, DESTINATION_BINDING: 1, PERMIT: 2, FIREWALL_GENERATION: 3 } as const;
/** Binding user words (its external address and port are its reply key's words 1 and 2). */
const B_POOL = 0;
const B_RULE = 1;
/** The endpoint entry the binding counts against, + 1 (cloud-nat's minimum of ports per endpoint), or 0. */
const B_ENDPOINT = 2;

/** bind() / createFlow() failures (flow ids and entry ids are >= 0). */
export const NatFailure = {
  /** The rule's port range of the chosen address is used up in this worker. */
  OUT_OF_PORTS: -1,
  /** No room in the flow table (RFC 5508 REQ-8: ICMP unreachable code 13). */
  TABLE_FULL: -2,
  /** The binding was ending as another flow wanted it, or another worker raced for the same endpoint: the packet is dropped, the next one succeeds. */
  BUSY: -3,
  /** The internal host has as many bindings as its minimum of ports per endpoint (cloud-nat: out of resources). */
  ENDPOINT_FULL: -4,
} as const;

/** Entries one service() call may end: as many as the router's sweep looks at per batch, so none waits for lack of room. */
const MAX_EXPIRED = 256;

export class NatBindings {
  readonly flows: FlowTable;
  private readonly ports: PortAllocator[];
  private readonly expired = new Int32Array(MAX_EXPIRED);
  private readonly heldScratch = new Int32Array(MAX_EXPIRED);
  /** External address of each pool (nat-tables.ts order). */
  private readonly poolAddresses: Int32Array;
  /** External address and port of the last bind(). */
  address = 0;
  port = 0;
  /** When createFlow() or insertEntry() returns FLOW_EXISTS: the other entry's value (id << 1 | dir). */
  existing = -1;
  /** Called with the backend of each load-balanced flow that ends (expired or evicted), when a load balancer is configured. */
  lbFlowEnded: ((backend: number) => void) | undefined;

  constructor(
    tables: NatTables,
    private readonly rules: NatRules,
    portsPerEndpoint = 0,
  ) {
    this.flows = tables.flows;
    this.ports = tables.ports;
    this.poolAddresses = Int32Array.from(tables.pools, (p) => p.address);
    this.portsPerEndpoint = portsPerEndpoint;
  }

  /** Most bindings an internal host holds per protocol (cloud-nat's minPortsPerVm), 0 for no limit. */
  private readonly portsPerEndpoint: number;

  /** The external endpoint of binding `id` (sets address and port). */
  readBinding(id: number): void {
    this.address = this.flows.keyWord(id, 1, 1);
    this.port = this.flows.keyWord(id, 1, 2);
  }

  /** The rule of binding `id`. */
  bindingRule(id: number): number {
    return this.flows.user(id, B_RULE);
  }

  /**
   * A hold on the binding of internal endpoint c:cp (port, or ICMP query id)
   * through source rule `rule`: the existing one (endpoint-independent
   * mapping), or a new one on the pool address paired with c. Returns the
   * binding's id (address and port set) or a NatFailure.
   */
  bind(rule: number, c: number, cp: number, proto: number, nowMs: number): number {
    return this.bindHashed(rule, c, cp, proto, this.bindHash(rule, c, cp, proto), nowMs);
  }

  /** bind() with h = bindHash(rule, c, cp, proto) from the caller (nat-output's warming pass computed it). */
  bindHashed(rule: number, c: number, cp: number, proto: number, h: number, nowMs: number): number {
    const t = this.flows;
    const zone = (Zone.BINDING | (rule << 4)) << 8;
    const k2 = cp << 16;
    const k3 = proto | zone;
    const v = t.lookupHashed(c, 0, k2, k3, h);
    if (v >= 0) {
      const id = v >> 1;
      if (!hold(t, id)) return NatFailure.BUSY;
      this.readBinding(id);
      return id;
    }
    // Paired pooling: one internal host, one external address (RFC 4787 REQ-2).
    const n = this.rules.poolCount[rule];
    const pool = this.rules.firstPool[rule] + (n === 1 ? 0 : (Math.imul(c, 0x9e3779b1) >>> 0) % n);
    const slot = pool * POOL_PROTOCOLS.length + protoSlot(proto);
    const allocator = this.ports[slot];
    let endpoint = -1;
    if (this.portsPerEndpoint > 0) {
      endpoint = this.holdEndpoint(c, proto, nowMs);
      if (endpoint < 0) return endpoint;
    }
    const np = allocator.allocate();
    if (np === OUT_OF_PORTS) {
      if (endpoint >= 0) unhold(t, endpoint, nowMs);
      return NatFailure.OUT_OF_PORTS;
    }
    const address = this.poolAddresses[pool];
    const u = t.userIn;
    u[B_POOL] = slot;
    u[B_RULE] = rule;
    u[B_ENDPOINT] = endpoint + 1;
    const r3 = proto | (Zone.BINDING << 8);
    const id = t.insertHashed(c, 0, k2, k3, 0, address, np, r3, h, t.index.hash(0, address, np, r3), HELD_ONCE, nowMs);
    if (id < 0) {
      allocator.free(np);
      if (endpoint >= 0) unhold(t, endpoint, nowMs);
      this.releaseEvicted(nowMs);
      if (id !== FLOW_EXISTS) return NatFailure.TABLE_FULL;
      // Another worker bound c:cp at the same moment: share its binding.
      const other = t.existing >> 1;
      if ((t.existing & 1) !== 0 || !hold(t, other)) return NatFailure.BUSY;
      this.readBinding(other);
      return other;
    }
    t.setFlags(id, FLAG_SEEN_REPLY);
    this.releaseEvicted(nowMs);
    this.address = address;
    this.port = np;
    return id;
  }

  /** The hash of the key bind(rule, c, cp, proto) looks up (warming: nat-output). */
  bindHash(rule: number, c: number, cp: number, proto: number): number {
    return this.flows.index.hash(c, 0, cp << 16, proto | ((Zone.BINDING | (rule << 4)) << 8));
  }

  /**
   * The binding bind(rule, c, cp, proto) would hold now, or -1: a read-only
   * look for warming (h: bindHash of the same); the caller still binds,
   * which takes the hold and settles races.
   */
  peekBinding(rule: number, c: number, cp: number, proto: number, h: number): number {
    const v = this.flows.lookupHashed(c, 0, cp << 16, proto | ((Zone.BINDING | (rule << 4)) << 8), h);
    return v < 0 ? -1 : v >> 1;
  }

  /**
   * Counts one more binding against internal host c's minimum of ports
   * (cloud-nat): the endpoint entry's id, or ENDPOINT_FULL / TABLE_FULL.
   */
  private holdEndpoint(c: number, proto: number, nowMs: number): number {
    const t = this.flows;
    const k3 = proto | (Zone.ENDPOINT << 8);
    for (let attempt = 0; attempt < 2; attempt++) {
      const v = t.lookup(c, 0, 0, k3);
      if (v >= 0) {
        const id = v >> 1;
        if (!hold(t, id)) continue;
        if (holders(t, id) > this.portsPerEndpoint) {
          unhold(t, id, nowMs);
          return NatFailure.ENDPOINT_FULL;
        }
        return id;
      }
      const id = t.insert(c, 0, 0, k3, c, 0, 0, k3, HELD_ONCE, nowMs);
      this.releaseEvicted(nowMs);
      if (id >= 0) {
        t.setFlags(id, FLAG_SEEN_REPLY);
        return id;
      }
      if (id !== FLOW_EXISTS) return NatFailure.TABLE_FULL;
    }
    return NatFailure.BUSY;
  }

  /** A hold on the permission for `remote` to reach binding n:np (address-dependent filtering); -1 when the table has no room (the flow goes on without it). */
  permit(remote: number, n: number, np: number, proto: number, nowMs: number): number {
    const t = this.flows;
    const k3 = proto | (Zone.PERMIT << 8);
    for (let attempt = 0; attempt < 2; attempt++) {
      const v = t.lookup(remote, n, np, k3);
      if (v >= 0) {
        if (hold(t, v >> 1)) return v >> 1;
        continue;
      }
      const id = t.insert(remote, n, np, k3, remote, n, np, k3, HELD_ONCE, nowMs);
      this.releaseEvicted(nowMs);
      if (id >= 0) {
        t.setFlags(id, FLAG_SEEN_REPLY);
        return id;
      }
      if (id !== FLOW_EXISTS) return -1;
    }
    return -1;
  }

  /** Is there a permission for `remote` to reach n:np? */
  permitted(remote: number, n: number, np: number, proto: number): boolean {
    return this.flows.lookup(remote, n, np, proto | (Zone.PERMIT << 8)) >= 0;
  }

  /** The binding whose external endpoint is n:np, or -1. */
  bindingAt(n: number, np: number, proto: number): number {
    const v = this.flows.lookup(0, n, np, proto | (Zone.BINDING << 8));
    return v < 0 ? -1 : v >> 1;
  }

  /** Internal address of binding `id`. */
  internalAddress(id: number): number {
    return this.flows.keyWord(id, 0, 0);
  }

  /** Internal port (or query id) of binding `id`. */
  internalPort(id: number): number {
    return this.flows.keyWord(id, 0, 2) >>> 16;
  }

  /**
   * Creates a flow holding the given bindings and permit (ids, or -1 for
   * none; the caller's holds pass to the flow). Returns the flow id, or
   * FLOW_EXISTS (`existing` set; the holds are dropped), or TABLE_FULL (holds dropped).
   * `originalHash`: the original key's flows.index.hash (ct-input's, Batch.ctHash).
   */
  createFlow(o0: number, o1: number, o2: number, o3: number, originalHash: number, r0: number, r1: number, r2: number, r3: number, state: number, nowMs: number, source: number, destination: number, permit: number, firewallGeneration = 0): number {
    const t = this.flows;
    const u = t.userIn;
    u[FlowUser.SOURCE_BINDING] = source + 1;
    u[FlowUser.DESTINATION_BINDING] = destination + 1;
    u[FlowUser.PERMIT] = permit + 1;
    u[FlowUser.FIREWALL_GENERATION] = firewallGeneration;
    const id = t.insertHashed(o0, o1, o2, o3, r0, r1, r2, r3, originalHash, t.index.hash(r0, r1, r2, r3), state, nowMs);
    this.releaseEvicted(nowMs);
    if (id >= 0) return id;
    this.unholdAll(source, destination, permit, nowMs);
    if (id === FLOW_EXISTS) {
      this.existing = t.existing;
      return FLOW_EXISTS;
    }
    return NatFailure.TABLE_FULL;
  }

  /**
   * Records where the later fragments of a first fragment (MF set, offset 0)
   * find flow value `value` (id << 1 | dir; -1: no flow, they pass as they
   * are): a fragment entry keyed by the
   * datagram's addresses as it arrived (src, dst: not as translated, since
   * its later fragments arrive untranslated), its IP id and protocol.
   */
  recordFirstFragment(src: number, dst: number, ipId: number, proto: number, value: number, nowMs: number): void {
    const t = this.flows;
    const k2 = ipId;
    const k3 = proto | (Zone.FRAGMENT << 8);
    t.userIn[0] = value + 1;
    t.userIn[1] = value < 0 ? 0 : t.generation(value >> 1);
    t.insert(src, dst, k2, k3, src, dst, k2, k3, FlowState.FRAGMENT, nowMs);
    this.releaseEvicted(nowMs);
  }

  /**
   * An entry of one key (both directions the same) holding `user0`, marked
   * replied so that a full table does not evict it as a flow without an
   * answer. Returns its id, FLOW_EXISTS (`existing` set) or TABLE_FULL.
   */
  insertEntry(k0: number, k1: number, k2: number, k3: number, state: number, nowMs: number, user0: number): number {
    const t = this.flows;
    t.userIn[0] = user0;
    const id = t.insert(k0, k1, k2, k3, k0, k1, k2, k3, state, nowMs);
    this.releaseEvicted(nowMs);
    if (id >= 0) {
      t.setFlags(id, FLAG_SEEN_REPLY);
      return id;
    }
    if (id === FLOW_EXISTS) this.existing = t.existing;
    return id;
  }

  /** Drops the holds a flow would have taken over. */
  unholdAll(source: number, destination: number, permit: number, nowMs: number): void {
    if (source >= 0) unhold(this.flows, source, nowMs);
    if (destination >= 0) unhold(this.flows, destination, nowMs);
    if (permit >= 0) unhold(this.flows, permit, nowMs);
  }

  /**
   * The owner's timer work: ends up to `maxRecords` records' worth of idle
   * entries and releases what they held (a flow its bindings, a binding its
   * port). Returns how many ended.
   */
  service(nowMs: number, maxRecords: number): number {
    const t = this.flows;
    if (t.worker < 0) return 0; // a main-thread view ends nothing
    const n = t.sweep(nowMs, maxRecords, this.expired);
    // The bindings the ended flows held, loaded in one pass before the
    // unholds CAS their state words: their misses overlap (warming).
    const held = this.heldScratch;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const id = this.expired[i];
      const source = t.user(id, 0) - 1;
      if (source >= 0 && zoneOf(t.keyWord(id, 0, 3)) === Zone.FLOW) held[m++] = source;
    }
    if (m > 1) t.touchStates(held, m);
    for (let i = 0; i < n; i++) {
      const id = this.expired[i];
      const zone = zoneOf(t.keyWord(id, 0, 3));
      if (zone === Zone.FLOW) this.releaseUser(t.user(id, 0), t.user(id, 1), t.user(id, 2), nowMs);
      else if (zone === Zone.BINDING) {
        this.ports[t.user(id, B_POOL)].free(t.keyWord(id, 1, 2));
        const endpoint = t.user(id, B_ENDPOINT) - 1;
        if (endpoint >= 0) unhold(t, endpoint, nowMs);
      }
    }
    return n;
  }

  private releaseUser(source1: number, destination1: number, permit1: number, nowMs: number): void {
    this.unholdAll(source1 - 1, destination1 - 1, permit1 - 1, nowMs);
    if (destination1 < 0 && this.lbFlowEnded !== undefined) this.lbFlowEnded(-destination1 - 1);
  }

  /** After an insert: a flow it evicted to make room gives back what it held. */
  private releaseEvicted(nowMs: number): void {
    const t = this.flows;
    if (t.evictedId < 0) return;
    const u = t.evictedUser;
    // Bindings, permits and affinity entries are marked as replied, so never
    // evicted; a fragment entry may be, and holds nothing (its user words are
    // a flow value and a generation, not holds). Its zone is the evicted
    // key's: the record under evictedId is the new entry's already (a
    // binding, a permit or a fragment entry as often as a flow).
    if (zoneOf(t.evictedKey[3]) === Zone.FLOW) this.releaseUser(u[0], u[1], u[2], nowMs);
    t.evictedId = -1;
  }

}

