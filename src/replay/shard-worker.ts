// One shard of a parallel replay, as a piscina task: a Router of its own (the
// same one replay runs on one worker) over the frames the main thread sends
// it, chunk by chunk, through a MessagePort. Each chunk holds whole batches,
// cut as one-worker replay cuts them, with the clock each runs at; the
// worker runs the shard's share of every batch (empty ones too: the ARP and
// reassembly timers and the flow sweep run per batch) and answers with what
// the router sent, batch for batch. The task ends when the port says so, with
// the counters and the use of state shared between flows (shardability.ts).
import type { MessagePort } from 'node:worker_threads';
import type { RouterConfig } from '../config/load.js';
import type { RxSource, TxSink } from '../io/port.js';
import type { BackendStatus } from '../lb/lb-control.js';
import { Batch } from '../pipeline/batch.js';
import { ManualClock, type Clock } from '../pipeline/clock.js';
import type { CounterValue } from '../pipeline/counters.js';
import { Router } from '../pipeline/router.js';
import { TokenBucket } from '../pipeline/token-bucket.js';
import { compileFib } from '../route/fib.js';
import { RunLoop } from '../runtime/run-loop.js';
import { ChunkReader, ChunkWriter } from './frame-chunk.js';
import type { ShardSharedUse } from './shardability.js';

export interface ShardTask {
  config: RouterConfig;
  promiscuous: boolean;
  port: MessagePort;
}

/** Main thread -> worker on the task's port. */
export type ShardMessage = { chunk: ArrayBuffer } | { end: true };
/** Worker -> main thread: the output of one chunk, in order. */
export interface ShardReply {
  out: ArrayBuffer;
  frames: number;
}

export interface ShardResult extends ShardSharedUse {
  counters: Record<string, CounterValue>;
  firewallHits?: number[];
  lb?: BackendStatus[];
  /** Clock times of the ICMP error rate limit's takes, and whether each got a token (1) or not (0). */
  icmpTakes: number[];
  icmpGranted: number[];
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

/** The frames of the current batch of a chunk, into the run loop's batch; sets the clock as replay does. */
class ChunkInput implements RxSource {
  readonly index = -1;
  reader: ChunkReader | undefined;
  constructor(private readonly clock: ManualClock) {}
  rx(batch: Batch): number {
    const r = this.reader!;
    const n = r.frames;
    for (let i = 0; i < n; i++) {
      r.nextFrame();
      batch.pushFrame(r.data, r.offset, r.length, r.port, r.tsSec, r.tsNsec);
    }
    this.clock.set(r.clockMs);
    return n;
  }
}

/** What the router sent in a batch, in time order (as CaptureOutput writes it), into the reply chunk. */
class ChunkOutput implements TxSink {
  readonly writer = new ChunkWriter();
  private readonly pending: number[] = [];
  constructor(private readonly clock: Clock) {}
  tx(_batch: Batch, slots: Uint16Array, count: number): number {
    for (let i = 0; i < count; i++) this.pending.push(slots[i]);
    return count;
  }
  flush(batch: Batch): void {
    const order = this.pending;
    order.sort((a, b) => batch.tsSec[a] - batch.tsSec[b] || batch.tsNsec[a] - batch.tsNsec[b]);
    const nowMs = this.clock.nowMs();
    for (const s of order) {
      let sec = batch.tsSec[s];
      let nsec = batch.tsNsec[s];
      if (sec === 0 && nsec === 0) {
        sec = Math.floor(nowMs / 1000);
        nsec = Math.round((nowMs - sec * 1000) * 1e6);
      }
      this.writer.addFrame(batch.arena, batch.start[s], batch.length[s], batch.txPort[s], sec, nsec);
    }
    order.length = 0;
  }
}

export default function replayShard(task: ShardTask): Promise<ShardResult> {
  const { config, port } = task;
  const { fib, nexthops } = compileFib(config);
  const batch = new Batch();
  const clock = new ManualClock();
  const router = new Router(config, fib, nexthops, { clock, batchCapacity: batch.capacity, maxFrame: batch.maxFrame, promiscuous: task.promiscuous });
  const bucket = new RecordingBucket(config.icmp.ratePerSecond, config.icmp.burst, clock);
  router.ctx.icmpLimiter = bucket;
  const input = new ChunkInput(clock);
  const output = new ChunkOutput(clock);
  const loop = new RunLoop({ router, batch, inputs: [input], outputs: config.ports.map(() => output) });
  const flows = router.natTables?.flows;
  let peakLive = 0;
  return new Promise((resolve, reject) => {
    port.on('message', (m: ShardMessage) => {
      try {
        if ('end' in m) {
          port.close();
          const f = flows?.workerStats();
          resolve({
            counters: router.counters.nonZero(),
            firewallHits: router.firewall ? Array.from(router.firewall.hits) : undefined,
            lb: router.lbControl?.status(),
            flows: f && { expired: f.expired, evicted: f.evicted, tableFull: f.tableFull, indexFull: f.indexFull, stale: f.stale, peakLive },
            icmpTakes: bucket.times,
            icmpGranted: bucket.granted,
          });
          return;
        }
        const reader = new ChunkReader(m.chunk);
        input.reader = reader;
        while (reader.nextBatch()) {
          output.writer.beginBatch(0);
          loop.step();
          if (flows !== undefined) peakLive = Math.max(peakLive, flows.live());
        }
        const frames = output.writer.frames;
        const out = output.writer.finish();
        port.postMessage({ out, frames } satisfies ShardReply, [out]);
      } catch (e) {
        port.close();
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
}
