// One packet worker's loop: receive a burst from each of its ports into one
// batch, run the batch through the router, and send what came out, port by
// port, in one burst each. When no port has frames the worker sleeps in
// poll() (its own thread only) for at most `idleWaitMs`, and it checks the
// stop flag between batches. A port whose interface disappears is marked
// down and counted; the worker keeps serving the others.
import { isPortGone } from '../io/native.js';
import type { PacketPort } from '../io/port.js';
import type { Batch } from '../pipeline/batch.js';
import type { Router } from '../pipeline/router.js';

/** Per-port figures a worker keeps in shared memory for the main thread (Float64Array, PORT_STAT_FIELDS per port). */
export const PortStat = {
  RX_PACKETS: 0,
  RX_BYTES: 1,
  TX_PACKETS: 2,
  TX_BYTES: 3,
  /** Frames the port's kernel queue would not take (full) or that were dropped by the port. */
  TX_DROPPED: 4,
  /** 1 while the port is up, 0 once its interface is gone. */
  UP: 5,
  /** Frames that arrived on this port and were dropped by the pipeline (any node, any reason). */
  RX_DROPPED: 6,
} as const;
export const PORT_STAT_FIELDS = 7;

/** Control words shared with the main thread (Int32Array). */
export const Control = {
  /** Set to 1 to stop the worker after its current batch. */
  STOP: 0,
  /** Batches processed (a heartbeat). */
  BATCHES: 1,
} as const;
export const CONTROL_WORDS = 2;

export interface WaitFn {
  /** Sleeps for at most `ms` or until a port has frames. */
  (ms: number): void;
}

export interface LoopOptions {
  router: Router;
  batch: Batch;
  /** Ports by router port index (undefined for a port this worker does not serve). */
  ports: readonly (PacketPort | undefined)[];
  portStats: Float64Array;
  control: Int32Array;
  wait: WaitFn;
  idleWaitMs?: number;
  /**
   * Never sleep: poll the ports in a loop, as DPDK's PMDs do. Costs a core
   * per worker; removes the wake-up latency of poll() (100-200 us on a VM).
   */
  busyPoll?: boolean;
  /** Called once when a port's interface is gone (for a log line). */
  onPortGone?: (port: number, error: unknown) => void;
}

/** Per-port transmit lists, allocated once. */
class TxLists {
  readonly slots: Uint16Array[];
  readonly counts: Int32Array;
  constructor(ports: number, capacity: number) {
    this.slots = Array.from({ length: ports }, () => new Uint16Array(capacity));
    this.counts = new Int32Array(ports);
  }
}

export class WorkerLoop {
  private readonly tx: TxLists;
  private readonly up: boolean[];

  constructor(private readonly o: LoopOptions) {
    this.tx = new TxLists(o.ports.length, o.batch.capacity);
    this.up = o.ports.map((p) => p !== undefined);
    for (let i = 0; i < o.ports.length; i++) o.portStats[i * PORT_STAT_FIELDS + PortStat.UP] = this.up[i] ? 1 : 0;
  }

  private portGone(i: number, e: unknown): void {
    this.up[i] = false;
    this.o.portStats[i * PORT_STAT_FIELDS + PortStat.UP] = 0;
    this.o.onPortGone?.(i, e);
  }

  /** Runs one receive-process-transmit round; returns the frames received. */
  step(): number {
    const { batch, router, ports, portStats } = this.o;
    batch.reset();
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i];
      if (p === undefined || !this.up[i]) continue;
      const before = batch.rxCount;
      try {
        p.rx(batch);
      } catch (e) {
        if (isPortGone(e)) {
          this.portGone(i, e);
          continue;
        }
        throw e;
      }
      let bytes = 0;
      for (let s = before; s < batch.rxCount; s++) bytes += batch.length[s];
      portStats[i * PORT_STAT_FIELDS + PortStat.RX_PACKETS] += batch.rxCount - before;
      portStats[i * PORT_STAT_FIELDS + PortStat.RX_BYTES] += bytes;
    }
    const received = batch.rxCount;
    router.process(batch);
    const g = router.graph;
    for (let i = 0; i < ports.length; i++) portStats[i * PORT_STAT_FIELDS + PortStat.RX_DROPPED] = g.dropsByRxPort[i];
    if (g.outputCount === 0) return received;
    const { slots, counts } = this.tx;
    counts.fill(0);
    for (let k = 0; k < g.outputCount; k++) {
      const s = g.output[k];
      const port = batch.txPort[s];
      slots[port][counts[port]++] = s;
    }
    for (let i = 0; i < ports.length; i++) {
      const n = counts[i];
      if (n === 0) continue;
      const p = ports[i];
      const base = i * PORT_STAT_FIELDS;
      if (p === undefined || !this.up[i]) {
        portStats[base + PortStat.TX_DROPPED] += n;
        continue;
      }
      let sent = 0;
      try {
        sent = p.tx(batch, slots[i], n);
      } catch (e) {
        if (!isPortGone(e)) throw e;
        this.portGone(i, e);
      }
      let bytes = 0;
      for (let k = 0; k < sent; k++) bytes += batch.length[slots[i][k]];
      portStats[base + PortStat.TX_PACKETS] += sent;
      portStats[base + PortStat.TX_BYTES] += bytes;
      portStats[base + PortStat.TX_DROPPED] += n - sent;
    }
    return received;
  }

  /** Loops until the control STOP word is set. */
  run(): void {
    const { control, wait } = this.o;
    const idle = this.o.idleWaitMs ?? 50;
    const busy = this.o.busyPoll === true;
    while (Atomics.load(control, Control.STOP) === 0) {
      const n = this.step();
      Atomics.add(control, Control.BATCHES, 1);
      // Sleep only when idle; ARP timers still run at least every `idle` ms.
      if (n === 0 && !busy) wait(idle);
    }
  }
}
