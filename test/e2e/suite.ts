// The end-to-end suite: a lab (client and server namespaces with real Linux
// hosts on both sides of `dataplane run`) and what a person would check with
// ping, traceroute, tracepath and nc. Each test file calls labSuite() with its
// own prefixes; everything it starts is stopped by pid in afterAll.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, logTail, STATE_ROOT, stateDir, type LabState } from '../../src/lab/lab.js';
import { listNetns, nsSpawn, nsTry, pidAlive } from '../../src/host/commands.js';
import { missingToolsMessage, type Tool } from '../../src/host/tools.js';
import { labUnavailable } from '../../src/lab/lab-error.js';
import { LAB, type LabPorts } from '../../src/lab/topology.js';
import { CLI } from '../cli-run.js';
import { skipIf } from '../skip.js';

/** What the e2e suites run besides node: the lab's tools and a person's (their packages: src/host/tools.ts). */
export const TOOLS: readonly Tool[] = ['ip', 'ss', 'sysctl', 'ping', 'traceroute', 'tracepath', 'nc', 'ethtool', 'curl', 'python3'];

/** Why the e2e tests cannot run here (`extra`: tools a file needs besides TOOLS), or undefined. */
export function e2eSkipReason(extra: readonly Tool[] = []): string | undefined {
  const why = labUnavailable();
  if (why !== undefined) return why;
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun (load the tun module)';
  return missingToolsMessage([...TOOLS, ...extra]);
}

/** Runs argv in `ns`: its status and everything it printed (ping and traceroute write verdicts to both streams). */
export function nsExec(ns: string, argv: string[], timeoutMs = 15_000): { status: number; out: string } {
  const r = nsTry(ns, argv[0], argv.slice(1), { timeoutMs });
  return { status: r.status, out: r.output };
}

/** Processes whose command line mentions `needle` (our config path): none must survive a test file. */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * A prefix unique to this test process (`base-<pid>`), so that parallel runs
 * never touch each other's labs; labs of runs that died are swept first.
 */
export async function uniquePrefix(base: string): Promise<string> {
  const re = new RegExp(`^${base}-([0-9a-z]+)$`);
  const bases = new Set<string>();
  for (const ns of listNetns()) bases.add(ns.replace(/-(router|client|server)$/, ''));
  if (existsSync(STATE_ROOT)) for (const d of readdirSync(STATE_ROOT)) bases.add(d);
  for (const b of bases) {
    const m = re.exec(b);
    if (m && !pidAlive(parseInt(m[1], 36))) await labDown(b);
  }
  return `${base}-${process.pid.toString(36)}`;
}

const children: ChildProcess[] = [];

/** A background process in `ns`, killed by pid in afterAll (killChildren) if it is still running. */
export function background(ns: string, argv: string[]): { child: ChildProcess; output: Promise<string>; text: () => string } {
  const child = nsSpawn(ns, argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const output = new Promise<string>((res) => child.on('close', () => res(out)));
  return { child, output, text: () => out };
}

/** Kills (by pid) every background() process of this test file that still runs. */
export function killChildren(): void {
  for (const c of children.splice(0)) if (c.exitCode === null && c.pid !== undefined) c.kill('SIGKILL');
}

/** Waits (5 s at most) until something in `ns` listens on TCP or UDP `port`. */
export async function waitListening(ns: string, proto: 't' | 'u', port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (nsExec(ns, ['ss', `-${proto}lnH`, `sport = :${port}`]).out.trim() !== '') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${proto === 't' ? 'TCP' : 'UDP'} ${port} in ${ns}`);
}

const UDP_SINK = (port: number, expect: number) => `
const s = require('node:dgram').createSocket('udp4'); const h = require('node:crypto').createHash('sha256');
let n = 0, bytes = 0, t; const done = () => { console.log(n + ' ' + bytes + ' ' + h.digest('hex')); process.exit(0); };
s.on('message', (m) => { n++; bytes += m.length; h.update(m); clearTimeout(t); if (n === ${expect}) done(); else t = setTimeout(done, 1500); });
s.bind(${port}, '${LAB.server.addr}', () => { t = setTimeout(done, 8000); });`;

const UDP_SOURCE = (port: number, file: string, size: number) => `
const s = require('node:dgram').createSocket('udp4'); const d = require('node:fs').readFileSync('${file}');
let i = 0; const next = () => { if (i * ${size} >= d.length) { s.close(); return; } s.send(d.subarray(i * ${size}, (i + 1) * ${size}), ${port}, '${LAB.server.addr}', () => { i++; setTimeout(next, 1); }); };
s.bind(0, next);`;

export interface SuiteOptions {
  /** The lab's --offload: TAPs with offload, or veths that keep their default offloads (afpacket: TSO/GSO, checksum; afxdp: checksum). */
  offload?: boolean;
  /** AF_PACKET ports: the receive ring's layout (io.ring). */
  ring?: 'v2' | 'v3';
}

export function labSuite(ports: LabPorts, workers: number, base: string, opts: SuiteOptions = {}): void {
  const skip = e2eSkipReason();
  const offload = (opts.offload === true ? ports === 'tap' ? ', offload' : ', veth offloads left on' : '') + (opts.ring === undefined ? '' : `, ring ${opts.ring}`);
  describe(`dataplane run with ${ports} ports${offload}, ${workers} worker${workers > 1 ? 's' : ''}`, skipIf(skip), () => {
    let lab: LabState;
    let prefix = base;
    let tmp = '';
    let configPath = '';

    beforeAll(async () => {
      prefix = await uniquePrefix(base);
      tmp = join(os.tmpdir(), `${prefix}-e2e`);
      lab = await labUp({ prefix, ports, engine: 'dataplane', workers, wanMtu: 1400, offload: opts.offload, ring: opts.ring, readyTimeoutMs: 10_000 });
      configPath = lab.configPath;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
    }, 30_000);

    afterAll(async () => {
      killChildren();
      const log = lab ? logTail(lab, 40) : '';
      const r = await labDown(prefix);
      if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
      // Nothing left behind: no namespaces, no state, no dataplane process.
      expect(listNetns().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
      expect(existsSync(stateDir(prefix))).toBe(false);
      if (configPath !== '') expect(processesMentioning(configPath)).toEqual([]);
      expect(r.stopped?.how, `the dataplane should stop on SIGTERM; log:\n${log}`).toBe('SIGTERM');
    }, 30_000);

    if (opts.ring !== undefined) {
      it(`says at start that its ports use the ${opts.ring} receive ring`, () => {
        expect(logTail(lab, 200)).toMatch(new RegExp(`lan: afpacket lan \\(fanout group \\d+, ring ${opts.ring}`));
      });
    }

    it('pings a server through the router (TTL decremented: the client sees 63)', () => {
      const r = nsExec(lab.names.client, ['ping', '-n', '-c3', '-i0.2', '-W2', LAB.server.addr]);
      expect(r.status, r.out + logTail(lab)).toBe(0);
      expect(r.out).toMatch(/3 received/);
      expect(r.out).toMatch(new RegExp(`from ${LAB.server.addr.replace(/\./g, '\\.')}: icmp_seq=\\d+ ttl=63 `));
    });

    it('answers a ping to its own address (TTL 64)', () => {
      const r = nsExec(lab.names.client, ['ping', '-n', '-c2', '-i0.2', '-W2', LAB.lan.addr]);
      expect(r.status, r.out).toBe(0);
      expect(r.out).toMatch(/ttl=64 /);
    });

    it('shows up in traceroute as hop 1 (192.0.2.1 then 198.51.100.10)', () => {
      const r = nsExec(lab.names.client, ['traceroute', '-n', '-q1', '-w2', '-m5', LAB.server.addr]);
      expect(r.status, r.out).toBe(0);
      expect(r.out).toMatch(/^\s*1\s+192\.0\.2\.1\s/m);
      expect(r.out).toMatch(/^\s*2\s+198\.51\.100\.10\s/m);
    });

    it('answers destination net unreachable for an unrouted network', () => {
      const r = nsExec(lab.names.client, ['ping', '-n', '-c1', '-W2', LAB.unrouted]);
      expect(r.status).not.toBe(0);
      expect(r.out).toMatch(/From 192\.0\.2\.1 icmp_seq=1 Destination Net Unreachable/);
    });

    it('lets tracepath discover the smaller egress MTU (pmtu 1400)', () => {
      const r = nsExec(lab.names.client, ['tracepath', '-n', '-m5', LAB.server.addr]);
      expect(r.out).toMatch(/pmtu 1400/);
      expect(r.out).toMatch(/198\.51\.100\.10/);
    });

    it('carries 2 MB over TCP intact (sha256 on both ends)', async () => {
      const file = join(tmp, 'tcp.bin');
      const data = randomBytes(2 * 1024 * 1024);
      writeFileSync(file, data);
      const want = createHash('sha256').update(data).digest('hex');
      const server = background(lab.names.server, ['sh', '-c', `timeout 20 nc -l ${LAB.server.addr} 5001 | sha256sum`]);
      await waitListening(lab.names.server, 't', 5001);
      const c = nsExec(lab.names.client, ['sh', '-c', `timeout 20 nc -N ${LAB.server.addr} 5001 < ${file}`], 25_000);
      expect(c.status, c.out).toBe(0);
      expect((await server.output).split(' ')[0]).toBe(want);
    }, 30_000);

    it('serves a 20 MB HTTP download (curl) intact and complete within 20 s (sha256 on both ends)', async () => {
      const www = join(tmp, 'www');
      mkdirSync(www, { recursive: true });
      const data = randomBytes(20 * 1024 * 1024);
      writeFileSync(join(www, 'big.bin'), data);
      const want = createHash('sha256').update(data).digest('hex');
      background(lab.names.server, ['python3', '-m', 'http.server', '8080', '--bind', LAB.server.addr, '--directory', www]);
      await waitListening(lab.names.server, 't', 8080);
      const out = join(tmp, 'download.bin');
      const c = nsExec(lab.names.client, ['curl', '-sS', '--max-time', '20', '-o', out, `http://${LAB.server.addr}:8080/big.bin`], 25_000);
      expect(c.status, `curl: ${c.out}\n${logTail(lab)}`).toBe(0);
      const got = readFileSync(out);
      expect(got.length).toBe(data.length);
      expect(createHash('sha256').update(got).digest('hex')).toBe(want);
    }, 30_000);

    it('carries 300 UDP datagrams of 1000 bytes intact (count, bytes, sha256)', async () => {
      const file = join(tmp, 'udp.bin');
      const data = randomBytes(300 * 1000);
      writeFileSync(file, data);
      const want = createHash('sha256').update(data).digest('hex');
      const sink = background(lab.names.server, [process.execPath, '-e', UDP_SINK(5003, 300)]);
      await waitListening(lab.names.server, 'u', 5003);
      const src = nsTry(lab.names.client, process.execPath, ['-e', UDP_SOURCE(5003, file, 1000)], { timeoutMs: 20_000 });
      expect(src.status, src.stderr).toBe(0);
      expect((await sink.output).trim()).toBe(`300 300000 ${want}`);
    }, 30_000);

    if (opts.offload === true && ports === 'afxdp') {
      // AF_XDP carries no offload metadata: the transfers above crossed only
      // because the ports recognised the hosts' partial checksums and completed them.
      it('completed the partial checksums that the hosts left to their veths (rx-checksum-fixed on both ports)', () => {
        for (const ns of [lab.names.client, lab.names.server]) {
          expect(nsExec(ns, ['ethtool', '-k', LAB.hostIf]).out, `${ns}: TX checksum offload stays on`).toMatch(/^tx-checksumming: on/m);
        }
        const r = spawnSync(process.execPath, [CLI, 'ctl', '--socket', lab.controlSocket ?? '', 'counters'], { encoding: 'utf8', timeout: 10_000 });
        expect(r.status, r.stderr).toBe(0);
        for (const port of ['lan', 'wan']) {
          const m = new RegExp(`^io/${port}/rx-checksum-fixed\\s+(\\d+)`, 'm').exec(r.stdout);
          expect(Number(m?.[1] ?? 0), `io/${port}/rx-checksum-fixed in:\n${r.stdout}`).toBeGreaterThan(0);
        }
      });
    }
  });
}
