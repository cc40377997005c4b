// Replay: runs a capture through the same run loop and Router the live
// dataplane runs, batch by batch, and writes what the router sends to a
// pcapng file with one interface per port. Time is the capture's: the clock
// follows the frames' timestamps, so ARP timeouts and the ICMP rate limit
// behave as they would have on the wire.
import type { BackendStatus } from '../lb/lb-control.js';
import type { RouterConfig } from '../config/load.js';
import { CaptureReader } from '../pcap/reader.js';
import { LINKTYPE_ETHERNET } from '../pcap/link-type.js';
import { PcapngWriter, type ByteSink } from '../pcap/writer.js';
import { Batch, slotBytesForMtu } from '../pipeline/batch.js';
import { ManualClock } from '../pipeline/clock.js';
import type { CounterValue } from '../pipeline/counters.js';
import { Router } from '../pipeline/router.js';
import { ruleHits, type RuleHits } from '../firewall/firewall.js';
import { compileFib } from '../route/fib.js';
import { RunLoop } from '../runtime/run-loop.js';
import { CaptureInput } from './capture-input.js';
import { CaptureOutput } from './capture-output.js';
import { checkTraceRequest, openTraceWriter, type TraceRequest } from '../trace/session.js';
import { PacketTracer, TraceBudget } from '../trace/tracer.js';
import { AtomicFileSink, sameFile } from '../pcap/atomic-file-sink.js';
import { resolve } from 'node:path';

export interface ReplayOptions {
  /** Port every frame enters by (needed for classic pcap; overrides pcapng interfaces). */
  inPort?: string;
  /** Called every `progressEvery` frames with the count so far. */
  onProgress?: (frames: number) => void;
  progressEvery?: number;
  /** Trace packets into a pcapng file (--trace). */
  trace?: TraceRequest;
  /** Take unicast frames whatever their destination MAC (a capture made on another host). */
  promiscuous?: boolean;
  /**
   * A parallel replay: the main thread's share of the flows, in eighths of
   * another shard's (0..16; default DEFAULT_MAIN_SHARE, or the environment's
   * DATAPLANE_REPLAY_MAIN_SHARE). The result is the same whatever it is.
   */
  mainShare?: number;
}

export interface PortTotals {
  rxFrames: number;
  txFrames: number;
  txBytes: number;
}

export interface ReplaySummary {
  framesRead: number;
  framesOut: number;
  /** Frames not fed to the router, by reason (link type not Ethernet, frame cut short by the snaplen, too big, unknown interface). */
  skipped: Record<string, number>;
  ports: Record<string, PortTotals>;
  counters: Record<string, CounterValue>;
  /** Packets traced (with --trace). */
  traced?: number;
  /** The firewall's rules and policies with the first packets each decided, when there is a firewall. */
  firewall?: RuleHits[];
  /** The load balancer's backends: state, weight, flows and packets (with VIPs). */
  lb?: BackendStatus[];
}

export class ReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayError';
  }
}

/** Maps capture interface ids to port indexes: by interface name when it names a port, else by position. */
export function interfaceMapper(reader: CaptureReader, config: RouterConfig, inPort: number): (id: number) => number {
  const cache: number[] = [];
  return (id) => {
    if (inPort >= 0) return inPort;
    const cached = cache[id];
    if (cached !== undefined) return cached;
    const iface = reader.interfaces[id];
    let port = iface?.name !== undefined ? config.ports.findIndex((p) => p.name === iface.name) : -1;
    // By position: pcapng interfaces in port order, or the one interface of a classic pcap on a one-port router.
    if (port < 0 && (reader.format === 'pcapng' || config.ports.length === 1) && id < config.ports.length) port = id;
    cache[id] = port;
    return port;
  };
}

/** Checks what a replay is asked to do before anything is written; returns the input port index (-1: by interface) and the opened reader. */
export function openReplay(config: RouterConfig, input: string | Uint8Array, output: string | ByteSink, opts: ReplayOptions): { inPort: number; reader: CaptureReader } {
  const inPort = opts.inPort === undefined ? -1 : config.ports.findIndex((p) => p.name === opts.inPort);
  if (opts.inPort !== undefined && inPort < 0) {
    throw new ReplayError(`--in-port: "${opts.inPort}" is not a port of the config (ports: ${config.ports.map((p) => p.name).join(', ')})`);
  }
  const reader = typeof input === 'string' ? CaptureReader.open(input) : CaptureReader.fromBytes(input);
  try {
    if (reader.format === 'pcap' && inPort < 0 && config.ports.length > 1) {
      throw new ReplayError('a classic pcap file has no interfaces: say which port its frames arrive on with --in-port NAME');
    }
    if (typeof input === 'string') {
      const clash = (what: string, path: string | undefined) => {
        if (path !== undefined && (sameFile(input, path) || resolve(input) === resolve(path))) {
          throw new ReplayError(`${what} ${path} is the input capture: refusing to overwrite it`);
        }
      };
      clash('--out', typeof output === 'string' ? output : undefined);
      clash('--trace', opts.trace?.file);
    }
    if (typeof output === 'string' && opts.trace !== undefined && (sameFile(output, opts.trace.file) || resolve(output) === resolve(opts.trace.file))) {
      throw new ReplayError(`--trace ${opts.trace.file} is the same file as --out`);
    }
  } catch (e) {
    reader.close();
    throw e;
  }
  return { inPort, reader };
}

/**
 * A replay set up and ready to run: step its loop until the capture is done,
 * then drain(), close() and summary(), or fail().
 */
interface ReplayRun {
  loop: RunLoop;
  capture: CaptureInput;
  /** One more batch once the capture is done (nothing received): what the router sends at once. */
  drain(): void;
  /** Completes the outputs (renamed into place). */
  close(): void;
  /** Drops the outputs (what was at OUT and the trace file stays as it was). */
  fail(): void;
  summary(): ReplaySummary;
}

function startReplay(config: RouterConfig, input: string | Uint8Array, output: string | ByteSink, opts: ReplayOptions): ReplayRun {
  const filter = opts.trace === undefined ? undefined : checkTraceRequest(opts.trace, config);
  const compiled = compileFib(config);
  const { fib, nexthops } = compiled;
  // Slots that hold a frame of the largest port MTU: a jumbo port's frames are replayed, not skipped as too large.
  const batch = new Batch({ slotBytes: slotBytesForMtu(Math.max(0, ...config.ports.map((p) => p.mtu))) });
  const clock = new ManualClock();
  const router = new Router(config, fib, nexthops, { clock, batchCapacity: batch.capacity, maxFrame: batch.maxFrame, promiscuous: opts.promiscuous });
  const { inPort, reader } = openReplay(config, input, output, opts);
  // Outputs appear only when complete: a failed replay leaves what was there before.
  const outSink = typeof output === 'string' ? new AtomicFileSink(output) : output;
  const writer = new PcapngWriter(outSink, { interfaces: config.ports.map((p) => ({ name: p.name, linkType: LINKTYPE_ETHERNET })), nanosecond: true });
  const every = opts.progressEvery ?? 100_000;
  const onProgress = opts.onProgress;
  const capture = new CaptureInput(reader, interfaceMapper(reader, config, inPort), config.ports.length, clock, onProgress && ((n) => n % every === 0 && onProgress(n)));
  writer.flush(); // the section and interface blocks: CaptureOutput writes the packet blocks after them
  const out = new CaptureOutput(config.ports.length, clock, outSink);
  let traceSink: AtomicFileSink | undefined;
  let traceWriter: ReturnType<typeof openTraceWriter> | undefined;
  try {
    traceSink = opts.trace && new AtomicFileSink(opts.trace.file);
    traceWriter = opts.trace && traceSink && openTraceWriter(traceSink, config, compiled, router.graph.nodes);
  } catch (e) {
    // A trace file that cannot be made (--trace DIR, a missing directory) fails the replay before it starts: OUT's temporary file goes too.
    for (const sink of [outSink, traceSink]) if (sink instanceof AtomicFileSink) sink.abort();
    for (const close of [() => traceSink?.close(), () => outSink.close?.(), () => reader.close()]) {
      try {
        close();
      } catch {
        // the open error is the one to report
      }
    }
    throw e;
  }
  const tracer = traceWriter && filter && new PacketTracer(router.graph, filter, new TraceBudget(opts.trace!.count), (p) => traceWriter.write(p));
  const loop = new RunLoop({ router, batch, inputs: [capture], outputs: config.ports.map(() => out), tracer });
  return {
    loop,
    capture,
    drain() {
      // The batch after the capture's last, with nothing received and the clock where the last frame left it: what
      // the router sends at once, later fragments held for a first fragment that came in the last batch.
      loop.step();
    },
    close() {
      try {
        out.finish();
        // Every byte written before either output is renamed into place: a full disk under the trace must not
        // leave OUT complete beside a failed replay.
        writer.flush();
        traceWriter?.flush();
        writer.close();
        traceWriter?.close();
      } finally {
        reader.close();
      }
    },
    fail() {
      for (const sink of [outSink, traceSink]) if (sink instanceof AtomicFileSink) sink.abort();
      for (const close of [() => writer.close(), () => traceWriter?.close(), () => outSink.close?.(), () => traceSink?.close(), () => reader.close()]) {
        try {
          close();
        } catch {
          // the first error is the one to report
        }
      }
    },
    summary() {
      const summary: ReplaySummary = { framesRead: capture.framesRead, framesOut: out.framesOut, skipped: capture.skipped, ports: {}, counters: router.counters.nonZero() };
      if (traceWriter) summary.traced = traceWriter.written;
      if (config.firewall && router.firewall) summary.firewall = ruleHits(config.firewall, router.firewall.hits);
      if (router.lbControl) summary.lb = router.lbControl.status();
      config.ports.forEach((p, i) => (summary.ports[p.name] = { rxFrames: capture.framesIn[i], txFrames: out.framesByPort[i], txBytes: out.bytesByPort[i] }));
      return summary;
    },
  };
}

export function replayCapture(config: RouterConfig, input: string | Uint8Array, output: string | ByteSink, opts: ReplayOptions = {}): ReplaySummary {
  const run = startReplay(config, input, output, opts);
  try {
    do run.loop.step();
    while (!run.capture.done);
    run.drain();
    run.close();
  } catch (e) {
    run.fail();
    throw e;
  }
  return run.summary();
}

/** Batches between two looks at the event loop (a few ms of work): a signal is seen that soon. */
const BATCHES_PER_SLICE = 64;

/**
 * replayCapture for a command line: it gives the event loop a turn between
 * slices of batches, so SIGINT or SIGTERM is seen while it runs. Then the
 * outputs' temporary files are removed (OUT and the trace file stay as they
 * were) and the signal is raised again, so the process ends by it.
 */
export async function replayCaptureInterruptible(config: RouterConfig, input: string | Uint8Array, output: string | ByteSink, opts: ReplayOptions = {}): Promise<ReplaySummary> {
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => (signalled = sig);
  try {
    const run = startReplay(config, input, output, opts);
    // Only now: startReplay can block in open() or read() (a FIFO with no writer yet), where a listener would
    // never run and the signal would not end the process; until here it has the default action and nothing to clean up.
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, onSignal);
    try {
      for (;;) {
        for (let i = 0; i < BATCHES_PER_SLICE && !run.capture.done; i++) run.loop.step();
        if (run.capture.done) break;
        await new Promise((res) => setImmediate(res));
        if (signalled !== undefined) throw new ReplayError(`interrupted (${signalled})`);
      }
      run.drain();
      run.close();
    } catch (e) {
      run.fail();
      throw e;
    }
    return run.summary();
  } finally {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.removeListener(sig, onSignal);
    if (signalled !== undefined) process.kill(process.pid, signalled);
  }
}
