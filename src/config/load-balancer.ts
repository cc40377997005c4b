// The config's `loadBalancer:` section and the ports' `decap:` option,
// checked against the rest of the config and compiled into the types the
// dataplane runs (src/lb/lb-config.ts): addresses to numbers, defaults
// filled in. Every mistake is a problem naming its field; advice that does
// not stop the load (a small Maglev table) is a warning.
import { DEFAULT_GUE_PORT, DEFAULT_TABLE_SIZE, type DecapConfig, type HealthCheckConfig, type LoadBalancerConfig, type VipConfig } from '../lb/lb-config.js';
import { ipv4ToString, parseIpv4Address } from '../wire/address.js';
import { hostAddressProblem } from './address-check.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import type { z } from 'zod';
import { vipSchema, type RawDecap, type RawLoadBalancer, type RawVip } from './load-balancer-schema.js';
import { issueMessage, unionMessage } from './zod-issue.js';

/** The largest Maglev table: 2^24 entries (64 MiB of 32-bit slots per VIP and generation). */
export const MAX_TABLE_SIZE = 2 ** 24;
/**
 * Maglev table entries of all VIPs together. Each entry holds
 * TABLE_ENTRY_BYTES while the dataplane runs and takes about 0.1-0.2 us to
 * build (at start, and on every change of a VIP's backends or weights), so
 * the total bounds the memory and the start-up time of run, replay and
 * explain alike: 2^24 entries are 192 MiB and about 2-3 s, the cost of one
 * table of the largest size: nearly 20 times the issue's own case (one VIP of
 * 655373 entries for 1000 backends and a few of 65537).
 */
export const MAX_TOTAL_TABLE_ENTRIES = 2 ** 24;
/**
 * Bytes a table entry holds (src/lb/lb-control.ts, lb-tables.ts): two
 * generations of 4-byte backend ids in the shared table (workers read one
 * while the other is written) and the 4-byte buffer Maglev builds into.
 * A rebuild briefly takes 8 more per entry of its VIP. Measured: 12.0 bytes
 * of ArrayBuffer memory per entry for one VIP of 16777213 entries.
 */
export const TABLE_ENTRY_BYTES = 12;

/**
 * Maglev balances within about 1% when the table has at least this many
 * slots per backend (the paper's M >> N; 65537 for 100 backends in its
 * evaluation). Below it the load still spreads, less evenly: a warning.
 */
export const RECOMMENDED_SLOTS_PER_BACKEND = 100;

/** What the checks need of a port. */
export interface PortView {
  name: string;
  address: number;
  prefixLen: number;
}

function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** The primes nearest below and above n, to put in the message. */
function primesAround(n: number): string {
  let below = Math.min(n - 1, MAX_TABLE_SIZE);
  while (below >= 2 && !isPrime(below)) below--;
  let above = Math.max(n + 1, 2);
  while (!isPrime(above)) above++;
  return below >= 2 ? `${below} or ${above}` : String(above);
}

function subnetText(p: PortView): string {
  return `${p.name} ${ipv4ToString((p.address & maskOf(p.prefixLen)) >>> 0)}/${p.prefixLen}`;
}

function onSubnet(addr: number, p: PortView): boolean {
  const m = maskOf(p.prefixLen);
  return ((addr & m) >>> 0) === ((p.address & m) >>> 0);
}

/** The VIP's table size, or a problem (range, primality, backends); below the recommended size, a warning. */
function tableSizeOf(v: RawVip, field: string, problems: string[], warnings: string[]): number {
  const size = v.tableSize ?? DEFAULT_TABLE_SIZE;
  const n = v.backends.length;
  if (size > MAX_TABLE_SIZE) problems.push(`${field}: ${size} is more than ${MAX_TABLE_SIZE} (2^24), the largest table`);
  else if (!isPrime(size)) problems.push(`${field}: ${size} is not prime (Maglev's permutation needs a prime table size; ${primesAround(size)} is)`);
  else if (size < n) problems.push(`${field}: ${size} is less than the ${n} backends (every backend needs a slot)`);
  else if (size < RECOMMENDED_SLOTS_PER_BACKEND * n) {
    warnings.push(`${field}: ${size} slots for ${n} backends; at least ${RECOMMENDED_SLOTS_PER_BACKEND} × backends (${RECOMMENDED_SLOTS_PER_BACKEND * n}) is recommended, so Maglev balances within about 1%`);
  }
  return size;
}

function healthCheckOf(v: RawVip, field: string, problems: string[]): HealthCheckConfig | undefined {
  const h = v.healthCheck;
  if (h === undefined) return undefined;
  if (h.timeoutMs >= h.intervalMs) problems.push(`${field}.timeoutMs: ${h.timeoutMs} must be less than intervalMs (${h.intervalMs}): a probe ends before the next starts`);
  const timing = { intervalMs: h.intervalMs, timeoutMs: h.timeoutMs, rise: h.rise, fall: h.fall };
  if (h.type === 'icmp') return { type: 'icmp', ...timing };
  const port = h.port ?? v.port ?? 0;
  if (port === 0) problems.push(`${field}.port: required when the VIP has no port (it serves all ports)`);
  return h.type === 'tcp' ? { type: 'tcp', port, ...timing } : { type: 'http', port, path: h.path, expectStatus: h.expectStatus, ...timing };
}

/**
 * Why `addr` cannot be a backend of `vip` (its own address, not unicast, a
 * port's own address, off every subnet for dsr-l2), each reason worded to
 * follow the address. The config loader and the control API's `lb backend
 * add` (control-plane.ts) both ask this, so they refuse the same backends.
 * `portsComplete` false skips the subnet check (ports that failed to load).
 */
export function backendAddressProblems(addr: number, vip: { address: number; mode: VipConfig['mode'] }, ports: readonly PortView[], portsComplete = true): string[] {
  const problems: string[] = [];
  if (addr === vip.address) problems.push(`is the VIP's own address`);
  else {
    const why = hostAddressProblem(addr, ports);
    if (why !== undefined) problems.push(`${why}; a backend is one host`);
  }
  const port = ports.find((p) => p.address === addr);
  if (port !== undefined) problems.push(`is port "${port.name}"'s own address (the dataplane itself)`);
  else if (vip.mode === 'dsr-l2' && portsComplete && !ports.some((p) => onSubnet(addr, p))) {
    problems.push(
      `is on no port's subnet (${ports.map(subnetText).join(', ') || 'no ports'}); dsr-l2 reaches a backend by rewriting the MAC, so it must be on a connected subnet (or use dsr-ipip, dsr-gue or nat)`,
    );
  }
  return problems;
}

function compileVip(v: RawVip, field: string, ports: readonly PortView[], portsComplete: boolean, problems: string[], warnings: string[]): VipConfig {
  const address = parseIpv4Address(v.address);
  const notHost = hostAddressProblem(address, ports);
  if (notHost !== undefined) problems.push(`${field}.address: ${v.address} ${notHost}; a VIP is a unicast address a client can reach`);
  const own = ports.find((p) => p.address === address);
  if (own !== undefined) problems.push(`${field}.address: ${v.address} is port "${own.name}"'s own address; a VIP needs an address of its own`);
  if (v.snat !== undefined && v.mode !== 'nat') problems.push(`${field}.snat: applies to mode nat only (this VIP is ${v.mode}: the backend answers the client directly)`);
  if (v.guePort !== undefined && v.mode !== 'dsr-gue') problems.push(`${field}.guePort: applies to mode dsr-gue only (this VIP is ${v.mode})`);
  if (v.dynamicWeights !== undefined && v.dynamicWeights.signal !== 'flows' && v.healthCheck === undefined) {
    problems.push(`${field}.dynamicWeights.signal: ${v.dynamicWeights.signal} needs a healthCheck (its probes measure the latency)`);
  }
  const seen = new Map<number, number>();
  const backends = v.backends.map((b, j) => {
    const bf = `${field}.backends[${j}].address`;
    const addr = parseIpv4Address(b.address);
    const first = seen.get(addr);
    if (first !== undefined) problems.push(`${bf}: ${b.address} is already ${field}.backends[${first}]`);
    else seen.set(addr, j);
    for (const why of backendAddressProblems(addr, { address, mode: v.mode }, ports, portsComplete)) problems.push(`${bf}: ${b.address} ${why}`);
    return { address: addr, weight: b.weight };
  });
  return {
    name: v.name,
    address,
    protocol: v.protocol === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP,
    port: v.port ?? 0,
    mode: v.mode,
    tableSize: tableSizeOf(v, `${field}.tableSize`, problems, warnings),
    hash: v.hash,
    affinity: v.affinity === undefined ? undefined : { timeoutMs: v.affinity.timeoutSeconds * 1000, sourcePrefixLength: v.affinity.sourcePrefixLength },
    healthCheck: healthCheckOf(v, `${field}.healthCheck`, problems),
    dynamicWeights: v.dynamicWeights === undefined ? undefined : { ...v.dynamicWeights },
    snat: v.mode === 'nat' && v.snat === true,
    // Only dsr-gue encapsulates in UDP; 0 elsewhere says "not used".
    guePort: v.mode === 'dsr-gue' ? (v.guePort ?? DEFAULT_GUE_PORT) : 0,
    backends,
  };
}

/** A schema issue as "loadBalancer.vips[1].backends[0].weight: must be 0-65535", as load.ts words them. */
function issueText(prefix: string, issue: z.core.$ZodIssue): string {
  let at = prefix;
  for (const p of issue.path) at += typeof p === 'number' ? `[${p}]` : `.${String(p)}`;
  if (issue.code === 'unrecognized_keys') return `${at}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  // A discriminated union (healthCheck.type) lists what it takes.
  if (issue.code === 'invalid_union' && 'options' in issue && Array.isArray(issue.options)) return `${at}: ${unionMessage(issue, issue.options)}`;
  return `${at}: ${issueMessage(issue, [prefix, ...issue.path])}`;
}

function portsText(v: VipConfig): string {
  return `${v.protocol === IPPROTO_TCP ? 'tcp' : 'udp'} ${v.port === 0 ? 'all ports' : `port ${v.port}`}`;
}

function mib(entries: number): string {
  return `${Math.round((entries * TABLE_ENTRY_BYTES) / 2 ** 20)} MiB`;
}

/** The VIP whose table takes the entries of all VIPs past MAX_TOTAL_TABLE_ENTRIES, named with what the tables would cost. */
function tableTotalProblem(vips: readonly { vip: VipConfig; i: number }[], problems: string[]): void {
  // A table size that is a problem of its own already (too large, not prime) is not counted.
  const sized = vips.filter(({ vip }) => vip.tableSize <= MAX_TABLE_SIZE && isPrime(vip.tableSize));
  const all = sized.reduce((n, { vip }) => n + vip.tableSize, 0);
  let total = 0;
  for (const { vip, i } of sized) {
    total += vip.tableSize;
    if (total <= MAX_TOTAL_TABLE_ENTRIES) continue;
    problems.push(
      `loadBalancer.vips[${i}].tableSize: VIP "${vip.name}" takes the Maglev tables to ${total} entries, more than ${MAX_TOTAL_TABLE_ENTRIES} (2^24) over all VIPs; at ${TABLE_ENTRY_BYTES} bytes an entry (two generations and a build buffer) the ${sized.length} VIPs' ${all} entries would hold ${mib(all)} and take seconds to build at every start: use smaller tables (${RECOMMENDED_SLOTS_PER_BACKEND} × backends is enough, e.g. 65537 for up to 655 backends)`,
    );
    return;
  }
}

/**
 * Checks `loadBalancer:` against the ports and returns what the dataplane
 * runs (undefined when there is no such section). Problems go to
 * `problems` (the result is then not to be used), advice to `warnings`.
 * `portsComplete` is false when some port failed its own checks and is
 * missing from `ports` (dsr-l2 backends are then not checked for a subnet).
 */
export function compileLoadBalancer(
  raw: RawLoadBalancer | undefined,
  ports: readonly PortView[],
  portsComplete: boolean,
  problems: string[],
  warnings: string[],
): LoadBalancerConfig | undefined {
  if (raw === undefined) return undefined;
  const names = new Map<string, number>();
  // Each VIP with its index in the file (a VIP that fails its schema is left out after its problems).
  const vips: { vip: VipConfig; i: number }[] = [];
  raw.vips.forEach((value, i) => {
    const field = `loadBalancer.vips[${i}]`;
    const r = vipSchema.safeParse(value);
    if (!r.success) {
      for (const issue of r.error.issues) problems.push(issueText(field, issue));
      return;
    }
    const v = r.data;
    const first = names.get(v.name);
    if (first !== undefined) problems.push(`${field}.name: "${v.name}" is already the name of loadBalancer.vips[${first}]`);
    else names.set(v.name, i);
    vips.push({ vip: compileVip(v, field, ports, portsComplete, problems, warnings), i });
  });
  tableTotalProblem(vips, problems);
  // One VIP per address, protocol and port: a flow must have exactly one table. Port 0 (all ports) overlaps every port.
  vips.forEach(({ vip: a, i }, k) => {
    for (const { vip: b, i: j } of vips.slice(0, k)) {
      if (a.address !== b.address || a.protocol !== b.protocol || (a.port !== b.port && a.port !== 0 && b.port !== 0)) continue;
      problems.push(`loadBalancer.vips[${i}].port: ${ipv4ToString(a.address)} ${portsText(a)} overlaps loadBalancer.vips[${j}] ("${b.name}", ${portsText(b)})`);
      break;
    }
  });
  return { vips: vips.map((x) => x.vip) };
}

/** A port's `decap:` as the dataplane runs it (undefined: none); `field` names the option in problems. */
export function compileDecap(raw: RawDecap | undefined, field: string, problems: string[]): DecapConfig | undefined {
  if (raw === undefined || raw === false) return undefined;
  if (raw === true) return { ipip: true, gue: true, guePort: DEFAULT_GUE_PORT };
  if (!raw.ipip && !raw.gue) {
    problems.push(`${field}: unwraps nothing; give ipip: true and/or gue: true (or decap: true for both)`);
    return undefined;
  }
  if (raw.guePort !== undefined && !raw.gue) problems.push(`${field}.guePort: applies with gue: true only`);
  return { ipip: raw.ipip, gue: raw.gue, guePort: raw.gue ? (raw.guePort ?? DEFAULT_GUE_PORT) : 0 };
}
