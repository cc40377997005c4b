// The next-hop table: what a FIB leaf points at. Entries are shared by every
// route with the same action (thousands of routes via one gateway are one
// entry), stored struct-of-arrays so the data plane reads them with plain
// typed-array loads.
//
// Kinds, as iproute2 users know them:
//   GATEWAY      forward to `gateway` out of `port` (ARP-resolve the gateway)
//   ATTACHED     the destination is on the link of `port` (ARP-resolve the destination)
//   LOCAL        addressed to the router itself (ip4-local)
//   BROADCAST    a connected subnet's broadcast address (not forwarded, RFC 1812 5.3.5.2)
//   BLACKHOLE    silent drop
//   UNREACHABLE  drop and send ICMP net unreachable
//   PROHIBIT     drop and send ICMP communication administratively prohibited (code 13)
//   ECMP         a group: pick a member by flow hash (`groupStart`, `groupSize` into `members`)

export const NexthopKind = {
  GATEWAY: 0,
  ATTACHED: 1,
  LOCAL: 2,
  BROADCAST: 3,
  BLACKHOLE: 4,
  UNREACHABLE: 5,
  PROHIBIT: 6,
  ECMP: 7,
} as const;

export const NEXTHOP_KIND_NAMES = ['gateway', 'attached', 'local', 'broadcast', 'blackhole', 'unreachable', 'prohibit', 'ecmp'] as const;

/** ECMP groups are expanded by weight into this many buckets at most (weights are scaled down beyond it). */
export const ECMP_MAX_BUCKETS = 256;

export interface NexthopArrays {
  count: number;
  kind: Uint8Array;
  port: Uint16Array;
  gateway: Uint32Array;
  groupStart: Uint32Array;
  groupSize: Uint16Array;
  members: Uint32Array;
}

export class NexthopTable {
  kind: Uint8Array;
  port: Uint16Array;
  gateway: Uint32Array;
  groupStart: Uint32Array;
  groupSize: Uint16Array;
  /** ECMP buckets: each is a next-hop index of a non-ECMP entry; a member appears `weight` times. */
  members: Uint32Array;
  count = 0;
  private memberCount = 0;
  private readonly dedup = new Map<string, number>();

  constructor(initial = 64) {
    this.kind = new Uint8Array(initial);
    this.port = new Uint16Array(initial);
    this.gateway = new Uint32Array(initial);
    this.groupStart = new Uint32Array(initial);
    this.groupSize = new Uint16Array(initial);
    this.members = new Uint32Array(initial * 4);
  }

  private grow(): void {
    const n = this.kind.length * 2;
    const copy = <T extends Uint8Array | Uint16Array | Uint32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.kind = copy(this.kind, (k) => new Uint8Array(k));
    this.port = copy(this.port, (k) => new Uint16Array(k));
    this.gateway = copy(this.gateway, (k) => new Uint32Array(k));
    this.groupStart = copy(this.groupStart, (k) => new Uint32Array(k));
    this.groupSize = copy(this.groupSize, (k) => new Uint16Array(k));
  }

  /** Returns the index of the entry (kind, port, gateway), adding it if new. */
  intern(kind: number, port: number, gateway: number): number {
    const key = `${kind}/${port}/${gateway >>> 0}`;
    const found = this.dedup.get(key);
    if (found !== undefined) return found;
    if (this.count === this.kind.length) this.grow();
    const i = this.count++;
    this.kind[i] = kind;
    this.port[i] = port;
    this.gateway[i] = gateway >>> 0;
    this.dedup.set(key, i);
    return i;
  }

  /** Adds (or finds) an ECMP group over non-ECMP members with weights. */
  internGroup(memberIds: readonly number[], weights: readonly number[]): number {
    const key = `g/${memberIds.join(',')}/${weights.join(',')}`;
    const found = this.dedup.get(key);
    if (found !== undefined) return found;
    const total = weights.reduce((a, b) => a + b, 0);
    const scale = total > ECMP_MAX_BUCKETS ? ECMP_MAX_BUCKETS / total : 1;
    const buckets: number[] = [];
    memberIds.forEach((m, k) => {
      const n = Math.max(1, Math.round(weights[k] * scale));
      for (let j = 0; j < n; j++) buckets.push(m);
    });
    if (this.memberCount + buckets.length > this.members.length) {
      const bigger = new Uint32Array(Math.max(this.members.length * 2, this.memberCount + buckets.length));
      bigger.set(this.members);
      this.members = bigger;
    }
    if (this.count === this.kind.length) this.grow();
    const i = this.count++;
    this.kind[i] = NexthopKind.ECMP;
    this.groupStart[i] = this.memberCount;
    this.groupSize[i] = buckets.length;
    for (const b of buckets) this.members[this.memberCount++] = b;
    this.dedup.set(key, i);
    return i;
  }

  /** The arrays a worker needs, for postMessage (the dedup map stays with the control plane). */
  toPlain(): NexthopArrays {
    return {
      count: this.count,
      kind: this.kind.slice(0, this.count),
      port: this.port.slice(0, this.count),
      gateway: this.gateway.slice(0, this.count),
      groupStart: this.groupStart.slice(0, this.count),
      groupSize: this.groupSize.slice(0, this.count),
      members: this.members.slice(0, this.memberCount),
    };
  }

  /** A read-only table for a worker, from toPlain()'s arrays. */
  static fromPlain(a: NexthopArrays): NexthopTable {
    const t = new NexthopTable(Math.max(1, a.count));
    t.kind.set(a.kind);
    t.port.set(a.port);
    t.gateway.set(a.gateway);
    t.groupStart.set(a.groupStart);
    t.groupSize.set(a.groupSize);
    t.members = a.members.slice();
    t.count = a.count;
    t.memberCount = a.members.length;
    return t;
  }

  /** Resolves an ECMP entry to one member by flow hash; other entries resolve to themselves. */
  resolve(index: number, flowHash: number): number {
    if (this.kind[index] !== NexthopKind.ECMP) return index;
    return this.members[this.groupStart[index] + ((flowHash >>> 0) % this.groupSize[index])];
  }

  /** The address to ARP for on next hop `index`: its gateway for GATEWAY, else the datagram's destination `dst`. */
  neighborAddress(index: number, dst: number): number {
    return this.kind[index] === NexthopKind.GATEWAY ? this.gateway[index] : dst >>> 0;
  }
}
