// HTTP GET probe: healthy when the backend answers `GET path` with the
// expected status within the timeout (headers only: the body is discarded).
// A fresh connection per probe (agent: false), so a probe tests that the
// backend still accepts connections, not that an old keep-alive one lives.
import http from 'node:http';
import type { Clock } from '../../pipeline/clock.js';
import { ipv4ToString } from '../../wire/address.js';
import { errorReason, probeFailed, probeOk, type Probe, type ProbeResult } from './probe.js';

export function httpProbe(port: number, path: string, expectStatus: number, timeoutMs: number, clock: Clock): Probe {
  return (address) =>
    new Promise<ProbeResult>((resolve) => {
      const start = clock.nowMs();
      const host = ipv4ToString(address);
      let done = false;
      const finish = (r: ProbeResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        req.destroy();
        resolve(r);
      };
      const req = http.get({ host, port, path, agent: false, headers: { 'user-agent': 'dataplane-health/1', connection: 'close' } }, (res) => {
        res.on('error', () => {}); // an abort after our verdict is no news
        res.resume();
        const status = res.statusCode ?? 0;
        const latency = clock.nowMs() - start;
        finish(status === expectStatus ? probeOk(latency) : probeFailed(latency, `status ${status}, expected ${expectStatus}`));
      });
      // One deadline for connect, request and response headers together.
      const timer = setTimeout(() => finish(probeFailed(timeoutMs, `http timeout after ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (e) => finish(probeFailed(clock.nowMs() - start, errorReason('http', e))));
    });
}
