// Config load time, end to end (read, YAML, schema checks, semantic checks),
// on the two configs that cost most: a large YAML config with every section
// (10k routes inline, 1000 endpoints and firewall rules, 64 VIPs) and a
// 1M-line routes file. Run before and after a change to the config path:
//   npx tsc -p tsconfig.json && node dist/bench/config/config-load.js
// Addresses: documentation ranges where they are configured; the routes
// file's 1M prefixes are /28s of 10.0.0.0/8 (parsed only, never installed
// anywhere but the FIB in memory).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';

const PORTS = [
  { name: 'lan', address: '192.0.2.1/24' },
  { name: 'wan', address: '198.51.100.1/24' },
  { name: 'dmz', address: '203.0.113.1/24' },
];

/** A config with every section filled: the largest a user is likely to write by hand. */
function largeConfig(): string {
  const routes: unknown[] = [];
  for (let i = 0; i < 10_000; i++) {
    const prefix = `198.18.${(i >> 6) & 0xff}.${(i & 63) << 2}/30`;
    routes.push(i % 2 === 0 ? `${prefix} via 198.51.100.${2 + (i % 8)}` : { prefix, via: `203.0.113.${2 + (i % 8)}` });
  }
  const endpoints = Array.from({ length: 1000 }, (_, i) => ({
    address: `198.19.${Math.floor(i / 200)}.${(i % 200) + 1}`,
    namespace: `ns${i % 10}`,
    labels: { app: `app${i % 50}`, tier: i % 2 === 0 ? 'web' : 'db' },
    ports: [{ name: 'http', port: 80 }],
  }));
  const rules = Array.from({ length: 1000 }, (_, i) => ({
    name: `rule-${i}`,
    direction: i % 2 === 0 ? 'ingress' : 'egress',
    priority: 1000 + i,
    action: i % 3 === 0 ? 'deny' : 'allow',
    protocols: [{ protocol: 'tcp', ports: [80, '8000-8080'] }],
    source: { cidrs: ['192.0.2.0/24'] },
    targets: { labels: { app: `app${i % 50}` } },
  }));
  const vips = Array.from({ length: 64 }, (_, i) => ({
    name: `vip${i}`,
    address: `203.0.113.${100 + i}`,
    protocol: 'tcp',
    port: 80,
    mode: 'nat',
    healthCheck: { type: 'http', path: '/healthz' },
    backends: [{ address: '198.51.100.11' }, { address: '198.51.100.12', weight: 2 }],
  }));
  return stringify({
    ports: PORTS,
    routes,
    neighbors: [{ address: '198.51.100.2', mac: '02:00:00:00:aa:01' }],
    nat: { masquerade: [{ outPort: 'wan' }], dnat: [{ inPort: 'wan', proto: 'tcp', dport: 8080, to: '192.0.2.10:80' }] },
    endpoints,
    namespaces: Array.from({ length: 10 }, (_, i) => ({ name: `ns${i}`, labels: { team: `t${i}` } })),
    firewall: { rules },
    loadBalancer: { vips },
  });
}

function routesFile(lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(`10.${(i >> 12) & 0xff}.${(i >> 4) & 0xff}.${(i & 15) << 4}/28 via 198.51.100.${2 + (i & 7)}`);
  return out.join('\n') + '\n';
}

/** Wall and CPU time (user + system: less disturbed by other processes on a shared machine), best and median of `runs`. */
function time(path: string, runs: number): { best: number; median: number; cpuBest: number; cpuMedian: number } {
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    loadConfig(path);
    ms.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  ms.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return { best: ms[0], median: ms[ms.length >> 1], cpuBest: cpu[0], cpuMedian: cpu[cpu.length >> 1] };
}

const dir = mkdtempSync(join(os.tmpdir(), 'dp-config-load-'));
try {
  const large = join(dir, 'large.yaml');
  writeFileSync(large, largeConfig());
  writeFileSync(join(dir, 'routes.txt'), routesFile(1 << 20));
  const million = join(dir, 'million.yaml');
  writeFileSync(million, stringify({ ports: PORTS, routesFile: 'routes.txt' }));
  const first = performance.now();
  loadConfig(large);
  console.log(`first load (large config, includes one-time setup): ${(performance.now() - first).toFixed(1)} ms`);
  for (const [name, path, runs] of [['large config (10k routes, 1000 endpoints/rules, 64 VIPs)', large, 9], ['1M-line routes file', million, 3]] as const) {
    const t = time(path, runs);
    console.log(`${name}: wall median ${t.median.toFixed(1)} ms, best ${t.best.toFixed(1)} ms; CPU median ${t.cpuMedian.toFixed(1)} ms, best ${t.cpuBest.toFixed(1)} ms (${runs} runs)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
