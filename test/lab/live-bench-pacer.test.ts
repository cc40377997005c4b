// The stateful live benches' generator (bench/live/pacer.c, paced-run.ts):
// the frames each traffic kind sends (established: N source ports over and
// over; new flows: a new source address and port every frame), the count a
// probe stops at, every frame arriving at the sink, and how the benches run
// the dataplane (measure.ts liveRunOptions). Run in a namespace pair of its
// own (direct.ts), with test addresses only.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directDown, directUp, type DirectPair } from '../../bench/live/direct.js';
import { buildPacer, linkStats, liveNameBase, liveRunOptions, type PacedFrames } from '../../bench/live/measure.js';
import { cpuRatio, pacedRates, pacedRun, ratioText } from '../../bench/live/paced-run.js';
import { nsSpawn } from '../../src/host/commands.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { labUnavailable } from '../../src/lab/lab-error.js';
import { LAB } from '../../src/lab/topology.js';
import { skipIf } from '../skip.js';

const noCc = spawnSync('cc', ['--version']).status === 0 ? undefined : 'no C compiler (cc): apt-get install -y gcc';
const why = labUnavailable() ?? missingToolsMessage(['tcpdump', 'ip']) ?? noCc;

/** The UDP frames tcpdump sees at the sink while `flags` send `count` frames: "src.port > dst.port" each. */
async function capture(pair: DirectPair, bin: string, flags: string[], count: number): Promise<string[]> {
  const dump = nsSpawn(pair.server, 'tcpdump', ['-nn', '-l', '-c', String(count), '-i', LAB.hostIf, 'udp'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  dump.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  dump.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<void>((res) => dump.on('close', () => res()));
  // tcpdump is listening once it says so.
  for (let i = 0; i < 100 && !err.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
  const r = spawnSync('ip', ['netns', 'exec', pair.client, bin, ...flags, '-c', String(count), LAB.hostIf, pair.serverMac, pair.clientMac, LAB.client.addr, LAB.server.addr, '1000'], { encoding: 'utf8', timeout: 20_000 });
  expect(r.status, r.stderr).toBe(0);
  await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
  if (dump.exitCode === null) dump.kill('SIGKILL');
  return [...out.matchAll(/IP (\S+) > (\S+): UDP/g)].map((m) => `${m[1]} > ${m[2].replace(/:$/, '')}`);
}

describe('pacer.c', skipIf(why), () => {
  const prefix = `dp-tpc-${process.pid.toString(36)}`;
  let pair: DirectPair;
  let tmp: string;
  let bin: string;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'pacer-test-'));
    const b = buildPacer(tmp);
    if (typeof b !== 'string') throw new Error(b.error);
    bin = b;
    pair = directUp(prefix);
  });

  afterAll(() => {
    directDown(prefix);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('established: the -f source ports from -s, over and over, to the -d port', async () => {
    const seen = await capture(pair, bin, ['-d', '5201', '-f', '3', '-s', '10000'], 7);
    const ports = [10000, 10001, 10002, 10000, 10001, 10002, 10000];
    expect(seen).toEqual(ports.map((p) => `${LAB.client.addr}.${p} > ${LAB.server.addr}.5201`));
  });

  it('new flows: every frame a new (address, port): the address walks LO-HI, the port moves on once per round', async () => {
    const seen = await capture(pair, bin, ['-d', '7', '-n', '20-22'], 7);
    const net = LAB.client.addr.split('.').slice(0, 3).join('.');
    const expected = [20, 21, 22, 20, 21, 22, 20].map((a, i) => `${net}.${a}.${1024 + Math.floor(i / 3)} > ${LAB.server.addr}.7`);
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('refuses bad flags, naming them', () => {
    const run = (args: string[]) => spawnSync(bin, args, { encoding: 'utf8' });
    expect(run(['-d', '70000', 'eth0', '02:00:00:00:00:01', '02:00:00:00:00:02', '192.0.2.1', '198.51.100.1', '10']).stderr).toMatch(/-d must be a port/);
    expect(run(['-n', '20-10', 'eth0', '02:00:00:00:00:01', '02:00:00:00:00:02', '192.0.2.1', '198.51.100.1', '10']).stderr).toMatch(/-n takes LO-HI/);
    expect(run(['-f', '4', '-n', '1-2', 'eth0', '02:00:00:00:00:01', '02:00:00:00:00:02', '192.0.2.1', '198.51.100.1', '10']).stderr).toMatch(/not with -f/);
    expect(run(['-f', 'x', 'eth0']).stderr).toMatch(/-f x is not a number/);
  });

  it('pacedRun: a probe of -c frames ends by itself, and every frame it sent reached the sink', async () => {
    const frames: PacedFrames = { bin, dstMac: pair.serverMac, srcMac: pair.clientMac, src: LAB.client.addr, dst: LAB.server.addr, flags: ['-d', '9', '-n', '20-120'] };
    const before = linkStats(pair.server, LAB.hostIf).rxPackets;
    const r = await pacedRun({ genNs: pair.client, dev: LAB.hostIf, sinks: [{ ns: pair.server }], frames, rate: 5000, seconds: 1, count: 500, routerPid: 0 });
    expect(r.error).toBeUndefined();
    // The interfaces also count what the namespaces' kernels send now and then (ARP; the pair has no IPv6): a few more.
    expect(r.offered).toBeGreaterThanOrEqual(500);
    expect(r.offered).toBeLessThan(510);
    expect(r.got).toBe(r.offered);
    expect(r.perSink).toEqual([r.got]);
    expect(linkStats(pair.server, LAB.hostIf).rxPackets - before).toBe(r.got);
  });

  it("pacedRun: beforeRun runs once before the counted run, and what it reports is the run's error", async () => {
    const frames: PacedFrames = { bin, dstMac: pair.serverMac, srcMac: pair.clientMac, src: LAB.client.addr, dst: LAB.server.addr, flags: ['-d', '9', '-f', '1'] };
    let calls = 0;
    const r = await pacedRun({ genNs: pair.client, dev: LAB.hostIf, sinks: [{ ns: pair.server }], frames, rate: 5000, seconds: 1, count: 50, routerPid: 0, beforeRun: () => Promise.resolve(++calls === 1 ? 'no reply' : undefined) });
    expect(calls).toBe(1);
    expect(r.error).toBe('no reply');
    expect(r.got).toBeGreaterThanOrEqual(50);
    expect(r.got).toBeLessThan(60);
  });

  it('pacedRun with a direct pair: the direct run goes first and its generator CPU is taken off (forwarding CPU)', async () => {
    // The "routed" run here is the direct path itself: no router, so what it adds is about nothing, and far less than the path.
    const frames: PacedFrames = { bin, dstMac: pair.serverMac, srcMac: pair.clientMac, src: LAB.client.addr, dst: LAB.server.addr, flags: ['-d', '9', '-f', '16'] };
    const r = await pacedRun({ genNs: pair.client, dev: LAB.hostIf, sinks: [{ ns: pair.server }], frames, rate: 20_000, seconds: 1, routerPid: 0, direct: { pair, frames, cfgFile: join(tmp, 'direct.cfg') } });
    expect(r.error).toBeUndefined();
    const x = pacedRates(r);
    expect(Number.isFinite(x.forwardNsPerPacket)).toBe(true);
    expect(x.pathNsPerPacket).toBeGreaterThan(0);
    expect(Math.abs(x.forwardNsPerPacket)).toBeLessThan(x.pathNsPerPacket);
    // Without a direct pair there is nothing to take off.
    const bare = await pacedRun({ genNs: pair.client, dev: LAB.hostIf, sinks: [{ ns: pair.server }], frames, rate: 5000, seconds: 1, count: 50, routerPid: 0 });
    expect(Number.isNaN(bare.forwardSec)).toBe(true);
  });
});

describe('cpuRatio', () => {
  it('divides two positive figures', () => {
    expect(cpuRatio(1500, 1000)).toBe(1.5);
    expect(ratioText(cpuRatio(670, 1000))).toBe('0.67x');
  });

  it('forms no ratio to a figure that is not positive, so a "<= 0.67x" target cannot pass on it', () => {
    // The kernel's router CPU is the machine's system time less a direct run's: other jobs can make it negative.
    for (const [dp, k] of [[1551, -1222], [1551, 0], [-5, 900], [1551, NaN]]) {
      const x = cpuRatio(dp, k);
      expect(Number.isNaN(x)).toBe(true);
      expect(x <= 0.67).toBe(false);
      expect(ratioText(x)).toBe('-');
    }
  });
});

describe('liveNameBase', () => {
  const keep = process.env.DP_LIVE_PREFIX;
  afterAll(() => {
    if (keep === undefined) delete process.env.DP_LIVE_PREFIX;
    else process.env.DP_LIVE_PREFIX = keep;
  });

  it('names the namespaces after DP_LIVE_PREFIX (default dp), and refuses a prefix that makes no namespace name', () => {
    delete process.env.DP_LIVE_PREFIX;
    expect(liveNameBase('natb')).toBe('dp-natb');
    process.env.DP_LIVE_PREFIX = 'statelive';
    expect(liveNameBase('lbb')).toBe('statelive-lbb');
    process.env.DP_LIVE_PREFIX = 'Bad Name';
    expect(() => liveNameBase('fwb')).toThrow(/DP_LIVE_PREFIX: the prefix with its bench kind and a pid must be 1-31 lowercase/);
    process.env.DP_LIVE_PREFIX = 'x'.repeat(25);
    expect(() => liveNameBase('fwb')).toThrow(/DP_LIVE_PREFIX/);
  });
});

describe('liveRunOptions', () => {
  const keep = { rt: process.env.DP_LIVE_REALTIME, spin: process.env.DP_LIVE_SPIN_US };
  afterAll(() => {
    for (const [k, v] of [['DP_LIVE_REALTIME', keep.rt], ['DP_LIVE_SPIN_US', keep.spin]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('runs the workers SCHED_FIFO without a spin window by default (a preempted worker overflows its ring on a loaded machine)', () => {
    delete process.env.DP_LIVE_REALTIME;
    delete process.env.DP_LIVE_SPIN_US;
    expect(liveRunOptions()).toMatchObject({ realtime: 10, spinUs: 0, args: ['--realtime', '10', '--spin-us', '0'] });
  });

  it('takes normal priority and the default spin window when asked, and refuses what is not a number', () => {
    process.env.DP_LIVE_REALTIME = '0';
    process.env.DP_LIVE_SPIN_US = '';
    expect(liveRunOptions()).toMatchObject({ realtime: undefined, spinUs: undefined, args: [] });
    process.env.DP_LIVE_REALTIME = 'high';
    expect(() => liveRunOptions()).toThrow(/DP_LIVE_REALTIME: 'high' is not an integer 0-99/);
  });
});
