// The measurements of the live benchmark, each run from outside the router
// (generator and sink namespaces, /proc of the router process):
//   - 64-byte UDP at the highest rate trafgen offers, counted on the sink's
//     interface (rx_packets delta) against the generator's (tx_packets delta),
//   - ping RTT percentiles at light load,
//   - TCP throughput with iperf3,
//   - CPU time of the router process per forwarded packet (/proc/PID/stat).
import { nsSpawn, nsTry, sleep, tryRun } from '../../src/host/commands.js';
import { readFileSync, writeFileSync } from 'node:fs';

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

function hex(bytes: number[]): string {
  return bytes.map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ');
}

function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
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

export interface PpsResult {
  offeredPps: number;
  sinkPps: number;
  lossPct: number;
  /** CPU seconds of the router (process or system) during the run. */
  cpuSec: number;
  seconds: number;
  error?: string;
}

/**
 * Runs trafgen in `genNs` for `seconds` and counts what reaches the sink's
 * interface. `cpu` reads the router's CPU seconds (process or system).
 */
export async function measurePps(genNs: string, sinkNs: string, dev: string, cfgFile: string, cfg: string, seconds: number, cpu: () => number): Promise<PpsResult> {
  writeFileSync(cfgFile, cfg);
  const g0 = linkStats(genNs, dev);
  const s0 = linkStats(sinkNs, dev);
  const c0 = cpu();
  const t0 = performance.now();
  const child = nsSpawn(genNs, 'trafgen', ['--dev', dev, '--conf', cfgFile, '--cpus', '1', '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number>((res) => child.on('close', (code) => res(code ?? -1)));
  await sleep(seconds * 1000);
  if (child.exitCode === null) child.kill('SIGINT');
  const code = await Promise.race([exited, sleep(3000).then(() => -2)]);
  if (code === -2 && child.exitCode === null) child.kill('SIGKILL');
  const secs = (performance.now() - t0) / 1000;
  await sleep(200); // frames still in flight reach the sink
  const c1 = cpu();
  const g1 = linkStats(genNs, dev);
  const s1 = linkStats(sinkNs, dev);
  const offered = g1.txPackets - g0.txPackets;
  const got = s1.rxPackets - s0.rxPackets;
  return {
    offeredPps: offered / secs,
    sinkPps: got / secs,
    lossPct: offered > 0 ? Math.max(0, (100 * (offered - got)) / offered) : 0,
    cpuSec: c1 - c0,
    seconds: secs,
    error: offered === 0 ? `trafgen sent nothing: ${err.trim().split('\n').slice(-2).join(' ')}` : undefined,
  };
}

export interface RttResult {
  p50Us: number;
  p99Us: number;
  count: number;
}

/** `count` pings 10 ms apart; RTT percentiles in microseconds. */
export function measureRtt(ns: string, addr: string, count = 100): RttResult | undefined {
  const r = inNs(ns, ['ping', '-n', '-c', String(count), '-i', '0.01', '-W', '1', addr], 30_000);
  const rtts = [...r.out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
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
