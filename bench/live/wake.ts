// `node dist/bench/live/wake.js` (root): the wake-up sweep of issue 13 item 5.
// One router (the dataplane with one worker under several wake-up settings,
// and the kernel beside it) in the lab topology, 64-byte UDP from pacer.c at
// a few fixed rates, interleaved rounds. CPU is read from
// /proc/PID/task/*/schedstat (sum_exec_runtime: nanoseconds the scheduler
// ran each thread, not the 4 ms tick samples of /proc/PID/stat), so a worker
// that runs 20 µs per wake-up is counted as such:
//   - router: the dataplane's threads, plus ksoftirqd beyond the direct run;
//   - path: generator + router + ksoftirqd, routed run less the same rate
//     sent straight to the sink (direct.ts), per forwarded packet: the
//     kernel's forwarding is charged to the generator (veth delivers in the
//     sender's softirq), so this is the figure that compares with the kernel.
// Besides: loss, ping p50/p99 under the load (100/s) and at light load.
// WAKE_RATES=20000,50000,... WAKE_SECONDS=3 WAKE_ROUNDS=2
// WAKE_SETTINGS=name:args;name:args (args: --spin-us N, --coalesce-us N,
// --realtime N, --ring v3, --busy-poll, --ports afxdp|tap; default afpacket); a setting
// named "kernel" is the kernel router.
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { nsSpawn, sleep } from '../../src/host/commands.js';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { LAB, type LabEngine, type LabPorts } from '../../src/lab/topology.js';
import { directDown, directUp, type DirectPair } from './direct.js';
import { buildPacer, inNs, ksoftirqdPids, linkStats, macOf, measureRtt, neighborMac, pacerArgv, sinkDiscard, type PacedFrames } from './measure.js';

/** Nanoseconds the scheduler ran every thread of `pid` (0 when gone). */
function runtimeNs(pid: number): number {
  let t = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        t += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // thread gone
      }
    }
  } catch {
    return 0;
  }
  return t;
}

const sumRuntime = (pids: readonly number[]) => pids.reduce((a, p) => a + runtimeNs(p), 0);

interface Run {
  offered: number;
  got: number;
  secs: number;
  gen: number;
  router: number;
  soft: number;
  p50?: number;
  p99?: number;
  pingLoss: number;
}

async function pingDuring(ns: string, addr: string, seconds: number): Promise<{ p50?: number; p99?: number; loss: number }> {
  const child = nsSpawn(ns, 'ping', ['-n', '-i', '0.01', '-W', '1', '-w', String(seconds), addr], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((res) => child.on('close', () => res()));
  const rtts = [...out.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000).sort((a, b) => a - b);
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  const loss = m === null || Number(m[1]) === 0 ? 100 : (100 * (Number(m[1]) - Number(m[2]))) / Number(m[1]);
  const q = (p: number) => (rtts.length === 0 ? undefined : rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))]);
  return { p50: q(0.5), p99: q(0.99), loss };
}

async function load(gen: string, sink: string, p: PacedFrames, rate: number, seconds: number, routerPid: number, pingAddr?: string): Promise<Run> {
  const soft = ksoftirqdPids();
  const g0 = linkStats(gen, LAB.hostIf);
  const s0 = linkStats(sink, LAB.hostIf);
  const r0 = routerPid > 0 ? runtimeNs(routerPid) : 0;
  const k0 = sumRuntime(soft);
  const t0 = performance.now();
  const child = nsSpawn(gen, p.bin, pacerArgv(p, LAB.hostIf, rate), { stdio: ['ignore', 'ignore', 'ignore'], detached: true });
  const ping = pingAddr === undefined ? undefined : pingDuring(gen, pingAddr, seconds);
  await sleep(seconds * 1000);
  const genNs = child.pid === undefined ? 0 : runtimeNs(child.pid);
  const secs = (performance.now() - t0) / 1000;
  child.kill('SIGINT');
  await new Promise<void>((res) => (child.exitCode !== null ? res() : child.on('close', () => res())));
  await sleep(200);
  const r1 = routerPid > 0 ? runtimeNs(routerPid) : 0;
  const k1 = sumRuntime(soft);
  const g1 = linkStats(gen, LAB.hostIf);
  const s1 = linkStats(sink, LAB.hostIf);
  const pr = ping === undefined ? undefined : await ping;
  return {
    offered: g1.txPackets + g1.txDropped - (g0.txPackets + g0.txDropped),
    got: s1.rxPackets - s0.rxPackets,
    secs,
    gen: genNs,
    router: r1 - r0,
    soft: k1 - k0,
    p50: pr?.p50,
    p99: pr?.p99,
    pingLoss: pr?.loss ?? 0,
  };
}

interface Setting {
  name: string;
  engine: LabEngine;
  spinUs?: number;
  coalesceUs?: number;
  realtime?: number;
  ports?: LabPorts;
  ring?: 'v2' | 'v3';
  extraConfig?: string;
  busyPoll?: boolean;
}

function parseSettings(text: string): Setting[] {
  return text.split(';').filter((s) => s.trim() !== '').map((s) => {
    const [name, ...rest] = s.split(':');
    const args = rest.join(':').trim().split(/\s+/).filter((x) => x !== '');
    const out: Setting = { name: name.trim(), engine: name.trim() === 'kernel' ? 'kernel' : 'dataplane' };
    for (let i = 0; i < args.length; i += 2) {
      if (args[i] === '--spin-us') out.spinUs = Number(args[i + 1]);
      else if (args[i] === '--ring') out.ring = args[i + 1] as 'v2' | 'v3';
      else if (args[i] === '--coalesce-us') out.coalesceUs = Number(args[i + 1]);
      else if (args[i] === '--realtime') out.realtime = Number(args[i + 1]);
      else if (args[i] === '--ports') out.ports = args[i + 1] as LabPorts;
      else if (args[i] === '--busy-poll') {
        out.busyPoll = true;
        i--; // a flag, no value
      }
      else throw new Error(`unknown setting argument ${args[i]}`);
    }
    return out;
  });
}

interface Row {
  setting: string;
  rate: number;
  offeredPps: number;
  lossPct: number;
  routerNs: number;
  pathNs: number;
  p50?: number;
  p99?: number;
  pingLoss: number;
}

async function main(): Promise<void> {
  const rates = (process.env.WAKE_RATES ?? '20000,50000,100000,150000').split(',').map(Number);
  const seconds = Number(process.env.WAKE_SECONDS ?? '3');
  const rounds = Number(process.env.WAKE_ROUNDS ?? '2');
  const settings = parseSettings(process.env.WAKE_SETTINGS ?? 'kernel:;default:;spin0:--spin-us 0');
  const prefix = `dp-wake-${process.pid.toString(36)}`;
  const tmp = mkdtempSync(join(os.tmpdir(), 'dp-wake-'));
  const built = buildPacer(tmp);
  if (typeof built !== 'string') throw new Error(built.error);
  const rows: Row[] = [];
  const light: { setting: string; p50: number; p99: number }[] = [];
  let pair: DirectPair | undefined;
  const load0 = os.loadavg()[0];
  try {
    pair = directUp(prefix);
    sinkDiscard(pair.server, LAB.hostIf);
    const dp: PacedFrames = { bin: built, dstMac: pair.serverMac, srcMac: pair.clientMac, src: LAB.client.addr, dst: LAB.server.addr };
    for (let round = 0; round < rounds; round++) {
      const direct = new Map<number, Run>();
      for (const rate of rates) direct.set(rate, await load(pair.client, pair.server, dp, rate, seconds, 0));
      for (const s of settings) {
        let lab: LabState | undefined;
        try {
          lab = await labUp({ prefix, ports: s.ports ?? 'afpacket', engine: s.engine, workers: 1, spinUs: s.spinUs, coalesceUs: s.coalesceUs, realtime: s.realtime, ring: s.ring, busyPoll: s.busyPoll, extraConfig: s.extraConfig, readyTimeoutMs: 10_000 });
          const n = lab.names;
          inNs(n.client, ['ping', '-n', '-c2', '-i0.2', '-W1', LAB.server.addr]);
          const rtt = measureRtt(n.client, LAB.server.addr, 100);
          if (rtt) light.push({ setting: s.name, p50: rtt.p50Us, p99: rtt.p99Us });
          inNs(n.server, ['sysctl', '-qw', 'net.ipv4.icmp_msgs_per_sec=10']);
          sinkDiscard(n.server, LAB.hostIf);
          const routerMac = neighborMac(n.client, LAB.lan.addr) ?? '';
          const p: PacedFrames = { bin: built, dstMac: routerMac, srcMac: macOf(n.client, LAB.hostIf), src: LAB.client.addr, dst: LAB.server.addr };
          // JIT warm-up: TurboFan compiles the forwarding path on helper threads during the first seconds of
          // traffic (~15 ms/s of CPU), which would land on the first rate measured.
          await load(n.client, n.server, p, rates[Math.floor(rates.length / 2)], 2, 0);
          for (const rate of rates) {
            const r = await load(n.client, n.server, p, rate, seconds, s.engine === 'dataplane' ? lab.pid : 0, LAB.server.addr);
            const d = direct.get(rate) as Run;
            const scale = r.offered / Math.max(1, d.offered);
            const softBeyond = r.soft - scale * d.soft;
            const row: Row = {
              setting: s.name,
              rate,
              offeredPps: r.offered / r.secs,
              lossPct: r.offered > 0 ? (100 * Math.max(0, r.offered - r.got)) / r.offered : 0,
              routerNs: s.engine === 'kernel' ? NaN : (r.router + Math.max(0, softBeyond)) / r.got,
              pathNs: (r.gen + r.router + r.soft - scale * (d.gen + d.soft)) / r.got,
              p50: r.p50,
              p99: r.p99,
              pingLoss: r.pingLoss,
            };
            rows.push(row);
            console.log(JSON.stringify({ round, ...row, loadavg: os.loadavg()[0] }));
          }
        } finally {
          await labDown(prefix);
        }
      }
    }
  } finally {
    directDown(prefix);
    rmSync(tmp, { recursive: true, force: true });
  }
  // Medians over rounds.
  const med = (xs: number[]) => {
    const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    return v.length === 0 ? NaN : v[Math.floor(v.length / 2)];
  };
  const f = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(0));
  console.log(`\n${os.cpus()[0]?.model}, load average ${load0.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end; ${rounds} rounds of ${seconds} s, medians`);
  console.log('| setting | asked pps | offered kpps | loss % | router CPU ns/pkt | path CPU ns/pkt | ping p50 us | ping p99 us |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of settings) {
    for (const rate of rates) {
      const rs = rows.filter((r) => r.setting === s.name && r.rate === rate);
      console.log(`| ${s.name} | ${rate} | ${(med(rs.map((r) => r.offeredPps)) / 1000).toFixed(1)} | ${med(rs.map((r) => r.lossPct)).toFixed(2)} | ${f(med(rs.map((r) => r.routerNs)))} | ${f(med(rs.map((r) => r.pathNs)))} | ${f(med(rs.map((r) => r.p50 ?? NaN)))} | ${f(med(rs.map((r) => r.p99 ?? NaN)))} |`);
    }
    const l = light.filter((x) => x.setting === s.name);
    console.log(`| ${s.name} | light (ping only) | | | | | ${f(med(l.map((x) => x.p50)))} | ${f(med(l.map((x) => x.p99)))} |`);
  }
}

await main();
