// Runs frames through the run loop and a Router built from YAML, with a
// manual clock, and returns what came out and which counters moved.
import { parseConfig, type RouterConfig } from '../../src/config/load.js';
import { Batch, OffloadMeta, type BatchOptions } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Router, type RouterOptions } from '../../src/pipeline/router.js';
import type { RxSource, TxSink } from '../../src/io/port.js';
import { RunLoop } from '../../src/runtime/run-loop.js';
import { compileFib } from '../../src/route/fib.js';

export interface Sent {
  port: string;
  bytes: Uint8Array;
  /** The slot's offload words (OffloadMeta layout) as it left. */
  meta: number[];
}

/** The test's frames as the loop's input, in the order given, each on its own port, with optional offload words. */
class ScriptedInput implements RxSource {
  readonly index = -1;
  frames: { port: number; frame: Uint8Array; meta?: readonly number[] }[] = [];

  rx(batch: Batch): number {
    let n = 0;
    for (const f of this.frames) {
      const s = batch.pushFrame(f.frame, 0, f.frame.length, f.port, 1, 0);
      if (s < 0) throw new Error('batch full');
      if (f.meta) batch.offload.set(f.meta, s * OffloadMeta.WORDS);
      n++;
    }
    this.frames = [];
    return n;
  }
}

/** Collects what every port sends, with the slot's offload words. */
class CollectingOutput implements TxSink {
  sent: Sent[] = [];
  constructor(private readonly portNames: string[]) {}

  tx(batch: Batch, slots: Uint16Array, count: number): number {
    for (let i = 0; i < count; i++) {
      const s = slots[i];
      const m = s * OffloadMeta.WORDS;
      this.sent.push({ port: this.portNames[batch.txPort[s]], bytes: batch.bytes(s).slice(), meta: Array.from(batch.offload.subarray(m, m + OffloadMeta.WORDS)) });
    }
    return count;
  }
}

export class Harness {
  readonly config: RouterConfig;
  readonly clock: ManualClock;
  readonly batch: Batch;
  readonly router: Router;
  readonly loop: RunLoop;
  private readonly input = new ScriptedInput();
  private readonly output: CollectingOutput;

  /** `configure` edits the loaded config before the router is built (a section the YAML cannot say directly). */
  constructor(yaml: string, batchOpts: BatchOptions = {}, routerOpts: Partial<Omit<RouterOptions, 'clock'>> & { clock?: ManualClock } = {}, configure?: (c: RouterConfig) => RouterConfig) {
    this.clock = routerOpts.clock ?? new ManualClock(1000);
    this.batch = new Batch({ rxCapacity: 64, generatedCapacity: 64, ...batchOpts });
    const loaded = parseConfig(yaml, 'test.yaml', '.');
    this.config = configure ? configure(loaded) : loaded;
    const { fib, nexthops } = compileFib(this.config);
    this.router = new Router(this.config, fib, nexthops, { batchCapacity: this.batch.capacity, maxFrame: this.batch.maxFrame, ...routerOpts, clock: this.clock });
    const names = this.config.ports.map((p) => p.name);
    this.output = new CollectingOutput(names);
    this.loop = new RunLoop({ router: this.router, batch: this.batch, inputs: [this.input], outputs: names.map(() => this.output) });
  }

  /**
   * Sends frames (all in one batch, in this order) through the run loop and
   * returns the frames sent, in the order of the ports (each port's in the
   * order the graph emitted them), and the counters that changed.
   */
  send(frames: { port: string; frame: Uint8Array; meta?: readonly number[] }[]): { out: Sent[]; counters: Record<string, number> } {
    const before = this.router.counters.nonZero();
    this.input.frames = frames.map((f) => {
      const port = this.config.ports.findIndex((p) => p.name === f.port);
      if (port < 0) throw new Error(`no port ${f.port}`);
      return { port, frame: f.frame, meta: f.meta };
    });
    this.loop.step();
    const out = this.output.sent;
    this.output.sent = [];
    const after = this.router.counters.nonZero();
    const counters: Record<string, number> = {};
    for (const [name, v] of Object.entries(after)) {
      const d = v.packets - (before[name]?.packets ?? 0);
      if (d !== 0) counters[name] = d;
    }
    return { out, counters };
  }

  one(port: string, frame: Uint8Array, meta?: readonly number[]) {
    return this.send([{ port, frame, meta }]);
  }
}

export const BASE_CONFIG = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/25 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24, mtu: 1400 }
  - { name: dmz, mac: "02:00:00:00:00:03", address: 203.0.113.1/26 }
routes:
  - 192.0.2.128/25 via 198.51.100.254
  - 198.18.0.0/24 blackhole
  - 198.18.1.0/24 unreachable
  - prohibit 198.18.2.0/24
  - 198.18.3.0/24 nexthop via 203.0.113.2 nexthop via 203.0.113.3
  - { prefix: 198.19.0.0/16, via: 198.51.100.253 }
neighbors:
  - { address: 198.51.100.254, mac: "02:bb:00:00:00:fe" }
  - { address: 192.0.2.10, mac: "02:aa:00:00:00:01" }
  - { address: 203.0.113.2, mac: "02:cc:00:00:00:02" }
  - { address: 203.0.113.3, mac: "02:cc:00:00:00:03" }
icmp: { ratePerSecond: 1000, burst: 100 }
arp: { resolveTimeoutMs: 300 }
`;
