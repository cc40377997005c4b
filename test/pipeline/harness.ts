// Runs frames through a Router built from YAML, with a manual clock, and
// returns what came out and which counters moved.
import { parseConfig, type RouterConfig } from '../../src/config/load.js';
import { Batch, OffloadMeta, type BatchOptions } from '../../src/pipeline/batch.js';
import { ManualClock } from '../../src/pipeline/clock.js';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';

export interface Sent {
  port: string;
  bytes: Uint8Array;
  /** The slot's offload words (OffloadMeta layout) as it left. */
  meta: number[];
}

export class Harness {
  readonly config: RouterConfig;
  readonly clock = new ManualClock(1000);
  readonly batch: Batch;
  readonly router: Router;

  constructor(yaml: string, batchOpts: BatchOptions = {}) {
    this.batch = new Batch({ rxCapacity: 64, generatedCapacity: 64, ...batchOpts });
    this.config = parseConfig(yaml, 'test.yaml', '.');
    const { fib, nexthops } = compileFib(this.config);
    this.router = new Router(this.config, fib, nexthops, { clock: this.clock, batchCapacity: this.batch.capacity, maxFrame: this.batch.maxFrame });
  }

  /** Sends frames (all in one batch) and returns the frames sent and the counters that changed. */
  send(frames: { port: string; frame: Uint8Array; meta?: readonly number[] }[]): { out: Sent[]; counters: Record<string, number> } {
    const before = this.router.counters.nonZero();
    this.batch.reset();
    for (const f of frames) {
      const port = this.config.ports.findIndex((p) => p.name === f.port);
      if (port < 0) throw new Error(`no port ${f.port}`);
      const s = this.batch.pushFrame(f.frame, 0, f.frame.length, port, 1, 0);
      if (s < 0) throw new Error('batch full');
      if (f.meta) this.batch.offload.set(f.meta, s * OffloadMeta.WORDS);
    }
    this.router.process(this.batch);
    const g = this.router.graph;
    const out: Sent[] = [];
    for (let i = 0; i < g.outputCount; i++) {
      const s = g.output[i];
      const m = s * OffloadMeta.WORDS;
      out.push({ port: this.config.ports[this.batch.txPort[s]].name, bytes: this.batch.bytes(s).slice(), meta: Array.from(this.batch.offload.subarray(m, m + OffloadMeta.WORDS)) });
    }
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
