// The client's schema (api-client-schema.ts, protobufjs directly) against
// the server's (api-proto.ts, @grpc/proto-loader): the same services,
// methods and paths, the same bytes on the wire for a request, and the same
// plain objects from a response, so `dataplane ctl` sees what a
// proto-loader client would. Then one real call over a Unix socket.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { apiMethods } from '../../src/control/api-client-schema.js';
import { apiSchema } from '../../src/control/api-proto.js';
import { ControlClient } from '../../src/control/client.js';

type Method = grpc.MethodDefinition<object, object>;
const methodsOf = (ctor: grpc.ServiceClientConstructor): Record<string, Method> => ctor.service as unknown as Record<string, Method>;

describe('the client schema matches proto-loader', () => {
  const light = apiMethods();
  const loader = apiSchema().services;

  it('has the same services, methods and paths', () => {
    expect(Object.keys(light).sort()).toEqual(Object.keys(loader).sort());
    expect(Object.keys(light).length).toBeGreaterThan(5);
    for (const [name, ctor] of Object.entries(loader)) {
      const theirs = methodsOf(ctor);
      const ours = light[name];
      expect(Object.keys(ours).sort(), name).toEqual(Object.keys(theirs).sort());
      for (const [m, def] of Object.entries(theirs)) {
        expect(ours[m].path, `${name}.${m}`).toBe(def.path);
        expect(ours[m].requestStream).toBe(def.requestStream);
        expect(ours[m].responseStream).toBe(def.responseStream);
      }
    }
  });

  it('decodes every response the same, defaults and all (an empty message)', () => {
    for (const [name, ctor] of Object.entries(loader)) {
      for (const [m, def] of Object.entries(methodsOf(ctor))) {
        const ours = light[name][m];
        const bytes = def.responseSerialize({});
        expect(ours.responseDeserialize(bytes), `${name}.${m}`).toEqual(def.responseDeserialize(bytes));
        const req = def.requestSerialize({});
        expect(ours.requestDeserialize(req), `${name}.${m} request`).toEqual(def.requestDeserialize(req));
      }
    }
  });

  it('encodes a route change that proto-loader reads as sent (both oneof cases), and decodes 64-bit counters as numbers', () => {
    const change = { add: [{ line: '198.18.5.0/24 via 198.51.100.2' }, { route: { prefix: '198.18.6.0/24', via: '198.51.100.3', nexthops: [{ via: '198.51.100.4', weight: 2 }] } }], delete: ['198.18.7.0/24'], set_all: false };
    const theirs = methodsOf(loader.Routes).Change;
    const ours = light.Routes.Change;
    // The bytes may differ: protobufjs 8 leaves proto3 fields at their default (set_all: false) off the wire, proto-loader's protobufjs 7 writes them; either side reads both the same.
    const bytes = ours.requestSerialize(change);
    const decoded = theirs.requestDeserialize(bytes) as { add: { spec: string; line: string }[]; set_all: boolean };
    expect(decoded).toEqual(theirs.requestDeserialize(theirs.requestSerialize(change)));
    expect(ours.requestDeserialize(theirs.requestSerialize(change))).toEqual(decoded);
    expect(decoded.add.map((a) => a.spec)).toEqual(['line', 'route']);
    expect(decoded).toMatchObject({ delete: ['198.18.7.0/24'], set_all: false, add: [{ line: change.add[0].line }, { route: { prefix: '198.18.6.0/24', nexthops: [{ via: '198.51.100.4', weight: 2 }] } }] });

    const counters = { ports: [{ name: 'wan', up: true, rx_packets: 2 ** 40 + 3, tx_bytes: 12345 }], counters: [{ name: 'ip4-lookup/no-route', kind: 'drop', packets: 7, bytes: 0 }] };
    const res = methodsOf(loader.Counters).Get.responseSerialize(counters);
    const got = light.Counters.Get.responseDeserialize(res) as { ports: { rx_packets: unknown }[] };
    expect(got).toEqual(methodsOf(loader.Counters).Get.responseDeserialize(res));
    expect(got.ports[0].rx_packets).toBe(2 ** 40 + 3);
  });
});

describe('ControlClient over the client schema', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dp-client-schema-'));
  const socket = join(dir, 'control.sock');
  const server = new grpc.Server();
  afterAll(() => {
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('calls a proto-loader server and gets its answer and its errors', async () => {
    let seen: unknown;
    server.addService(apiSchema().services.Routes.service, {
      List: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { routes: [{ prefix: '198.18.5.0/24', type: 'unicast', via: '198.51.100.2', source: 'api' }], total: 1 }),
      Change: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        seen = call.request;
        cb({ code: grpc.status.INVALID_ARGUMENT, details: 'add[0].via: not on any port' });
      },
    });
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    const client = new ControlClient(socket);
    try {
      const list = await client.call<{ routes: { prefix: string; dev: string; nexthops: unknown[] }[]; total: number }>('Routes', 'List', { prefix: '' });
      expect(list.total).toBe(1);
      expect(list.routes[0]).toMatchObject({ prefix: '198.18.5.0/24', dev: '', nexthops: [] });
      await expect(client.call('Routes', 'Change', { add: [{ line: '198.18.9.0/24 via 192.0.2.77' }] })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, message: 'add[0].via: not on any port' });
      expect(seen).toMatchObject({ add: [{ spec: 'line', line: '198.18.9.0/24 via 192.0.2.77' }], delete: [], set_all: false });
    } finally {
      client.close();
    }
  });
});
