// A failed ctl call as the user reads it: a change whose request was sent
// before the failure has an unknown outcome (it may be applied still), said
// with where to check; a call that never connected, or only read, says what
// it always said.
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callFailure } from '../../src/control/client.js';
import { GrpcCallError, GrpcStatus, GrpcUnaryChannel } from '../../src/control/grpc-unary-channel.js';

const call = (service: string, method: string) => ({ where: '/tmp/dp.sock', timeoutMs: 2000, service, method });

describe('callFailure', () => {
  it('a change timed out after it was sent: outcome unknown, check with the matching show (was "did not answer", as if nothing happened)', () => {
    const e = callFailure(new GrpcCallError(GrpcStatus.DEADLINE_EXCEEDED, 'no answer within 2000 ms', true), call('Routes', 'Change'));
    expect(e.message).toBe(
      'the dataplane at /tmp/dp.sock did not answer within 2000 ms after the request (Routes.Change) was sent: whether it was applied is unknown, and it may still be applied; check with `dataplane ctl route show` before trying again',
    );
  });

  it('a change whose dataplane died mid-call: outcome unknown (was "cannot reach ... Start one with")', () => {
    const e = callFailure(new GrpcCallError(GrpcStatus.UNAVAILABLE, 'read ECONNRESET', true), call('LoadBalancer', 'Drain'));
    expect(e.message).toMatch(/^the dataplane at \/tmp\/dp\.sock went away before answering \(read ECONNRESET\) after the request \(LoadBalancer\.Drain\) was sent: whether it was applied is unknown/);
    expect(e.message).toContain('`dataplane ctl lb show`');
    expect(e.message).not.toContain('Start one');
    expect(callFailure(new GrpcCallError(GrpcStatus.UNAVAILABLE, 'read ECONNRESET', true), call('Control', 'Reload')).message).toContain('whether it was applied is unknown');
  });

  it('a read, or a change never sent, keeps its plain message', () => {
    expect(callFailure(new GrpcCallError(GrpcStatus.DEADLINE_EXCEEDED, 'x', true), call('Routes', 'List')).message).toBe('the dataplane at /tmp/dp.sock did not answer within 2000 ms (--timeout raises the limit)');
    const refused = callFailure(new GrpcCallError(GrpcStatus.UNAVAILABLE, 'connect ENOENT /tmp/dp.sock', false), call('Routes', 'Change'));
    expect([refused.code, refused.message]).toEqual([-1, expect.stringMatching(/^cannot reach a dataplane at \/tmp\/dp\.sock: there is no socket\. Start one/) as unknown]);
    // A refusal from the dataplane itself is its own words.
    expect(callFailure(new GrpcCallError(GrpcStatus.INVALID_ARGUMENT, 'route 1: bad prefix', true), call('Routes', 'Change')).message).toBe('route 1: bad prefix');
  });
});

describe('GrpcUnaryChannel: whether a failed call was sent', () => {
  it('sent when the connection was made (a server that never answers), not when there was nothing to connect to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dp-call-failure-'));
    const path = join(dir, 's.sock');
    const server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(path, r));
    try {
      const silent = new GrpcUnaryChannel(`unix:${path}`);
      const e1 = await silent.call('/dataplane.Routes/Change', new Uint8Array(0), undefined, 300).catch((e: unknown) => e);
      silent.close();
      expect(e1).toMatchObject({ code: GrpcStatus.DEADLINE_EXCEEDED, sent: true });
      const none = new GrpcUnaryChannel(`unix:${join(dir, 'none.sock')}`);
      const e2 = await none.call('/dataplane.Routes/Change', new Uint8Array(0), undefined, 300).catch((e: unknown) => e);
      none.close();
      expect(e2).toMatchObject({ code: GrpcStatus.UNAVAILABLE, sent: false });
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
