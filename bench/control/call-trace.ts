// Preloaded into the benched `dataplane run` beside loop-probe.ts
// (NODE_OPTIONS=--import, see ctl-roundtrip.ts): timestamps each control call
// inside the dataplane, so one slow call can be followed end to end. The
// client sends its id and its send time (process.hrtime, CLOCK_MONOTONIC,
// which both processes share) as metadata; this records, on the main thread,
// when the handler ran, when it handed the reply to grpc-js and when that
// returned, how long the thread had waited to run (its schedstat run delay)
// since the previous call's reply, and the GC pauses in between. Disarmed
// (no DP_CALL_TRACE_FILE, or a call without the metadata) it adds one
// metadata lookup per call; the records are written to $DP_CALL_TRACE_FILE,
// one JSON line per call, when the process exits.
import { appendFileSync, readFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';

/** One traced call as the dataplane saw it: times in ms on CLOCK_MONOTONIC. */
export interface CallTraceRecord {
  id: number;
  method: string;
  /** The client's send time (from its metadata). */
  sent: number;
  /** The handler starts (request read, parsed and decoded). */
  handler: number;
  /** The handler's result is handed to grpc-js (callback called). */
  reply: number;
  /** The callback returned (the reply serialized and written to the HTTP/2 session). */
  written: number;
  /** The main thread's run delay (runnable, not running) from the previous traced call's `written` to this `handler`, and during the handler (ms). */
  runDelayBefore: number;
  runDelayDuring: number;
  /** GC pauses that started between the previous traced call's `written` and this `written` (ms each). */
  gc: number[];
  /** The event loop's idle time (in epoll) between the previous traced call's `written` and this `handler` (ms). */
  loopIdleBefore: number;
}

const file = process.env.DP_CALL_TRACE_FILE;
if (isMainThread && file !== undefined && file !== '') {
  const records: CallTraceRecord[] = [];
  const ms = () => Number(process.hrtime.bigint()) / 1e6;
  // performance.now() (GC entry start times) to CLOCK_MONOTONIC ms.
  const perfToMono = ms() - performance.now();
  const gcStarts: { at: number; ms: number }[] = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcStarts.push({ at: e.startTime + perfToMono, ms: e.duration });
  }).observe({ entryTypes: ['gc'] });
  const schedstat = `/proc/${process.pid}/task/${process.pid}/schedstat`;
  const runDelay = () => Number(readFileSync(schedstat, 'utf8').split(' ')[1]) / 1e6;
  let last = { written: ms(), runDelay: runDelay(), idle: performance.nodeTiming.idleTime };
  const wrap = (method: string, handler: grpc.handleUnaryCall<unknown, unknown>): grpc.handleUnaryCall<unknown, unknown> => (call, callback) => {
    const tag = call.metadata.get('x-dp-trace')[0];
    if (tag === undefined) return handler(call, callback);
    const handlerAt = ms();
    const rd0 = runDelay();
    const idle = performance.nodeTiming.idleTime;
    const [id, sent] = String(tag).split(' ').map(Number);
    handler(call, (e, value, trailer, flags) => {
      const reply = ms();
      callback(e, value, trailer, flags);
      const written = ms();
      const rd1 = runDelay();
      records.push({
        id,
        method,
        sent,
        handler: handlerAt,
        reply,
        written,
        runDelayBefore: rd0 - last.runDelay,
        runDelayDuring: rd1 - rd0,
        gc: gcStarts.filter((g) => g.at >= last.written && g.at < written).map((g) => g.ms),
        loopIdleBefore: idle - last.idle,
      });
      last = { written, runDelay: rd1, idle: performance.nodeTiming.idleTime };
    });
  };
  const addService = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (this: grpc.Server, service: grpc.ServiceDefinition, impl: grpc.UntypedServiceImplementation) {
    const wrapped: grpc.UntypedServiceImplementation = {};
    for (const [name, h] of Object.entries(impl)) {
      const def = service[name] as { path?: string; requestStream?: boolean; responseStream?: boolean } | undefined;
      wrapped[name] = def !== undefined && !def.requestStream && !def.responseStream ? wrap(def.path ?? name, h as grpc.handleUnaryCall<unknown, unknown>) : h;
    }
    addService.call(this, service, wrapped);
  };
  process.on('exit', () => {
    if (records.length > 0) appendFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  });
}
