// The run loop's output into a pcapng file, one interface per port. Every
// port's tx hands its frames here; at the end of the batch they are written
// in time order (the graph emits by node, so a batch's output is not), ties
// in the order the ports sent them. A packet the router made without a
// timestamp (an ARP request from a timer) is stamped with the clock's time.
//
// The blocks are encoded straight into one large buffer (ChunkWriter: the
// bytes PcapngWriter writes, without its per-call checks and byte-at-a-time
// field writes, which were a sixth of a one-worker replay's CPU) and handed
// to the file a few MiB at a time. A shard of a parallel replay uses the same
// class without a sink: its blocks go to the main thread's merge instead.
import type { TxSink } from '../io/port.js';
import type { ByteSink } from '../pcap/writer.js';
import type { Batch } from '../pipeline/batch.js';
import type { Clock } from '../pipeline/clock.js';
import { ChunkWriter } from './frame-chunk.js';

/** Blocks buffered before they go to the sink: few, large writes. */
const DRAIN_BYTES = 4 << 20;

export class CaptureOutput implements TxSink {
  framesOut = 0;
  /** Frames and bytes written, by port index. */
  readonly framesByPort: Float64Array;
  readonly bytesByPort: Float64Array;
  readonly writer: ChunkWriter;
  private readonly pending: number[] = [];

  constructor(
    ports: number,
    private readonly clock: Clock,
    /** Where the blocks go (after the writer's header blocks, already written); none: the caller takes them from `writer`. */
    private readonly sink?: ByteSink,
    /** The writer's buffer (it grows when a chunk needs more): room for DRAIN_BYTES and a batch when draining to a sink. */
    bufferBytes = DRAIN_BYTES + (1 << 20),
  ) {
    this.writer = new ChunkWriter(bufferBytes);
    this.framesByPort = new Float64Array(ports);
    this.bytesByPort = new Float64Array(ports);
  }

  tx(_batch: Batch, slots: Uint16Array, count: number): number {
    for (let i = 0; i < count; i++) this.pending.push(slots[i]);
    return count;
  }

  flush(batch: Batch): void {
    const order = this.pending;
    const n = order.length;
    if (n === 0) return;
    const tsSec = batch.tsSec;
    const tsNsec = batch.tsNsec;
    // Most batches leave in time order already (one port, forwarded in arrival order): sort only when not (the sort is stable, so the result is the same).
    for (let i = 1; i < n; i++) {
      const a = order[i - 1];
      const b = order[i];
      if (tsSec[a] > tsSec[b] || (tsSec[a] === tsSec[b] && tsNsec[a] > tsNsec[b])) {
        order.sort((x, y) => tsSec[x] - tsSec[y] || tsNsec[x] - tsNsec[y]);
        break;
      }
    }
    const nowMs = this.clock.nowMs();
    const w = this.writer;
    for (let i = 0; i < n; i++) {
      const s = order[i];
      const port = batch.txPort[s];
      let sec = tsSec[s];
      let nsec = tsNsec[s];
      if (sec === 0 && nsec === 0) {
        sec = Math.floor(nowMs / 1000);
        nsec = Math.round((nowMs - sec * 1000) * 1e6);
      }
      const len = batch.length[s];
      w.addFrame(batch.arena, batch.start[s], len, port, sec, nsec);
      this.framesByPort[port]++;
      this.bytesByPort[port] += len;
    }
    // The frames' bytes leave the batch's arena now: the next batch reuses its slots.
    w.flushCopies();
    this.framesOut += n;
    order.length = 0;
    if (this.sink !== undefined && w.bytes >= DRAIN_BYTES) w.drainTo(this.sink);
  }

  /** Writes what is still buffered to the sink (before the file is closed). */
  finish(): void {
    if (this.sink !== undefined) this.writer.drainTo(this.sink);
  }
}
