// `replay --workers N`: the capture sharded by flow across a piscina pool of
// N threads, each running its own Router, and the output merged back.
//
// - Split (this thread): the capture is read as one-worker replay reads it,
//   through the same CaptureInput into a Batch, so the batches (their frames,
//   their 1 ms capture-time window, the clock each runs at, the frames
//   skipped) are exactly a one-worker replay's. Each batch's frames go to the
//   shard of their flow (shard-key.ts); every shard gets every batch, maybe
//   empty, so its timers run at the same times.
// - Move: a chunk (many batches in one ArrayBuffer, transferred) per shard
//   per few MiB of capture; at most MAX_IN_FLIGHT chunks unanswered, so
//   memory stays bounded whatever the capture's size.
// - Merge: the shards answer chunk for chunk with what they sent, batch for
//   batch; each batch's frames are merged by timestamp (ties: lower shard
//   first), so a flow's packets keep their order (one flow, one shard) and
//   the file is the same on every run.
// - Check: what the shards report of state shared between flows
//   (shardability.ts). When the result could differ from one worker's, the
//   capture is replayed again on one worker, and the caller says why.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { RouterConfig } from '../config/load.js';
import type { BackendStatus } from '../lb/lb-control.js';
import { ruleHits } from '../firewall/firewall.js';
import { LINKTYPE_ETHERNET } from '../pcap/link-type.js';
import { MemorySink, PcapngWriter, type ByteSink } from '../pcap/writer.js';
import { AtomicFileSink } from '../pcap/atomic-file-sink.js';
import { Batch } from '../pipeline/batch.js';
import { ManualClock } from '../pipeline/clock.js';
import type { CounterValue } from '../pipeline/counters.js';
import { TokenBucket } from '../pipeline/token-bucket.js';
import { CaptureInput } from './capture-input.js';
import { ChunkReader, ChunkWriter } from './frame-chunk.js';
import { interfaceMapper, openReplay, replayCapture, ReplayError, type ReplayOptions, type ReplaySummary } from './replay.js';
import { shardOf } from './shard-key.js';
import { MAX_WORKERS, runtimeReason, staticReason } from './shardability.js';
import type { ShardMessage, ShardReply, ShardResult, ShardTask } from './shard-worker.js';

/** Capture bytes per chunk, all shards together: large enough that messages cost nothing, small enough to stream. */
const CHUNK_BYTES = 4 << 20;
/** Chunks sent and not yet merged: the memory bound (about CHUNK_BYTES x this, in and out). */
const MAX_IN_FLIGHT = 4;

export interface ParallelReplay {
  summary: ReplaySummary;
  /** Workers the result came from: `workers`, or 1 when it fell back. */
  workers: number;
  /** Why it fell back to one worker. */
  fallback?: string;
}

/** Replies of one shard, in chunk order, and whoever waits for the next. */
class ShardChannel {
  readonly replies: ShardReply[] = [];
  private wake: (() => void) | undefined;
  constructor(readonly port: MessagePort) {
    port.on('message', (r: ShardReply) => {
      this.replies.push(r);
      this.wake?.();
    });
  }
  async next(failed: Promise<never>): Promise<ShardReply> {
    while (this.replies.length === 0) await Promise.race([new Promise<void>((r) => (this.wake = r)), failed]);
    this.wake = undefined;
    return this.replies.shift()!;
  }
  send(m: ShardMessage, transfer?: ArrayBuffer[]): void {
    this.port.postMessage(m, transfer);
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

export async function replayParallel(config: RouterConfig, input: string | Uint8Array, output: string | ByteSink, workers: number, opts: ReplayOptions = {}): Promise<ParallelReplay> {
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new ReplayError(`--workers must be an integer in 1..${MAX_WORKERS} (got ${workers})`);
  if (workers === 1) return { summary: replayCapture(config, input, output, opts), workers: 1 };
  const why = staticReason(config, opts.trace !== undefined);
  if (why !== undefined) return { summary: replayCapture(config, input, output, opts), workers: 1, fallback: why };

  const { inPort, reader } = openReplay(config, input, output, opts);
  // A file appears only when complete; a caller's sink gets the bytes only when no fallback replaces them.
  const outSink: AtomicFileSink | MemorySink = typeof output === 'string' ? new AtomicFileSink(output) : new MemorySink();
  const writer = new PcapngWriter(outSink, { interfaces: config.ports.map((p) => ({ name: p.name, linkType: LINKTYPE_ETHERNET })), nanosecond: true });
  const framesByPort = new Float64Array(config.ports.length);
  const bytesByPort = new Float64Array(config.ports.length);
  let framesOut = 0;

  const pool = new Piscina({ filename: new URL('./shard-worker.js', import.meta.url).href, minThreads: workers, maxThreads: workers, concurrentTasksPerWorker: 1, idleTimeout: 1000 });
  const channels: ShardChannel[] = [];
  const tasks: Promise<ShardResult>[] = [];
  for (let i = 0; i < workers; i++) {
    const { port1, port2 } = new MessageChannel();
    channels.push(new ShardChannel(port1));
    const task: ShardTask = { config, promiscuous: opts.promiscuous === true, port: port2 };
    tasks.push(pool.run(task, { transferList: [port2] }) as Promise<ShardResult>);
  }
  // The first task to fail ends the replay (a worker error, not a packet: packets are counted drops).
  const failed = Promise.race(tasks.map((t) => t.then(() => new Promise<never>(() => {})))) as Promise<never>;
  failed.catch(() => {});

  /** Merges the replies to the oldest chunk into the output file. */
  const mergeOne = async (): Promise<void> => {
    const readers: ChunkReader[] = [];
    for (const c of channels) readers.push(new ChunkReader((await c.next(failed)).out));
    const left = new Int32Array(workers);
    const head = new Array<boolean>(workers);
    while (readers.every((r) => r.nextBatch())) {
      for (let i = 0; i < workers; i++) {
        left[i] = readers[i].frames;
        head[i] = left[i] > 0;
        if (head[i]) readers[i].nextFrame();
      }
      for (;;) {
        let best = -1;
        for (let i = 0; i < workers; i++) {
          if (!head[i]) continue;
          const r = readers[i];
          if (best < 0 || r.tsSec < readers[best].tsSec || (r.tsSec === readers[best].tsSec && r.tsNsec < readers[best].tsNsec)) best = i;
        }
        if (best < 0) break;
        const r = readers[best];
        writer.write(r.port, r.data.subarray(r.offset, r.offset + r.length), r.tsSec, r.tsNsec);
        framesByPort[r.port]++;
        bytesByPort[r.port] += r.length;
        framesOut++;
        if (--left[best] > 0) r.nextFrame();
        else head[best] = false;
      }
    }
  };

  const every = opts.progressEvery ?? 100_000;
  const onProgress = opts.onProgress;
  const clock = new ManualClock();
  const batch = new Batch();
  const capture = new CaptureInput(reader, interfaceMapper(reader, config, inPort), config.ports.length, clock, onProgress && ((n) => n % every === 0 && onProgress(n)));
  const chunks = Array.from({ length: workers }, () => new ChunkWriter(CHUNK_BYTES / workers));
  let inFlight = 0;
  const send = async () => {
    for (let i = 0; i < workers; i++) {
      const chunk = chunks[i].finish();
      channels[i].send({ chunk }, [chunk]);
    }
    if (++inFlight >= MAX_IN_FLIGHT) {
      await mergeOne();
      inFlight--;
    }
  };
  let results: ShardResult[];
  try {
    let pending = 0;
    do {
      batch.reset();
      capture.rx(batch);
      const at = clock.nowMs();
      for (const c of chunks) c.beginBatch(at);
      const { arena, start, length, rxPort, tsSec, tsNsec } = batch;
      for (let s = 0; s < batch.rxCount; s++) {
        chunks[shardOf(arena, start[s], length[s], workers)].addFrame(arena, start[s], length[s], rxPort[s], tsSec[s], tsNsec[s]);
        pending += length[s];
      }
      if (pending >= CHUNK_BYTES || chunks[0].batches >= 4096) {
        pending = 0;
        await send();
      }
    } while (!capture.done);
    if (chunks[0].batches > 0) await send();
    while (inFlight > 0) {
      await mergeOne();
      inFlight--;
    }
    for (const c of channels) c.send({ end: true });
    results = await Promise.all(tasks);
    writer.close();
  } catch (e) {
    if (outSink instanceof AtomicFileSink) outSink.abort();
    try {
      writer.close();
    } catch {
      // the first error is the one to report
    }
    throw e;
  } finally {
    reader.close();
    for (const c of channels) c.port.close();
    await pool.destroy();
  }

  const fallback =
    runtimeReason(results, config.conntrack.capacity) ?? (oneBucketAgrees(config, results) ? undefined : 'ICMP errors would have been rate-limited by one limit for all flows');
  if (fallback !== undefined) return { summary: replayCapture(config, input, output, opts), workers: 1, fallback };
  if (outSink instanceof MemorySink && typeof output !== 'string') {
    output.write(outSink.bytes());
    output.close?.();
  }

  const counters: Record<string, CounterValue> = {};
  for (const r of results) addCounters(counters, r.counters);
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
