// The one run loop: receive a burst from each input into one batch, run the
// batch through the router, and send what came out, port by port, in one
// burst each. Everything that moves packets drives it: the live workers (TAP
// and AF_PACKET ports), `replay` (a capture input and a capture writer),
// the test harness (scripted input, collecting output) and the pipeline
// benchmark (a repeating input, a discarding output). So what is tested and
// benchmarked is what runs live.
//
// Live, a round that received frames without filling the batch drained the
// rings: at a frame rate high enough the worker then naps for a short,
// adaptive while before the next round (rx-coalesce.ts: one wake-up per
// many frames, not one per frame); otherwise it keeps polling for a short
// adaptive spin window after the last frame (spin-window.ts: a reply or the
// next frame of a burst is then picked up without the 100-300 us wake-up of
// poll()), then sleeps in poll() for at most `idleWaitMs`. It goes to poll()
// straight after such a round, without a round that finds nothing first
// (poll() returns at once when a frame came meanwhile). It checks the stop
// flag between batches. A port whose
// interface disappears is marked down and counted; the loop keeps serving
// the others.
import { IO_TX_DROP_BYTES, IO_TX_DROPS, IoCounter, isPortGone } from '../io/native.js';
import type { RxSource, TxSink } from '../io/port.js';
import { Fate, type Batch } from '../pipeline/batch.js';
import type { Router } from '../pipeline/router.js';
import type { LoopTracer } from '../trace/loop-tracer.js';
import { Control, PORT_STAT_FIELDS, PortStat } from './port-stats.js';
import { DEFAULT_COALESCE_US, RxCoalescer } from './rx-coalesce.js';
import { DEFAULT_SPIN_MAX_US, SpinWindow } from './spin-window.js';

/** Frames a port's tx consumed without sending them (refused, link down, too long for it), by its counters. */
function txDropped(c: Float64Array): number {
  let n = 0;
  for (let k = 0; k < IO_TX_DROPS.length; k++) n += c[IO_TX_DROPS[k]];
  return n;
}

/** The bytes of those frames. */
function txDroppedBytes(c: Float64Array): number {
  let n = 0;
  for (let k = 0; k < IO_TX_DROP_BYTES.length; k++) n += c[IO_TX_DROP_BYTES[k]];
  return n;
}

export interface WaitFn {
  /** Sleeps for at most `ms` or until a port has frames. */
  (ms: number): void;
}

export interface LoopOptions {
  router: Router;
  batch: Batch;
  /** Where frames come from, polled in this order each round. */
  inputs: readonly RxSource[];
  /** Where frames leave, by router port index (undefined: this loop does not serve that port; its frames are counted as tx drops). */
  outputs: readonly (TxSink | undefined)[];
  /** Per-port figures (PORT_STAT_FIELDS per port), e.g. in shared memory for the main thread. */
  portStats?: Float64Array;
  /** Control words shared with the main thread (run() only). */
  control?: Int32Array;
  wait?: WaitFn;
  idleWaitMs?: number;
  /**
   * Never sleep: poll the ports in a loop, as DPDK's PMDs do. Costs a core
   * per worker; removes the wake-up latency of poll() (100-200 us on a VM).
   */
  busyPoll?: boolean;
  /**
   * Longest adaptive spin after the last frame before sleeping, in
   * microseconds (spin-window.ts; default DEFAULT_SPIN_MAX_US, 0: sleep at
   * once). Spinning starts only after a frame, so an idle worker still sleeps.
   */
  spinMaxUs?: number;
  /**
   * Sleeps `us` microseconds whatever arrives (the addon's napUs): with it,
   * run() coalesces receive wake-ups at high frame rates (rx-coalesce.ts).
   */
  nap?: (us: number) => void;
  /** Longest such nap, microseconds (default DEFAULT_COALESCE_US; 0: never nap). */
  coalesceMaxUs?: number;
  /** Frames a nap should collect (RxCoalescer targetFrames; default DEFAULT_TARGET_FRAMES). */
  coalesceTargetFrames?: number;
  /** Called once when a port's interface is gone (for a log line). */
  onPortGone?: (port: number, error: unknown) => void;
  tracer?: LoopTracer;
  /**
   * Seconds spent in step() on rounds that received frames, added up in
   * slot 0 (run() only): the main thread reads it for the metrics' busy
   * share. Two clock reads per round, none per packet.
   */
  busyTime?: Float64Array;
  /**
   * Changes from the control plane (control-channel.ts): pending() is asked
   * once per batch, and apply() runs between two batches when it says yes,
   * so a batch never sees half of a change.
   */
  updates?: { pending(): boolean; apply(): void };
}

export class RunLoop {
  readonly portStats: Float64Array;
  private readonly txSlots: Uint16Array[];
  private readonly txCounts: Int32Array;
  private readonly up: boolean[];
  private readonly inputUp: boolean[];
  /** The input step() reads first (it moves on by one each step). */
  private rxStart = 0;
  /** Bytes the current step received (receive coalescing weighs super-packets by them). */
  private rxBytes = 0;
  private readonly flushers: TxSink[];
  private tracer: LoopTracer | undefined;
  /** run()'s spin window and receive coalescing (for tests and stats). */
  spin: SpinWindow | undefined;
  coalesce: RxCoalescer | undefined;

  constructor(private readonly o: LoopOptions) {
    this.tracer = o.tracer;
    const ports = o.outputs.length;
    this.portStats = o.portStats ?? new Float64Array(ports * PORT_STAT_FIELDS);
    this.txSlots = Array.from({ length: ports }, () => new Uint16Array(o.batch.capacity));
    this.txCounts = new Int32Array(ports);
    this.up = o.outputs.map((p) => p !== undefined);
    this.inputUp = o.inputs.map(() => true);
    this.flushers = [...new Set(o.outputs.filter((p): p is TxSink => p?.flush !== undefined))];
    for (let i = 0; i < ports; i++) this.portStats[i * PORT_STAT_FIELDS + PortStat.UP] = this.up[i] ? 1 : 0;
  }

  private portGone(port: number, e: unknown): void {
    if (port >= 0 && port < this.up.length) {
      this.up[port] = false;
      this.portStats[port * PORT_STAT_FIELDS + PortStat.UP] = 0;
    }
    this.o.onPortGone?.(port, e);
  }

  /** Runs one receive-process-transmit round; returns the frames received. */
  step(): number {
    const { batch, router, inputs, outputs } = this.o;
    const tracer = this.tracer;
    const stats = this.portStats;
    batch.reset();
    this.rxBytes = 0;
    // Each step starts at the next input: read in a fixed order, a port
    // flooded enough to fill the batch every step starved the ones after it
    // (at the generator's full rate an AF_XDP lan never left room for wan,
    // so the sink's ARP reply went unread, the neighbor expired and the
    // router dropped everything for as long as the flood lasted).
    const count = inputs.length;
    const start = this.rxStart < count ? this.rxStart : 0;
    this.rxStart = start + 1 < count ? start + 1 : 0;
    for (let k = 0; k < count; k++) {
      const i = start + k < count ? start + k : start + k - count;
      if (!this.inputUp[i]) continue;
      const input = inputs[i];
      if (input.index >= 0 && input.index < this.up.length && !this.up[input.index]) continue;
      const first = batch.rxCount;
      try {
        input.rx(batch);
      } catch (e) {
        if (!isPortGone(e)) throw e;
        this.inputUp[i] = false;
        this.portGone(input.index, e);
      }
      if (batch.rxCount > first) this.countRx(input.index, first, batch.rxCount);
    }
    const received = batch.rxCount;
    const tracing = tracer !== undefined && tracer.active;
    if (tracing) tracer.received(batch);
    router.process(batch);
    const g = router.graph;
    const fates = g.fateByRxPort;
    for (let i = 0; i < outputs.length; i++) {
      const base = i * PORT_STAT_FIELDS;
      const f = i * Fate.COUNT;
      // Every received packet has its fate once the batch is done: what was not dropped, taken or queued left.
      stats[base + PortStat.RX_DROPPED] = fates[f + Fate.DROPPED];
      stats[base + PortStat.RX_LOCAL] = fates[f + Fate.LOCAL];
      stats[base + PortStat.RX_QUEUED] = fates[f + Fate.QUEUED];
      stats[base + PortStat.RX_FORWARDED] = stats[base + PortStat.RX_PACKETS] - fates[f + Fate.DROPPED] - fates[f + Fate.LOCAL] - fates[f + Fate.QUEUED];
    }
    if (g.outputCount > 0) this.transmit();
    if (tracing) tracer.finished(batch);
    return received;
  }

  /**
   * Counts received slots [first, end) against their ports. A source of one
   * port (index >= 0 writes that index to every slot's rxPort) is counted
   * once per burst; only a source of several ports is counted slot by slot.
   */
  private countRx(index: number, first: number, end: number): void {
    const { batch } = this.o;
    const stats = this.portStats;
    const length = batch.length;
    if (index >= 0) {
      let bytes = 0;
      for (let s = first; s < end; s++) bytes += length[s];
      const base = index * PORT_STAT_FIELDS;
      stats[base + PortStat.RX_PACKETS] += end - first;
      stats[base + PortStat.RX_BYTES] += bytes;
      this.rxBytes += bytes;
      return;
    }
    const rxPort = batch.rxPort;
    for (let s = first; s < end; s++) {
      const base = rxPort[s] * PORT_STAT_FIELDS;
      stats[base + PortStat.RX_PACKETS]++;
      stats[base + PortStat.RX_BYTES] += length[s];
      this.rxBytes += length[s];
    }
  }

  /**
   * Sends the graph's output, grouped by port, one burst per port. When
   * every packet leaves by one port (the usual burst) the graph's output
   * vector is that burst as it stands: no copy into a per-port vector, and
   * its port and byte count are the ones the graph found already.
   */
  private transmit(): void {
    const { batch, router, outputs } = this.o;
    const g = router.graph;
    const out = g.output;
    const total = g.outputCount;
    if (g.outputPort >= 0) {
      this.send(g.outputPort, out, total, g.outputBytes);
    } else {
      const txPort = batch.txPort;
      const slots = this.txSlots;
      const counts = this.txCounts;
      counts.fill(0);
      for (let j = 0; j < total; j++) {
        const s = out[j];
        const port = txPort[s];
        slots[port][counts[port]++] = s;
      }
      for (let i = 0; i < outputs.length; i++) if (counts[i] > 0) this.send(i, slots[i], counts[i], -1);
    }
    for (const f of this.flushers) f.flush?.(batch);
  }

  /** Sends slots[0, n) by port `i` and counts them; `knownBytes`: their bytes if summed already, else -1. */
  private send(i: number, slots: Uint16Array, n: number, knownBytes: number): void {
    const { batch, outputs } = this.o;
    const stats = this.portStats;
    const p = outputs[i];
    const base = i * PORT_STAT_FIELDS;
    if (p === undefined || !this.up[i]) {
      stats[base + PortStat.TX_DROPPED] += n;
      return;
    }
    // What the port consumed and dropped (kernel refused, link down) is
    // not sent: its own counters, read around the call, tell how much.
    const c = p.counters !== undefined && p.counters.length >= IoCounter.COUNT ? p.counters : undefined;
    const droppedBefore = c === undefined ? 0 : txDropped(c);
    const bytesBefore = c === undefined ? 0 : txDroppedBytes(c);
    let consumed = 0;
    try {
      consumed = p.tx(batch, slots, n);
    } catch (e) {
      if (!isPortGone(e)) throw e;
      this.portGone(i, e);
    }
    const dropped = c === undefined ? 0 : txDropped(c) - droppedBefore;
    let bytes = c === undefined ? 0 : bytesBefore - txDroppedBytes(c);
    if (consumed === n && knownBytes >= 0) bytes += knownBytes;
    else {
      const length = batch.length;
      for (let k = 0; k < consumed; k++) bytes += length[slots[k]];
    }
    stats[base + PortStat.TX_PACKETS] += consumed - dropped;
    stats[base + PortStat.TX_BYTES] += bytes;
    stats[base + PortStat.TX_DROPPED] += n - consumed + dropped;
  }

  /** Starts (a tracer) or stops (undefined) the packet trace; between batches only. */
  setTracer(tracer: LoopTracer | undefined): void {
    this.tracer = tracer;
  }

  /** Loops until the control STOP word is set. */
  run(): void {
    const { control, wait } = this.o;
    if (control === undefined || wait === undefined) throw new Error('RunLoop.run needs control words and a wait function');
    const idle = this.o.idleWaitMs ?? 50;
    const busy = this.o.busyPoll === true;
    const busyTime = this.o.busyTime;
    const updates = this.o.updates;
    const spin = new SpinWindow(this.o.spinMaxUs ?? DEFAULT_SPIN_MAX_US);
    const nap = this.o.nap;
    const coalesce = new RxCoalescer(nap === undefined ? 0 : (this.o.coalesceMaxUs ?? DEFAULT_COALESCE_US), this.o.coalesceTargetFrames);
    const full = this.o.batch.rxCapacity;
    // Frames and bytes of the full rounds since the coalescer last heard of any (it averages over time).
    let fullFrames = 0;
    let fullBytes = 0;
    this.spin = spin;
    this.coalesce = coalesce;
    while (Atomics.load(control, Control.STOP) === 0) {
      if (updates !== undefined && updates.pending()) updates.apply();
      const start = performance.now();
      const n = this.step();
      const now = performance.now();
      if (n > 0 && busyTime !== undefined) busyTime[0] += (now - start) / 1000;
      Atomics.add(control, Control.BATCHES, 1);
      if (busy) continue;
      // Sleep only when idle, past the spin window; ARP timers still run at least every `idle` ms.
      if (n > 0) {
        spin.received(now);
        // A full batch left frames in the rings: take them now.
        if (n >= full) {
          fullFrames += n;
          fullBytes += this.rxBytes;
          continue;
        }
        const us = coalesce.received(n + fullFrames, now, this.rxBytes + fullBytes);
        fullFrames = 0;
        fullBytes = 0;
        if (us > 0 && nap !== undefined) {
          nap(us);
          continue;
        }
        // The rings are drained: spin on, or sleep without a round that would find nothing.
        if (spin.windowMs > 0) continue;
      } else if (!coalesce.idle() && spin.keepSpinning(now)) continue;
      wait(idle);
      spin.slept();
    }
  }
}
