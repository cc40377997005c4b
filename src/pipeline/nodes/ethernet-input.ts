// ethernet-input: accepts frames addressed to the receiving port's MAC or to
// broadcast, and sends IPv4 to ip4-input and ARP to arp-input. Tagged frames
// are dropped: ports are untagged (802.1Q subinterfaces would be a port
// option; the counter tells a user that tagged traffic is arriving).
import { ETH_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, isVlanTpid } from '../../wire/ethernet.js';
import type { Batch } from '../batch.js';
import { OffloadMeta, PacketFlag } from '../batch.js';
import type { ForwardingContext } from '../context.js';
import { defineNode, PipelineNode, type Dispatch } from '../node.js';

const spec = defineNode({
  name: 'ethernet-input',
  next: { ip4: 'ip4-input', arp: 'arp-input' },
  drops: {
    truncated: 'frame shorter than an Ethernet header',
    notForUs: 'destination MAC is neither the port nor broadcast',
    vlanTagged: '802.1Q/802.1ad tagged frame on an untagged port',
    unknownEthertype: 'neither IPv4 nor ARP (IPv6, LLDP, ...)',
    multicast: 'link-layer multicast (no multicast routing)',
    groupSource: 'source MAC is broadcast or multicast (no station has one: IEEE 802.3 4.2.3.1)',
    tooBig: 'frame larger than the port MTU plus Ethernet header (TCP super-packets from an offload TAP excepted)',
  },
});

export class EthernetInput extends PipelineNode<typeof spec> {
  constructor(private readonly ctx: ForwardingContext) {
    super(spec);
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const ports = this.ctx.ports;
    // Batch arrays in locals: the loop calls out, so V8 would reload fields each time.
    const start = batch.start;
    const length = batch.length;
    const rxPort = batch.rxPort;
    const l3 = batch.l3;
    const R = this.reason;
    let w = 0; // IPv4 frames, compacted to the front of vec for enqueueMany
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = start[s];
      const len = length[s];
      if (len < ETH_HEADER_LEN) {
        d.drop(this, R.truncated, s);
        continue;
      }
      const port = rxPort[s];
      if (!ports.macEquals(port, b, o)) {
        const broadcast = (b[o] & b[o + 1] & b[o + 2] & b[o + 3] & b[o + 4] & b[o + 5]) === 0xff;
        if (broadcast) batch.flags[s] |= PacketFlag.L2_BROADCAST;
        else if ((b[o] & 1) !== 0) {
          d.drop(this, R.multicast, s);
          continue;
        } else if (ports.promiscuous[port] === 0) {
          d.drop(this, R.notForUs, s);
          continue;
        }
      }
      // The group bit of the source MAC: set only by broken or hostile senders.
      if ((b[o + 6] & 1) !== 0) {
        d.drop(this, R.groupSource, s);
        continue;
      }
      const type = (b[o + 12] << 8) | b[o + 13];
      if (type === ETHERTYPE_IPV4) {
        // A TCP super-packet from an offload TAP is larger by design: ip4-rewrite judges its segments.
        if (len - ETH_HEADER_LEN > ports.mtu[port] && batch.offload[s * OffloadMeta.WORDS + OffloadMeta.GSO_TYPE] === 0) {
          d.drop(this, R.tooBig, s);
          continue;
        }
        l3[s] = o + ETH_HEADER_LEN;
        vec[w++] = s;
      } else if (type === ETHERTYPE_ARP) {
        batch.l3[s] = o + ETH_HEADER_LEN;
        d.enqueue(this, this.next.arp, s);
      } else if (isVlanTpid(type)) {
        d.drop(this, R.vlanTagged, s);
      } else {
        d.drop(this, R.unknownEthertype, s);
      }
    }
    d.enqueueMany(this, this.next.ip4, vec, w);
  }
}
