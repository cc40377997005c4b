// The HTTP endpoint of `dataplane run` (config `metrics: { listen }`):
// GET /metrics is the Prometheus text, GET /healthz says the process serves,
// anything else is 404 (405 for another method). It runs on the main
// thread, never in a packet worker; a scrape costs that thread the time to
// sum the workers' counters and format the text (bench/control/metrics.ts).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { MetricsListen } from '../config/metrics-schema.js';
import type { DataplaneMetrics } from './dataplane-metrics.js';

export class MetricsServer {
  private constructor(
    private readonly server: Server,
    /** http://HOST:PORT/metrics (with the port the kernel chose when asked for port 0, as tests do). */
    readonly url: string,
  ) {}

  /** Listens; rejects with a message naming the address when it cannot (in use, not an address of this host). */
  static start(metrics: DataplaneMetrics, listen: MetricsListen): Promise<MetricsServer> {
    const server = createServer((req, res) => void handle(metrics, req, res));
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'EADDRINUSE' ? 'the address is in use' : e.code === 'EADDRNOTAVAIL' ? 'not an address of this host' : e.code === 'EACCES' ? 'permission denied' : e.message;
        reject(new Error(`cannot listen on ${listen.host}:${listen.port}: ${why}`));
      });
      server.listen(listen.port, listen.host, () => {
        const addr = server.address();
        const port = typeof addr === 'object' && addr !== null ? addr.port : listen.port;
        resolve(new MetricsServer(server, `http://${listen.host}:${port}/metrics`));
      });
    });
  }

  /** Stops listening and closes open connections (a scraper's keep-alive must not hold up the stop). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function handle(metrics: DataplaneMetrics, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const known = path === '/metrics' || path === '/healthz';
  if (!known) return reply(res, 404, 'text/plain; charset=utf-8', 'not found: the metrics are at /metrics\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return reply(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
  }
  if (path === '/healthz') return reply(res, 200, 'text/plain; charset=utf-8', 'ok\n', req.method === 'HEAD');
  try {
    reply(res, 200, metrics.contentType, await metrics.scrape(), req.method === 'HEAD');
  } catch (e) {
    reply(res, 500, 'text/plain; charset=utf-8', `scrape failed: ${e instanceof Error ? e.message : String(e)}\n`);
  }
}

function reply(res: ServerResponse, status: number, type: string, body: string, headOnly = false): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(headOnly ? undefined : body);
}
