// The control API's Unix socket: its directory made if missing, a stale
// socket file left by a dataplane that died removed, and one that another
// running dataplane still serves refused (two processes must not share it).
import { mkdirSync, existsSync, unlinkSync, lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { connect } from 'node:net';

export class SocketInUseError extends Error {
  constructor(readonly path: string) {
    super(`${path}: another dataplane serves its control API there; give this one its own socket (config control.socket) or stop the other`);
    this.name = 'SocketInUseError';
  }
}

/** Resolves true when something accepts connections on the Unix socket `path`. */
export function socketAnswers(path: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Makes `path` ready to bind: its directory exists (mode 0755), no stale socket is in the way. */
export async function prepareSocket(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new Error(`${path}: exists and is not a socket; remove it or choose another control.socket`);
  if (await socketAnswers(path)) throw new SocketInUseError(path);
  unlinkSync(path);
}
