// TCP connect probe: the backend is healthy when its port completes the
// three-way handshake within the timeout. The connection is closed at once;
// nothing is sent.
import net from 'node:net';
import type { Clock } from '../../pipeline/clock.js';
import { ipv4ToString } from '../../wire/address.js';
import { errorReason, probeFailed, probeOk, type Probe, type ProbeResult } from './probe.js';

export function tcpProbe(port: number, timeoutMs: number, clock: Clock): Probe {
  return (address) =>
    new Promise<ProbeResult>((resolve) => {
      const start = clock.nowMs();
      const socket = net.connect({ host: ipv4ToString(address), port });
      const finish = (r: ProbeResult): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(r);
      };
      // Our own timer, not socket.setTimeout(): that one measures idleness and
      // a SYN that is never answered must fail at the timeout, not at the
      // kernel's connect timeout (over a minute).
      const timer = setTimeout(() => finish(probeFailed(timeoutMs, `connect timeout after ${timeoutMs} ms`)), timeoutMs);
      socket.once('connect', () => finish(probeOk(clock.nowMs() - start)));
      socket.on('error', (e) => finish(probeFailed(clock.nowMs() - start, errorReason('connect', e))));
    });
}
