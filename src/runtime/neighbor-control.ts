// Neighbors as the main thread sees them: the configured (static) ones, which
// it owns and changes through the control API, and the ones workers learn
// from ARP, which it reads from the same shared ring the workers use to tell
// each other (arp/neighbor-sync.ts) as one more reader. Each worker's own
// table stays private and lock-free; what the main thread shows of learned
// neighbors is what was learned and when, with the state that follows from
// the config's reachable time (an INCOMPLETE resolution is not published, so
// it is not shown).
import type { PortConfig, StaticNeighbor } from '../config/load.js';
import { neighborSchema } from '../config/schema.js';
import { NeighborSync } from '../arp/neighbor-sync.js';
import { prefixMask } from '../route/prefix.js';
import { ipv4ToString, macGroupReason, macToString, MAC_LEN, parseIpv4Address, parseMacAddress, tryParseIpv4Address } from '../wire/address.js';
import { hostAddressProblem } from '../config/address-check.js';

export interface NeighborEntry {
  address: string;
  mac: string;
  dev: string;
  /** permanent: configured; reachable: learned within arp.reachableMs; stale: learned before that (the next packet resolves it again). */
  state: 'permanent' | 'reachable' | 'stale';
  source: 'static' | 'learned';
  /** Learned ones: milliseconds since a worker learned it. */
  ageMs?: number;
}

export interface NeighborChange {
  add?: { address: string; mac: string; dev?: string }[];
  /** Addresses of configured neighbors ("198.51.100.20"). */
  delete?: string[];
}

export class NeighborChangeError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`neighbor change refused, nothing applied:\n  ${problems.join('\n  ')}`);
    this.name = 'NeighborChangeError';
  }
}

/** What workers apply: a MAC sets a permanent entry, undefined removes it. */
export interface NeighborUpdate {
  port: number;
  address: number;
  mac: Uint8Array | undefined;
}

const keyOf = (port: number, address: number) => port * 2 ** 32 + (address >>> 0);

export class NeighborControl {
  private statics: StaticNeighbor[];
  private readonly learned = new Map<number, { port: number; address: number; mac: string; atMs: number }>();
  private readonly reader: NeighborSync;
  private readonly scratch = new Uint8Array(MAC_LEN);

  constructor(
    private readonly ports: readonly PortConfig[],
    statics: readonly StaticNeighbor[],
    /** The workers' NeighborSync ring. */
    ring: SharedArrayBuffer,
    private readonly reachableMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.statics = [...statics];
    // Worker id -1: every entry is someone else's, so the reader takes them all.
    this.reader = new NeighborSync(-1, ring);
  }

  /** The configured neighbors in force. */
  get configured(): readonly StaticNeighbor[] {
    return this.statics;
  }

  /** Reads what workers published since the last call (call at least every few seconds: the ring holds 1024 entries). */
  poll(): void {
    const at = this.now();
    this.reader.drain((port, ip, mac) => this.learned.set(keyOf(port, ip), { port, address: ip, mac: macToString(mac, 0), atMs: at }), this.scratch);
  }

  /**
   * Every neighbor with a MAC, as a static entry: the configured ones, then
   * those the workers learned (a worker sends to a STALE entry too, asking
   * again meanwhile). Live explain (Dataplane.explain) runs over these, so
   * it does not say that a next hop the workers talk to waits for ARP.
   */
  known(): StaticNeighbor[] {
    this.poll();
    const fixed = new Set(this.statics.map((n) => keyOf(n.port, n.address)));
    const learned = [...this.learned].filter(([k]) => !fixed.has(k)).map(([, l]) => ({ address: l.address, mac: parseMacAddress(l.mac), port: l.port }));
    return [...this.statics, ...learned];
  }

  entries(): NeighborEntry[] {
    this.poll();
    const now = this.now();
    const name = (p: number) => this.ports[p]?.name ?? `port ${p}`;
    const out: NeighborEntry[] = this.statics.map((n) => ({ address: ipv4ToString(n.address), mac: macToString(n.mac, 0), dev: name(n.port), state: 'permanent', source: 'static' }));
    const fixed = new Set(this.statics.map((n) => keyOf(n.port, n.address)));
    for (const [k, l] of this.learned) {
      if (fixed.has(k)) continue;
      const age = Math.max(0, Math.round(now - l.atMs));
      out.push({ address: ipv4ToString(l.address), mac: l.mac, dev: name(l.port), state: age < this.reachableMs ? 'reachable' : 'stale', source: 'learned', ageMs: age });
    }
    return out.sort((a, b) => a.dev.localeCompare(b.dev) || (tryParseIpv4Address(a.address) >>> 0) - (tryParseIpv4Address(b.address) >>> 0));
  }

  /** Checks a change whole; returns the updates for the workers and the static list it leads to, or throws NeighborChangeError. */
  plan(change: NeighborChange): { updates: NeighborUpdate[]; statics: StaticNeighbor[]; added: number; deleted: number } {
    const problems: string[] = [];
    if (typeof change !== 'object' || change === null) throw new NeighborChangeError(['change: must be an object with add or delete']);
    for (const k of Object.keys(change)) if (k !== 'add' && k !== 'delete') problems.push(`${k}: unknown field (expected add or delete)`);
    const next = new Map(this.statics.map((n) => [keyOf(n.port, n.address), n]));
    const updates: NeighborUpdate[] = [];
    const list = (v: unknown, name: string): unknown[] => {
      if (v === undefined) return [];
      if (Array.isArray(v)) return v;
      problems.push(`${name}: must be a list`);
      return [];
    };
    let deleted = 0;
    list(change.delete, 'delete').forEach((x, i) => {
      const a = typeof x === 'string' ? tryParseIpv4Address(x.trim()) : -1;
      if (a < 0) return void problems.push(`delete[${i}]: must be an IPv4 address such as "198.51.100.20"`);
      const found = [...next.entries()].filter(([, n]) => n.address >>> 0 === a >>> 0);
      if (found.length === 0) return void problems.push(`delete[${i}]: ${ipv4ToString(a)} is not a configured neighbor`);
      for (const [k, n] of found) {
        next.delete(k);
        updates.push({ port: n.port, address: n.address, mac: undefined });
        deleted++;
      }
    });
    let added = 0;
    list(change.add, 'add').forEach((x, i) => {
      const field = `add[${i}]`;
      const r = neighborSchema.safeParse(x);
      if (!r.success) {
        for (const issue of r.error.issues) problems.push(`${field}${issue.path.map((p) => `.${String(p)}`).join('')}: ${issue.message}`);
        return;
      }
      const address = parseIpv4Address(r.data.address) >>> 0;
      const onLink = this.ports.findIndex((p) => ((address & prefixMask(p.prefixLen)) >>> 0) === ((p.address & prefixMask(p.prefixLen)) >>> 0));
      const port = r.data.dev !== undefined ? this.ports.findIndex((p) => p.name === r.data.dev) : onLink;
      if (r.data.dev !== undefined && port < 0) return void problems.push(`${field}.dev: "${r.data.dev}" is not a configured port`);
      if (port < 0) return void problems.push(`${field}.address: ${r.data.address} is not on a connected subnet; add "dev"`);
      // What a `neighbors:` entry of the config may not be either (config/neighbors.ts): one host, not the router.
      const hostProblem = hostAddressProblem(address, this.ports);
      if (hostProblem !== undefined) return void problems.push(`${field}.address: ${r.data.address} ${hostProblem}`);
      if (this.ports.some((p) => p.address >>> 0 === address)) return void problems.push(`${field}.address: ${r.data.address} is the router's own address`);
      const mac = parseMacAddress(r.data.mac);
      const group = macGroupReason(mac);
      if (group !== undefined) return void problems.push(`${field}.mac: ${r.data.mac} is ${group}; a neighbor has a station's unicast MAC`);
      const ownMac = this.ports.find((p) => macToString(p.mac, 0) === macToString(mac, 0));
      if (ownMac !== undefined) return void problems.push(`${field}.mac: ${r.data.mac} is port "${ownMac.name}"'s own MAC`);
      next.set(keyOf(port, address), { address, mac, port });
      updates.push({ port, address, mac });
      added++;
    });
    if (problems.length > 0) throw new NeighborChangeError(problems);
    return { updates, statics: [...next.values()], added, deleted };
  }

  /** Makes a planned static list the one in force (after the workers have it). */
  commit(statics: StaticNeighbor[]): void {
    this.statics = statics;
  }

  /** The updates that take the configured neighbors from the ones in force to `target` (a reload). */
  diff(target: readonly StaticNeighbor[]): NeighborUpdate[] {
    const cur = new Map(this.statics.map((n) => [keyOf(n.port, n.address), n]));
    const out: NeighborUpdate[] = [];
    const seen = new Set<number>();
    for (const n of target) {
      const k = keyOf(n.port, n.address);
      seen.add(k);
      const c = cur.get(k);
      if (c === undefined || macToString(c.mac, 0) !== macToString(n.mac, 0)) out.push({ port: n.port, address: n.address, mac: n.mac });
    }
    for (const [k, n] of cur) if (!seen.has(k)) out.push({ port: n.port, address: n.address, mac: undefined });
    return out;
  }
}
