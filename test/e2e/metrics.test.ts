// `dataplane run` with `metrics: { listen: 127.0.0.1:9469 }`: the start lines
// give the URL; a scrape from the router's namespace shows the lab's pings
// in the port counters, the unrouted ones as drops and ICMP errors, and the
// workers' busy time growing; promtool accepts the scrape.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { LAB } from '../../src/lab/topology.js';
import { parseExposition } from '../metrics/exposition.js';
import { skipIf } from '../skip.js';
import { e2eSkipReason, nsExec, uniquePrefix } from './suite.js';

const skip = e2eSkipReason(['curl', 'promtool']);
const URL = 'http://127.0.0.1:9469';

describe('dataplane run serves Prometheus metrics', skipIf(skip), () => {
  let lab: LabState | undefined;
  let prefix = '';

  beforeAll(async () => {
    prefix = await uniquePrefix('dpe2e-mx');
    lab = await labUp({ prefix, ports: 'tap', engine: 'dataplane', workers: 2, readyTimeoutMs: 10_000, extraConfig: 'metrics: { listen: 127.0.0.1:9469 }\n' });
  }, 30_000);

  afterAll(async () => {
    if (prefix !== '') await labDown(prefix);
  }, 30_000);

  const curl = (path: string, extra: string[] = []) => nsExec(lab!.names.router, ['curl', '-sS', '--max-time', '5', ...extra, `${URL}${path}`]);
  const scrape = () => {
    const r = curl('/metrics');
    expect(r.status, r.out).toBe(0);
    return { text: r.out, v: parseExposition(r.out) };
  };

  it('prints the URL with the start lines', () => {
    expect(readFileSync(lab!.logPath, 'utf8')).toContain(`metrics at ${URL}/metrics`);
  });

  it('port counters, drops, ICMP errors and busy time move with traffic; promtool check metrics is clean', () => {
    const before = scrape().v;
    const ping = nsExec(lab!.names.client, ['ping', '-n', '-q', '-c20', '-i0.01', '-W1', LAB.server.addr]);
    expect(ping.status, ping.out).toBe(0);
    nsExec(lab!.names.client, ['ping', '-n', '-q', '-c3', '-i0.1', '-W1', LAB.unrouted]);
    const after = scrape();
    const delta = (k: string) => (after.v.get(k) ?? NaN) - (before.get(k) ?? NaN);
    expect(delta('dataplane_port_receive_packets_total{port="lan"}')).toBeGreaterThanOrEqual(23);
    expect(delta('dataplane_port_transmit_packets_total{port="wan"}')).toBeGreaterThanOrEqual(20);
    expect(delta('dataplane_port_receive_packets_total{port="wan"}')).toBeGreaterThanOrEqual(20);
    expect(delta('dataplane_port_receive_bytes_total{port="lan"}')).toBeGreaterThanOrEqual(23 * 98);
    expect(delta('dataplane_drops_total{node="ip4-lookup",reason="no-route"}')).toBe(3);
    expect(delta('dataplane_icmp_errors_sent_total')).toBe(3);
    const busy = (v: Map<string, number>) => (v.get('dataplane_worker_busy_seconds_total{worker="0"}') ?? NaN) + (v.get('dataplane_worker_busy_seconds_total{worker="1"}') ?? NaN);
    expect(busy(after.v)).toBeGreaterThan(busy(before));
    const check = spawnSync('promtool', ['check', 'metrics'], { input: after.text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('/healthz answers ok and other paths 404', () => {
    expect(curl('/healthz').out).toBe('ok\n');
    expect(curl('/nothing', ['-o', '/dev/null', '-w', '%{http_code}']).out).toBe('404');
  });
});
