// `replay --workers N`: the capture sharded by flow across N shards, each
// flow's frames on one (shard-key.ts), and their output put into OUT.
//
// - Read (every shard, itself): each shard reads and parses the whole
//   capture, cuts the batches a one-worker replay cuts (their frames, their
//   1 ms window, the clock each runs at, the frames skipped), keys every
//   frame and keeps only its own (shard-worker.ts; the only shard that
//   routes, as with --workers 2 by default, keeps all, unkeyed); it runs every batch,
//   maybe empty, so its timers run at the same times. Shards 1..N-1 are
//   piscina tasks. Reading a file in the page cache again costs a shard
//   ~0.1 s/GiB of read(2), and parsing and keying ~0.3 s/GiB: less than
//   this thread keying every frame and writing where each shard's frames
//   are (a frame index, the design before this one), which with 2 workers on
//   the project VM took as much CPU as routing every flow did.
// - Flows: shard 0 runs on this thread only when it has a share of them
//   (mainShare eighths of a pool shard's share, shard-key.ts); by default it
//   has none, and this thread reads nothing: it only merges and writes, and
//   pool shard 1 takes what has no flow key (ARP, IPv6), so the neighbor
//   table learns and answers once.
// - Write: every shard keeps what its router sent as pcapng blocks, a chunk
//   per CHUNK_INPUT_BYTES of capture (the same batches in every shard); this
//   thread merges chunk c of all shards (each batch by timestamp, ties to
//   the lower shard: chunk-merge.ts; runs of blocks copied, nothing decoded
//   but the timestamps, nothing allocated per frame) into OUT, the file a
//   one-worker replay writes, byte for byte. A chunk that alone holds its
//   batches' output (one shard sent all of it) is written from the shard's
//   buffer, not copied here, and goes back to the shard once written. The
//   kernel's copy into the page cache is the largest single cost of a
//   replay (with one worker it is on its only thread): with one shard
//   routing every flow (--workers 2 by default) this thread writes the
//   file while the shard routes the next chunks; else it leaves the
//   write(2) calls to libuv's thread pool, in order (background-sink.ts). A shard stays at most
//   MAX_IN_FLIGHT chunks ahead of the merge (ONE_ROUTER_IN_FLIGHT when it is the only one; it waits on its control word)
//   and the merge MAX_QUEUED_BYTES ahead of the background writes: memory
//   stays bounded.
// - Check: what the shards report of state shared between flows
//   (shardability.ts). When the result could differ from one worker's, the
//   capture is replayed again on one worker, and the caller says why.
// - Stop: a shard's error, a corrupt capture (the shard that reads it
//   reports the error one worker gives) or SIGINT/SIGTERM stops every shard
//   and removes the temporary file.
//
// - Start: the CLI starts the piscina pool as soon as it has parsed --workers
//   (shard-pool.ts), so the shard's thread boots and loads its modules while
//   this thread loads the replay command and the config; before, the pool
//   was made here and the shard ran its first chunk 110-270 ms later.
//
// Measured this session (Intel Xeon VM, 2 vCPUs, 1 GiB bench capture, every
// run after the guest had handed freed memory back to the host: see
// bench/replay/parallel.ts; the machine shared, load 2.5-4.5, so CPU times
// per thread, medians of alternating runs):
// - The VM, not the replay, made runs bimodal: its balloon hands freed 2 MiB
//   blocks back to the host within about a second, and a 1 GiB write into
//   the page cache then cost 1.3-1.7 s of system CPU in 1 MiB writes and
//   2.4-2.5 s in 4 MiB writes, against 0.23-0.26 s in 64 or 128 KiB writes
//   (dd). One worker wrote OUT 4 MiB at a time; now every OUT write(2) is at
//   most 128 KiB (atomic-file-sink.ts): one worker 3.10 -> 1.90 s CPU
//   (wall 3.25 -> 1.98 s). --workers 2 already wrote 512 KiB pieces and
//   gained little (this thread 0.67-0.82 s, most of it start-up).
// - --workers 2 now (7 alternating rounds, load 3.6-4.9): the shard
//   1.16-1.24 s and this thread 0.62-0.70 s of CPU, against 1.42-1.53 s for
//   one worker's only thread: about 1.2x with a free core per busy thread,
//   a projection; on the shared machine the wall medians were 2.32 s
//   against 2.50 s. The shard still does all of one worker's work but the
//   write: reading and parsing the capture (in a one-worker --cpu-prof,
//   read(2) 10%, parsing and filling batches 18%, the graph's nodes ~22%,
//   encoding the blocks ~9%, write(2) 21% in 4 MiB writes, start-up and GC
//   most of the rest). Splitting by flow repeats the read and parse in
//   every shard; what would balance two
//   threads is a split by stage (this thread reading, parsing and filling
//   batches in shared memory, the shard routing and encoding them). Not
//   done. Kept: the 128 KiB writes; the early pool (wall 2.60 -> 2.45 s,
//   medians of 6, load 2.3-3.4: within noise; the shard starts 0.06-0.17 s
//   after the config is read, was 0.28-0.31 s); 16 chunks in flight for the one
//   shard (shard-worker.ts: ONE_ROUTER_IN_FLIGHT).
//   Dropped: the main thread taking a share of the flows (main share 4/8
//   and 8/8: its thread 1.7-1.9 s, it reads and parses the whole capture
//   too) and three shards on the pool (each 0.8-1.2 s: every shard reads and
//   parses all of it); the shard reading its capture in 128 or 256 KiB
//   windows instead of 1 MiB (total CPU 2.14 / 2.07 vs 2.14 s).
//
// Split by stage, tried and not kept (twelfth session, AMD EPYC VM, 2 vCPUs,
// load 5.5-9; 1 GiB bench with BENCH_REPLAY_PEER = this build with the split
// turned off, alternating in one run; 512 MiB capture run directly for
// per-thread CPU). For the one routing shard, this thread read the capture
// into 256 KiB or 1 MiB SharedArrayBuffer windows (InputWindow taking a new
// window from a pool whenever it read on, a window free again once the shard
// sent back the output of the last chunk that used it), parsed it with
// CaptureInput.rx's rules (window, room, skips, framesIn, progress) into a
// Float64Array index per chunk (window, offset, caplen, port, tsSec, tsNsec
// per frame; transferred and sent back), at most STAGE_AHEAD chunks ahead of
// the merge; the shard copied each batch's frames from the windows with
// FrameCopier (one native call per batch), routed and encoded. Output and
// counters stayed byte for byte one worker's (test/replay/ passed, also with
// 4 KiB windows, 1 chunk ahead). It moved the critical path, not shortened
// it: on this VM this thread is already the busier one without it (512 MiB:
// main 0.70-0.84 s, shard 0.56-0.70 s of CPU; its start-up's module loading
// and the write(2)s into the page cache cost more here than on the last
// VM), and with it main took 0.87-0.92 s, the shard 0.41-0.47 s. Bench
// (medians of 5, split vs not): 8 chunks ahead, 1 MiB windows, pushFrame:
// wall 7.5 vs 5.2 s, total CPU 3.58 vs 3.03 s (the shard's copies came from
// windows another core filled 4 MiB before); 2 ahead, 256 KiB windows,
// FrameCopier: wall 4.5 vs 4.3 s, busiest thread 1.3 vs 1.3 s, total CPU
// 2.74 vs 2.66 s; the same with the file written on libuv's pool
// (background-sink.ts, to take the write off this thread): wall 5.2 vs 4.1
// s, total CPU 3.52 vs 2.73 s. Parsing alone costs this thread more than
// the shard saves: the feed loop took 0.23-0.40 s per 512 MiB alone against
// 0.09-0.11 s for the reader's bare loop. A split worth trying next would
// move work off this thread, not onto it (its start-up: ~0.3 s of module
// loading in the profile; the per-chunk postMessage with transfers, 0.13-
// 0.22 s of the shard's profile, against a shared ring and a control word).
//
// Measured before and not kept (earlier sessions, project VM): shards
// writing OUT themselves at ranges they reserve (two threads writing one
// file: the kernel takes the writes one at a time; this session, 512 MiB
// by two threads at two offsets took no less CPU than by one); writing the shards' chunks
// as they come without the merge; writing OUT from the piscina pool; a larger
// young generation for the shards; this thread copying each frame into its
// shard's input chunk (~400 ns a frame here); this thread keying every frame
// and sending each shard an index of its frames' positions, which the shard
// read again (this thread 0.95 s CPU on the 1 GiB bench, against 0.42 s
// merging only); a shared-memory read window the shards parse in place
// (read(2) of a 1 MiB window that stays in cache is ~0.04 s per 256 MiB: no
// gain).
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { RouterConfig } from '../config/load.js';
import type { BackendStatus } from '../lb/lb-control.js';
import { ruleHits } from '../firewall/firewall.js';
import { LINKTYPE_ETHERNET } from '../pcap/link-type.js';
import { CaptureFormatError } from '../pcap/reader.js';
import { MemorySink, PcapngWriter, type ByteSink } from '../pcap/writer.js';
import { AtomicFileSink } from '../pcap/atomic-file-sink.js';
import { ManualClock } from '../pipeline/clock.js';
import type { CounterValue } from '../pipeline/counters.js';
import { TokenBucket } from '../pipeline/token-bucket.js';
import { BackgroundSink } from './background-sink.js';
import { ChunkMerger, MERGE_BUFFER_BYTES } from './chunk-merge.js';
import type { FrameChunk } from './frame-chunk.js';
import { openReplay, replayCaptureInterruptible, ReplayError, type ReplayOptions, type ReplaySummary } from './replay.js';
import { MAX_WORKERS, runtimeReason, staticReason } from './shardability.js';
import { MAX_MAIN_SHARE } from './shard-key.js';
import { startShardPool, type ShardPool } from './shard-pool.js';
import { Control, MAX_IN_FLIGHT, ONE_ROUTER_IN_FLIGHT, ShardRouter, type ShardMessage, type ShardOutcome, type ShardRecycle, type ShardResult, type ShardSplit, type ShardTask, type ToShard } from './shard-worker.js';

export { CHUNK_INPUT_BYTES, MAX_IN_FLIGHT } from './shard-worker.js';

/**
 * The main thread's share of the flows by default (shard-key.ts: in eighths
 * of a pool shard's): none. It merges the whole output and hands it to the
 * file's writes; with flows of its own it would also read and parse the
 * whole capture, as every shard does, which on a 2-vCPU machine is CPU the
 * shards and the writes need.
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
  /** Capture frames the shard had read when it sent its last chunk. */
  framesRead = 0;
  private wake: (() => void) | undefined;
  constructor(readonly port: MessagePort) {
    port.on('message', (m: ShardMessage) => {
      this.chunks.push(m.chunk);
      this.framesRead = m.framesRead;
      this.wake?.();
    });
  }
  async next(failed: Promise<never>): Promise<FrameChunk> {
    while (this.chunks.length === 0) await Promise.race([new Promise<void>((r) => (this.wake = r)), failed]);
    this.wake = undefined;
    return this.chunks.shift()!;
  }
  /** Hands a merged chunk's buffers back to the shard to fill again. */
  recycle(chunk: FrameChunk): void {
    this.port.postMessage({ recycle: { blocks: chunk.blocks, index: chunk.index } } satisfies ToShard, [chunk.blocks, chunk.index]);
  }
}

/** A pool shard's report of a corrupt capture, as the error one worker throws (the CLI names the file and exits 1). */
function formatError(e: { offset: number; message: string }): CaptureFormatError {
  const err = new CaptureFormatError(e.offset, '', '');
  err.message = e.message;
  return err;
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

/**
 * A parallel replay of `input` into `output`. `pool`, when given, is a pool
 * started early for these workers (shard-pool.ts): this function owns it and
 * destroys it, used or not; without one it starts its own.
 */
export async function replayParallel(config: RouterConfig, input: string | Uint8Array, output: string | ByteSink, workers: number, opts: ReplayOptions = {}, pool?: ShardPool): Promise<ParallelReplay> {
  let mainShare: number;
  let why: string | undefined;
  try {
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new ReplayError(`--workers must be an integer in 1..${MAX_WORKERS} (got ${workers})`);
    if (pool !== undefined && pool.options.maxThreads !== workers - 1) throw new Error(`parallel replay: a pool of ${pool.options.maxThreads} threads for ${workers} workers`);
    mainShare = mainShareOf(opts);
    why = workers === 1 ? undefined : staticReason(config, opts.trace !== undefined);
  } catch (e) {
    await pool?.destroy();
    throw e;
  }
  if (workers === 1 || why !== undefined) {
    await pool?.destroy();
    const summary = await replayCaptureInterruptible(config, input, output, opts);
    return why === undefined ? { summary, workers: 1 } : { summary, workers: 1, fallback: why };
  }
  try {
    return await replayShards(config, input, output, workers, opts, mainShare, pool);
  } catch (e) {
    // Failed before its pool was made (a bad OUT, say): the early pool goes too (destroy() twice is harmless).
    await pool?.destroy();
    throw e;
  }
}

async function replayShards(config: RouterConfig, input: string | Uint8Array, output: string | ByteSink, workers: number, opts: ReplayOptions, mainShare: number, early: ShardPool | undefined): Promise<ParallelReplay> {
  // Checks the options and the capture's header, with one worker's messages; this thread reads the capture, once.
  const { inPort, reader } = openReplay(config, input, output, opts);
  // A file appears only when complete; a caller's sink gets the bytes only when no fallback replaces them.
  const outSink: AtomicFileSink | MemorySink = typeof output === 'string' ? new AtomicFileSink(output) : new MemorySink();
  const writer = new PcapngWriter(outSink, { interfaces: config.ports.map((p) => ({ name: p.name, linkType: LINKTYPE_ETHERNET })), nanosecond: true });
  writer.flush(); // the section and interface blocks, before the merged packet blocks
  // With one shard routing every flow (--workers 2, this thread routing none) this thread has nothing to do but hand
  // that shard's chunks to the file, and writes them itself while the shard routes the next ones: the same overlap,
  // without a round trip through libuv's pool per chunk (total CPU 1.94 vs 2.05 s on the 1 GiB bench capture, medians
  // of 5 alternating runs, load 7-9). When it routes flows too, or merges several shards' blocks, a file is written on
  // the pool, off this thread (background-sink.ts). Memory is written here.
  const oneRouter = mainShare === 0 && workers === 2;
  const background = outSink instanceof AtomicFileSink && !oneRouter ? new BackgroundSink(outSink.descriptor, MERGE_BUFFER_BYTES, outSink.path) : undefined;
  const merger = new ChunkMerger(background ?? outSink);

  const control = new Int32Array(new SharedArrayBuffer((Control.MERGED + workers) * 4));
  const stop = () => {
    Atomics.store(control, Control.ABORT, 1);
    for (let s = 1; s < workers; s++) Atomics.notify(control, Control.MERGED + s);
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

  // Shard 0 routes flows here only when given a share of them; else this thread reads nothing and only merges.
  const split: ShardSplit = { shards: workers, mainShare, keyless: mainShare > 0 ? 0 : 1 };
  const every = opts.progressEvery ?? 100_000;
  const onProgress = opts.onProgress;
  let own: ShardRouter | undefined;
  if (mainShare > 0) own = new ShardRouter(config, opts.promiscuous === true, reader, inPort, { shard: 0, ...split }, onProgress && ((n) => n % every === 0 && onProgress(n)));
  else reader.close();
  // Shards 1..N-1 on the pool.
  const pool = early ?? startShardPool(workers);
  const shared = sharedInput(input);
  const channels: ShardChannel[] = [];
  const tasks: Promise<ShardOutcome>[] = [];
  for (let s = 1; s < workers; s++) {
    const { port1, port2 } = new MessageChannel();
    channels.push(new ShardChannel(port1));
    const task: ShardTask = { config, promiscuous: opts.promiscuous === true, inPort, port: port2, input: shared, shard: s, split, control, inFlight: oneRouter ? ONE_ROUTER_IN_FLIGHT : MAX_IN_FLIGHT };
    tasks.push(pool.run(task, { transferList: [port2] }) as Promise<ShardOutcome>);
  }
  // The first task to fail, or a signal, ends the replay (a worker error, not a packet: packets are counted drops); a corrupt
  // capture ends it with the reader's error, as one worker gives it.
  const failed = Promise.race([
    interrupted,
    ...tasks.map((t) =>
      t.then((r) => {
        if (r !== undefined && 'formatError' in r) throw formatError(r.formatError);
        return new Promise<never>(() => {});
      }),
    ),
  ]) as Promise<never>;
  failed.catch(() => {});

  const ownChunks: FrameChunk[] = [];
  const ownSpare: ShardRecycle[] = [];
  let reported = 0;
  // Progress from the first pool shard's reading, when this thread reads nothing.
  const progress = own === undefined && onProgress !== undefined ? (n: number) => {
    const at = n - (n % every);
    if (at > reported) onProgress((reported = at));
  } : undefined;
  let merged = 0;
  // Chunk c of every shard covers the same batches: merged together, then their buffers go back to be filled again.
  const mergeNext = async (): Promise<boolean> => {
    const chunks = own !== undefined ? [ownChunks.shift()!] : [];
    for (const c of channels) chunks.push(await c.next(failed));
    if (progress !== undefined) progress(channels[0].framesRead);
    const base = own !== undefined ? 0 : 1;
    // A chunk's buffers go back to its shard once the merge or the file's write is done with them.
    merger.merge(chunks, (i) => (i + base === 0 ? ownSpare.push({ blocks: chunks[0].blocks, index: chunks[0].index }) : channels[i + base - 1].recycle(chunks[i])));
    merged++;
    for (let s = 1; s < workers; s++) {
      Atomics.store(control, Control.MERGED + s, merged);
      Atomics.notify(control, Control.MERGED + s);
    }
    // The file's writes keep up, or this thread waits for them: memory stays bounded.
    if (background !== undefined) await Promise.race([background.below(MAX_QUEUED_BYTES), failed]);
    return chunks[0].last;
  };
  const allReady = () => ownChunks.length > 0 && channels.every((c) => c.chunks.length > 0);

  let results: ShardResult[];
  try {
    if (own === undefined) {
      while (!(await mergeNext()));
    } else {
      for (let posted = 1; ; posted++) {
        const chunk = own.nextChunk(ownSpare.pop());
        ownChunks.push(chunk);
        // A turn for the event loop: the shards' chunks come in, a signal or a failed shard is seen.
        await Promise.race([new Promise((r) => setImmediate(r)), failed]);
        // Merge what is ready; wait when too far ahead, and for everything at the end.
        while (posted > merged && (allReady() || posted - merged >= MAX_IN_FLIGHT || chunk.last)) await mergeNext();
        if (chunk.last) break;
      }
    }
    merger.flush();
    await background?.finish();
    const pooled = (await Promise.race([interrupted, Promise.all(tasks)])) as ShardOutcome[];
    results = own !== undefined ? [own.result()] : [];
    for (const r of pooled) {
      // A shard stopped or failed: the race above has already thrown, but say so rather than sum nothing.
      if (r === undefined || 'formatError' in r) throw new Error('parallel replay: a shard ended without its result');
      results.push(r);
    }
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
  // The capture's own figures: every shard read all of it.
  const capture = results[0].capture;
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
