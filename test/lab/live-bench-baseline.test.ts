// The live benchmark's arithmetic and chart (bench/live/baseline.ts,
// chart.ts): what forwarding costs is the routed run less the direct
// generator->sink run, scaled to the packets offered; a process is charged
// its own time plus only the ksoftirqd time beyond the direct run; and the
// vega-lite chart renders every router and panel to SVG.
import { describe, expect, it } from 'vitest';
import { forwardingCpu } from '../../bench/live/baseline.js';
import { liveChartSpec, writeLiveChart } from '../../bench/live/chart.js';
import type { LoadRun } from '../../bench/live/measure.js';
import type { LiveResult, LiveSetup } from '../../bench/live/report.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function run(offered: number, got: number, cpu: Partial<LoadRun['cpu']> & { sys?: number; busy?: number }): LoadRun {
  return {
    rate: 0,
    offered,
    got,
    sendSecs: 1,
    cpu: { machine: { sys: cpu.sys ?? 0, busy: cpu.busy ?? 0 }, process: cpu.process ?? NaN, ksoftirqd: cpu.ksoftirqd ?? 0, generator: cpu.generator ?? 0 },
  };
}

describe('forwardingCpu', () => {
  it("charges the kernel the machine's system time beyond the direct run, per forwarded packet", () => {
    // 100k packets: 0.5 s of system time routed, 0.3 s straight to the sink -> 2000 ns of forwarding each.
    const c = forwardingCpu('kernel', run(100_000, 100_000, { sys: 0.5, busy: 0.9, generator: 0.6 }), run(100_000, 100_000, { sys: 0.3, busy: 0.6, generator: 0.45 }));
    expect(c.routerNs).toBeCloseTo(2000, 6);
    expect(c.machineNs).toBeCloseTo(3000, 6);
    expect(c.pathNs).toBeCloseTo(1500, 6);
  });

  it('scales the direct run to the packets the routed run offered, and divides by those that arrived', () => {
    // Direct: 200k offered for 0.4 s (2 us each); routed: 100k offered, 50k arrived, 0.5 s: (0.5 - 0.2) / 50k = 6 us.
    const c = forwardingCpu('kernel', run(100_000, 50_000, { sys: 0.5 }), run(200_000, 200_000, { sys: 0.4 }));
    expect(c.routerNs).toBeCloseTo(6000, 6);
  });

  it("charges a process its own time plus only the ksoftirqd time beyond the direct run's", () => {
    const more = forwardingCpu('process', run(10_000, 10_000, { process: 0.02, ksoftirqd: 0.015 }), run(10_000, 10_000, { ksoftirqd: 0.005 }));
    expect(more.routerNs).toBeCloseTo(3000, 6);
    expect(more.ksoftirqdNs).toBeCloseTo(1000, 6);
    // Less ksoftirqd time than the direct run is noise, not a credit.
    const less = forwardingCpu('process', run(10_000, 10_000, { process: 0.02, ksoftirqd: 0 }), run(10_000, 10_000, { ksoftirqd: 0.005 }));
    expect(less.routerNs).toBeCloseTo(2000, 6);
    expect(less.pathNs).toBeCloseTo(1500, 6);
  });

  it('gives no figure when nothing was forwarded or the baseline sent nothing', () => {
    expect(forwardingCpu('kernel', run(1000, 0, { sys: 0.1 }), run(1000, 1000, {})).routerNs).toBeNaN();
    expect(forwardingCpu('process', run(1000, 1000, { process: 0.1 }), run(0, 0, {})).routerNs).toBeNaN();
  });
});

describe('the live chart', () => {
  const setup: LiveSetup = { quick: true, seconds: 1, tcpSeconds: 1, lightPings: 50, generatorMaxPps: 120_000, rates: [30_000, 60_000, 96_000, 0], cpu: 'test CPU', cpus: 2, loadAvg: 1 };
  const result = (label: string, subject: LiveResult['subject'], scale: number): LiveResult => ({
    label,
    subject,
    ports: 'afpacket',
    workers: 1,
    cpuMethod: '-',
    notes: [],
    runs: [0.25, 0.5, 0.8, 1].map((fraction) => ({ fraction, askedPps: fraction === 1 ? 0 : fraction * 120_000, offeredPps: fraction * 120_000, sinkPps: fraction * 100_000 * scale, lossPct: 1, directPps: fraction * 120_000, routerNsPerPacket: 900 / scale, pathNsPerPacket: 800, machineNsPerPacket: 1000, pingP50Us: 50, pingP99Us: 120 })),
  });

  it('plots every router in every panel and renders to SVG with vega', async () => {
    const results = [result('linux kernel (veth)', 'linux-kernel', 1), result('dataplane afpacket 1w', 'dataplane', 1.2)];
    const spec = liveChartSpec(results, setup) as { concat: unknown[]; data: { values: { router: string }[] } };
    expect(spec.concat).toHaveLength(5);
    expect(new Set(spec.data.values.map((v) => v.router))).toEqual(new Set(['linux kernel (veth)', 'dataplane afpacket 1w']));
    const dir = mkdtempSync(join(tmpdir(), 'live-chart-'));
    try {
      await writeLiveChart(join(dir, 'live.svg'), results, setup);
      const svg = readFileSync(join(dir, 'live.svg'), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('dataplane afpacket 1w');
      expect(svg).toContain('router CPU ns per forwarded packet');
      expect(svg).toContain('ping p99 under load');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
