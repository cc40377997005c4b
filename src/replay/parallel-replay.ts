// `replay --workers N`: the capture sharded by flow across a piscina pool of
// N threads, each running its own Router, and their output put into OUT.
//
// - Read (the shards): each shard reads the whole capture from the page
//   cache and cuts the batches a one-worker replay cuts (their frames, their
//   1 ms window, the clock each runs at, the frames skipped), but only its
//   flows' frames (shard-key.ts) enter its batches; every shard runs every
//   batch, maybe empty, so its timers run at the same times. Reading is
//   cheap next to routing; nothing is copied between threads on the way in.
// - Write: a shard posts what its router sent as pcapng blocks, a chunk per
//   few MiB of capture, cut after the same batches in every shard; this
//   thread merges chunk c of all shards (each batch by timestamp, ties to
//   the lower shard: chunk-merge.ts) into OUT, the file a one-worker replay
//   writes, byte for byte. A shard waits while it is MAX_IN_FLIGHT chunks
//   ahead of the merge: memory stays bounded. Writing OUT is the part that
//   stays serial (one file: the kernel takes its writes one at a time).
//   Two ways to keep only each flow's order measured no faster on the
//   project's VM and are not offered: shards writing OUT themselves at
//   ranges they reserve (they wait for each other's writes), and this
//   thread writing the shards' chunks as they come, without the merge.
//   Nor did writing OUT from the thread pool while this thread merges
//   (under load the merge loop spent 80% of its wall time in write(2)),
//   nor a larger young generation for the shards (75 scavenges -> 24):
//   with 2 cores and other
//   tenants, the wall time follows the process's total CPU, and 2 shards
//   use ~2x one worker's (256 MiB capture: each shard re-reads every frame,
//   ~0.25 s; each isolate starts, ~0.2 s, and compiles the pipeline again;
//   the merge adds ~0.3 s on this thread).
//   Also measured and not kept: this thread reading the capture once and
//   copying each frame into its shard's transferred input chunk, per batch
//   (1 GiB, 2 workers, 3 interleaved pairs: 12.4 s CPU against 8.0 s): the
//   copy and its bookkeeping cost ~400 ns a frame on this thread, more than
//   the ~200 ns a frame each extra shard spends parsing the capture, and
//   this thread, which also merges, became the bottleneck. Nor a window in
//   shared memory that this thread fills once and the shards parse in place:
//   its upper bound, a shard reading the whole capture from a
//   SharedArrayBuffer instead of read(2) (256 MiB, shard 1 of 2, in
//   process), cost the same CPU (0.61-0.62 s against 0.59-0.66 s cold,
//   0.38-0.40 against 0.35-0.36 warm): read(2) into a 1 MiB buffer that
//   stays in cache is ~0.04 s a shard per 256 MiB, and this thread would
//   pay it once instead. Where the 2-worker run's extra CPU goes (1 GiB,
//   5.2 s against 3.2 s): each shard parses and keys every frame (~130 ns
//   a frame: 0.36 s/GiB, 0.14 of it shardOf) and feeds the rx loop's
//   checks; each extra isolate starts and compiles the pipeline (~0.13 s of
//   its own thread, and V8's compiler threads 0.6 s against 0.2 s); the
//   merge is ~150 ns a merged frame (Buffer or Uint8Array views and
//   Buffer.copy instead of set measured the same).
// - Check: what the shards report of state shared between flows
//   (shardability.ts). When the result could differ from one worker's, the
//   capture is replayed again on one worker, and the caller says why.
// - Stop: a shard's error, a corrupt capture (as one worker reports it) or
//   SIGINT/SIGTERM stops every shard and removes the temporary file.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { RouterConfig } from '../config/load.js';
import type { BackendStatus } from '../lb/lb-control.js';
import { ruleHits } from '../firewall/firewall.js';
import { LINKTYPE_ETHERNET } from '../pcap/link-type.js';
import { MemorySink, PcapngWriter, type ByteSink } from '../pcap/writer.js';
import { AtomicFileSink } from '../pcap/atomic-file-sink.js';
import { CaptureFormatError } from '../pcap/reader.js';
import { ManualClock } from '../pipeline/clock.js';
import type { CounterValue } from '../pipeline/counters.js';
import { TokenBucket } from '../pipeline/token-bucket.js';
import { ChunkMerger } from './chunk-merge.js';
import type { FrameChunk } from './frame-chunk.js';
import { openReplay, replayCaptureInterruptible, ReplayError, type ReplayOptions, type ReplaySummary } from './replay.js';
import { MAX_WORKERS, runtimeReason, staticReason } from './shardability.js';
import { Control, type ShardMessage, type ShardRecycle, type ShardResult, type ShardTask } from './shard-worker.js';

export interface ParallelReplay {
  summary: ReplaySummary;
  /** Workers the result came from: `workers`, or 1 when it fell back. */
  workers: number;
  /** Why it fell back to one worker. */
  fallback?: string;
}

/** Chunks of one shard, in order, and whoever waits for the next. */
class ShardChannel {
  readonly chunks: FrameChunk[] = [];
  private wake: (() => void) | undefined;
  constructor(
    readonly port: MessagePort,
    onProgress: ((frames: number) => void) | undefined,
    onFormatError: (e: CaptureFormatError) => void,
  ) {
    port.on('message', (m: ShardMessage) => {
      if ('chunk' in m) this.chunks.push(m.chunk);
      else if ('progress' in m) onProgress?.(m.progress);
      else {
        // The shard's capture error, as one worker reports it (the message already names the offset).
        const e = new CaptureFormatError(m.formatError.offset, '', '');
        e.message = m.formatError.message;
        onFormatError(e);
      }
      this.wake?.();
    });
  }
  async next(failed: Promise<never>): Promise<FrameChunk> {
    while (this.chunks.length === 0) await Promise.race([new Promise<void>((r) => (this.wake = r)), failed]);
    this.wake = undefined;
    return this.chunks.shift()!;
  }
  /** Hands a chunk's buffers back to the shard to fill again. */
  recycle(chunk: FrameChunk): void {
    this.port.postMessage({ blocks: chunk.blocks, index: chunk.index } satisfies ShardRecycle, [chunk.blocks, chunk.index]);
  }
}

function addCounters(into: Record<string, CounterValue>, from: Record<string, CounterValue>): void {
  for (const [k, v] of Object.entries(from)) {
    const t = (into[k] ??= { packets: 0, bytes: 0 });
    t.packets += v.packets;
    t.bytes += v.bytes;
  }
}

/** True when one bucket, taking at every shard's take times in time order, grants what each shard's own bucket granted. */
function oneBucketAgrees(config: RouterConfig, results: readonly ShardResult[]): boolean {
  const times: number[] = [];
  for (const r of results) {
    if (r.icmpGranted.includes(0)) return false;
    times.push(...r.icmpTakes);
  }
  times.sort((a, b) => a - b);
  const clock = new ManualClock();
  const bucket = new TokenBucket(config.icmp.ratePerSecond, config.icmp.burst, clock);
  for (const t of times) {
    clock.set(t);
    if (!bucket.take()) return false;
  }
  return true;
}

function sumBackends(results: readonly ShardResult[]): BackendStatus[] | undefined {
  const first = results[0].lb;
  if (first === undefined) return undefined;
  return first.map((b, i) => {
    const s = { ...b };
    for (const r of results.slice(1)) {
      const o = r.lb![i];
      s.newFlows += o.newFlows;
      s.activeFlows += o.activeFlows;
      s.packets += o.packets;
      s.bytes += o.bytes;
    }
    return s;
  });
}

/** The capture as the shards open it: its path, or its bytes copied once into shared memory. */
function sharedInput(input: string | Uint8Array): string | Uint8Array {
  if (typeof input === 'string') return input;
  const shared = new Uint8Array(new SharedArrayBuffer(input.length));
  shared.set(input);
  return shared;
}

export async function replayParallel(config: RouterConfig, input: string | Uint8Array, output: string | ByteSink, workers: number, opts: ReplayOptions = {}): Promise<ParallelReplay> {
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new ReplayError(`--workers must be an integer in 1..${MAX_WORKERS} (got ${workers})`);
  if (workers === 1) return { summary: await replayCaptureInterruptible(config, input, output, opts), workers: 1 };
  const why = staticReason(config, opts.trace !== undefined);
  if (why !== undefined) return { summary: await replayCaptureInterruptible(config, input, output, opts), workers: 1, fallback: why };

  // Checks the options and the capture's header here, with one worker's messages; the shards read the capture themselves.
  const { inPort, reader } = openReplay(config, input, output, opts);
  reader.close();
  // A file appears only when complete; a caller's sink gets the bytes only when no fallback replaces them.
  const outSink: AtomicFileSink | MemorySink = typeof output === 'string' ? new AtomicFileSink(output) : new MemorySink();
  const writer = new PcapngWriter(outSink, { interfaces: config.ports.map((p) => ({ name: p.name, linkType: LINKTYPE_ETHERNET })), nanosecond: true });
  writer.flush(); // the section and interface blocks, before the merged packet blocks
  const merger = new ChunkMerger(outSink);

  const control = new Int32Array(new SharedArrayBuffer(Control.WORDS * 4));
  const stop = () => {
    Atomics.store(control, Control.ABORT, 1);
    Atomics.notify(control, Control.MERGED);
  };
  // Interrupted (Ctrl-C, kill): the shards stop, the partial output is removed, then the signal takes its course.
  let signalled: NodeJS.Signals | undefined;
  let interrupt: (sig: NodeJS.Signals) => void = () => {};
  const interrupted = new Promise<never>((_, reject) => {
    interrupt = (sig) => {
      signalled = sig;
      reject(new ReplayError(`interrupted (${sig})`));
    };
  });
  interrupted.catch(() => {});
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, interrupt);

  // A corrupt capture: every shard stops at the same record and says so.
  let badCapture: (e: CaptureFormatError) => void = () => {};
  const captureFailed = new Promise<never>((_, reject) => (badCapture = reject));
  captureFailed.catch(() => {});

  const pool = new Piscina({ filename: new URL('./shard-worker.js', import.meta.url).href, minThreads: workers, maxThreads: workers, concurrentTasksPerWorker: 1, idleTimeout: 1000 });
  const shared = sharedInput(input);
  const every = opts.progressEvery ?? 100_000;
  const channels: ShardChannel[] = [];
  const tasks: Promise<ShardResult | undefined>[] = [];
  for (let i = 0; i < workers; i++) {
    const { port1, port2 } = new MessageChannel();
    channels.push(new ShardChannel(port1, i === 0 ? opts.onProgress : undefined, badCapture));
    const task: ShardTask = {
      config,
      promiscuous: opts.promiscuous === true,
      port: port2,
      input: shared,
      inPort,
      shard: i,
      shards: workers,
      control,
      progressEvery: i === 0 && opts.onProgress ? every : 0,
    };
    tasks.push(pool.run(task, { transferList: [port2] }) as Promise<ShardResult | undefined>);
  }
  // The first task to fail, or a signal, ends the replay (a worker error, not a packet: packets are counted drops).
  const failed = Promise.race([interrupted, captureFailed, ...tasks.map((t) => t.then(() => new Promise<never>(() => {})))]) as Promise<never>;
  failed.catch(() => {});

  let results: ShardResult[];
  try {
    // Chunk c of every shard covers the same batches: merge them as they come, then give the shards their credit back.
    for (let done = false; !done; ) {
      const chunks: FrameChunk[] = [];
      for (const c of channels) chunks.push(await c.next(failed));
      merger.merge(chunks);
      done = chunks[0].last;
      channels.forEach((c, i) => c.recycle(chunks[i]));
      Atomics.add(control, Control.MERGED, 1);
      Atomics.notify(control, Control.MERGED);
    }
    merger.flush();
    results = (await Promise.race([interrupted, captureFailed, Promise.all(tasks)])) as ShardResult[];
    writer.close();
  } catch (e) {
    stop();
    if (outSink instanceof AtomicFileSink) outSink.abort();
    try {
      writer.close();
    } catch {
      // the first error is the one to report
    }
    throw e;
  } finally {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.removeListener(sig, interrupt);
    for (const c of channels) c.port.close();
    await pool.destroy();
    if (signalled !== undefined) process.kill(process.pid, signalled);
  }
  const fallback =
    runtimeReason(results, config.conntrack.capacity) ?? (oneBucketAgrees(config, results) ? undefined : 'ICMP errors would have been rate-limited by one limit for all flows');
  if (fallback !== undefined) return { summary: await replayCaptureInterruptible(config, input, output, opts), workers: 1, fallback };
  if (outSink instanceof MemorySink && typeof output !== 'string') {
    output.write(outSink.bytes());
    output.close?.();
  }

  const counters: Record<string, CounterValue> = {};
  for (const r of results) addCounters(counters, r.counters);
  const framesByPort = config.ports.map((_, i) => results.reduce((n, r) => n + r.txFrames[i], 0));
  const bytesByPort = config.ports.map((_, i) => results.reduce((n, r) => n + r.txBytes[i], 0));
  const framesOut = framesByPort.reduce((a, b) => a + b, 0);
  // Every shard read the whole capture: its own figures are the first shard's.
  const capture = results[0];
  const summary: ReplaySummary = { framesRead: capture.framesRead, framesOut, skipped: capture.skipped, ports: {}, counters };
  if (config.firewall && results[0].firewallHits) {
    const hits = results[0].firewallHits.slice();
    for (const r of results.slice(1)) r.firewallHits!.forEach((h, i) => (hits[i] += h));
    summary.firewall = ruleHits(config.firewall, hits);
  }
  const lb = sumBackends(results);
  if (lb) summary.lb = lb;
  config.ports.forEach((p, i) => (summary.ports[p.name] = { rxFrames: capture.framesIn[i], txFrames: framesByPort[i], txBytes: bytesByPort[i] }));
  return { summary, workers };
}
