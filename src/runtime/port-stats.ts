// The figures a run loop keeps per port, and the control words a worker
// shares with the main thread. Both live in SharedArrayBuffers live, so the
// main thread reads them without messages.

/** Per-port figures (Float64Array, PORT_STAT_FIELDS per port). */
export const PortStat = {
  RX_PACKETS: 0,
  RX_BYTES: 1,
  TX_PACKETS: 2,
  TX_BYTES: 3,
  /**
   * Frames not sent: the port's kernel queue would not take them (full), the
   * port dropped them (refused by the kernel, link down: also in its I/O
   * counters), or the port is down or not served here. Never in TX_PACKETS.
   */
  TX_DROPPED: 4,
  /** 1 while the port is up, 0 once its interface is gone. */
  UP: 5,
  /**
   * What became of the frames that arrived on this port (each counted once):
   * forwarded (out of some port, whole or in pieces), dropped by the
   * pipeline (any node, any reason), delivered to the router (answered or
   * consumed), or handed to ARP resolution. RX_PACKETS = the four summed.
   */
  RX_FORWARDED: 6,
  RX_DROPPED: 7,
  RX_LOCAL: 8,
  RX_QUEUED: 9,
} as const;
export const PORT_STAT_FIELDS = 10;

/** Control words shared with the main thread (Int32Array). */
export const Control = {
  /** Set to 1 to stop the worker after its current batch. */
  STOP: 0,
  /** Batches processed (a heartbeat). */
  BATCHES: 1,
} as const;
export const CONTROL_WORDS = 2;
