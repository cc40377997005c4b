// The piscina pool a parallel replay's shards run in, started by the CLI as
// soon as it has parsed `--workers N` (N > 1): piscina's threads boot and load
// shard-worker.js (its import graph is the Router's, most of a replay's
// start-up) while this thread loads the replay command and the config. Made
// by replayParallel itself, the pool started only after all of that, and on
// the project VM its thread ran its first chunk 110-270 ms after the pool was
// made: time one worker spends routing. Whoever starts a pool hands it to
// replayParallel, which destroys it, or destroys it itself.
import { Piscina } from 'piscina';

export type ShardPool = Piscina;

/** A pool of `workers - 1` threads (the shards beside this thread), preloading the shard's module. */
export function startShardPool(workers: number): ShardPool {
  return new Piscina({ filename: new URL('./shard-worker.js', import.meta.url).href, minThreads: workers - 1, maxThreads: workers - 1, concurrentTasksPerWorker: 1, idleTimeout: 1000 });
}
