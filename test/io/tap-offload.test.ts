// TCP through `dataplane run` with offload TAPs (io.offload), from a client
// namespace to a server namespace across the dataplane: without offload, with
// it, and with it on the client side only (software segmentation towards the
// server). Checks that the bytes arrive (64 MiB, sha256 on both ends), that
// with offload the dataplane really received super-packets (average frame far
// above 1514 B) and without it only MTU-sized frames, and logs an iperf3
// figure. Root only; each case < 20 s.
import type { ChildProcess } from 'node:child_process';
import { haveCommand, nsSpawn, nsTry } from '../../src/host/commands.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../cli-run.js';
import { loadNative, nativeAvailable } from '../../src/io/native.js';
import { Lab, rootSkipReason } from './netns.js';

const hasIperf = haveCommand('iperf3');
const skip = rootSkipReason(true) ?? (hasIperf ? undefined : 'needs iperf3');
const BYTES = 64 * 1024 * 1024;

/** Receives one TCP connection on ADDR:5001 and prints {bytes, sha256} when it ends. */
const RECEIVER = `
  const h = require('node:crypto').createHash('sha256');
  let n = 0;
  const srv = require('node:net').createServer((s) => {
    s.on('data', (d) => { n += d.length; h.update(d); });
    s.on('end', () => { console.log(JSON.stringify({ bytes: n, sha256: h.digest('hex') })); srv.close(); });
  });
  srv.listen(5001, process.argv[1], () => console.log('listening'));`;

/** Sends BYTES random bytes to ADDR:5001 and prints {bytes, sha256} of what it sent. */
const SENDER = `
  const data = require('node:crypto').randomBytes(Number(process.argv[2]));
  const sha256 = require('node:crypto').createHash('sha256').update(data).digest('hex');
  const s = require('node:net').connect(5001, process.argv[1], () => s.end(data));
  s.on('close', () => console.log(JSON.stringify({ bytes: data.length, sha256 })));`;

interface PortTotals {
  name: string;
  rxPackets: number;
  rxBytes: number;
}

/** Resolves with the child's stdout once `pattern` shows up in it (rejects after `ms` or on exit). */
function waitFor(child: ChildProcess, pattern: RegExp, ms: number): Promise<string> {
  return new Promise((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`timed out waiting for ${pattern}: ${out}`)), ms);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        res(out);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`exited ${code} before ${pattern}: ${out}`));
    });
  });
}

describe.skipIf(!nativeAvailable())('offload metadata in the native bursts (no root)', () => {
  it('rxBurst and txBurst take meta only with the 10-byte header and 6 words per slot', () => {
    const io = loadNative();
    const arena = new Uint8Array(4096);
    const offsets = new Uint32Array(2);
    const lengths = new Uint32Array(2);
    // Argument checks come before any read or write, so fd -1 is never touched.
    expect(() => io.rxBurst(-1, arena, offsets, lengths, 2048, 2, 0, 0, undefined, new Uint16Array(12))).toThrow(/meta needs a 10-byte virtio header/);
    expect(() => io.rxBurst(-1, arena, offsets, lengths, 2048, 2, 0, 10, undefined, new Uint16Array(11))).toThrow(RangeError);
    expect(() => io.txBurst(-1, arena, offsets, lengths, 1, null, 0, undefined, new Uint16Array(12))).toThrow(/meta needs a 10-byte virtio header/);
    // Well-formed: the checks pass and the write itself fails on the bad fd.
    let code: unknown;
    try {
      io.txBurst(-1, arena, offsets, lengths, 1, null, 10, undefined, new Uint16Array(6));
    } catch (e) {
      code = (e as { code?: unknown }).code;
    }
    expect(code).toBe('EBADF');
  });
});

describe.skipIf(skip !== undefined)(`TCP through offload TAPs${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let lab: Lab;
  let dir: string;
  let nsR: string;
  let nsC: string;
  let nsS: string;
  const children: ChildProcess[] = [];

  /** A background process in `ns`, killed in afterAll if still running. */
  const start = (ns: string, cmd: string, args: string[]): ChildProcess => {
    const c = nsSpawn(ns, cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    return c;
  };

  beforeAll(() => {
    lab = new Lab();
    nsR = lab.netns('ofr');
    nsC = lab.netns('ofc');
    nsS = lab.netns('ofs');
    dir = mkdtempSync(join(tmpdir(), 'dp-offload-'));
    for (const [name, lan, wan] of [['off', false, false], ['on', true, true], ['mixed', true, false]] as const) {
      writeFileSync(
        join(dir, `${name}.yaml`),
        `ports:
  - name: lan
    address: 192.0.2.1/24
    io: { type: tap, netns: ${nsC}, peerAddress: 192.0.2.10/24, peerName: eth0, offload: ${lan} }
  - name: wan
    address: 198.51.100.1/24
    io: { type: tap, netns: ${nsS}, peerAddress: 198.51.100.10/24, peerName: eth0, offload: ${wan} }
`,
      );
    }
  });

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  interface Outcome {
    sent: { bytes: number; sha256: string };
    received: { bytes: number; sha256: string };
    iperfBitsPerSecond: number;
    lan: PortTotals;
    counters: Record<string, { packets: number }>;
  }

  async function transfer(offload: 'off' | 'on' | 'mixed'): Promise<Outcome> {
    const dp = start(nsR, process.execPath, [CLI, 'run', '--config', join(dir, `${offload}.yaml`), '--workers', '1', '--json']);
    let log = '';
    dp.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    dp.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise((res) => dp.once('exit', res));
    let sent: string;
    let received: string;
    let iperf: string;
    try {
      await waitFor(dp, /"event":"started"/, 8000);
      // The bytes, checked end to end: a TCP connection carrying BYTES random bytes, sha256 on both sides.
      const rx = start(nsS, process.execPath, ['-e', RECEIVER, '198.51.100.10']);
      const rxDone = waitFor(rx, /"sha256"/, 12_000);
      await waitFor(rx, /listening/, 5000);
      sent = nsTry(nsC, process.execPath, ['-e', SENDER, '198.51.100.10', String(BYTES)], { timeoutMs: 10_000 }).stdout;
      received = await rxDone;
      // And a short iperf3 run for the throughput figure.
      const srv = start(nsS, 'iperf3', ['-s', '-1', '--forceflush', '-B', '198.51.100.10']);
      await waitFor(srv, /Server listening/, 5000);
      iperf = nsTry(nsC, 'iperf3', ['-c', '198.51.100.10', '-t', '2', '-J'], { timeoutMs: 8000 }).stdout;
    } finally {
      // SIGTERM: the dataplane stops, prints its summary and deletes its TAPs.
      if (dp.exitCode === null && dp.pid !== undefined) process.kill(dp.pid, 'SIGTERM');
      await exited;
    }
    const result = JSON.parse(iperf) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
    const stopped = log.split('\n').find((l) => l.includes('"event":"stopped"'));
    if (!stopped) throw new Error(`no summary from dataplane run: ${log}`);
    const summary = JSON.parse(stopped) as { ports: PortTotals[]; counters: Record<string, { packets: number }> };
    if (result.error) throw new Error(`iperf3: ${result.error}; dataplane: ${log}`);
    const lastJson = (out: string) => JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1) ?? '{}') as Outcome['sent'];
    const bps = result.end?.sum_received?.bits_per_second ?? 0;
    console.log(`offload ${offload}: iperf3 ${(bps / 1e9).toFixed(2)} Gbit/s, lan rx ${summary.ports[0].rxPackets} frames, ${Math.round(summary.ports[0].rxBytes / summary.ports[0].rxPackets)} B average`);
    return { sent: lastJson(sent), received: lastJson(received), iperfBitsPerSecond: bps, lan: summary.ports[0], counters: summary.counters };
  }

  it('without offload: the bytes arrive in MTU-sized frames', async () => {
    const r = await transfer('off');
    expect(r.received).toEqual(r.sent);
    expect(r.received.bytes).toBe(BYTES);
    expect(r.iperfBitsPerSecond).toBeGreaterThan(0);
    expect(r.lan.rxBytes / r.lan.rxPackets).toBeLessThanOrEqual(1514);
  }, 20_000);

  it('with offload: the bytes arrive, carried in TCP super-packets (average frame > 2000 B)', async () => {
    const r = await transfer('on');
    expect(r.received).toEqual(r.sent);
    expect(r.received.bytes).toBe(BYTES);
    expect(r.iperfBitsPerSecond).toBeGreaterThan(0);
    expect(r.lan.rxBytes / r.lan.rxPackets).toBeGreaterThan(2000);
    expect(r.counters['ip4-output/gso-to-non-offload-port']).toBeUndefined();
    expect(r.counters['ethernet-input/too-big']).toBeUndefined();
  }, 20_000);

  it('offload on the client side only: super-packets are segmented in software towards the server', async () => {
    const r = await transfer('mixed');
    expect(r.received).toEqual(r.sent);
    expect(r.received.bytes).toBe(BYTES);
    expect(r.lan.rxBytes / r.lan.rxPackets).toBeGreaterThan(2000);
    expect(r.counters['ip4-gso/segments-made']?.packets ?? 0).toBeGreaterThan(BYTES / 1500);
    expect(r.counters['ip4-output/gso-to-non-offload-port']).toBeUndefined();
  }, 20_000);
});
