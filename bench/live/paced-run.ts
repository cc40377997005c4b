// One run of the stateful live benches (nat.ts, lb.ts, firewall.ts): pacer.c
// in the generator's namespace at a rate for a time (or a count of frames),
// counted on the generator's interface (tx, what left) and on the sinks'
// (rx, what arrived), with the CPU each subject is charged:
//   - router CPU: the dataplane process's utime+stime; for the kernel, which
//     forwards in softirq and has no process, the machine's
//     system+irq+softirq time less the same frames at the same rate straight
//     from generator to sink over the direct pair (direct.ts), run just
//     before and scaled to the routed run's offered packets;
//   - generator+router+sink CPU: the pacer, the dataplane process and
//     ksoftirqd (per process: other jobs on the machine do not count; the
//     kernel forwards in softirq, charged to the task it interrupts);
//   - forwarding CPU: that, less the same per-process figure (the pacer and
//     ksoftirqd) of the direct run, scaled to the routed run's offered
//     packets: what the router adds, for the kernel and the dataplane alike.
//     The direct run goes before every timed run, whoever the router is.
//     On a shared machine this is the figure to trust: the kernel's router
//     CPU above takes the machine's system time, which holds other jobs'
//     (at load 12-17 it came out negative), while this one counts only the
//     processes of the path.
// Every subject gets the same generator, so the kernel and the dataplane see
// the same offered load.
import { nsSpawn, sleep } from '../../src/host/commands.js';
import { directTrafgenBaseline, type DirectPair } from './direct.js';
import { cpuSeconds, groupCpuSeconds, ksoftirqdPids, linkStats, pacerArgv, pidsCpuSeconds, systemCpuSeconds, type PacedFrames } from './measure.js';

export interface PacedRunOptions {
  genNs: string;
  /** The generator's interface (and the sinks', unless a sink names its own). */
  dev: string;
  sinks: readonly { ns: string; dev?: string }[];
  /** Frames addressed to the router. */
  frames: PacedFrames;
  /** pps; 0: as fast as the pacer sends. */
  rate: number;
  seconds: number;
  /** Stop after this many frames (a probe) instead of at `seconds`. */
  count?: number;
  /** The dataplane's pid; 0: the kernel (router CPU from the machine, less the direct run). */
  routerPid: number;
  /** The kernel's baseline pair and the same frames addressed to its sink (routerPid 0, timed runs). */
  direct?: { pair: DirectPair; frames: PacedFrames; cfgFile: string };
  /** Runs after the direct baseline, just before the counted run (firewall.ts: the reply that makes its flow established). */
  beforeRun?: () => Promise<string | undefined>;
}

export interface PacedRunResult {
  offered: number;
  got: number;
  /** What each sink received. */
  perSink: number[];
  sendSecs: number;
  /** Router CPU seconds (see above); NaN when the baseline failed. */
  routerSec: number;
  /** Generator + router + ksoftirqd CPU seconds. */
  pathSec: number;
  /** pathSec less the direct run's generator + ksoftirqd (scaled to the offered packets); NaN without a direct run. */
  forwardSec: number;
  error?: string;
}

/** A run's figures per second and per packet, as the benches report them. */
export interface PacedRates {
  offeredPps: number;
  sinkPps: number;
  lossPct: number;
  /** The live benchmark's figure: the dataplane process, or the kernel's system+softirq time of all CPUs. */
  routerNsPerPacket: number;
  /** Generator + sink + router processes (and ksoftirqd), per forwarded packet: the same measure for both. */
  pathNsPerPacket: number;
  /** pathNsPerPacket less the same processes' CPU in the direct run: what forwarding adds, per process. */
  forwardNsPerPacket: number;
  error?: string;
}

export function pacedRates(r: PacedRunResult): PacedRates {
  return {
    offeredPps: r.offered / r.sendSecs,
    sinkPps: r.got / r.sendSecs,
    lossPct: r.offered > 0 ? Math.max(0, (100 * (r.offered - r.got)) / r.offered) : 0,
    routerNsPerPacket: r.got > 0 ? (r.routerSec * 1e9) / r.got : NaN,
    pathNsPerPacket: r.got > 0 ? (r.pathSec * 1e9) / r.got : NaN,
    forwardNsPerPacket: r.got > 0 ? (r.forwardSec * 1e9) / r.got : NaN,
    error: r.error,
  };
}

export async function pacedRun(o: PacedRunOptions): Promise<PacedRunResult> {
  const soft = ksoftirqdPids();
  const dataplane = () => (o.routerPid > 0 ? cpuSeconds(o.routerPid) : 0);
  const routerCpu = o.routerPid > 0 ? () => cpuSeconds(o.routerPid) : systemCpuSeconds;
  const base = o.count === undefined && o.direct !== undefined ? await directTrafgenBaseline(o.direct.pair, o.direct.cfgFile, '', o.rate, o.seconds, o.direct.frames) : undefined;
  const before = o.beforeRun === undefined ? undefined : await o.beforeRun();
  const sinks = () => o.sinks.map((s) => linkStats(s.ns, s.dev ?? o.dev).rxPackets);
  const g0 = linkStats(o.genNs, o.dev);
  const s0 = sinks();
  const r0 = routerCpu();
  const k0 = pidsCpuSeconds(soft) + dataplane();
  const t0 = performance.now();
  const frames = o.count === undefined ? o.frames : { ...o.frames, flags: [...(o.frames.flags ?? []), '-c', String(o.count)] };
  // Its own process group, signalled as one.
  const child = nsSpawn(o.genNs, o.frames.bin, pacerArgv(frames, o.dev, o.rate), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {
      // the group is gone
    }
  };
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number>((res) => child.on('close', (code) => res(code ?? -1)));
  let genCpu = 0;
  const deadline = t0 + o.seconds * 1000;
  // A probe ends by itself (within a bound); a timed run at its deadline. The pacer's CPU is read while it runs.
  while ((o.count !== undefined ? performance.now() < deadline + 10_000 : performance.now() < deadline) && child.exitCode === null) {
    const c = child.pid === undefined ? NaN : groupCpuSeconds(child.pid);
    if (Number.isFinite(c)) genCpu = c;
    await sleep(Math.min(200, Math.max(1, deadline - performance.now())));
  }
  const sendSecs = (performance.now() - t0) / 1000;
  if (child.exitCode === null) signal('SIGINT');
  const code = await Promise.race([exited, sleep(3000).then(() => -2)]);
  if (code === -2) signal('SIGKILL');
  await sleep(200); // frames still in flight reach the sinks
  const r1 = routerCpu();
  const k1 = pidsCpuSeconds(soft) + dataplane();
  const g1 = linkStats(o.genNs, o.dev);
  const perSink = sinks().map((x, i) => x - s0[i]);
  const offered = g1.txPackets + g1.txDropped - (g0.txPackets + g0.txDropped);
  const got = perSink.reduce((a, b) => a + b, 0);
  const baseOk = base === undefined || (base.error === undefined && base.offered > 0);
  const scale = base === undefined ? 0 : offered / base.offered;
  const pathSec = genCpu + k1 - k0;
  return {
    offered,
    got,
    perSink,
    sendSecs,
    // The dataplane's own time needs no baseline; the kernel's is the machine's less the direct run's.
    routerSec: o.routerPid > 0 || base === undefined ? r1 - r0 : baseOk ? r1 - r0 - base.sys * scale : NaN,
    pathSec,
    forwardSec: base !== undefined && baseOk ? pathSec - base.path * scale : NaN,
    error:
      before !== undefined
        ? before
        : offered === 0
        ? `the pacer sent nothing: ${err.trim().split('\n').slice(-2).join(' ')}`
        : got === 0
          ? 'nothing reached the sink'
          : !baseOk
            ? `the direct baseline run: ${base?.error ?? 'sent nothing'}`
            : undefined,
  };
}

/**
 * The dataplane's CPU per packet over the kernel's, NaN when either is not
 * positive: the kernel's router CPU is the machine's system time less a
 * direct run's, and other jobs' system time can make it negative; a ratio
 * of that would pass any "<= x" target.
 */
export function cpuRatio(dataplaneNs: number, kernelNs: number): number {
  return dataplaneNs > 0 && kernelNs > 0 ? dataplaneNs / kernelNs : NaN;
}

/** "0.84x", or "-" for a ratio that cannot be formed (cpuRatio). */
export const ratioText = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '-');
