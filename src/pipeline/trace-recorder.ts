// The packet trace's record keeping: for a packet marked TRACED, every
// verdict a node gives it (sent on to a next node, dropped, dropped but kept
// for an ICMP error, consumed) appends one fixed-size record of Int32s: the
// node, the verdict, and what the packet looked like at that moment (the
// next hop and egress port chosen so far, the IPv4 addresses, protocol, TTL
// and ports), so the formatter can show what each node decided on and what
// it rewrote. Records are numbers only; turning them into text happens when
// the trace is read (src/trace/), never on the packet path.
//
// The graph records only when the batch holds a traced packet (Batch.traced);
// otherwise the trace costs one branch per enqueue call.
import { IPPROTO_ICMP } from '../wire/ipv4.js';
import { PacketFlag, type Batch } from './batch.js';

/** What a node did with the packet. */
export const Verdict = {
  /** Sent to next node number `index`. */
  NEXT: 1,
  /** Dropped for reason number `index`. */
  DROP: 2,
  /** Counted as dropped for reason `index`, kept to become an ICMP error. */
  COUNT_DROP: 3,
  /** Consumed by the node (queued for ARP, replaced by fragments, a message to the router). */
  CONSUMED: 4,
} as const;

/** Word offsets within one record. */
export const TraceField = {
  TRACE_ID: 0,
  NODE: 1,
  VERDICT: 2,
  INDEX: 3,
  NEXT_HOP: 4,
  TX_PORT: 5,
  ICMP_ERROR: 6,
  FLAGS: 7,
  /** Frame length in bytes. */
  LENGTH: 8,
  /** 1 when the IPv4 fields below were read (the header had been validated). */
  HAS_IP: 9,
  SRC: 10,
  DST: 11,
  /** protocol << 8 | TTL */
  PROTO_TTL: 12,
  /** TCP/UDP: source port << 16 | destination port; ICMP: type << 24 | code << 16 | identifier (0 for a later fragment). */
  L4: 13,
  /** The flags and fragment offset word of the IPv4 header, DF masked out: MF << 13 | offset in 8-byte units. */
  FRAGMENT: 14,
  /** The batch slot: a traced packet may become several (fragments, segments), each in its own slot. */
  SLOT: 15,
  /** Batch.note: what the node that gave this verdict left about it (the firewall's outcome). */
  NOTE: 16,
  /** Batch.noteAddress: the address that goes with NOTE (the firewall: the destination it judged). */
  NOTE_ADDRESS: 17,
  /**
   * NOTE_DETAIL_WORDS words the recording node derives from NOTE as it
   * records (PipelineNode.traceNote): a note may be an index into a table of
   * the thread that traced (the firewall's outcome ids are interned per
   * worker), while the record is read and formatted on another (the main
   * thread, for `ctl trace read`). Zero unless the node fills them.
   */
  NOTE_DETAIL: 18,
  WORDS: 24,
} as const;

/** Words at TraceField.NOTE_DETAIL. */
export const NOTE_DETAIL_WORDS = 6;

/** A traced packet's bytes at the moment a node dropped it. */
export interface DropSnapshot {
  traceId: number;
  node: number;
  reason: number;
  rxPort: number;
  bytes: Uint8Array;
}

const W = TraceField.WORDS;

export class TraceRecorder {
  /** Records of the current batch: count * TraceField.WORDS Int32s. */
  records = new Int32Array(W * 256);
  count = 0;
  readonly drops: DropSnapshot[] = [];

  /** Empties the records for a new batch. */
  begin(): void {
    this.count = 0;
    this.drops.length = 0;
  }

  /** Appends a record; returns its offset in `records` (read `records` again after: it may have grown). */
  record(batch: Batch, slot: number, node: number, verdict: number, index: number): number {
    if ((this.count + 1) * W > this.records.length) {
      const grown = new Int32Array(this.records.length * 2);
      grown.set(this.records);
      this.records = grown;
    }
    const r = this.records;
    const o = this.count++ * W;
    const b = batch.arena;
    r[o + TraceField.TRACE_ID] = batch.traceId[slot];
    r[o + TraceField.SLOT] = slot;
    r[o + TraceField.NODE] = node;
    r[o + TraceField.VERDICT] = verdict;
    r[o + TraceField.INDEX] = index;
    r[o + TraceField.NEXT_HOP] = batch.nextHop[slot];
    r[o + TraceField.TX_PORT] = batch.txPort[slot];
    r[o + TraceField.ICMP_ERROR] = batch.icmpError[slot];
    r[o + TraceField.FLAGS] = batch.flags[slot];
    r[o + TraceField.LENGTH] = batch.length[slot];
    r[o + TraceField.NOTE] = batch.note[slot];
    r[o + TraceField.NOTE_ADDRESS] = batch.noteAddress[slot];
    r.fill(0, o + TraceField.NOTE_DETAIL, o + TraceField.NOTE_DETAIL + NOTE_DETAIL_WORDS);
    const ip = (batch.flags[slot] & PacketFlag.IP4_VALID) !== 0;
    r[o + TraceField.HAS_IP] = ip ? 1 : 0;
    if (!ip) return o;
    const l3 = batch.l3[slot];
    r[o + TraceField.SRC] = (b[l3 + 12] << 24) | (b[l3 + 13] << 16) | (b[l3 + 14] << 8) | b[l3 + 15];
    r[o + TraceField.DST] = (b[l3 + 16] << 24) | (b[l3 + 17] << 16) | (b[l3 + 18] << 8) | b[l3 + 19];
    const proto = b[l3 + 9];
    r[o + TraceField.PROTO_TTL] = (proto << 8) | b[l3 + 8];
    const l4 = l3 + ((b[l3] & 0x0f) << 2);
    const firstFragment = ((b[l3 + 6] & 0x1f) | b[l3 + 7]) === 0;
    r[o + TraceField.FRAGMENT] = ((b[l3 + 6] << 8) | b[l3 + 7]) & 0x3fff;
    const end = batch.start[slot] + batch.length[slot];
    if (!firstFragment || l4 + 8 > end) r[o + TraceField.L4] = 0;
    else if (proto === IPPROTO_ICMP) r[o + TraceField.L4] = (b[l4] << 24) | (b[l4 + 1] << 16) | (b[l4 + 4] << 8) | b[l4 + 5];
    else r[o + TraceField.L4] = (b[l4] << 24) | (b[l4 + 1] << 16) | (b[l4 + 2] << 8) | b[l4 + 3];
    return o;
  }

  /** Keeps a copy of a traced packet a node dropped (its slot may be reused later in the batch). */
  snapshotDrop(batch: Batch, slot: number, node: number, reason: number): void {
    this.drops.push({ traceId: batch.traceId[slot], node, reason, rxPort: batch.rxPort[slot], bytes: batch.bytes(slot).slice() });
  }
}

/** One record, read by field (for formatting; allocates nothing per field). */
export class TraceRecordView {
  constructor(
    readonly records: Int32Array,
    readonly offset: number,
  ) {}

  get(field: number): number {
    return this.records[this.offset + field];
  }
  get node(): number {
    return this.get(TraceField.NODE);
  }
  get verdict(): number {
    return this.get(TraceField.VERDICT);
  }
  get index(): number {
    return this.get(TraceField.INDEX);
  }
  get slot(): number {
    return this.get(TraceField.SLOT);
  }
  get hasIp(): boolean {
    return this.get(TraceField.HAS_IP) !== 0;
  }
  get src(): number {
    return this.get(TraceField.SRC) >>> 0;
  }
  get dst(): number {
    return this.get(TraceField.DST) >>> 0;
  }
  get protocol(): number {
    return (this.get(TraceField.PROTO_TTL) >>> 8) & 0xff;
  }
  get ttl(): number {
    return this.get(TraceField.PROTO_TTL) & 0xff;
  }
  get nextHop(): number {
    return this.get(TraceField.NEXT_HOP) >>> 0;
  }
  get txPort(): number {
    return this.get(TraceField.TX_PORT);
  }
  get icmpError(): number {
    return this.get(TraceField.ICMP_ERROR) >>> 0;
  }
  get note(): number {
    return this.get(TraceField.NOTE);
  }
  /** The address that goes with the note (unsigned). */
  get noteAddress(): number {
    return this.get(TraceField.NOTE_ADDRESS) >>> 0;
  }
  /** Word `i` (< NOTE_DETAIL_WORDS) of what the recording node derived from the note. */
  noteDetail(i: number): number {
    return this.get(TraceField.NOTE_DETAIL + i);
  }
  get l4(): number {
    return this.get(TraceField.L4) >>> 0;
  }
  /** Fragment offset in bytes (0 for a whole datagram or a first fragment). */
  get fragmentOffset(): number {
    return (this.get(TraceField.FRAGMENT) & 0x1fff) << 3;
  }
  get moreFragments(): boolean {
    return (this.get(TraceField.FRAGMENT) & 0x2000) !== 0;
  }
}

/** What a node's describeVerdict() may use to put a verdict in words (built where the trace is read). */
export interface TraceDescribeContext {
  portName(port: number): string;
  /** The route a destination matched and where it leads, in iproute2's words ("198.19.0.0/16 via 198.51.100.253 dev wan"). */
  route(dst: number): string;
}
