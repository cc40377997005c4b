// The rule sets of the live firewall benchmark, and the same rules written
// three ways: the dataplane's config (endpoints + VPC ingress rules), an
// nftables linear chain, and nftables with one concatenated interval set.
//
// A rule set of n rules is n - 1 rules that never match the benchmark's
// traffic, then the one that admits it, last: the worst case for a linear
// chain. The others are realistic: source prefixes drawn from a real routing
// table (RouteViews; none covers the client's 192.0.2.0/24), destinations
// among ~1,000 endpoints in 198.18.0.0/15 and the server, TCP or UDP,
// well-known and random ports and some port ranges. Everything is seeded, so
// every subject and every run gets the same rules. All rules allow: then the
// order among them does not change what passes, and a set is equivalent to
// the chain (a deny at a higher priority would need its own set first).
import { prng, readRouteViews } from '../route/table.js';
import { LAB } from '../../src/lab/topology.js';

export const BENCH_DPORT = 5201;
/** The client's subnet: the admitting rule's source, and what no other rule's source covers. */
export const CLIENT_NET = '192.0.2.0/24';
/** Endpoints besides the server, in 198.18.0.0/15. */
export const OTHER_ENDPOINTS = 1000;

export interface BenchRule {
  name: string;
  /** VPC priority (lower wins): the other rules 1000 + i, the admitting rule 65000. */
  priority: number;
  /** Source prefix, "a.b.c.d/len". */
  src: string;
  /** Destination endpoint address. */
  dst: string;
  proto: 'tcp' | 'udp';
  lo: number;
  hi: number;
}

export interface BenchRuleSet {
  /** The endpoints' addresses: the server first. */
  endpoints: string[];
  /** In the order a linear chain evaluates them; the admitting rule is last. */
  rules: BenchRule[];
}

const WELL_KNOWN = [22, 25, 53, 80, 123, 389, 443, 636, 993, 1433, 1521, 2049, 3306, 3389, 5432, 5672, 6379, 8080, 8443, 9090, 9200, 11211, 27017];

const dotted = (a: number) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;

function endpointAddresses(): string[] {
  // 198.18.0.1 onwards, skipping .0 and .255 of each /24.
  const out: string[] = [LAB.server.addr];
  const base = (198 << 24) | (18 << 16);
  for (let i = 0; out.length <= OTHER_ENDPOINTS; i++) {
    const last = i & 255;
    if (last !== 0 && last !== 255) out.push(dotted((base + i) >>> 0));
  }
  return out;
}

/** True when prefix p/len and 192.0.2.0/24 overlap. */
function coversClient(p: number, len: number): boolean {
  const client = ((192 << 24) | (0 << 16) | (2 << 8)) >>> 0;
  const l = Math.min(len, 24);
  const mask = l === 0 ? 0 : (~0 << (32 - l)) >>> 0;
  return ((p & mask) >>> 0) === ((client & mask) >>> 0);
}

let routeViews: ReturnType<typeof readRouteViews> | undefined;

/** n rules (n >= 1): n - 1 that never match the benchmark traffic, then the one that admits it. */
export function benchRuleSet(n: number, seed = 7): BenchRuleSet {
  if (!Number.isInteger(n) || n < 1) throw new Error(`a rule set has at least the admitting rule (got ${n})`);
  const endpoints = endpointAddresses();
  const table = (routeViews ??= readRouteViews());
  const rnd = prng(seed);
  const rules: BenchRule[] = [];
  for (let i = 0; i < n - 1; i++) {
    let k = rnd() % table.count;
    while (coversClient(table.prefix[k], table.len[k])) k = rnd() % table.count;
    const kind = rnd() % 100;
    let lo: number;
    let hi: number;
    if (kind < 60) lo = hi = WELL_KNOWN[rnd() % WELL_KNOWN.length];
    else if (kind < 85) lo = hi = 1024 + (rnd() % (49152 - 1024));
    else {
      lo = 1024 + (rnd() % 60000);
      hi = lo + 1 + (rnd() % 100);
    }
    rules.push({
      name: `r${i + 1}`,
      priority: 1000 + i,
      src: `${dotted(table.prefix[k])}/${table.len[k]}`,
      dst: endpoints[rnd() % endpoints.length],
      proto: rnd() % 10 < 7 ? 'tcp' : 'udp',
      lo,
      hi,
    });
  }
  rules.push({ name: 'admit-bench', priority: 65000, src: CLIENT_NET, dst: LAB.server.addr, proto: 'udp', lo: BENCH_DPORT, hi: BENCH_DPORT });
  return { endpoints, rules };
}

const portText = (r: BenchRule) => (r.lo === r.hi ? String(r.lo) : `"${r.lo}-${r.hi}"`);

/**
 * The dataplane's config sections. The admitting rule also lets iperf3's TCP
 * control connection and ping through (they are judged once; the UDP test
 * traffic reaches the rule in the same place). `rules` undefined: endpoints
 * only, no firewall section (the firewall is then not configured at all).
 */
export function dataplaneYaml(set: BenchRuleSet, conntrackCapacity: number): string {
  const lines = ['endpoints:'];
  lines.push(`  - { address: ${set.endpoints[0]}, namespace: bench, labels: { app: sink } }`);
  for (const e of set.endpoints.slice(1)) lines.push(`  - { address: ${e}, namespace: bench, labels: { app: other } }`);
  lines.push('firewall:', '  rules:');
  for (const r of set.rules) {
    const protocols =
      r.name === 'admit-bench'
        ? `[{ protocol: tcp, ports: [${BENCH_DPORT}] }, { protocol: icmp }, { protocol: udp, ports: [${portText(r)}] }]`
        : `[{ protocol: ${r.proto}, ports: [${portText(r)}] }]`;
    lines.push(`    - { name: ${r.name}, direction: ingress, priority: ${r.priority}, action: allow, protocols: ${protocols}, source: { cidrs: [${r.src}] }, destination: { cidrs: [${r.dst}/32] } }`);
  }
  lines.push(`conntrack: { capacity: ${conntrackCapacity} }`, '');
  return lines.join('\n');
}

export const NFT_TABLE = 'dataplane_fwbench';

function nftHead(set: BenchRuleSet): string[] {
  return [
    `table inet ${NFT_TABLE} {`,
    '  set endpoints {',
    '    type ipv4_addr',
    `    elements = { ${set.endpoints.join(', ')} }`,
    '  }',
  ];
}

/** The chain's head: stateful as the dataplane (a flow's later packets and its replies pass), then iperf3's control connection and ping. */
function chainHead(): string[] {
  return [
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    '    ct state established,related accept',
    `    ip saddr ${CLIENT_NET} ip daddr ${LAB.server.addr} tcp dport ${BENCH_DPORT} accept`,
    `    ip saddr ${CLIENT_NET} ip daddr ${LAB.server.addr} ip protocol icmp accept`,
  ];
}

/** The implied ingress deny: what no rule allowed does not reach an endpoint; other traffic passes (policy accept). */
const chainTail = ['    ip daddr @endpoints drop', '  }', '}', ''];

/** One rule per rule, in order: `ip saddr X ip daddr Y udp dport Z accept`. */
export function nftLinear(set: BenchRuleSet): string {
  const lines = [...nftHead(set), ...chainHead()];
  for (const r of set.rules) lines.push(`    ip saddr ${r.src} ip daddr ${r.dst} ${r.proto} dport ${r.lo === r.hi ? r.lo : `${r.lo}-${r.hi}`} accept`);
  lines.push(...chainTail);
  return lines.join('\n');
}

/** All rules in one interval set keyed by protocol . source . destination . port, looked up once. */
export function nftSets(set: BenchRuleSet): string {
  const lines = [...nftHead(set)];
  lines.push('  set allowed {', '    type inet_proto . ipv4_addr . ipv4_addr . inet_service', '    flags interval', '    elements = {');
  set.rules.forEach((r, i) => lines.push(`      ${r.proto} . ${r.src} . ${r.dst} . ${r.lo === r.hi ? r.lo : `${r.lo}-${r.hi}`}${i === set.rules.length - 1 ? '' : ','}`));
  lines.push('    }', '  }', ...chainHead(), '    meta l4proto . ip saddr . ip daddr . th dport @allowed accept', ...chainTail);
  return lines.join('\n');
}

/**
 * Sets and maps as one would write them by hand: a verdict map on the
 * destination jumps to the endpoint's chain, which looks protocol . source .
 * port up in its own interval set (a few rules each), so no lookup sees all
 * the rules. Endpoints without rules are not in the map: the implied deny
 * after it drops their traffic.
 */
export function nftMaps(set: BenchRuleSet): string {
  const byDst = new Map<string, BenchRule[]>();
  for (const r of set.rules) {
    const list = byDst.get(r.dst);
    if (list === undefined) byDst.set(r.dst, [r]);
    else list.push(r);
  }
  const chain = (dst: string) => `ep_${dst.replace(/\./g, '_')}`;
  const lines = [...nftHead(set)];
  for (const [dst, rules] of byDst) {
    const elements = rules.map((r) => `${r.proto} . ${r.src} . ${r.lo === r.hi ? r.lo : `${r.lo}-${r.hi}`}`);
    lines.push(
      `  set ${chain(dst)} {`,
      '    type inet_proto . ipv4_addr . inet_service',
      '    flags interval',
      `    elements = { ${elements.join(', ')} }`,
      '  }',
      `  chain ${chain(dst)} {`,
      `    meta l4proto . ip saddr . th dport @${chain(dst)} accept`,
      '  }',
    );
  }
  lines.push('  map by_endpoint {', '    type ipv4_addr : verdict', `    elements = { ${[...byDst.keys()].map((d) => `${d} : jump ${chain(d)}`).join(', ')} }`, '  }');
  lines.push(...chainHead(), '    ip daddr vmap @by_endpoint', ...chainTail);
  return lines.join('\n');
}
