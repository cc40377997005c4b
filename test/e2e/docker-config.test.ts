// docker/compose.yaml and docker/router.yaml: the compose CLI validates the
// file (no engine needed), the router config it mounts loads with the
// project's loader and agrees with the compose addresses, and the dataplane
// service's healthcheck (which the client and server wait for) is run for
// real against `dataplane run` with that config in a namespace with eth0
// and eth1, as the container has.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ip, listNetns, tryRun } from '../../src/host/commands.js';
import { missingToolsMessage } from '../../src/host/tools.js';
import { labUnavailable } from '../../src/lab/lab-error.js';
import { ipv4ToString } from '../../src/wire/address.js';
import { CLI } from '../cli-run.js';
import { skipIf } from '../skip.js';

const DOCKER = join(import.meta.dirname, '..', '..', 'docker');
const COMPOSE = join(DOCKER, 'compose.yaml');

interface Service {
  cap_add?: string[];
  devices?: string[];
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string }>;
  command?: string | string[];
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number; start_period?: string };
  depends_on?: Record<string, { condition?: string }> | string[];
}
interface Compose {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean; ipam: { config: { subnet: string; gateway: string }[] } }>;
}

/** The compose CLI on this machine: `docker compose` (v2 plugin) or `docker-compose` (v1), or undefined. */
function composeCli(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return undefined;
}

const cli = composeCli();
const noCli = cli === undefined ? `neither \`docker compose\` nor docker-compose works here (${missingToolsMessage(['docker-compose']) ?? 'docker-compose version fails'})` : undefined;

describe('compose CLI validation', skipIf(noCli), () => {
  it('`compose config` accepts docker/compose.yaml', () => {
    const [cmd, ...pre] = cli ?? [];
    const r = spawnSync(cmd, [...pre, '-f', COMPOSE, 'config', '-q'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('docker/compose.yaml and docker/router.yaml', () => {
  const compose = parse(readFileSync(COMPOSE, 'utf8')) as Compose;

  it('has client, dataplane and server on two internal networks with static addresses', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['client', 'dataplane', 'server']);
    expect(compose.networks.clientnet.ipam.config[0].subnet).toBe('192.0.2.0/24');
    expect(compose.networks.servernet.ipam.config[0].subnet).toBe('198.51.100.0/24');
    for (const n of Object.values(compose.networks)) expect(n.internal).toBe(true);
    expect(compose.services.client.networks?.clientnet.ipv4_address).toBe('192.0.2.10');
    expect(compose.services.server.networks?.servernet.ipv4_address).toBe('198.51.100.10');
    const dp = compose.services.dataplane;
    expect(dp.cap_add).toContain('NET_ADMIN');
    expect(dp.devices?.[0]).toMatch(/^\/dev\/net\/tun/);
    expect(String(dp.command)).toMatch(/ip addr flush dev/);
    // Offloads stay as Docker made them (the ports take them; the peers' TSO would not stop anyway).
    expect(String(dp.command)).not.toMatch(/ethtool/);
    expect(String(compose.services.client.command)).toMatch(/ip route replace default via 192\.0\.2\.1/);
    expect(String(compose.services.server.command)).toMatch(/ip route replace default via 198\.51\.100\.1/);
  });

  it('has a healthcheck on the dataplane that the client and server wait for', () => {
    const hc = compose.services.dataplane.healthcheck;
    expect(hc?.test[0]).toBe('CMD-SHELL');
    expect(hc?.test[1]).toMatch(/\/proc\/net\/packet/);
    for (const s of ['client', 'server']) expect(compose.services[s].depends_on, s).toEqual({ dataplane: { condition: 'service_healthy' } });
  });

  it('mounts a router config that loads and matches the compose addresses', () => {
    const mount = compose.services.dataplane.volumes?.find((v) => v.includes('/etc/dataplane/router.yaml'));
    expect(mount).toBeDefined();
    const file = join(DOCKER, (mount ?? '').split(':')[0]);
    const config = parseConfig(readFileSync(file, 'utf8'), file, DOCKER);
    const dpNets = compose.services.dataplane.networks ?? {};
    expect(config.ports.map((p) => ipv4ToString(p.address))).toEqual([dpNets.clientnet.ipv4_address, dpNets.servernet.ipv4_address]);
    // AF_PACKET ports that take the Docker veths' offloads (TSO/GSO super-frames) as they come.
    expect(config.ports.map((p) => p.io)).toEqual([
      { type: 'afpacket', interface: 'eth0', offload: true },
      { type: 'afpacket', interface: 'eth1', offload: true },
    ]);
    // The Docker bridges must not take the dataplane's addresses.
    expect(compose.networks.clientnet.ipam.config[0].gateway).not.toBe(dpNets.clientnet.ipv4_address);
    expect(compose.networks.servernet.ipam.config[0].gateway).not.toBe(dpNets.servernet.ipv4_address);
  });
});

const hcSkip = labUnavailable();

/**
 * The healthcheck's command as the container's shell gets it: compose turns
 * `$$` into `$`. Run in the router namespace, so /proc/net and /sys/class/net
 * are that namespace's.
 */
function healthy(ns: string): boolean {
  const compose = parse(readFileSync(COMPOSE, 'utf8')) as Compose;
  const cmd = (compose.services.dataplane.healthcheck?.test[1] ?? 'exit 2').replaceAll('$$', '$');
  return spawnSync('ip', ['netns', 'exec', ns, 'sh', '-c', cmd], { stdio: 'ignore', timeout: 5000 }).status === 0;
}

describe('the dataplane healthcheck, run against `dataplane run` with docker/router.yaml', skipIf(hcSkip), () => {
  const tag = process.pid.toString(36);
  const router = `dp-hc-${tag}-r`;
  const peers = `dp-hc-${tag}-p`;

  beforeAll(() => {
    // eth0 and eth1 as in the container (veths; their other ends in a second namespace).
    for (const ns of [router, peers]) {
      tryRun('ip', ['netns', 'del', ns]);
      ip('netns', 'add', ns);
    }
    for (const [dev, peer] of [['eth0', 'p0'], ['eth1', 'p1']]) {
      ip('link', 'add', dev, 'netns', router, 'type', 'veth', 'peer', 'name', peer, 'netns', peers);
      ip('-n', router, 'link', 'set', dev, 'up');
      ip('-n', peers, 'link', 'set', peer, 'up');
    }
  });

  afterAll(() => {
    for (const ns of [router, peers]) tryRun('ip', ['netns', 'del', ns]);
    expect(listNetns().filter((n) => n.startsWith(`dp-hc-${tag}-`))).toEqual([]);
  });

  /** Runs `dataplane run --config CONFIG` in the router namespace while `body` runs, then SIGTERM. */
  async function whileRunning(config: string, body: (log: () => string, running: () => boolean) => Promise<void>): Promise<void> {
    const dp = spawn('ip', ['netns', 'exec', router, process.execPath, CLI, 'run', '--config', config, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    dp.stdout.on('data', (d: Buffer) => (log += d.toString()));
    dp.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise((res) => dp.once('exit', res));
    try {
      await body(() => log, () => dp.exitCode === null);
    } finally {
      if (dp.exitCode === null && dp.pid !== undefined) process.kill(dp.pid, 'SIGTERM');
      await exited;
    }
  }

  it('is unhealthy before the dataplane opens its ports, healthy while it runs, unhealthy once it stopped', async () => {
    expect(healthy(router)).toBe(false);
    await whileRunning(join(DOCKER, 'router.yaml'), async (log, running) => {
      let ok = false;
      for (let i = 0; i < 100 && !ok && running(); i++) {
        ok = healthy(router);
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ok, log()).toBe(true);
    });
    expect(healthy(router)).toBe(false);
  }, 30_000);

  it('is unhealthy while only eth0 is a port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dp-hc-'));
    try {
      const config = join(dir, 'eth0-only.yaml');
      writeFileSync(config, 'ports:\n  - { name: lan, address: 192.0.2.1/24, io: { type: afpacket, interface: eth0 } }\n');
      await whileRunning(config, async (log, running) => {
        for (let i = 0; i < 100 && running() && !log().includes('dataplane running'); i++) await new Promise((r) => setTimeout(r, 50));
        expect(log()).toContain('dataplane running');
        expect(healthy(router)).toBe(false);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
