// One shard of a parallel replay. Every shard reads the whole capture
// itself (read(2) of a file in the page cache costs ~0.1 s/GiB; a file or
// the capture's bytes in shared memory), cuts the batches a one-worker
// replay cuts (their frames, their 1 ms window, the clock) and keeps only
// its own flows' frames (capture-input.ts, shard-key.ts). It runs a Router
// of its own (the one replay runs on one worker) over those batches, empty
// ones too (the ARP and reassembly timers and the flow sweep run per batch),
// and keeps what its router sent as pcapng blocks, a chunk per
// CHUNK_INPUT_BYTES of capture (frame-chunk.ts): every shard cuts its chunks
// after the same batches, and the main thread merges chunk c of all shards.
//
// Shards 1..N-1 are piscina tasks (the default export); shard 0 runs on the
// main thread only when it routes flows (parallel-replay.ts). A task shard
// posts each chunk of blocks to the main thread, which sends the buffers
// back once merged, so a steady stream allocates nothing; it stays at most
// MAX_IN_FLIGHT chunks ahead of the merge (ONE_ROUTER_IN_FLIGHT when it is
// the only shard; it waits on its control word).
// The task ends after the capture's last chunk with the counters, the
// capture's own figures, and the use of state shared between flows
// (shardability.ts); a corrupt capture ends it with the reader's error.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { RouterConfig } from '../config/load.js';
import type { BackendStatus } from '../lb/lb-control.js';
import { CaptureFormatError, CaptureReader } from '../pcap/reader.js';
import { Batch, slotBytesForMtu } from '../pipeline/batch.js';
import { ManualClock, type Clock } from '../pipeline/clock.js';
import type { CounterValue } from '../pipeline/counters.js';
import { Router } from '../pipeline/router.js';
import { TokenBucket } from '../pipeline/token-bucket.js';
import { compileFib } from '../route/fib.js';
import { RunLoop } from '../runtime/run-loop.js';
import { CaptureInput, type ShardFilter } from './capture-input.js';
import { CaptureOutput } from './capture-output.js';
import type { FrameChunk } from './frame-chunk.js';
import { interfaceMapper } from './replay.js';
import type { ShardSharedUse } from './shardability.js';

/**
 * Capture bytes per chunk of the shards' output. Every output byte is
 * written by a shard, then read by the write(2) that copies it into the page
 * cache: what is in flight between the two (about CHUNK_INPUT_BYTES x
 * (MAX_IN_FLIGHT + a few), plus the queued writes) must stay in the CPU's
 * cache, or both the shard's stores and the kernel's copy go to DRAM. With
 * 4 MiB chunks and 16 MiB queued (about 60 MiB in flight) they did: on the
 * 1 GiB bench, --workers 2 with 512 KiB chunks and 1 MiB queued took 0.78x
 * the CPU (user+sys 5.05 vs 6.45 s, system 1.9 vs 3.1 s) and 0.82x the
 * wall time of 4 MiB / 16 MiB (5 alternating rounds, medians, load 13-17,
 * AMD EPYC 2 vCPUs; a copy into 12 rotating 4 MiB buffers is 6x slower
 * here than into one, 421 vs 67 ms/GiB). 256 KiB and 1 MiB chunks measured
 * no better than 512 KiB. Per-chunk messages still cost little at this size
 * (about 2000 chunks per GiB).
 */
export const CHUNK_INPUT_BYTES = 512 << 10;
/** Chunks a shard may be ahead of the merge: the memory bound (about CHUNK_INPUT_BYTES x this, per shard). */
export const MAX_IN_FLIGHT = 4;
/**
 * The same for the one shard of --workers 2 (it routes every flow; the main
 * thread only writes its chunks): a main thread the scheduler keeps off the
 * CPU for a while no longer stops the shard at once. On the project VM,
 * shared (load 4-5), 16 against 4: wall 2.38 vs 2.88 s and 2.76 vs 3.32 s
 * (medians of 6 alternating runs each, 1 GiB bench capture), the same CPU
 * (2.24 vs 2.28 s); about 12 MiB more memory, for one shard only.
 */
export const ONE_ROUTER_IN_FLIGHT = 16;

/** Words of the control array shared by the main thread and the shards. */
export const enum Control {
  /** Non-zero: stop (the replay failed or was interrupted). */
  ABORT = 0,
  /** Word 1 + s: chunks of shard s merged so far (what the shard waits on when MAX_IN_FLIGHT ahead). */
  MERGED = 1,
}

/** How a shard splits the flows (capture-input.ts: ShardFilter, without the shard itself). */
export interface ShardSplit {
  shards: number;
  mainShare: number;
  keyless: number;
}

export interface ShardTask {
  config: RouterConfig;
  promiscuous: boolean;
  /** Port index every frame enters by, or -1: by its capture interface. */
  inPort: number;
  port: MessagePort;
  /** The capture: a path, or its bytes in a SharedArrayBuffer. */
  input: string | Uint8Array;
  shard: number;
  split: ShardSplit;
  /** Int32Array over a SharedArrayBuffer of Control.MERGED + shards words. */
  control: Int32Array;
  /** Chunks the shard may be ahead of the merge (MAX_IN_FLIGHT or ONE_ROUTER_IN_FLIGHT). */
  inFlight: number;
}

/** Main thread -> shard: a merged chunk's buffers to reuse. */
export interface ToShard {
  recycle: ShardRecycle;
}
/** Shard -> main thread: what its router sent during the chunk's batches, and the frames read so far (for progress). */
export interface ShardMessage {
  chunk: FrameChunk;
  framesRead: number;
}
export interface ShardRecycle {
  blocks: ArrayBuffer;
  index: ArrayBuffer;
}

/** What every shard counts of the whole capture (each reads all of it). */
export interface CaptureFigures {
  framesRead: number;
  skipped: Record<string, number>;
  framesIn: number[];
}

export interface ShardResult extends ShardSharedUse {
  counters: Record<string, CounterValue>;
  firewallHits?: number[];
  lb?: BackendStatus[];
  /** Clock times of the ICMP error rate limit's takes, and whether each got a token (1) or not (0). */
  icmpTakes: number[];
  icmpGranted: number[];
  /** What the router sent, by port: frames and bytes. */
  txFrames: number[];
  txBytes: number[];
  capture: CaptureFigures;
}

/** A task shard's end: its result, the capture's format error (rebuilt as one on the main thread), or nothing when stopped. */
export type ShardOutcome = ShardResult | { formatError: { offset: number; message: string } } | undefined;

/** The ICMP rate limit, recording each take: the main thread replays them all through one bucket. */
class RecordingBucket extends TokenBucket {
  readonly times: number[] = [];
  readonly granted: number[] = [];
  constructor(
    rate: number,
    burst: number,
    private readonly at: Clock,
  ) {
    super(rate, burst, at);
  }
  override take(): boolean {
    const ok = super.take();
    this.times.push(this.at.nowMs());
    this.granted.push(ok ? 1 : 0);
    return ok;
  }
}

/** A shard: the capture read whole, its own flows' frames through its router, the output cut in chunks; on the main thread or in a task. */
export class ShardRouter {
  readonly clock = new ManualClock();
  readonly output: CaptureOutput;
  readonly capture: CaptureInput;
  private readonly router: Router;
  private readonly batch: Batch;
  private readonly bucket: RecordingBucket;
  private readonly loop: RunLoop;
  private peakLive = 0;
  /** The reader's bytesRead where the last chunk ended. */
  private cutAt = 0;

  constructor(
    config: RouterConfig,
    promiscuous: boolean,
    private readonly reader: CaptureReader,
    inPort: number,
    filter: ShardFilter,
    onFrame?: (framesRead: number) => void,
  ) {
    const { fib, nexthops } = compileFib(config);
    // As a one-worker replay sizes its slots (replay.ts): the largest port MTU's frames fit.
    const batch = (this.batch = new Batch({ slotBytes: slotBytesForMtu(Math.max(0, ...config.ports.map((p) => p.mtu))) }));
    this.router = new Router(config, fib, nexthops, { clock: this.clock, batchCapacity: batch.capacity, maxFrame: batch.maxFrame, promiscuous });
    this.bucket = new RecordingBucket(config.icmp.ratePerSecond, config.icmp.burst, this.clock);
    this.router.ctx.icmpLimiter = this.bucket;
    // What the router sent, in time order, as the blocks a one-worker replay writes: into the chunk for the merge.
    // Its buffer holds a chunk's blocks (CHUNK_INPUT_BYTES of capture and the blocks' overhead) and grows when one
    // needs more; a few of these travel between the threads, and they should stay in the CPU's cache.
    this.output = new CaptureOutput(config.ports.length, this.clock, undefined, 1 << 20);
    // The only shard that routes (--workers 2 and the main thread routing no flows) keeps every frame: no key to compute.
    const routing = filter.shards - (filter.mainShare > 0 ? 0 : 1);
    this.capture = new CaptureInput(reader, interfaceMapper(reader, config, inPort), config.ports.length, this.clock, onFrame, routing > 1 ? filter : undefined);
    this.loop = new RunLoop({ router: this.router, batch, inputs: [this.capture], outputs: config.ports.map(() => this.output) });
  }

  /**
   * Replays the batches of the next chunk (up to the one that ends past
   * CHUNK_INPUT_BYTES more of the capture, or its end): the chunk of blocks,
   * ready to transfer (in `reuse` when given). Every shard reads the same
   * capture the same way, so every shard's chunk c covers the same batches.
   */
  nextChunk(reuse?: ShardRecycle): FrameChunk {
    const capture = this.capture;
    const reader = this.reader;
    const flows = this.router.natTables?.flows;
    for (;;) {
      this.output.writer.beginBatch();
      this.loop.step();
      if (flows !== undefined) this.peakLive = Math.max(this.peakLive, flows.live());
      if (capture.done) {
        // The batch after the capture's last, as a one-worker replay runs it (replay.ts drain()).
        this.output.writer.beginBatch();
        this.loop.step();
        break;
      }
      if (reader.bytesRead - this.cutAt >= CHUNK_INPUT_BYTES) break;
    }
    this.cutAt = reader.bytesRead;
    return this.output.writer.finish(capture.done, reuse);
  }

  result(): ShardResult {
    const router = this.router;
    const f = router.natTables?.flows?.workerStats();
    const c = this.capture;
    return {
      counters: router.counters.nonZero(),
      firewallHits: router.firewall ? Array.from(router.firewall.hits) : undefined,
      lb: router.lbControl?.status(),
      flows: f && { expired: f.expired, evicted: f.evicted, tableFull: f.tableFull, indexFull: f.indexFull, stale: f.stale, peakLive: this.peakLive },
      icmpTakes: this.bucket.times,
      icmpGranted: this.bucket.granted,
      txFrames: Array.from(this.output.framesByPort),
      txBytes: Array.from(this.output.bytesByPort),
      capture: { framesRead: c.framesRead, skipped: { ...c.skipped }, framesIn: Array.from(c.framesIn) },
    };
  }
}

/** Waits until the shard is less than `inFlight` chunks ahead of the merge, taking the buffers sent back meanwhile; false when told to stop. */
function waitForRoom(port: MessagePort, control: Int32Array, word: number, posted: number, spare: ShardRecycle[], inFlight: number): boolean {
  for (;;) {
    if (Atomics.load(control, Control.ABORT) !== 0) return false;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) spare.push((m.message as ToShard).recycle);
    const merged = Atomics.load(control, word);
    if (posted - merged < inFlight) return true;
    // A timeout, so a stop that came without a notify is still seen.
    Atomics.wait(control, word, merged, 200);
  }
}

export default function replayShard(task: ShardTask): ShardOutcome {
  const { port, control } = task;
  let reader: CaptureReader | undefined;
  try {
    reader = typeof task.input === 'string' ? CaptureReader.open(task.input) : CaptureReader.fromBytes(task.input);
    const shard = new ShardRouter(task.config, task.promiscuous, reader, task.inPort, { shard: task.shard, ...task.split });
    const spare: ShardRecycle[] = [];
    const word = Control.MERGED + task.shard;
    for (let posted = 0; ; posted++) {
      if (!waitForRoom(port, control, word, posted, spare, task.inFlight)) return undefined;
      const chunk = shard.nextChunk(spare.pop());
      port.postMessage({ chunk, framesRead: shard.capture.framesRead } satisfies ShardMessage, [chunk.blocks, chunk.index]);
      if (chunk.last) break;
    }
    return shard.result();
  } catch (e) {
    // A corrupt capture: its message as one worker gives it (piscina would pass on a plain Error).
    if (e instanceof CaptureFormatError) return { formatError: { offset: e.offset, message: e.message } };
    throw e;
  } finally {
    reader?.close();
    port.close();
  }
}
