// Replay: runs a capture through the same Router the live dataplane runs,
// batch by batch, and writes what the router sends to a pcapng file with one
// interface per port. Time is the capture's: the clock follows the frames'
// timestamps, so ARP timeouts and the ICMP rate limit behave as they would
// have on the wire.
import type { RouterConfig } from '../config/load.js';
import { CaptureReader } from '../pcap/reader.js';
import { LINKTYPE_ETHERNET } from '../pcap/link-type.js';
import { PcapngWriter, type ByteSink } from '../pcap/writer.js';
import { Batch, MAX_BATCH } from '../pipeline/batch.js';
import { ManualClock } from '../pipeline/clock.js';
import type { CounterValue } from '../pipeline/counters.js';
import { Router } from '../pipeline/router.js';
import { compileFib } from '../route/fib.js';

export interface ReplayOptions {
  /** Port every frame enters by (needed for classic pcap; overrides pcapng interfaces). */
  inPort?: string;
  /** Called every `progressEvery` frames with the count so far. */
  onProgress?: (frames: number) => void;
  progressEvery?: number;
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
}

export class ReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayError';
  }
}

/** Maps capture interface ids to port indexes: by interface name when it names a port, else by position. */
function interfaceMapper(reader: CaptureReader, config: RouterConfig, inPort: number): (id: number) => number {
  const cache: number[] = [];
  return (id) => {
    if (inPort >= 0) return inPort;
    const cached = cache[id];
    if (cached !== undefined) return cached;
    const iface = reader.interfaces[id];
    let port = iface?.name !== undefined ? config.ports.findIndex((p) => p.name === iface.name) : -1;
    if (port < 0 && reader.format === 'pcapng' && id < config.ports.length) port = id;
    cache[id] = port;
    return port;
  };
}

export function replayCapture(config: RouterConfig, input: string | Uint8Array, output: string | ByteSink, opts: ReplayOptions = {}): ReplaySummary {
  const inPort = opts.inPort === undefined ? -1 : config.ports.findIndex((p) => p.name === opts.inPort);
  if (opts.inPort !== undefined && inPort < 0) {
    throw new ReplayError(`--in-port: "${opts.inPort}" is not a port of the config (ports: ${config.ports.map((p) => p.name).join(', ')})`);
  }
  const { fib, nexthops } = compileFib(config);
  const batch = new Batch();
  const clock = new ManualClock();
  const router = new Router(config, fib, nexthops, { clock, batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
  const reader = typeof input === 'string' ? CaptureReader.open(input) : CaptureReader.fromBytes(input);
  if (reader.format === 'pcap' && inPort < 0 && config.ports.length > 1) {
    reader.close();
    throw new ReplayError('a classic pcap file has no interfaces: say which port its frames arrive on with --in-port NAME');
  }
  const portOf = interfaceMapper(reader, config, inPort);
  const writer = new PcapngWriter(output, { interfaces: config.ports.map((p) => ({ name: p.name, linkType: LINKTYPE_ETHERNET })), nanosecond: true });
  const summary: ReplaySummary = { framesRead: 0, framesOut: 0, skipped: {}, ports: {}, counters: {} };
  for (const p of config.ports) summary.ports[p.name] = { rxFrames: 0, txFrames: 0, txBytes: 0 };
  const skip = (why: string) => (summary.skipped[why] = (summary.skipped[why] ?? 0) + 1);
  const every = opts.progressEvery ?? 100_000;

  const flush = () => {
    router.process(batch);
    const g = router.graph;
    const nowMs = clock.nowMs();
    // Write in time order (the graph emits by node); ties keep graph order.
    const order = Array.from(g.output.subarray(0, g.outputCount));
    order.sort((a, b) => batch.tsSec[a] - batch.tsSec[b] || batch.tsNsec[a] - batch.tsNsec[b]);
    for (const s of order) {
      const port = batch.txPort[s];
      let sec = batch.tsSec[s];
      let nsec = batch.tsNsec[s];
      if (sec === 0 && nsec === 0) {
        sec = Math.floor(nowMs / 1000);
        nsec = Math.round((nowMs - sec * 1000) * 1e6);
      }
      writer.write(port, batch.arena.subarray(batch.start[s], batch.start[s] + batch.length[s]), sec, nsec);
      const t = summary.ports[config.ports[port].name];
      t.txFrames++;
      t.txBytes += batch.length[s];
      summary.framesOut++;
    }
    batch.reset();
  };

  try {
    while (reader.next()) {
      const r = reader.record;
      summary.framesRead++;
      if (opts.onProgress && summary.framesRead % every === 0) opts.onProgress(summary.framesRead);
      if (r.linkType !== LINKTYPE_ETHERNET) {
        skip(`link type ${r.linkType} (not Ethernet)`);
        continue;
      }
      if (r.caplen < r.len) {
        skip('frame cut short by the capture snaplen');
        continue;
      }
      const port = portOf(r.interfaceId);
      if (port < 0) {
        skip(`interface ${r.interfaceId} matches no port`);
        continue;
      }
      if (batch.rxCount === MAX_BATCH) flush();
      clock.set(r.tsSec * 1000 + r.tsNsec / 1e6);
      if (batch.pushFrame(r.buffer, r.dataOffset, r.caplen, port, r.tsSec, r.tsNsec) < 0) {
        skip(`frame larger than ${batch.maxFrame} bytes`);
        continue;
      }
      summary.ports[config.ports[port].name].rxFrames++;
    }
    flush();
  } finally {
    reader.close();
    writer.close();
  }
  summary.counters = router.counters.nonZero();
  return summary;
}
