// A traced packet as the tracer hands it on: the frame as it came in, each
// frame it became on the way out (a forwarded packet, an ICMP error, its
// fragments), a copy of it where a node dropped it, and the verdict records
// of every node it passed. Plain data, so a worker can post it to the main
// thread, which formats and writes it.
export interface TracedPacket {
  /** 1-based, in the order packets were picked (across all workers). */
  id: number;
  /** The worker that carried it (-1 in replay). */
  worker: number;
  inPort: number;
  tsSec: number;
  tsNsec: number;
  inBytes: Uint8Array;
  /** The verdict records (TraceField layout), in the order the nodes gave them. */
  records: Int32Array;
  outs: { port: number; bytes: Uint8Array }[];
  drops: { node: number; reason: number; bytes: Uint8Array }[];
}
