// What one health probe reports, whatever its kind (tcp-probe.ts,
// http-probe.ts, icmp-probe.ts). A probe never throws and never rejects: a
// backend that misbehaves is a failed probe with a reason, not an exception
// on the main thread.

export interface ProbeResult {
  ok: boolean;
  /** Time from the probe's start to its verdict (the timeout when it timed out). */
  latencyMs: number;
  /** Why it failed ("connect ECONNREFUSED", "status 503, expected 200", "timeout after 500 ms"); '' when ok. */
  reason: string;
}

/** One probe of one backend address (uint32); the kind, port and timeout are bound in already. */
export type Probe = (address: number) => Promise<ProbeResult>;

export const probeOk = (latencyMs: number): ProbeResult => ({ ok: true, latencyMs, reason: '' });
export const probeFailed = (latencyMs: number, reason: string): ProbeResult => ({ ok: false, latencyMs, reason });

/** "connect ECONNREFUSED" rather than the whole message with its address and port, which the log line names already. */
export function errorReason(what: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return `${what} ${err.code ?? err.message ?? String(e)}`;
}
