// The control API's client, as `dataplane ctl` (and tests) use it: one
// connection to a Unix socket or a loopback host:port, promise-returning
// calls, and failures turned into messages that say what to do.
import * as grpc from '@grpc/grpc-js';
import { apiClients } from './api-client-schema.js';

export class ControlCallError extends Error {
  constructor(
    message: string,
    /** The gRPC status code (grpc.status), or -1 when the call never reached a dataplane. */
    readonly code: number,
  ) {
    super(message);
    this.name = 'ControlCallError';
  }
}

/** "unix:PATH" for a socket path, the address itself for host:port. */
export function controlTarget(where: string): string {
  return where.includes('/') && !where.startsWith('unix:') ? `unix:${where}` : where;
}

export class ControlClient {
  private readonly clients = new Map<string, grpc.Client>();

  constructor(
    /** A Unix socket path or a loopback host:port. */
    readonly where: string,
    private readonly timeoutMs = 30_000,
  ) {}

  private client(service: string): grpc.Client {
    let c = this.clients.get(service);
    if (c === undefined) {
      const ctor = apiClients()[service];
      if (ctor === undefined) throw new Error(`api.proto has no service ${service}`);
      // The first client's channel is shared by the others (same target and options).
      c = new ctor(controlTarget(this.where), grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 256 << 20, 'grpc.max_send_message_length': 256 << 20, 'grpc.enable_channelz': 0 });
      this.clients.set(service, c);
    }
    return c;
  }

  /** Calls `service.method` with `request` (and `metadata`, e.g. a bench's trace tag); resolves the response as a plain object. */
  call<T = Record<string, unknown>>(service: string, method: string, request: object = {}, metadata = new grpc.Metadata()): Promise<T> {
    const client = this.client(service) as unknown as Record<string, (req: object, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: T) => void) => void>;
    const fn = client[method];
    if (typeof fn !== 'function') return Promise.reject(new Error(`${service} has no method ${method}`));
    return new Promise((resolve, reject) => {
      fn.call(client, request, metadata, { deadline: Date.now() + this.timeoutMs }, (e, r) => (e ? reject(this.explain(e)) : resolve(r)));
    });
  }

  private explain(e: grpc.ServiceError): ControlCallError {
    if (e.code === grpc.status.UNAVAILABLE) {
      const why = /ENOENT|No such file/.test(e.details) ? 'there is no socket' : /ECONNREFUSED|Connection refused/.test(e.details) ? 'nothing accepts connections there' : /EACCES|Permission denied/.test(e.details) ? 'permission denied (run as root, or as a user the socket lets in)' : e.details;
      return new ControlCallError(
        `cannot reach a dataplane at ${this.where}: ${why}. Start one with \`dataplane run --config CFG\` (its control.socket says where it listens), or point ctl at it with --socket PATH or --config CFG`,
        -1,
      );
    }
    if (e.code === grpc.status.DEADLINE_EXCEEDED) return new ControlCallError(`the dataplane at ${this.where} did not answer within ${this.timeoutMs} ms (--timeout raises the limit)`, e.code);
    return new ControlCallError(e.details || e.message, e.code);
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
