// ControlClient.call's optional metadata (the ctl-roundtrip bench tags its
// traced calls with it) reaches the server as sent, and a call without it
// sends none of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiSchema } from '../../src/control/api-proto.js';
import { ControlClient } from '../../src/control/client.js';

describe('ControlClient metadata', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dp-client-metadata-'));
  const socket = join(dir, 'control.sock');
  const server = new grpc.Server();
  let client: ControlClient;

  beforeAll(async () => {
    // Control.Status answers with the request's x-dp-trace metadata as its version.
    server.addService(apiSchema().services.Control.service, {
      Status: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { version: call.metadata.get('x-dp-trace').join(',') }),
      Reload: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED }),
    });
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    client = new ControlClient(socket);
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the metadata given', async () => {
    expect(await client.call<{ version: string }>('Control', 'Status', {}, { 'x-dp-trace': '7 123.5' })).toMatchObject({ version: '7 123.5' });
  });

  it('sends none without it', async () => {
    expect(await client.call<{ version: string }>('Control', 'Status')).toMatchObject({ version: '' });
  });
});
