// Loads and checks the router config: YAML -> zod schema -> semantic checks ->
// a normalized RouterConfig with addresses as numbers, MACs as six bytes and
// ports by index: text is parsed here once, never by the consumers.
// Every problem found is reported, each naming its field, in one ConfigError;
// nothing half-loaded is ever returned.
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileErrorReason } from './file-error.js';
import { textOf } from './text-file.js';
import { isSeq, LineCounter, parseAllDocuments, parseDocument } from 'yaml';
import { aliasErrorText, collectionKeyProblems, mergeKeyProblems, TOO_DEEP as DEEP, yamlErrorText } from './yaml-problems.js';
import { MAX_YAML_ALIASES, withoutExtensionFields, YAML_PARSE_OPTIONS, YAML_TO_JS_OPTIONS } from './yaml-options.js';
import type { z } from 'zod';
import { ipv4ToString, MAC_LEN, macGroupReason, macToString, parseIpv4Address, parseMacAddress, specialAddressReason } from '../wire/address.js';
import { configSchema, natSchema, neighborSchema, portSchema, routeSchema, type PortIo, type RawConfig, type RawRouteObject } from './schema.js';

import { RouteSelector, type ConfigNotices } from './route-precedence.js';
import { compileNat } from './nat.js';
import { compileFirewall } from './firewall.js';
import { validEntries } from './valid-entries.js';
import { salvageFirewall, type SalvagedEntries } from './firewall-salvage.js';
import { compileDecap, compileLoadBalancer } from './load-balancer.js';
import { loadBalancerSchema } from './load-balancer-schema.js';
import type { MetricsConfig } from './metrics-schema.js';
import type { DecapConfig, LoadBalancerConfig } from '../lb/lb-config.js';
import type { NatConfig } from '../nat/nat-config.js';
import type { FirewallPlan } from '../firewall/plan.js';
import { parseRouteLine, parseRoutesText, routeOrigin, type RouteSpec } from './routes.js';
import { checkAgainstProto, mergeProtoProblems } from './proto-check.js';
import { mixedNexthopProblem, routeProblemLines } from './route-check.js';
import { NeighborChecks } from './neighbors.js';
import { nexthopProblem } from '../route/fib-build.js';
import { issueMessage, unionMessage } from './zod-issue.js';
import { quoted, withoutControls } from './quoted.js';

export type { ConfigNotices };

/** Problem lines a config error's message shows: a file with thousands of bad entries is not a screenful per entry. */
const MAX_PROBLEM_LINES = 100;

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    // Every problem echoes the file somewhere; whatever a message did not quote (quoted.ts) is made safe here.
    problems = problems.map(withoutControls);
    const shown = problems.length > MAX_PROBLEM_LINES ? [...problems.slice(0, MAX_PROBLEM_LINES), `... and ${problems.length - MAX_PROBLEM_LINES} more (${problems.length} in all): fix these first`] : problems;
    super(`${source}: invalid config:\n  ${shown.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export interface PortConfig {
  index: number;
  name: string;
  /** Six bytes. */
  mac: Uint8Array;
  address: number;
  prefixLen: number;
  mtu: number;
  /** True when the config gave no MAC (an afpacket port then takes its interface's). */
  macDefaulted: boolean;
  /** Live I/O; default a TAP named after the port. */
  io: PortIo;
  /** Unwrap IPIP/GUE to hosts behind this port (absent: none). */
  decap: DecapConfig | undefined;
}

export interface StaticNeighbor {
  address: number;
  /** Six bytes. */
  mac: Uint8Array;
  port: number;
}

export interface RouterConfig {
  ports: PortConfig[];
  /** One per prefix, none for a connected prefix (route-precedence.ts). */
  routes: RouteSpec[];
  neighbors: StaticNeighbor[];
  icmp: RawConfig['icmp'];
  arp: RawConfig['arp'];
  reassembly: RawConfig['reassembly'];
  /** NAT rules (absent: no NAT). */
  nat: NatConfig | undefined;
  /** The flow table's size (used only when a stateful feature such as NAT is configured). */
  conntrack: RawConfig['conntrack'];
  /** The firewall (absent: none; endpoints alone configure none). */
  firewall: FirewallPlan | undefined;
  /** The L4 load balancer (absent: none). */
  loadBalancer: LoadBalancerConfig | undefined;
  /** Where `dataplane run` serves Prometheus metrics (absent: it does not). */
  metrics: MetricsConfig | undefined;
  /** What loading decided on its own (shadowed and duplicate routes): for stderr and the counters. */
  notices: ConfigNotices;
  /** Where the control API listens (socket default /run/dataplane/dataplane.sock). */
  control: RawConfig['control'];
}

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    // A key from the file is shown as written unless it holds what a terminal would act on (quoted.ts).
    const key = typeof p === 'string' && quoted(p) !== `"${p}"` ? quoted(p) : String(p);
    out += typeof p === 'number' ? `[${p}]` : out === '' ? key : `.${key}`;
  }
  return out === '' ? '(top level)' : out;
}

function zodProblems(error: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      return `${pathText(path)}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => quoted(k)).join(', ')}`;
    }
    if (issue.code === 'invalid_union') {
      // A discriminated union (a port's io) names the value it expected; a route is a line or an object.
      const options = (issue as { options?: unknown[] }).options;
      if (options !== undefined) return `${pathText(path)}: ${unionMessage(issue, options)}`;
      if (path[0] === 'routes') return `${pathText(path)}: must be a route line such as "192.0.2.0/24 via 198.51.100.1" or an object with "prefix"`;
    }
    return `${pathText(path)}: ${issueMessage(issue, path)}`;
  });
}

/**
 * A section parsed with its failing parts left out: each array element or
 * field a schema issue points at is removed (down to the first level that is
 * an array element or a field of the section), so the rest is still checked.
 * `kept` says, for each list shortened so, where each remaining element stands
 * in the file, so later messages name the entry as written.
 */
function withoutBadParts<T>(schema: z.ZodType<T>, value: unknown): { data: T | undefined; kept: Map<string, number[]> } {
  const kept = new Map<string, number[]>();
  const first = schema.safeParse(value);
  if (first.success) return { data: first.data, kept };
  if (typeof value !== 'object' || value === null) return { data: undefined, kept };
  const copy = structuredClone(value) as Record<string, unknown>;
  const dropped = new Map<string, Set<number>>();
  for (const issue of first.error.issues) {
    const [key, index] = issue.path;
    if (typeof key !== 'string') continue;
    const field = copy[key];
    if (typeof index === 'number' && Array.isArray(field)) {
      if (!dropped.has(key)) dropped.set(key, new Set());
      dropped.get(key)!.add(index);
    } else delete copy[key];
  }
  for (const [key, indexes] of dropped) {
    const list = copy[key];
    if (!Array.isArray(list)) continue;
    const at = list.flatMap((_, i) => (indexes.has(i) ? [] : [i]));
    copy[key] = at.map((i) => list[i] as unknown);
    kept.set(key, at);
  }
  const second = schema.safeParse(copy);
  return { data: second.success ? second.data : undefined, kept };
}

/**
 * Problems worded against lists that salvage shortened, renamed to the
 * entries as written: every "SECTION.LIST[i]" in them ("LIST[i]" for a
 * top-level list such as endpoints), whether the entry at fault or another it
 * is compared with, becomes the index the entry has in the file. `kept` maps
 * each shortened list to the file indexes of the entries it kept.
 */
function renumbered(problems: readonly string[], kept: ReadonlyMap<string, readonly number[]>, section?: string): string[] {
  if (kept.size === 0) return [...problems];
  const prefix = section === undefined ? '' : `${section}.`;
  const token = new RegExp(`(?<![\\w.])${prefix.replace('.', '\\.')}(\\w+)\\[(\\d+)\\]`, 'g');
  return problems.map((p) => p.replace(token, (whole, list: string, i: string) => {
    const at = kept.get(list)?.[Number(i)];
    return at === undefined ? whole : `${prefix}${list}[${at}]`;
  }));
}

/**
 * After the schema failed: the parts of the config that are valid on their
 * own (each port, route and neighbor checked alone, other sections whole or
 * their defaults), so the checks that need a parsed config still run and
 * every mistake is reported in one pass. Names of ports that failed are kept
 * apart so nothing else is blamed for pointing at them.
 */
function salvage(js: unknown): { raw: RawConfig; brokenPorts: Set<string>; at: EntryIndexes; firewallAt: SalvagedEntries } {
  const o = (typeof js === 'object' && js !== null ? js : {}) as Record<string, unknown>;
  /** The list's elements that pass `schema` alone, and where each stands in the list as written. */
  const each = <T>(list: unknown, schema: z.ZodType<T>): { items: T[]; at: number[] } => validEntries(list, schema) ?? { items: [], at: [] };
  const brokenPorts = new Set<string>();
  if (Array.isArray(o.ports)) {
    for (const p of o.ports as unknown[]) {
      const name = (p as { name?: unknown } | null)?.name;
      if (!portSchema.safeParse(p).success && typeof name === 'string') brokenPorts.add(name);
    }
  }
  const section = <T>(schema: z.ZodType<T>, value: unknown): T => {
    const r = schema.safeParse(value);
    return r.success ? r.data : schema.parse(undefined);
  };
  const routesFile = typeof o.routesFile === 'string' && o.routesFile !== '' ? o.routesFile : undefined;
  const ports = each(o.ports, portSchema);
  const routes = each(o.routes, routeSchema);
  const neighbors = each(o.neighbors, neighborSchema);
  const nat = o.nat === undefined ? { data: undefined, kept: new Map<string, number[]>() } : withoutBadParts(natSchema, o.nat);
  const firewall = salvageFirewall(o);
  return {
    raw: {
      ports: ports.items,
      routes: routes.items,
      routesFile,
      neighbors: neighbors.items,
      icmp: section(configSchema.shape.icmp, o.icmp),
      arp: section(configSchema.shape.arp, o.arp),
      reassembly: section(configSchema.shape.reassembly, o.reassembly),
      conntrack: section(configSchema.shape.conntrack, o.conntrack),
      nat: nat.data,
      ...firewall.source,
      loadBalancer: o.loadBalancer === undefined ? undefined : withoutBadParts(loadBalancerSchema, o.loadBalancer).data,
      control: section(configSchema.shape.control, o.control),
      metrics: configSchema.shape.metrics.safeParse(o.metrics).data,
    },
    brokenPorts,
    at: { ports: ports.at, routes: routes.at, neighbors: neighbors.at, nat: nat.kept },
    firewallAt: firewall.at,
  };
}

/**
 * Where the salvaged entries stand in the file: entry i of the salvaged
 * `ports` is ports[at.ports[i]] as written, and so on (absent: the schema
 * passed and nothing was left out).
 */
interface EntryIndexes {
  ports: number[];
  routes: number[];
  neighbors: number[];
  /** The nat lists withoutBadParts shortened (masquerade, snat, dnat). */
  nat: Map<string, number[]>;
}

function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** Derived MAC for a port without one: locally administered, unique per port index (02:00:00:00:hh:ll, index + 1 in the last byte). */
function defaultMac(index: number): Uint8Array {
  const mac = new Uint8Array(MAC_LEN);
  mac[0] = 0x02;
  mac[4] = (index >> 8) & 0xff;
  mac[5] = (index + 1) & 0xff;
  return mac;
}

export function routeFromObject(r: RawRouteObject): Omit<RouteSpec, 'origin'> {
  const [p, l] = r.prefix.split('/');
  const prefix = parseIpv4Address(p);
  const len = Number(l);
  const nexthops =
    r.nexthops?.map((n) => ({ gateway: n.via === undefined ? 0 : parseIpv4Address(n.via), port: n.dev, weight: n.weight })) ??
    (r.via !== undefined || r.dev !== undefined
      ? [{ gateway: r.via === undefined ? 0 : parseIpv4Address(r.via), port: r.dev, weight: 1 }]
      : []);
  return { prefix, len, type: r.type, nexthops };
}

/** Parses and checks config text; `baseDir` resolves a relative routesFile. */
export function parseConfig(text: string, source: string, baseDir: string): RouterConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { ...YAML_PARSE_OPTIONS, prettyErrors: true, lineCounter });
  if (doc.errors.length > 0) {
    const documents = doc.errors.some((e) => e.code === 'MULTIPLE_DOCS') ? parseAllDocuments(text).length : 1;
    const texts = doc.errors.map((e) => yamlErrorText(e, documents));
    // Too deep a nesting fails at every level the reader unwinds: the first (innermost) says it.
    throw new ConfigError(source, texts.filter((t, i) => !t.startsWith(DEEP) || texts.findIndex((u) => u.startsWith(DEEP)) === i));
  }
  const keyProblems = [...collectionKeyProblems(doc, lineCounter), ...mergeKeyProblems(doc, lineCounter)];
  if (keyProblems.length > 0) throw new ConfigError(source, keyProblems);
  let js: unknown;
  try {
    // An alias bomb ("billion laughs") stops here, not in memory.
    js = withoutExtensionFields(doc.toJS(YAML_TO_JS_OPTIONS) ?? {});
  } catch (e) {
    if (e instanceof ReferenceError) throw new ConfigError(source, [aliasErrorText(e, MAX_YAML_ALIASES)]);
    if (e instanceof RangeError && /call stack/.test(e.message)) throw new ConfigError(source, [DEEP]);
    // Anything else yaml refuses while building the values is the file's problem too, never a crash.
    throw new ConfigError(source, [`YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`]);
  }
  // The protobuf schema first (proto-check.ts): its problems are merged in at the end.
  const protoProblems = checkAgainstProto(js);
  const problems: string[] = [];
  const parsed = configSchema.safeParse(js);
  let raw: RawConfig;
  let brokenPorts = new Set<string>();
  // Where each entry stands in the file (for messages): itself, unless entries that failed the schema were left out.
  let entryAt: EntryIndexes | undefined;
  let firewallAt: SalvagedEntries | undefined;
  if (parsed.success) raw = parsed.data;
  else {
    for (const p of zodProblems(parsed.error)) problems.push(p);
    ({ raw, brokenPorts, at: entryAt, firewallAt } = salvage(js));
  }
  const at = (i: number): string => `ports[${entryAt?.ports[i] ?? i}]`;
  const routeAt = (i: number): number => entryAt?.routes[i] ?? i;
  const neighborAt = (i: number): number => entryAt?.neighbors[i] ?? i;

  const ports: PortConfig[] = raw.ports.map((p, index) => {
    const [addr, len] = p.address.split('/');
    return {
      index,
      name: p.name,
      mac: p.mac === undefined ? defaultMac(index) : parseMacAddress(p.mac),
      macDefaulted: p.mac === undefined,
      address: parseIpv4Address(addr),
      prefixLen: Number(len),
      mtu: p.mtu,
      io: p.io ?? { type: 'tap', vnetHdr: false, offload: false },
      decap: compileDecap(p.decap, `${at(index)}.decap`, problems),
    };
  });
  const portIndex = new Map<string, number>();
  const devices = new Map<string, number>();
  ports.forEach((p, i) => {
    const dev = p.io.type === 'tap' ? (p.io.ifname ?? p.name) : p.io.interface;
    const other = devices.get(dev);
    if (other !== undefined) problems.push(`${at(i)}.io: interface "${dev}" is already used by ${at(other)}`);
    else devices.set(dev, i);
  });
  const macs = new Map<string, string>();
  ports.forEach((p, i) => {
    if (portIndex.has(p.name)) problems.push(`${at(i)}.name: "${p.name}" is already the name of ${at(portIndex.get(p.name) ?? 0)}`);
    else portIndex.set(p.name, i);
    const mac = macToString(p.mac, 0);
    const other = macs.get(mac);
    if (other !== undefined) problems.push(`${at(i)}.mac: ${mac} is already the MAC of port "${other}"`);
    else macs.set(mac, p.name);
    if (!p.macDefaulted) {
      const kind = macGroupReason(p.mac);
      if (kind !== undefined) problems.push(`${at(i)}.mac: ${mac} is ${kind}; a port needs a unicast MAC such as 02:00:00:00:00:0${(i % 9) + 1}`);
    }
    const mask = maskOf(p.prefixLen);
    if (p.io.type === 'tap' && p.io.peerAddress !== undefined) {
      const [peerText, peerLenText] = p.io.peerAddress.split('/');
      const peer = parseIpv4Address(peerText);
      const subnet = `${ipv4ToString(p.address & mask)}/${p.prefixLen}`;
      const field = `${at(i)}.io.peerAddress`;
      if (peer === p.address) problems.push(`${field}: ${p.io.peerAddress} is the port's own address; the kernel side needs another address on ${subnet}`);
      else if (((peer & mask) >>> 0) !== ((p.address & mask) >>> 0)) problems.push(`${field}: ${p.io.peerAddress} is not on the port's subnet ${subnet}`);
      else if (Number(peerLenText) !== p.prefixLen) problems.push(`${field}: ${p.io.peerAddress} must have the port's prefix length /${p.prefixLen} (the kernel side routes the subnet the port does)`);
      else if (p.prefixLen < 31 && ((peer & ~mask) === 0 || ((peer | mask) >>> 0) === 0xffffffff)) problems.push(`${field}: ${p.io.peerAddress} is the ${(peer & ~mask) === 0 ? 'network' : 'broadcast'} address of ${subnet}`);
    }
    const special = specialAddressReason(p.address);
    if (special !== undefined) problems.push(`${at(i)}.address: ${raw.ports[i].address} is ${special}; a port needs a unicast address`);
    else if (p.prefixLen < 31) {
      const host = p.address & ~mask;
      if (host === 0) problems.push(`${at(i)}.address: ${raw.ports[i].address} is the network address of its subnet; give the port a host address`);
      else if (host === (~mask >>> 0)) problems.push(`${at(i)}.address: ${raw.ports[i].address} is the broadcast address of its subnet`);
    }
    for (let j = 0; j < i; j++) {
      const q = ports[j];
      const shorter = Math.min(p.prefixLen, q.prefixLen);
      const m = maskOf(shorter);
      if (((p.address & m) >>> 0) === ((q.address & m) >>> 0)) {
        problems.push(`${at(i)}.address: subnet ${raw.ports[i].address} overlaps ${at(j)} (${raw.ports[j].address})`);
      }
    }
  });

  const routes: RouteSpec[] = [];
  // Lines of the `routes:` entries in the config file, for messages that name them.
  const listLines = new Map<RouteSpec, number>();
  const routeNodes = doc.get('routes', true);
  const lineOfEntry = (i: number): number | undefined => {
    const start = isSeq(routeNodes) ? (routeNodes.items[i] as { range?: [number, number, number] } | undefined)?.range?.[0] : undefined;
    return start === undefined ? undefined : lineCounter.linePos(start).line;
  };
  const listRoute = (spec: RouteSpec, i: number) => {
    routes.push(spec);
    const line = lineOfEntry(routeAt(i));
    if (line !== undefined) listLines.set(spec, line);
  };
  raw.routes.forEach((r, i) => {
    const field = `routes[${routeAt(i)}]`;
    if (typeof r === 'string') {
      const res = parseRouteLine(r);
      if (typeof res === 'string') problems.push(`${field}: ${res}`);
      else listRoute({ ...res, origin: field }, i);
    } else {
      const spec = routeFromObject(r);
      const mixed = mixedNexthopProblem(r);
      if (mixed !== undefined) problems.push(`${field}: ${mixed}`);
      else if (spec.type !== 'unicast' && spec.nexthops.length > 0) problems.push(`${field}: a ${spec.type} route takes no next hop`);
      else if (spec.type === 'unicast' && spec.nexthops.length === 0) problems.push(`${field}: needs "via", "dev" or "nexthops" (or a type such as blackhole)`);
      else listRoute({ ...spec, origin: field }, i);
    }
  });
  if (raw.routesFile !== undefined) {
    const file = resolve(baseDir, raw.routesFile);
    const read = readRegularFile(file, MAX_ROUTES_FILE_BYTES, 'of routes');
    const text = typeof read === 'string' ? read : undefined;
    if (typeof read !== 'string') problems.push(`routesFile: ${read.problem}`);
    if (text !== undefined) {
      const res = parseRoutesText(text, file);
      for (const err of res.errors) problems.push(`routesFile: ${err}`);
      for (const r of res.routes) routes.push(r);
    }
  }
  const selector = new RouteSelector(ports);
  for (const r of routes) {
    if ((r.prefix & ~maskOf(r.len)) === 0) selector.see(r.prefix, r.len);
    // A dev naming a port that failed its own checks is not blamed twice.
    for (const p of routeProblemLines(r, ports, (name) => portIndex.has(name) || brokenPorts.has(name))) problems.push(p);
  }
  const where = (r: RouteSpec): string => {
    if (r.line !== undefined) return routeOrigin(r);
    const line = listLines.get(r);
    return line === undefined ? `${source} (${r.origin})` : `${source}:${line} (${r.origin})`;
  };
  const selected = selector.select(routes, where);
  // One line per duplicate route: far more than a call's arguments can be (push(...list) overflows the stack).
  for (const p of selected.problems) problems.push(p);
  // A port the schema rejected is missing from `ports`: nothing is then blamed for being off every subnet.
  const portsComplete = parsed.success || entryAt?.ports.length === (js as { ports?: unknown[] }).ports?.length;
  // The FIB builder's own check (a gateway on a connected subnet, not the router's address), made here so
  // every command that loads a config applies it, in the same pass as the rest. A dev that names no port
  // was reported above.
  if (portsComplete) {
    for (const r of selected.routes) {
      if (r.type !== 'unicast' || r.nexthops.some((n) => n.port !== undefined && !portIndex.has(n.port))) continue;
      const problem = nexthopProblem(r, { ports, routes: [] });
      if (problem !== undefined) problems.push(`${routeOrigin(r)}: ${problem}`);
    }
  }
  const neighbors: StaticNeighbor[] = [];
  const neighborChecks = new NeighborChecks(ports, selected.routes);
  raw.neighbors.forEach((n, k) => {
    const i = neighborAt(k);
    const address = parseIpv4Address(n.address);
    const port = n.dev !== undefined ? (portIndex.get(n.dev) ?? -1) : ports.findIndex((p) => ((address & maskOf(p.prefixLen)) >>> 0) === ((p.address & maskOf(p.prefixLen)) >>> 0));
    const wrong = neighborChecks.problems(i, n, address, port);
    if (wrong.length > 0) for (const p of wrong) problems.push(p);
    else if (n.dev !== undefined && port < 0) {
      if (!brokenPorts.has(n.dev)) problems.push(`neighbors[${i}].dev: "${n.dev}" is not a configured port`);
    }
    else if (port < 0) problems.push(`neighbors[${i}].address: ${n.address} is not on a connected subnet; add "dev"`);
    else neighbors.push({ address, mac: parseMacAddress(n.mac), port });
  });
  const natProblems: string[] = [];
  const nat = compileNat(raw.nat, ports, natProblems);
  for (const p of renumbered(natProblems, entryAt?.nat ?? new Map(), 'nat')) problems.push(p);
  const firewallProblems: string[] = [];
  const firewall = compileFirewall(raw, baseDir, firewallProblems, ports, firewallAt?.endpointsAllRefused === true);
  for (const p of renumbered(firewallProblems, new Map(firewallAt === undefined ? [] : [['endpoints', firewallAt.endpoints], ['namespaces', firewallAt.namespaces]]))) problems.push(p);
  const lbWarnings: string[] = [];
  const loadBalancer = compileLoadBalancer(raw.loadBalancer, ports, portsComplete, problems, lbWarnings);
  if (problems.length > 0 || protoProblems.length > 0) throw new ConfigError(source, mergeProtoProblems(protoProblems, problems));
  selected.notices.warnings.push(...lbWarnings.map((w) => `${source}: ${w}`));
  return { ports, routes: selected.routes, neighbors, icmp: raw.icmp, arp: raw.arp, reassembly: raw.reassembly, nat, conntrack: raw.conntrack, firewall, loadBalancer, notices: selected.notices, control: raw.control, metrics: raw.metrics };
}

export function loadConfig(path: string): RouterConfig {
  const text = readRegularFile(path, MAX_CONFIG_BYTES, 'of YAML');
  if (typeof text !== 'string') throw new ConfigError(path, [text.problem]);
  return parseConfig(text, path, dirname(resolve(path)));
}

/** A config this big is not one (a full routing table belongs in routesFile). */
const MAX_CONFIG_BYTES = 16 * 2 ** 20;
/** Four times the whole Internet table in this format. */
const MAX_ROUTES_FILE_BYTES = 256 * 2 ** 20;

/**
 * Reads a file that must be a regular file of at most `maxBytes`: a device
 * (/dev/zero), a FIFO or a directory is refused before a byte is read, so a
 * wrong path can neither hang the load nor fill memory. A file that is not
 * text (text-file.ts) is refused too, saying where its binary data starts;
 * `kind` says what text it should have been ("of routes").
 */
function readRegularFile(path: string, maxBytes: number, kind: string): string | { problem: string } {
  try {
    const st = statSync(path);
    if (!st.isFile()) return { problem: `${path} is not a regular file (${st.isDirectory() ? 'a directory' : 'a device, FIFO or socket'})` };
    if (st.size > maxBytes) return { problem: `${path} is ${st.size} bytes; the most that is read is ${maxBytes}` };
    return textOf(readFileSync(path), path, kind);
  } catch (e) {
    return { problem: `cannot read ${path}: ${fileErrorReason(e)}` };
  }
}
