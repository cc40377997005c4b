// Reassembly of IPv4 datagrams addressed to the router (RFC 791 3.2, RFC 815),
// bounded: a fixed pool of contexts, each with one 64 KiB buffer allocated
// up front, so memory is `contexts` x 72 KiB whatever arrives. A datagram not
// complete within the timeout is given up, and if its first fragment came,
// the router answers ICMP time exceeded, fragment reassembly (RFC 792, RFC
// 1122 3.3.2). Fragments arrive at one worker: fanout and TAP queues hash a
// fragment on its addresses only (no ports), so this state is per worker.
//
// Overlapping fragments: later data wins, as Linux does for IPv4 (RFC 791
// allows either); a fragment that contradicts the length fixed by the last
// fragment gives the datagram up.
import { IPV4_MAX_DATAGRAM } from '../wire/ipv4.js';

/** What add() says about a fragment. */
export const FragmentResult = {
  /** Taken; the datagram is not complete yet. */
  PENDING: -1,
  /** Every context is busy with another datagram: the fragment is dropped. */
  NO_CONTEXT: -2,
  /** A fragment that cannot belong to a valid datagram (beyond 65535 bytes, a middle piece not a multiple of 8, a length contradicting the last fragment). */
  BAD: -3,
} as const;

/** Bytes of IPv4 data a datagram can carry after the smallest header. */
const MAX_DATA = IPV4_MAX_DATAGRAM - 20;
const UNITS = Math.ceil(MAX_DATA / 8);
const NONE = -1;

export class Reassembler {
  readonly contexts: number;
  /** Per context: the datagram's key (source, destination, identification << 8 | protocol); NONE when free. */
  private readonly src: Int32Array;
  private readonly dst: Int32Array;
  private readonly idProto: Int32Array;
  private readonly deadlineMs: Float64Array;
  private readonly rxPort: Uint16Array;
  /** Data length, known once the last fragment (MF clear) arrived; -1 before. */
  private readonly total: Int32Array;
  /** 8-byte units of data received (each counted once). */
  private readonly covered: Int32Array;
  /** The first fragment's header (up to 60 bytes) and its length, 0 until it came. */
  private readonly header: Uint8Array;
  private readonly headerLen: Uint8Array;
  /** Data bytes, per context. */
  private readonly data: Uint8Array;
  /** One bit per 8-byte unit received. */
  private readonly bits: Uint32Array;
  private readonly bitWords = Math.ceil(UNITS / 32);
  private active = 0;
  /** The earliest deadline of an active context (Infinity when none): service() is free until then. */
  private nextDeadline = Infinity;

  constructor(
    contexts: number,
    readonly timeoutMs: number,
  ) {
    this.contexts = contexts;
    this.src = new Int32Array(contexts);
    this.dst = new Int32Array(contexts);
    this.idProto = new Int32Array(contexts).fill(NONE);
    this.deadlineMs = new Float64Array(contexts);
    this.rxPort = new Uint16Array(contexts);
    this.total = new Int32Array(contexts);
    this.covered = new Int32Array(contexts);
    this.header = new Uint8Array(contexts * 60);
    this.headerLen = new Uint8Array(contexts);
    this.data = new Uint8Array(contexts * MAX_DATA);
    this.bits = new Uint32Array(contexts * this.bitWords);
  }

  /** Datagrams being reassembled. */
  get inProgress(): number {
    return this.active;
  }

  private find(src: number, dst: number, idProto: number): number {
    for (let c = 0; c < this.contexts; c++) if (this.idProto[c] === idProto && this.src[c] === src && this.dst[c] === dst) return c;
    return NONE;
  }

  private open(src: number, dst: number, idProto: number, rxPort: number, nowMs: number): number {
    for (let c = 0; c < this.contexts; c++) {
      if (this.idProto[c] !== NONE) continue;
      this.src[c] = src;
      this.dst[c] = dst;
      this.idProto[c] = idProto;
      this.rxPort[c] = rxPort;
      this.total[c] = -1;
      this.covered[c] = 0;
      this.headerLen[c] = 0;
      this.bits.fill(0, c * this.bitWords, (c + 1) * this.bitWords);
      this.deadlineMs[c] = nowMs + this.timeoutMs;
      if (this.deadlineMs[c] < this.nextDeadline) this.nextDeadline = this.deadlineMs[c];
      this.active++;
      return c;
    }
    return NONE;
  }

  /** Frees context `c`. */
  close(c: number): void {
    if (this.idProto[c] === NONE) return;
    this.idProto[c] = NONE;
    this.active--;
  }

  /**
   * Takes the fragment whose IPv4 header is at b[o] (validated by ip4-input).
   * Returns the context number when this fragment completes the datagram
   * (read it with headerLengthOf/copyDatagram, then close()), or a
   * FragmentResult.
   */
  add(b: Uint8Array, o: number, rxPort: number, nowMs: number): number {
    const hl = (b[o] & 0x0f) << 2;
    const totalLength = (b[o + 2] << 8) | b[o + 3];
    const offset = (((b[o + 6] & 0x1f) << 8) | b[o + 7]) << 3;
    const more = (b[o + 6] & 0x20) !== 0;
    const len = totalLength - hl;
    const src = (b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15];
    const dst = (b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19];
    const idProto = (((b[o + 4] << 8) | b[o + 5]) << 8) | b[o + 9];
    if (offset + len > MAX_DATA || (more && (len & 7) !== 0) || (more && len === 0)) return FragmentResult.BAD;
    let c = this.find(src, dst, idProto);
    if (c === NONE) c = this.open(src, dst, idProto, rxPort, nowMs);
    if (c === NONE) return FragmentResult.NO_CONTEXT;
    const known = this.total[c];
    if ((!more && known >= 0 && known !== offset + len) || (known >= 0 && offset + len > known)) {
      this.close(c);
      return FragmentResult.BAD;
    }
    if (!more) this.total[c] = offset + len;
    if (offset === 0) {
      this.header.set(b.subarray(o, o + hl), c * 60);
      this.headerLen[c] = hl;
    }
    this.data.set(b.subarray(o + hl, o + hl + len), c * MAX_DATA + offset);
    const bits = this.bits;
    const base = c * this.bitWords;
    const end = (offset + len + 7) >> 3;
    let covered = this.covered[c];
    for (let u = offset >> 3; u < end; u++) {
      const w = base + (u >>> 5);
      const m = 1 << (u & 31);
      if ((bits[w] & m) === 0) {
        bits[w] |= m;
        covered++;
      }
    }
    this.covered[c] = covered;
    const total = this.total[c];
    if (total >= 0 && this.headerLen[c] !== 0 && covered === (total + 7) >> 3) {
      if (this.headerLen[c] + total > IPV4_MAX_DATAGRAM) {
        this.close(c);
        return FragmentResult.BAD;
      }
      return c;
    }
    return FragmentResult.PENDING;
  }

  /** The whole datagram's length (header + data) of a complete context. */
  datagramLength(c: number): number {
    return this.headerLen[c] + this.total[c];
  }

  /**
   * Writes the datagram of context `c` at b[o]: the first fragment's header
   * (MF and offset cleared, total length and checksum left to the caller)
   * then `dataBytes` bytes of data (all of it for a complete datagram; the
   * start of it for the quote of an ICMP error). Returns the header length.
   */
  copyDatagram(c: number, b: Uint8Array, o: number, dataBytes: number): number {
    const hl = this.headerLen[c];
    b.set(this.header.subarray(c * 60, c * 60 + hl), o);
    b.set(this.data.subarray(c * MAX_DATA, c * MAX_DATA + dataBytes), o + hl);
    return hl;
  }

  /** The first fragment's header length (0 until it came). */
  firstHeaderLength(c: number): number {
    return this.headerLen[c];
  }

  /** True when the first fragment (offset 0) of context `c` came: only then is a timeout answered with ICMP (RFC 792). */
  hasFirst(c: number): boolean {
    return this.headerLen[c] !== 0;
  }

  /** The total length field of the first fragment, as it arrived. */
  firstFragmentLength(c: number): number {
    const h = c * 60;
    return (this.header[h + 2] << 8) | this.header[h + 3];
  }

  portOf(c: number): number {
    return this.rxPort[c];
  }

  /**
   * Gives up the datagrams whose time ran out: calls `expired(c)` for each
   * (before it is freed) so the caller can answer ICMP time exceeded. Cheap
   * when nothing is due.
   */
  service(nowMs: number, expired: (c: number) => void): void {
    if (nowMs < this.nextDeadline) return;
    let next = Infinity;
    for (let c = 0; c < this.contexts; c++) {
      if (this.idProto[c] === NONE) continue;
      if (this.deadlineMs[c] <= nowMs) {
        expired(c);
        this.close(c);
      } else if (this.deadlineMs[c] < next) next = this.deadlineMs[c];
    }
    this.nextDeadline = next;
  }
}
