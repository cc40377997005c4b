// A trace as a command asks for it (`--trace FILE --trace-count N
// --trace-filter EXPR`), checked once where the command starts, and the
// pieces that read it on the main thread: the formatter's view of the
// tables and the pcapng writer.
import type { RouterConfig } from '../config/load.js';
import type { ByteSink } from '../pcap/writer.js';
import type { PipelineNode } from '../pipeline/node.js';
import type { TraceDescribeContext } from '../pipeline/trace-recorder.js';
import { describeRoute } from '../route/describe.js';
import type { CompiledFib } from '../route/fib.js';
import { parseTraceFilter, type TraceFilter } from './filter.js';
import { TraceFormatter } from './format.js';
import { MAX_TRACE_COUNT } from './limits.js';
import { TraceWriter } from './writer.js';


export interface TraceRequest {
  /** The pcapng file to write. */
  file: string;
  /** Packets to trace at most (all workers together). */
  count: number;
  /** Filter expression ("" traces every packet). */
  filter: string;
}

export class TraceRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceRequestError';
  }
}

/** Checks a trace request against the config: count in range, filter parses. Returns the parsed filter. */
export function checkTraceRequest(req: TraceRequest, config: RouterConfig): TraceFilter {
  if (!Number.isInteger(req.count) || req.count < 1 || req.count > MAX_TRACE_COUNT) {
    throw new TraceRequestError(`--trace-count must be an integer from 1 to ${MAX_TRACE_COUNT}, got ${req.count}`);
  }
  try {
    return parseTraceFilter(req.filter, config.ports.map((p) => p.name));
  } catch (e) {
    throw new TraceRequestError(`--trace-filter: ${(e as Error).message}`);
  }
}

/** What the formatter needs to put verdicts in words: port names and routes, from the compiled tables. */
export function describeContext(config: RouterConfig, compiled: CompiledFib): TraceDescribeContext {
  return {
    portName: (port) => config.ports[port]?.name ?? `port ${port}`,
    route: (dst) => describeRoute(dst, config, compiled),
  };
}

/** The pcapng trace writer for a run: interfaces named after the ports, verdicts formatted with the graph's nodes. */
export function openTraceWriter(output: string | ByteSink, config: RouterConfig, compiled: CompiledFib, nodes: readonly PipelineNode[]): TraceWriter {
  return new TraceWriter(
    output,
    config.ports.map((p) => p.name),
    new TraceFormatter(nodes, describeContext(config, compiled)),
  );
}
