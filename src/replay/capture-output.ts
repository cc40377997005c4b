// The run loop's output into a pcapng file, one interface per port. Every
// port's tx hands its frames here; at the end of the batch they are written
// in time order (the graph emits by node, so a batch's output is not), ties
// in the order the ports sent them. A packet the router made without a
// timestamp (an ARP request from a timer) is stamped with the clock's time.
import type { TxSink } from '../io/port.js';
import type { PcapngWriter } from '../pcap/writer.js';
import type { Batch } from '../pipeline/batch.js';
import type { Clock } from '../pipeline/clock.js';

export class CaptureOutput implements TxSink {
  framesOut = 0;
  /** Frames and bytes written, by port index. */
  readonly framesByPort: Float64Array;
  readonly bytesByPort: Float64Array;
  private readonly pending: number[] = [];

  constructor(
    private readonly writer: PcapngWriter,
    ports: number,
    private readonly clock: Clock,
  ) {
    this.framesByPort = new Float64Array(ports);
    this.bytesByPort = new Float64Array(ports);
  }

  tx(_batch: Batch, slots: Uint16Array, count: number): number {
    for (let i = 0; i < count; i++) this.pending.push(slots[i]);
    return count;
  }

  flush(batch: Batch): void {
    const order = this.pending;
    order.sort((a, b) => batch.tsSec[a] - batch.tsSec[b] || batch.tsNsec[a] - batch.tsNsec[b]);
    const nowMs = this.clock.nowMs();
    for (const s of order) {
      const port = batch.txPort[s];
      let sec = batch.tsSec[s];
      let nsec = batch.tsNsec[s];
      if (sec === 0 && nsec === 0) {
        sec = Math.floor(nowMs / 1000);
        nsec = Math.round((nowMs - sec * 1000) * 1e6);
      }
      this.writer.write(port, batch.bytes(s), sec, nsec);
      this.framesByPort[port]++;
      this.bytesByPort[port] += batch.length[s];
      this.framesOut++;
    }
    order.length = 0;
  }
}
