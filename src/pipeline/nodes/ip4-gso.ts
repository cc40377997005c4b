// ip4-gso: software segmentation of a TCP/IPv4 super-packet (GSO metadata
// from an offload TAP) that leaves by a port without offload, as Linux's
// tcp_gso_segment does: one segment per gso_size payload bytes, each with a
// copy of the IP and TCP headers; IP total length, id (+1 per segment) and
// header checksum, TCP sequence number and a full TCP checksum per segment;
// FIN and PSH only on the last segment, CWR only on the first. ip4-rewrite
// sends super-packets here after its MTU check (which judged the segments)
// and the TTL decrement, so the segments need nothing more than ip4-output.
// The cutting itself is src/pipeline/tcp-segment.ts (lb-encap uses it too).
import { Fate, type Batch } from '../batch.js';
import { SEGMENT_NO_BUFFER, SEGMENT_UNSUPPORTED, segmentTcp } from '../tcp-segment.js';
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


  /** Slots of the current packet's segments. */
  private readonly segments = new Uint16Array(1024);

  process(batch: Batch, vec: Uint16Array, count: number, d: Dispatch): void {
    for (let k = 0; k < count; k++) {
      const s = vec[k];
      const n = segmentTcp(batch, s, this.segments);
      if (n === SEGMENT_UNSUPPORTED) {
        d.drop(this, this.reason.unsupported, s);
        continue;
      }
      if (n === SEGMENT_NO_BUFFER) {
        d.drop(this, this.reason.noBuffer, s);
        continue;
      }
      for (let i = 0; i < n; i++) {
        const f = this.segments[i];
        d.counters.add(this.counter.segmentsMade, batch.length[f]);
        d.enqueue(this, this.next.output, f);
      }
      d.free(this, s, Fate.FORWARDED);
    }
  }
}
