// A gRPC client for unary calls, written straight on node:http2: what
// `dataplane ctl` (and ControlClient's other users) need from gRPC, and no
// more. One HTTP/2 session to a Unix socket or host:port; a call is one
// stream: request headers, one length-prefixed message, then the reply's
// message and its grpc-status trailers.
//
// Why not @grpc/grpc-js's client: it builds a stack of call objects per
// call (resolving, retrying, load-balancing and subchannel calls, filters,
// metadata copies), about 40 KB of garbage per unary call, and part of it
// lives long enough to be copied by a scavenge. A long-lived client (a
// test, a bench, a program that drives the API) then spent about half its
// CPU per call in grpc-js and the collector, and its GC pauses (tens of ms
// on a loaded machine) were in the slowest 1% of round trips. This channel
// costs about half the client CPU per call and half the collections (A/B
// in one process, bench/control/ctl-roundtrip.ts), and a `ctl` process no
// longer loads grpc-js at all. The server is still grpc-js, so generic
// gRPC tools (grpcurl, reflection) see the same API.
//
// What it does not do, because the control API does not need it:
// streaming calls, compression (it sends no grpc-accept-encoding, so the
// server replies uncompressed), retries, name resolution, TLS.
import { connect as http2Connect, constants, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { connect as netConnect } from 'node:net';

/** The gRPC status codes this client produces or callers test (the protocol's numbers). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  FAILED_PRECONDITION: 9,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A call that ended without a reply: its gRPC status code and the details (the server's grpc-message, or what went wrong here). */
export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    /**
     * The connection was up when the call failed, so the server may have
     * taken the request (and may apply it still, e.g. when it was stopped
     * and resumes): false only when it never connected.
     */
    readonly sent = false,
  ) {
    super(details);
    this.name = 'GrpcCallError';
  }
}

/** A deadline as the grpc-timeout header writes it: at most 8 digits and a unit. */
export function grpcTimeout(ms: number): string {
  const m = Math.max(1, Math.ceil(ms));
  return m < 1e8 ? `${m}m` : `${Math.min(99_999_999, Math.ceil(m / 3_600_000))}H`;
}

/** grpc-message is percent-encoded (grpc-js encodes it with encodeURI). */
function decodeGrpcMessage(v: string | string[] | undefined): string {
  const s = Array.isArray(v) ? v.join(',') : (v ?? '');
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export class GrpcUnaryChannel {
  private session: ClientHttp2Session | undefined;
  /** Why the current session failed (a connect error: ENOENT, ECONNREFUSED, EACCES...), for the calls it took down. */
  private sessionError: Error | undefined;
  /** Sessions whose connection was made (a call on one may have reached the server). */
  private readonly connected = new WeakSet<ClientHttp2Session>();
  /** Calls in flight: the session keeps the process alive only while there are some. */
  private active = 0;

  constructor(
    /** "unix:PATH" or "host:port". */
    readonly target: string,
  ) {}

  /** The open session, or a new one (the first call, or after the server went away). */
  private open(): ClientHttp2Session {
    const current = this.session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    this.sessionError = undefined;
    const path = this.target.startsWith('unix:') ? this.target.slice('unix:'.length) : undefined;
    const s = path !== undefined ? http2Connect('http://localhost', { createConnection: () => netConnect(path) }) : http2Connect(`http://${this.target}`);
    // A connect or socket error ends the session; the calls on it fail with it (below), it is not thrown.
    s.on('error', (e) => {
      if (this.session === s) this.sessionError = e;
    });
    s.on('close', () => {
      if (this.session === s) this.session = undefined;
    });
    s.once('connect', () => this.connected.add(s));
    s.unref();
    this.session = s;
    return s;
  }

  /**
   * Calls the unary method at `path` (/package.Service/Method) with the
   * encoded request `message`; resolves the reply's encoded message, or
   * rejects a GrpcCallError with the status. `metadata` goes as request
   * headers (lower-case names).
   */
  call(path: string, message: Uint8Array, metadata: Readonly<Record<string, string>> | undefined, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const session = this.open();
      const headers: OutgoingHttpHeaders = {
        ...metadata,
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
        'grpc-timeout': grpcTimeout(timeoutMs),
      };
      const stream = session.request(headers);
      if (this.active++ === 0) session.ref();
      const frame = Buffer.allocUnsafe(5 + message.byteLength);
      frame[0] = 0;
      frame.writeUInt32BE(message.byteLength, 1);
      frame.set(message, 5);
      const chunks: Buffer[] = [];
      let httpStatus = 0;
      let status: IncomingHttpHeaders | undefined;
      let failure: GrpcCallError | undefined;
      const timer = setTimeout(() => {
        failure ??= new GrpcCallError(GrpcStatus.DEADLINE_EXCEEDED, `no answer within ${timeoutMs} ms`, this.connected.has(session));
        stream.close(constants.NGHTTP2_CANCEL);
      }, timeoutMs);
      stream.on('response', (h) => {
        httpStatus = Number(h[':status']);
        // A trailers-only reply (an error before any message) has its status in the headers.
        if (h['grpc-status'] !== undefined) status = h;
      });
      stream.on('trailers', (t) => {
        status = t;
      });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) => {
        // The session's own error (the connect) says more than the stream's "canceled".
        const cause = this.sessionError ?? e;
        failure ??= new GrpcCallError(status === undefined && httpStatus === 0 ? GrpcStatus.UNAVAILABLE : GrpcStatus.INTERNAL, cause.message, this.connected.has(session));
      });
      stream.on('close', () => {
        clearTimeout(timer);
        if (--this.active === 0 && !session.destroyed) session.unref();
        if (failure !== undefined) return reject(failure);
        if (status === undefined) {
          const rst = stream.rstCode ?? 0;
          const code = rst === constants.NGHTTP2_REFUSED_STREAM ? GrpcStatus.UNAVAILABLE : rst === constants.NGHTTP2_CANCEL ? GrpcStatus.CANCELLED : httpStatus !== 0 && httpStatus !== 200 ? GrpcStatus.UNKNOWN : GrpcStatus.INTERNAL;
          // A refused stream never reached the method; any other end without a status may have.
          const sent = code !== GrpcStatus.UNAVAILABLE && this.connected.has(session);
          return reject(new GrpcCallError(code, httpStatus !== 0 && httpStatus !== 200 ? `HTTP status ${httpStatus}, no gRPC status` : `the stream ended (HTTP/2 code ${rst}) without a gRPC status`, sent));
        }
        const code = Number(status['grpc-status']);
        if (code !== GrpcStatus.OK) return reject(new GrpcCallError(Number.isInteger(code) ? code : GrpcStatus.UNKNOWN, decodeGrpcMessage(status['grpc-message'])));
        // One message, not compressed: flag 0, a 4-byte length, the bytes.
        const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
          return reject(new GrpcCallError(GrpcStatus.INTERNAL, `the reply (${body.length} bytes) is not one uncompressed gRPC message`));
        }
        resolve(body.subarray(5));
      });
      stream.end(frame);
    });
  }

  /** Closes the session (calls in flight finish first). */
  close(): void {
    const s = this.session;
    this.session = undefined;
    if (s !== undefined && !s.destroyed) s.close();
  }
}
