// lb-decap: terminates load-balancer tunnels in front of a backend. A port
// with `decap:` takes IPIP and GUE datagrams addressed to a host on its link
// (a backend that cannot decapsulate itself: this kernel has no ipip/fou
// modules, and some hosts have neither), strips the outer headers, and
// delivers the inner packet, still addressed to the VIP, on L2 to the host
// the outer destination named. The backend owns the VIP on its loopback, as
// in dsr-l2, and answers the client directly.
//
// Placed after ip4-lookup: the outer destination's route says which port
// the datagram leaves by, and only a host on that port's link (an attached
// route) is delivered to this way; everything else passes unchanged.
// GUE: version 0 with protocol 4 (optional fields skipped; control messages
// are not decapsulated), and version 1 (the IPv4 header directly after UDP).
import { NexthopKind } from '../route/nexthops.js';
import type { Batch } from '../pipeline/batch.js';
import type { ForwardingContext } from '../pipeline/context.js';
import { defineNode, PipelineNode, type Dispatch } from '../pipeline/node.js';
import { internetChecksum } from '../wire/checksum.js';
import { IPPROTO_UDP } from '../wire/ipv4.js';
import type { DecapConfig } from './lb-config.js';

const IPPROTO_IPIP = 4;

const spec = defineNode({
  name: 'lb-decap',
  next: { rewrite: 'ip4-rewrite' },
  drops: {
    badInner: 'a tunnelled datagram whose inner IPv4 header is not sound (version, length or checksum)',
  },
  counters: {
    ipip: 'IPIP datagrams terminated (the inner packet delivered to the host behind this port)',
    gue: 'GUE datagrams terminated',
  },
});

export class LbDecap extends PipelineNode<typeof spec> {
  private readonly ipip: Uint8Array;
  private readonly gue: Uint8Array;
  private readonly guePort: Int32Array;
  /** Per port: host address -> the next hop that sends to its MAC. */
  private readonly hostNh: Map<number, number>[];
  /** The next-hop table hostNh's entries were interned into. */
  private hostTable: unknown = undefined;

  constructor(
    private readonly ctx: ForwardingContext,
    decap: readonly (DecapConfig | undefined)[],
  ) {
    super(spec);
    this.ipip = Uint8Array.from(decap, (c) => (c?.ipip === true ? 1 : 0));
    this.gue = Uint8Array.from(decap, (c) => (c?.gue === true ? 1 : 0));
    this.guePort = Int32Array.from(decap, (c) => c?.guePort ?? 0);
    this.hostNh = decap.map(() => new Map<number, number>());
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const kinds = this.ctx.nexthops.kind;
    let w = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const port = batch.txPort[s];
      if ((this.ipip[port] | this.gue[port]) === 0 || kinds[batch.nextHop[s]] !== NexthopKind.ATTACHED) {
        vec[w++] = s;
        continue;
      }
      const o = batch.l3[s];
      const proto = b[o + 9];
      // Fragments of a tunnel are not reassembled here: they pass as they are.
      if ((((b[o + 6] << 8) | b[o + 7]) & 0x3fff) !== 0) {
        vec[w++] = s;
        continue;
      }
      const end = o + ((b[o + 2] << 8) | b[o + 3]);
      const l4 = o + ((b[o] & 0x0f) << 2);
      let inner = -1;
      let counter = this.counter.ipip;
      if (proto === IPPROTO_IPIP && this.ipip[port] === 1) inner = l4;
      else if (proto === IPPROTO_UDP && this.gue[port] === 1 && l4 + 12 <= end && ((b[l4 + 2] << 8) | b[l4 + 3]) === this.guePort[port]) {
        const g = l4 + 8;
        const version = b[g] >> 6;
        counter = this.counter.gue;
        if (version === 1) inner = g;
        else if (version === 0 && (b[g] & 0x20) === 0 && b[g + 1] === IPPROTO_IPIP) inner = g + 4 + ((b[g] & 0x1f) << 2);
      }
      if (inner < 0) {
        vec[w++] = s;
        continue;
      }
      if (inner + 20 > end || b[inner] >> 4 !== 4) {
        d.drop(this, this.reason.badInner, s);
        continue;
      }
      const ihl = (b[inner] & 0x0f) << 2;
      const total = (b[inner + 2] << 8) | b[inner + 3];
      if (ihl < 20 || total < ihl || inner + total > end || internetChecksum(b, inner, ihl) !== 0) {
        d.drop(this, this.reason.badInner, s);
        continue;
      }
      const host = ((b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19]) | 0;
      d.counters.add(counter, end - o);
      batch.nextHop[s] = this.toHost(port, host);
      batch.l3[s] = inner;
      batch.length[s] -= inner - o;
      vec[w++] = s;
    }
    d.enqueueMany(this, this.next.rewrite, vec, w);
  }

  /** The next hop that sends to `host`'s own MAC out of `port` (made once per host). */
  private toHost(port: number, host: number): number {
    // Entries interned into an older next-hop table mean nothing in a newly published one.
    if (this.ctx.nexthops !== this.hostTable) {
      this.hostTable = this.ctx.nexthops;
      for (const m of this.hostNh) m.clear();
    }
    const m = this.hostNh[port];
    let nh = m.get(host);
    if (nh === undefined) {
      nh = this.ctx.nexthops.intern(NexthopKind.GATEWAY, port, host >>> 0);
      m.set(host, nh);
    }
    return nh;
  }
}
