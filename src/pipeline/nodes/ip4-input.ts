// ip4-input: RFC 1812 5.2.2 validation of every IPv4 datagram, each failure a
// distinct drop reason, then the martian checks of RFC 1812 5.3.7 and the
// broadcast/multicast rules of 5.3.5 for a unicast-only router. A datagram
// that passes is trimmed to its total length (dropping Ethernet padding) and
// its header can be trusted by every node after this one.
//
// Options (IHL > 5, never on the fused fast path): a malformed option in a
// header that otherwise verifies is not one of 5.2.2's silent discards but
// an error "not specifically covered by another ICMP message" (RFC 1812
// 4.3.3.5): dropped, and answered with a Parameter Problem pointing at the
// offending byte, the datagram quoted as it came. So is a full Timestamp
// whose overflow count would overflow (RFC 791). A datagram with a Loose or
// Strict Source Route is dropped and answered with destination unreachable,
// source route failed (3/5): the router does not source-route (RFC 7126
// 4.3/4.4, Linux's accept_source_route=0; docs/ARCHITECTURE.md, "IPv4
// options"). Neither answer goes to a destination RFC 1812 4.3.2.7 rules
// out (a broadcast or group address) or to the router's own address;
// icmp-error applies the rest of 4.3.2.7 and the rate limit.
import { isMartianSource } from '../../wire/address.js';
import { ipv4AddressSum, ipv4FixedHeaderSum, sumIsAllOnes } from '../../wire/checksum.js';
import { WireDrop } from '../../wire/drop-reason.js';
import { ICMP_DEST_UNREACHABLE, ICMP_PARAMETER_PROBLEM, ICMP_PARAMPROB_POINTER, ICMP_UNREACH_SOURCE_ROUTE_FAILED } from '../../wire/icmp.js';
import {
  checkIpv4, ipv4ChecksumOk, ipv4Dst, ipv4OptionsErrorPointer, ipv4OptionsVerdict, ipv4Src, ipv4TotalLength, IPV4_MAX_DATAGRAM, IPV4_MIN_HEADER_LEN,
  IPV4_OPTIONS_OK, IPV4_OPTIONS_SOURCE_ROUTE,
} from '../../wire/ipv4.js';
import type { Batch } from '../batch.js';
import { PacketFlag } from '../batch.js';
import { icmpErrorCode, type ForwardingContext } from '../context.js';
import { defineNode, PipelineNode, type Dispatch } from '../node.js';

const spec = defineNode({
  name: 'ip4-input',
  next: { lookup: 'ip4-lookup', icmpError: 'icmp-error' },
  drops: {
    truncated: 'RFC 1812 5.2.2 (1): shorter than 20 bytes or than its header length',
    badVersion: 'RFC 1812 5.2.2 (3): version is not 4',
    badIhl: 'RFC 1812 5.2.2 (4): header length below 20 bytes',
    badTotalLength: 'RFC 1812 5.2.2 (5): total length below the header length or beyond the frame',
    badOptions:
      'RFC 1812 4.3.3.5: a malformed option (a length or pointer out of range, room for part of an entry, a second Record Route, Timestamp or source route) (ICMP parameter problem sent)',
    timestampOverflow: "RFC 791: a full Timestamp option whose overflow count is 15 already (ICMP parameter problem sent)",
    sourceRoute: 'RFC 7126 4.3/4.4: a Loose or Strict Source Route option: not source-routed (ICMP source route failed sent)',
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

const SOURCE_ROUTE_FAILED = icmpErrorCode(ICMP_DEST_UNREACHABLE, ICMP_UNREACH_SOURCE_ROUTE_FAILED);

/** A Parameter Problem (code 0) pointing at byte `pointer` of the header. */
function parameterProblem(pointer: number): number {
  return icmpErrorCode(ICMP_PARAMETER_PROBLEM, ICMP_PARAMPROB_POINTER, pointer);
}

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
      // An ICMP error this datagram earns by its options (0: none), sent once the checks below pass.
      let optionError = 0;
      let optionReason = 0;
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
        if (r !== WireDrop.OK && r !== WireDrop.IPV4_BAD_OPTIONS) {
          d.drop(this, this.reasonOf(r), s);
          continue;
        }
        // Only a header that verifies earns an answer (5.2.2 discards the others silently).
        if (!ipv4ChecksumOk(b, o)) {
          d.drop(this, R.badChecksum, s);
          continue;
        }
        total = ipv4TotalLength(b, o);
        if (r === WireDrop.IPV4_BAD_OPTIONS) {
          optionError = parameterProblem(ipv4OptionsErrorPointer(b, o));
          optionReason = R.badOptions;
        } else if ((b[o] & 0x0f) > 5) {
          const v = ipv4OptionsVerdict(b, o + IPV4_MIN_HEADER_LEN, o + ((b[o] & 0x0f) << 2));
          if (v === IPV4_OPTIONS_SOURCE_ROUTE) {
            optionError = SOURCE_ROUTE_FAILED;
            optionReason = R.sourceRoute;
          } else if (v !== IPV4_OPTIONS_OK) {
            optionError = parameterProblem(IPV4_MIN_HEADER_LEN + v);
            optionReason = R.timestampOverflow;
          }
        }
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
      if (optionError !== 0) {
        this.refuse(batch, s, optionReason, optionError, dst, d);
        continue;
      }
      vec[w++] = s;
    }
    d.enqueueMany(this, this.next.lookup, vec, w);
  }

  /**
   * Drops a datagram for its options, with the ICMP error `error` unless it
   * went to a connected subnet's broadcast address (RFC 1812 4.3.2.7; ip4-
   * lookup would not have forwarded it either). The checks above ruled out
   * group, limited-broadcast and martian destinations and the router's own
   * source addresses.
   */
  private refuse(batch: Batch, s: number, reason: number, error: number, dst: number, d: Dispatch): void {
    const ports = this.ctx.ports;
    for (let p = 0; p < ports.count; p++) {
      if (ports.broadcast[p] === dst) {
        d.drop(this, reason, s);
        return;
      }
    }
    d.countDrop(this, reason, s);
    batch.icmpError[s] = error;
    d.enqueue(this, this.next.icmpError, s);
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
