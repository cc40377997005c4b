// The HTTP endpoint: /metrics is the registry's text with Prometheus's
// content type, /healthz answers ok, other paths 404 and other methods 405;
// a second listener on the same address is refused with a message naming it.
import { afterEach, describe, expect, it } from 'vitest';
import { DataplaneMetrics } from '../../src/metrics/dataplane-metrics.js';
import { MetricsServer } from '../../src/metrics/metrics-server.js';
import { udpFrame } from '../pipeline/build.js';
import { PipelineRig } from '../../src/metrics/memory-rig.js';
import { parseExposition } from './exposition.js';

const CONFIG = `
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24 }
neighbors:
  - { address: 198.51.100.10, mac: "02:bb:00:00:00:10" }
`;

const servers: MetricsServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function serve(rig: PipelineRig): Promise<MetricsServer> {
  const s = await MetricsServer.start(new DataplaneMetrics(rig), { host: '127.0.0.1', port: 0 });
  servers.push(s);
  return s;
}

describe('metrics HTTP endpoint', () => {
  it('GET /metrics: Prometheus text of the moment of the request', async () => {
    const rig = new PipelineRig(CONFIG, 1);
    const s = await serve(rig);
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const first = await fetch(s.url);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(parseExposition(await first.text()).get('dataplane_port_transmit_packets_total{port="wan"}')).toBe(0);
    rig.send(0, 'lan', [udpFrame({ src: '192.0.2.10', dst: '198.51.100.10', dstMac: '02:00:00:00:00:01' }, 1000, 53)]);
    const second = parseExposition(await (await fetch(s.url)).text());
    expect(second.get('dataplane_port_transmit_packets_total{port="wan"}')).toBe(1);
    // No flow table, NAT, firewall or load balancer configured: none of their families.
    expect([...second.keys()].filter((k) => /^dataplane_(flow|nat|firewall|lb)_/.test(k))).toEqual([]);
  });

  it('/healthz is ok, other paths are 404, other methods 405', async () => {
    const s = await serve(new PipelineRig(CONFIG, 1));
    const base = s.url.replace(/\/metrics$/, '');
    const health = await fetch(`${base}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/extra`)).status).toBe(404);
    const post = await fetch(s.url, { method: 'POST', body: 'x' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect((await fetch(`${s.url}?name[]=x`)).status).toBe(200);
  });

  it('an address in use is refused with the address and the reason', async () => {
    const s = await serve(new PipelineRig(CONFIG, 1));
    const port = Number(new URL(s.url).port);
    await expect(MetricsServer.start(new DataplaneMetrics(new PipelineRig(CONFIG, 1)), { host: '127.0.0.1', port })).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: the address is in use`);
  });
});
