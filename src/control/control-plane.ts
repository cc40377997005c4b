// What the control API does, without gRPC: every operation of
// proto/dataplane/api.proto as a method over the running Dataplane, the load
// balancer's supervisor and the config file. The gRPC server (server.ts)
// only maps messages to these calls and errors to status codes, so tests
// and the server exercise the same code.
//
// Changes are checked whole before anything is applied (the Dataplane's
// change methods validate first and publish one new generation); a failure
// is a ControlError naming what is wrong, and the tables stay as they were.
import { readFileSync } from 'node:fs';
import { fileErrorReason } from '../config/file-error.js';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ConfigError, parseConfig, type RouterConfig } from '../config/load.js';
import { withoutExtensionFields, YAML_PARSE_TO_JS_OPTIONS } from '../config/yaml-options.js';
import { ruleHits } from '../firewall/firewall.js';
import { originOrder } from '../firewall/describe-plan.js';
import type { LoadBalancerConfig, VipConfig } from '../lb/lb-config.js';
import { MAX_BACKEND_WEIGHT } from '../config/load-balancer-schema.js';
import { backendAddressProblems } from '../config/load-balancer.js';
import type { LbSupervisor } from '../lb/health/supervisor.js';
import type { Dataplane, LiveTraceStatus } from '../runtime/dataplane.js';
import { describeContext } from '../trace/session.js';
import { TraceFormatter } from '../trace/format.js';
import { ipv4ToString, parseIpv4Address } from '../wire/address.js';
import type { FlowEntry } from '../nat/flow-dump.js';
import { formatExplain } from '../explain/format.js';
import type { NatMappingEntry } from '../nat/mapping-dump.js';

/** The gRPC status a failure maps to (server.ts): the caller's mistake, a missing feature, or an unknown name. */
export type ControlErrorKind = 'invalid' | 'unavailable' | 'not-found';

export class ControlError extends Error {
  constructor(
    readonly kind: ControlErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

/** The config sections `Firewall.Set` replaces. */
const FIREWALL_SECTIONS = ['endpoints', 'namespaces', 'firewall', 'networkPolicies', 'networkPolicyFile'] as const;

export interface ControlPlaneOptions {
  /** The config file `dataplane run` was started with (reload without a path reads it again). */
  configFile: string;
  /** Health checks and dynamic weights, restarted when backends change. */
  lbSupervisor?: LbSupervisor;
  version: string;
  /** For log lines about changes made through the API. */
  log?: (line: string) => void;
}

export class ControlPlane {
  private readonly started = Date.now();
  /** Backends drained through the API, with the weight Undrain gives back (by "vip address"). */
  private readonly drained = new Map<string, number>();

  constructor(
    readonly dp: Dataplane,
    private readonly o: ControlPlaneOptions,
  ) {}

  // ---------------------------------------------------------------- config

  /** Parses a config (YAML text or a file) the way `run` does: errors name the field. */
  private parse(text: string, source: string, baseDir: string): RouterConfig {
    try {
      return parseConfig(text, source, baseDir);
    } catch (e) {
      if (e instanceof ConfigError) throw new ControlError('invalid', e.message);
      throw e;
    }
  }

  private readConfigFile(path: string): { text: string; source: string; baseDir: string } {
    const file = resolve(path);
    try {
      return { text: readFileSync(file, 'utf8'), source: file, baseDir: dirname(file) };
    } catch (e) {
      throw new ControlError('invalid', `cannot read ${file}: ${fileErrorReason(e)}`);
    }
  }

  /** The whole config again (a file, the running one by default, or YAML text): diffed and applied all or nothing. */
  async reload(req: { path?: string; yaml?: string }): Promise<string[]> {
    // YAML sent by ctl resolves its relative paths (routesFile, networkPolicyFile) beside the file it came from.
    const src = req.yaml ? { text: req.yaml, source: req.path || 'the reloaded config', baseDir: dirname(resolve(req.path || this.o.configFile)) } : this.readConfigFile(req.path || this.o.configFile);
    const next = this.parse(src.text, src.source, src.baseDir);
    return this.apply(next);
  }

  /** Applies a parsed config through the Dataplane, all or nothing; the load balancer's part through its supervisor, so health checks start over on new backends. */
  private async apply(next: RouterConfig): Promise<string[]> {
    const supervisor = this.o.lbSupervisor;
    let result: { applied: string[]; needsRestart: string[] };
    try {
      result = await this.dp.reload(next, supervisor === undefined ? {} : { loadBalancer: (lb) => supervisor.reload(lb) });
    } catch (e) {
      throw new ControlError('invalid', (e as Error).message);
    }
    if (result.needsRestart.length > 0) throw new ControlError('invalid', `nothing applied: ${result.needsRestart.join('; ')}`);
    for (const line of result.applied) this.o.log?.(`control: ${line}`);
    return result.applied;
  }

  status() {
    const dp = this.dp;
    return {
      version: this.o.version,
      pid: process.pid,
      workers: dp.workerCount,
      worker_cpus: dp.workerCpus ?? [],
      uptime_seconds: (Date.now() - this.started) / 1000,
      config_file: resolve(this.o.configFile),
      ports: dp.portLines,
      routes: dp.routeCount(),
      route_generation: dp.generation,
    };
  }

  // ---------------------------------------------------------------- routes

  listRoutes(prefix: string, limit: number) {
    let routes = this.dp.routeTable();
    if (prefix !== '') {
      // A bare address is its /32, as route add and del take it.
      const [addr, len] = parsePrefix(prefix, 'prefix', true);
      routes = routes.filter((r) => {
        const [a, l] = parsePrefix(r.prefix, 'route');
        return l >= len && ((a & maskOf(len)) >>> 0) === addr;
      });
    }
    const total = routes.length;
    return { routes: limit > 0 ? routes.slice(0, limit) : routes, total };
  }

  async changeRoutes(req: { add: RouteSpecMessage[]; delete: string[]; replace: RouteSpecMessage[]; replace_all: RouteSpecMessage[]; set_all: boolean }) {
    try {
      return await this.dp.changeRoutes({
        add: req.add.map(routeSpec),
        delete: req.delete,
        replace: req.replace.map(routeSpec),
        ...(req.set_all ? { replaceAll: req.replace_all.map(routeSpec) } : {}),
      });
    } catch (e) {
      throw new ControlError('invalid', (e as Error).message);
    }
  }

  // ---------------------------------------------------------------- neighbors

  listNeighbors() {
    return this.dp.neighbors();
  }

  async changeNeighbors(req: { add: { address: string; mac: string; dev: string }[]; delete: string[] }) {
    try {
      return await this.dp.changeNeighbors({ add: req.add.map((n) => ({ address: n.address, mac: n.mac, ...(n.dev ? { dev: n.dev } : {}) })), delete: req.delete });
    } catch (e) {
      throw new ControlError('invalid', (e as Error).message);
    }
  }

  // ---------------------------------------------------------------- flows

  private tracked(): void {
    if (this.dp.nat() === undefined) throw new ControlError('unavailable', 'no flow table: the config has no stateful feature (nat, firewall, loadBalancer)');
  }

  listFlows(filter: string, limit: number) {
    this.tracked();
    const r = this.userCall(() => this.dp.flows(filter, limit || 1000));
    return { flows: r.flows.map((f) => ({ json: JSON.stringify(f), text: flowText(f) })), matched: r.matched };
  }

  deleteFlows(filter: string) {
    this.tracked();
    return this.userCall(() => this.dp.deleteFlows(filter));
  }

  listMappings(filter: string, limit: number) {
    this.tracked();
    const r = this.userCall(() => this.dp.natMappings(filter, limit || 1000));
    return { mappings: r.mappings.map((m) => ({ json: JSON.stringify(m), text: mappingText(m) })), matched: r.matched };
  }

  deleteMappings(filter: string) {
    this.tracked();
    return this.userCall(() => this.dp.deleteNatMappings(filter));
  }

  /** Runs a call whose errors are the caller's (a filter typo): INVALID_ARGUMENT. */
  private userCall<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof ControlError) throw e;
      throw new ControlError('invalid', (e as Error).message);
    }
  }

  // ---------------------------------------------------------------- firewall

  listRules() {
    const plan = this.dp.config.firewall;
    const hits = this.dp.firewallHits();
    if (plan === undefined || hits === undefined) return [];
    // In the order they decide, as the offline `dataplane firewall` lists them (hits are by origin, in config order).
    const rules = ruleHits(plan, hits);
    return originOrder(plan).map((i) => rules[i]).map((r) => ({ name: r.name, origin: r.kind, direction: r.direction, priority: r.priority, action: r.action, text: `${r.kind} ${r.direction} priority ${r.priority} ${r.action}`, hits: r.hits }));
  }

  /** Replaces the firewall sections given in `yaml` (the others stay), keeping everything else as it runs now. */
  async setFirewall(yaml: string): Promise<string[]> {
    let given: unknown;
    try {
      given = withoutExtensionFields(parseYaml(yaml, YAML_PARSE_TO_JS_OPTIONS));
    } catch (e) {
      throw new ControlError('invalid', `YAML: ${(e as Error).message.split('\n')[0]}`);
    }
    if (typeof given !== 'object' || given === null || Array.isArray(given)) throw new ControlError('invalid', `expected a mapping with ${FIREWALL_SECTIONS.join(', ')}`);
    const unknown = Object.keys(given).filter((k) => !(FIREWALL_SECTIONS as readonly string[]).includes(k));
    if (unknown.length > 0) throw new ControlError('invalid', `${unknown.map((k) => `"${k}"`).join(', ')}: not a firewall section (${FIREWALL_SECTIONS.join(', ')})`);
    // The firewall is compiled against the ports and endpoints of the file; the rest of the running config (routes changed through the API) is kept.
    const src = this.readConfigFile(this.o.configFile);
    const base = parseYaml(src.text, YAML_PARSE_TO_JS_OPTIONS) as Record<string, unknown>;
    const merged = { ...base, ...(given as Record<string, unknown>) };
    const parsed = this.parse(stringifyYaml(merged), `${src.source} with the firewall given`, src.baseDir);
    return this.apply({ ...this.dp.config, firewall: parsed.firewall });
  }

  // ---------------------------------------------------------------- load balancer

  private lbConfig(): LoadBalancerConfig {
    const lb = this.dp.config.loadBalancer;
    if (lb === undefined || this.dp.lb === undefined) throw new ControlError('unavailable', 'no load balancer: the config has no loadBalancer section');
    return lb;
  }

  listVips() {
    const lb = this.lbConfig();
    const status = this.dp.lb!.status();
    const health = this.o.lbSupervisor?.health() ?? [];
    return lb.vips.map((v) => ({
      name: v.name,
      address: ipv4ToString(v.address),
      protocol: v.protocol === 6 ? 'tcp' : 'udp',
      port: v.port,
      mode: v.mode,
      table_size: v.tableSize,
      backends: status
        .filter((b) => b.vip === v.name)
        .map((b) => {
          const h = health.find((x) => x.name === v.name)?.backends.find((x) => x.address === b.address);
          return {
            address: b.address,
            state: b.state,
            weight: b.weight,
            effective_weight: b.effectiveWeight,
            new_flows: b.newFlows,
            active_flows: b.activeFlows,
            packets: b.packets,
            bytes: b.bytes,
            health: h === undefined ? 'unchecked' : h.up ? 'up' : 'down',
          };
        }),
    }));
  }

  /** Changes one backend of one VIP through the same path as a reload of the `loadBalancer:` section. */
  async changeBackend(op: 'weight' | 'drain' | 'undrain' | 'add' | 'remove', req: { vip: string; address: string; weight: number }): Promise<string[]> {
    const lb = this.lbConfig();
    const v = lb.vips.findIndex((x) => x.name === req.vip);
    if (v < 0) throw new ControlError('not-found', `vip: no VIP named "${req.vip}" (there are ${lb.vips.map((x) => `"${x.name}"`).join(', ')})`);
    let address: number;
    try {
      address = parseIpv4Address(req.address);
    } catch {
      throw new ControlError('invalid', `address: "${req.address}" is not an IPv4 address`);
    }
    if (op === 'weight' || op === 'add') checkWeight(req.weight);
    const vip = lb.vips[v];
    const at = vip.backends.findIndex((b) => b.address === address);
    const key = `${vip.name} ${req.address}`;
    let backends = vip.backends.map((b) => ({ ...b }));
    if (op === 'add') {
      if (at >= 0) throw new ControlError('invalid', `${vip.name}: backend ${req.address} is already there (weight ${vip.backends[at].weight}); set its weight instead`);
      // The config loader's own checks: the API must not add a backend a config could not hold.
      const why = backendAddressProblems(address, vip, this.dp.config.ports);
      if (why.length > 0) throw new ControlError('invalid', `${vip.name}: backend ${req.address} ${why.join('; it ')}`);
      backends.push({ address, weight: req.weight });
    } else {
      if (at < 0) throw new ControlError('not-found', `${vip.name}: no backend ${req.address} (backends: ${vip.backends.map((b) => ipv4ToString(b.address)).join(', ')})`);
      if (op === 'remove') backends = backends.filter((_, i) => i !== at);
      else if (op === 'weight') backends[at].weight = req.weight;
      else if (op === 'drain') {
        if (backends[at].weight === 0) throw new ControlError('invalid', `${vip.name}: backend ${req.address} is already drained (weight 0)`);
        this.drained.set(key, backends[at].weight);
        backends[at].weight = 0;
      } else {
        const w = this.drained.get(key);
        if (w === undefined) throw new ControlError('invalid', `${vip.name}: backend ${req.address} was not drained through the API; set its weight instead`);
        backends[at].weight = w;
      }
    }
    if (op !== 'drain') this.drained.delete(key);
    const next: VipConfig[] = lb.vips.map((x, i) => (i === v ? { ...x, backends } : x));
    return this.apply({ ...this.dp.config, loadBalancer: { vips: next } });
  }

  // ---------------------------------------------------------------- counters

  counters(prefix: string, all: boolean) {
    const counters = this.dp.counters();
    const reg = counters.registry;
    const list: { name: string; kind: string; packets: number; bytes: number }[] = [];
    for (let i = 0; i < reg.size; i++) {
      const info = reg.info(i);
      if (!info.name.startsWith(prefix)) continue;
      const packets = counters.packets(i);
      if (!all && packets === 0) continue;
      list.push({ name: info.name, kind: info.kind, packets, bytes: counters.bytes(i) });
    }
    for (const [name, v] of Object.entries(this.dp.ioCounters())) if (name.startsWith(prefix)) list.push({ name, kind: 'io', packets: v.packets, bytes: v.bytes });
    const ports = this.dp.ports().map((p) => ({
      name: p.name,
      up: p.up,
      rx_packets: p.rxPackets,
      rx_bytes: p.rxBytes,
      tx_packets: p.txPackets,
      tx_bytes: p.txBytes,
      tx_dropped: p.txDropped,
      rx_forwarded: p.rxForwarded,
      rx_dropped: p.rxDropped,
      rx_local: p.rxLocal,
      rx_queued: p.rxQueued,
      rx_lost: p.rxLost,
    }));
    return { ports, counters: list };
  }

  // ---------------------------------------------------------------- trace

  async traceStart(filter: string, count: number) {
    try {
      return traceState(await this.dp.traceStart({ filter, count: count || 100 }));
    } catch (e) {
      throw new ControlError('invalid', (e as Error).message);
    }
  }

  async traceStop() {
    return traceState(await this.dp.traceStop());
  }

  traceRead(max: number) {
    const formatter = new TraceFormatter(this.dp.nodes, describeContext(this.dp.config, this.dp.compiled));
    const packets = this.dp.traceRead(max || Number.MAX_SAFE_INTEGER).map((p) => ({
      id: p.id,
      worker: p.worker,
      in_port: this.dp.config.ports[p.inPort]?.name ?? `port ${p.inPort}`,
      time: p.tsSec + p.tsNsec / 1e9,
      lines: formatter.lines(p.records),
      in_frame: Buffer.from(p.inBytes.buffer, p.inBytes.byteOffset, p.inBytes.byteLength),
    }));
    return { packets, state: traceState(this.dp.traceStatus()) };
  }

  // ---------------------------------------------------------------- explain

  explain(packet: string) {
    const result = this.userCall(() => this.dp.explain(packet));
    return { lines: formatExplain(result).split('\n'), json: JSON.stringify(result) };
  }
}

/** The API's TraceState from the live trace's status. */
function traceState(s: LiveTraceStatus) {
  return { active: s.active, filter: s.filter, count: s.count, traced: s.picked, unread: s.unread };
}

/** A flow on one line, in conntrack -L's order: protocol, state, original then reply tuple, what is translated, time left. */
export function flowText(f: FlowEntry): string {
  const t = (x: FlowEntry['original']) => (f.protocolNumber === 6 || f.protocolNumber === 17 ? `${x.src}:${x.sport} > ${x.dst}:${x.dport}` : `${x.src} > ${x.dst}${f.protocolNumber === 1 ? ` id ${x.sport}` : ''}`);
  const parts = [f.protocol, f.state, t(f.original), `reply ${t(f.reply)}`];
  if (f.snat) parts.push('snat');
  if (f.dnat) parts.push('dnat');
  if (f.backend) parts.push(`vip ${f.backend.vip} backend ${f.backend.address}${f.backend.state === 'active' ? '' : ` (${f.backend.state})`}`);
  parts.push(f.expiresInMs === null ? 'no timeout' : `expires in ${Math.ceil(f.expiresInMs / 1000)} s`, `worker ${f.worker}`);
  return parts.join(' ');
}

/** A NAT mapping on one line: internal endpoint -> external endpoint, its rule, holders and time left. */
export function mappingText(m: NatMappingEntry): string {
  return `${m.protocol} ${m.internal}:${m.internalPort} -> ${m.external}:${m.externalPort} ${m.rule || ''} flows ${m.flows} ${m.state}${m.expiresInMs === null ? '' : ` expires in ${Math.ceil(m.expiresInMs / 1000)} s`} worker ${m.worker}`.replace(/ +/g, ' ');
}

/** A route of the API (a line or fields) as the config's route (a routes-file line or a route object). */
export type RouteSpecMessage = { spec?: 'line' | 'route'; line?: string; route?: { prefix: string; via: string; dev: string; type: string; nexthops: { via: string; dev: string; weight: number }[] } };

function routeSpec(m: RouteSpecMessage): string | { prefix: string; via?: string; dev?: string; type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit'; nexthops?: { via?: string; dev?: string; weight: number }[] } {
  if (m.spec === 'line' || (m.spec === undefined && m.line)) return m.line ?? '';
  const r = m.route;
  if (r === undefined) throw new ControlError('invalid', 'a route needs "line" or "route"');
  return {
    prefix: r.prefix,
    ...(r.via ? { via: r.via } : {}),
    ...(r.dev ? { dev: r.dev } : {}),
    ...(r.type ? { type: r.type as 'unicast' } : {}),
    ...(r.nexthops.length > 0 ? { nexthops: r.nexthops.map((n) => ({ ...(n.via ? { via: n.via } : {}), ...(n.dev ? { dev: n.dev } : {}), weight: n.weight || 1 })) } : {}),
  };
}

function checkWeight(w: number): void {
  if (!Number.isInteger(w) || w < 0 || w > MAX_BACKEND_WEIGHT) throw new ControlError('invalid', `weight: must be a whole number from 0 to ${MAX_BACKEND_WEIGHT}, got ${w}`);
}

function maskOf(len: number): number {
  return len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
}

/** "A.B.C.D/LEN" as [network, LEN]; with `bareIs32`, a bare address as its /32. */
function parsePrefix(text: string, field: string, bareIs32 = false): [number, number] {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(text);
  if (m !== null && m[2] === undefined && !bareIs32) throw new ControlError('invalid', `${field}: "${text}" is not a prefix such as 198.18.0.0/15`);
  let addr: number | undefined;
  try {
    addr = m === null ? undefined : parseIpv4Address(m[1]);
  } catch {
    addr = undefined;
  }
  const len = m === null ? NaN : Number(m[2] ?? 32);
  if (addr === undefined || !(len <= 32)) throw new ControlError('invalid', `${field}: "${text}" is not a prefix such as 198.18.0.0/15`);
  return [(addr & maskOf(len)) >>> 0, len];
}
