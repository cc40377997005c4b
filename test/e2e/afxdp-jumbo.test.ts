// An AF_XDP port beside a port whose frames are larger than a UMEM chunk
// holds. An afxdp port carries at most 3840 bytes of frame (a 4 KiB chunk
// after the kernel's 256 bytes of XDP headroom), so its MTU is at most 3826;
// but the worker's batch slots are sized by the largest port (a TAP at MTU
// 9000: 9152-byte slots; an offload TAP: 64 KiB super-frames), and those
// frames can be routed to the afxdp port. The pipeline treats the afxdp
// port as any port of its MTU without offload: a larger datagram is
// fragmented (ip4-frag) or answered with ICMP fragmentation needed when DF
// is set, and a TCP super-packet is segmented (ip4-gso). Nothing reaches
// the socket's transmit larger than a chunk (io/wan/tx-oversize stays
// absent), and frames of exactly a chunk (3840 bytes) go through both ways.
// Each case runs in namespaces made here, removed by name in afterAll.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNetns } from '../../src/host/commands.js';
import { CLI } from '../cli-run.js';
import { skipIf } from '../skip.js';
import { background, e2eSkipReason, killChildren, nsExec, uniquePrefix, waitListening } from './suite.js';

const skip = e2eSkipReason();
const CLIENT = '192.0.2.2';
const LAN = '192.0.2.1';
const SERVER = '198.51.100.2';
const WAN = '198.51.100.1';

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

interface Case {
  /** What the lan port is: a TAP at a jumbo MTU, or an offload TAP (super-packets). */
  lan: { mtu: number; offload: boolean };
  /** The afxdp port's MTU (its veth has the same). */
  wanMtu: number;
  tag: string;
}

const CASES: Case[] = [
  { lan: { mtu: 9000, offload: false }, wanMtu: 3826, tag: 'j' },
  { lan: { mtu: 1500, offload: true }, wanMtu: 1500, tag: 'o' },
];

/** A dataplane in `router` with a TAP lan port (client namespace) and an afxdp wan port on a veth (server namespace). */
function startRouter(c: Case, prefix: string, dir: string): { router: string; client: string; server: string; dp: ChildProcess; log: () => string } {
  const router = `${prefix}-router`;
  const client = `${prefix}-client`;
  const server = `${prefix}-server`;
  for (const ns of [router, client, server]) ip(['netns', 'add', ns]);
  ip(['link', 'add', 'wan', 'netns', router, 'mtu', String(c.wanMtu), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', server, 'mtu', String(c.wanMtu)]);
  ip(['-n', router, 'link', 'set', 'wan', 'up']);
  ip(['-n', server, 'addr', 'add', `${SERVER}/24`, 'dev', 'eth0']);
  ip(['-n', server, 'link', 'set', 'eth0', 'up']);
  ip(['-n', server, 'route', 'add', 'default', 'via', WAN]);
  // AF_XDP takes no super-frames and no partial checksums: the server end must send whole, checksummed frames (as the lab's afxdp legs do).
  for (const [ns, dev] of [[router, 'wan'], [server, 'eth0']]) nsExec(ns, ['ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off', 'tx', 'off']);
  const config = join(dir, 'router.yaml');
  writeFileSync(config, `ports:
  - { name: lan, address: ${LAN}/24, mtu: ${c.lan.mtu}, io: { type: tap, netns: ${client}, peerAddress: ${CLIENT}/24${c.lan.offload ? ', offload: true' : ''} } }
  - { name: wan, address: ${WAN}/24, mtu: ${c.wanMtu}, io: { type: afxdp, interface: wan } }
control: { socket: "" }
`);
  const dp = spawn('ip', ['netns', 'exec', router, process.execPath, CLI, 'run', '--config', config, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  dp.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  dp.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  return { router, client, server, dp, log: () => log };
}

/** The counters the dataplane prints on SIGUSR1: name -> packets. */
async function counters(dp: ChildProcess, log: () => string): Promise<Map<string, number>> {
  const before = log().length;
  dp.kill('SIGUSR1');
  let printed = '';
  for (let i = 0; i < 40 && !printed.includes('counters (packets):'); i++) {
    await new Promise((r) => setTimeout(r, 50));
    printed = log().slice(before);
  }
  const section = printed.slice(printed.indexOf('counters (packets):'));
  return new Map([...section.matchAll(/^ {2}(\S+)\s+(\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

/** 2 MB from the client to the server over TCP (nc): the sha256 the server read, and the one sent. */
async function upload(client: string, server: string, dir: string, port: number): Promise<{ got: string; want: string; out: string }> {
  const file = join(dir, `up-${port}.bin`);
  const data = randomBytes(2 * 1024 * 1024);
  writeFileSync(file, data);
  const sink = background(server, ['sh', '-c', `timeout 20 nc -l ${SERVER} ${port} | sha256sum`]);
  await waitListening(server, 't', port);
  const c = nsExec(client, ['sh', '-c', `timeout 20 nc -N ${SERVER} ${port} < ${file}`], 25_000);
  return { got: (await sink.output).split(' ')[0], want: createHash('sha256').update(data).digest('hex'), out: c.out };
}

for (const c of CASES) {
  const what = c.lan.offload ? 'an offload TAP (TCP super-packets)' : `a TAP at MTU ${c.lan.mtu}`;
  describe(`dataplane run: ${what} to an afxdp port at MTU ${c.wanMtu}`, skipIf(skip), () => {
    let prefix = '';
    let names = { router: '', client: '', server: '' };
    let dp: ChildProcess | undefined;
    let log = () => '';
    const dir = mkdtempSync(join(os.tmpdir(), 'dp-axj-'));

    beforeAll(async () => {
      prefix = await uniquePrefix(`dpe-axj${c.tag}`);
      const started = startRouter(c, prefix, dir);
      ({ dp, log } = started);
      names = started;
      // A loaded 2-core machine running other e2e files beside this one can take a while to start the workers.
      // Wait for both port lines, not for "dataplane running": they are written after it, and were not read yet once (CI).
      const wan = /wan: afxdp wan \(1 queue/;
      const lan = new RegExp(`lan: tap .*mtu ${c.lan.mtu}`);
      const up = () => wan.test(log()) && lan.test(log());
      for (let i = 0; i < 500 && !up() && dp.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
      expect(log(), log()).toMatch(wan);
      expect(log(), log()).toMatch(lan);
    }, 40_000);

    afterAll(async () => {
      killChildren();
      if (dp?.pid !== undefined && dp.exitCode === null) {
        dp.kill('SIGTERM');
        await new Promise<void>((res) => dp?.once('exit', () => res()));
      }
      for (const ns of [names.router, names.client, names.server]) if (ns !== '') spawnSync('ip', ['netns', 'del', ns]);
      rmSync(dir, { recursive: true, force: true });
      expect(listNetns().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
      expect(dp?.exitCode, log()).toBe(0);
    }, 30_000);

    if (!c.lan.offload) {
      it(`carries frames of exactly a UMEM chunk's 3840 bytes both ways (ping -s ${c.wanMtu - 28} with DF)`, () => {
        const r = nsExec(names.client, ['ping', '-n', '-c3', '-i0.2', '-W2', '-M', 'do', '-s', String(c.wanMtu - 28), SERVER]);
        expect(r.status, r.out + log()).toBe(0);
        expect(r.out).toMatch(/3 received/);
        expect(r.out).toMatch(new RegExp(`${c.wanMtu - 20} bytes from 198\\.51\\.100\\.2: icmp_seq=\\d+ ttl=63 `));
      });

      it('fragments an 8028-byte datagram (DF clear) to the afxdp port\'s MTU: the server answers, the client gets all of it', async () => {
        nsExec(names.client, ['ip', 'route', 'flush', 'cache']);
        const before = await counters(dp as ChildProcess, log);
        const r = nsExec(names.client, ['ping', '-n', '-c3', '-i0.2', '-W2', '-M', 'dont', '-s', '8000', SERVER]);
        expect(r.status, r.out + log()).toBe(0);
        expect(r.out).toMatch(/8008 bytes from 198\.51\.100\.2: icmp_seq=\d+ ttl=63 /);
        const after = await counters(dp as ChildProcess, log);
        // Three requests of 8028 bytes, each cut in three (3800 + 3800 + 408 data bytes at MTU 3826).
        expect((after.get('ip4-frag/fragments-made') ?? 0) - (before.get('ip4-frag/fragments-made') ?? 0), JSON.stringify([...after])).toBe(9);
      });

      it('answers an 8028-byte datagram with DF set with ICMP fragmentation needed, naming the afxdp port\'s MTU', () => {
        nsExec(names.client, ['ip', 'route', 'flush', 'cache']);
        const r = nsExec(names.client, ['ping', '-n', '-c1', '-W2', '-M', 'do', '-s', '8000', SERVER]);
        expect(r.status).not.toBe(0);
        expect(r.out).toMatch(new RegExp(`From 192\\.0\\.2\\.1 icmp_seq=1 Frag needed and DF set \\(mtu = ${c.wanMtu}\\)`));
      });
    }

    it('carries 2 MB over TCP from the client to the server intact (sha256)', async () => {
      nsExec(names.client, ['ip', 'route', 'flush', 'cache']);
      const before = await counters(dp as ChildProcess, log);
      const r = await upload(names.client, names.server, dir, 5001);
      expect(r.got, r.out + log()).toBe(r.want);
      const after = await counters(dp as ChildProcess, log);
      // With offload the client's kernel sent super-packets, which ip4-gso cut to the afxdp port's MTU.
      if (c.lan.offload) expect((after.get('ip4-gso/segments-made') ?? 0) - (before.get('ip4-gso/segments-made') ?? 0), JSON.stringify([...after])).toBeGreaterThan(0);
    }, 30_000);

    it('never hands the afxdp socket a frame longer than a chunk (no io/wan/tx-oversize, no io/wan/tx-rejected)', async () => {
      const now = await counters(dp as ChildProcess, log);
      expect(now.get('io/wan/tx-oversize'), JSON.stringify([...now])).toBeUndefined();
      expect(now.get('io/wan/tx-rejected'), JSON.stringify([...now])).toBeUndefined();
      expect(now.get('io/wan/rx-kernel-drops'), JSON.stringify([...now])).toBeUndefined();
    });
  });
}
