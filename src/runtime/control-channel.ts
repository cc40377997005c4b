// How changes reach packet workers that never yield to their event loop: a
// MessagePort per worker carries the change, a word in shared memory says
// that one is waiting, and the worker takes it between two batches.
//
// A worker's run loop is synchronous (rx -> pipeline -> tx, again), so a
// 'message' event would never fire. Instead it reads the PUBLISHED word once
// per batch (one Atomics.load, nothing per packet); when it differs from the
// generation it applies, it drains the port with receiveMessageOnPort,
// applies every update in order between the two batches, stores the last
// generation in APPLIED and wakes whoever waits on it. The main thread posts
// first and raises the word after, so a worker that sees the word finds the
// message (postMessage enqueues before it returns); a worker that ever sees
// the word before the message just looks again next batch.
//
// Generations are one sequence for the whole dataplane: "every worker applies
// generation G" is then one comparison per worker, and a change that touches
// several tables (a reload) is one generation, so no batch sees half of it.
//
// A worker asleep in poll() forwards nothing, and it looks at PUBLISHED
// before its next batch whatever wakes it; so a change does not wait for it
// (as RCU counts an idle CPU as quiescent). The worker raises its IDLE word
// before it sleeps, looks at PUBLISHED once more (a change posted meanwhile
// is taken at once, not slept on), and lowers the word when it wakes. The
// main thread posts, raises PUBLISHED, then reads IDLE: if it is raised, the
// worker's next look at PUBLISHED comes after that store (all seq-cst), so
// no batch of that worker runs on the old tables. A call that changes
// tables then costs no wake-up of an idle worker, on a loaded machine up to
// a scheduler slice each (two workers, then the main thread woken again by
// the acknowledgement); the worker applies the change when it next wakes.
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Transferable } from 'node:worker_threads';

/** Int32 words of a worker's generation block. */
export const GenerationWord = {
  /** The newest generation posted to this worker (written by the main thread). */
  PUBLISHED: 0,
  /** The newest generation the worker has put in force (written by the worker). */
  APPLIED: 1,
  /** 1 while the worker sleeps between batches (idleWait): it runs no batch before it looks at PUBLISHED again. */
  IDLE: 2,
} as const;
export const GENERATION_WORDS = 3;

/** Anything a worker applies as one generation; `generation` is set by the channel. */
export interface GenerationMessage {
  generation: number;
}

/** What the worker side needs, sent in its WorkerInit (the port in the transfer list). */
export interface ReceiverInit {
  port: MessagePort;
  words: SharedArrayBuffer;
}

/** Atomics.waitAsync (Node 16+; ES2024, newer than this project's lib setting). */
type WaitAsync = (a: Int32Array, index: number, value: number, timeoutMs: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export class ChannelTimeoutError extends Error {
  constructor(generation: number, workers: readonly number[], ms: number) {
    super(`generation ${generation}: worker${workers.length > 1 ? 's' : ''} ${workers.join(', ')} did not apply it within ${ms} ms`);
    this.name = 'ChannelTimeoutError';
  }
}

interface Link {
  port: MessagePort;
  words: Int32Array;
  /** Resolves when the worker is gone: a dead worker applies nothing. */
  gone: Promise<void>;
  markGone: () => void;
  dead: boolean;
  /** Wakes the worker out of its idle poll() (its wake fd), so a change is taken at once rather than after up to an idle wait. */
  wake: (() => void) | undefined;
}

/** The main thread's end: posts generations to every worker and waits for them to be in force. */
export class ControlChannel {
  private readonly links: Link[] = [];
  private generation = 0;

  /** A new link for one worker: what to put in its WorkerInit and its transfer list. */
  addWorker(wake?: () => void): { init: ReceiverInit; transfer: Transferable[]; index: number } {
    const { port1, port2 } = new MessageChannel();
    const words = new SharedArrayBuffer(GENERATION_WORDS * 4);
    let markGone!: () => void;
    const gone = new Promise<void>((res) => (markGone = res));
    this.links.push({ port: port1, words: new Int32Array(words), gone, markGone, dead: false, wake });
    return { init: { port: port2, words }, transfer: [port2], index: this.links.length - 1 };
  }

  /** Worker `index` has exited: nobody waits for it any more. */
  workerGone(index: number): void {
    const link = this.links[index];
    if (link === undefined) return;
    link.dead = true;
    link.markGone();
  }

  /** The generation most recently posted (0: none since start). */
  get current(): number {
    return this.generation;
  }

  /** The oldest generation every live worker has in force (an idle worker has in force all that was published to it: it takes it before its next batch). */
  applied(): number {
    let min = this.generation;
    for (const l of this.links) if (!l.dead) min = Math.min(min, inForce(l.words));
    return min;
  }

  /**
   * Posts `message` to every worker as the next generation and resolves with
   * that generation once each live worker has applied it (between two of its
   * batches). Rejects with ChannelTimeoutError after `timeoutMs`; the message
   * stays posted (a stuck worker applies it when it gets to it).
   */
  async publish<M extends object>(message: M, timeoutMs = 5000): Promise<number> {
    const generation = ++this.generation;
    const full = { ...message, generation };
    for (const l of this.links) {
      if (l.dead) continue;
      l.port.postMessage(full);
      Atomics.store(l.words, GenerationWord.PUBLISHED, generation);
      // An idle worker takes it when it next wakes (nothing to wait for). One that does not mark itself idle may sleep without looking again: wake it.
      if (Atomics.load(l.words, GenerationWord.IDLE) === 0) l.wake?.();
    }
    await this.waitApplied(generation, timeoutMs);
    return generation;
  }

  /** Resolves when every live worker has applied `generation` (or a later one). */
  async waitApplied(generation: number, timeoutMs = 5000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (const l of this.links) {
      for (;;) {
        if (l.dead) break;
        // APPLIED read before the check, not after: a worker that applies between the two would
        // otherwise leave `seen` already at `generation`, and the wait below would sleep through
        // to its timeout for a change it missed (a 5 s Routes.Change in the ctl-roundtrip bench).
        const seen = Atomics.load(l.words, GenerationWord.APPLIED);
        if (inForce(l.words) >= generation) break;
        const left = deadline - performance.now();
        if (left <= 0) {
          const late = this.links.flatMap((k, i) => (!k.dead && inForce(k.words) < generation ? [i] : []));
          throw new ChannelTimeoutError(generation, late, timeoutMs);
        }
        // Woken by the worker's notify (a worker that goes idle applies what is pending first, so it notifies too); a worker that exits wakes us through `gone`.
        const w = waitAsync(l.words, GenerationWord.APPLIED, seen, left);
        if (w.async) await Promise.race([w.value, l.gone]);
      }
    }
  }

  close(): void {
    for (const l of this.links) l.port.close();
  }
}

/**
 * The generation a worker has in force: APPLIED, or while it is idle all
 * that was published to it (PUBLISHED is read first: whatever the main
 * thread posted before seeing IDLE raised is taken before the next batch).
 */
function inForce(words: Int32Array): number {
  const published = Atomics.load(words, GenerationWord.PUBLISHED);
  return Atomics.load(words, GenerationWord.IDLE) === 1 ? published : Atomics.load(words, GenerationWord.APPLIED);
}

/** The worker's end: checked once per batch, drained between batches. */
export class ControlReceiver<M extends GenerationMessage> {
  private readonly words: Int32Array;
  private appliedGeneration = 0;

  constructor(
    private readonly port: MessagePort,
    words: SharedArrayBuffer,
  ) {
    this.words = new Int32Array(words);
  }

  /** True when a newer generation has been posted than the one in force (one atomic load). */
  pending(): boolean {
    return Atomics.load(this.words, GenerationWord.PUBLISHED) !== this.appliedGeneration;
  }

  get applied(): number {
    return this.appliedGeneration;
  }

  /**
   * Runs `sleep` (the worker's idle wait) with the worker marked idle, so
   * that changes posted meanwhile do not wait for it; skips it when a change
   * is already pending (the caller takes it first). Call only between
   * batches, with everything pending applied: the mark says no batch runs
   * before the next look at PUBLISHED.
   */
  idleWait<T>(sleep: () => T, skipped: T): T {
    Atomics.store(this.words, GenerationWord.IDLE, 1);
    try {
      return this.pending() ? skipped : sleep();
    } finally {
      Atomics.store(this.words, GenerationWord.IDLE, 0);
    }
  }

  /**
   * Applies every message waiting on the port, in order, then publishes the
   * last generation applied and wakes the main thread. Call between batches.
   * Returns the number of messages applied.
   */
  drain(apply: (message: M) => void): number {
    let n = 0;
    for (;;) {
      const got = receiveMessageOnPort(this.port);
      if (got === undefined) break;
      const m = got.message as M;
      apply(m);
      this.appliedGeneration = m.generation;
      n++;
    }
    if (n > 0) {
      Atomics.store(this.words, GenerationWord.APPLIED, this.appliedGeneration);
      Atomics.notify(this.words, GenerationWord.APPLIED);
    }
    return n;
  }
}
