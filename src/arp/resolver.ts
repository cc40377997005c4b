// One worker's ARP state and the work it does between batches: the neighbor
// table, the queue of datagrams waiting for a MAC, and the share of what other
// workers learn. arp-input and arp-resolve use it per packet; the router calls
// service() once before each batch, which applies what other workers learned
// and runs the timer: it re-sends ARP requests that are due and, for
// resolutions past their deadline, turns the waiting datagrams into ICMP host
// unreachable requests (RFC 1812 4.3.2.3 / RFC 1122 2.3.2.2).
import type { RouterConfig } from '../config/load.js';
import { ARP_HTYPE_ETHERNET, ARP_LEN, ARP_PTYPE_IPV4, ARP_REQUEST, ARP_SHA, ARP_THA, setArpHlen, setArpHtype, setArpOper, setArpPlen, setArpPtype, setArpSpa, setArpTpa } from '../wire/arp.js';
import { IPV4_ADDR_LEN, MAC_LEN } from '../wire/address.js';
import { ETH_DST, ETH_HEADER_LEN, ETH_SRC, ETHERTYPE_ARP, ETHERTYPE_IPV4, setEthType } from '../wire/ethernet.js';
import { ICMP_DEST_UNREACHABLE, ICMP_UNREACH_HOST } from '../wire/icmp.js';
import type { Batch } from '../pipeline/batch.js';
import { icmpErrorCode, type ForwardingContext } from '../pipeline/context.js';
import { NeighborState, NeighborTable } from './neighbor-table.js';
import type { NeighborSync } from './neighbor-sync.js';
import { PendingQueue } from './pending-queue.js';

/** ARP requests sent for one resolution before giving up (Linux's mcast_solicit). */
export const ARP_MAX_PROBES = 3;
const HOST_UNREACHABLE = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_HOST);

/** Hands a slot made by the resolver to the graph (transmit, or icmp-error). */
export type SlotSink = (slot: number) => void;

export class ArpResolver {
  readonly neighbors: NeighborTable;
  readonly pending: PendingQueue;
  /** How long a learned MAC stays valid, and how long a resolution may take (config arp.*). */
  readonly reachableMs: number;
  readonly resolveTimeoutMs: number;
  private readonly syncMac = new Uint8Array(MAC_LEN);
  private readonly applySynced: (port: number, ip: number, mac: Uint8Array) => void;
  /** While service() drains the sync ring: the batch, the transmit sink, and the packets lost for want of a slot. */
  private serviceBatch: Batch | undefined;
  private serviceTx: SlotSink | undefined;
  private serviceLost = 0;
  /** Before this time, with nothing queued, the timer has no work (skips a table scan per batch). */
  private timerDue = 0;
  /** Configured neighbors changed at run time, applied by the next service() (a MAC: set; undefined: removed). */
  private staticChanges: { port: number; ip: number; mac: Uint8Array | undefined }[] = [];

  constructor(
    private readonly ctx: ForwardingContext,
    config: Pick<RouterConfig, 'arp' | 'neighbors'>,
    maxFrame: number,
    /** Neighbors learned by other workers (live, several workers). */
    private readonly sync?: NeighborSync,
  ) {
    const a = config.arp;
    // Room for every static neighbor on top of the learned ones: they never
    // expire, and one that did not fit would be silently lost.
    this.neighbors = new NeighborTable(Math.max(1024, a.pendingNeighbors * 4) + config.neighbors.length);
    this.pending = new PendingQueue(a.pendingNeighbors * a.pendingPerNeighbor, a.pendingPerNeighbor, maxFrame);
    this.reachableMs = a.reachableMs;
    this.resolveTimeoutMs = a.resolveTimeoutMs;
    for (const n of config.neighbors) {
      const slot = this.neighbors.findOrInsert(n.port, n.address);
      if (slot >= 0) this.neighbors.setReachable(slot, n.mac, 0, 0, Infinity);
    }
    this.applySynced = (port, ip, m) => {
      const n = this.neighbors.findOrInsert(port, ip);
      if (n < 0 || this.serviceBatch === undefined || this.serviceTx === undefined) return;
      this.serviceLost += this.learn(this.serviceBatch, n, port, ip, m, 0, this.ctx.clock.nowMs(), this.serviceTx);
    };
  }

  /**
   * Records `port`/`ip` at neighbor slot `n` as reachable at the MAC in
   * b[macOff, macOff+6). When datagrams were waiting for it, releases them
   * through `emit`; returns how many were lost for want of a slot.
   */
  learn(batch: Batch, n: number, port: number, ip: number, b: Uint8Array, macOff: number, nowMs: number, emit: SlotSink): number {
    const wasWaiting = this.neighbors.state[n] === NeighborState.INCOMPLETE;
    this.neighbors.setReachable(n, b, macOff, nowMs, this.reachableMs);
    return wasWaiting ? this.release(batch, port, ip, n, emit) : 0;
  }

  /** Tells the other workers a mapping learned from the wire (nothing with one worker). */
  publish(port: number, ip: number, b: Uint8Array, macOff: number): void {
    this.sync?.publish(port, ip, b, macOff);
  }

  /**
   * Copies the datagrams waiting for (port, ip) into generated slots with
   * their Ethernet header, hands each to `emit`, and frees their queue
   * entries. Returns how many had to be dropped for want of a slot.
   */
  release(batch: Batch, port: number, ip: number, neighbor: number, emit: SlotSink): number {
    const q = this.pending;
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
      const eth = batch.slotStart(f);
      const len = q.length[e];
      b.set(q.data.subarray(q.offset(e), q.offset(e) + len), eth + ETH_HEADER_LEN);
      this.writeIp4Ethernet(b, eth, port, neighbor);
      batch.start[f] = eth;
      batch.l3[f] = eth + ETH_HEADER_LEN;
      batch.length[f] = ETH_HEADER_LEN + len;
      batch.txPort[f] = port;
      batch.flags[f] = q.flags[e];
      q.remove(e);
      emit(f);
    }
    return short;
  }

  /** Writes the Ethernet header of an IPv4 datagram at b[eth] sent out of `port` to neighbor slot `neighbor`'s MAC. */
  writeIp4Ethernet(b: Uint8Array, eth: number, port: number, neighbor: number): void {
    this.neighbors.writeMac(neighbor, b, eth + ETH_DST);
    this.ctx.ports.writeMac(port, b, eth + ETH_SRC);
    setEthType(b, eth, ETHERTYPE_IPV4);
  }

  /** Builds a broadcast ARP request for `target` out of `port` in slot `f`. */
  writeRequest(batch: Batch, f: number, port: number, target: number): void {
    const b = batch.arena;
    const ports = this.ctx.ports;
    const e = batch.slotStart(f);
    b.fill(0xff, e + ETH_DST, e + ETH_DST + MAC_LEN);
    ports.writeMac(port, b, e + ETH_SRC);
    setEthType(b, e, ETHERTYPE_ARP);
    const a = e + ETH_HEADER_LEN;
    setArpHtype(b, a, ARP_HTYPE_ETHERNET);
    setArpPtype(b, a, ARP_PTYPE_IPV4);
    setArpHlen(b, a, MAC_LEN);
    setArpPlen(b, a, IPV4_ADDR_LEN);
    setArpOper(b, a, ARP_REQUEST);
    ports.writeMac(port, b, a + ARP_SHA);
    setArpSpa(b, a, ports.address[port]);
    b.fill(0, a + ARP_THA, a + ARP_THA + MAC_LEN);
    setArpTpa(b, a, target);
    batch.start[f] = e;
    batch.l3[f] = a;
    batch.length[f] = ETH_HEADER_LEN + ARP_LEN;
    batch.txPort[f] = port;
  }

  /**
   * Marks neighbor slot `n` (REACHABLE, just expired) STALE: it keeps its MAC
   * while ARP asks again, up to ARP_MAX_PROBES times until the resolution
   * deadline. The caller sends the first request (writeProbe) at once.
   */
  startRefresh(n: number, nowMs: number): void {
    const nt = this.neighbors;
    nt.state[n] = NeighborState.STALE;
    nt.deadlineMs[n] = nowMs + this.resolveTimeoutMs;
    nt.probes[n] = 1;
    nt.nextProbeMs[n] = nowMs + this.resolveTimeoutMs / ARP_MAX_PROBES;
  }

  /**
   * An ARP request for neighbor slot `n` in slot `f`: to its known MAC when
   * the entry is STALE (a unicast poll, RFC 1122 2.3.2.1, as Linux probes),
   * broadcast otherwise.
   */
  writeProbe(batch: Batch, f: number, n: number): void {
    const nt = this.neighbors;
    const port = nt.port[n];
    this.writeRequest(batch, f, port, nt.ip[n]);
    if (nt.state[n] === NeighborState.STALE) nt.writeMac(n, batch.arena, batch.start[f] + ETH_DST);
  }

  /**
   * The work before each batch: neighbors other workers learned (releasing
   * what waited for them), then the timer. New packets are placed in
   * generated slots of `batch` and passed to `toTx` (ARP requests, released
   * datagrams) or `toIcmpError` (datagrams whose resolution failed). Returns
   * the number of datagrams lost for want of a slot.
   */
  service(batch: Batch, toTx: SlotSink, toIcmpError: SlotSink): number {
    let lost = 0;
    if (this.staticChanges.length > 0) lost += this.applyStatic(batch, toTx);
    if (this.sync !== undefined && this.sync.pending()) {
      this.serviceBatch = batch;
      this.serviceTx = toTx;
      this.serviceLost = 0;
      this.sync.drain(this.applySynced, this.syncMac);
      lost += this.serviceLost;
      this.serviceBatch = undefined;
      this.serviceTx = undefined;
    }
    const now = this.ctx.clock.nowMs();
    if (this.pending.used > 0 || now >= this.timerDue) {
      lost += this.runTimer(batch, now, toTx, toIcmpError);
      // With nothing pending, look again within a resolution period for entries that still probe.
      this.timerDue = now + Math.max(10, this.resolveTimeoutMs / 3);
    }
    return lost;
  }

  /**
   * A configured (permanent) neighbor set or removed at run time (the control
   * API); takes effect at the next service(), where datagrams that waited for
   * that address are released.
   */
  setStatic(port: number, ip: number, mac: Uint8Array | undefined): void {
    this.staticChanges.push({ port, ip: ip >>> 0, mac: mac?.slice() });
  }

  private applyStatic(batch: Batch, toTx: SlotSink): number {
    const nt = this.neighbors;
    let lost = 0;
    for (const c of this.staticChanges) {
      if (c.mac === undefined) {
        const n = nt.find(c.port, c.ip);
        // Only a permanent entry is the configured one; what ARP learned stays.
        if (n >= 0 && nt.state[n] === NeighborState.REACHABLE && nt.expiresMs[n] === Infinity) nt.remove(n);
        continue;
      }
      const n = nt.findOrInsert(c.port, c.ip);
      if (n < 0) continue;
      const wasWaiting = nt.state[n] === NeighborState.INCOMPLETE;
      // An earlier permanent entry is replaced, not kept (setReachable keeps permanent entries against ARP).
      nt.expiresMs[n] = 0;
      nt.setReachable(n, c.mac, 0, 0, Infinity);
      if (wasWaiting) lost += this.release(batch, c.port, c.ip, n, toTx);
    }
    this.staticChanges = [];
    return lost;
  }

  /** Retries due requests and gives up on resolutions past their deadline; returns datagrams lost for want of a slot. */
  private runTimer(batch: Batch, now: number, toTx: SlotSink, toIcmpError: SlotSink): number {
    const nt = this.neighbors;
    const q = this.pending;
    let lost = 0;
    for (let i = 0; i < nt.capacity; i++) {
      if (nt.port[i] === -1) continue;
      const state = nt.state[i];
      if (state !== NeighborState.INCOMPLETE && state !== NeighborState.STALE) continue;
      const port = nt.port[i];
      const ip = nt.ip[i];
      if (now >= nt.deadlineMs[i] && state === NeighborState.STALE) {
        // No answer to the re-asking: forget the MAC. Nothing waits for a
        // STALE entry (its packets went out); the next one starts a new
        // resolution, which ends in ICMP host unreachable if it fails too.
        nt.remove(i);
        i--;
        continue;
      }
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
        this.writeProbe(batch, f, i);
        nt.probes[i]++;
        nt.nextProbeMs[i] = now + this.resolveTimeoutMs / ARP_MAX_PROBES;
        toTx(f);
      }
    }
    return lost;
  }
}
