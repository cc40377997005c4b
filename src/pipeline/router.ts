// The forwarding graph of a router, assembled: nodes in packet-path order,
// the context they share, and one entry point that runs a batch through
// everything (timers first, then the received packets). The same Router runs
// live on a worker, in `replay`, in tests and in benchmarks.
import type { RouterConfig } from '../config/load.js';
import { NeighborTable } from '../route/neighbor.js';
import type { NexthopTable } from '../route/nexthops.js';
import type { Batch } from './batch.js';
import { systemClock, type Clock } from './clock.js';
import type { FibLookup, ForwardingContext } from './context.js';
import { Graph } from './graph.js';
import { releasePending, serviceNeighbors } from './neighbor-resolution.js';
import { NeighborState } from '../route/neighbor.js';
import type { NeighborSync } from './neighbor-sync.js';
import { ArpInput } from './nodes/arp-input.js';
import { ArpResolve } from './nodes/arp-resolve.js';
import { EthernetInput } from './nodes/ethernet-input.js';
import { IcmpError } from './nodes/icmp-error.js';
import { Ip4Frag } from './nodes/ip4-frag.js';
import { Ip4Gso } from './nodes/ip4-gso.js';
import { Ip4Input } from './nodes/ip4-input.js';
import { Ip4Local } from './nodes/ip4-local.js';
import { Ip4Lookup } from './nodes/ip4-lookup.js';
import { Ip4Output } from './nodes/ip4-output.js';
import { Ip4Rewrite } from './nodes/ip4-rewrite.js';
import { PendingQueue } from './pending.js';
import { PortTable } from './ports.js';
import { TokenBucket } from './token-bucket.js';

export interface RouterOptions {
  clock?: Clock;
  /** Slots in the batches this router will run (vectors are sized for it). */
  batchCapacity: number;
  /** Largest datagram the ARP queue holds (the batch's maxFrame). */
  maxFrame: number;
  /** Count into this buffer (a worker's SharedArrayBuffer) instead of private memory. */
  counterBuffer?: (bytes: number) => ArrayBufferLike;
  /** Neighbors learned by other workers (live, several workers). */
  neighborSync?: NeighborSync;
  /** The ICMP error rate limit's state, shared by every worker (TokenBucket.BYTES): one limit for the dataplane. */
  icmpLimit?: SharedArrayBuffer;
  /** Ports take unicast frames for any MAC (replay of captures made elsewhere). */
  promiscuous?: boolean;
}

export class Router {
  readonly ctx: ForwardingContext;
  readonly graph: Graph;
  private readonly entryId: number;
  private readonly arpResolve: ArpResolve;
  private readonly toTx: (slot: number) => void;
  private readonly toIcmpError: (slot: number) => void;
  private readonly syncMac = new Uint8Array(6);
  private readonly applySynced: (port: number, ip: number, mac: Uint8Array) => void;
  private currentBatch: Batch | undefined;
  /** Unresolved neighbors exist: the timer has work (skips a table scan per batch otherwise). */
  private timerDue = 0;

  constructor(config: RouterConfig, fib: FibLookup, nexthops: NexthopTable, opts: RouterOptions) {
    const clock = opts.clock ?? systemClock;
    this.ctx = {
      ports: new PortTable(config.ports, { promiscuous: opts.promiscuous }),
      fib,
      nexthops,
      neighbors: new NeighborTable(Math.max(1024, config.arp.pendingNeighbors * 4)),
      pending: new PendingQueue(config.arp.pendingNeighbors * config.arp.pendingPerNeighbor, config.arp.pendingPerNeighbor, opts.maxFrame),
      clock,
      icmpLimiter: new TokenBucket(config.icmp.ratePerSecond, config.icmp.burst, clock, opts.icmpLimit),
      arp: { reachableMs: config.arp.reachableMs, resolveTimeoutMs: config.arp.resolveTimeoutMs },
      neighborSync: opts.neighborSync,
    };
    const ctx = this.ctx;
    const mac = new Uint8Array(6);
    for (const n of config.neighbors) {
      const slot = ctx.neighbors.findOrInsert(n.port, n.address);
      n.mac.split(':').forEach((h, k) => (mac[k] = parseInt(h, 16)));
      if (slot >= 0) ctx.neighbors.setReachable(slot, mac, 0, 0, Infinity);
    }
    this.arpResolve = new ArpResolve(ctx);
    this.graph = new Graph(opts.batchCapacity)
      .add(new EthernetInput(ctx))
      .add(new ArpInput(ctx))
      .add(new Ip4Input(ctx))
      .add(new Ip4Local())
      .add(new IcmpError(ctx))
      .add(new Ip4Lookup(ctx))
      .add(new Ip4Rewrite(ctx))
      .add(new Ip4Frag(ctx))
      .add(new Ip4Gso())
      .add(new Ip4Output(ctx))
      .add(this.arpResolve);
    this.graph.build(opts.counterBuffer);
    this.entryId = this.graph.node('ethernet-input').id;
    const arp = this.arpResolve;
    this.toTx = (slot) => this.graph.enqueue(arp, arp.next.tx, slot);
    this.applySynced = (port, ip, mac) => {
      const nt = this.ctx.neighbors;
      const n = nt.findOrInsert(port, ip);
      if (n < 0 || this.currentBatch === undefined) return;
      const wasWaiting = nt.state[n] === NeighborState.INCOMPLETE;
      nt.setReachable(n, mac, 0, this.ctx.clock.nowMs(), this.ctx.arp.reachableMs);
      if (wasWaiting) {
        const lost = releasePending(this.ctx, this.currentBatch, port, ip, n, this.toTx);
        for (let i = 0; i < lost; i++) this.graph.counters.add(this.arpResolve.counter.timerNoBuffer, 0);
      }
    };
    this.toIcmpError = (slot) => {
      this.graph.countDrop(arp, arp.reason.resolutionFailed, slot);
      this.graph.enqueue(arp, arp.next.icmpError, slot);
    };
  }

  get counters() {
    return this.graph.counters;
  }

  /** Runs one batch: ARP timers, then slots [0, batch.rxCount). Output is in graph.output. */
  process(batch: Batch): void {
    const g = this.graph;
    g.begin(batch);
    const now = this.ctx.clock.nowMs();
    const sync = this.ctx.neighborSync;
    if (sync !== undefined && sync.pending()) {
      this.currentBatch = batch;
      sync.drain(this.applySynced, this.syncMac);
    }
    if (this.ctx.pending.used > 0 || now >= this.timerDue) {
      const lost = serviceNeighbors(this.ctx, batch, this.toTx, this.toIcmpError);
      for (let i = 0; i < lost; i++) g.counters.add(this.arpResolve.counter.timerNoBuffer, 0);
      // With nothing pending, look again within a resolution period for entries that still probe.
      this.timerDue = now + Math.max(10, this.ctx.arp.resolveTimeoutMs / 3);
    }
    g.run(this.entryId);
  }
}
