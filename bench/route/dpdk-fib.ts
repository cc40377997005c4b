// The C peer: DPDK's `dpdk-test-fib` (Debian package dpdk-dev; the `dpdk`
// package has only the runtime). Given a routes file (`-f`, "A.B.C.D/LEN NH"
// per line) and a lookup file (`-t`, one address per line), it builds
// rte_fib's DIR-24-8 and, with `-c`, rte_lpm (also DIR-24-8 at heart, with
// its own tbl8 management) from the same routes, looks every address up in
// bursts of 64, timing with rdtsc, and prints average cycles per add, lookup
// and delete. It runs without hugepages (`--no-huge`, 4 KiB pages like a
// Node ArrayBuffer) and with a private runtime directory that is removed after.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatIpv4, formatPrefix } from '../../src/route/prefix.js';

export interface DpdkFibResult {
  tscHz: number;
  /** Average cycles per operation, as printed. */
  fibAdd: number;
  fibLookup: number;
  fibDelete: number;
  lpmAdd: number;
  lpmLookup: number;
  lpmDelete: number;
  /** "FIB and LPM lookup returns same values" was printed. */
  agree: boolean;
}

export function findDpdkTestFib(): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin').split(':')) {
    const p = join(dir, 'dpdk-test-fib');
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Writes the routes and lookup files in dpdk-test-fib's formats. Next hops are
 * written +1 (0 is its default "no route"). The addresses are written `repeat`
 * times, so its one timed lookup pass covers several passes over the set.
 */
export function writeDpdkInputs(dir: string, name: string, prefixes: Uint32Array, lens: Uint8Array, nextHops: Uint32Array, count: number, addrs: Uint32Array, repeat = 1): { routes: string; ips: string } {
  const routes = join(dir, `${name}.routes`);
  const ips = join(dir, `${name}.ips`);
  const r: string[] = new Array<string>(count);
  for (let i = 0; i < count; i++) r[i] = `${formatPrefix(prefixes[i], lens[i])} ${nextHops[i] + 1}`;
  writeFileSync(routes, r.join('\n') + '\n');
  // dpdk-test-fib looks up in whole bursts of 64: keep the count a multiple of it.
  const n = addrs.length - (addrs.length % 64);
  const once = Array.from(addrs.subarray(0, n), formatIpv4).join('\n') + '\n';
  writeFileSync(ips, once.repeat(repeat));
  return { routes, ips };
}

function mean(xs: number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Parses dpdk-test-fib's output; returns an error message when a figure is missing. */
export function parseDpdkOutput(out: string): DpdkFibResult | string {
  const all = (label: string) => [...out.matchAll(new RegExp(`^AVG ${label} ([0-9.]+)$`, 'gm'))].map((m) => Number(m[1]));
  const tsc = /TSC frequency is ~(\d+) KHz/.exec(out);
  const r: DpdkFibResult = {
    tscHz: tsc ? Number(tsc[1]) * 1000 : NaN,
    fibAdd: mean(all('FIB add')),
    fibLookup: mean(all('FIB lookup')),
    fibDelete: mean(all('FIB delete')),
    lpmAdd: mean(all('LPM add')),
    lpmLookup: mean(all('LPM lookup')),
    lpmDelete: mean(all('LPM delete')),
    agree: out.includes('FIB and LPM lookup returns same values'),
  };
  const missing = Object.entries(r).filter(([, v]) => typeof v === 'number' && Number.isNaN(v)).map(([k]) => k);
  if (missing.length > 0) return `no ${missing.join(', ')} in its output: ${out.split('\n').filter((l) => /error|fail|cannot|can not|cause/i.test(l)).slice(0, 3).join(' | ') || out.slice(-300)}`;
  return r;
}

/**
 * Runs dpdk-test-fib `runs` times on the same files and keeps the best
 * (fewest cycles) of each figure. One run of a 1M-route table takes minutes:
 * rte_lpm's add and delete cost tens of microseconds each at that size.
 */
export function runDpdkTestFib(bin: string, files: { routes: string; ips: string }, runs = 1): DpdkFibResult | string {
  const prefix = `dp-lpm-bench-${process.pid}`;
  const args = ['--no-huge', '--no-pci', '-l', '0', '-m', '2048', `--file-prefix=${prefix}`, '--log-level=lib.eal:debug', '--', '-f', files.routes, '-t', files.ips, '-c'];
  const results: DpdkFibResult[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const p = spawnSync(bin, args, { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 });
      const out = `${p.stdout ?? ''}\n${p.stderr ?? ''}`;
      if (p.error) return `${bin} did not run: ${p.error.message}`;
      if (p.status !== 0) return `${bin} exited ${p.status}: ${out.split('\n').filter((l) => l.trim() !== '').slice(-3).join(' | ')}`;
      const r = parseDpdkOutput(out);
      if (typeof r === 'string') return r;
      results.push(r);
    }
  } finally {
    rmSync(join('/var/run/dpdk', prefix), { recursive: true, force: true });
  }
  const best = (k: keyof DpdkFibResult) => Math.min(...results.map((r) => r[k] as number));
  return {
    tscHz: results[0].tscHz,
    fibAdd: best('fibAdd'),
    fibLookup: best('fibLookup'),
    fibDelete: best('fibDelete'),
    lpmAdd: best('lpmAdd'),
    lpmLookup: best('lpmLookup'),
    lpmDelete: best('lpmDelete'),
    agree: results.every((r) => r.agree),
  };
}

export function dpdkCommandLine(bin: string, files: { routes: string; ips: string }): string {
  return `${bin} --no-huge --no-pci -l 0 -m 2048 --file-prefix=... --log-level=lib.eal:debug -- -f ${files.routes} -t ${files.ips} -c`;
}

/** What dpdk-lpm-rounds prints: ns per lookup by thread CPU time, per round. */
export interface DpdkRoundsResult {
  tscHz: number;
  routes: number;
  lookups: number;
  rounds: number;
  disagree: number;
  lpm: { minNs: number; medianNs: number; minCycles: number; addNs: number };
  fib: { minNs: number; medianNs: number; minCycles: number; addNs: number };
  /** The dir16 layout (src/route/fib-dir16.ts) built and walked in C in the same rounds: what a native lookup could do before any call cost. */
  dir16?: { minNs: number; medianNs: number; groups: number; disagree: number; addNs: number };
}

/** Compiles bench/route/dpdk-lpm-rounds.c against libdpdk into `dir`; returns the binary or why not. */
export function buildDpdkRounds(dir: string): string | { error: string } {
  const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'route', 'dpdk-lpm-rounds.c');
  const flags = spawnSync('pkg-config', ['--cflags', '--libs', 'libdpdk'], { encoding: 'utf8' });
  if (flags.status !== 0) return { error: 'pkg-config libdpdk failed (apt-get install -y dpdk-dev pkg-config)' };
  const bin = join(dir, 'dpdk-lpm-rounds');
  const cc = spawnSync('cc', ['-O3', '-march=native', '-o', bin, src, ...flags.stdout.trim().split(/\s+/)], { encoding: 'utf8' });
  if (cc.status !== 0) return { error: `cc ${src} failed: ${(cc.stderr ?? '').split('\n').slice(0, 3).join(' | ')}` };
  return bin;
}

/** Runs dpdk-lpm-rounds once (EAL memory without hugetlbfs; its tables on the pages peerPages() says). */
export function runDpdkRounds(bin: string, files: { routes: string; ips: string }, rounds: number): DpdkRoundsResult | string {
  const prefix = `dp-lpm-rounds-${process.pid}`;
  const args = ['--no-huge', '--no-pci', ...peerCores(), '-m', '2048', `--file-prefix=${prefix}`, '--log-level=lib.eal:error', '--', files.routes, files.ips, String(rounds), peerPages()];
  try {
    // rte_lpm_add scans every rule of the same length: a 1M-route build takes minutes of CPU.
    const p = spawnSync(bin, args, { encoding: 'utf8', timeout: 3_600_000, maxBuffer: 16 << 20 });
    if (p.error) return `${bin} did not run: ${p.error.message}`;
    const line = (p.stdout ?? '').split('\n').find((l) => l.startsWith('{'));
    if (p.status !== 0 || line === undefined) return `${bin} exited ${p.status}: ${(p.stderr ?? '').trim().split('\n').slice(-2).join(' | ')}`;
    return JSON.parse(line) as DpdkRoundsResult;
  } finally {
    rmSync(join('/var/run/dpdk', prefix), { recursive: true, force: true });
  }
}

/** What `dpdk-lpm-rounds ... serve` prints once its tables are built. */
export interface DpdkServeReady {
  tscHz: number;
  routes: number;
  lookups: number;
  /** Addresses where rte_fib and rte_lpm disagree; where the C dir16 walk and rte_lpm do. */
  disagree: number;
  d16disagree: number;
  groups: number;
  lpmAddNs: number;
  fibAddNs: number;
  /** Where its tables are: "thp" (2 MiB pages advised, an external malloc heap) or "4k" (EAL's --no-huge memfd, calloc). */
  pages?: string;
  /** The peer process's AnonHugePages (smaps_rollup) once its tables are built. */
  anonHugeKiB?: number;
}

/**
 * The peer's page size (DP_LPM_PEER_PAGES=4k for EAL's --no-huge memory):
 * 2 MiB by default, as ours (src/flow/huge-pages.ts) and as DPDK runs on
 * hugepages; see dpdk-lpm-rounds.c's header.
 */
export function peerPages(): 'thp' | '4k' {
  return process.env.DP_LPM_PEER_PAGES === '4k' ? '4k' : 'thp';
}

/**
 * The CPUs this process may run on (Linux: /proc/self/status), e.g. "0" under
 * `taskset -c 0`, or null when unknown.
 */
export function allowedCpus(): string | null {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? m[1] : null;
  } catch {
    return null;
  }
}

/**
 * The peer's EAL core option. EAL pins its main thread to the CPUs named
 * here, and does so with sched_setaffinity, which is not bounded by the
 * mask it inherits: so the peer is given exactly the CPUs this process may
 * use. Unpinned, our lookup worker is a thread the kernel places on either
 * vCPU, and the peer's lcore 0 may float over the same ones. Under
 * `taskset -c N` both sides run on vCPU N: the fair comparison on a VM whose
 * vCPUs differ (this one's vCPU 1 reads random memory ~25% slower than its
 * vCPU 0), where a floating pair compares the two vCPUs as much as the two
 * lookups. Without a CPU restriction, the lpm bench pins both sides to
 * each vCPU in turn (DpdkRoundsServer.rounds(n, cpu); cpu-pinning.ts).
 * DP_LPM_PEER_PIN=1: pinned to CPU 0, as before.
 */
function peerCores(): string[] {
  if (process.env.DP_LPM_PEER_PIN === '1') return ['-l', '0'];
  const cpus = allowedCpus();
  return ['--lcores', `0@(${cpus ?? '0,1'})`];
}

/** One round of the peer: ns per lookup by thread CPU time for rte_lpm, rte_fib DIR-24-8 and the C dir16 walk. */
export interface DpdkRound {
  lpm: number;
  fib: number;
  dir16: number;
  /** The CPU the round ended on. */
  cpu: number;
}

/**
 * dpdk-lpm-rounds in serve mode: built once, then asked for a few rounds at a
 * time, so that the lpm bench can alternate the peer's rounds with ours.
 */
export class DpdkRoundsServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private buffered = '';
  private waiting: ((line: string | Error) => void) | undefined;
  private readonly lines: string[] = [];
  private stderr = '';
  private exited: Error | undefined;
  private readonly prefix: string;

  constructor(bin: string, files: { routes: string; ips: string }, tag: string) {
    this.prefix = `dp-lpm-serve-${process.pid}-${tag}`;
    const args = ['--no-huge', '--no-pci', ...peerCores(), '-m', '2048', `--file-prefix=${this.prefix}`, '--log-level=lib.eal:error', '--', files.routes, files.ips, 'serve', peerPages()];
    this.child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      this.buffered += d;
      let nl;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const w = this.waiting;
        this.waiting = undefined;
        if (w !== undefined) w(line);
        else this.lines.push(line);
      }
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-2000);
    });
    const gone = (why: string) => {
      this.exited = new Error(`${bin} ${why}: ${this.stderr.trim().split('\n').slice(-2).join(' | ')}`);
      const w = this.waiting;
      this.waiting = undefined;
      w?.(this.exited);
    };
    this.child.on('error', (e) => gone(`did not run (${e.message})`));
    this.child.on('exit', (code, signal) => gone(`exited ${code ?? signal}`));
  }

  private next(): Promise<string> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.exited !== undefined) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.waiting = (l) => (typeof l === 'string' ? resolve(l) : reject(l));
    });
  }

  /** Waits for the tables to be built (rte_lpm_add of 1M routes takes minutes). */
  async ready(): Promise<DpdkServeReady> {
    return JSON.parse(await this.next()) as DpdkServeReady;
  }

  /** n rounds; on CPU `cpu` alone when given (the peer pins its thread first), else where EAL put it. */
  async rounds(n: number, cpu?: number): Promise<DpdkRound[]> {
    this.child.stdin.write(cpu === undefined ? `${n}\n` : `${n} ${cpu}\n`);
    const r = JSON.parse(await this.next()) as { rounds: [number, number, number, number][] };
    return r.rounds.map(([lpm, fib, dir16, cpu]) => ({ lpm, fib, dir16, cpu }));
  }

  close(): void {
    this.child.stdin.end();
    if (this.exited === undefined) this.child.kill();
    rmSync(join('/var/run/dpdk', this.prefix), { recursive: true, force: true });
  }
}
