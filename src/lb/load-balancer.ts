// The load balancer as one packet worker sees it: which VIP a packet is
// for, and which backend a new flow goes to. ct-input asks for a flow's
// first packet only; the flow table then pins the flow to its backend (user
// word FlowUser.DESTINATION_BINDING holds -(backend + 1)), so a table change
// never moves a live connection.
//
// A new flow's backend: the client's session-affinity entry when the VIP has
// ClientIP affinity and the entry is fresh and its backend active; else the
// Maglev table's slot for the flow's hash (lb-hash.ts: the same on every
// worker and every instance with the same config). Fragments hash on
// (src, dst, protocol), so every fragment of a datagram reaches one backend.
import { FlowState } from '../conntrack/timeouts.js';
import { prefixMask } from '../route/prefix.js';
import { FLAG_SEEN_REPLY, FLOW_EXISTS } from '../flow/flow-table.js';
import type { NatBindings } from '../nat/bindings.js';
import type { FlowBalancer } from '../nat/flow-balancer.js';
import { Zone } from '../nat/bindings.js';
import { LB_MODES, LbMode, type LoadBalancerConfig } from './lb-config.js';
import { lbFlowSlot, lbFragmentSlot, lbPortMask } from './lb-hash.js';
import { BackendCounter, BackendState, LbTables, type LbBuffers } from './lb-tables.js';

export class LoadBalancer implements FlowBalancer {
  readonly tables: LbTables;
  readonly vipCount: number;
  readonly vipAddress: Int32Array;
  readonly vipProto: Int32Array;
  /** 0: every port. */
  readonly vipPort: Int32Array;
  /** LbMode. */
  readonly vipMode: Int32Array;
  readonly vipSnat: Uint8Array;
  readonly vipGuePort: Int32Array;
  /** What of srcPort << 16 | dstPort the flow hash takes (lbPortMask of the VIP's `hash`). */
  private readonly vipPortMask: Int32Array;
  /** 0: no affinity. */
  private readonly vipAffinityMs: Float64Array;
  private readonly vipAffinityMask: Int32Array;
  /** This worker's counters (BackendCounter per backend id). */
  private readonly counters: Float64Array;
  /** Any VIP in a tunnel mode (lb-encap is in the graph). */
  readonly encapsulates: boolean;

  constructor(
    config: LoadBalancerConfig,
    buffers: LbBuffers,
    worker: number,
    private readonly nat: NatBindings,
  ) {
    const vips = config.vips;
    this.tables = LbTables.attach(buffers);
    this.vipCount = vips.length;
    this.vipAddress = Int32Array.from(vips, (v) => v.address | 0);
    this.vipProto = Int32Array.from(vips, (v) => v.protocol);
    this.vipPort = Int32Array.from(vips, (v) => v.port);
    this.vipMode = Int32Array.from(vips, (v) => LB_MODES.indexOf(v.mode));
    this.vipSnat = Uint8Array.from(vips, (v) => (v.snat ? 1 : 0));
    this.vipGuePort = Int32Array.from(vips, (v) => v.guePort);
    this.vipPortMask = Int32Array.from(vips, (v) => lbPortMask(v.hash));
    this.vipAffinityMs = Float64Array.from(vips, (v) => v.affinity?.timeoutMs ?? 0);
    this.vipAffinityMask = Int32Array.from(vips, (v) => prefixMask(v.affinity?.sourcePrefixLength ?? 0) | 0);
    this.counters = this.tables.counters[worker];
    this.encapsulates = vips.some((v) => v.mode === 'dsr-ipip' || v.mode === 'dsr-gue');
    nat.lbFlowEnded = (b) => {
      this.counters[b * BackendCounter.COUNT + BackendCounter.ENDED_FLOWS]++;
    };
  }

  /**
   * The VIP a packet to dst:dport is for, or -1. A later fragment has no
   * port (dport -1): it matches the first VIP of its address and protocol.
   */
  vipFor(dst: number, proto: number, dport: number): number {
    const a = this.vipAddress;
    for (let v = 0; v < this.vipCount; v++) {
      if (a[v] !== dst || this.vipProto[v] !== proto) continue;
      const p = this.vipPort[v];
      if (p === 0 || p === dport || dport < 0) return v;
    }
    return -1;
  }

  /**
   * The backend for a new flow of VIP v (ports: source << 16 | destination),
   * or -1 when the VIP has no backend to give. A first fragment (more to
   * come) hashes as its later fragments will.
   */
  pick(v: number, src: number, dst: number, ports: number, proto: number, fragment: boolean, nowMs: number): number {
    const affinityMs = this.vipAffinityMs[v];
    let entry = -1;
    let client = 0;
    const flows = this.nat.flows;
    const k3 = proto | (Zone.AFFINITY << 8);
    if (affinityMs > 0) {
      client = src & this.vipAffinityMask[v];
      const e = flows.lookup(client, dst, v, k3);
      if (e >= 0) {
        entry = e >> 1;
        const b = flows.user(entry, 0) - 1;
        if (b >= 0 && this.tables.backendState[b] === BackendState.ACTIVE && flows.idleMs(entry, nowMs) <= affinityMs) {
          flows.touch(entry, nowMs, 0);
          return b;
        }
      }
    }
    const size = this.tables.tableSize[v];
    const slot = fragment ? lbFragmentSlot(src, dst, proto, size) : lbFlowSlot(src, dst, ports & this.vipPortMask[v], proto, size);
    const b = this.tables.lookup(v, slot);
    if (b < 0 || affinityMs === 0) return b;
    if (entry >= 0) {
      flows.setUser(entry, 0, b + 1);
      flows.touch(entry, nowMs, 0);
    } else if (this.nat.insertEntry(client, dst, v, k3, FlowState.LB_AFFINITY, nowMs, b + 1) === FLOW_EXISTS) {
      // Another worker made the client's entry meanwhile: follow it.
      const other = flows.user(this.nat.existing >> 1, 0) - 1;
      if (other >= 0) return other;
    }
    return b;
  }

  /**
   * A direct-return flow's backend, still good for it: the pinned one while
   * it is active or draining; another from the table when it is down or
   * removed (nothing answers there any more). -1 when there is none.
   */
  pinned(b: number, src: number, dst: number, ports: number, proto: number, nowMs: number): number {
    const st = this.tables.backendState[b];
    if (st === BackendState.ACTIVE || st === BackendState.DRAINING) return b;
    return this.pick(this.tables.backendVip[b], src, dst, ports, proto, false, nowMs);
  }

  translates(v: number): boolean {
    return this.vipMode[v] === LbMode.NAT;
  }

  mode(b: number): number {
    return this.vipMode[this.tables.backendVip[b]];
  }

  isDsr(b: number): boolean {
    return this.vipMode[this.tables.backendVip[b]] !== LbMode.NAT;
  }

  snat(b: number): boolean {
    return this.vipSnat[this.tables.backendVip[b]] === 1;
  }

  address(b: number): number {
    return this.tables.backendAddress[b];
  }

  guePort(b: number): number {
    return this.vipGuePort[this.tables.backendVip[b]];
  }

  /** A packet (and its bytes) of a flow of backend b. */
  countPacket(b: number, bytes: number): void {
    const i = b * BackendCounter.COUNT;
    this.counters[i + BackendCounter.PACKETS]++;
    this.counters[i + BackendCounter.BYTES] += bytes;
  }

  flowMoved(from: number, to: number): void {
    this.counters[from * BackendCounter.COUNT + BackendCounter.ENDED_FLOWS]++;
    this.counters[to * BackendCounter.COUNT + BackendCounter.NEW_FLOWS]++;
  }

  /** A flow pinned to backend b has started (flows ended are counted as the table ends them). */
  flowStarted(b: number, flowId: number): void {
    this.counters[b * BackendCounter.COUNT + BackendCounter.NEW_FLOWS]++;
    // Direct-return flows never see a reply: marked replied so that a full table does not evict them first.
    if (this.isDsr(b)) this.nat.flows.setFlags(flowId, FLAG_SEEN_REPLY);
  }
}
