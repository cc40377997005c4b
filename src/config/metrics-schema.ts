// The `metrics:` section: where `dataplane run` serves Prometheus metrics
// (src/metrics/). `listen: 127.0.0.1:9469` is the whole contract: an explicit
// address, never the wildcard, because the endpoint has no authentication
// and names every port, rule and backend of the config.
import { z } from 'zod';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const LISTEN_SHAPE = 'must be ADDRESS:PORT such as 127.0.0.1:9469';

/** Where the metrics endpoint listens, parsed. */
export interface MetricsListen {
  /** A dotted quad, or "localhost". */
  host: string;
  port: number;
}

/** "ADDRESS:PORT" -> { host, port }, or the reason it is not one we listen on. */
export function parseListen(text: string): MetricsListen | string {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  if (m === null) return LISTEN_SHAPE;
  const [, host, portText] = m;
  const port = Number(portText);
  if (port < 1 || port > 65535) return `port ${portText} is not 1-65535`;
  if (host === 'localhost') return { host, port };
  if (!IPV4.test(host)) return `"${host}" is not an IPv4 address; ${LISTEN_SHAPE} (or localhost:PORT)`;
  const first = Number(host.split('.')[0]);
  if (host === '0.0.0.0') return '0.0.0.0 would listen on every address: give a loopback address such as 127.0.0.1, or one address of this host';
  if (host === '255.255.255.255' || (first >= 224 && first <= 239)) return `${host} is not a unicast address`;
  return { host, port };
}

export const metricsSchema = z
  .object({
    /** The HTTP endpoint: GET /metrics (Prometheus text) and /healthz. */
    listen: z.string({ error: (issue) => (issue.input === undefined ? 'required field missing: the ADDRESS:PORT to listen on, such as 127.0.0.1:9469' : LISTEN_SHAPE) }).transform((text, ctx) => {
      const r = parseListen(text);
      if (typeof r === 'string') {
        ctx.addIssue({ code: 'custom', message: r });
        return z.NEVER;
      }
      return r;
    }),
  })
  .strict();

export type MetricsConfig = z.infer<typeof metricsSchema>;
