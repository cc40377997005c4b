// The one loader of the packet I/O addon (native/, built by node-gyp on
// `npm install`). Nothing else imports the .node file: ports and tools call
// loadNative() and get the typed surface below.
//
// Every call is a burst or a setup call: one JS -> native crossing moves up
// to `count` frames. The addon is Node-API and keeps its state per thread, so
// each worker_thread loads it for itself; a ring handle belongs to the thread
// that opened it, while fds are process-wide and may be handed to a worker.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Indexes into a port's `counters: Float64Array` (native/src/common.h). */
export const IoCounter = {
  /** A received frame did not fit in maxFrame (or was cut short by the ring): dropped. */
  RX_OVERSIZE: 0,
  /** The kernel refused a frame we sent (EINVAL, EMSGSIZE): dropped. */
  TX_REJECTED: 1,
  /** The interface was down when we sent (no link): dropped. */
  TX_LINK_DOWN: 2,
  /** Frames whose offloaded (partial) TCP/UDP checksum we completed: AF_PACKET's flagged ones, AF_XDP's recognised by value (native/src/checksum.h). */
  RX_CHECKSUM_FIXED: 3,
  /**
   * AF_PACKET offload frames the dataplane cannot route, dropped: UDP GSO
   * (USO), TCP/IPv6 GSO, GSO over a tunnel, an SCTP partial checksum.
   */
  RX_OFFLOAD_UNSUPPORTED: 4,
  /** AF_PACKET: frames the kernel dropped before our ring (ring full: the worker fell behind). */
  RX_KERNEL_DROPS: 5,
  /**
   * AF_XDP: a frame to send longer than a UMEM chunk carries (3840 bytes,
   * XSK_MAX_FRAME_BYTES): dropped, never copied. The pipeline fragments and
   * segments to the port's MTU, so this stays 0 unless something upstream
   * is wrong.
   */
  TX_OVERSIZE: 6,
  /** Bytes of the frames counted in TX_REJECTED (so the run loop counts exactly what was sent). */
  TX_REJECTED_BYTES: 7,
  /** Bytes of the frames counted in TX_LINK_DOWN. */
  TX_LINK_DOWN_BYTES: 8,
  /** Bytes of the frames counted in TX_OVERSIZE. */
  TX_OVERSIZE_BYTES: 9,
  COUNT: 10,
} as const;

/** Counter names for logs and summaries, by IoCounter index; the byte counters are reported with their packet counters (IO_COUNTER_BYTES). */
export const IO_COUNTER_NAMES: readonly string[] = ['rx-oversize', 'tx-rejected', 'tx-link-down', 'rx-checksum-fixed', 'rx-offload-unsupported', 'rx-kernel-drops', 'tx-oversize'];
/** The byte counter of each named counter that has one (IoCounter index -> IoCounter index). */
export const IO_COUNTER_BYTES: ReadonlyMap<number, number> = new Map([
  [IoCounter.TX_REJECTED, IoCounter.TX_REJECTED_BYTES],
  [IoCounter.TX_LINK_DOWN, IoCounter.TX_LINK_DOWN_BYTES],
  [IoCounter.TX_OVERSIZE, IoCounter.TX_OVERSIZE_BYTES],
]);
/** The counters of frames a port's tx consumed without sending them, and their byte counters (in the same order). */
export const IO_TX_DROPS: readonly number[] = [IoCounter.TX_REJECTED, IoCounter.TX_LINK_DOWN, IoCounter.TX_OVERSIZE];
export const IO_TX_DROP_BYTES: readonly number[] = [IoCounter.TX_REJECTED_BYTES, IoCounter.TX_LINK_DOWN_BYTES, IoCounter.TX_OVERSIZE_BYTES];

/** The offload metadata layout the addon uses (native/src/vnet.h); equal to OffloadMeta and VNET_HDR_* in pipeline/batch.ts. */
export interface OffloadLayout {
  /** Bytes of struct virtio_net_hdr. */
  hdrLen: number;
  /** uint16 words per slot, and the word of each field. */
  words: number;
  flags: number;
  gsoType: number;
  hdrLenWord: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
  fNeedsCsum: number;
  gsoNone: number;
  gsoTcpV4: number;
  gsoEcn: number;
  /** Byte offsets of the fields in the virtio_net_hdr. */
  hdrFlagsAt: number;
  hdrGsoTypeAt: number;
  hdrHdrLenAt: number;
  hdrGsoSizeAt: number;
  hdrCsumStartAt: number;
  hdrCsumOffsetAt: number;
}

export interface TapOpenOptions {
  /** IFF_MULTI_QUEUE: every open of the same name attaches one more queue. */
  multiQueue?: boolean;
  /** IFF_VNET_HDR (no offloads): frames carry a virtio_net_hdr, which the bursts strip and add. */
  vnetHdr?: boolean;
  /**
   * IFF_VNET_HDR with a 10-byte virtio_net_hdr, TUNSETOFFLOAD(TUN_F_CSUM |
   * TUN_F_TSO4 | TUN_F_TSO_ECN): the kernel hands over TCP super-packets (up
   * to 64 KiB) and partial checksums, described by the header; pass `meta` to
   * the bursts to see and write it. Implies vnetHdr.
   */
  offload?: boolean;
  /**
   * IFF_TUN_EXCL: create the TAP, never attach to one that exists (EBUSY
   * then, also for any other interface of that name). For the first queue
   * of a TAP this process owns; the later queues attach without it.
   */
  exclusive?: boolean;
}

export interface TapHandle {
  fd: number;
  /** The kernel's name for the TAP (differs from the request only for patterns like "tap%d"). */
  name: string;
  /** Bytes of virtio_net_hdr before each frame: pass to rxBurst/txBurst. */
  vnetHdrLen: number;
  /** Offloads are on (see TapOpenOptions.offload). */
  offload: boolean;
}

export interface PacketOpenOptions {
  /** Join this PACKET_FANOUT group (0..65535, per network namespace): each flow goes to one socket. */
  fanoutGroup?: number;
  fanoutMode?: 'hash';
  /**
   * RX ring layout (default 2). TPACKET_V2: fixed frame slots, each handed
   * over and the socket woken as soon as the kernel wrote it. TPACKET_V3:
   * blocks packed with frames, handed over when full or retireTimeoutMs
   * after their first frame, so a lone frame (a ping) waits that long.
   */
  ringVersion?: 2 | 3;
  /** V2: bytes per frame slot (default: the interface's MTU + headers, rounded up to a power of two, at least 2048; 68 KiB with offload). */
  frameSize?: number;
  /** V2: frame slots in the ring (default 2048; 128 with offload). */
  frameCount?: number;
  /** V3 RX ring: blockCount blocks of blockSize bytes (defaults 64 KiB x 64 = 4 MiB). */
  blockSize?: number;
  blockCount?: number;
  /** V3: a block is handed over at the latest this long after its first frame (default 1 ms, the least). */
  retireTimeoutMs?: number;
  /** Skip frames this host sends on the interface, our own included (default true). */
  ignoreOutgoing?: boolean;
  /**
   * PACKET_VNET_HDR: take the interface's offloads as they come (TCP
   * super-frames up to 64 KiB, partial checksums). The bursts then need
   * `meta` on rx (and take it on tx), the slots must hold 64 KiB frames, and
   * blocks default to 256 KiB x 32 (at least 128 KiB).
   */
  offload?: boolean;
  /**
   * Receive through a ring (default true). false: no ring; each burst
   * recvmmsg()s the frames straight into their arena slots, one copy by the
   * kernel instead of one into the ring and one out of it (the cheaper way
   * for 64 KiB super-frames; the ring options are then checked but unused).
   */
  rxRing?: boolean;
}

/** AF_PACKET socket statistics since the previous call (the kernel resets them on read). */
export interface PacketStats {
  packets: number;
  drops: number;
  freezes: number;
}

/** What xdpAttach loaded and attached (af-xdp-prog.cc): fds the process keeps until xdpDetach. */
export interface XdpAttachment {
  /** The bpf_link: closing it detaches the program (also when the process dies). */
  linkFd: number;
  progFd: number;
  /** The XSKMAP, one slot per rx queue: workers put their sockets in it. */
  mapFd: number;
  /** Receive queues of the interface (ETHTOOL_GCHANNELS; 1 when it does not say). */
  queues: number;
  mode: 'native' | 'generic';
  /** Why auto fell back to generic, or ''. */
  note: string;
}

export interface XskOpenOptions {
  /** UMEM frames (4 KiB chunks), a power of two; default 4096. */
  frames?: number;
  /** Entries of the fill and RX rings, a power of two, 64 up to frames; default frames (the TX and completion rings get half). */
  ringSize?: number;
  /** auto: zero-copy where the driver has it, else copy. */
  bind?: 'auto' | 'copy' | 'zerocopy';
}

export interface XskOpened {
  handle: XskHandle;
  /** The socket, for poll() (-1 for a send-only port). */
  fd: number;
  zerocopy: boolean;
  /** Bound with XDP_USE_NEED_WAKEUP (an addon older than this field says undefined). */
  needWakeup?: boolean;
  /** Where the UMEM starts in the arena (the area's first page boundary). */
  areaOffset: number;
  frames: number;
}

/** An AF_XDP socket, valid on the thread that opened it. */
export type XskHandle = number & { readonly __xskHandle: unique symbol };

/** The kernel's XDP_STATISTICS for one socket, and its UMEM's free chunks. */
export interface XskStats {
  rxDropped: number;
  rxRingFull: number;
  rxFillRingEmpty: number;
  rxInvalid: number;
  txInvalid: number;
  freeFrames: number;
  frames: number;
  /** Frames one copy-mode sendto() takes (XDP_MAX_TX_SKB_BUDGET where the kernel has it, else its default 32). */
  txBudget: number;
  /** Entries of the fill and RX rings (0 for a send-only port). */
  ringSize: number;
  /** Free frames kept out of the fill ring for frames other ports send by this one. */
  txReserve: number;
}

/** An AF_PACKET ring, valid on the thread that opened it. */
export type PacketHandle = number & { readonly __packetHandle: unique symbol };

/**
 * The addon. Errors are Error objects with `code` (the errno name, or
 * 'PORT_GONE' when the interface under a fd or socket disappeared), `errno`
 * and `syscall`; their messages name the cause ("needs CAP_NET_ADMIN (run as
 * root)", "interface veth0 not found", "no /dev/net/tun ...").
 */
export interface NativeIo {
  readonly abiVersion: number;
  readonly offloadLayout: OffloadLayout;

  tapOpen(name: string, opts?: TapOpenOptions): TapHandle;
  tapSetPersist(fd: number, persist: boolean): void;
  closeFd(fd: number): void;
  /**
   * Reads up to `count` frames from a TAP (or any packet fd) into slots
   * [first, first + n): frame k at arena[offsets[k]...], its length in
   * lengths[k]. Stops when the queue is empty; returns n. With `meta` (an
   * offload TAP, vnetHdrLen 10) the virtio_net_hdr of frame k goes to
   * meta[6k .. 6k+6): flags, gso_type, hdr_len, gso_size, csum_start,
   * csum_offset (see OffloadMeta in pipeline/batch.ts).
   */
  rxBurst(fd: number, arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, maxFrame: number, count: number,
    first?: number, vnetHdrLen?: number, counters?: Float64Array, meta?: Uint16Array | null): number;
  /**
   * Writes frames k = slots[i] (or i without slots), i in [0, count). Returns
   * how many were consumed from the front (sent, or dropped and counted);
   * fewer than count when the kernel queue is full. With `meta`, frame k's
   * virtio_net_hdr is built from meta[6k .. 6k+6) (rxBurst's layout).
   */
  txBurst(fd: number, arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number,
    slots?: Uint16Array | null, vnetHdrLen?: number, counters?: Float64Array, meta?: Uint16Array | null): number;

  packetOpen(ifname: string, opts?: PacketOpenOptions): PacketHandle;
  packetFd(handle: PacketHandle): number;
  /**
   * Like rxBurst, from the RX ring (TPACKET_V2 or V3); also writes kernel timestamps
   * when tsSec/tsNsec are given. A ring opened with offload needs `meta`
   * (rxBurst's layout): a TCP/IPv4 super-frame or partial checksum is
   * described there; a frame it cannot describe is dropped and counted
   * (RX_OFFLOAD_UNSUPPORTED).
   */
  packetRxBurst(handle: PacketHandle, arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, maxFrame: number,
    count: number, first?: number, counters?: Float64Array | null, tsSec?: Float64Array | null, tsNsec?: Uint32Array | null,
    meta?: Uint16Array | null): number;
  /** Like txBurst, with sendmmsg; on an offload ring each frame goes with a virtio_net_hdr from `meta` (zero without). */
  packetTxBurst(handle: PacketHandle, arena: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number,
    slots?: Uint16Array | null, counters?: Float64Array, meta?: Uint16Array | null): number;
  /** Kernel socket statistics since the previous call; drops not yet counted by a burst go to counters[RX_KERNEL_DROPS]. */
  packetStats(handle: PacketHandle, counters?: Float64Array): PacketStats;
  packetClose(handle: PacketHandle): void;

  /** Loads the XSK redirect program and its XSKMAP and attaches it to `ifname` (mode auto: native, else generic). */
  xdpAttach(ifname: string, opts?: { mode?: 'auto' | 'native' | 'generic' }): XdpAttachment;
  /** Closes what xdpAttach returned: the program leaves the interface. */
  xdpDetach(linkFd: number, progFd: number, mapFd: number): void;
  /**
   * Opens an AF_XDP socket on `queue` of `ifname` with its UMEM in
   * arena[areaOffset, areaOffset + areaBytes) (from its first page
   * boundary), and puts it in the XSKMAP `mapFd`. Queue -1: a send-only port
   * (an AF_PACKET socket that receives nothing), for a worker without a queue.
   */
  xskOpen(ifname: string, queue: number, mapFd: number, arena: Uint8Array, areaOffset: number, areaBytes: number, opts?: XskOpenOptions): XskOpened;
  /**
   * Takes up to `count` frames off the RX ring into slots [first, first + n):
   * frame k lies at arena[starts[k]], inside the UMEM, `lengths[k]` bytes,
   * until this socket's next rx burst. First gives back the frames of the
   * previous burst that did not leave through this socket's TX ring.
   */
  xskRxBurst(handle: XskHandle, starts: Uint32Array, lengths: Uint32Array, count: number, first: number, counters?: Float64Array | null): number;
  /**
   * Like packetTxBurst: frames received on this socket are sent from the
   * UMEM, others copied into it. A frame longer than a chunk carries
   * (XSK_MAX_FRAME_BYTES) is consumed and counted in TX_OVERSIZE, never
   * copied nor sent (by a send-only port either).
   */
  xskTxBurst(handle: XskHandle, arena: Uint8Array, starts: Uint32Array, lengths: Uint32Array, count: number,
    slots?: Uint16Array | null, counters?: Float64Array): number;
  xskStats(handle: XskHandle): XskStats;
  /**
   * Sleeps for at most `us` (1..1000000) microseconds, in slices no longer
   * than the fill rings of handles[0, count) last at a peak rate, and ends
   * once one is down to an eighth (native/src/af-xdp-nap.cc): the run loop's
   * nap for a worker whose inputs are all AF_XDP. Returns the slices slept.
   * Optional: an addon built before it lacks it.
   */
  xskNapUs?(handles: Int32Array, count: number, us: number): number;
  xskClose(handle: XskHandle): void;

  /** Blocks this thread in poll() for at most timeoutMs; bit i set when fds[i] is readable or in error. At most 32 fds. */
  waitReadable(fds: Int32Array, n: number, timeoutMs: number): number;
  /** An eventfd for waitReadable that another thread can signal to wake a worker early. */
  /**
   * Sleeps this thread for `us` (1..1000000) microseconds, whatever arrives
   * (clock_nanosleep): the run loop's receive coalescing. Optional: an addon
   * built before it lacks it (then the loop does not coalesce).
   */
  napUs?(us: number): void;
  wakeFdOpen(): number;
  wakeFdSignal(fd: number): void;
  wakeFdDrain(fd: number): number;

  ifIndex(name: string): number;
  ifSetUp(name: string, up: boolean): void;
  ifSetMtu(name: string, mtu: number): void;
  ifGetMtu(name: string): number;
  ifHwAddr(name: string): Uint8Array;
  ifSetHwAddr(name: string, mac: Uint8Array): void;

  /** flock(fd, LOCK_EX | LOCK_NB): true when locked, false when another open file holds the lock. Closing the fd releases it. */
  fdTryLock(fd: number): boolean;
  /** SCHED_FIFO at priority 1..99 for the calling thread (0: back to normal); needs CAP_SYS_NICE. */
  threadSetRealtime(priority: number): void;
  /**
   * Pins the calling thread to these CPUs (sched_setaffinity; sched.cc). Throws
   * EINVAL naming the CPUs the thread may not run on (offline, absent, outside
   * its cpuset), with the old mask back.
   */
  threadSetAffinity(cpus: readonly number[]): void;
  /** The CPUs the calling thread may run on, ascending (sched_getaffinity). */
  threadGetAffinity(): number[];
  /** The calling thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID; sched.cc). Optional: an addon built before it lacks it. */
  threadCpuTimeNs?(): number;

  /**
   * Copies frame k, src[srcOffsets[k], + lengths[k]), to arena[starts[first + k]...)
   * for k in [0, count), every range checked first; returns count (frame-copy.cc:
   * the pipeline benchmark's feed). Optional: an addon built before it lacks it.
   */
  copyFrames?(arena: Uint8Array, starts: Uint32Array, first: number, src: Uint8Array, srcOffsets: Uint32Array, lengths: Uint32Array, count: number): number;
  /**
   * madvise(MADV_HUGEPAGE) over the 2 MiB-aligned part of the view's memory
   * (src/flow/huge-pages.ts): the bytes advised, or -errno. Optional: an
   * addon built before it lacks it.
   */
  adviseHugePages?(view: Int32Array): number;
  /** The view's data address modulo a power of two (flow table: cache-line placement, src/flow/huge-pages.ts). */
  addressMod?(view: Uint8Array, modulus: number): number;
}

/** The fields native errors carry besides the message. */
export interface IoError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export function isIoError(e: unknown): e is IoError {
  return e instanceof Error && typeof (e as Partial<IoError>).code === 'string' && typeof (e as Partial<IoError>).errno === 'number';
}

/** True for the error a burst throws when its interface has disappeared: mark the port down and carry on. */
export function isPortGone(e: unknown): boolean {
  return isIoError(e) && e.code === 'PORT_GONE';
}

export class NativeUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NativeUnavailableError';
  }
}

const ABI_VERSION = 7;
const ADDON_FILE = 'dataplane_io.node';

/** Where the built addon is expected: $DATAPLANE_NATIVE_ADDON, else native/build/Release under the package root. */
export function addonPath(): string {
  const override = process.env.DATAPLANE_NATIVE_ADDON;
  if (override) return resolve(override);
  // This file runs as src/io/native.ts (tests, tsx) or dist/src/io/native.js:
  // the package root is the nearest directory above with native/binding.gyp.
  const here = dirname(fileURLToPath(import.meta.url));
  let root = resolve(here, '..', '..');
  for (let dir = here, up = 0; up < 6; up++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'native', 'binding.gyp'))) {
      root = dir;
      break;
    }
  }
  return join(root, 'native', 'build', 'Release', ADDON_FILE);
}

/** Loads the addon at `file` (no caching): throws NativeUnavailableError saying how to build it. */
export function loadNativeFrom(file: string): NativeIo {
  if (!existsSync(file)) {
    throw new NativeUnavailableError(`the native addon is not built: run npm install (needs python3, make, g++) [missing ${file}]`);
  }
  let mod: NativeIo;
  try {
    mod = createRequire(import.meta.url)(file) as NativeIo;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new NativeUnavailableError(
      `the native addon at ${file} does not load (${why}): rebuild it with npm install (needs python3, make, g++)`,
      { cause: e },
    );
  }
  if (mod.abiVersion !== ABI_VERSION) {
    throw new NativeUnavailableError(`the native addon at ${file} is stale (abi ${mod.abiVersion}, want ${ABI_VERSION}): run npm install`);
  }
  return mod;
}

let cached: NativeIo | undefined;
let cachedError: NativeUnavailableError | undefined;

/** The addon for this thread, loaded once; throws NativeUnavailableError when it is not built. */
export function loadNative(): NativeIo {
  if (cached) return cached;
  if (cachedError) throw cachedError;
  try {
    cached = loadNativeFrom(addonPath());
    return cached;
  } catch (e) {
    if (e instanceof NativeUnavailableError) cachedError = e;
    throw e;
  }
}

/** True when the addon is built and loads (then loadNative() succeeds). */
export function nativeAvailable(): boolean {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}
