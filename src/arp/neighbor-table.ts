// The neighbor (ARP) table: (port, IPv4 address) -> MAC, in an open-addressing
// hash over typed arrays (linear probing, backward-shift deletion), so the
// data plane's lookups allocate nothing.
//
// States: INCOMPLETE while an ARP request is out (packets wait in the pending
// queue), REACHABLE with a MAC until `expiresMs`, STALE while an entry that
// expired in use is asked again. As Linux does with its STALE/PROBE states,
// a packet for a neighbor that expired less than a reachable time ago goes
// out with the MAC it had, and the first such packet sends a unicast ARP
// request (arp-resolve); the reply makes it REACHABLE again, and no answer
// by the resolution deadline removes it (the timer, resolver.ts). Queueing
// instead stopped a flood's forwarding at every expiry: the reply sat unread
// behind the flood in the receive ring while the bounded queue overflowed.
// The fast paths take REACHABLE, unexpired entries only, so a STALE one
// sends its packets through the full graph until it is confirmed. An entry
// that expired longer ago than that is treated as missing: the next packet
// starts a new resolution.

export const NeighborState = { EMPTY: 0, INCOMPLETE: 1, REACHABLE: 2, STALE: 3 } as const;

function hash(port: number, ip: number): number {
  let h = Math.imul(ip ^ (port << 24), 0x9e3779b1);
  h ^= h >>> 15;
  return h >>> 0;
}

export class NeighborTable {
  readonly capacity: number;
  private readonly mask: number;
  readonly ip: Uint32Array;
  readonly port: Int32Array;
  readonly state: Uint8Array;
  readonly mac: Uint8Array;
  readonly expiresMs: Float64Array;
  /** INCOMPLETE and STALE entries: ARP requests sent so far and when to send the next. */
  readonly probes: Uint8Array;
  readonly nextProbeMs: Float64Array;
  /** INCOMPLETE and STALE entries: when resolution gives up. */
  readonly deadlineMs: Float64Array;
  size = 0;

  constructor(capacity = 4096) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.capacity = cap;
    this.mask = cap - 1;
    this.ip = new Uint32Array(cap);
    this.port = new Int32Array(cap).fill(-1);
    this.state = new Uint8Array(cap);
    this.mac = new Uint8Array(cap * 6);
    this.expiresMs = new Float64Array(cap);
    this.probes = new Uint8Array(cap);
    this.nextProbeMs = new Float64Array(cap);
    this.deadlineMs = new Float64Array(cap);
  }

  /** Slot of (port, ip), or -1. */
  find(port: number, ip: number): number {
    let i = hash(port, ip) & this.mask;
    for (;;) {
      const p = this.port[i];
      if (p === -1) return -1;
      if (p === port && this.ip[i] === ip >>> 0) return i;
      i = (i + 1) & this.mask;
    }
  }

  /** Slot of a REACHABLE, unexpired entry, or -1. */
  findReachable(port: number, ip: number, nowMs: number): number {
    const i = this.find(port, ip);
    if (i < 0 || this.state[i] !== NeighborState.REACHABLE || this.expiresMs[i] <= nowMs) return -1;
    return i;
  }

  /**
   * Slot of an entry whose MAC is known but not confirmed: STALE, or
   * REACHABLE and expired less than `graceMs` ago (a permanent entry never
   * expires); -1 otherwise.
   */
  findStale(port: number, ip: number, nowMs: number, graceMs: number): number {
    const i = this.find(port, ip);
    if (i < 0) return -1;
    const s = this.state[i];
    if (s === NeighborState.STALE) return i;
    return s === NeighborState.REACHABLE && this.expiresMs[i] <= nowMs && nowMs < this.expiresMs[i] + graceMs ? i : -1;
  }

  /** Slot of (port, ip), inserted EMPTY-state if absent; -1 when the table is full. */
  findOrInsert(port: number, ip: number): number {
    let i = hash(port, ip) & this.mask;
    for (;;) {
      const p = this.port[i];
      if (p === -1) break;
      if (p === port && this.ip[i] === ip >>> 0) return i;
      i = (i + 1) & this.mask;
    }
    if (this.size * 2 >= this.capacity) return -1;
    this.port[i] = port;
    this.ip[i] = ip >>> 0;
    this.state[i] = NeighborState.EMPTY;
    this.size++;
    return i;
  }

  /** Records a MAC (from ARP) for slot `i`, valid for `reachableMs`. */
  setReachable(i: number, b: Uint8Array, macOff: number, nowMs: number, reachableMs: number): void {
    // A permanent (configured) entry is never overwritten by what ARP says.
    if (this.state[i] === NeighborState.REACHABLE && this.expiresMs[i] === Infinity) return;
    const m = i * 6;
    for (let k = 0; k < 6; k++) this.mac[m + k] = b[macOff + k];
    this.state[i] = NeighborState.REACHABLE;
    this.expiresMs[i] = nowMs + reachableMs;
    this.probes[i] = 0;
  }

  /** Copies slot `i`'s MAC to b[o, o+6). */
  writeMac(i: number, b: Uint8Array, o: number): void {
    const m = i * 6;
    b[o] = this.mac[m];
    b[o + 1] = this.mac[m + 1];
    b[o + 2] = this.mac[m + 2];
    b[o + 3] = this.mac[m + 3];
    b[o + 4] = this.mac[m + 4];
    b[o + 5] = this.mac[m + 5];
  }

  /** Removes slot `i`, shifting later entries of its probe run back (no tombstones). */
  remove(i: number): void {
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      if (this.port[j] === -1) break;
      const home = hash(this.port[j], this.ip[j]) & this.mask;
      // Move j into the hole if its home is not in (hole, j] cyclically.
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        this.moveEntry(j, hole);
        hole = j;
      }
    }
    this.port[hole] = -1;
    this.state[hole] = NeighborState.EMPTY;
    this.size--;
  }

  private moveEntry(from: number, to: number): void {
    this.port[to] = this.port[from];
    this.ip[to] = this.ip[from];
    this.state[to] = this.state[from];
    this.mac.copyWithin(to * 6, from * 6, from * 6 + 6);
    this.expiresMs[to] = this.expiresMs[from];
    this.probes[to] = this.probes[from];
    this.nextProbeMs[to] = this.nextProbeMs[from];
    this.deadlineMs[to] = this.deadlineMs[from];
  }

  /** Entries for display (allocates). */
  entries(): { port: number; ip: number; state: number; mac: string; expiresMs: number }[] {
    const out = [];
    for (let i = 0; i < this.capacity; i++) {
      if (this.port[i] === -1) continue;
      const mac = Array.from(this.mac.subarray(i * 6, i * 6 + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
      out.push({ port: this.port[i], ip: this.ip[i], state: this.state[i], mac, expiresMs: this.expiresMs[i] });
    }
    return out;
  }
}
