// A port with a jumbo MTU carries jumbo frames live, as in replay. The
// workers' packet slots were 2048 bytes whatever the MTU (unless a port had
// offload), so a 9000-byte frame was read cut short and dropped as
// ip4-input/bad-total-length: `ping -s 8000 -M do` lost every packet while
// the config said mtu 9000. Now the slots are sized by the largest port MTU.
// Each case runs in namespaces made here, removed by name in afterAll.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNetns } from '../../src/host/commands.js';
import { CLI } from '../cli-run.js';
import { skipIf } from '../skip.js';
import { e2eSkipReason, nsExec, uniquePrefix } from './suite.js';

const skip = e2eSkipReason();
const MTU = 9000;

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

/** One side of the router as `ports:` has it, the host namespace `ns` at `host` behind it. */
type Leg = { name: string; address: string; host: string; ns: string };

/** The port's `io:` (and for afpacket, a veth pair made here, both ends at the jumbo MTU). */
function portIo(kind: 'tap' | 'afpacket', leg: Leg, router: string): string {
  if (kind === 'tap') return `{ type: tap, netns: ${leg.ns}, peerAddress: ${leg.host}/24 }`;
  ip(['link', 'add', leg.name, 'netns', router, 'mtu', String(MTU), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', leg.ns, 'mtu', String(MTU)]);
  ip(['-n', router, 'link', 'set', leg.name, 'up']);
  ip(['-n', leg.ns, 'addr', 'add', `${leg.host}/24`, 'dev', 'eth0']);
  ip(['-n', leg.ns, 'link', 'set', 'eth0', 'up']);
  ip(['-n', leg.ns, 'route', 'add', 'default', 'via', leg.address]);
  return `{ type: afpacket, interface: ${leg.name}, offload: false }`;
}

for (const kind of ['tap', 'afpacket'] as const) {
  describe(`dataplane run with ${kind} ports of MTU ${MTU}`, skipIf(skip), () => {
    let prefix = '';
    let router = '';
    let client: Leg;
    let server: Leg;
    let dp: ChildProcess | undefined;
    let log = '';
    const dir = mkdtempSync(join(os.tmpdir(), 'dp-jumbo-'));

    beforeAll(async () => {
      prefix = await uniquePrefix(`dpe-jumbo-${kind === 'tap' ? 't' : 'a'}`);
      router = `${prefix}-router`;
      client = { name: 'lan', address: '192.0.2.1', host: '192.0.2.2', ns: `${prefix}-client` };
      server = { name: 'wan', address: '198.51.100.1', host: '198.51.100.2', ns: `${prefix}-server` };
      for (const ns of [router, client.ns, server.ns]) ip(['netns', 'add', ns]);
      const ports = [client, server].map((l) => `  - { name: ${l.name}, address: ${l.address}/24, mtu: ${MTU}, io: ${portIo(kind, l, router)} }`);
      const config = join(dir, 'router.yaml');
      writeFileSync(config, `ports:\n${ports.join('\n')}\ncontrol: { socket: "" }\n`);
      dp = spawn('ip', ['netns', 'exec', router, process.execPath, CLI, 'run', '--config', config, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      dp.stdout?.on('data', (d: Buffer) => (log += d.toString()));
      dp.stderr?.on('data', (d: Buffer) => (log += d.toString()));
      for (let i = 0; i < 200 && !/^ {2}wan: /m.test(log) && dp.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
      expect(log).toMatch(new RegExp(`wan: ${kind} .* mtu ${MTU}`));
    }, 30_000);

    afterAll(async () => {
      if (dp?.pid !== undefined && dp.exitCode === null) {
        dp.kill('SIGTERM');
        await new Promise<void>((res) => dp?.once('exit', () => res()));
      }
      for (const ns of [router, client.ns, server.ns]) spawnSync('ip', ['netns', 'del', ns]);
      rmSync(dir, { recursive: true, force: true });
      expect(listNetns().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
      expect(dp?.exitCode, log).toBe(0);
    }, 30_000);

    it('forwards 8000-byte pings unfragmented (DF) both ways, and answers one itself', () => {
      const through = nsExec(client.ns, ['ping', '-n', '-c3', '-i0.2', '-W2', '-M', 'do', '-s', '8000', server.host]);
      expect(through.status, through.out + log).toBe(0);
      expect(through.out).toMatch(/3 received/);
      expect(through.out).toMatch(/8008 bytes from 198\.51\.100\.2: icmp_seq=\d+ ttl=63 /);
      const local = nsExec(client.ns, ['ping', '-n', '-c2', '-i0.2', '-W2', '-M', 'do', '-s', '8900', client.address]);
      expect(local.status, local.out + log).toBe(0);
      expect(local.out).toMatch(/8908 bytes from 192\.0\.2\.1: icmp_seq=\d+ ttl=64 /);
    });
  });
}
