// Loading a large routes file the way users do: a config whose routesFile is
// the whole RouteViews table (694k routes, one `PREFIX via GW` a line),
// through parsing, checks and the FIB build. Reports routes/s end to end.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { compileFib } from '../../src/route/fib.js';
import { ipv4ToString } from '../../src/wire/address.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';
import { readRouteViews } from '../route/table.js';

export function runRouteLoadBench(): { rows: BenchRow[]; targets: BenchTarget[] } {
  const table = readRouteViews();
  const gateways = ['198.51.100.2', '198.51.100.3', '203.0.113.2', '203.0.113.3'];
  const lines: string[] = [];
  for (let i = 0; i < table.count; i++) lines.push(`${ipv4ToString(table.prefix[i])}/${table.len[i]} via ${gateways[table.asn[i] % gateways.length]}`);
  const dir = mkdtempSync(join(os.tmpdir(), 'dp-route-load-'));
  try {
    writeFileSync(join(dir, 'routes.txt'), lines.join('\n') + '\n');
    writeFileSync(join(dir, 'router.yaml'), 'ports:\n  - { name: west, address: 198.51.100.1/24 }\n  - { name: east, address: 203.0.113.1/24 }\nroutesFile: routes.txt\n');
    const runs: { parse: number; build: number; total: number }[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      const config = loadConfig(join(dir, 'router.yaml'));
      const t1 = performance.now();
      compileFib(config);
      const t2 = performance.now();
      runs.push({ parse: t1 - t0, build: t2 - t1, total: t2 - t0 });
    }
    const best = runs.sort((a, b) => a.total - b.total)[0];
    const rate = table.count / (best.total / 1000);
    const rows: BenchRow[] = [
      {
        name: 'config/routes-file-694k',
        subject: 'dataplane loadConfig + compileFib',
        value: rate / 1000,
        unit: 'k routes/s',
        nsPerOp: (best.total * 1e6) / table.count,
        notes: `${table.count} routes in ${best.total.toFixed(0)} ms (parse+check ${best.parse.toFixed(0)} ms, FIB build ${best.build.toFixed(0)} ms); best of 3`,
      },
    ];
    return { rows, targets: [{ description: 'routes file load >= 200k routes/s', met: rate >= 200_000, measured: `${(rate / 1000).toFixed(0)}k routes/s` }] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
