// docker/compose.yaml and docker/router.yaml: the compose CLI validates the
// file (no engine needed), and the router config it mounts loads with the
// project's loader and agrees with the compose addresses.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ipv4ToString } from '../../src/wire/address.js';

const DOCKER = join(import.meta.dirname, '..', '..', 'docker');
const COMPOSE = join(DOCKER, 'compose.yaml');

interface Service {
  cap_add?: string[];
  devices?: string[];
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string }>;
  command?: string | string[];
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

describe.skipIf(cli === undefined)(`compose CLI validation${cli === undefined ? ' (skipped: neither `docker compose` nor `docker-compose` is installed)' : ''}`, () => {
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
