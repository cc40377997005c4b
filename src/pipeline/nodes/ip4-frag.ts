// ip4-frag: splits a datagram that is larger than the egress MTU and may be
// fragmented (DF clear) into fragments, per RFC 791 section 3.2: every
// fragment but the last carries a multiple of 8 data bytes; the first keeps
// all options, later ones only options with the "copied" bit; offsets and MF
// continue those of the original (which may itself be a fragment).
//
// A TCP super-packet (GSO) is never fragmented: it only gets here when its
// segments exceed the MTU with DF clear (Linux TCP always sets DF, so this is
// rare) and is dropped as gso-needs-fragmenting. A datagram with a partial
// checksum (offload) has it completed before it is cut up.
import { fillIpv4Checksum, IPOPT_EOL, IPOPT_NOP, ipv4FragOffset, ipv4HeaderLen, ipv4Mf, ipv4TotalLength, setIpv4FragOffset, setIpv4Ihl, setIpv4Mf, setIpv4TotalLength } from '../../wire/ipv4.js';
import type { Batch } from '../batch.js';
import { ETH_HEADER_LEN } from '../../wire/ethernet.js';
import type { ForwardingContext } from '../context.js';
import { defineNode, PipelineNode, type Dispatch } from '../node.js';
import { Verdict, type TraceRecordView } from '../trace-recorder.js';
import { Fate, OffloadMeta } from '../batch.js';
import { completeChecksum } from '../offload.js';

const spec = defineNode({
  name: 'ip4-frag',
  next: { output: 'ip4-output' },
  drops: {
    noBuffer: 'no free slot for a fragment: the whole datagram is dropped',
    mtuTooSmall: 'egress MTU leaves no room for 8 data bytes after the header',
    gsoNeedsFragmenting: 'a TCP super-packet (offload) whose segments exceed the egress MTU with DF clear: never fragmented',
  },
  counters: { fragmentsMade: 'fragments sent in place of larger datagrams' },
});

export class Ip4Frag extends PipelineNode<typeof spec> {
  /** Scratch for the options of later fragments (at most 40 bytes). */
  private readonly copiedOptions = new Uint8Array(40);

  constructor(private readonly ctx: ForwardingContext) {
    super(spec);
  }
  override describeVerdict(r: TraceRecordView): string | undefined {
    return r.verdict === Verdict.CONSUMED ? 'replaced by its fragments' : undefined;
  }


  /** Collects the options with the copied bit into `copiedOptions`; returns their length padded to 4. */
  private copyOptions(b: Uint8Array, o: number, hl: number): number {
    let n = 0;
    let i = o + 20;
    const end = o + hl;
    while (i < end) {
      const type = b[i];
      if (type === IPOPT_EOL) break;
      if (type === IPOPT_NOP) {
        i++;
        continue;
      }
      const len = i + 1 < end ? b[i + 1] : 0;
      if (len < 2 || i + len > end) break;
      if ((type & 0x80) !== 0) for (let k = 0; k < len; k++) this.copiedOptions[n++] = b[i + k];
      i += len;
    }
    while ((n & 3) !== 0) this.copiedOptions[n++] = 0;
    return n;
  }

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const mtus = this.ctx.ports.mtu;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      if (batch.hasOffload(s)) {
        if (batch.offload[s * OffloadMeta.WORDS + OffloadMeta.GSO_TYPE] !== 0) {
          d.drop(this, this.reason.gsoNeedsFragmenting, s);
          continue;
        }
        completeChecksum(batch, s);
      }
      const o = batch.l3[s];
      const hl = ipv4HeaderLen(b, o);
      const total = ipv4TotalLength(b, o);
      const mtu = mtus[batch.txPort[s]];
      const laterOptLen = hl > 20 ? this.copyOptions(b, o, hl) : 0;
      const firstData = (mtu - hl) & ~7;
      const laterData = (mtu - 20 - laterOptLen) & ~7;
      if (firstData < 8 || laterData < 8) {
        d.drop(this, this.reason.mtuTooSmall, s);
        continue;
      }
      const dataLen = total - hl;
      const baseOffset = ipv4FragOffset(b, o);
      const origMf = ipv4Mf(b, o);
      // Count fragments first so a shortage of slots drops the datagram whole, never half of it.
      const needed = dataLen <= firstData ? 1 : 1 + Math.ceil((dataLen - firstData) / laterData);
      if (needed > batch.generatedFree) {
        d.drop(this, this.reason.noBuffer, s);
        continue;
      }
      let done = 0;
      let first = true;
      while (done < dataLen) {
        const chunk = Math.min(first ? firstData : laterData, dataLen - done);
        const fhl = first ? hl : 20 + laterOptLen;
        const f = batch.allocGenerated(s);
        const fo = batch.slotStart(f) + ETH_HEADER_LEN;
        b.copyWithin(fo, o, o + 20);
        if (first) b.copyWithin(fo + 20, o + 20, o + hl);
        else for (let i = 0; i < laterOptLen; i++) b[fo + 20 + i] = this.copiedOptions[i];
        b.copyWithin(fo + fhl, o + hl + done, o + hl + done + chunk);
        setIpv4Ihl(b, fo, fhl >> 2);
        setIpv4TotalLength(b, fo, fhl + chunk);
        setIpv4FragOffset(b, fo, baseOffset + (done >> 3));
        setIpv4Mf(b, fo, origMf || done + chunk < dataLen);
        fillIpv4Checksum(b, fo);
        batch.l3[f] = fo;
        batch.start[f] = fo - ETH_HEADER_LEN;
        batch.length[f] = ETH_HEADER_LEN + fhl + chunk;
        batch.txPort[f] = batch.txPort[s];
        batch.nextHop[f] = batch.nextHop[s];
        d.counters.add(this.counter.fragmentsMade, batch.length[f]);
        d.enqueue(this, this.next.output, f);
        done += chunk;
        first = false;
      }
      d.free(this, s, Fate.FORWARDED);
    }
  }
}
