// The gRPC server of the control API: binds the Unix socket (and, if asked,
// a loopback TCP port), turns on server reflection, and maps each method of
// proto/dataplane/api.proto onto the ControlPlane. Changes run one at a time
// (a queue), so two clients never interleave half-applied edits; reads do
// not wait for them.
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { apiSchema } from './api-proto.js';
import { ControlError, type ControlPlane } from './control-plane.js';
import { prepareSocket, SocketInUseError } from './socket.js';
import { unlinkSync } from 'node:fs';

export { SocketInUseError };

type Handler = (request: Record<string, unknown>) => unknown;

const STATUS: Record<ControlError['kind'], grpc.status> = {
  invalid: grpc.status.INVALID_ARGUMENT,
  unavailable: grpc.status.FAILED_PRECONDITION,
  'not-found': grpc.status.NOT_FOUND,
};

export class ControlServer {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly server: grpc.Server,
    /** Where it listens, for the start lines ("unix:/run/dataplane/dataplane.sock", "127.0.0.1:9470"). */
    readonly addresses: string[],
    private readonly socket: string | undefined,
  ) {}

  /** Starts serving `plane` on the socket (and `listen`, a loopback host:port). Throws SocketInUseError when another dataplane serves the socket. */
  static async start(plane: ControlPlane, where: { socket?: string; listen?: string }): Promise<ControlServer> {
    const { definition, services } = apiSchema();
    // Channelz (grpc-js's per-call statistics for its debug service) is not served here: off, it saves each call's bookkeeping on the main thread.
    const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
    let queue: Promise<unknown> = Promise.resolve();
    // Changes: one after another, each on the tables the previous one left.
    const serial = (f: Handler): Handler => (req) => {
      const run = queue.then(() => f(req));
      queue = run.catch(() => undefined);
      return run;
    };
    const impl: Record<string, Record<string, Handler>> = {
      Routes: {
        List: (r) => plane.listRoutes(r.prefix as string, r.limit as number),
        Change: serial((r) => plane.changeRoutes(r as never)),
      },
      Neighbors: {
        List: () => ({ neighbors: plane.listNeighbors() }),
        Change: serial((r) => plane.changeNeighbors(r as never)),
      },
      Flows: {
        List: (r) => plane.listFlows(r.filter as string, r.limit as number),
        Delete: serial((r) => plane.deleteFlows(r.filter as string)),
        ListMappings: (r) => plane.listMappings(r.filter as string, r.limit as number),
        DeleteMappings: serial((r) => plane.deleteMappings(r.filter as string)),
      },
      Firewall: {
        ListRules: () => ({ rules: plane.listRules() }),
        Set: serial(async (r) => ({ applied: await plane.setFirewall(r.yaml as string) })),
      },
      LoadBalancer: {
        ListVips: () => ({ vips: plane.listVips() }),
        SetWeight: serial(async (r) => ({ applied: await plane.changeBackend('weight', r as never) })),
        Drain: serial(async (r) => ({ applied: await plane.changeBackend('drain', r as never) })),
        Undrain: serial(async (r) => ({ applied: await plane.changeBackend('undrain', r as never) })),
        AddBackend: serial(async (r) => ({ applied: await plane.changeBackend('add', r as never) })),
        RemoveBackend: serial(async (r) => ({ applied: await plane.changeBackend('remove', r as never) })),
      },
      Counters: { Get: (r) => plane.counters(r.prefix as string, r.all as boolean) },
      Trace: {
        Start: serial((r) => plane.traceStart(r.filter as string, r.count as number)),
        Stop: serial(() => plane.traceStop()),
        Read: (r) => plane.traceRead(r.max as number),
      },
      Explain: { Explain: (r) => plane.explain(r.packet as string) },
      Control: {
        Reload: serial(async (r) => ({ applied: await plane.reload({ path: r.path as string, yaml: r.yaml as string }) })),
        Status: () => plane.status(),
      },
    };
    for (const [name, methods] of Object.entries(impl)) {
      const service = services[name];
      if (service === undefined) throw new Error(`api.proto has no service ${name}`);
      const handlers: grpc.UntypedServiceImplementation = {};
      for (const [method, f] of Object.entries(methods)) handlers[method] = unary(f);
      server.addService(service.service, handlers);
    }
    new ReflectionService(definition).addToServer(server);
    const addresses: string[] = [];
    const bind = (address: string) =>
      new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    try {
      if (where.socket) {
        await prepareSocket(where.socket);
        await bind(`unix:${where.socket}`);
        addresses.push(`unix:${where.socket}`);
      }
      if (where.listen) {
        await bind(where.listen);
        addresses.push(where.listen);
      }
    } catch (e) {
      server.forceShutdown();
      throw e;
    }
    return new ControlServer(server, addresses, where.socket || undefined);
  }

  /** Stops taking calls, lets running ones finish (at most `ms`), and removes the socket. */
  async stop(ms = 1000): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, ms);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.socket !== undefined) {
      try {
        unlinkSync(this.socket);
      } catch {
        // Already gone (grpc-js may remove it itself).
      }
    }
  }
}

/** A handler as grpc-js wants it: errors become status codes, a ControlError's message reaches the client as it is. */
function unary(f: Handler): grpc.handleUnaryCall<Record<string, unknown>, unknown> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => f(call.request))
      .then(
        (result) => callback(null, result),
        (e: unknown) => {
          if (e instanceof ControlError) callback({ code: STATUS[e.kind], details: e.message });
          else callback({ code: grpc.status.INTERNAL, details: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
        },
      );
  };
}
