// A batch (vector) of packets: the packet bytes live in one arena, one fixed
// slot per packet, and the per-packet metadata is struct-of-arrays typed
// arrays indexed by slot. Nothing here allocates after construction: the
// arena and metadata are reused batch after batch.
//
// Slots [0, rxCapacity) receive packets from a port; slots above are a pool
// for packets the pipeline makes itself (ICMP errors, ARP requests,
// fragments). Every slot starts `HEADROOM` bytes in, so a node can prepend
// headers by moving `start` back instead of copying the packet: icmp-error
// puts its IPv4 and ICMP headers in front of the datagram it quotes, and an
// encapsulation (IPIP/GUE) would do the same.

export const MAX_BATCH = 256;
export const DEFAULT_SLOT_BYTES = 2048;
export const HEADROOM = 128;
/**
 * Slot bytes for a router whose largest port MTU is `maxMtu`: DEFAULT_SLOT_BYTES
 * while a full frame of that MTU (Ethernet header and headroom included)
 * fits one, else room for one in 64-byte steps, so that a jumbo port (MTU
 * 9000) takes its frames whole (replay, explain). 9000 gives 9152-byte
 * slots: a batch's 512 ordinary slots then take 4.6 MiB instead of 1 MiB.
 */
export function slotBytesForMtu(maxMtu: number): number {
  const need = HEADROOM + 14 + maxMtu;
  return need <= DEFAULT_SLOT_BYTES ? DEFAULT_SLOT_BYTES : Math.ceil(need / 64) * 64;
}

/**
 * Bytes per slot for batches that serve an offload port (`largeSlots`): a TCP
 * super-packet (IPv4 total length up to 65535) and its Ethernet header fit,
 * with the usual headroom. There is room for a VLAN tag too, only so that a
 * tagged super-frame arrives whole (AF_PACKET's OFFLOAD_MAX_FRAME) and
 * ethernet-input counts it as tagged (ports are untagged) rather than the
 * burst as oversize.
 */
const OFFLOAD_SLOT_BYTES = 65536 + 2 * HEADROOM;

/**
 * Per-slot offload metadata (`Batch.offload`, OffloadMeta.WORDS uint16 per
 * slot): the fields of the virtio_net_hdr an offload TAP hands over with a
 * frame, in that header's order. FLAGS and GSO_TYPE both 0 means "none" (a
 * whole, checksummed frame), which is what initSlot sets; the other words are
 * meaningful only when one of them is set. CSUM_START and HDR_LEN count from
 * the frame's first byte (`start`). They still hold on the way out: ports are
 * untagged (ethernet-input drops tagged frames), so ip4-output writes the
 * outgoing Ethernet header where the received one was and `start` does not
 * move. A node that moved it would have to move them too.
 */
export const OffloadMeta = {
  /** VNET_HDR_F_NEEDS_CSUM: the TCP/UDP checksum is partial (pseudo-header sum only). */
  FLAGS: 0,
  /** VNET_HDR_GSO_*: a super-packet the receiver segments (or takes whole). */
  GSO_TYPE: 1,
  /** Length of the headers (a hint for the kernel). */
  HDR_LEN: 2,
  /** Payload bytes per segment (the MSS). */
  GSO_SIZE: 3,
  /** The checksum covers [CSUM_START, end) and goes at CSUM_START + CSUM_OFFSET. */
  CSUM_START: 4,
  CSUM_OFFSET: 5,
  WORDS: 6,
} as const;
export const VNET_HDR_F_NEEDS_CSUM = 1;
export const VNET_HDR_GSO_NONE = 0;
export const VNET_HDR_GSO_TCPV4 = 1;
export const VNET_HDR_GSO_ECN = 0x80;

/** Per-packet flag bits (`Batch.flags`). */
export const PacketFlag = {
  /** Made by the router itself (ICMP error, echo reply, ARP): never the subject of an ICMP error. */
  LOCAL_ORIGIN: 1,
  /** Arrived as a link-layer broadcast or multicast. */
  L2_BROADCAST: 2,
  /** The IPv4 header was checked by ip4-input (accessors may trust it). */
  IP4_VALID: 4,
  /**
   * Traced: every node verdict about this packet is recorded (the graph's
   * TraceRecorder), under Batch.traceId. Packets made from a traced packet
   * (fragments, segments) inherit it; nodes that rewrite the flags keep it.
   */
  TRACED: 8,
  /**
   * The fate of this received packet has been counted against its rx port
   * (forwarded, dropped, delivered to the router, queued for ARP): nothing
   * that happens to the slot later (it becomes an ICMP error, is dropped
   * again) counts twice.
   */
  ACCOUNTED: 16,
  /** A fragment or segment cut from a received packet: its parent's fate was counted. */
  CHILD: 32,
  /**
   * The firewall judged this first packet and allowed it: nat-output starts
   * its flow even where no NAT rule translates it, so its replies pass as
   * the flow's (a stateful firewall).
   */
  TRACK: 64,
  /**
   * Goes to the load-balancer backend in Batch.ctRef by direct server
   * return (src/lb/): lb-forward routes it to the backend, and for the
   * tunnel modes lb-encap wraps it after nat-output has started its flow.
   */
  LB_DSR: 128,
} as const;

/** Batch.ctMark: what nat-output does with a packet that has no flow yet. */
export const CtMark = {
  /** Nothing: a tracked packet already translated, or one no stateful feature wants. */
  NONE: 0,
  /** A candidate for a new flow: source translation if a rule of the egress port takes it. */
  NEW: 1,
  /** Destination translated by DNAT rule ctRef: a new flow whatever leaves it. */
  DNAT: 2,
  /** Destination translated to the internal endpoint of binding ctRef (inbound through a binding, or hairpin). */
  VIA_BINDING: 3,
  /** To a load-balancer VIP: backend ctRef was chosen (NAT mode: the destination translated to it): a new flow pinned to it. */
  LB: 4,
} as const;

/**
 * What a port's receive burst wrote itself, so that Batch.takeBurst keeps it
 * (flags of its `keep` argument); everything else is set up as initSlot does.
 */
export const BurstKeep = {
  /** batch.start: the frames are where the burst put them (AF_XDP: in the UMEM), not at slotStart. */
  STARTS: 1,
  /** tsSec/tsNsec: the kernel's receive time (AF_PACKET's ring). */
  TIMESTAMPS: 2,
  /** The offload words (an offload TAP's or AF_PACKET's virtio header). */
  OFFLOAD: 4,
} as const;

/**
 * Bursts of fewer slots than this are set up slot by slot (initSlot): a
 * column fill() is a builtin call each, which pays only over many slots, and
 * a lightly loaded port receives a few frames at a time.
 */
export const COLUMN_SETUP_MIN = 16;

/** What became of a received packet, counted once per packet by its rx port (Graph.fateByRxPort). */
export const Fate = {
  /** Left the router (whole, or as fragments or segments). */
  FORWARDED: 0,
  /** Dropped by a node, ICMP error or not. */
  DROPPED: 1,
  /** Addressed to the router and taken: answered (echo, ARP) or consumed. */
  LOCAL: 2,
  /** Handed to ARP resolution: it leaves when the next hop answers, or becomes an ICMP error. */
  QUEUED: 3,
  COUNT: 4,
} as const;

export interface BatchOptions {
  /** Packets a port may receive into one batch (<= MAX_BATCH). */
  rxCapacity?: number;
  /** Extra slots for packets made inside the pipeline. */
  generatedCapacity?: number;
  /** Bytes per slot, headroom included: the largest frame is slotBytes - HEADROOM. */
  slotBytes?: number;
  /** Offload metadata per slot (`offload`) is always there; this only sizes slots: OFFLOAD_SLOT_BYTES when true and slotBytes is not given. */
  largeSlots?: boolean;
  /** Use a SharedArrayBuffer for the arena (workers hand it to native I/O). */
  shared?: boolean;
  /** Slots for whole IPv4 datagrams of up to 65535 bytes (a datagram to the router, reassembled); default 1. */
  jumboCapacity?: number;
  /**
   * Bytes after the slots that ports own (default 0): an AF_XDP port's UMEM,
   * so that its received frames are in the arena where the kernel wrote them
   * (batch.start points into this area) and need no copy.
   */
  portAreaBytes?: number;
}

/** Bytes of a jumbo slot: the headroom, an Ethernet header and the largest IPv4 datagram. */
export const JUMBO_SLOT_BYTES = HEADROOM + 16 + 65535 + 1;

export class Batch {
  readonly arena: Uint8Array;
  readonly slotBytes: number;
  /**
   * Bytes from one slot's start to the next's: slotBytes, plus one cache line
   * when slotBytes is a multiple of 1 KiB. With a 2048-byte stride every
   * slot's first line (where the headers are) falls in one of only 2 of the
   * L1 data cache's 64 sets (set = address bits 6-11), so a batch's 256
   * headers competed for 2 x 12 lines and every pass over them came from L2;
   * at 2112 the headers spread over all 64 sets. Measured on the Intel Xeon
   * VM, processes alternating, 3 rounds each at load 4: the plain-L3
   * pipeline's fast path 50.3/50.3/48.6 ns a packet against 52.6/52.0/52.4,
   * the full graph 101/100/98 against 105/103/104 (`npm run bench -- pipeline`).
   */
  readonly slotStride: number;
  readonly rxCapacity: number;
  /** All slots: received, generated and jumbo (slot numbers are below this). */
  readonly capacity: number;
  /** Largest frame a slot holds (jumbo slots excepted). */
  readonly maxFrame: number;
  /** Slots [firstJumbo, capacity) are jumbo slots (JUMBO_SLOT_BYTES each, after the others in the arena). */
  readonly firstJumbo: number;
  /** The ports' area (BatchOptions.portAreaBytes): arena[portAreaStart, portAreaStart + portAreaBytes), after every slot. */
  readonly portAreaStart: number;
  readonly portAreaBytes: number;

  /** Byte offset of the frame's first byte in `arena`. */
  readonly start: Uint32Array;
  /** start's memory: [0, capacity) is start, [capacity, capacity + rxCapacity) the receive slots' default starts. */
  private readonly startStore: Uint32Array;
  /** Frame length in bytes (link-layer header included). */
  readonly length: Uint32Array;
  /** Offset of the IPv4 header in `arena` (set by ethernet-input). */
  readonly l3: Uint32Array;
  /** Port the packet came in on, and the one it leaves by. */
  readonly rxPort: Uint16Array;
  readonly txPort: Uint16Array;
  /** Next-hop index chosen by ip4-lookup. */
  readonly nextHop: Uint32Array;
  /** Flow hash (5-tuple), for ECMP and, later, flow-table lookups. */
  readonly flowHash: Uint32Array;
  /** Capture timestamp, carried through to the output (replay). */
  readonly tsSec: Float64Array;
  readonly tsNsec: Uint32Array;
  readonly flags: Uint8Array;
  /** The ICMP error a node asks icmp-error to send: type << 24 | code << 16 | parameter (MTU or pointer). */
  readonly icmpError: Uint32Array;
  /** Offload metadata, OffloadMeta.WORDS per slot (virtio_net_hdr fields; "none" unless an offload TAP set them). */
  readonly offload: Uint16Array;
  /** Which traced packet a slot belongs to (meaningful only with PacketFlag.TRACED). */
  readonly traceId: Uint32Array;
  /**
   * Connection tracking (src/nat/): what ct-input decided about a packet with
   * no flow yet, for nat-output after routing (CtMark; NONE for every other
   * packet, set by initSlot), the entry it refers to (a binding or DNAT
   * rule), and the packet's key as it arrived, before any translation
   * (4 words per slot: the new flow's original key).
   */
  readonly ctMark: Uint8Array;
  readonly ctRef: Int32Array;
  readonly ctKey: Int32Array;
  /** The flow table's hash of ctKey (FlowIndex.hash), set with it by ct-input: nat-output inserts the new flow without hashing its key again. */
  readonly ctHash: Int32Array;
  /**
   * A word a node leaves about its verdict for the packet trace (the
   * firewall: the outcome that names the deciding rule). Recorded with each
   * verdict of a traced packet; meaningful only in the record of the node
   * that set it.
   */
  readonly note: Int32Array;
  /**
   * An address a node leaves with its note (the firewall: the destination
   * it judged, which for a load-balanced packet is its backend, not the VIP
   * the packet still carries). Written together with note by the node that
   * sets it, never reset: meaningful only in that node's record.
   */
  readonly noteAddress: Int32Array;
  /** Count of received packets in slots [0, rxCount). */
  rxCount = 0;
  /** Packets marked TRACED in this batch (0 nearly always: the graph skips every trace check then). */
  traced = 0;

  private readonly freeGenerated: Uint16Array;
  private freeCount = 0;
  private readonly freeJumbo: Uint16Array;
  private freeJumboCount = 0;
  /**
   * A slot of either pool was taken or returned since the last reset(). When
   * not, the pools are as reset() leaves them, so it skips rebuilding them: a
   * batch of forwarded packets takes no generated slot, and refilling the
   * free list (256 writes) cost as much per batch as a write per packet.
   */
  private poolsTouched = true;

  constructor(opts: BatchOptions = {}) {
    this.rxCapacity = opts.rxCapacity ?? MAX_BATCH;
    if (this.rxCapacity < 1 || this.rxCapacity > MAX_BATCH) throw new RangeError(`rxCapacity must be 1..${MAX_BATCH}`);
    const generated = opts.generatedCapacity ?? MAX_BATCH;
    const jumbo = opts.jumboCapacity ?? 1;
    this.firstJumbo = this.rxCapacity + generated;
    this.capacity = this.firstJumbo + jumbo;
    this.slotBytes = opts.slotBytes ?? (opts.largeSlots ? OFFLOAD_SLOT_BYTES : DEFAULT_SLOT_BYTES);
    if (this.slotBytes <= HEADROOM + 64) throw new RangeError(`slotBytes must exceed ${HEADROOM + 64}`);
    this.maxFrame = this.slotBytes - HEADROOM;
    this.slotStride = this.slotBytes % 1024 === 0 ? this.slotBytes + 64 : this.slotBytes;
    this.portAreaStart = this.firstJumbo * this.slotStride + jumbo * JUMBO_SLOT_BYTES;
    this.portAreaBytes = opts.portAreaBytes ?? 0;
    const bytes = this.portAreaStart + this.portAreaBytes;
    this.arena = new Uint8Array(opts.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    const n = this.capacity;
    // The start column, then every receive slot's default start (resetStarts copies them over in one call).
    this.startStore = new Uint32Array(n + this.rxCapacity);
    this.start = this.startStore.subarray(0, n);
    for (let i = 0; i < this.rxCapacity; i++) this.startStore[n + i] = i * this.slotStride + HEADROOM;
    this.length = new Uint32Array(n);
    this.l3 = new Uint32Array(n);
    this.rxPort = new Uint16Array(n);
    this.txPort = new Uint16Array(n);
    this.nextHop = new Uint32Array(n);
    this.flowHash = new Uint32Array(n);
    this.tsSec = new Float64Array(n);
    this.tsNsec = new Uint32Array(n);
    this.flags = new Uint8Array(n);
    this.icmpError = new Uint32Array(n);
    this.offload = new Uint16Array(n * OffloadMeta.WORDS);
    this.traceId = new Uint32Array(n);
    this.ctMark = new Uint8Array(n);
    this.ctRef = new Int32Array(n);
    this.ctKey = new Int32Array(n * 4);
    this.ctHash = new Int32Array(n);
    this.note = new Int32Array(n);
    this.noteAddress = new Int32Array(n);
    this.freeGenerated = new Uint16Array(generated);
    this.freeJumbo = new Uint16Array(jumbo);
    this.reset();
  }

  /** Offset where slot `i`'s frame starts when nothing has been prepended. */
  slotStart(i: number): number {
    if (i < this.firstJumbo) return i * this.slotStride + HEADROOM;
    return this.firstJumbo * this.slotStride + (i - this.firstJumbo) * JUMBO_SLOT_BYTES + HEADROOM;
  }

  /** Empties the batch: every generated slot back in the pool, no received packets. */
  reset(): void {
    this.rxCount = 0;
    this.traced = 0;
    if (!this.poolsTouched) return;
    this.poolsTouched = false;
    this.freeCount = 0;
    for (let s = this.firstJumbo - 1; s >= this.rxCapacity; s--) this.freeGenerated[this.freeCount++] = s;
    this.freeJumboCount = 0;
    for (let s = this.capacity - 1; s >= this.firstJumbo; s--) this.freeJumbo[this.freeJumboCount++] = s;
  }

  /**
   * Sets up received slot `i` for a frame of `len` bytes at the slot's
   * default start; the caller then fills `arena` at `start[i]`.
   */
  initSlot(i: number, len: number, rxPort: number, tsSec: number, tsNsec: number): void {
    // Only what a packet brings in; l3, txPort, nextHop, flowHash and
    // icmpError are written by the node that decides them before any node
    // reads them.
    this.start[i] = i < this.firstJumbo ? i * this.slotStride + HEADROOM : this.slotStart(i);
    this.length[i] = len;
    this.rxPort[i] = rxPort;
    this.tsSec[i] = tsSec;
    this.tsNsec[i] = tsNsec;
    this.flags[i] = 0;
    this.ctMark[i] = 0;
    this.note[i] = -1;
    const m = i * OffloadMeta.WORDS;
    this.offload[m] = 0;
    this.offload[m + 1] = 0;
  }

  /**
   * initSlot for received slots [first, first + n) at once, all from port
   * `rxPort` with timestamp 0, lengths[k] for slot first + k: a burst's
   * metadata written a column at a time (fill() per array) instead of ten
   * scattered writes per slot. Every length must be <= maxFrame (the caller
   * checked: a port's ring cannot hand over more). Does not move rxCount.
   */
  initSlots(first: number, n: number, lengths: ArrayLike<number>, rxPort: number): void {
    const end = first + n;
    if (first < 0 || end > this.rxCapacity) throw new RangeError(`initSlots: slots ${first}..${end - 1} are not receive slots`);
    this.resetStarts(first, end);
    const length = this.length;
    if (lengths.length === n) length.set(lengths, first);
    else for (let k = 0; k < n; k++) length[first + k] = lengths[k];
    this.fillColumns(first, end, rxPort, 0);
  }

  /**
   * Takes received slots [first, first + n) that a port's native burst just
   * filled (lengths in `length`, frames at `start` or, unless `keep` has
   * BurstKeep.STARTS, at the slots' default start, which this sets) as
   * initSlot would set them up, keeping what `keep` names; a burst of
   * COLUMN_SETUP_MIN slots or more a column at a time. Does not move rxCount.
   */
  takeBurst(first: number, n: number, rxPort: number, keep: number): void {
    const end = first + n;
    if (first < 0 || end > this.rxCapacity) throw new RangeError(`takeBurst: slots ${first}..${end - 1} are not receive slots`);
    if ((keep & BurstKeep.STARTS) === 0) this.resetStarts(first, end);
    if (n >= COLUMN_SETUP_MIN) {
      this.fillColumns(first, end, rxPort, keep);
      return;
    }
    const meta = this.offload;
    for (let i = first; i < end; i++) {
      this.rxPort[i] = rxPort;
      if ((keep & BurstKeep.TIMESTAMPS) === 0) {
        this.tsSec[i] = 0;
        this.tsNsec[i] = 0;
      }
      this.flags[i] = 0;
      this.ctMark[i] = 0;
      this.note[i] = -1;
      if ((keep & BurstKeep.OFFLOAD) === 0) {
        const m = i * OffloadMeta.WORDS;
        meta[m] = 0;
        meta[m + 1] = 0;
      }
    }
  }

  /**
   * Receive slots [first, end) back at their default starts: one copyWithin
   * from the defaults kept after the column, where a loop of start[i] =
   * i * stride + HEADROOM cost a full burst ~1 us (~4 ns a slot).
   */
  private resetStarts(first: number, end: number): void {
    const cap = this.capacity;
    this.startStore.copyWithin(first, cap + first, cap + end);
  }

  /** The per-slot columns of initSlot but start and length, for slots [first, end), one fill() each. */
  private fillColumns(first: number, end: number, rxPort: number, keep: number): void {
    this.rxPort.fill(rxPort, first, end);
    if ((keep & BurstKeep.TIMESTAMPS) === 0) {
      this.tsSec.fill(0, first, end);
      this.tsNsec.fill(0, first, end);
    }
    this.flags.fill(0, first, end);
    this.ctMark.fill(0, first, end);
    this.note.fill(-1, first, end);
    // Every offload word, not only FLAGS and GSO_TYPE: one contiguous fill, and the others mean nothing when those are 0.
    if ((keep & BurstKeep.OFFLOAD) === 0) this.offload.fill(0, first * OffloadMeta.WORDS, end * OffloadMeta.WORDS);
  }

  /** True when slot `s` carries offload metadata (a partial checksum or a super-packet). */
  hasOffload(s: number): boolean {
    const m = s * OffloadMeta.WORDS;
    return (this.offload[m] | this.offload[m + 1]) !== 0;
  }

  /** Marks slot `s` as a whole, checksummed frame (for packets rewritten in place, like ICMP replies). */
  clearOffload(s: number): void {
    const m = s * OffloadMeta.WORDS;
    this.offload[m] = 0;
    this.offload[m + 1] = 0;
  }

  /**
   * The next received slot for a frame of `len` bytes, its metadata set; the
   * caller puts the bytes at arena[start[i], + len) before the batch runs
   * (replay gathers a batch's copies into one native call: frame-copier.ts).
   * -1 when the batch is full or the frame too big.
   */
  claimFrame(len: number, rxPort: number, tsSec: number, tsNsec: number): number {
    if (this.rxCount >= this.rxCapacity || len > this.maxFrame) return -1;
    const i = this.rxCount++;
    this.initSlot(i, len, rxPort, tsSec, tsNsec);
    return i;
  }

  /** Copies a frame into the next received slot; returns the slot or -1 when full or too large. */
  pushFrame(data: Uint8Array, off: number, len: number, rxPort: number, tsSec: number, tsNsec: number): number {
    const i = this.claimFrame(len, rxPort, tsSec, tsNsec);
    // set() of a view is a memcpy; it costs one small view per frame, which
    // measured cheaper than copying bytes in a loop (95 vs 160 ns for 60 B).
    // Callers that keep a view per frame use pushView and allocate nothing.
    if (i >= 0) this.arena.set(data.subarray(off, off + len), this.start[i]);
    return i;
  }

  /** Like pushFrame, from a view the caller keeps (no per-call allocation for any size). */
  pushView(frame: Uint8Array, rxPort: number, tsSec: number, tsNsec: number): number {
    const i = this.claimFrame(frame.length, rxPort, tsSec, tsNsec);
    if (i >= 0) this.arena.set(frame, this.start[i]);
    return i;
  }

  /**
   * Takes a slot for a packet the pipeline makes, inheriting the timestamp
   * and rx port of `parent`. Returns -1 when the pool is empty (the caller
   * counts a drop).
   */
  allocGenerated(parent: number): number {
    const s = this.allocGeneratedAt(this.rxPort[parent], this.tsSec[parent], this.tsNsec[parent]);
    if (s < 0) return s;
    // A piece of a received packet: not the router's own (it may get ICMP errors), not counted again.
    this.flags[s] = (this.flags[parent] & ~PacketFlag.ACCOUNTED) | PacketFlag.CHILD;
    if ((this.flags[parent] & PacketFlag.TRACED) !== 0) {
      this.flags[s] |= PacketFlag.TRACED;
      this.traceId[s] = this.traceId[parent];
    }
    return s;
  }

  /** Marks slot `s` as traced packet `id`. */
  markTraced(s: number, id: number): void {
    this.flags[s] |= PacketFlag.TRACED;
    this.traceId[s] = id;
    this.traced++;
  }

  /** Takes a generated slot with an explicit rx port and timestamp (timers), or -1. */
  allocGeneratedAt(rxPort: number, tsSec: number, tsNsec: number): number {
    if (this.freeCount === 0) return -1;
    this.poolsTouched = true;
    const s = this.freeGenerated[--this.freeCount];
    this.initSlot(s, 0, rxPort, tsSec, tsNsec);
    this.flags[s] = PacketFlag.LOCAL_ORIGIN;
    return s;
  }

  /** Takes a jumbo slot (a whole IPv4 datagram of up to 65535 bytes) with the rx port and timestamp of `parent`, or -1. */
  allocJumbo(parent: number): number {
    if (this.freeJumboCount === 0) return -1;
    this.poolsTouched = true;
    const s = this.freeJumbo[--this.freeJumboCount];
    this.initSlot(s, 0, this.rxPort[parent], this.tsSec[parent], this.tsNsec[parent]);
    return s;
  }

  /** Generated slots still free. */
  get generatedFree(): number {
    return this.freeCount;
  }

  /** Returns a generated slot to the pool (received slots are recycled by reset()). */
  release(slot: number): void {
    if (slot >= this.rxCapacity) this.poolsTouched = true;
    if (slot >= this.firstJumbo) this.freeJumbo[this.freeJumboCount++] = slot;
    else if (slot >= this.rxCapacity) this.freeGenerated[this.freeCount++] = slot;
  }

  /** A view of a packet's bytes (allocates: for tests, tracing and output, not the hot path). */
  bytes(slot: number): Uint8Array {
    return this.arena.subarray(this.start[slot], this.start[slot] + this.length[slot]);
  }
}
