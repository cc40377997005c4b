// Later fragments that arrive before their first: with NAT they cannot be
// translated (they carry no ports) until the first fragment has found or
// started the flow and left a fragment entry (bindings.ts). ct-input copies
// them here, a fixed buffer per worker, and looks for their entry again
// before each batch; the first fragment may come to this worker or another
// (fanout hashes fragments by addresses only). Found: they go on translated.
// Not found within the hold time: dropped, counted.

/** Fragments one worker holds at once. */
export const HOLD_FRAGMENTS = 64;
/** How long a later fragment waits for its first. */
export const HOLD_MS = 2000;

export class FragmentHold {
  readonly arena: Uint8Array;
  readonly length = new Uint32Array(HOLD_FRAGMENTS);
  readonly rxPort = new Uint16Array(HOLD_FRAGMENTS);
  readonly since = new Float64Array(HOLD_FRAGMENTS);
  readonly tsSec = new Float64Array(HOLD_FRAGMENTS);
  readonly tsNsec = new Uint32Array(HOLD_FRAGMENTS);
  /** Bytes before the IPv4 header (the Ethernet header is kept). */
  readonly l3Offset = new Uint16Array(HOLD_FRAGMENTS);
  count = 0;

  constructor(readonly slotBytes: number) {
    this.arena = new Uint8Array(HOLD_FRAGMENTS * slotBytes);
  }

  /** Copies a frame in; false when full or too large. */
  add(frame: Uint8Array, start: number, len: number, l3Offset: number, rxPort: number, now: number, tsSec: number, tsNsec: number): boolean {
    if (this.count === HOLD_FRAGMENTS || len > this.slotBytes) return false;
    const i = this.count++;
    this.arena.set(frame.subarray(start, start + len), i * this.slotBytes);
    this.length[i] = len;
    this.l3Offset[i] = l3Offset;
    this.rxPort[i] = rxPort;
    this.since[i] = now;
    this.tsSec[i] = tsSec;
    this.tsNsec[i] = tsNsec;
    return true;
  }

  /** Removes entry i (the last takes its place). */
  remove(i: number): void {
    const last = --this.count;
    if (i === last) return;
    this.arena.copyWithin(i * this.slotBytes, last * this.slotBytes, last * this.slotBytes + this.length[last]);
    this.length[i] = this.length[last];
    this.l3Offset[i] = this.l3Offset[last];
    this.rxPort[i] = this.rxPort[last];
    this.since[i] = this.since[last];
    this.tsSec[i] = this.tsSec[last];
    this.tsNsec[i] = this.tsNsec[last];
  }
}
