// `replay --workers N`: the capture sharded by flow across N routers, each
// flow's frames on one (shard-key.ts), and their output put into OUT.
//
// - Read (this thread, once): this thread parses the capture, cuts the
//   batches a one-worker replay cuts (their frames, their 1 ms window, the
//   clock each runs at, the frames skipped) and keys every frame. Shard 0's
//   frames go straight into its own batch: shard 0 runs here, so N workers
//   are this thread and N-1 piscina threads, not an idle main thread and N
//   more isolates each starting and compiling the pipeline. The other
//   shards' frames are written to their frame index (frame-index.ts:
//   position, length, port, time, 24 bytes a frame, and per batch the clock
//   and the count), a chunk per CHUNK_INPUT_BYTES of capture, transferred; a shard
//   reads only its own frames' bytes at those positions (indexed-input.ts)
//   and runs every batch, maybe empty, so its timers run at the same times.
//   Before, every shard parsed and keyed the whole capture (~130 ns a frame
//   each, 0.36 s/GiB).
// - Flows: shard 0 (this thread) routes mainShare eighths of a pool shard's
//   share of them (shard-key.ts), none by default: reading, keying and
//   indexing the whole capture is already about what a pool shard's routing
//   of all of them costs.
// - Write: every shard keeps what its router sent as pcapng blocks, a chunk
//   per index chunk (the same batches in every shard); this thread merges
//   chunk c of all shards (each batch by timestamp, ties to the lower shard:
//   chunk-merge.ts; runs of blocks copied, nothing decoded but the
//   timestamps, nothing allocated per frame) into OUT, the file a one-worker
//   replay writes, byte for byte. A chunk that alone holds its batches'
//   output (one shard sent all of it) is written from the shard's buffer,
//   not copied here, and goes back to the shard once written. A file's write(2) calls run on libuv's
//   thread pool, in order (background-sink.ts): the kernel's copy into the
//   page cache was the largest cost on this thread. This thread stays at
//   most MAX_IN_FLIGHT chunks ahead of the merge and MAX_QUEUED_BYTES ahead
//   of the file: memory stays bounded.
// - Check: what the shards report of state shared between flows
//   (shardability.ts). When the result could differ from one worker's, the
//   capture is replayed again on one worker, and the caller says why.
// - Stop: a shard's error, a corrupt capture (this thread reads it: the same
//   error one worker gives) or SIGINT/SIGTERM stops every shard and removes
//   the temporary file.
//
// Measured before and not kept (earlier sessions, project VM): shards
// writing OUT themselves at ranges they reserve (two threads writing one
// file: the kernel takes the writes one at a time; this session, 512 MiB
// by two threads at two offsets took no less CPU than by one); writing the shards' chunks
// as they come without the merge; writing OUT from the piscina pool; a larger
// young generation for the shards; this thread copying each frame into its
// shard's input chunk (~400 ns a frame here, against the index's few words);
// a shared-memory read window the shards parse in place (read(2) of a 1 MiB
// window that stays in cache is ~0.04 s per 256 MiB: no gain).
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { RouterConfig } from '../config/load.js';
import type { BackendStatus } from '../lb/lb-control.js';
import { ruleHits } from '../firewall/firewall.js';
import { LINKTYPE_ETHERNET } from '../pcap/link-type.js';
import { MemorySink, PcapngWriter, type ByteSink } from '../pcap/writer.js';
import { AtomicFileSink } from '../pcap/atomic-file-sink.js';
import { ManualClock } from '../pipeline/clock.js';
import type { CounterValue } from '../pipeline/counters.js';
import { TokenBucket } from '../pipeline/token-bucket.js';
import { CaptureInput } from './capture-input.js';
import { BackgroundSink } from './background-sink.js';
import { ChunkMerger, MERGE_BUFFER_BYTES } from './chunk-merge.js';
import type { FrameChunk } from './frame-chunk.js';
import { FrameIndexWriter, type IndexBuffers } from './frame-index.js';
import { interfaceMapper, openReplay, replayCaptureInterruptible, ReplayError, type ReplayOptions, type ReplaySummary } from './replay.js';
import { MAX_WORKERS, runtimeReason, staticReason } from './shardability.js';
import { MAX_MAIN_SHARE } from './shard-key.js';
import { Control, ShardRouter, type ShardMessage, type ShardRecycle, type ShardResult, type ShardTask, type ToShard } from './shard-worker.js';

/**
 * The main thread's share of the flows by default (shard-key.ts: in eighths
 * of a pool shard's): none. It reads, keys and indexes the whole capture and
 * merges and writes the whole output, which on a routed capture is about as
 * much CPU as a pool shard's routing of all the flows: with any flows of its
 * own too it is the thread the others wait for (1 GiB, 2 workers, AMD EPYC:
 * see bench/results/replay.md).
 */
export const DEFAULT_MAIN_SHARE = 0;

/** The main thread's share: the option, the environment (for measuring), or the default. */
function mainShareOf(opts: ReplayOptions): number {
  const env = process.env.DATAPLANE_REPLAY_MAIN_SHARE;
  const share = opts.mainShare ?? (env === undefined || env === '' ? DEFAULT_MAIN_SHARE : Number(env));
  if (!Number.isInteger(share) || share < 0 || share > MAX_MAIN_SHARE) {
    throw new ReplayError(`${opts.mainShare !== undefined ? 'mainShare' : 'DATAPLANE_REPLAY_MAIN_SHARE'} must be an integer in 0..${MAX_MAIN_SHARE} (got ${opts.mainShare ?? env})`);
  }
  return share;
}

/**
 * Output bytes the background writer may be behind before this thread waits
 * for it. Small on purpose, as CHUNK_INPUT_BYTES is: bytes a shard wrote
 * reach the kernel's copy into the page cache while they are still in the
 * CPU's cache.
 */
export const MAX_QUEUED_BYTES = 1 << 20;

/**
 * Capture bytes per chunk (of the index, and of the shards' output). Every
 * output byte is written by a shard, then read by the write(2) that copies
 * it into the page cache: what is in flight between the two (about
 * CHUNK_INPUT_BYTES x (MAX_IN_FLIGHT + a few), plus MAX_QUEUED_BYTES) must
 * stay in the CPU's cache, or both the shard's stores and the kernel's copy
 * go to DRAM. With 4 MiB chunks and 16 MiB queued (about 60 MiB in flight)
 * they did: on the 1 GiB bench, --workers 2 with 512 KiB chunks and 1 MiB
 * queued took 0.78x the CPU (user+sys 5.05 vs 6.45 s, system 1.9 vs 3.1 s)
 * and 0.82x the wall time of 4 MiB / 16 MiB (5 alternating rounds, medians,
 * load 13-17, AMD EPYC 2 vCPUs; a copy into 12 rotating 4 MiB buffers is 6x
 * slower here than into one, 421 vs 67 ms/GiB). 256 KiB and 1 MiB chunks
 * measured no better than 512 KiB. Per-chunk messages still
 * cost little at this size (about 2000 chunks per GiB).
 */
export const CHUNK_INPUT_BYTES = 512 << 10;
/** Chunks the main thread may be ahead of the merge: the memory bound (about CHUNK_INPUT_BYTES x this, per shard). */
export const MAX_IN_FLIGHT = 4;

export interface ParallelReplay {
  summary: ReplaySummary;
  /** Workers the result came from: `workers`, or 1 when it fell back. */
  workers: number;
  /** Why it fell back to one worker. */
  fallback?: string;
}

/** A task shard's port: the chunks it sent back, in order, and whoever waits for the next. */
class ShardChannel {
  readonly chunks: FrameChunk[] = [];
  /** Index buffers the shard has used, to fill again. */
  readonly spare: IndexBuffers[] = [];
  private wake: (() => void) | undefined;
  constructor(readonly port: MessagePort) {
    port.on('message', (m: ShardMessage) => {
      this.chunks.push(m.chunk);
      this.spare.push(m.used);
      this.wake?.();
    });
  }
  async next(failed: Promise<never>): Promise<FrameChunk> {
    while (this.chunks.length === 0) await Promise.race([new Promise<void>((r) => (this.wake = r)), failed]);
    this.wake = undefined;
    return this.chunks.shift()!;
  }
  send(m: ToShard, transfer: ArrayBuffer[]): void {
    this.port.postMessage(m, transfer);
  }
  /** Hands a merged chunk's buffers back to the shard to fill again. */
  recycle(chunk: FrameChunk): void {
    this.send({ recycle: { blocks: chunk.blocks, index: chunk.index } }, [chunk.blocks, chunk.index]);
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
  const mainShare = mainShareOf(opts);
  const why = staticReason(config, opts.trace !== undefined);
  if (why !== undefined) return { summary: await replayCaptureInterruptible(config, input, output, opts), workers: 1, fallback: why };

  // Checks the options and the capture's header, with one worker's messages; this thread reads the capture, once.
  const { inPort, reader } = openReplay(config, input, output, opts);
  // A file appears only when complete; a caller's sink gets the bytes only when no fallback replaces them.
  const outSink: AtomicFileSink | MemorySink = typeof output === 'string' ? new AtomicFileSink(output) : new MemorySink();
  const writer = new PcapngWriter(outSink, { interfaces: config.ports.map((p) => ({ name: p.name, linkType: LINKTYPE_ETHERNET })), nanosecond: true });
  writer.flush(); // the section and interface blocks, before the merged packet blocks
  // A file is written on libuv's thread pool, off this thread (background-sink.ts); memory is written here.
  const background = outSink instanceof AtomicFileSink ? new BackgroundSink(outSink.descriptor, MERGE_BUFFER_BYTES) : undefined;
  const merger = new ChunkMerger(background ?? outSink);

  const control = new Int32Array(new SharedArrayBuffer((Control.POSTED + workers) * 4));
  const stop = () => {
    Atomics.store(control, Control.ABORT, 1);
    for (let s = 1; s < workers; s++) Atomics.notify(control, Control.POSTED + s);
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

  // Shards 1..N-1 on the pool; shard 0 on this thread, between reading and merging.
  const pool = new Piscina({ filename: new URL('./shard-worker.js', import.meta.url).href, minThreads: workers - 1, maxThreads: workers - 1, concurrentTasksPerWorker: 1, idleTimeout: 1000 });
  const shared = sharedInput(input);
  const channels: ShardChannel[] = [];
  const tasks: Promise<ShardResult | undefined>[] = [];
  for (let s = 1; s < workers; s++) {
    const { port1, port2 } = new MessageChannel();
    channels.push(new ShardChannel(port1));
    const task: ShardTask = { config, promiscuous: opts.promiscuous === true, port: port2, input: shared, shard: s, control };
    tasks.push(pool.run(task, { transferList: [port2] }) as Promise<ShardResult | undefined>);
  }
  // The first task to fail, or a signal, ends the replay (a worker error, not a packet: packets are counted drops).
  const failed = Promise.race([interrupted, ...tasks.map((t) => t.then(() => new Promise<never>(() => {})))]) as Promise<never>;
  failed.catch(() => {});

  const own = new ShardRouter(config, opts.promiscuous === true);
  const index = new FrameIndexWriter(workers, mainShare);
  const every = opts.progressEvery ?? 100_000;
  const onProgress = opts.onProgress;
  const capture = new CaptureInput(reader, interfaceMapper(reader, config, inPort), config.ports.length, own.clock, onProgress && ((n) => n % every === 0 && onProgress(n)), index);
  own.attach(capture);
  const ownChunks: FrameChunk[] = [];
  const ownSpare: ShardRecycle[] = [];
  let posted = 0;
  let merged = 0;
  // Chunk c of every shard covers the same batches: merged together, then their buffers go back to be filled again.
  const mergeNext = async () => {
    const chunks = [ownChunks.shift()!];
    for (const c of channels) chunks.push(await c.next(failed));
    // A chunk's buffers go back to its shard once the merge or the file's write is done with them.
    merger.merge(chunks, (s) => (s === 0 ? ownSpare.push({ blocks: chunks[0].blocks, index: chunks[0].index }) : channels[s - 1].recycle(chunks[s])));
    merged++;
    // The file's writes keep up, or this thread waits for them: memory stays bounded.
    if (background !== undefined) await Promise.race([background.below(MAX_QUEUED_BYTES), failed]);
  };
  const allReady = () => ownChunks.length > 0 && channels.every((c) => c.chunks.length > 0);

  let results: ShardResult[];
  try {
    let cutAt = 0;
    for (;;) {
      own.step();
      if (!capture.done && reader.bytesRead - cutAt < CHUNK_INPUT_BYTES) continue;
      // The end of a chunk: its index to the shards, this shard's blocks kept for the merge.
      cutAt = reader.bytesRead;
      const last = capture.done;
      channels.forEach((c, i) => {
        const s = i + 1;
        const chunk = index.finish(s, last, c.spare.pop());
        c.send({ index: chunk }, [chunk.frames, chunk.batches]);
        Atomics.add(control, Control.POSTED + s, 1);
        Atomics.notify(control, Control.POSTED + s);
      });
      ownChunks.push(own.finishChunk(last, ownSpare.pop()));
      posted++;
      // A turn for the event loop: the shards' chunks come in, a signal or a failed shard is seen.
      await Promise.race([new Promise((r) => setImmediate(r)), failed]);
      // Merge what is ready; wait when too far ahead, and for everything at the end.
      while (posted > merged && (allReady() || posted - merged >= MAX_IN_FLIGHT || last)) await mergeNext();
      if (last) break;
    }
    merger.flush();
    await background?.finish();
    results = [own.result(), ...((await Promise.race([interrupted, Promise.all(tasks)])) as ShardResult[])];
    writer.close();
  } catch (e) {
    stop();
    // No write may be under way when the file is closed and removed.
    await background?.abandon();
    if (outSink instanceof AtomicFileSink) outSink.abort();
    try {
      writer.close();
    } catch {
      // the first error is the one to report
    }
    throw e;
  } finally {
    reader.close();
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
  // The capture's own figures: this thread read all of it.
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
