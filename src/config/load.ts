// Loads and checks the router config: YAML -> zod schema -> semantic checks ->
// a normalized RouterConfig with addresses as numbers, MACs as six bytes and
// ports by index: text is parsed here once, never by the consumers.
// Every problem found is reported, each naming its field, in one ConfigError;
// nothing half-loaded is ever returned.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isSeq, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { MAC_LEN, macToString, parseIpv4Address, parseMacAddress } from '../wire/address.js';
import { configSchema, type PortIo, type RawConfig, type RawRouteObject } from './schema.js';
import { RouteSelector, type ConfigNotices } from './route-precedence.js';
import { parseRouteLine, parseRoutesText, routeOrigin, type RouteSpec } from './routes.js';

export type { ConfigNotices };

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: invalid config:\n  ${problems.join('\n  ')}`);
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
  /** What loading decided on its own (shadowed and duplicate routes): for stderr and the counters. */
  notices: ConfigNotices;
}

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out === '' ? '(top level)' : out;
}

function zodProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `${pathText(issue.path)}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    if (issue.code === 'invalid_union') {
      return `${pathText(issue.path)}: must be a route line such as "192.0.2.0/24 via 198.51.100.1" or an object with "prefix"`;
    }
    return `${pathText(issue.path)}: ${issue.message}`;
  });
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

function routeFromObject(r: RawRouteObject): Omit<RouteSpec, 'origin'> {
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
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) throw new ConfigError(source, doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`));
  const parsed = configSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) throw new ConfigError(source, zodProblems(parsed.error));
  const raw = parsed.data;
  const problems: string[] = [];

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
    };
  });
  const portIndex = new Map<string, number>();
  const devices = new Map<string, number>();
  ports.forEach((p, i) => {
    const dev = p.io.type === 'tap' ? (p.io.ifname ?? p.name) : p.io.interface;
    const other = devices.get(dev);
    if (other !== undefined) problems.push(`ports[${i}].io: interface "${dev}" is already used by ports[${other}]`);
    else devices.set(dev, i);
  });
  const macs = new Map<string, string>();
  ports.forEach((p, i) => {
    if (portIndex.has(p.name)) problems.push(`ports[${i}].name: "${p.name}" is already the name of ports[${portIndex.get(p.name)}]`);
    else portIndex.set(p.name, i);
    const mac = macToString(p.mac, 0);
    const other = macs.get(mac);
    if (other !== undefined) problems.push(`ports[${i}].mac: ${mac} is already the MAC of port "${other}"`);
    else macs.set(mac, p.name);
    const mask = maskOf(p.prefixLen);
    if (p.prefixLen < 31) {
      const host = p.address & ~mask;
      if (host === 0) problems.push(`ports[${i}].address: ${raw.ports[i].address} is the network address of its subnet; give the port a host address`);
      else if (host === (~mask >>> 0)) problems.push(`ports[${i}].address: ${raw.ports[i].address} is the broadcast address of its subnet`);
    }
    for (let j = 0; j < i; j++) {
      const q = ports[j];
      const shorter = Math.min(p.prefixLen, q.prefixLen);
      const m = maskOf(shorter);
      if (((p.address & m) >>> 0) === ((q.address & m) >>> 0)) {
        problems.push(`ports[${i}].address: subnet ${raw.ports[i].address} overlaps ports[${j}] (${raw.ports[j].address})`);
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
    const line = lineOfEntry(i);
    if (line !== undefined) listLines.set(spec, line);
  };
  raw.routes.forEach((r, i) => {
    const field = `routes[${i}]`;
    if (typeof r === 'string') {
      const res = parseRouteLine(r);
      if (typeof res === 'string') problems.push(`${field}: ${res}`);
      else listRoute({ ...res, origin: field }, i);
    } else {
      const spec = routeFromObject(r);
      if (spec.type !== 'unicast' && spec.nexthops.length > 0) problems.push(`${field}: a ${spec.type} route takes no next hop`);
      else if (spec.type === 'unicast' && spec.nexthops.length === 0) problems.push(`${field}: needs "via", "dev" or "nexthops" (or a type such as blackhole)`);
      else listRoute({ ...spec, origin: field }, i);
    }
  });
  if (raw.routesFile !== undefined) {
    const file = resolve(baseDir, raw.routesFile);
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      problems.push(`routesFile: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    if (text !== undefined) {
      const res = parseRoutesText(text, file);
      for (const err of res.errors) problems.push(`routesFile: ${err}`);
      for (const r of res.routes) routes.push(r);
    }
  }
  const selector = new RouteSelector(ports);
  for (const r of routes) {
    if ((r.prefix & ~maskOf(r.len)) !== 0) {
      problems.push(`${routeOrigin(r)}: prefix has host bits set for /${r.len} (did you mean the network address?)`);
    } else selector.see(r.prefix, r.len);
    for (const n of r.nexthops) {
      if (n.port !== undefined && !portIndex.has(n.port)) problems.push(`${routeOrigin(r)}: dev "${n.port}" is not a configured port`);
    }
  }
  const where = (r: RouteSpec): string => {
    if (r.line !== undefined) return routeOrigin(r);
    const line = listLines.get(r);
    return line === undefined ? `${source} (${r.origin})` : `${source}:${line} (${r.origin})`;
  };
  const selected = selector.select(routes, where);
  problems.push(...selected.problems);
  const neighbors: StaticNeighbor[] = [];
  raw.neighbors.forEach((n, i) => {
    const address = parseIpv4Address(n.address);
    const port = n.dev !== undefined ? (portIndex.get(n.dev) ?? -1) : ports.findIndex((p) => ((address & maskOf(p.prefixLen)) >>> 0) === ((p.address & maskOf(p.prefixLen)) >>> 0));
    if (n.dev !== undefined && port < 0) problems.push(`neighbors[${i}].dev: "${n.dev}" is not a configured port`);
    else if (port < 0) problems.push(`neighbors[${i}].address: ${n.address} is not on a connected subnet; add "dev"`);
    else neighbors.push({ address, mac: parseMacAddress(n.mac), port });
  });
  if (problems.length > 0) throw new ConfigError(source, problems);
  return { ports, routes: selected.routes, neighbors, icmp: raw.icmp, arp: raw.arp, reassembly: raw.reassembly, notices: selected.notices };
}

export function loadConfig(path: string): RouterConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [`cannot read the file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`]);
  }
  return parseConfig(text, path, dirname(resolve(path)));
}
