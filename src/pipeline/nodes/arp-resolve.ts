// arp-resolve: datagrams whose next hop has no MAC yet. Each is copied into
// the bounded pending queue (the batch slot is reused when the batch ends),
// and the first one for a neighbor sends an ARP request. Retries and the
// give-up deadline are the timer's (serviceNeighbors).
//
// The queue keeps bytes, not offload metadata: a partial checksum is completed
// before a datagram is queued, and a TCP super-packet is dropped
// (gso-unresolved; TCP sends it again once the neighbor is known).
import { ipv4TotalLength } from '../../wire/ipv4.js';
import { NeighborState } from '../../route/neighbor.js';
import { OUTPUT } from '../graph.js';
import { OffloadMeta, type Batch } from '../batch.js';
import { completeChecksum } from '../offload.js';
import type { ForwardingContext } from '../context.js';
import { PipelineNode, type Dispatch } from '../node.js';
import { ARP_MAX_PROBES, writeArpRequest } from '../neighbor-resolution.js';
import { neighborTarget } from './ip4-output.js';

const NEXT_TX = 0;
const DROP_TABLE_FULL = 0;
const DROP_QUEUE_FULL = 1;
const DROP_QUEUE_OVERFLOW = 2;
const DROP_GSO_UNRESOLVED = 4;

export class ArpResolve extends PipelineNode {
  readonly name = 'arp-resolve';
  readonly next = [OUTPUT];
  readonly drops = [
    { name: 'neighbor-table-full', description: 'no room for another neighbor entry' },
    { name: 'queue-full', description: 'the pending queue has no free entry' },
    { name: 'queue-overflow', description: 'an older packet for the same neighbor was dropped to make room' },
    { name: 'resolution-failed', description: 'no ARP reply in time (ICMP host unreachable sent)' },
    { name: 'gso-unresolved', description: 'a TCP super-packet (offload) whose next hop has no MAC yet: not queued' },
  ];
  private queued = 0;
  private requests = 0;
  private readonly evicted = new Uint32Array(1);

  constructor(private readonly ctx: ForwardingContext) {
    super();
  }

  override extraCounters() {
    return [
      { name: 'queued', description: 'datagrams held until their next hop is resolved' },
      { name: 'requests-sent', description: 'ARP requests sent for a new resolution' },
    ];
  }

  override attach(counter: (name: string) => number): void {
    this.queued = counter(`${this.name}/queued`);
    this.requests = counter(`${this.name}/requests-sent`);
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const ctx = this.ctx;
    const nt = ctx.neighbors;
    const now = ctx.clock.nowMs();
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = batch.l3[s];
      const port = batch.txPort[s];
      if (batch.hasOffload(s)) {
        if (batch.offload[s * OffloadMeta.WORDS + OffloadMeta.GSO_TYPE] !== 0) {
          d.drop(this, DROP_GSO_UNRESOLVED, s);
          continue;
        }
        completeChecksum(batch, s);
      }
      const target = neighborTarget(ctx, b, o, batch.nextHop[s]);
      const n = nt.findOrInsert(port, target);
      if (n < 0) {
        d.drop(this, DROP_TABLE_FULL, s);
        continue;
      }
      const e = ctx.pending.add(port, target, b, o, ipv4TotalLength(b, o), this.evicted);
      if (e < 0) {
        d.drop(this, DROP_QUEUE_FULL, s);
        continue;
      }
      if (this.evicted[0] !== 0) d.counters.add(this.dropBase + DROP_QUEUE_OVERFLOW, this.evicted[0]);
      const q = ctx.pending;
      q.rxPort[e] = batch.rxPort[s];
      q.flags[e] = batch.flags[s];
      q.tsSec[e] = batch.tsSec[s];
      q.tsNsec[e] = batch.tsNsec[s];
      d.counters.add(this.queued, batch.length[s]);
      if (nt.state[n] !== NeighborState.INCOMPLETE) {
        nt.state[n] = NeighborState.INCOMPLETE;
        nt.deadlineMs[n] = now + ctx.arp.resolveTimeoutMs;
        nt.probes[n] = 0;
        nt.nextProbeMs[n] = now;
      }
      if (nt.probes[n] === 0 && nt.probes[n] < ARP_MAX_PROBES) {
        // Reuse this datagram's slot for the request: its bytes are safe in the queue.
        writeArpRequest(ctx, batch, s, port, target);
        nt.probes[n] = 1;
        nt.nextProbeMs[n] = now + ctx.arp.resolveTimeoutMs / ARP_MAX_PROBES;
        d.counters.add(this.requests, batch.length[s]);
        d.enqueue(this, NEXT_TX, s);
      } else {
        d.free(s);
      }
    }
  }
}
