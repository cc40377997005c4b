// ip4-input: RFC 1812 5.2.2 validation of every IPv4 datagram, each failure a
// distinct drop reason, then the martian checks of RFC 1812 5.3.7 and the
// broadcast/multicast rules of 5.3.5 for a unicast-only router. A datagram
// that passes is trimmed to its total length (dropping Ethernet padding) and
// its header can be trusted by every node after this one.
import { isMartianSource } from '../../wire/address.js';
import { ipv4AddressSum, ipv4FixedHeaderSum, sumIsAllOnes } from '../../wire/checksum.js';
import { WireDrop } from '../../wire/drop-reason.js';
import { checkIpv4, ipv4ChecksumOk, ipv4Dst, ipv4Src, ipv4TotalLength, IPV4_MAX_DATAGRAM } from '../../wire/ipv4.js';
import type { Batch } from '../batch.js';
import { PacketFlag } from '../batch.js';
import type { ForwardingContext } from '../context.js';
import { defineNode, PipelineNode, type Dispatch } from '../node.js';

const spec = defineNode({
  name: 'ip4-input',
  next: { lookup: 'ip4-lookup' },
  drops: {
    truncated: 'RFC 1812 5.2.2 (1): shorter than 20 bytes or than its header length',
    badVersion: 'RFC 1812 5.2.2 (3): version is not 4',
    badIhl: 'RFC 1812 5.2.2 (4): header length below 20 bytes',
    badTotalLength: 'RFC 1812 5.2.2 (5): total length below the header length or beyond the frame',
    badOptions: 'an option runs past the end of the header',
    badChecksum: 'RFC 1812 5.2.2 (2): header checksum does not verify',
    martianSource: 'RFC 1812 5.3.7: source in 0/8, 127/8, 224/4 or 240/4',
    martianDestination: 'RFC 1812 5.3.7: destination in 0/8, 127/8 or 240/4',
    multicastDestination: 'multicast datagram (no multicast routing)',
    limitedBroadcast: 'RFC 1812 5.3.5.1: 255.255.255.255 is never forwarded',
    ownSourceAddress: "arrived with one of the router's own addresses as source",
    broadcastSource: "source is the broadcast address of the subnet it arrived on (RFC 1812 5.3.7: never a host's)",
    fragmentTooLong: 'a fragment whose offset plus length passes 65535 bytes (no datagram is that long: the ping of death)',
  },
});

export class Ip4Input extends PipelineNode<typeof spec> {
  constructor(private readonly ctx: ForwardingContext) {
    super(spec);
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const ports = this.ctx.ports;
    const start = batch.start;
    const length = batch.length;
    const l3 = batch.l3;
    const flags = batch.flags;
    const portAddress = ports.address;
    const portCount = ports.count;
    const portBroadcast = ports.broadcast;
    const rxPort = batch.rxPort;
    const R = this.reason;
    let w = 0;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const o = l3[s];
      const avail = start[s] + length[s] - o;
      let total: number;
      if (b[o] === 0x45 && avail >= 20) {
        // Fast path, no options (nearly every datagram): checks inline, the header sum unrolled.
        total = (b[o + 2] << 8) | b[o + 3];
        if (total < 20 || total > avail) {
          d.drop(this, R.badTotalLength, s);
          continue;
        }
        if (!sumIsAllOnes(ipv4FixedHeaderSum(b, o, ipv4AddressSum(b, o)))) {
          d.drop(this, R.badChecksum, s);
          continue;
        }
      } else {
        const r = checkIpv4(b, o, avail);
        if (r !== WireDrop.OK) {
          d.drop(this, this.reasonOf(r), s);
          continue;
        }
        if (!ipv4ChecksumOk(b, o)) {
          d.drop(this, R.badChecksum, s);
          continue;
        }
        total = ipv4TotalLength(b, o);
      }
      length[s] = o - start[s] + total;
      // Offset (8-byte units) of a fragment: together with its length it must fit in a datagram.
      const fragOffset = ((b[o + 6] & 0x1f) << 8) | b[o + 7];
      if (fragOffset !== 0 && (fragOffset << 3) + total > IPV4_MAX_DATAGRAM) {
        d.drop(this, R.fragmentTooLong, s);
        continue;
      }
      const src = ipv4Src(b, o);
      const dst = ipv4Dst(b, o);
      if (isMartianSource(src)) {
        d.drop(this, R.martianSource, s);
        continue;
      }
      const top = dst >>> 24;
      if (top === 0 || top === 127 || (top >= 240 && dst !== 0xffffffff)) {
        d.drop(this, R.martianDestination, s);
        continue;
      }
      if (top >= 224) {
        d.drop(this, top >= 240 ? R.limitedBroadcast : R.multicastDestination, s);
        continue;
      }
      let own = false;
      for (let p = 0; p < portCount; p++) if (portAddress[p] === src) own = true;
      if (own) {
        d.drop(this, R.ownSourceAddress, s);
        continue;
      }
      if (src === portBroadcast[rxPort[s]]) {
        d.drop(this, R.broadcastSource, s);
        continue;
      }
      flags[s] |= PacketFlag.IP4_VALID;
      vec[w++] = s;
    }
    d.enqueueMany(this, this.next.lookup, vec, w);
  }

  /** The drop reason for a failure of the wire check. */
  private reasonOf(wireDrop: number): number {
    const R = this.reason;
    switch (wireDrop) {
      case WireDrop.IPV4_BAD_VERSION:
        return R.badVersion;
      case WireDrop.IPV4_BAD_IHL:
        return R.badIhl;
      case WireDrop.IPV4_BAD_TOTAL_LENGTH:
        return R.badTotalLength;
      case WireDrop.IPV4_BAD_OPTIONS:
        return R.badOptions;
      default:
        return R.truncated;
    }
  }
}
