// One shard of a parallel replay, as a piscina task: it reads the capture
// itself (from the page cache; the main thread reads nothing), cuts the
// batches a one-worker replay cuts (CaptureInput with a shard: every frame
// moves the clock and the batch's window, only this shard's frames enter
// the batch), runs them through a Router of its own (the same one replay
// runs on one worker; empty batches too: the ARP and reassembly timers and
// the flow sweep run per batch) and posts what the router sent as pcapng
// blocks, a chunk per few MiB of capture (frame-chunk.ts). Every shard cuts
// its chunks after the same batches (the capture bytes read so far decide),
// so the main thread merges chunk c of all shards at once.
//
// Memory is bounded by credits: a shard waits (Atomics.wait on the control
// words) while it is MAX_IN_FLIGHT chunks ahead of the merge, and reuses the
// buffers the main thread sends back. The task ends at the end of the
// capture with the counters, the capture's own figures and the use of state
// shared between flows (shardability.ts).
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { RouterConfig } from '../config/load.js';
import type { BackendStatus } from '../lb/lb-control.js';
import { CaptureFormatError, CaptureReader } from '../pcap/reader.js';
import { Batch } from '../pipeline/batch.js';
import { ManualClock, type Clock } from '../pipeline/clock.js';
import type { CounterValue } from '../pipeline/counters.js';
import { Router } from '../pipeline/router.js';
import { TokenBucket } from '../pipeline/token-bucket.js';
import { compileFib } from '../route/fib.js';
import { RunLoop } from '../runtime/run-loop.js';
import { CaptureInput } from './capture-input.js';
import { CaptureOutput } from './capture-output.js';
import type { ChunkWriter, FrameChunk } from './frame-chunk.js';
import { interfaceMapper } from './replay.js';
import type { ShardSharedUse } from './shardability.js';

/** Capture bytes per chunk: large enough that messages cost nothing, small enough to stream. */
export const CHUNK_INPUT_BYTES = 4 << 20;
/** Chunks a shard may be ahead of the merge: the memory bound (about CHUNK_INPUT_BYTES x this, per shard). */
export const MAX_IN_FLIGHT = 4;

/** Words of the control array shared by the main thread and the shards. */
export const enum Control {
  /** Chunks merged so far (the shards' credit). */
  MERGED = 0,
  /** Non-zero: stop (the replay failed or was interrupted). */
  ABORT = 1,
  WORDS = 2,
}

export interface ShardTask {
  config: RouterConfig;
  promiscuous: boolean;
  port: MessagePort;
  /** The capture: a path, or its bytes in a SharedArrayBuffer. */
  input: string | Uint8Array;
  /** The --in-port index, or -1 (by interface). */
  inPort: number;
  shard: number;
  shards: number;
  /** Int32Array over a SharedArrayBuffer of Control.WORDS words. */
  control: Int32Array;
  /** Post { progress: frames } every this many frames read (the first shard only), or 0. */
  progressEvery: number;
}

/** Worker -> main thread on the task's port. */
export type ShardMessage = { chunk: FrameChunk } | { progress: number } | { formatError: { offset: number; message: string } };
/** Main thread -> worker: a merged chunk's buffers, to reuse. */
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
  /** The capture's figures (the same in every shard: each reads all of it). */
  framesRead: number;
  framesIn: number[];
  skipped: Record<string, number>;
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

/** Waits until the main thread is less than MAX_IN_FLIGHT chunks behind chunk `next` (its count in control[word]); false when told to stop. */
function awaitCredit(control: Int32Array, word: number, next: number): boolean {
  for (;;) {
    if (Atomics.load(control, Control.ABORT) !== 0) return false;
    const done = Atomics.load(control, word);
    if (next - done < MAX_IN_FLIGHT) return true;
    // A timeout, so a stop that came without a notify is still seen.
    Atomics.wait(control, word, done, 200);
  }
}

/** Where a shard's blocks go after a batch; false when told to stop. */
type Emit = (writer: ChunkWriter, done: boolean) => boolean;

/** A chunk per CHUNK_INPUT_BYTES of capture, the same batches in every shard, to the main thread's merge. */
function toMerge(task: ShardTask, reader: CaptureReader): Emit {
  let chunks = 0;
  let cutAt = 0;
  return (writer, done) => {
    // The same rule in every shard (they read the same bytes): the chunks line up batch for batch.
    if (!done && reader.bytesRead - cutAt < CHUNK_INPUT_BYTES) return true;
    cutAt = reader.bytesRead;
    post(task.port, writer, done);
    return awaitCredit(task.control, Control.MERGED, ++chunks);
  };
}

function post(port: MessagePort, writer: ChunkWriter, done: boolean): void {
  const back = receiveMessageOnPort(port)?.message as ShardRecycle | undefined;
  const chunk = writer.finish(done, back);
  port.postMessage({ chunk } satisfies ShardMessage, [chunk.blocks, chunk.index]);
}

export default function replayShard(task: ShardTask): ShardResult | undefined {
  const { config, port } = task;
  const { fib, nexthops } = compileFib(config);
  const batch = new Batch();
  const clock = new ManualClock();
  const router = new Router(config, fib, nexthops, { clock, batchCapacity: batch.capacity, maxFrame: batch.maxFrame, promiscuous: task.promiscuous });
  const bucket = new RecordingBucket(config.icmp.ratePerSecond, config.icmp.burst, clock);
  router.ctx.icmpLimiter = bucket;
  const reader = typeof task.input === 'string' ? CaptureReader.open(task.input) : CaptureReader.fromBytes(task.input);
  try {
    const every = task.progressEvery;
    const onFrame = every > 0 ? (n: number) => n % every === 0 && port.postMessage({ progress: n } satisfies ShardMessage) : undefined;
    const input = new CaptureInput(reader, interfaceMapper(reader, config, task.inPort), config.ports.length, clock, onFrame, { index: task.shard, of: task.shards });
    // What the router sent, in time order, as the blocks a one-worker replay writes: into the chunk for the merge.
    const output = new CaptureOutput(config.ports.length, clock);
    const loop = new RunLoop({ router, batch, inputs: [input], outputs: config.ports.map(() => output) });
    const emit = toMerge(task, reader);
    const flows = router.natTables?.flows;
    let peakLive = 0;
    do {
      output.writer.beginBatch();
      loop.step();
      if (flows !== undefined) peakLive = Math.max(peakLive, flows.live());
      if (!emit(output.writer, input.done)) return undefined;
    } while (!input.done);
    const f = flows?.workerStats();
    return {
      counters: router.counters.nonZero(),
      firewallHits: router.firewall ? Array.from(router.firewall.hits) : undefined,
      lb: router.lbControl?.status(),
      flows: f && { expired: f.expired, evicted: f.evicted, tableFull: f.tableFull, indexFull: f.indexFull, stale: f.stale, peakLive },
      icmpTakes: bucket.times,
      icmpGranted: bucket.granted,
      txFrames: Array.from(output.framesByPort),
      txBytes: Array.from(output.bytesByPort),
      framesRead: input.framesRead,
      framesIn: Array.from(input.framesIn),
      skipped: input.skipped,
    };
  } catch (e) {
    // The class does not cross threads: the main thread makes the error again from these, after the chunks before it (one port, in order).
    if (!(e instanceof CaptureFormatError)) throw e;
    port.postMessage({ formatError: { offset: e.offset, message: e.message } } satisfies ShardMessage);
    return undefined;
  } finally {
    reader.close();
    port.close();
  }
}
