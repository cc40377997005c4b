// The lab topology: three network namespaces around one router.
//
//   <prefix>-client            <prefix>-router              <prefix>-server
//   eth0 192.0.2.10/24 ---- lan 192.0.2.1/24  wan 198.51.100.1/24 ---- eth0 198.51.100.10/24
//
// Ports are TAP devices (the dataplane creates them in the router namespace
// and moves their kernel side into client/server, like a CNI plugin) or veth
// pairs read with AF_PACKET or AF_XDP (the router ends carry no kernel
// address; for AF_XDP each veth has one queue per worker). The
// router is the dataplane (`dataplane run` inside <prefix>-router), the Linux
// kernel (ip_forward in the router namespace: a reference and a stand-in), or
// nothing (the benchmarks start their own forwarder on the veth ends).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ip, listNetns, nsRun, nsTry, sysctl, tryRun } from '../host/commands.js';
import type { Tool } from '../host/tools.js';
import { LabError } from './lab-error.js';
import { natConfigYaml, type LabNat } from './lab-nat.js';

export type LabPorts = 'tap' | 'afpacket' | 'afxdp';
export type LabEngine = 'dataplane' | 'kernel' | 'none';

export interface LabOptions {
  prefix: string;
  ports: LabPorts;
  engine: LabEngine;
  workers: number;
  /** MTU of the router's server-side port (wan); default 1500. */
  wanMtu?: number;
  /**
   * TCP crosses the dataplane in 64 KB super-packets. TAP ports: `offload:
   * true` on each. AF_PACKET ports: the veth pairs keep their default
   * offloads (TSO/GSO/GRO and checksum offload on, as Docker leaves a
   * container's eth0) and the dataplane takes super-frames with their
   * virtio_net_hdr; without it the lab turns those offloads off on both ends.
   * AF_XDP ports: the veth pairs keep TX checksum offload on, the ports
   * attach with `xdpMode: native` (which turns GSO off on the peer), and the
   * dataplane completes the partial checksums it receives.
   */
  offload?: boolean;
  /** AF_PACKET ports: the receive ring's layout (`io.ring`); default the config's (v2, none with offload). */
  ring?: 'v2' | 'v3' | 'none';
  /** AF_XDP ports: UMEM frames per socket (`io.frames`); default the config's. */
  xskFrames?: number;
  /** The dataplane's workers poll without sleeping (`run --busy-poll`). */
  busyPoll?: boolean;
  /** The dataplane's workers run SCHED_FIFO at this priority (`run --realtime N`). */
  realtime?: number;
  /** The workers' spin window after a frame (`run --spin-us N`; default: the dataplane's). */
  spinUs?: number;
  /** The workers' longest receive-coalescing nap (`run --coalesce-us N`; default: the dataplane's). */
  coalesceUs?: number;
  /** The dataplane's workers are pinned to these CPUs (`run --cpus LIST`, e.g. '1'). */
  cpus?: string;
  /** The dataplane traces packets (`run --trace FILE [--trace-filter EXPR] [--trace-count N]`). */
  trace?: { file: string; filter?: string; count?: number };
  /**
   * NAT mode (lab-nat.ts): the router masquerades what leaves wan and
   * forwards ports to the client; the server gets a second address and no
   * route beyond its subnet. Engines dataplane and kernel only.
   */
  nat?: LabNat;
  /**
   * YAML appended to the dataplane's config as it is (top-level sections such
   * as `endpoints:` and `firewall:`; the firewall benchmark's rule sets).
   * Engine dataplane only; not combined with `nat`, which writes `conntrack:`.
   */
  extraConfig?: string;
}

export const LAB = {
  client: { addr: '192.0.2.10', cidr: '192.0.2.10/24' },
  server: { addr: '198.51.100.10', cidr: '198.51.100.10/24' },
  lan: { name: 'lan', addr: '192.0.2.1', cidr: '192.0.2.1/24' },
  wan: { name: 'wan', addr: '198.51.100.1', cidr: '198.51.100.1/24' },
  /** The interface name of client and server on their side. */
  hostIf: 'eth0',
  /** An address no route covers: the router answers net unreachable. */
  unrouted: '203.0.113.99',
} as const;

export interface LabNames {
  router: string;
  client: string;
  server: string;
}

const PREFIX_RE = /^[a-z0-9][a-z0-9-]{0,30}$/;

export function checkPrefix(prefix: string): string | undefined {
  return PREFIX_RE.test(prefix) ? undefined : `--prefix must be 1-31 lowercase letters, digits or "-" (got '${prefix}')`;
}

export function labNames(prefix: string): LabNames {
  return { router: `${prefix}-router`, client: `${prefix}-client`, server: `${prefix}-server` };
}

/** The namespaces of this prefix that exist now. */
export function existingNamespaces(prefix: string): string[] {
  const names = Object.values(labNames(prefix));
  return listNetns().filter((n) => names.includes(n));
}

/** The router config the lab runs `dataplane run` with (a normal router config). */
export function labConfigYaml(o: LabOptions, controlSocket?: string): string {
  const n = labNames(o.prefix);
  const io = (port: 'lan' | 'wan'): string => {
    if (o.ports === 'afpacket') return `{ type: afpacket, interface: ${port}${o.offload === true ? '' : ', offload: false'}${o.ring === undefined ? '' : `, ring: ${o.ring}`} }`;
    if (o.ports === 'afxdp') return `{ type: afxdp, interface: ${port}${o.offload === true ? ', xdpMode: native' : ''}${o.xskFrames === undefined ? '' : `, frames: ${o.xskFrames}`} }`;
    const [ns, peer] = port === 'lan' ? [n.client, LAB.client.cidr] : [n.server, LAB.server.cidr];
    return `{ type: tap, netns: ${ns}, peerAddress: ${peer}, peerName: ${LAB.hostIf}${o.offload === true ? ', offload: true' : ''} }`;
  };
  const mtu = o.wanMtu !== undefined && o.wanMtu !== 1500 ? `\n    mtu: ${o.wanMtu}` : '';
  return `# dataplane lab "${o.prefix}" (${o.ports} ports), written by \`dataplane lab up\`.
# client ${LAB.client.addr} (netns ${n.client}) -- lan [dataplane in ${n.router}] wan -- server ${LAB.server.addr} (netns ${n.server})
ports:
  - name: lan
    address: ${LAB.lan.cidr}
    io: ${io('lan')}
  - name: wan
    address: ${LAB.wan.cidr}${mtu}
    io: ${io('wan')}
icmp: { ratePerSecond: 1000, burst: 100 }
${controlSocket === undefined ? '' : `control: { socket: ${controlSocket} }\n`}${o.nat === undefined ? '' : natConfigYaml(o.nat)}${o.extraConfig ?? ''}`;
}

/** dist/src/cli/main.js of this project, whether this module runs from dist/ or from src/ (vitest). */
export function cliPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const direct = join(here, '..', 'cli', 'main.js');
  if (here.split(/[\\/]/).includes('dist') && existsSync(direct)) return direct;
  let dir = here;
  for (;;) {
    const candidate = join(dir, 'dist', 'src', 'cli', 'main.js');
    if (existsSync(join(dir, 'package.json')) && existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new LabError('cannot find dist/src/cli/main.js: run `npm run build` first');
    dir = parent;
  }
}

function newNetns(name: string): void {
  tryRun('ip', ['netns', 'del', name]);
  ip('netns', 'add', name);
  nsRun(name, 'ip', ['link', 'set', 'lo', 'up']);
  // No IPv6: no router solicitations, MLD or DAD frames in the lab's traffic.
  sysctl(name, 'net.ipv6.conf.all.disable_ipv6', '1');
  sysctl(name, 'net.ipv6.conf.default.disable_ipv6', '1');
}

function offloadsOff(ns: string, dev: string): void {
  // AF_PACKET sees (and drops) GSO/GRO super-frames larger than the MTU; TSO
  // and checksum offload make the kernel hand over unfinished packets.
  nsRun(ns, 'ethtool', ['-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
  nsTry(ns, 'ethtool', ['-K', dev, 'tx', 'off']);
}

/**
 * The veth ends of AF_PACKET and AF_XDP ports get their offloads turned
 * off, unless the dataplane takes them (--offload) or the kernel routes.
 */
function turnsOffloadsOff(o: LabOptions): boolean {
  if (o.ports === 'afxdp') return o.engine !== 'kernel' && o.offload !== true;
  return o.ports === 'afpacket' && o.engine !== 'kernel' && !(o.offload === true && o.engine === 'dataplane');
}

/** The programs buildNamespaces runs for these options (checked before anything is made). */
export function namespaceTools(o: LabOptions): Tool[] {
  const tools: Tool[] = turnsOffloadsOff(o) ? ['ip', 'sysctl', 'ethtool'] : ['ip', 'sysctl'];
  if (o.nat !== undefined && o.engine === 'kernel') tools.push('nft');
  return tools;
}

/**
 * One veth pair: `routerEnd` in the router namespace, eth0 in `hostNs` with
 * `hostCidr` and a default route via `gw` (none when undefined: the NAT
 * lab's server). Offloads stay as the kernel made them when `keepOffloads`
 * (see turnsOffloadsOff).
 */
function vethLeg(n: LabNames, routerEnd: string, hostNs: string, hostCidr: string, gw: string | undefined, routerCidr: string | undefined, mtu: number, keepOffloads: boolean, queues?: number): void {
  // A veth delivers a frame on the receive queue of the index its peer sent it on: both ends get `queues`.
  const q = queues === undefined ? [] : ['numtxqueues', String(queues), 'numrxqueues', String(queues)];
  ip('link', 'add', 'name', routerEnd, 'netns', n.router, ...q, 'type', 'veth', 'peer', 'name', LAB.hostIf, 'netns', hostNs, ...q);
  nsRun(n.router, 'ip', ['link', 'set', 'dev', routerEnd, 'mtu', String(mtu)]);
  if (routerCidr !== undefined) nsRun(n.router, 'ip', ['addr', 'add', routerCidr, 'dev', routerEnd]);
  nsRun(n.router, 'ip', ['link', 'set', 'dev', routerEnd, 'up']);
  // One link, one MTU: a host end left at 1500 behind a smaller router end
  // would send frames the veth drops without a word (no ICMP, no counter).
  nsRun(hostNs, 'ip', ['link', 'set', 'dev', LAB.hostIf, 'mtu', String(mtu)]);
  nsRun(hostNs, 'ip', ['addr', 'add', hostCidr, 'dev', LAB.hostIf]);
  nsRun(hostNs, 'ip', ['link', 'set', 'dev', LAB.hostIf, 'up']);
  if (gw !== undefined) nsRun(hostNs, 'ip', ['route', 'add', 'default', 'via', gw]);
  if (!keepOffloads) {
    offloadsOff(n.router, routerEnd);
    offloadsOff(hostNs, LAB.hostIf);
  }
}

/**
 * Creates the namespaces (and, for veth ports, the links). TAP ports are left
 * to the dataplane, which creates them when it starts. The kernel engine
 * needs veth pairs with addresses on the router ends.
 */
export function buildNamespaces(o: LabOptions): LabNames {
  const n = labNames(o.prefix);
  if (o.engine === 'kernel' && o.ports !== 'afpacket') throw new LabError('the kernel engine forwards between veth pairs: use --ports afpacket with it');
  newNetns(n.router);
  newNetns(n.client);
  newNetns(n.server);
  if (o.ports === 'afpacket' || o.ports === 'afxdp') {
    const kernel = o.engine === 'kernel';
    const keep = !turnsOffloadsOff(o);
    const queues = o.ports === 'afxdp' ? Math.max(1, o.workers) : undefined;
    vethLeg(n, LAB.lan.name, n.client, LAB.client.cidr, LAB.lan.addr, kernel ? LAB.lan.cidr : undefined, 1500, keep, queues);
    vethLeg(n, LAB.wan.name, n.server, LAB.server.cidr, o.nat === undefined ? LAB.wan.addr : undefined, kernel ? LAB.wan.cidr : undefined, o.wanMtu ?? 1500, keep, queues);
  }
  // The router namespace forwards only when the kernel is the router.
  sysctl(n.router, 'net.ipv4.ip_forward', o.engine === 'kernel' ? '1' : '0');
  return n;
}

/** Deletes this prefix's namespaces (their veth ends go with them). */
export function deleteNamespaces(prefix: string): string[] {
  const gone: string[] = [];
  for (const ns of existingNamespaces(prefix)) {
    if (tryRun('ip', ['netns', 'del', ns]).status === 0) gone.push(ns);
  }
  return gone;
}

/**
 * `ip -br addr` of each namespace, for status and the demo. `routerRunning`:
 * a namespace without addresses is then explained by the dataplane holding
 * the ports (TAP ports vanish with it, AF_PACKET router ends carry none).
 */
export function describeAddresses(prefix: string, routerRunning = true): string {
  const out: string[] = [];
  for (const ns of existingNamespaces(prefix)) {
    const r = nsTry(ns, 'ip', ['-br', '-4', 'addr']);
    const lines = r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('lo '))
      .map((l) => `    ${l.replace(/\s+/g, ' ').trim()}`);
    const none = routerRunning ? ' (no addressed interfaces: the dataplane owns its ports)' : ' (no addressed interfaces)';
    out.push(`  ${ns}:${lines.length === 0 ? none : ''}`, ...lines);
  }
  return out.join('\n');
}

/** One ping from `ns`; true when a reply came back within `waitSec`. */
export function pingOnce(ns: string, addr: string, waitSec = 1): boolean {
  return nsTry(ns, 'ping', ['-n', '-q', '-c1', `-W${waitSec}`, addr], { timeoutMs: (waitSec + 2) * 1000 }).status === 0;
}
