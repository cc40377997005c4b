// What the main thread hands a packet worker at start: the config, the
// published tables, which ports it serves and how to open them, and the
// shared memory it counts into.
import type { LbBuffers } from '../lb/lb-tables.js';
import type { NatBuffers } from '../nat/nat-tables.js';
import type { RouterConfig } from '../config/load.js';
import type { NexthopArrays } from '../route/nexthops.js';
import type { TracedPacket } from '../trace/traced-packet.js';
import type { ReceiverInit } from './control-channel.js';
import type { FibRef } from './fib-mirror.js';

export type PortPlan =
  /** A queue of a TAP the main thread opened (fds are process-wide). */
  | { type: 'tap'; ifname: string; fd: number; vnetHdrLen: number; offload: boolean }
  /** An AF_PACKET socket the worker opens itself (its ring belongs to its thread), in a fanout group; ring version 0: no ring (recvmmsg into the batch). */
  | { type: 'afpacket'; ifname: string; fanoutGroup: number; offload: boolean; ring: { version: 0 | 2 | 3; frames?: number; blockTimeoutMs?: number } }
  /**
   * An AF_XDP socket the worker opens on `queue` (-1: none left for this
   * worker, send only), put in the XSKMAP `mapFd` the main thread attached.
   */
  | { type: 'afxdp'; port: string; ifname: string; queue: number; mapFd: number; bind: 'auto' | 'copy' | 'zerocopy'; frames: number; offload: false };

export interface WorkerInit {
  /** An eventfd the main thread signals when it publishes a change (the worker polls it with its ports). */
  wakeFd?: number;
  index: number;
  config: RouterConfig;
  /** The FIB copy to start with (fib-mirror.ts; later generations may name the other copy). */
  fib: Required<FibRef>;
  nexthops: NexthopArrays;
  /** By router port index. */
  ports: PortPlan[];
  /** Router counters (Float64Array over the registry). */
  counters: SharedArrayBuffer;
  /** PORT_STAT_FIELDS doubles per port. */
  portStats: SharedArrayBuffer;
  /** The ports' I/O counters: IoCounter.COUNT doubles per port. */
  ioCounters: SharedArrayBuffer;
  /** CONTROL_WORDS int32s. */
  control: SharedArrayBuffer;
  /** One double: seconds this worker spent on rounds with frames (RunLoop busyTime). */
  busyTime: SharedArrayBuffer;
  /** Poll without sleeping (a core per worker, lowest latency). */
  busyPoll: boolean;
  /** Longest adaptive spin before sleeping, microseconds (RunLoop spinMaxUs; undefined: the default). */
  spinMaxUs?: number;
  /** Longest receive-coalescing nap, microseconds (RunLoop coalesceMaxUs; undefined: the default, 0: off). */
  coalesceMaxUs?: number;
  /** The CPU the worker's thread is pinned to (`run --cpus`, worker-cpus.ts; undefined: wherever the scheduler puts it). */
  cpu?: number;
  /** SCHED_FIFO priority for the worker's thread (1..99; undefined: normal scheduling). */
  realtimePriority?: number;
  /** The NeighborSync ring all workers share. */
  neighborSync: SharedArrayBuffer;
  /** The ICMP error rate limit all workers share (TokenBucket state). */
  icmpLimit: SharedArrayBuffer;
  /** The flow table and NAT state all workers share (src/nat/nat-tables.ts), when the config has `nat:` or a firewall. */
  nat: NatBuffers | undefined;
  /** The load balancer's tables all workers share (LbControl), when the config has VIPs. */
  lb?: LbBuffers;
  /** This worker's firewall rule hit counters (Firewall.hitsBytes), when the config has a firewall. */
  firewallHits?: SharedArrayBuffer;
  /** Packet trace (--trace): the filter (checked by the main thread) and the budget all workers draw from. */
  trace?: { filter: string; count: number; budget: SharedArrayBuffer };
  /** Where new table generations arrive (control-channel.ts; the port is in the transfer list). */
  updates: ReceiverInit;
}

/** How the kernel bound one of a worker's AF_XDP sockets (AfXdpPort.bindMode), for the port's start-up line. */
export interface XskBind {
  /** The router's port index. */
  port: number;
  queue: number;
  mode: string;
}

/** Messages a worker posts to the main thread. */
export type WorkerMessage =
  | { type: 'ready'; index: number; xskBinds: XskBind[] }
  | { type: 'port-gone'; index: number; port: number; message: string }
  | { type: 'error'; index: number; message: string }
  | { type: 'stopped'; index: number }
  /** A traced packet: `session` 0 for --trace, else the live trace session that picked it. */
  | { type: 'trace'; index: number; packet: TracedPacket; session: number };
