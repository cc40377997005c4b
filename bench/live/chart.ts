// The live benchmark's chart: a vega-lite spec of the rate sweep (sink kpps,
// loss, router and path CPU per packet (baseline.ts) and ping p99 under load, each against the
// offered rate, one line per router), compiled to vega and rendered to SVG
// headless (no canvas: vega estimates text widths).
import { writeFileSync } from 'node:fs';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { LiveResult, LiveSetup } from './report.js';

interface Point {
  router: string;
  offered: number;
  sinkKpps: number;
  lossPct: number;
  cpuNs: number | null;
  pathNs: number | null;
  pingP99Us: number | null;
}

const num = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? null : x);

export function liveChartSpec(results: readonly LiveResult[], setup: LiveSetup): TopLevelSpec {
  const values: Point[] = results.flatMap((r) =>
    r.runs.map((u) => ({
      router: r.label,
      offered: Math.round(u.fraction * 100),
      sinkKpps: u.sinkPps / 1000,
      lossPct: u.lossPct,
      cpuNs: num(u.routerNsPerPacket),
      pathNs: num(u.pathNsPerPacket),
      pingP99Us: num(u.pingP99Us),
    })),
  );
  const x = { field: 'offered', type: 'quantitative' as const, title: `offered, % of the generator (${(setup.generatorMaxPps / 1000).toFixed(0)} kpps)`, scale: { domain: [0, 100] } };
  const color = { field: 'router', type: 'nominal' as const, scale: { scheme: 'category20' }, legend: { orient: 'bottom' as const, columns: 3, labelLimit: 260 } };
  const panel = (field: keyof Point, title: string, scaleType: 'linear' | 'log' = 'linear') => ({
    width: 340,
    height: 200,
    mark: { type: 'line' as const, point: true },
    encoding: { x, y: { field, type: 'quantitative' as const, title, scale: scaleType === 'log' ? { type: scaleType } : { zero: true } }, color },
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Live forwarding, 64-byte UDP: generator ns -> router -> sink ns',
      subtitle: `${new Date().toISOString().slice(0, 10)}, ${setup.cpu}, ${setup.cpus} CPUs shared by generator, router and sink (and other jobs), Node ${process.version}${setup.quick ? ', quick mode' : ''}`,
    },
    background: 'white',
    data: { values },
    columns: 2,
    concat: [
      panel('sinkKpps', 'sink kpps'),
      panel('lossPct', 'loss %'),
      panel('cpuNs', 'router CPU ns per forwarded packet'),
      panel('pathNs', 'path CPU ns/pkt (generator+router+ksoftirqd, less direct)'),
      panel('pingP99Us', 'ping p99 under load, us (log)', 'log'),
    ],
  };
  return spec;
}

export async function writeLiveChart(path: string, results: readonly LiveResult[], setup: LiveSetup): Promise<void> {
  const view = new View(parse(compile(liveChartSpec(results, setup)).spec), { renderer: 'none' });
  writeFileSync(path, await view.toSVG());
  view.finalize();
}
