// `dataplane replay IN --config CFG --out OUT`: a capture through the
// forwarding pipeline, offline, with the drop counters at the end.
import { existsSync, fstatSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileErrorReason } from '../config/file-error.js';
import { formatRuleHits } from '../firewall/firewall.js';
import { lbSummary } from './lb-status.js';
import { ConfigError, loadConfig, type ConfigNotices } from '../config/load.js';
import { CaptureFormatError } from '../pcap/reader.js';
import { RouteBuildError } from '../route/fib-build.js';
import { replayCaptureInterruptible, ReplayError, type ReplaySummary } from '../replay/replay.js';
import type { ParallelReplay } from '../replay/parallel-replay.js';
import type { ShardPool } from '../replay/shard-pool.js';
import { TraceRequestError, type TraceRequest } from '../trace/session.js';
import { configCounterLines, printConfigWarnings } from './config-notices.js';

export interface ReplayCommandOptions {
  config: string;
  out: string;
  inPort?: string;
  json: boolean;
  trace?: TraceRequest;
  promiscuous?: boolean;
  /** Worker threads to shard the capture across (1: this thread, today's path). */
  workers?: number;
  /** The shards' pool, started before this module was loaded (shard-pool.ts); runReplay destroys it, used or not. */
  pool?: ShardPool;
}

/**
 * Whether OUT is this process's standard output (`--out /dev/stdout`, piped
 * to another tool): the summary then goes to stderr, so it does not land
 * after the capture's last record and corrupt the file.
 */
function outIsStdout(out: string): boolean {
  try {
    const o = statSync(out);
    const s = fstatSync(1);
    return o.dev === s.dev && o.ino === s.ino;
  } catch {
    return false;
  }
}

function printSummary(s: ReplaySummary, notices: ConfigNotices, workers: number, to: NodeJS.WriteStream): void {
  const out: string[] = [];
  out.push(`frames read: ${s.framesRead}, frames out: ${s.framesOut}`);
  if (workers > 1) out.push(`workers: ${workers} (sharded by flow)`);
  if (s.traced !== undefined) out.push(`packets traced: ${s.traced}`);
  for (const [why, n] of Object.entries(s.skipped)) out.push(`  not replayed: ${n} (${why})`);
  out.push('ports:');
  for (const [name, t] of Object.entries(s.ports)) out.push(`  ${name.padEnd(12)} rx ${String(t.rxFrames).padStart(8)}  tx ${String(t.txFrames).padStart(8)} (${t.txBytes} bytes)`);
  out.push('counters (packets):');
  const names = Object.keys(s.counters).sort();
  const width = Math.max(0, ...names.map((n) => n.length));
  for (const n of names) out.push(`  ${n.padEnd(width)}  ${s.counters[n].packets}`);
  out.push(...configCounterLines(notices));
  if (s.firewall) out.push(...formatRuleHits(s.firewall));
  if (s.lb) out.push(lbSummary(s.lb));
  to.write(out.join('\n') + '\n');
}

/** Errors of reading the input or writing the outputs: reported in a line (exit 1), not with a stack. */
const FILE_ERRORS = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'ENOSPC', 'EDQUOT', 'EFBIG', 'EIO', 'EROFS', 'ENXIO', 'ELOOP', 'ENAMETOOLONG', 'EMFILE', 'ENFILE']);

/**
 * A failed read or write in the user's words: the file they named (not the
 * .partial file an output is written to first) and the reason, e.g.
 * "cannot write out/x.pcapng: no such file (ENOENT)".
 */
function fileProblem(err: NodeJS.ErrnoException, input: string, outputs: (string | undefined)[]): string {
  const path = err.path;
  // A read carries no path; the only file replay reads after its config is the capture (EISDIR: a directory opens, then fails to read).
  if (path === undefined) return err.syscall === 'read' ? `${input}: ${fileErrorReason(err)}` : err.message.split('\n')[0];
  const output = outputs.find((o) => o !== undefined && (path === o || (dirname(path) === dirname(o) && basename(path).startsWith(`.${basename(o)}.`) && path.endsWith('.partial'))));
  if (output !== undefined) return `cannot write ${output}: ${outputReason(err, output)}`;
  return `${path === input ? input : path}: ${fileErrorReason(err)}`;
}

/**
 * Why an output could not be made: ENOENT there is a missing directory, or
 * one that takes no new files (/proc, /sys); "no such file" would read as if
 * the output had to exist already.
 */
function outputReason(err: NodeJS.ErrnoException, output: string): string {
  if (err.code !== 'ENOENT') return fileErrorReason(err);
  const dir = dirname(output);
  return existsSync(dir) ? `${dir} takes no new files (ENOENT)` : `no directory ${dir} (ENOENT)`;
}

export async function runReplay(input: string, opts: ReplayCommandOptions): Promise<number> {
  // Until replayParallel takes it (and destroys it), the early pool is this function's to destroy.
  let pool = opts.pool;
  try {
    const config = loadConfig(opts.config);
    printConfigWarnings('replay', config.notices);
    const isTty = process.stderr.isTTY === true;
    const replayOpts = {
      inPort: opts.inPort,
      trace: opts.trace,
      promiscuous: opts.promiscuous,
      onProgress: isTty ? (n: number) => process.stderr.write(`\rreplay: ${n} frames`) : undefined,
    };
    const asked = opts.workers ?? 1;
    let run: ParallelReplay;
    if (asked === 1) run = { summary: await replayCaptureInterruptible(config, input, opts.out, replayOpts), workers: 1 };
    else {
      // Loaded only for --workers: piscina and the worker file are not on the one-worker path.
      const { replayParallel } = await import('../replay/parallel-replay.js');
      const early = pool;
      pool = undefined;
      run = await replayParallel(config, input, opts.out, asked, replayOpts, early);
    }
    const summary = run.summary;
    if (isTty) process.stderr.write('\r\x1b[K');
    if (run.fallback !== undefined) process.stderr.write(`dataplane replay: --workers ${asked}: replayed on one worker: ${run.fallback}\n`);
    const notForUs = summary.counters['ethernet-input/not-for-us']?.packets ?? 0;
    const fed = Object.values(summary.ports).reduce((n, p) => n + p.rxFrames, 0);
    // Most frames for another MAC (a capture's broadcasts still reach the router): the capture was made elsewhere.
    if (notForUs > 0 && notForUs * 2 >= fed) {
      process.stderr.write(
        `dataplane replay: ${notForUs === fed ? 'every frame was' : `${notForUs} of ${fed} frames were`} for another MAC (ethernet-input/not-for-us): the capture was made on another host. ` +
          "Give the ports the capture's MACs (ports[].mac), or replay with --promisc to take them whatever their MAC.\n",
      );
    }
    const to = outIsStdout(opts.out) ? process.stderr : process.stdout;
    if (opts.json) to.write(JSON.stringify({ ...summary, configCounters: config.notices.counters, ...(asked > 1 ? { workers: run.workers } : {}) }) + '\n');
    else printSummary(summary, config.notices, run.workers, to);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof RouteBuildError || e instanceof ReplayError || e instanceof TraceRequestError) {
      process.stderr.write(`dataplane replay: ${e.message}\n`);
      return 2;
    }
    if (e instanceof CaptureFormatError) {
      process.stderr.write(`dataplane replay: ${input}: ${e.message}\n`);
      return 1;
    }
    const err = e as NodeJS.ErrnoException;
    if (typeof err.code === 'string' && FILE_ERRORS.has(err.code)) {
      process.stderr.write(`dataplane replay: ${fileProblem(err, input, [opts.out, opts.trace?.file])}\n`);
      return 1;
    }
    throw e;
  } finally {
    await pool?.destroy();
  }
}
