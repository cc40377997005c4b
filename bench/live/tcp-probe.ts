// TCP bulk and light-load ping through the lab router: A/B of subjects on
// one machine, alternating them round by round (a 2-core machine shared with
// other jobs: only interleaved rounds compare). For each subject and round:
// iperf3 Gbit/s (one stream) and the sender's mean RTT, the router process's CPU seconds per GB
// received, and ping p50/p99 at light load after a warm-up of 1000 pings
// (measure.ts warmPings), then medians over the rounds with the load average.
//
// usage (root, after `npm run build`):
//   node dist/bench/live/tcp-probe.js [ROUNDS]
// env: DP_PROBE_SECONDS=3 (iperf3 -t)
//      DP_PROBE_PINGS=200 (light-load pings, 10 ms apart)
//      DP_PROBE_SUBJECTS='kernel:kernel;tapo:tap --offload;tapo-bp:tap --offload --busy-poll'
//        (name:ports [--offload] [--busy-poll] [--workers N] [--coalesce-us N] [--spin-us N] [--env K=V]; ports: tap, afpacket, afxdp, or kernel)
//      DP_PROBE_PREFIX=dp-tcp-probe
//      DP_PROBE_PERF=name: perf record the router process of that subject during iperf3 (perf.data-<name>-<round> in the cwd)
import { spawn } from 'node:child_process';
import os from 'node:os';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { LAB, type LabPorts } from '../../src/lab/topology.js';
import { nsSpawn, sleep } from '../../src/host/commands.js';
import { cpuSeconds, inNs, warmPings } from './measure.js';

interface Subject {
  name: string;
  ports: LabPorts | 'kernel';
  offload: boolean;
  busyPoll: boolean;
  workers: number;
  coalesceUs?: number;
  spinUs?: number;
  env: Record<string, string>;
}

function parseSubjects(spec: string): Subject[] {
  return spec.split(';').filter((s) => s.trim() !== '').map((s) => {
    const [name, rest = ''] = s.split(':');
    const a = rest.trim().split(/\s+/).filter((x) => x !== '');
    const ports = a.shift() as Subject['ports'];
    if (!['tap', 'afpacket', 'afxdp', 'kernel'].includes(ports)) throw new Error(`subject ${name}: ports must be tap, afpacket, afxdp or kernel (got ${ports})`);
    const v: Subject = { name: name.trim(), ports, offload: false, busyPoll: false, workers: 1, env: {} };
    for (let i = 0; i < a.length; i++) {
      if (a[i] === '--offload') v.offload = true;
      else if (a[i] === '--busy-poll') v.busyPoll = true;
      else if (a[i] === '--workers') v.workers = Number(a[++i]);
      else if (a[i] === '--coalesce-us') v.coalesceUs = Number(a[++i]);
      else if (a[i] === '--spin-us') v.spinUs = Number(a[++i]);
      else if (a[i] === '--env') {
        const [k, val = '1'] = a[++i].split('=');
        v.env[k] = val;
      } else throw new Error(`subject ${v.name}: unknown argument ${a[i]}`);
    }
    return v;
  });
}

/** iperf3 TCP (one stream) for `seconds`: received Gbit/s and the sender's mean RTT (us), or an error. */
async function iperf(clientNs: string, serverNs: string, addr: string, seconds: number): Promise<{ gbps: number; rttUs: number } | { error: string }> {
  const srv = nsSpawn(serverNs, 'iperf3', ['-s', '-1', '-B', addr], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 60 && inNs(serverNs, ['ss', '-tlnH', 'sport = :5201']).out.trim() === ''; i++) await sleep(50);
    const r = inNs(clientNs, ['iperf3', '-c', addr, '-t', String(seconds), '-J'], (seconds + 15) * 1000);
    try {
      const j = JSON.parse(r.out) as { end?: { sum_received?: { bits_per_second: number }; streams?: { sender?: { mean_rtt?: number } }[] }; error?: string };
      if (j.end?.sum_received === undefined) return { error: j.error ?? 'no result' };
      return { gbps: j.end.sum_received.bits_per_second / 1e9, rttUs: j.end.streams?.[0]?.sender?.mean_rtt ?? NaN };
    } catch {
      return { error: r.out.trim().split('\n').slice(-1)[0] ?? 'iperf3 failed' };
    }
  } finally {
    if (srv.exitCode === null) srv.kill('SIGKILL');
  }
}

const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function pingTimes(ns: string, addr: string, count: number): { p50: number; p99: number } {
  const out = inNs(ns, ['ping', '-n', '-c', String(count), '-i', '0.01', '-W', '1', addr], 60_000).out;
  const rtts = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
  const q = (p: number) => (rtts.length === 0 ? NaN : rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))]);
  return { p50: q(0.5), p99: q(0.99) };
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const seconds = Number(process.env.DP_PROBE_SECONDS ?? 3);
  const pings = Number(process.env.DP_PROBE_PINGS ?? 200);
  const subjects = parseSubjects(process.env.DP_PROBE_SUBJECTS ?? 'kernel:kernel;tapo:tap --offload;tapo-bp:tap --offload --busy-poll');
  const prefix = process.env.DP_PROBE_PREFIX ?? 'dp-tcp-probe';
  const perfOf = process.env.DP_PROBE_PERF;
  const res = new Map<string, { gbps: number[]; rtt: number[]; cpuPerGB: number[]; p50: number[]; p99: number[]; load: number[] }>();
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? subjects : [...subjects].reverse();
      for (const s of order) {
        await labDown(prefix);
        for (const [k, val] of Object.entries(s.env)) process.env[k] = val;
        const kernel = s.ports === 'kernel';
        let lab: LabState;
        try {
          lab = await labUp({ prefix, ports: kernel ? 'afpacket' : s.ports as LabPorts, engine: kernel ? 'kernel' : 'dataplane', workers: s.workers, offload: kernel ? true : s.offload,
            busyPoll: s.busyPoll, coalesceUs: s.coalesceUs, spinUs: s.spinUs, readyTimeoutMs: 30_000 });
        } catch (e) {
          // A start-up that times out on a loaded machine loses this subject's round, not the run.
          console.log(`round ${round} ${s.name}: lab failed: ${String(e).split('\n')[0]}`);
          continue;
        } finally {
          for (const k of Object.keys(s.env)) delete process.env[k];
        }
        try {
          const n = lab.names;
          inNs(n.client, ['ping', '-n', '-c2', '-i0.2', '-W1', LAB.server.addr]);
          warmPings(n.client, LAB.server.addr);
          const pt = pingTimes(n.client, LAB.server.addr, pings);
          const perf = perfOf === s.name && lab.pid > 0
            ? spawn('perf', ['record', '-g', '-p', String(lab.pid), '-o', `perf.data-${s.name}-${round}`, '--', 'sleep', String(seconds)], { stdio: 'ignore' })
            : undefined;
          const c0 = lab.pid > 0 ? cpuSeconds(lab.pid) : NaN;
          const t = await iperf(n.client, n.server, LAB.server.addr, seconds);
          const c1 = lab.pid > 0 ? cpuSeconds(lab.pid) : NaN;
          if (perf !== undefined) await new Promise((r) => perf.once('exit', r));
          const gbps = 'gbps' in t ? t.gbps : NaN;
          const gb = (gbps * seconds) / 8;
          const e = res.get(s.name) ?? { gbps: [], rtt: [], cpuPerGB: [], p50: [], p99: [], load: [] };
          e.gbps.push(gbps);
          e.rtt.push('rttUs' in t ? t.rttUs : NaN);
          e.cpuPerGB.push((c1 - c0) / gb);
          e.p50.push(pt.p50);
          e.p99.push(pt.p99);
          e.load.push(os.loadavg()[0]);
          res.set(s.name, e);
          console.log(`round ${round} ${s.name}: ${'gbps' in t ? gbps.toFixed(2) + ' Gbit/s' : t.error} rtt ${'rttUs' in t ? t.rttUs : NaN} us router cpu ${((c1 - c0) / gb).toFixed(3)} s/GB; ping p50 ${pt.p50.toFixed(0)} p99 ${pt.p99.toFixed(0)} us; load ${os.loadavg()[0].toFixed(2)}`);
        } finally {
          await labDown(prefix);
        }
      }
    }
  } finally {
    await labDown(prefix);
  }
  console.log(`\nmedians over ${rounds} rounds (${os.cpus()[0]?.model}, ${os.cpus().length} CPUs, ${process.version}):`);
  const k = res.get('kernel');
  for (const [name, e] of res) {
    const ratio = k !== undefined && name !== 'kernel' ? ` = ${(median(e.gbps) / median(k.gbps)).toFixed(2)}x kernel TCP, p99 ${(median(e.p99) / median(k.p99)).toFixed(2)}x kernel's` : '';
    console.log(`${name}: ${median(e.gbps).toFixed(2)} Gbit/s (${e.gbps.map((x) => x.toFixed(2)).join(' ')}) rtt ${median(e.rtt).toFixed(0)} us cpu ${median(e.cpuPerGB).toFixed(3)} s/GB; ping p50 ${median(e.p50).toFixed(0)} p99 ${median(e.p99).toFixed(0)} us (${e.p99.map((x) => x.toFixed(0)).join(' ')})${ratio}; load ${e.load.map((x) => x.toFixed(1)).join(' ')}`);
  }
}

await main();
