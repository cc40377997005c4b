// Parallel replay: `dataplane replay --workers 1` against `--workers 2` on a
// large capture, through
// the built command: a child process each, timed by /usr/bin/time (wall,
// CPU, peak RSS) while its threads' CPU time is read from /proc (the
// busiest thread's CPU is the wall time the run would take with a free
// core per busy thread: what an idle machine would show).
//
// The machine is shared (other engineers' tests; the VM's steal time), so
// the runs are interleaved, each round starting with the next variant, and repeated (BENCH_REPLAY_ROUNDS, default
// 3) and the medians reported, with the load average around each run; and
// a control measures what parallelism the machine gives right now: two
// one-worker replays at once against one alone. No replay can be faster
// with 2 workers than that control says two independent processes are.
//
// The capture is built in a temporary directory from a real one (tcpreplay's
// test.pcap: 179 frames of TCP, UDP and ICMP between two hosts), repeated
// with both addresses of every packet shifted by the repetition number (so
// each repetition is another set of flows, both directions kept together)
// and its IPv4 header checksum fixed; frames are 2 us apart, a busy link, so
// replay's batches (1 ms of capture time) fill. It is deleted afterwards.
// Every run must give the same counters and frame counts, and the same file
// byte for byte, or the rows say so.
//
// Every run starts from the same memory state: the VM's, not only the
// process's. The project VM's virtio balloon has free page reporting on
// (feature bit 5): about a second after pages are freed (a deleted output's
// page cache) the guest hands free 2 MiB blocks back to the host, and
// refilling them costs far more. Writing 1 GiB to ext4 in 1 MiB writes took
// 0.22-0.28 s of system CPU right after a 1 GiB file was deleted and
// 1.3-1.7 s once 1 s or more had passed (dd, 10 alternating runs, load
// 2.5-4.7); a run that started right after another ran fast or slow by how
// much of the last output's memory the guest had handed back meanwhile,
// which made the runs bimodal. So before every run the bench waits until the
// guest has handed back nothing new for 1.5 s (its page_reporting module's
// reported_kib counter; on a kernel without it, a 3 s pause): every run
// starts with the freed memory given back, the state a run finds after any
// pause. Write sizes matter there too: see the write(2) row.
//
// BENCH_REPLAY_MB sets the capture size (default 1024 MiB).
// BENCH_REPLAY_PEER=/path/to/other/checkout/dist/src/cli/main.js adds that
// build's --workers 2 to the interleaved rounds (an A/B against another
// version in the same run).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../../src/pcap/reader.js';
import { PcapWriter } from '../../src/pcap/writer.js';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { PROJECT_ROOT, SHARED_PCAPS } from '../lib/paths.js';
import type { BenchRow, BenchTarget } from '../lib/report.js';

const SOURCE = join(SHARED_PCAPS, 'tcpreplay', 'test.pcap');
const CLI = join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
const GAP_NS = 2000;

export const CONFIG = `# parallel replay bench: everything from lan is routed out of wan to one static next hop
ports:
  - { name: lan, mac: "02:00:00:00:00:01", address: 192.0.2.1/24 }
  - { name: wan, mac: "02:00:00:00:00:02", address: 198.51.100.1/24, mtu: 1500 }
routes:
  - 0.0.0.0/0 via 198.51.100.254
neighbors:
  - { address: 198.51.100.254, mac: "02:bb:00:00:00:fe" }
icmp: { ratePerSecond: 1000000000, burst: 1000000000 }
`;

function ipv4Checksum(b: Uint8Array, o: number): void {
  const ihl = (b[o] & 0x0f) << 2;
  b[o + 10] = 0;
  b[o + 11] = 0;
  let sum = 0;
  for (let i = 0; i < ihl; i += 2) sum += (b[o + i] << 8) | b[o + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  b[o + 10] = c >> 8;
  b[o + 11] = c & 0xff;
}

/** Writes the repeated capture; returns its frame count. */
export function buildCapture(path: string, targetBytes: number): number {
  const frames = [...readCapture(SOURCE)].map((r) => r.data.slice());
  const w = new PcapWriter(path, { linkType: LINKTYPE_ETHERNET, nanosecond: true });
  let bytes = 24;
  let n = 0;
  for (let rep = 0; bytes < targetBytes; rep++) {
    for (const f of frames) {
      const b = f.slice();
      if (b.length >= 34 && b[12] === 0x08 && b[13] === 0x00 && b[14] >> 4 === 4) {
        // Another pair of hosts per repetition: both addresses' last two octets XOR rep, so replies still pair with requests.
        for (const a of [14 + 12, 14 + 16]) {
          b[a + 2] ^= (rep >> 8) & 0xff;
          b[a + 3] ^= rep & 0xff;
        }
        ipv4Checksum(b, 14);
      }
      const ns = n * GAP_NS;
      w.write(b, 1_700_000_000 + Math.floor(ns / 1e9), ns % 1e9);
      bytes += 16 + b.length;
      n++;
    }
  }
  w.close();
  return n;
}

interface Run {
  wallS: number;
  cpuS: number;
  maxRssMiB: number;
  /** CPU seconds of the busiest thread. */
  busiestS: number;
  /** CPU seconds of each thread that used more than 50 ms, largest first. */
  threadsS: number[];
  load: [number, number];
  summary: { framesRead: number; framesOut: number; counters: Record<string, { packets: number }>; workers?: number };
  stderr: string;
}

/** CPU seconds of each thread of `pid` (utime + stime), by thread id; nothing when it is gone. */
function threadCpu(pid: number, into: Map<string, number>): void {
  const tick = 100; // USER_HZ on Linux
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      into.set(tid, (Number(f[11]) + Number(f[12])) / tick);
    } catch {
      // the thread ended between the listing and the read
    }
  }
}

async function run(input: string, config: string, out: string, workers: number, extra: string[] = [], cli = CLI, env: Record<string, string> = {}): Promise<Run> {
  const load0 = os.loadavg()[0];
  const child = spawn('/usr/bin/time', ['-f', 'TIME %e %U %S %M', process.execPath, cli, 'replay', input, '--config', config, '--out', out, '--in-port', 'lan', '--promisc', '--json', '--workers', String(workers), ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // The replay is the child of /usr/bin/time: its threads' CPU, sampled until it ends.
  const threads = new Map<string, number>();
  const poll = setInterval(() => {
    try {
      for (const pid of readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) threadCpu(Number(pid), threads);
    } catch {
      // not started yet, or ended
    }
  }, 50);
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(poll);
  if (status !== 0) throw new Error(`replay --workers ${workers} ${extra.join(' ')} failed (${status}): ${stderr}`);
  const line = stderr.split('\n').find((l) => l.startsWith('TIME '));
  if (line === undefined) throw new Error(`no timing from /usr/bin/time: ${stderr}`);
  const [wall, user, sys, rssKb] = line.slice(5).split(' ').map(Number);
  const threadsS = [...threads.values()].filter((t) => t > 0.05).sort((a, b) => b - a);
  return {
    wallS: wall,
    cpuS: user + sys,
    maxRssMiB: rssKb / 1024,
    busiestS: threadsS[0] ?? user + sys,
    threadsS,
    load: [load0, os.loadavg()[0]],
    summary: JSON.parse(stdout) as Run['summary'],
    stderr: stderr.replace(line, '').trim(),
  };
}

/** The guest's count of free memory handed back to the host (this VM's page_reporting module), or undefined. */
const REPORTED = '/sys/module/page_reporting/parameters/reported_kib';
function reportedKiB(): number | undefined {
  if (!existsSync(REPORTED)) return undefined;
  const v = Number(readFileSync(REPORTED, 'utf8'));
  return Number.isFinite(v) ? v : undefined;
}

/**
 * Waits until the guest has handed nothing new back to the host for 1.5 s
 * (at most 15 s; a 3 s pause without the counter): every run then starts
 * with the previous runs' freed memory given back (see the header).
 */
async function settle(): Promise<void> {
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  let last = reportedKiB();
  if (last === undefined) return sleep(3000);
  for (let t = 0, quiet = 0; t < 15_000 && quiet < 1500; t += 250) {
    await sleep(250);
    const now = reportedKiB();
    if (now === last) quiet += 250;
    else {
      quiet = 0;
      last = now;
    }
  }
}

/** System CPU seconds to write `bytes` of zeros into a new file `piece` bytes at a time, after settle(); the file is removed. */
async function writeCost(path: string, bytes: number, piece: number): Promise<number> {
  await settle();
  const buf = Buffer.alloc(piece);
  const fd = openSync(path, 'w');
  const t0 = process.cpuUsage();
  try {
    for (let done = 0; done < bytes; done += piece) writeSync(fd, buf, 0, piece);
  } finally {
    closeSync(fd);
  }
  const sys = process.cpuUsage(t0).system / 1e6;
  rmSync(path, { force: true });
  return sys;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function sha256(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(4 << 20);
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

const PEER = process.env.BENCH_REPLAY_PEER;
// BENCH_REPLAY_MAIN_SHARES=4,8 adds --workers 2 with the main thread taking that share of the flows (DATAPLANE_REPLAY_MAIN_SHARE, eighths of a pool shard's).
const SHARES = (process.env.BENCH_REPLAY_MAIN_SHARES ?? '').split(',').filter(Boolean);
const VARIANTS = [
  { label: '--workers 1', workers: 1, extra: [] as string[], cli: CLI, env: {} as Record<string, string> },
  { label: '--workers 2', workers: 2, extra: [] as string[], cli: CLI, env: {} as Record<string, string> },
  ...SHARES.map((s) => ({ label: `--workers 2 (main share ${s}/8)`, workers: 2, extra: [] as string[], cli: CLI, env: { DATAPLANE_REPLAY_MAIN_SHARE: s } as Record<string, string> })),
  ...(PEER ? [{ label: `--workers 2 (peer build ${PEER})`, workers: 2, extra: [] as string[], cli: PEER, env: {} as Record<string, string> }] : []),
];

export async function runReplayParallelBench(): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const mb = Number(process.env.BENCH_REPLAY_MB ?? 1024);
  const rounds = Number(process.env.BENCH_REPLAY_ROUNDS ?? 3);
  const dir = mkdtempSync(join(os.tmpdir(), 'dp-bench-replay-'));
  const rows: BenchRow[] = [];
  const targets: BenchTarget[] = [];
  try {
    const input = join(dir, 'big.pcap');
    const config = join(dir, 'router.yaml');
    writeFileSync(config, CONFIG);
    const t0 = performance.now();
    const frames = buildCapture(input, mb * 2 ** 20);
    const size = statSync(input).size;
    console.error(`bench: replay capture ${(size / 2 ** 20).toFixed(0)} MiB, ${frames} frames, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // Read it once so every run starts from the page cache.
    spawnSync('cat', [input], { stdio: 'ignore' });
    const cpu = os.cpus()[0]?.model ?? 'unknown';
    const name = `replay/${(size / 2 ** 30).toFixed(2)}GiB-routed`;

    // Control: two one-worker replays at once against one alone, what the machine gives two independent processes now.
    const alone: number[] = [];
    const together: number[] = [];
    for (let r = 0; r < Math.min(rounds, 2); r++) {
      await settle();
      const a = await run(input, config, join(dir, 'c0.pcapng'), 1);
      alone.push(a.wallS);
      rmSync(join(dir, 'c0.pcapng'), { force: true });
      await settle();
      const both = await Promise.all([run(input, config, join(dir, 'c1.pcapng'), 1), run(input, config, join(dir, 'c2.pcapng'), 1)]);
      together.push(Math.max(...both.map((b) => b.wallS)));
      for (const f of ['c0', 'c1', 'c2']) rmSync(join(dir, `${f}.pcapng`), { force: true });
    }
    const capacity = (2 * median(alone)) / median(together);

    const runs: Run[][] = VARIANTS.map(() => []);
    // Each round starts with the next variant, each output is removed as soon as it is run, and each run
    // starts once the guest has handed the freed memory back (settle(), see the header): with neither, a
    // run right after another on the project's Intel Xeon VM took up to twice the CPU time (a one-worker
    // replay 1.4 s first in its round, 2.9-3.3 s after --workers 2).
    const hashes: string[] = [];
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < VARIANTS.length; k++) {
        const i = (k + r) % VARIANTS.length;
        const v = VARIANTS[i];
        const out = join(dir, `out-${i}.pcapng`);
        await settle();
        runs[i].push(await run(input, config, out, v.workers, v.extra, v.cli, v.env));
        // 2 workers write one worker's file byte for byte (checked in the first round: hashing costs a read of each).
        if (r === 0) hashes[i] = sha256(out);
        rmSync(out, { force: true });
      }
    }
    const sameBytes = hashes.every((h) => h === hashes[0]);

    const sorted = (c: Run['summary']['counters']) => JSON.stringify(Object.entries(c).sort(([a], [b]) => a.localeCompare(b)));
    const base = runs[0][0].summary;
    const same = runs.every((rs) => rs.every((r) => r.summary.framesOut === base.framesOut && sorted(r.summary.counters) === sorted(base.counters)));
    const sharded = runs.slice(1).every((rs) => rs.every((r) => r.summary.workers === 2));
    const loads = runs.flat().flatMap((r) => r.load);
    const med = VARIANTS.map((_, i) => ({
      wall: median(runs[i].map((r) => r.wallS)),
      cpu: median(runs[i].map((r) => r.cpuS)),
      busiest: median(runs[i].map((r) => r.busiestS)),
      rss: Math.max(...runs[i].map((r) => r.maxRssMiB)),
    }));
    for (const [i, v] of VARIANTS.entries()) {
      const m = med[i];
      const threads = runs[i].map((r) => r.threadsS.map((t) => t.toFixed(1)).join('+')).join(', ');
      rows.push({
        name,
        subject: `dataplane ${v.label}`,
        value: frames / m.wall / 1e6,
        unit: 'Mpps',
        nsPerOp: (m.wall * 1e9) / frames,
        notes:
          `median of ${rounds}: wall ${m.wall.toFixed(1)} s (runs ${runs[i].map((r) => r.wallS.toFixed(1)).join(', ')}), CPU ${m.cpu.toFixed(1)} s (${((m.cpu * 1e9) / frames).toFixed(0)} ns/pkt), ` +
          `busiest thread ${m.busiest.toFixed(1)} s (threads' CPU s per run: ${threads}), peak RSS ${m.rss.toFixed(0)} MiB, ${frames} frames, ${os.cpus().length} cores (${cpu}); ` +
          `each run started once the guest had handed freed memory back to the host (settle), load average ${Math.min(...runs[i].flatMap((r) => r.load)).toFixed(1)}-${Math.max(...runs[i].flatMap((r) => r.load)).toFixed(1)}`,
      });
    }
    for (const [i, v] of VARIANTS.entries()) {
      if (i === 0) continue;
      rows.push({
        name,
        subject: i === 1 ? `speedup ${v.workers} vs 1 worker` : `speedup ${v.label} vs --workers 1`,
        value: med[0].wall / med[i].wall,
        unit: 'x',
        notes:
          `wall, medians; with a free core per busy thread (1 worker's CPU / the busiest thread's, medians): ${(med[0].busiest / med[i].busiest).toFixed(2)}x; ` +
          `CPU ${(med[i].cpu / med[0].cpu).toFixed(2)}x one worker's`,
      });
    }
    for (const [i, v] of VARIANTS.entries()) {
      if (i === 0) continue;
      // Total CPU (every thread) of N workers against one, medians of the same interleaved rounds: near 1 when the work is split, near N when it is duplicated.
      rows.push({
        name,
        subject: i === 1 ? `total CPU ${v.workers} vs 1 worker` : `total CPU ${v.label} vs --workers 1`,
        value: med[i].cpu / med[0].cpu,
        unit: 'x',
        nsPerOp: (med[i].cpu * 1e9) / frames,
        notes:
          `CPU s, medians: ${med[i].cpu.toFixed(2)} (${((med[i].cpu * 1e9) / frames).toFixed(0)} ns/pkt) vs ${med[0].cpu.toFixed(2)} (${((med[0].cpu * 1e9) / frames).toFixed(0)} ns/pkt); ` +
          `per round: ${runs[i].map((r, k) => (r.cpuS / runs[0][k].cpuS).toFixed(2)).join(', ')}; peak RSS ${med[i].rss.toFixed(0)} vs ${med[0].rss.toFixed(0)} MiB; ${cpu}`,
      });
    }
    // What the kernel charges for the output's page cache here, by write(2) size, in the state every run starts from.
    const costs: Record<string, number[]> = { '128 KiB': [], '4 MiB': [] };
    for (let r = 0; r < 3; r++) {
      costs['128 KiB'].push(await writeCost(join(dir, 'w.bin'), 1 << 30, 128 << 10));
      costs['4 MiB'].push(await writeCost(join(dir, 'w.bin'), 1 << 30, 4 << 20));
    }
    rows.push({
      name,
      subject: 'machine: write(2) of 1 GiB into the page cache, 128 KiB writes',
      value: median(costs['128 KiB']),
      unit: 's',
      notes:
        `system CPU of writing 1 GiB of zeros to a new file in the bench's directory, each after the settle every run starts with (runs ${costs['128 KiB'].map((c) => c.toFixed(2)).join(', ')} s); ` +
        `in 4 MiB writes: ${costs['4 MiB'].map((c) => c.toFixed(2)).join(', ')} s. replay writes OUT in pieces of at most 128 KiB (atomic-file-sink.ts); guest page reporting ${reportedKiB() === undefined ? 'not seen' : 'on'}`,
    });
    rows.push({
      name,
      subject: 'control: 2 one-worker replays at once',
      value: capacity,
      unit: 'x',
      notes: `what running two independent processes gives now (2 x alone / both at once, medians: alone ${alone.map((w) => w.toFixed(1)).join(', ')} s, both ${together.map((w) => w.toFixed(1)).join(', ')} s): the ceiling for 2 workers on this machine today; load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} during the runs on ${os.cpus().length} cores`,
    });
    const best = med[0].wall / med[1].wall;
    targets.push({ description: "replay --workers 2 gives --workers 1's counters and frames", met: same && sharded, measured: same ? (sharded ? 'same' : 'same, but fell back to one worker') : 'different' });
    targets.push({ description: "replay --workers 2 writes --workers 1's file byte for byte", met: sameBytes === true, measured: sameBytes === true ? 'same bytes' : 'different bytes' });
    targets.push({
      description: 'replay --workers 2 about 2x faster than --workers 1 (wall)',
      met: best >= 1.8,
      measured: `${best.toFixed(2)}x (control: two independent processes ${capacity.toFixed(2)}x)`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, targets };
}
