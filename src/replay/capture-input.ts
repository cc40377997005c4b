// A capture file as the run loop's input: frames are read in order into the
// batch, each on the port its capture interface names, and the clock follows
// their timestamps, so ARP timeouts and the ICMP rate limit behave as they
// would have on the wire. Frames the router cannot take are skipped and
// counted by reason. A batch's frames are copied from the reader's window
// into their slots in one native call (frame-copier.ts) rather than one
// set() of a new view each: in a one-worker replay's profile that per-frame
// copy (Batch.pushFrame) was the largest single cost of the thread.
import type { RxSource } from '../io/port.js';
import { LINKTYPE_ETHERNET } from '../pcap/link-type.js';
import type { CaptureReader } from '../pcap/reader.js';
import { MAX_BATCH, type Batch } from '../pipeline/batch.js';
import type { ManualClock } from '../pipeline/clock.js';
import { FrameCopier } from './frame-copier.js';
import { shardOf } from './shard-key.js';

/**
 * One shard of a parallel replay (parallel-replay.ts): it reads the whole
 * capture and keeps only its own flows' frames (shard-key.ts).
 */
export interface ShardFilter {
  /** This shard, in [0, shards). */
  shard: number;
  shards: number;
  /** Shard 0's weight in the split of flows (shard-key.ts). */
  mainShare: number;
  /** The shard that takes frames with no flow key (ARP, IPv6, runts): shard 0 when it routes flows, else shard 1. */
  keyless: number;
}

/**
 * Capture time one batch spans at most. Frames closer than this share a
 * batch, as a burst on a live port does; a frame later than this waits for
 * the next one, so the pipeline's state (ARP, NAT flows) has seen what came
 * before it: an answer a millisecond or more after its request finds the
 * flow the request started.
 */
export const BATCH_WINDOW_MS = 1;

export class CaptureInput implements RxSource {
  /** Frames come in on the port their interface maps to, set per frame. */
  readonly index = -1;
  framesRead = 0;
  /** Frames fed to the router, by port index. */
  readonly framesIn: Float64Array;
  /** Frames not fed to the router, by reason (link type not Ethernet, cut short by the snaplen, too big, unknown interface). */
  readonly skipped: Record<string, number> = {};
  /** True once the capture is exhausted. */
  done = false;
  /** The reader's current record is still to be fed (it began the next batch's time window). */
  private held = false;
  /** This batch's copies from the reader's window into the slots, done before rx() returns or the window moves. */
  private readonly copier = new FrameCopier();

  constructor(
    private readonly reader: CaptureReader,
    /** Capture interface id -> port index, or -1 for none. */
    private readonly portOf: (interfaceId: number) => number,
    ports: number,
    private readonly clock: ManualClock,
    private readonly onFrame?: (framesRead: number) => void,
    /**
     * A parallel replay's shard: only its own frames enter the batch. Every
     * frame still counts and moves the clock and the batch's window and size,
     * so every shard replays the batches a one-worker replay cuts, at the
     * same clock.
     */
    private readonly filter?: ShardFilter,
  ) {
    this.framesIn = new Float64Array(ports);
    reader.beforeMove = () => this.copier.flush();
  }

  private skip(why: string): void {
    this.skipped[why] = (this.skipped[why] ?? 0) + 1;
  }

  rx(batch: Batch, max: number = MAX_BATCH): number {
    const n = this.take(batch, max);
    this.copier.flush();
    return n;
  }

  /** rx() without the copies: takes the frames' slots and queues their copies. */
  private take(batch: Batch, max: number): number {
    const room = Math.min(max, batch.rxCapacity - batch.rxCount);
    let n = 0;
    let firstMs = -1;
    const filter = this.filter;
    while (n < room) {
      if (this.held) this.held = false;
      else {
        if (!this.reader.next()) {
          this.done = true;
          break;
        }
        this.framesRead++;
        this.onFrame?.(this.framesRead);
      }
      const r = this.reader.record;
      const ms = r.tsSec * 1000 + r.tsNsec / 1e6;
      // A batch spans at most BATCH_WINDOW_MS of capture time: a frame later
      // than that starts the next batch (kept in the reader until then), so
      // an answer a while after its request runs after it, as it did on the wire.
      if (firstMs < 0) firstMs = ms;
      else if (ms - firstMs >= BATCH_WINDOW_MS) {
        this.held = true;
        break;
      }
      if (r.linkType !== LINKTYPE_ETHERNET) {
        this.skip(`link type ${r.linkType} (not Ethernet)`);
        continue;
      }
      if (r.caplen < r.len) {
        this.skip('frame cut short by the capture snaplen');
        continue;
      }
      const port = this.portOf(r.interfaceId);
      if (port < 0) {
        this.skip(`interface ${r.interfaceId} matches no port`);
        continue;
      }
      if (r.caplen > batch.maxFrame) {
        this.skip(`frame larger than ${batch.maxFrame} bytes`);
        continue;
      }
      this.clock.set(r.tsSec * 1000 + r.tsNsec / 1e6);
      let mine = true;
      if (filter !== undefined) {
        const shard = shardOf(r.buffer, r.dataOffset, r.caplen, filter.shards, filter.mainShare);
        mine = (shard === 0 ? filter.keyless : shard) === filter.shard;
      }
      if (mine) {
        const slot = batch.claimFrame(r.caplen, port, r.tsSec, r.tsNsec);
        if (slot >= 0) this.copier.add(r.buffer, r.dataOffset, batch.arena, batch.start[slot], r.caplen);
      }
      this.framesIn[port]++;
      n++;
    }
    return n;
  }
}
