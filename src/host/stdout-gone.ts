// When the reader of a command's standard output goes away (`dataplane
// route lookup ... | head -1`, `dataplane run | head`): EPIPE is not an error
// for a command whose output is what it does, so the process ends quietly,
// as Unix tools do. A command that holds something it must give back (`run`:
// its TAPs, port locks and workers; `demo`: a lab of namespaces and
// processes) registers a handler instead, and stops the way it stops on
// SIGTERM: exiting on the spot left the lab, or the TAPs and lock files of
// `run`, behind.
//
// Once stdout is gone, every later write to it fails too (EPIPE again, or
// ERR_STREAM_DESTROYED once Node has destroyed the stream); those are
// ignored while the handler tears down, which may still log to stderr.

const handlers = new Set<() => void>();

/** Calls `handler` once if stdout's reader goes away; returns the function that unregisters it. */
export function whenStdoutGone(handler: () => void): () => void {
  handlers.add(handler);
  return () => handlers.delete(handler);
}

/** Installed once, for every command, before it runs. */
export function installStdoutGone(stdout: NodeJS.WriteStream = process.stdout, exit: (code: number) => void = (code) => process.exit(code)): void {
  let gone = false;
  stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (gone && (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED')) return;
    if (e.code !== 'EPIPE') throw e;
    gone = true;
    if (handlers.size === 0) {
      exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      return;
    }
    for (const h of [...handlers]) h();
  });
}
