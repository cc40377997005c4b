// arp-input: ARP for Ethernet/IPv4 (RFC 826). Requests for one of the
// receiving port's addresses are answered in place. The sender's mapping is
// learned when the packet is for us (request or reply) and refreshed when an
// entry already exists (RFC 826's merge flag); learning a neighbor releases
// the packets that were waiting for it.
import { ARP_LEN, ARP_REPLY, ARP_REQUEST, ARP_SHA, ARP_SPA, ARP_THA, ARP_TPA, arpOper, checkArp, setArpOper } from '../wire/arp.js';
import { readIpv4, writeIpv4 } from '../wire/address.js';
import { ETH_HEADER_LEN } from '../wire/ethernet.js';
import { Fate, type Batch } from '../pipeline/batch.js';
import type { ForwardingContext } from '../pipeline/context.js';
import { defineNode, OUTPUT, PipelineNode, type Dispatch } from '../pipeline/node.js';
import type { PortTable } from '../pipeline/ports.js';
import type { ArpResolver } from './resolver.js';

const spec = defineNode({
  name: 'arp-input',
  next: { tx: OUTPUT },
  drops: {
    malformed: 'truncated, or not Ethernet/IPv4 ARP',
    badOperation: 'neither request nor reply',
    badSenderMac: "sender hardware address a group (broadcast, multicast) or zero address, or the router's own: not believed (RFC 1812 3.3.2)",
    noBuffer: 'no free slot to send a packet that waited for this neighbor',
  },
  counters: {
    repliesSent: "requests for the router's addresses answered",
    learned: 'ARP packets whose sender was learned or refreshed',
    notForUs: 'ARP about other hosts, consumed',
  },
});

/**
 * Whether an ARP packet's sender hardware address (b[o, o+6)) can be a
 * neighbor's: not a group address (broadcast or multicast: RFC 1812 3.3.2,
 * a router MUST NOT believe an ARP reply that claims one), not all zero,
 * and not one of the router's own MACs (a looped or forged frame). Learning
 * such an address would send unicast IP as a link-layer flood, or back to
 * ourselves. arp-input drops these packets whole: neither learned nor
 * answered.
 */
export function believableSenderMac(b: Uint8Array, o: number, ports: PortTable): boolean {
  if ((b[o] & 1) !== 0) return false;
  if ((b[o] | b[o + 1] | b[o + 2] | b[o + 3] | b[o + 4] | b[o + 5]) === 0) return false;
  return !ports.isOwnMac(b, o);
}

/**
 * Whether arp-input learns or refreshes the sender of an ARP packet: one for
 * the router (`forUs`), or from a sender the neighbor table already holds
 * (`known`: RFC 826's merge flag); never the unspecified sender 0.0.0.0 of
 * a probe. ip4-fast relies on the same rule to tell which ARP frames leave
 * the table as it is.
 */
export function learnsSender(spa: number, forUs: boolean, known: boolean): boolean {
  return spa !== 0 && (forUs || known);
}

export class ArpInput extends PipelineNode<typeof spec> {
  constructor(
    private readonly ctx: ForwardingContext,
    private readonly arp: ArpResolver,
  ) {
    super(spec);
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const ctx = this.ctx;
    const arp = this.arp;
    const now = ctx.clock.nowMs();
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = batch.l3[s];
      if (checkArp(b, o, batch.start[s] + batch.length[s] - o) !== 0) {
        d.drop(this, this.reason.malformed, s);
        continue;
      }
      const oper = arpOper(b, o);
      if (oper !== ARP_REQUEST && oper !== ARP_REPLY) {
        d.drop(this, this.reason.badOperation, s);
        continue;
      }
      if (!believableSenderMac(b, o + ARP_SHA, ctx.ports)) {
        d.drop(this, this.reason.badSenderMac, s);
        continue;
      }
      const port = batch.rxPort[s];
      const spa = readIpv4(b, o + ARP_SPA);
      const tpa = readIpv4(b, o + ARP_TPA);
      const forUs = ctx.ports.answersArp(port, tpa);
      const existing = arp.neighbors.find(port, spa);
      if (learnsSender(spa, forUs, existing >= 0)) {
        const n = existing >= 0 ? existing : arp.neighbors.findOrInsert(port, spa);
        if (n >= 0) {
          const short = arp.learn(batch, n, port, spa, b, o + ARP_SHA, now, (slot) => d.enqueue(this, this.next.tx, slot));
          arp.publish(port, spa, b, o + ARP_SHA);
          d.counters.add(this.counter.learned, batch.length[s]);
          for (let i = 0; i < short; i++) d.countDrop(this, this.reason.noBuffer, s);
        }
      }
      if (forUs && oper === ARP_REQUEST) {
        // Reply in place: target <- sender, sender <- us; Ethernet back to the asker.
        d.account(s, Fate.LOCAL);
        const e = batch.start[s];
        b.copyWithin(o + ARP_THA, o + ARP_SHA, o + ARP_SHA + 6);
        writeIpv4(b, o + ARP_TPA, spa);
        ctx.ports.writeMac(port, b, o + ARP_SHA);
        writeIpv4(b, o + ARP_SPA, tpa);
        setArpOper(b, o, ARP_REPLY);
        b.copyWithin(e, o + ARP_THA, o + ARP_THA + 6);
        ctx.ports.writeMac(port, b, e + 6);
        batch.length[s] = ETH_HEADER_LEN + ARP_LEN;
        batch.txPort[s] = port;
        d.counters.add(this.counter.repliesSent, batch.length[s]);
        d.enqueue(this, this.next.tx, s);
      } else {
        if (!forUs) d.counters.add(this.counter.notForUs, batch.length[s]);
        d.free(this, s, Fate.LOCAL);
      }
    }
  }
}
