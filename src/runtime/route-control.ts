// The live route table on the main thread: which static routes are installed
// and where each came from (the config or the API), and changes to it that
// are checked whole before anything moves. A change is planned first (every
// item parsed and checked with the config's own grammar and checks, the
// result computed as a diff); only a plan without problems is applied to the
// control plane's trie and next-hop table, which the dataplane then
// publishes to the workers as one new generation (dataplane.ts).
//
// Next-hop indexes stay stable: the table is append-only (NexthopTable.intern
// finds an existing entry or adds one), so an index a worker holds keeps its
// meaning across generations. Neighbor state is keyed by address, not by
// next-hop index, so no worker loses what ARP learned.
import type { z } from 'zod';
import { routeFromObject, type PortConfig } from '../config/load.js';
import { mixedNexthopProblem, routeProblems } from '../config/route-check.js';
import { connectedShadows } from '../config/route-precedence.js';
import { formatRoute, parseRouteLine, routeOrigin, type RouteSpec } from '../config/routes.js';
import { routeObjectSchema, type routeSchema } from '../config/schema.js';
import { nexthopFor, nexthopProblem, type FibConfig } from '../route/fib-build.js';
import type { CompiledFib } from '../route/fib.js';
import { NO_ROUTE } from '../route/fib-view.js';
import { NEXTHOP_KIND_NAMES, NexthopKind } from '../route/nexthops.js';
import { formatPrefix, prefixMask } from '../route/prefix.js';
import { ipv4ToString, tryParseIpv4Address } from '../wire/address.js';

/** A route as the config writes it: a routes-file line ("198.18.0.0/24 via 198.51.100.2") or the `routes:` object. */
export type RouteChangeSpec = z.input<typeof routeSchema>;

export interface RouteChange {
  /** New prefixes; a prefix that already has a route is an error (use replace). */
  add?: RouteChangeSpec[];
  /** Prefixes to remove ("198.18.0.0/24", "default", or a route line whose prefix is taken). */
  delete?: string[];
  /** Routes to install whether or not their prefix has one (iproute2's `route replace`). */
  replace?: RouteChangeSpec[];
  /** The whole static table (config and API routes) becomes this list; applied before the other lists. */
  replaceAll?: RouteChangeSpec[];
}

export type RouteSource = 'config' | 'api' | 'connected';

export interface RouteNexthop {
  via?: string;
  dev?: string;
  weight: number;
}

export interface RouteEntry {
  /** "198.18.0.0/24" ("0.0.0.0/0" for the default route). */
  prefix: string;
  type: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'local' | 'broadcast';
  /** Single next hop: its gateway and port (dev alone for an on-link route). */
  via?: string;
  dev?: string;
  /** Several next hops (ECMP). */
  nexthops?: RouteNexthop[];
  source: RouteSource;
  /** The route in the routes-file grammar ("198.18.0.0/24 via 198.51.100.2 dev wan"). */
  text: string;
}

/** A change that failed its checks: nothing was applied. Each problem names the item and field ("add[3].via: ..."). */
export class RouteChangeError extends Error {
  constructor(readonly problems: readonly string[]) {
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN);
    const more = problems.length > shown.length ? `\n  ... and ${problems.length - shown.length} more` : '';
    super(`route change refused, nothing applied:\n  ${shown.join('\n  ')}${more}`);
    this.name = 'RouteChangeError';
  }
}

const MAX_PROBLEMS_SHOWN = 20;

interface Installed {
  spec: RouteSpec;
  source: 'config' | 'api';
}

/** A checked change: the keys to remove and the routes to install (disjoint). */
export interface RoutePlan {
  removals: number[];
  sets: Map<number, Installed>;
}

/** Two routes for one prefix the FIB would hold alike (type and next hops; not where they were written). */
function sameRoute(a: RouteSpec, b: RouteSpec): boolean {
  if (a.type !== b.type || a.nexthops.length !== b.nexthops.length) return false;
  return a.nexthops.every((n, i) => n.gateway === b.nexthops[i].gateway && n.port === b.nexthops[i].port && n.weight === b.nexthops[i].weight);
}

const keyOf = (prefix: number, len: number): number => (prefix >>> 0) * 64 + len;
const prefixOfKey = (k: number): { prefix: number; len: number } => ({ prefix: Math.floor(k / 64), len: k % 64 });

/** Parses "A.B.C.D/LEN", "A.B.C.D" or "default" (the route-line grammar's prefix). */
function parsePrefixText(text: string): { prefix: number; len: number } | string {
  const t = text.trim();
  if (t === 'default') return { prefix: 0, len: 0 };
  const slash = t.indexOf('/');
  const addr = tryParseIpv4Address(slash < 0 ? t : t.slice(0, slash));
  if (addr < 0) return `"${text}" is not an IPv4 prefix (A.B.C.D/LEN or default)`;
  if (slash < 0) return { prefix: addr >>> 0, len: 32 };
  const lenText = t.slice(slash + 1);
  const len = /^\d{1,2}$/.test(lenText) ? Number(lenText) : -1;
  if (len < 0 || len > 32) return `"${text}" has a bad prefix length (0-32)`;
  return { prefix: addr >>> 0, len };
}

export class RouteControl {
  private readonly entries = new Map<number, Installed>();
  private readonly portIndex: Map<string, number>;
  private readonly fibConfig: FibConfig;
  /** Prefixes connected routes hold (key -> why), refused to static routes. */
  private readonly shadows: Map<number, string>;

  constructor(
    private readonly ports: readonly PortConfig[],
    routes: readonly RouteSpec[],
    /** The control plane's working tables (the dataplane's `compiled`): changed in place by apply(). */
    readonly compiled: CompiledFib,
  ) {
    this.portIndex = new Map(ports.map((p, i) => [p.name, i]));
    this.fibConfig = { ports, routes: [] };
    this.shadows = connectedShadows(ports);
    for (const r of routes) this.entries.set(keyOf(r.prefix, r.len), { spec: r, source: 'config' });
  }

  /** Static routes installed now (config and API). */
  get size(): number {
    return this.entries.size;
  }

  /** The static routes installed now, as RouteSpecs (for the running config). */
  routes(): RouteSpec[] {
    return [...this.entries.values()].map((e) => e.spec);
  }

  /** Parses and checks one route of a change; problems are pushed as "FIELD.part: message". */
  parse(input: unknown, field: string, problems: string[]): RouteSpec | undefined {
    let spec: Omit<RouteSpec, 'origin'>;
    if (typeof input === 'string') {
      const res = parseRouteLine(input);
      if (typeof res === 'string') {
        problems.push(`${field}: ${res}`);
        return undefined;
      }
      spec = res;
    } else if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
      const r = routeObjectSchema.safeParse(input);
      if (!r.success) {
        for (const issue of r.error.issues) {
          const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
          problems.push(`${field}${path}: ${issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message}`);
        }
        return undefined;
      }
      spec = routeFromObject(r.data);
      const mixed = mixedNexthopProblem(r.data);
      if (mixed !== undefined) {
        problems.push(`${field}: ${mixed}`);
        return undefined;
      }
      if (spec.type !== 'unicast' && spec.nexthops.length > 0) {
        problems.push(`${field}.type: a ${spec.type} route takes no next hop`);
        return undefined;
      }
      if (spec.type === 'unicast' && spec.nexthops.length === 0) {
        problems.push(`${field}: needs "via", "dev" or "nexthops" (or a type such as blackhole)`);
        return undefined;
      }
    } else {
      problems.push(`${field}: must be a route line such as "198.18.0.0/24 via 198.51.100.2" or an object with "prefix"`);
      return undefined;
    }
    const route: RouteSpec = { ...spec, origin: field };
    const before = problems.length;
    for (const p of routeProblems(route, this.ports, (name) => this.portIndex.has(name))) problems.push(`${field}.${p.field}: ${p.message}`);
    if (problems.length > before) return undefined;
    const hop = nexthopProblem(route, this.fibConfig);
    if (hop !== undefined) {
      problems.push(`${field}.${hop.startsWith('dev') ? 'dev' : 'via'}: ${hop}`);
      return undefined;
    }
    const shadow = this.shadows.get(keyOf(route.prefix, route.len));
    if (shadow !== undefined) {
      problems.push(`${field}.prefix: ${formatPrefix(route.prefix, route.len)} is ${shadow}; a static route for it is never installed`);
      return undefined;
    }
    return route;
  }

  /**
   * Checks a whole change against the table as it stands and returns the
   * diff to apply. Throws RouteChangeError (naming every bad item) and changes
   * nothing when any item fails.
   */
  plan(change: RouteChange, source: 'config' | 'api' = 'api'): RoutePlan {
    const problems: string[] = [];
    if (typeof change !== 'object' || change === null) throw new RouteChangeError(['change: must be an object with add, delete, replace or replaceAll']);
    for (const k of Object.keys(change)) if (!['add', 'delete', 'replace', 'replaceAll'].includes(k)) problems.push(`${k}: unknown field (expected add, delete, replace or replaceAll)`);
    const list = (name: keyof RouteChange): unknown[] => {
      const v = change[name];
      if (v === undefined) return [];
      if (!Array.isArray(v)) {
        problems.push(`${name}: must be a list`);
        return [];
      }
      return v;
    };
    const removals = new Set<number>();
    const sets = new Map<number, Installed>();
    const exists = (k: number) => sets.has(k) || (this.entries.has(k) && !removals.has(k));
    const all = list('replaceAll');
    if (change.replaceAll !== undefined) {
      for (const k of this.entries.keys()) removals.add(k);
      all.forEach((x, i) => {
        const r = this.parse(x, `replaceAll[${i}]`, problems);
        if (r === undefined) return;
        const k = keyOf(r.prefix, r.len);
        const other = sets.get(k);
        if (other !== undefined) problems.push(`replaceAll[${i}].prefix: ${formatPrefix(r.prefix, r.len)} is also ${other.spec.origin}; give one route per prefix`);
        else sets.set(k, { spec: r, source });
        removals.delete(k);
      });
    }
    list('delete').forEach((x, i) => {
      const field = `delete[${i}]`;
      if (typeof x !== 'string') return void problems.push(`${field}: must be a prefix such as "198.18.0.0/24"`);
      const first = x.trim().split(/\s+/);
      // A route line is accepted too (`ip route del PREFIX via ...`): its prefix is what is deleted.
      const p = parsePrefixText(['blackhole', 'unreachable', 'prohibit'].includes(first[0]) ? (first[1] ?? '') : first[0]);
      if (typeof p === 'string') return void problems.push(`${field}: ${p}`);
      if ((p.prefix & ~prefixMask(p.len)) !== 0) return void problems.push(`${field}: prefix has host bits set for /${p.len}`);
      const k = keyOf(p.prefix, p.len);
      if (this.shadows.has(k)) return void problems.push(`${field}: ${formatPrefix(p.prefix, p.len)} is a connected route; it goes with its port`);
      if (!exists(k)) return void problems.push(`${field}: no route for ${formatPrefix(p.prefix, p.len)}`);
      sets.delete(k);
      if (this.entries.has(k)) removals.add(k);
    });
    list('add').forEach((x, i) => {
      const r = this.parse(x, `add[${i}]`, problems);
      if (r === undefined) return;
      const k = keyOf(r.prefix, r.len);
      if (exists(k)) {
        const had = sets.get(k)?.spec.origin ?? `installed (${this.entries.get(k)?.source ?? '?'})`;
        return void problems.push(`add[${i}].prefix: ${formatPrefix(r.prefix, r.len)} already has a route (${had}); use replace to change it`);
      }
      sets.set(k, { spec: r, source });
      removals.delete(k);
    });
    list('replace').forEach((x, i) => {
      const r = this.parse(x, `replace[${i}]`, problems);
      if (r === undefined) return;
      const k = keyOf(r.prefix, r.len);
      sets.set(k, { spec: r, source });
      removals.delete(k);
    });
    if (problems.length > 0) throw new RouteChangeError(problems);
    return { removals: [...removals], sets };
  }

  /**
   * The plan that makes a reloaded config's routes (already checked by the
   * loader) the config routes in force: config routes it no longer has go,
   * its routes replace whatever holds their prefix, and API routes for other
   * prefixes stay (`apiKept` counts them, for the reload's report). A config
   * route in force as the file says is left alone, so a reload of an
   * unchanged file plans nothing (the running config's routes, API ones
   * included, differ from the file's as soon as the API added one). Throws
   * RouteChangeError when a next hop cannot be installed (a gateway off
   * every connected subnet).
   */
  planConfig(routes: readonly RouteSpec[]): RoutePlan & { apiKept: number } {
    const problems: string[] = [];
    const sets = new Map<number, Installed>();
    const named = new Set<number>();
    for (const r of routes) {
      const hop = nexthopProblem(r, this.fibConfig);
      if (hop !== undefined) {
        problems.push(`${routeOrigin(r)}: ${hop}`);
        continue;
      }
      const k = keyOf(r.prefix, r.len);
      named.add(k);
      const had = this.entries.get(k);
      if (had === undefined || had.source !== 'config' || !sameRoute(had.spec, r)) sets.set(k, { spec: r, source: 'config' });
    }
    if (problems.length > 0) throw new RouteChangeError(problems);
    const removals: number[] = [];
    let apiKept = 0;
    for (const [k, e] of this.entries) {
      if (named.has(k)) continue;
      if (e.source === 'config') removals.push(k);
      else apiKept++;
    }
    return { removals, sets, apiKept };
  }

  /**
   * Applies a plan to the working tables. Returns what changed; `touched` is
   * told every prefix whose entries were written (fib-mirror.ts copies only those).
   */
  apply(plan: RoutePlan, touched?: (prefix: number, len: number) => void): { added: number; deleted: number; replaced: number } {
    const { lpm, nexthops } = this.compiled;
    let added = 0;
    let replaced = 0;
    for (const k of plan.removals) {
      const { prefix, len } = prefixOfKey(k);
      lpm.delete(prefix, len);
      this.entries.delete(k);
      touched?.(prefix, len);
    }
    for (const [k, e] of plan.sets) {
      const nh = nexthopFor(e.spec, this.fibConfig, nexthops);
      // plan() checked every route; a string here would be a bug in it, never a half-applied change.
      if (typeof nh === 'string') throw new Error(`route-control: ${e.spec.origin}: ${nh} after the checks passed`);
      if (this.entries.has(k)) replaced++;
      else added++;
      lpm.insert(e.spec.prefix, e.spec.len, nh);
      this.entries.set(k, e);
      touched?.(e.spec.prefix, e.spec.len);
    }
    return { added, deleted: plan.removals.length, replaced };
  }

  /** How many entries table() lists, without building them (Control.Status asks for it on every call). */
  count(): number {
    let n = this.entries.size;
    for (const p of this.ports) n += p.prefixLen < 31 ? 3 : 2;
    return n;
  }

  /** Every route in force, connected ones included, sorted by prefix then length. */
  table(): RouteEntry[] {
    const out: { key: number; entry: RouteEntry }[] = [];
    const { lpm } = this.compiled;
    for (const [k, e] of this.entries) {
      const { prefix, len } = prefixOfKey(k);
      out.push({ key: k, entry: this.describe(prefix, len, lpm.get(prefix, len), e.source, e.spec) });
    }
    for (const p of this.ports) {
      const subnet = (p.address & prefixMask(p.prefixLen)) >>> 0;
      const claims: [number, number][] = [[subnet, p.prefixLen], [p.address >>> 0, 32]];
      if (p.prefixLen < 31) claims.push([(p.address | ~prefixMask(p.prefixLen)) >>> 0, 32]);
      for (const [prefix, len] of claims) out.push({ key: keyOf(prefix, len), entry: this.describe(prefix, len, lpm.get(prefix, len), 'connected', undefined) });
    }
    return out.sort((a, b) => a.key - b.key).map((x) => x.entry);
  }

  private describe(prefix: number, len: number, nh: number, source: RouteSource, spec: RouteSpec | undefined): RouteEntry {
    const t = this.compiled.nexthops;
    const pfx = formatPrefix(prefix, len);
    const name = (i: number) => this.ports[t.port[i]]?.name;
    if (nh === NO_ROUTE) return { prefix: pfx, type: spec?.type ?? 'unicast', source, text: spec ? formatRoute(spec) : pfx };
    const kind = t.kind[nh];
    const base = { prefix: pfx, source };
    switch (kind) {
      case NexthopKind.LOCAL:
      case NexthopKind.BROADCAST:
        return { ...base, type: NEXTHOP_KIND_NAMES[kind] as 'local' | 'broadcast', dev: name(nh), text: `${NEXTHOP_KIND_NAMES[kind]} ${pfx} dev ${name(nh)}` };
      case NexthopKind.BLACKHOLE:
      case NexthopKind.UNREACHABLE:
      case NexthopKind.PROHIBIT: {
        const type = NEXTHOP_KIND_NAMES[kind] as 'blackhole' | 'unreachable' | 'prohibit';
        return { ...base, type, text: `${type} ${pfx}` };
      }
      case NexthopKind.ECMP: {
        // The configured hops and weights (the table holds them scaled into buckets).
        const nexthops: RouteNexthop[] = (spec?.nexthops ?? []).map((n) => ({ ...(n.gateway !== 0 && { via: ipv4ToString(n.gateway) }), dev: n.port ?? this.devFor(n.gateway), weight: n.weight }));
        const hops = nexthops.map((n) => `nexthop ${n.via !== undefined ? `via ${n.via} ` : ''}dev ${n.dev ?? '?'}${n.weight !== 1 ? ` weight ${n.weight}` : ''}`);
        return { ...base, type: 'unicast', nexthops, text: `${len === 0 ? 'default' : pfx} ${hops.join(' ')}` };
      }
      default: {
        const via = t.kind[nh] === NexthopKind.GATEWAY ? ipv4ToString(t.gateway[nh]) : undefined;
        const dev = name(nh);
        return { ...base, type: 'unicast', ...(via !== undefined && { via }), dev, text: `${len === 0 ? 'default' : pfx} ${via !== undefined ? `via ${via} ` : ''}dev ${dev ?? '?'}` };
      }
    }
  }

  private devFor(gateway: number): string | undefined {
    return this.ports.find((p) => ((gateway & prefixMask(p.prefixLen)) >>> 0) === ((p.address & prefixMask(p.prefixLen)) >>> 0))?.name;
  }
}
