// The control API's client, as `dataplane ctl` (and tests) use it: one
// connection to a Unix socket or a loopback host:port, promise-returning
// calls, and failures turned into messages that say what to do.
import { apiMethods } from './api-client-schema.js';
import { GrpcCallError, GrpcStatus, GrpcUnaryChannel } from './grpc-unary-channel.js';

export class ControlCallError extends Error {
  constructor(
    message: string,
    /** The gRPC status code (GrpcStatus), or -1 when the call never reached a dataplane. */
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
  /** One HTTP/2 session for every service (opened at the first call). */
  private readonly channel: GrpcUnaryChannel;

  constructor(
    /** A Unix socket path or a loopback host:port. */
    readonly where: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.channel = new GrpcUnaryChannel(controlTarget(where));
  }

  /** Calls `service.method` with `request` (and `metadata`, request headers such as a bench's trace tag); resolves the response as a plain object. */
  async call<T = Record<string, unknown>>(service: string, method: string, request: object = {}, metadata?: Readonly<Record<string, string>>): Promise<T> {
    const def = apiMethods()[service]?.[method];
    if (def === undefined) throw new Error(`api.proto has no method ${service}.${method}`);
    let message: Buffer;
    try {
      message = def.requestSerialize(request);
    } catch (e) {
      throw new ControlCallError(`${service}.${method}: the request does not fit api.proto: ${(e as Error).message}`, GrpcStatus.INTERNAL);
    }
    let reply: Buffer;
    try {
      reply = await this.channel.call(def.path, message, metadata, this.timeoutMs);
    } catch (e) {
      if (e instanceof GrpcCallError) throw this.explain(e);
      throw e;
    }
    return def.responseDeserialize(reply) as T;
  }

  private explain(e: GrpcCallError): ControlCallError {
    if (e.code === GrpcStatus.UNAVAILABLE) {
      const why = /ENOENT|No such file/.test(e.details) ? 'there is no socket' : /ECONNREFUSED|Connection refused/.test(e.details) ? 'nothing accepts connections there' : /EACCES|Permission denied/.test(e.details) ? 'permission denied (run as root, or as a user the socket lets in)' : e.details;
      return new ControlCallError(
        `cannot reach a dataplane at ${this.where}: ${why}. Start one with \`dataplane run --config CFG\` (its control.socket says where it listens), or point ctl at it with --socket PATH or --config CFG`,
        -1,
      );
    }
    if (e.code === GrpcStatus.DEADLINE_EXCEEDED) return new ControlCallError(`the dataplane at ${this.where} did not answer within ${this.timeoutMs} ms (--timeout raises the limit)`, e.code);
    return new ControlCallError(e.details, e.code);
  }

  close(): void {
    this.channel.close();
  }
}
