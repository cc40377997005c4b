// The measurements of the live benchmark, each run from outside the router
// (generator and sink namespaces, /proc of the router process):
//   - 64-byte UDP at the highest rate trafgen offers, counted on the sink's
//     interface (rx_packets delta) against the generator's (tx_packets delta),
//   - ping RTT percentiles at light load,
//   - TCP throughput with iperf3,
//   - CPU time of the router process per forwarded packet (/proc/PID/stat),
//     of the machine (/proc/stat) and of ksoftirqd, sampled around a run
//     (baseline.ts turns the samples into the cost of forwarding).
import { nsSpawn, nsTry, sleep, tryRun } from '../../src/host/commands.js';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPrefix } from '../../src/lab/topology.js';

/** Runs argv in `ns`: its status and everything it printed. */
export function inNs(ns: string, argv: string[], timeoutMs = 20_000): { status: number; out: string } {
  const r = nsTry(ns, argv[0], argv.slice(1), { timeoutMs });
  return { status: r.status, out: r.output };
}

interface LinkStats {
  rxPackets: number;
  txPackets: number;
  rxDropped: number;
  txDropped: number;
}

export function linkStats(ns: string, dev: string): LinkStats {
  const r = tryRun('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev]);
  const j = JSON.parse(r.stdout) as { stats64: { rx: { packets: number; dropped: number }; tx: { packets: number; dropped: number } } }[];
  const s = j[0].stats64;
  return { rxPackets: s.rx.packets, txPackets: s.tx.packets, rxDropped: s.rx.dropped, txDropped: s.tx.dropped };
}

export function macOf(ns: string, dev: string): string {
  const r = tryRun('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev]);
  return (JSON.parse(r.stdout) as { address: string }[])[0].address;
}

/** The MAC the host in `ns` resolved for `addr` (after a ping). */
export function neighborMac(ns: string, addr: string): string | undefined {
  const r = tryRun('ip', ['-n', ns, '-j', 'neigh', 'show', addr]);
  try {
    return (JSON.parse(r.stdout) as { lladdr?: string }[])[0]?.lladdr;
  } catch {
    return undefined;
  }
}

/** utime + stime of a process (all its threads), in seconds. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of proc(5), counted from the state field (3).
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds of a process and its children (trafgen's workers: their time reaches the parent only once reaped). */
export function groupCpuSeconds(pid: number): number {
  let kids: number[];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((x) => x !== '').map(Number);
  } catch {
    return NaN;
  }
  return [pid, ...kids].reduce((t, p) => t + (Number.isFinite(cpuSeconds(p)) ? cpuSeconds(p) : 0), 0);
}

/** Seconds of softirq + system time over all CPUs (for the kernel forwarder, which has no process). */
export function systemCpuSeconds(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq
  return (cpu[2] + cpu[5] + cpu[6]) / 100;
}

/** CPU seconds of the whole machine from /proc/stat (tick-sampled, USER_HZ 100). */
export interface MachineCpu {
  /** user + nice + system + irq + softirq: everything but idle, iowait and steal. */
  busy: number;
  /** system + irq + softirq: the kernel's share (the kernel forwards in softirq). */
  sys: number;
}

export function machineCpu(): MachineCpu {
  const c = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const sys = (c[2] + c[5] + c[6]) / 100;
  return { busy: (c[0] + c[1]) / 100 + sys, sys };
}

/** The ksoftirqd threads: softirq work the kernel defers to them is charged there, not to the sender. */
export function ksoftirqdPids(): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (/^ksoftirqd\/\d+$/.test(readFileSync(`/proc/${d}/comm`, 'utf8').trim())) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Summed utime+stime of `pids` (those gone count 0). */
export function pidsCpuSeconds(pids: readonly number[]): number {
  return pids.reduce((t, p) => {
    const c = cpuSeconds(p);
    return t + (Number.isFinite(c) ? c : 0);
  }, 0);
}

function hex(bytes: number[]): string {
  return bytes.map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ');
}

function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

/**
 * trafgen's arguments for `rate` pps (0: as fast as it sends): an
 * inter-packet gap (-t), not -b. On this VM `-b N pps` sends a second's
 * packets in a burst of ~140 ms at the generator's full speed, then waits, so
 * every rate below the maximum was a burst test. The gap paces evenly but
 * sleeps once per frame, and a VM wakes ~50 µs late, so it tops out at a few
 * tens of kpps whatever is asked: trafgenLoad paces with pacer.c instead
 * where it can (buildPacer); the stateful benches (nat, lb, firewall) use
 * pacer.c only (paced-run.ts).
 */
export function trafgenRateArgs(rate: number): string[] {
  return rate > 0 ? ['-t', `${Math.max(1, Math.round(1e9 / rate))}ns`] : [];
}

/**
 * Compiles bench/live/pacer.c (the evenly paced generator) into `dir`;
 * returns the binary, or why not (then the benches pace trafgen by gap).
 */
export function buildPacer(dir: string): string | { error: string } {
  // Beside this file when run from source (vitest), three levels up from dist/bench/live/ when built.
  const here = dirname(fileURLToPath(import.meta.url));
  const src = [join(here, 'pacer.c'), join(here, '..', '..', '..', 'bench', 'live', 'pacer.c')].find((f) => existsSync(f)) ?? join(here, 'pacer.c');
  const bin = join(dir, 'pacer');
  const cc = spawnSync('cc', ['-O2', '-o', bin, src], { encoding: 'utf8' });
  if (cc.error !== undefined || cc.status !== 0) return { error: `cc ${src} failed: ${cc.error?.message ?? (cc.stderr ?? '').split('\n').slice(0, 3).join(' | ')}` };
  return bin;
}

/** What pacer.c needs to build trafgenConfig's frames. */
export interface PacedFrames {
  /** The pacer binary (buildPacer). */
  bin: string;
  dstMac: string;
  srcMac: string;
  src: string;
  dst: string;
  /** pacer.c's traffic flags (-d DPORT, -f FLOWS -s BASE, -n LO-HI, -c COUNT); none: its default frames, trafgenConfig's. */
  flags?: readonly string[];
}

/** The rate asked of pacer.c for "max": one no core reaches, so it sends as fast as it can (its debt cap keeps it from bursting after a stall). */
export const PACER_MAX_PPS = 10_000_000;

/** pacer.c's argv for `rate` pps (0: as fast as it sends) on `dev`. */
export function pacerArgv(p: PacedFrames, dev: string, rate: number): string[] {
  return [...(p.flags ?? []), dev, p.dstMac, p.srcMac, p.src, p.dst, String(rate > 0 ? rate : PACER_MAX_PPS)];
}

/**
 * Makes the sink drop the generator's UDP (to port 9) at its interface's
 * ingress (nftables, netdev family), before IP and UDP look at it: otherwise
 * every frame costs the sink a route lookup, a socket lookup and an ICMP
 * port-unreachable attempt (this kernel looks the route up before the ICMP
 * rate limit), and that work is charged to whoever sends into the sink's
 * veth: a user-space router's sendto(), but the generator in the direct
 * run, so the router's figure carried the sink's cost and the kernel's did
 * not. The interface still counts every frame (veth counts at transmit).
 * Returns why not (no nft), or undefined.
 */
export function sinkDiscard(ns: string, dev: string, dport = 9): string | undefined {
  const steps = [
    ['add', 'table', 'netdev', 'bench_sink'],
    ['add', 'chain', 'netdev', 'bench_sink', 'in', `{ type filter hook ingress device "${dev}" priority 0; }`],
    ['add', 'rule', 'netdev', 'bench_sink', 'in', 'udp', 'dport', String(dport), 'drop'],
  ];
  for (const a of steps) {
    const r = nsTry(ns, 'nft', a);
    if (r.status !== 0) return `nft ${a.slice(0, 3).join(' ')}: ${r.output.trim().split('\n').slice(-1)[0] ?? 'failed'}`;
  }
  return undefined;
}

/** A trafgen config: 60-byte frames (64 on the wire with FCS), UDP from src to dst, 256 source ports. */
export function trafgenConfig(dstMac: string, srcMac: string, src: string, dst: string): string {
  const ip = (a: string) => a.split('.').map(Number);
  return `{
  ${hex(macBytes(dstMac))},
  ${hex(macBytes(srcMac))},
  0x08, 0x00,
  0x45, 0x00, 0x00, 0x2e, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, csumip(14, 33),
  ${hex(ip(src))}, ${hex(ip(dst))},
  0x9c, drnd(), 0x00, 0x09, 0x00, 0x1a, 0x00, 0x00,
  fill(0x41, 18)
}
`;
}

/** CPU seconds spent during one run, by whom (each a delta over the run). */
export interface RunCpu {
  machine: MachineCpu;
  /** The router process (dataplane, testpmd); NaN where there is none (the kernel, the direct baseline). */
  process: number;
  ksoftirqd: number;
  /** trafgen and its worker, read just before it is stopped (softirq work in its sends is charged to it). */
  generator: number;
}

export interface LoadRun {
  /** Offered rate asked of trafgen, pps; 0: as fast as it sends. */
  rate: number;
  offered: number;
  got: number;
  /** Seconds trafgen sent for (pps = packets / sendSecs). */
  sendSecs: number;
  cpu: RunCpu;
  /** Ping RTT through the path while the load ran (when asked for). */
  rtt?: RttResult;
  /** Pings sent while the load ran, and the share lost. */
  pingLossPct?: number;
  /** With `windows` > 1: what each window of `seconds` offered and what reached the sink, pps, in order. */
  windows?: { offeredPps: number; sinkPps: number }[];
  /**
   * The generator ended before the run did, and what it said last: netsniff-ng's
   * trafgen (0.6.8) exits on the first send that fails ("Flushing TX_RING
   * failed: Resource temporarily unavailable"), as a send into a veth whose
   * peer's XDP ring is full does; the run's figures then count only its first
   * moments and the pings.
   */
  generatorExited?: string;
  error?: string;
}

export interface LoadOptions {
  genNs: string;
  sinkNs: string;
  dev: string;
  cfgFile: string;
  cfg: string;
  /** pps; 0: as fast as trafgen sends (one core). */
  rate: number;
  seconds: number;
  /** The router process whose utime+stime is sampled (0: none). */
  routerPid: number;
  /** Ping this address from genNs, 100 a second, while the load runs. */
  pingAddr?: string;
  /** Pace a rate > 0 with pacer.c (the same frames as `cfg`) instead of trafgen's gap. */
  paced?: PacedFrames;
  /** With `paced`: "max" (rate 0) is pacer.c too, not trafgen unlimited (the stateful benches: one generator for every run). */
  pacedMax?: boolean;
  /**
   * pacer.c runs pinned to this CPU (taskset), where trafgen's one sender
   * runs (`--cpus 1` pins it to CPU 0): with a router pinned to another CPU,
   * an unpinned pacer lands on the router's CPU when it wakes there.
   * Undefined: not pinned.
   */
  genCpu?: number;
  /**
   * One generator run of `windows` windows of `seconds` each, the pps of each
   * window kept (LoadRun.windows): a figure can then be the median window
   * rather than one window a passing job may have hit. Default 1.
   */
  windows?: number;
}

/**
 * Runs trafgen in genNs at `rate` for `seconds` (times `windows`) and counts
 * what reaches the sink's interface (rx_packets delta) against what left the
 * generator's (tx_packets delta), sampling the machine's, the router
 * process's and ksoftirqd's CPU time around it.
 */
export async function trafgenLoad(o: LoadOptions): Promise<LoadRun> {
  const soft = ksoftirqdPids();
  const proc = () => (o.routerPid > 0 ? cpuSeconds(o.routerPid) : NaN);
  const g0 = linkStats(o.genNs, o.dev);
  const s0 = linkStats(o.sinkNs, o.dev);
  const m0 = machineCpu();
  const p0 = proc();
  const k0 = pidsCpuSeconds(soft);
  const t0 = performance.now();
  const p = o.rate > 0 || o.pacedMax === true ? o.paced : undefined;
  if (p === undefined) writeFileSync(o.cfgFile, o.cfg);
  const [cmd, args] =
    p !== undefined
      ? o.genCpu === undefined
        ? [p.bin, pacerArgv(p, o.dev, o.rate)]
        : ['taskset', ['-c', String(o.genCpu), p.bin, ...pacerArgv(p, o.dev, o.rate)]]
      : // No -q: it is trafgen's --qdisc-path (it turns off PACKET_QDISC_BYPASS), not "quiet" (its output is ignored
        // anyway). On these veths (noqueue) it made no difference: 1.49 Mpps with it, 1.48 without (medians of 5
        // alternating 2 s windows straight to the sink, load 2.6-3.2), so the generator's figures stand.
        // Through the AF_XDP router it does (afxdp-probe, trafgen unlimited, run --cpus 1, 3 alternating 3 s
        // rounds, load 3.0-3.6): without -q 0.67/0.74/0.87 Mpps offered, 0 loss (the bypass feels the veth's
        // backpressure); with -q 0.79/0.74/0.72 offered, 15.8/0.2/1.0% lost as XSK fill-ring-empty drops.
        // DP_TRAFGEN_QDISC_PATH=1 puts -q back for A/B. What looked like trafgen stalling at ~64 pps through
        // an AF_XDP router (and testpmd over net_af_xdp) was trafgen gone: it exits at the first send that
        // fails ("Flushing TX_RING failed: Resource temporarily unavailable"), as one does once the router's
        // veth XDP ring is full, with -q too; what still crossed was the pings (AMD EPYC family 25, every
        // AF_XDP 100% row of a quiet full run; by hand, trafgen with pings beside it ended within 1-3 s in 3 of
        // 3 runs; one 6 s run without them did not end). LoadRun.generatorExited says so; live.ts measures the row with pacer.c then.
        ['trafgen', ['--dev', o.dev, '--conf', o.cfgFile, '--cpus', '1', ...(process.env.DP_TRAFGEN_QDISC_PATH === '1' ? ['-q'] : []), ...trafgenRateArgs(o.rate)]];
  // trafgen forks a worker and does not pass SIGINT on to it: its own process group, signalled as one.
  const child = nsSpawn(o.genNs, cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
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
  const windowCount = Math.max(1, o.windows ?? 1);
  const ping = o.pingAddr === undefined ? undefined : pingDuring(o.genNs, o.pingAddr, o.seconds * windowCount);
  const windows: { offeredPps: number; sinkPps: number }[] = [];
  let wg = g0;
  let ws = s0;
  let wt = t0;
  for (let w = 0; w < windowCount; w++) {
    await sleep(o.seconds * 1000);
    if (windowCount === 1) break;
    const [g, s, t] = [linkStats(o.genNs, o.dev), linkStats(o.sinkNs, o.dev), performance.now()];
    const secs = (t - wt) / 1000;
    windows.push({ offeredPps: (g.txPackets + g.txDropped - wg.txPackets - wg.txDropped) / secs, sinkPps: (s.rxPackets - ws.rxPackets) / secs });
    [wg, ws, wt] = [g, s, t];
  }
  // The worker's time reaches trafgen's own figures only once reaped: read both while they run.
  const generator = child.pid === undefined ? NaN : groupCpuSeconds(child.pid);
  const sendSecs = (performance.now() - t0) / 1000;
  const exitedEarly = child.exitCode !== null;
  if (child.exitCode === null) signal('SIGINT');
  const code = await Promise.race([exited, sleep(3000).then(() => -2)]);
  if (code === -2) signal('SIGKILL');
  await sleep(200); // frames still in flight reach the sink
  const m1 = machineCpu();
  const p1 = proc();
  const k1 = pidsCpuSeconds(soft);
  const g1 = linkStats(o.genNs, o.dev);
  const s1 = linkStats(o.sinkNs, o.dev);
  const pr = await ping;
  // What trafgen put on the wire: a TAP whose reader falls behind drops at its queue (tx_dropped), not counted as sent.
  const offered = g1.txPackets + g1.txDropped - (g0.txPackets + g0.txDropped);
  return {
    rate: o.rate,
    offered,
    got: s1.rxPackets - s0.rxPackets,
    sendSecs,
    cpu: { machine: { busy: m1.busy - m0.busy, sys: m1.sys - m0.sys }, process: p1 - p0, ksoftirqd: k1 - k0, generator },
    rtt: pr?.rtt,
    pingLossPct: pr?.lossPct,
    windows: windows.length > 1 ? windows : undefined,
    generatorExited: exitedEarly ? `${cmd} exited before the run's end: ${lastWords(err)}` : undefined,
    error: offered === 0 ? `${cmd} sent nothing: ${err.trim().split('\n').filter((l) => !l.includes('system socket memory')).slice(-2).join(' ')}` : undefined,
  };
}

/** The last lines a generator printed on stderr, without trafgen's notes about socket memory it may not set. */
function lastWords(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => l.trim() !== '' && !l.includes('system socket memory'));
  return lines.length === 0 ? 'nothing on stderr' : `"${lines.slice(-2).join(' / ')}"`;
}

/** Pings `addr` 100 times a second for `seconds` (in parallel with a load): RTT percentiles and the share lost. */
async function pingDuring(ns: string, addr: string, seconds: number): Promise<{ rtt?: RttResult; lossPct: number }> {
  const child = nsSpawn(ns, 'ping', ['-n', '-i', '0.01', '-W', '1', '-w', String(Math.max(1, Math.round(seconds))), addr], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((res) => child.on('close', () => res()));
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  const lossPct = m === null || Number(m[1]) === 0 ? 100 : (100 * (Number(m[1]) - Number(m[2]))) / Number(m[1]);
  return { rtt: rttPercentiles(out), lossPct };
}

export interface RttResult {
  p50Us: number;
  p99Us: number;
  count: number;
}

/** `count` pings 10 ms apart; RTT percentiles in microseconds. */
export function measureRtt(ns: string, addr: string, count = 100): RttResult | undefined {
  // 10 ms apart: count / 100 s, with room for a slow start.
  return rttPercentiles(inNs(ns, ['ping', '-n', '-c', String(count), '-i', '0.01', '-W', '1', addr], 30_000 + count * 20).out);
}

/**
 * `count` pings 1 ms apart, their times not kept: the router's warm-up before
 * the light-load figures. The dataplane's JavaScript runs in V8's
 * interpreter and baseline tiers for its first few hundred packets
 * (measured: a round's receive, graph and send took ~3-4x as long over the
 * first 100 pings 10 ms apart as after 3000 more); a router in service is
 * past that. Every subject gets the same warm-up, the kernel too.
 */
export function warmPings(ns: string, addr: string, count = 1000): void {
  inNs(ns, ['ping', '-q', '-n', '-c', String(count), '-i', '0.001', '-W', '1', addr], 60_000);
}

/** p50 and p99 of the `time=` figures in ping's output, in microseconds. */
function rttPercentiles(out: string): RttResult | undefined {
  const rtts = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
  if (rtts.length === 0) return undefined;
  const q = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))];
  return { p50Us: q(0.5), p99Us: q(0.99), count: rtts.length };
}

/** iperf3 TCP for `seconds`; received Gbit/s, or an error. */
export async function measureTcp(clientNs: string, serverNs: string, serverAddr: string, seconds: number): Promise<{ gbps: number } | { error: string }> {
  const srv = nsSpawn(serverNs, 'iperf3', ['-s', '-1', '-B', serverAddr], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 60; i++) {
      if (inNs(serverNs, ['ss', '-tlnH', 'sport = :5201']).out.trim() !== '') break;
      await sleep(50);
    }
    const r = inNs(clientNs, ['iperf3', '-c', serverAddr, '-t', String(seconds), '-J'], (seconds + 15) * 1000);
    try {
      const j = JSON.parse(r.out) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
      if (j.end?.sum_received !== undefined) return { gbps: j.end.sum_received.bits_per_second / 1e9 };
      return { error: j.error ?? 'no result' };
    } catch {
      return { error: r.out.trim().split('\n').slice(-1)[0] ?? 'iperf3 failed' };
    }
  } finally {
    if (srv.exitCode === null) srv.kill('SIGKILL');
  }
}

/**
 * How the stateful live benches (nat, lb, firewall) run the dataplane. On
 * this shared 2-core machine other jobs keep the run queue 5-15 deep; a
 * worker of normal priority then waits for a core for longer than its
 * receive ring lasts (2048 frames: 41 ms at 50 kpps) and the kernel drops
 * the rest at the ring (the port's `lost`, PACKET_STATISTICS tp_drops): 17%
 * at 45 kpps of established LB traffic, none with SCHED_FIFO. The kernel
 * router forwards in softirq, ahead of every task, so `--realtime` gives
 * the worker the same standing. `--spin-us 0`: at these rates frames come
 * every pacer tick (100 µs, within the 200 µs spin window), so the worker
 * would spin the whole run, and as a SCHED_FIFO thread take the core from
 * the generator. DP_LIVE_REALTIME (0: normal priority) and DP_LIVE_SPIN_US
 * (empty: the dataplane's default) change them; DP_LIVE_COALESCE_US sets the
 * longest receive-coalescing nap (`run --coalesce-us`, unset: the default).
 */
export function liveRunOptions(): { realtime?: number; spinUs?: number; coalesceUs?: number; args: string[]; text: string } {
  const num = (name: string, def: string, max: number): number | undefined => {
    const v = (process.env[name] ?? def).trim();
    if (v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${name}: '${v}' is not an integer 0-${max}`);
    return n;
  };
  const rt = num('DP_LIVE_REALTIME', '10', 99);
  const realtime = rt === 0 ? undefined : rt;
  const spinUs = num('DP_LIVE_SPIN_US', '0', 100_000);
  const coalesceUs = num('DP_LIVE_COALESCE_US', '', 100_000);
  const args = [
    ...(realtime === undefined ? [] : ['--realtime', String(realtime)]),
    ...(spinUs === undefined ? [] : ['--spin-us', String(spinUs)]),
    ...(coalesceUs === undefined ? [] : ['--coalesce-us', String(coalesceUs)]),
  ];
  return { realtime, spinUs, coalesceUs, args, text: args.length === 0 ? 'dataplane run with default priority and spin window' : `dataplane run ${args.join(' ')}` };
}

/**
 * The namespaces' name base of a stateful live bench: `<DP_LIVE_PREFIX>-<kind>`
 * (DP_LIVE_PREFIX defaults to "dp"), so that runs side by side on one machine
 * can be told apart by name, as live.ts's DP_LIVE_PREFIX does. The benches
 * add the process id (base36) after it.
 */
export function liveNameBase(kind: string): string {
  const base = `${process.env.DP_LIVE_PREFIX ?? 'dp'}-${kind}`;
  // The longest name made of it: base, "-", a pid in base36 (up to 6), "-router".
  const why = checkPrefix(`${base}-zzzzzz`);
  if (why !== undefined) throw new Error(`DP_LIVE_PREFIX: ${why.replace('--prefix', 'the prefix with its bench kind and a pid')}`);
  return base;
}

/**
 * Uncounted traffic through the router before a subject's counted runs: pacer.c
 * at `rate` pps for `seconds` (it stops by itself after rate x seconds frames).
 * V8 compiles the dataplane's forwarding path on helper threads in its first
 * seconds of traffic (~8 s after start on this VM: wake.ts); without this the
 * first counted rate of each subject carried the compiler's CPU. Every subject,
 * the kernel too, gets the same warm-up.
 */
export async function warmUp(genNs: string, dev: string, frames: PacedFrames, seconds: number, rate = 100_000): Promise<void> {
  const count = Math.max(1, Math.round(rate * seconds));
  inNs(genNs, [frames.bin, ...pacerArgv({ ...frames, flags: [...(frames.flags ?? []), '-c', String(count)] }, dev, rate)], (seconds + 15) * 1000);
  await sleep(200);
}

/**
 * DP_LIVE_ONLY=word[,word...]: only the subjects whose label contains one of
 * the words (development: one subject against the kernel while iterating).
 */
export function liveOnly(s: { label: string }): boolean {
  const words = process.env.DP_LIVE_ONLY?.split(',').filter((w) => w !== '');
  return words === undefined || words.length === 0 || words.some((w) => s.label.includes(w));
}
