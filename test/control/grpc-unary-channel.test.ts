// The unary gRPC channel ControlClient calls through (grpc-unary-channel.ts)
// against a real grpc-js server on a Unix socket: replies, error statuses
// with their details as sent, a deadline, no socket or nothing listening,
// a server that restarts, and many calls in flight on one session.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { apiSchema } from '../../src/control/api-proto.js';
import { ControlCallError, ControlClient } from '../../src/control/client.js';
import { GrpcCallError, GrpcStatus, GrpcUnaryChannel, grpcTimeout } from '../../src/control/grpc-unary-channel.js';

const dir = mkdtempSync(join(tmpdir(), 'dp-unary-channel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Status = { version: string; routes: number };
/** A grpc-js server with Control.Status (echoes x-dp-trace as its version, waits `delay` first when the tag says "slow") and Control.Reload (fails with the path as its details). */
async function serve(socket: string): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(apiSchema().services.Control.service, {
    Status: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const tag = call.metadata.get('x-dp-trace').join(',');
      if (tag === 'slow') setTimeout(() => cb(null, { version: tag }), 2000);
      else cb(null, { version: tag, routes: 7 });
    },
    Reload: (call: grpc.ServerUnaryCall<{ path: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.INVALID_ARGUMENT, details: `cannot read ${call.request.path}: ENOENT — 100% "not there"` }),
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return server;
}

describe('GrpcUnaryChannel', () => {
  it('gets replies, and error statuses with their details as the server wrote them', async () => {
    const socket = join(dir, 'a.sock');
    const server = await serve(socket);
    const client = new ControlClient(socket);
    try {
      expect(await client.call<Status>('Control', 'Status', {}, { 'x-dp-trace': 'hello' })).toMatchObject({ version: 'hello', routes: 7 });
      // Many at once on the one session.
      const many = await Promise.all(Array.from({ length: 50 }, (_, i) => client.call<Status>('Control', 'Status', {}, { 'x-dp-trace': String(i) })));
      expect(many.map((r) => r.version)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
      const failed = client.call('Control', 'Reload', { path: '/x/y.yaml' });
      await expect(failed).rejects.toBeInstanceOf(ControlCallError);
      await expect(failed).rejects.toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT, message: 'cannot read /x/y.yaml: ENOENT — 100% "not there"' });
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it('gives up at the deadline with DEADLINE_EXCEEDED', async () => {
    const socket = join(dir, 'b.sock');
    const server = await serve(socket);
    const channel = new GrpcUnaryChannel(`unix:${socket}`);
    const path = '/dataplane.v1.Control/Status';
    try {
      const t = performance.now();
      const err = await channel.call(path, new Uint8Array(0), { 'x-dp-trace': 'slow' }, 150).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GrpcCallError);
      expect((err as GrpcCallError).code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
      expect(performance.now() - t).toBeLessThan(1500);
      // The session still serves the next call.
      expect((await channel.call(path, new Uint8Array(0), undefined, 5000)).length).toBeGreaterThan(0);
    } finally {
      channel.close();
      server.forceShutdown();
    }
  });

  it('says UNAVAILABLE, with the system error, when there is no socket or nothing listens', async () => {
    const missing = new GrpcUnaryChannel(`unix:${join(dir, 'missing.sock')}`);
    const e1 = (await missing.call('/dataplane.v1.Control/Status', new Uint8Array(0), undefined, 5000).catch((e: unknown) => e)) as GrpcCallError;
    expect(e1.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(e1.details).toMatch(/ENOENT/);
    missing.close();
    // A file that is not a socket: the connect is refused.
    const plain = join(dir, 'plain.sock');
    writeFileSync(plain, '');
    const client = new ControlClient(plain);
    await expect(client.call('Control', 'Status')).rejects.toMatchObject({ code: -1, message: expect.stringMatching(/^cannot reach a dataplane at .*plain\.sock: nothing accepts connections there\. Start one with/) });
    client.close();
  });

  it('reconnects when the server comes back', async () => {
    const socket = join(dir, 'c.sock');
    let server = await serve(socket);
    const client = new ControlClient(socket);
    try {
      expect(await client.call<Status>('Control', 'Status', {}, { 'x-dp-trace': 'one' })).toMatchObject({ version: 'one' });
      server.forceShutdown();
      rmSync(socket, { force: true });
      await expect(client.call('Control', 'Status')).rejects.toMatchObject({ code: -1 });
      server = await serve(socket);
      expect(await client.call<Status>('Control', 'Status', {}, { 'x-dp-trace': 'two' })).toMatchObject({ version: 'two' });
    } finally {
      client.close();
      server.forceShutdown();
    }
  });

  it('writes deadlines as grpc-timeout does (at most 8 digits)', () => {
    expect(grpcTimeout(30_000)).toBe('30000m');
    expect(grpcTimeout(0.2)).toBe('1m');
    expect(grpcTimeout(1e9)).toBe('278H');
  });
});
