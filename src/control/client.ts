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
      if (e instanceof GrpcCallError) throw callFailure(e, { where: this.where, timeoutMs: this.timeoutMs, service, method });
      throw e;
    }
    return def.responseDeserialize(reply) as T;
  }

  close(): void {
    this.channel.close();
  }
}

/** Methods that only read: a failed one changed nothing. Every other method changes the dataplane's state. */
const READS = new Set(['List', 'ListMappings', 'ListRules', 'ListVips', 'Get', 'Read', 'Explain', 'Status']);

/** Where to look after a change whose outcome is unknown, by service. */
const CHECK: Readonly<Record<string, string>> = {
  Routes: 'dataplane ctl route show',
  Neighbors: 'dataplane ctl neigh show',
  Flows: 'dataplane ctl flows (or nat show)',
  Firewall: 'dataplane ctl firewall show',
  LoadBalancer: 'dataplane ctl lb show',
  Trace: 'dataplane ctl trace read',
  Control: "dataplane ctl status, then the tables the reload changes (route show, lb show...) or the dataplane's log",
};

/**
 * A failed call as ctl says it. A change (add, delete, replace, reload, set,
 * drain...) whose request was sent before the failure (a timeout, the
 * dataplane dying mid-call) may have been applied, or may be applied still
 * (a stopped dataplane resuming): its outcome is unknown, and the message
 * says so and where to check, rather than "did not answer" or "cannot
 * reach", which read as if nothing happened.
 */
export function callFailure(e: GrpcCallError, call: { where: string; timeoutMs: number; service: string; method: string }): ControlCallError {
  const { where, timeoutMs, service, method } = call;
  const unknown = e.sent && !READS.has(method) && (e.code === GrpcStatus.DEADLINE_EXCEEDED || e.code === GrpcStatus.UNAVAILABLE || e.code === GrpcStatus.INTERNAL || e.code === GrpcStatus.CANCELLED);
  if (unknown) {
    const what = e.code === GrpcStatus.DEADLINE_EXCEEDED ? `did not answer within ${timeoutMs} ms` : `went away before answering (${e.details})`;
    return new ControlCallError(
      `the dataplane at ${where} ${what} after the request (${service}.${method}) was sent: whether it was applied is unknown, and it may still be applied; check with \`${CHECK[service] ?? 'dataplane ctl status'}\` before trying again`,
      e.code,
    );
  }
  if (e.code === GrpcStatus.UNAVAILABLE) {
    const why = /ENOENT|No such file/.test(e.details) ? 'there is no socket' : /ECONNREFUSED|Connection refused/.test(e.details) ? 'nothing accepts connections there' : /EACCES|Permission denied/.test(e.details) ? 'permission denied (run as root, or as a user the socket lets in)' : e.details;
    return new ControlCallError(
      `cannot reach a dataplane at ${where}: ${why}. Start one with \`dataplane run --config CFG\` (its control.socket says where it listens), or point ctl at it with --socket PATH or --config CFG`,
      -1,
    );
  }
  if (e.code === GrpcStatus.DEADLINE_EXCEEDED) return new ControlCallError(`the dataplane at ${where} did not answer within ${timeoutMs} ms (--timeout raises the limit)`, e.code);
  return new ControlCallError(e.details, e.code);
}
