// A port's figures summed over the workers that serve it: what the status
// lines, the stop summary and the metrics report per port. Each worker's
// run loop counts into its own arrays (PortStat, IoCounter); only this sum
// reads them together.
import { IoCounter } from '../io/native.js';
import { PORT_STAT_FIELDS, PortStat } from './port-stats.js';

export interface PortTotals {
  name: string;
  up: boolean;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
  /** What became of the frames received on this port (see PortStat). */
  rxForwarded: number;
  rxDropped: number;
  rxLocal: number;
  rxQueued: number;
  /** Frames the port itself lost before the pipeline saw them (too big for a slot, offload it cannot take, the kernel's socket drops): not in rxPackets. */
  rxLost: number;
  /** The port's I/O counters summed over workers, by IoCounter index. */
  io: number[];
}

/** Per port (by index, named `names`), the workers' PortStat and IoCounter arrays summed. */
export function sumPortTotals(names: readonly string[], workers: readonly { portStats: Float64Array; ioCounters: Float64Array }[]): PortTotals[] {
  return names.map((name, i) => {
    const t: PortTotals = {
      name,
      up: true,
      rxPackets: 0,
      rxBytes: 0,
      txPackets: 0,
      txBytes: 0,
      txDropped: 0,
      rxForwarded: 0,
      rxDropped: 0,
      rxLocal: 0,
      rxQueued: 0,
      rxLost: 0,
      io: new Array<number>(IoCounter.COUNT).fill(0),
    };
    for (const w of workers) {
      const b = i * PORT_STAT_FIELDS;
      const s = w.portStats;
      t.rxPackets += s[b + PortStat.RX_PACKETS];
      t.rxBytes += s[b + PortStat.RX_BYTES];
      t.txPackets += s[b + PortStat.TX_PACKETS];
      t.txBytes += s[b + PortStat.TX_BYTES];
      t.txDropped += s[b + PortStat.TX_DROPPED];
      t.rxForwarded += s[b + PortStat.RX_FORWARDED];
      t.rxDropped += s[b + PortStat.RX_DROPPED];
      t.rxLocal += s[b + PortStat.RX_LOCAL];
      t.rxQueued += s[b + PortStat.RX_QUEUED];
      if (s[b + PortStat.UP] === 0) t.up = false;
      for (let c = 0; c < IoCounter.COUNT; c++) t.io[c] += w.ioCounters[i * IoCounter.COUNT + c];
    }
    // Frames the port itself dropped on receive never reached the pipeline's counts.
    t.rxLost = t.io[IoCounter.RX_OVERSIZE] + t.io[IoCounter.RX_OFFLOAD_UNSUPPORTED] + t.io[IoCounter.RX_KERNEL_DROPS];
    return t;
  });
}
