// arp-input: ARP for Ethernet/IPv4 (RFC 826). Requests for one of the
// receiving port's addresses are answered in place. The sender's mapping is
// learned when the packet is for us (request or reply) and refreshed when an
// entry already exists (RFC 826's merge flag); learning a neighbor releases
// the packets that were waiting for it.
import { ARP_OPER, ARP_REPLY, ARP_REQUEST, ARP_SHA, ARP_SPA, ARP_THA, ARP_TPA, checkArp } from '../../wire/arp.js';
import { readIpv4, writeIpv4 } from '../../wire/address.js';
import { ETH_HEADER_LEN } from '../../wire/ethernet.js';
import { OUTPUT } from '../graph.js';
import type { Batch } from '../batch.js';
import { NeighborState } from '../../route/neighbor.js';
import type { ForwardingContext } from '../context.js';
import { PipelineNode, type Dispatch } from '../node.js';
import { releasePending } from '../neighbor-resolution.js';

const NEXT_TX = 0;
const DROP_MALFORMED = 0;
const DROP_BAD_OPER = 1;
const DROP_NO_BUFFER = 2;

export class ArpInput extends PipelineNode {
  readonly name = 'arp-input';
  readonly next = [OUTPUT];
  readonly drops = [
    { name: 'malformed', description: 'truncated, or not Ethernet/IPv4 ARP' },
    { name: 'bad-operation', description: 'neither request nor reply' },
    { name: 'no-buffer', description: 'no free slot to send a packet that waited for this neighbor' },
  ];
  private repliesSent = 0;
  private learned = 0;
  private ignored = 0;

  constructor(private readonly ctx: ForwardingContext) {
    super();
  }

  override extraCounters() {
    return [
      { name: 'replies-sent', description: 'requests for the router\'s addresses answered' },
      { name: 'learned', description: 'ARP packets whose sender was learned or refreshed' },
      { name: 'not-for-us', description: 'ARP about other hosts, consumed' },
    ];
  }

  override attach(counter: (name: string) => number): void {
    this.repliesSent = counter(`${this.name}/replies-sent`);
    this.learned = counter(`${this.name}/learned`);
    this.ignored = counter(`${this.name}/not-for-us`);
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const ctx = this.ctx;
    const now = ctx.clock.nowMs();
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = batch.l3[s];
      if (checkArp(b, o, batch.start[s] + batch.length[s] - o) !== 0) {
        d.drop(this, DROP_MALFORMED, s);
        continue;
      }
      const oper = (b[o + ARP_OPER] << 8) | b[o + ARP_OPER + 1];
      if (oper !== ARP_REQUEST && oper !== ARP_REPLY) {
        d.drop(this, DROP_BAD_OPER, s);
        continue;
      }
      const port = batch.rxPort[s];
      const spa = readIpv4(b, o + ARP_SPA);
      const tpa = readIpv4(b, o + ARP_TPA);
      const forUs = tpa === ctx.ports.address[port];
      const existing = ctx.neighbors.find(port, spa);
      if (spa !== 0 && (forUs || existing >= 0)) {
        const n = existing >= 0 ? existing : ctx.neighbors.findOrInsert(port, spa);
        if (n >= 0) {
          const wasWaiting = ctx.neighbors.state[n] === NeighborState.INCOMPLETE;
          ctx.neighbors.setReachable(n, b, o + ARP_SHA, now, ctx.arp.reachableMs);
          ctx.neighborSync?.publish(port, spa, b, o + ARP_SHA);
          d.counters.add(this.learned, batch.length[s]);
          if (wasWaiting) {
            const short = releasePending(ctx, batch, port, spa, n, (slot) => d.enqueue(this, NEXT_TX, slot));
            for (let i = 0; i < short; i++) d.countDrop(this, DROP_NO_BUFFER, s);
          }
        }
      }
      if (forUs && oper === ARP_REQUEST) {
        // Reply in place: target <- sender, sender <- us; Ethernet back to the asker.
        const e = batch.start[s];
        b.copyWithin(o + ARP_THA, o + ARP_SHA, o + ARP_SHA + 6);
        writeIpv4(b, o + ARP_TPA, spa);
        ctx.ports.writeMac(port, b, o + ARP_SHA);
        writeIpv4(b, o + ARP_SPA, tpa);
        b[o + ARP_OPER] = 0;
        b[o + ARP_OPER + 1] = ARP_REPLY;
        b.copyWithin(e, o + ARP_THA, o + ARP_THA + 6);
        ctx.ports.writeMac(port, b, e + 6);
        batch.length[s] = ETH_HEADER_LEN + 28;
        batch.txPort[s] = port;
        d.counters.add(this.repliesSent, batch.length[s]);
        d.enqueue(this, NEXT_TX, s);
      } else {
        if (!forUs) d.counters.add(this.ignored, batch.length[s]);
        d.free(s);
      }
    }
  }
}
