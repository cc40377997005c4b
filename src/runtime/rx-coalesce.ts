// Receive coalescing for a worker's run loop, NAPI-like: once frames come
// fast enough, the worker stops waking per frame. After a round that
// received frames (and did not fill the batch) it naps for a short while,
// a sleep that arriving frames do not end, and then takes what collected in
// its rings in one round; a round that finds nothing after a nap sends it
// back to poll(). Linux does the same for NIC interrupts
// (napi_defer_hard_irqs with gro_flush_timeout).
//
// Why: a wake-up from poll() costs this worker ~20-35 µs of CPU on a VM
// (the context switch, the poll over its fds, a round of N-API calls and
// the JS around them), whatever it brings. Paced traffic at 20-150 kpps
// woke the worker for every 1-10 frames (the generator's ticks), so CPU per
// frame was 3-12 µs, against ~1 µs for the kernel to forward it; spinning
// instead (spin-window.ts) costs a whole core at any rate that keeps frames
// inside the spin window. A nap collects rate x nap frames per wake-up.
//
// The nap adapts to the arrival rate (an average over recent rounds):
// - below MIN_FRAMES expected in a full nap (a lone ping, a trickle), no
//   nap: the worker polls (and spins) as before, so light-load latency is
//   what it was;
// - above, the nap is the time TARGET_FRAMES take to arrive, at most
//   `max`: at 1 Mpps ~128 µs, at 100 kpps and below `max`. So frames wait
//   at most `max` (plus timer slack) more than without it: the latency
//   added under load, chosen against the CPU it saves (bench/live/wake.ts).
// - a nap also ends once TARGET_BYTES are expected, whatever the frame
//   count: TCP super-packets (64 KiB each from an offload TAP or
//   AF_PACKET port) come at only 5-20 k frames a second at 3-10 Gbit/s, so
//   by frames alone every round napped the whole `max`. That wait is added
//   to each round trip of a flow whose window is full (the ACKs nap too),
//   and a bulk TCP flow's rate is its window over its round trip. A
//   super-packet costs the worker two 64 KiB copies (in and out), about
//   what a wake-up costs, so a wake-up per few of them is already
//   amortized. For 64-byte frames the byte target is far past the frame
//   target and changes nothing.
// The rate is an average over time, not over rounds: each round weighs by
// the time since the previous one (1 - e^(-gap/max)), so a pause of a few
// naps all but forgets what came before it (the first frame after an idle
// spell never waits for a nap), and rounds microseconds apart (spinning)
// move it only a little each.
// No allocation: a few numbers per round.

/**
 * Default longest nap, microseconds (`run --coalesce-us`). bench/live/wake.ts
 * on a loaded 2-core VM (two rounds, 20-150 kpps): 500 µs took 10-20% less
 * CPU per packet than 250 µs at every rate and stayed steady with
 * `--realtime` (250 did not, once: 8-21 µs a packet); it adds up to ~0.5-1 ms
 * under load (ping p50 1.0-1.3 ms against 0.5-0.8 at 250), none at light
 * load. 250 or less where latency under load matters more than CPU.
 * 2000 was tried (AF_XDP, --realtime 10): nat-live at 100 kpps took about
 * half the CPU per packet (router 965-1077 ns against 1509-1916 at 500, load
 * 11-13), but afxdp-probe at 1.1 Mpps lost 20-21% at the XSK's fill ring
 * against 0.3-0.8% at 500 (load 2, two alternating rounds): the average rate
 * follows with a time constant of `max`, so after a change a nap can run far
 * past what the ring holds. A longer cap needs a nap bounded by the ring's
 * room as well: AF_XDP workers have one (RING_BOUNDED_COALESCE_US).
 */
export const DEFAULT_COALESCE_US = 500;
/**
 * Default longest nap of a worker whose inputs are all AF_XDP sockets: its
 * nap is bounded by the room left in their fill rings as well
 * (AfXdpPort.ringBoundedNap), so the lag of the rate average above cannot
 * make it overrun a ring, and the longer nap cuts the wake-ups at the paced
 * rates where they dominate a packet's CPU. 1200 µs: what a stocked ring
 * (4096 frames) lasts above its low mark at 2.5 Mpps, so that a nap is one
 * sleep (native/src/af-xdp-nap.cc).
 */
export const RING_BOUNDED_COALESCE_US = 1200;
/** Nap only when a full nap would collect at least this many frames. */
const MIN_FRAMES = 2;
/** A nap long enough for this many frames (half a batch) is long enough: the default frame target. */
export const DEFAULT_TARGET_FRAMES = 128;
/**
 * The frame target of a worker whose nap is bounded by its AF_XDP fill
 * rings (RING_BOUNDED_COALESCE_US): four batches. Half a batch per nap
 * woke such a worker every ~140 us at 900 kpps, and at ~17 us of CPU per
 * wake-up on this VM that was ~130 ns of every frame (a fifth of its CPU per
 * packet). Frames that arrive while it naps wait in the RX ring, which the
 * ring-bounded nap never lets run low, and are taken in back-to-back full
 * rounds; the cost is up to ~1 ms more latency under load, none at light
 * load. A plain nap keeps half a batch: its length comes from an average
 * that lags a rate step, and nothing else stops it before a ring overflows.
 */
export const RING_BOUNDED_TARGET_FRAMES = 1024;
/** ... or for this many bytes (one TCP super-packet, or 43 frames of 1500 bytes). */
const TARGET_BYTES = 64 * 1024;

export class RxCoalescer {
  /** Longest nap, milliseconds (0: never nap). */
  readonly maxMs: number;
  /** Frames per millisecond, averaged over recent rounds. */
  rate = 0;
  /** Bytes per millisecond, averaged alike (received() without bytes leaves it 0: frames alone decide). */
  byteRate = 0;
  /** When the previous round with frames ended (performance.now() ms). */
  private lastAt = Number.NEGATIVE_INFINITY;
  /** Naps taken, and naps after which nothing had come (for tests and stats). */
  naps = 0;
  emptyNaps = 0;
  /** Frames told of in all (for tests and stats). */
  frames = 0;
  private napped = false;

  /** A nap long enough for this many frames to arrive is long enough. */
  readonly targetFrames: number;

  constructor(maxUs: number, targetFrames: number = DEFAULT_TARGET_FRAMES) {
    if (!Number.isFinite(maxUs) || maxUs < 0 || maxUs > 100_000) throw new RangeError(`coalescing: longest nap must be 0..100000 us (got ${maxUs})`);
    if (!Number.isInteger(targetFrames) || targetFrames < MIN_FRAMES || targetFrames > 65_536) {
      throw new RangeError(`coalescing: frame target must be an integer ${MIN_FRAMES}..65536 (got ${targetFrames})`);
    }
    this.maxMs = maxUs / 1000;
    this.targetFrames = targetFrames;
  }

  /**
   * A round received `n` > 0 frames of `bytes` bytes in all, ending at `now`
   * (ms): how long to nap before the next round, in microseconds (0: no
   * nap, poll as usual). `n` and `bytes` count every frame since the last
   * call: full rounds in between (which take what collected without a nap)
   * included, or the rate would be that of the last, partial round alone.
   */
  received(n: number, now: number, bytes = 0): number {
    const gap = now - this.lastAt;
    this.lastAt = now;
    this.napped = false;
    this.frames += n;
    if (this.maxMs === 0) return 0;
    if (gap > 0) {
      const w = 1 - Math.exp(-gap / this.maxMs);
      this.rate += (n / gap - this.rate) * w;
      this.byteRate += (bytes / gap - this.byteRate) * w;
    }
    if (this.rate * this.maxMs < MIN_FRAMES) return 0;
    const byFrames = this.targetFrames / this.rate;
    const byBytes = TARGET_BYTES / this.byteRate; // Infinity without bytes
    const ms = byBytes < byFrames ? byBytes : byFrames;
    this.naps++;
    this.napped = true;
    return Math.max(1, Math.round(1000 * (ms < this.maxMs ? ms : this.maxMs)));
  }

  /** A round received nothing: true when it followed a nap (the traffic stopped). */
  idle(): boolean {
    if (!this.napped) return false;
    this.napped = false;
    this.emptyNaps++;
    return true;
  }
}
