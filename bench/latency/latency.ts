// Light-load ping RTT and iperf3 TCP through the lab router, for the kernel
// and the dataplane (TAP and AF_PACKET ports: sleeping with the spin window,
// busy polling, or SCHED_FIFO workers with --realtime), in
// one run with the subjects interleaved round by round, so that the ratios
// compare figures taken under the same load of the shared machine. Root only.
//
//   node dist/bench/latency/latency.js [--pings N] [--rounds R] [--tcp-seconds S] [--only ping|tcp] [--extra-args "..."]
//
// RTT: `ping -i 0.01 -c N` client -> server (per-reply times), after 1000
// pings 1 ms apart not measured (the JIT's warm-up), p50/p99 per subject
// over all rounds. The router's CPU seconds over the ping run (its
// /proc/PID/stat) tell what the spin window costs at that load, and over 3 s
// idle after it what it costs with no traffic. TCP: iperf3,
// one stream, with offloads on (super-packets through the dataplane).
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { nsSpawn, nsTry, sleep } from '../../src/host/commands.js';
import { labDown, labUp } from '../../src/lab/lab.js';
import { LAB, type LabEngine, type LabPorts } from '../../src/lab/topology.js';

interface Subject {
  label: string;
  engine: LabEngine;
  ports: LabPorts;
  busyPoll?: boolean;
  offload?: boolean;
  realtime?: number;
}

const PING_SUBJECTS: Subject[] = [
  { label: 'kernel', engine: 'kernel', ports: 'afpacket' },
  { label: 'dp tap', engine: 'dataplane', ports: 'tap' },
  { label: 'dp tap busy', engine: 'dataplane', ports: 'tap', busyPoll: true },
  { label: 'dp afpacket', engine: 'dataplane', ports: 'afpacket' },
  { label: 'dp afpacket busy', engine: 'dataplane', ports: 'afpacket', busyPoll: true },
  { label: 'dp afxdp', engine: 'dataplane', ports: 'afxdp' },
  { label: 'dp tap realtime', engine: 'dataplane', ports: 'tap', realtime: 10 },
  { label: 'dp afpacket realtime', engine: 'dataplane', ports: 'afpacket', realtime: 10 },
];

const TCP_SUBJECTS: Subject[] = [
  { label: 'kernel', engine: 'kernel', ports: 'afpacket' },
  { label: 'dp tap offload', engine: 'dataplane', ports: 'tap', offload: true },
  { label: 'dp afpacket offload', engine: 'dataplane', ports: 'afpacket', offload: true },
  { label: 'dp tap offload realtime', engine: 'dataplane', ports: 'tap', offload: true, realtime: 10 },
  { label: 'dp afpacket offload realtime', engine: 'dataplane', ports: 'afpacket', offload: true, realtime: 10 },
];

const IDLE_SECONDS = 3;
/** Pings 1 ms apart before the measured ones, in every subject. */
const WARMUP_PINGS = 1000;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

function cpuSeconds(pid: number): number {
  // utime and stime, fields 14 and 15, in clock ticks (100 Hz on Linux).
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function pings(ns: string, addr: string, count: number): number[] {
  const r = nsTry(ns, 'ping', ['-n', '-i', '0.01', '-c', String(count), '-W', '1', addr], { timeoutMs: count * 20 + 20_000 });
  const out: number[] = [];
  for (const m of r.output.matchAll(/time=([0-9.]+) ms/g)) out.push(Number(m[1]) * 1000);
  return out;
}

async function iperf(clientNs: string, serverNs: string, addr: string, seconds: number): Promise<number> {
  const srv = nsSpawn(serverNs, 'iperf3', ['-s', '-1', '-B', addr], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 60; i++) {
      if (nsTry(serverNs, 'ss', ['-tlnH', 'sport = :5201']).output.trim() !== '') break;
      await sleep(50);
    }
    const r = nsTry(clientNs, 'iperf3', ['-c', addr, '-t', String(seconds), '-J'], { timeoutMs: (seconds + 15) * 1000 });
    const j = JSON.parse(r.output.slice(r.output.indexOf('{'))) as { end?: { sum_received?: { bits_per_second: number } } };
    return (j.end?.sum_received?.bits_per_second ?? NaN) / 1e9;
  } finally {
    if (srv.exitCode === null) srv.kill('SIGKILL');
  }
}

async function withLab<T>(s: Subject, prefix: string, fn: (client: string, server: string, pid: number) => Promise<T>): Promise<T> {
  const lab = await labUp({ prefix, ports: s.ports, engine: s.engine, workers: 1, busyPoll: s.busyPoll, offload: s.offload, realtime: s.realtime, readyTimeoutMs: 15_000 });
  try {
    nsTry(lab.names.client, 'ping', ['-n', '-c2', '-i0.2', '-W1', LAB.server.addr]);
    // Warm-up, not measured: the dataplane's JS is interpreted for its first few hundred packets (bench/live/measure.ts warmPings).
    nsTry(lab.names.client, 'ping', ['-q', '-n', '-c', String(WARMUP_PINGS), '-i', '0.001', '-W', '1', LAB.server.addr], { timeoutMs: 60_000 });
    return await fn(lab.names.client, lab.names.server, lab.pid);
  } finally {
    await labDown(prefix);
  }
}

async function main(): Promise<void> {
  const count = Number(arg('--pings', '1000'));
  const rounds = Number(arg('--rounds', '2'));
  const tcpSeconds = Number(arg('--tcp-seconds', '5'));
  const only = arg('--only', '');
  const prefix = `latency${process.pid % 10000}`;
  console.log(`CPU: ${cpus()[0]?.model} x${cpus().length}; ${rounds} rounds, ${count} pings 10 ms apart, iperf3 ${tcpSeconds} s`);
  const rtts = new Map<string, number[]>();
  const cpu = new Map<string, number>();
  const tcp = new Map<string, number[]>();
  const idle = new Map<string, number>();
  for (let round = 0; round < rounds; round++) {
    if (only !== 'tcp') {
      for (const s of PING_SUBJECTS) {
        await withLab(s, prefix, async (client, _server, pid) => {
          const c0 = pid > 0 ? cpuSeconds(pid) : 0;
          const t = pings(client, LAB.server.addr, count);
          if (pid > 0) {
            cpu.set(s.label, (cpu.get(s.label) ?? 0) + cpuSeconds(pid) - c0);
            // And idle: the spin window must not cost CPU when nothing comes.
            await sleep(500);
            const i0 = cpuSeconds(pid);
            await sleep(IDLE_SECONDS * 1000);
            idle.set(s.label, (idle.get(s.label) ?? 0) + cpuSeconds(pid) - i0);
          }
          rtts.set(s.label, [...(rtts.get(s.label) ?? []), ...t]);
          const sorted = [...t].sort((a, b) => a - b);
          console.log(`round ${round} ${s.label}: ${t.length} replies, p50 ${quantile(sorted, 0.5).toFixed(0)} us, p99 ${quantile(sorted, 0.99).toFixed(0)} us`);
        });
      }
    }
    if (only !== 'ping') {
      for (const s of TCP_SUBJECTS) {
        await withLab(s, prefix, async (client, server) => {
          const g = await iperf(client, server, LAB.server.addr, tcpSeconds);
          tcp.set(s.label, [...(tcp.get(s.label) ?? []), g]);
          console.log(`round ${round} ${s.label}: TCP ${g.toFixed(2)} Gbit/s`);
        });
      }
    }
  }
  const kernel = rtts.get('kernel');
  const kSorted = kernel === undefined ? undefined : [...kernel].sort((a, b) => a - b);
  if (rtts.size > 0) console.log('\nping RTT (all rounds)       p50 us   p99 us   p50/kernel  p99/kernel  router CPU %  idle CPU %');
  for (const [label, t] of rtts) {
    const sorted = [...t].sort((a, b) => a - b);
    const p50 = quantile(sorted, 0.5);
    const p99 = quantile(sorted, 0.99);
    const r50 = kSorted === undefined ? NaN : p50 / quantile(kSorted, 0.5);
    const r99 = kSorted === undefined ? NaN : p99 / quantile(kSorted, 0.99);
    const c = cpu.get(label);
    const cpuPct = c === undefined ? '-' : ((100 * c) / ((rounds * count * 10) / 1000)).toFixed(1);
    const i = idle.get(label);
    const idlePct = i === undefined ? '-' : ((100 * i) / (rounds * IDLE_SECONDS)).toFixed(1);
    console.log(`${label.padEnd(26)} ${p50.toFixed(0).padStart(7)} ${p99.toFixed(0).padStart(8)} ${r50.toFixed(2).padStart(11)} ${r99.toFixed(2).padStart(11)}  ${cpuPct.padStart(12)} ${idlePct.padStart(11)}`);
  }
  const kTcp = tcp.get('kernel');
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
  if (tcp.size > 0) console.log('\niperf3 TCP (mean of rounds)  Gbit/s  x kernel   rounds');
  for (const [label, g] of tcp) {
    const x = kTcp === undefined ? NaN : mean(g) / mean(kTcp);
    console.log(`${label.padEnd(28)} ${mean(g).toFixed(2).padStart(6)} ${x.toFixed(2).padStart(9)}   ${g.map((v) => v.toFixed(2)).join(' ')}`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
