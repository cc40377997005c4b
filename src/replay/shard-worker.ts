// One shard of a parallel replay. Shard 0 runs on the main thread, which
// also reads the capture, cuts the batches and writes the frame index of the
// other shards (parallel-replay.ts); shards 1..N-1 are piscina tasks (the
// default export). Every shard runs a Router of its own (the same one replay
// runs on one worker) over the batches a one-worker replay cuts, empty ones
// too (the ARP and reassembly timers and the flow sweep run per batch), and
// keeps what its router sent as pcapng blocks, a chunk per chunk of the
// index (frame-chunk.ts), which the main thread merges.
//
// A task shard waits (Atomics.wait on its control word) for the next chunk of
// its index, replays its batches, reading its frames at the positions the
// index gives (indexed-input.ts), and posts the chunk of blocks back with the
// index's buffers; the main thread sends the blocks' buffers back once
// merged, so a steady stream allocates nothing. The task ends after the
// capture's last chunk with the counters and the use of state shared between
// flows (shardability.ts).
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { RouterConfig } from '../config/load.js';
import type { BackendStatus } from '../lb/lb-control.js';
import type { RxSource } from '../io/port.js';
import { Batch } from '../pipeline/batch.js';
import { ManualClock, type Clock } from '../pipeline/clock.js';
import type { CounterValue } from '../pipeline/counters.js';
import { Router } from '../pipeline/router.js';
import { TokenBucket } from '../pipeline/token-bucket.js';
import { compileFib } from '../route/fib.js';
import { RunLoop } from '../runtime/run-loop.js';
import { CaptureOutput } from './capture-output.js';
import type { FrameChunk } from './frame-chunk.js';
import type { IndexBuffers, IndexChunk } from './frame-index.js';
import { FileFrames, IndexedInput, MemoryFrames } from './indexed-input.js';
import type { ShardSharedUse } from './shardability.js';

/** Words of the control array shared by the main thread and the shards. */
export const enum Control {
  /** Non-zero: stop (the replay failed or was interrupted). */
  ABORT = 0,
  /** Word 1 + s: index chunks posted to shard s so far (what the shard waits on). */
  POSTED = 1,
}

export interface ShardTask {
  config: RouterConfig;
  promiscuous: boolean;
  port: MessagePort;
  /** The capture: a path, or its bytes in a SharedArrayBuffer. */
  input: string | Uint8Array;
  shard: number;
  /** Int32Array over a SharedArrayBuffer of Control.POSTED + shards words. */
  control: Int32Array;
}

/** Main thread -> shard: the next chunk of its index, or a merged chunk's buffers to reuse. */
export type ToShard = { index: IndexChunk } | { recycle: ShardRecycle };
/** Shard -> main thread: what its router sent during the index chunk's batches, and the index chunk's buffers to reuse. */
export interface ShardMessage {
  chunk: FrameChunk;
  used: IndexBuffers;
}
export interface ShardRecycle {
  blocks: ArrayBuffer;
  index: ArrayBuffer;
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
}

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

/** A shard's router, its clock and output, on the main thread or in a task. */
export class ShardRouter {
  readonly clock = new ManualClock();
  readonly output: CaptureOutput;
  private readonly router: Router;
  private readonly batch = new Batch();
  private readonly bucket: RecordingBucket;
  private loop: RunLoop | undefined;
  private peakLive = 0;

  constructor(private readonly config: RouterConfig, promiscuous: boolean) {
    const { fib, nexthops } = compileFib(config);
    const batch = this.batch;
    this.router = new Router(config, fib, nexthops, { clock: this.clock, batchCapacity: batch.capacity, maxFrame: batch.maxFrame, promiscuous });
    this.bucket = new RecordingBucket(config.icmp.ratePerSecond, config.icmp.burst, this.clock);
    this.router.ctx.icmpLimiter = this.bucket;
    // What the router sent, in time order, as the blocks a one-worker replay writes: into the chunk for the merge.
    // Its buffer holds a chunk's blocks (parallel-replay.ts: CHUNK_INPUT_BYTES of capture and the blocks' overhead) and
    // grows when one needs more; a few of these travel between the threads, and they should stay in the CPU's cache.
    this.output = new CaptureOutput(config.ports.length, this.clock, undefined, 1 << 20);
  }

  /** Sets the input the batches come from (once, before the first step). */
  attach(input: RxSource): void {
    this.loop = new RunLoop({ router: this.router, batch: this.batch, inputs: [input], outputs: this.config.ports.map(() => this.output) });
  }

  /** Replays one batch; its blocks go to the output's next batch entry. */
  step(): void {
    this.output.writer.beginBatch();
    this.loop!.step();
    const flows = this.router.natTables?.flows;
    if (flows !== undefined) this.peakLive = Math.max(this.peakLive, flows.live());
  }

  /** The chunk of blocks since the last one, ready to transfer (in `reuse` when given). */
  finishChunk(last: boolean, reuse?: ShardRecycle): FrameChunk {
    return this.output.writer.finish(last, reuse);
  }

  result(): ShardResult {
    const router = this.router;
    const f = router.natTables?.flows?.workerStats();
    return {
      counters: router.counters.nonZero(),
      firewallHits: router.firewall ? Array.from(router.firewall.hits) : undefined,
      lb: router.lbControl?.status(),
      flows: f && { expired: f.expired, evicted: f.evicted, tableFull: f.tableFull, indexFull: f.indexFull, stale: f.stale, peakLive: this.peakLive },
      icmpTakes: this.bucket.times,
      icmpGranted: this.bucket.granted,
      txFrames: Array.from(this.output.framesByPort),
      txBytes: Array.from(this.output.bytesByPort),
    };
  }
}

/** The next message from the main thread, waiting for it; undefined when told to stop. */
function nextMessage(port: MessagePort, control: Int32Array, word: number): ToShard | undefined {
  for (;;) {
    if (Atomics.load(control, Control.ABORT) !== 0) return undefined;
    const seen = Atomics.load(control, word);
    const m = receiveMessageOnPort(port);
    if (m !== undefined) return m.message as ToShard;
    // A timeout, so a stop that came without a notify is still seen.
    Atomics.wait(control, word, seen, 200);
  }
}

export default function replayShard(task: ShardTask): ShardResult | undefined {
  const { port, control } = task;
  const shard = new ShardRouter(task.config, task.promiscuous);
  const bytes = typeof task.input === 'string' ? new FileFrames(task.input) : new MemoryFrames(task.input);
  const input = new IndexedInput(bytes, shard.clock);
  shard.attach(input);
  const spare: ShardRecycle[] = [];
  const word = Control.POSTED + task.shard;
  try {
    for (;;) {
      const m = nextMessage(port, control, word);
      if (m === undefined) return undefined;
      if ('recycle' in m) {
        spare.push(m.recycle);
        continue;
      }
      input.chunk.load(m.index);
      while (!input.chunkDone) shard.step();
      const chunk = shard.finishChunk(m.index.last, spare.pop());
      const used: IndexBuffers = { frames: m.index.frames, batches: m.index.batches };
      port.postMessage({ chunk, used } satisfies ShardMessage, [chunk.blocks, chunk.index, used.frames, used.batches]);
      if (m.index.last) break;
    }
    return shard.result();
  } finally {
    bytes.close();
    port.close();
  }
}
