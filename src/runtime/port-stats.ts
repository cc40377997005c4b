// The figures a run loop keeps per port, and the control words a worker
// shares with the main thread. Both live in SharedArrayBuffers live, so the
// main thread reads them without messages.

/** Per-port figures (Float64Array, PORT_STAT_FIELDS per port). */
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
