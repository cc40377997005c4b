// ip4-gso: software segmentation of a TCP/IPv4 super-packet (GSO metadata
// from an offload TAP) that leaves by a port without offload, as Linux's
// tcp_gso_segment does: one segment per gso_size payload bytes, each with a
// copy of the IP and TCP headers; IP total length, id (+1 per segment) and
// header checksum, TCP sequence number and a full TCP checksum per segment;
// FIN and PSH only on the last segment, CWR only on the first. ip4-rewrite
// sends super-packets here after its MTU check (which judged the segments)
// and the TTL decrement, so the segments need nothing more than ip4-output.
import { fillIpv4Checksum, IPPROTO_TCP } from '../../wire/ipv4.js';
import { ETH_HEADER_LEN } from '../../wire/ethernet.js';
import { fillTcpChecksum, TCP_CWR, TCP_FIN, TCP_PSH } from '../../wire/tcp.js';
import { Fate, OffloadMeta, VNET_HDR_GSO_ECN, VNET_HDR_GSO_TCPV4, type Batch } from '../batch.js';
import { defineNode, PipelineNode, type Dispatch } from '../node.js';
import { Verdict, type TraceRecordView } from '../trace-recorder.js';

const spec = defineNode({
  name: 'ip4-gso',
  next: { output: 'ip4-output' },
  drops: {
    noBuffer: 'not enough free slots for the segments of a TCP super-packet: dropped whole',
    unsupported: 'a super-packet that is not TCP/IPv4 with a sane gso_size (never negotiated)',
  },
  counters: { segmentsMade: 'TCP segments cut in software from super-packets, for ports without offload' },
});

export class Ip4Gso extends PipelineNode<typeof spec> {
  constructor() {
    super(spec);
  }
  override describeVerdict(r: TraceRecordView): string | undefined {
    return r.verdict === Verdict.CONSUMED ? 'replaced by its TCP segments' : undefined;
  }


  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    const b = batch.arena;
    const meta = batch.offload;
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const m = s * OffloadMeta.WORDS;
      const o = batch.l3[s];
      const ihl = (b[o] & 0x0f) << 2;
      const total = (b[o + 2] << 8) | b[o + 3];
      const t = o + ihl;
      const thl = (b[t + 12] >> 4) << 2;
      const hdr = ihl + thl;
      const mss = meta[m + OffloadMeta.GSO_SIZE];
      if ((meta[m + OffloadMeta.GSO_TYPE] & ~VNET_HDR_GSO_ECN) !== VNET_HDR_GSO_TCPV4 || b[o + 9] !== IPPROTO_TCP || mss === 0 || thl < 20 || hdr > total) {
        d.drop(this, this.reason.unsupported, s);
        continue;
      }
      const payload = total - hdr;
      const segments = payload <= mss ? 1 : Math.ceil(payload / mss);
      if (segments > batch.generatedFree) {
        d.drop(this, this.reason.noBuffer, s);
        continue;
      }
      const seq0 = ((b[t + 4] << 24) | (b[t + 5] << 16) | (b[t + 6] << 8) | b[t + 7]) >>> 0;
      const id0 = (b[o + 4] << 8) | b[o + 5];
      const tcpFlags = b[t + 13];
      for (let i = 0; i < segments; i++) {
        const off = i * mss;
        const chunk = payload - off < mss ? payload - off : mss;
        const f = batch.allocGenerated(s);
        const fo = batch.slotStart(f) + ETH_HEADER_LEN;
        const ft = fo + ihl;
        b.copyWithin(fo, o, o + hdr);
        b.copyWithin(fo + hdr, o + hdr + off, o + hdr + off + chunk);
        const len = hdr + chunk;
        b[fo + 2] = len >> 8;
        b[fo + 3] = len & 0xff;
        const id = (id0 + i) & 0xffff;
        b[fo + 4] = id >> 8;
        b[fo + 5] = id & 0xff;
        fillIpv4Checksum(b, fo);
        const seq = (seq0 + off) >>> 0;
        b[ft + 4] = seq >>> 24;
        b[ft + 5] = (seq >>> 16) & 0xff;
        b[ft + 6] = (seq >>> 8) & 0xff;
        b[ft + 7] = seq & 0xff;
        let fl = tcpFlags;
        if (i < segments - 1) fl &= ~(TCP_FIN | TCP_PSH);
        if (i > 0) fl &= ~TCP_CWR;
        b[ft + 13] = fl;
        fillTcpChecksum(b, fo, ft, thl + chunk);
        batch.l3[f] = fo;
        batch.start[f] = fo - ETH_HEADER_LEN;
        batch.length[f] = ETH_HEADER_LEN + len;
        batch.txPort[f] = batch.txPort[s];
        batch.nextHop[f] = batch.nextHop[s];
        d.counters.add(this.counter.segmentsMade, batch.length[f]);
        d.enqueue(this, this.next.output, f);
      }
      d.free(this, s, Fate.FORWARDED);
    }
  }
}
