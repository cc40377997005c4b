// Throwaway network namespaces and links for the I/O tests. Names carry the
// test process's pid, so parallel runs never collide and a run can sweep the
// namespaces that crashed runs left behind. Only namespaces and links made
// here are touched; the host namespace gets at most an unaddressed link.
import { existsSync } from 'node:fs';
import { ip, listNetns, nsSpawn, pidAlive, sysctl, tryRun } from '../../src/host/commands.js';
import { missingToolsMessage, type Tool } from '../../src/host/tools.js';
import { addonPath, loadNative } from '../../src/io/native.js';

/**
 * Why the root-only tests cannot run here, or undefined. `tools`: what they
 * run besides ip and sysctl (a missing one is named with its package).
 */
export function rootSkipReason(needsTun: boolean, tools: readonly Tool[] = []): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, TAP, AF_PACKET)';
  if (needsTun && !existsSync('/dev/net/tun')) return 'no /dev/net/tun (load the tun module / pass --device /dev/net/tun to docker)';
  return missingToolsMessage(['ip', 'sysctl', ...tools]);
}

/** Why the addon cannot be used here (not built, stale), or undefined. */
export function nativeSkipReason(): string | undefined {
  try {
    loadNative();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const PREFIX = 'dp-io-';

export class Lab {
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];
  private readonly tag = process.pid.toString(36);

  constructor() {
    // Namespaces of earlier runs that died before their afterAll.
    for (const name of listNetns()) {
      const m = /^dp-io-(\d+)-/.exec(name);
      if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) tryRun('ip', ['netns', 'del', name]);
    }
  }

  /** A new namespace dp-io-<pid>-<suffix>, IPv6 off (no stray ND/MLD frames). */
  netns(suffix: string): string {
    const name = `${PREFIX}${process.pid}-${suffix}`;
    tryRun('ip', ['netns', 'del', name]);
    ip('netns', 'add', name);
    this.namespaces.push(name);
    sysctl(name, 'net.ipv6.conf.all.disable_ipv6', '1');
    sysctl(name, 'net.ipv6.conf.default.disable_ipv6', '1');
    return name;
  }

  /** An interface name unique to this process (at most 15 bytes). */
  ifname(suffix: string): string {
    return `dp${this.tag}${suffix}`.slice(0, 15);
  }

  /**
   * A veth pair: `host` stays in this namespace, up, with no address, no
   * IPv6 and no forwarding; `peer` goes into `ns` with `cidr`, up.
   */
  veth(host: string, peer: string, ns: string, cidr: string): void {
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
    this.links.push(host);
    ip('link', 'set', 'dev', host, 'addrgenmode', 'none');
    sysctl(undefined, `net.ipv4.conf.${host}.forwarding`, '0');
    ip('link', 'set', 'dev', peer, 'netns', ns);
    ip('-n', ns, 'addr', 'add', cidr, 'dev', peer);
    ip('-n', ns, 'link', 'set', 'dev', peer, 'up');
    ip('link', 'set', 'dev', host, 'up');
  }

  cleanup(): void {
    for (const l of this.links.splice(0)) tryRun('ip', ['link', 'del', l]);
    for (const ns of this.namespaces.splice(0)) tryRun('ip', ['netns', 'del', ns]);
  }
}

/**
 * Runs `ping -c1` in `ns`; resolves with its exit code (0: a reply came back)
 * and what it printed, which says so when ping itself is missing.
 */
export function pingFrom(ns: string, addr: string, waitSec = 2): { done: () => boolean; exit: Promise<number>; output: () => string } {
  const child = nsSpawn(ns, 'ping', ['-n', '-c1', `-W${waitSec}`, addr], { stdio: ['ignore', 'pipe', 'pipe'] });
  let finished = false;
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number>((res) => {
    child.on('close', (code) => {
      finished = true;
      res(code ?? -1);
    });
    child.on('error', (e) => {
      finished = true;
      output += String(e);
      res(-1);
    });
  });
  return { done: () => finished, exit, output: () => `ping from ${ns}: ${output.trim() || '(no output)'}` };
}

/**
 * Sends `count` UDP datagrams from `ns` to addr:port, over `flows` source
 * ports, each carrying "dp-io <k>". Resolves when the sender exits.
 */
export function udpFrom(ns: string, addr: string, port: number, count: number, flows: number): Promise<void> {
  const script = `
    const dgram = require('node:dgram');
    const socks = [];
    let open = 0;
    const ready = () => { if (++open < ${flows}) return; for (let k = 0; k < ${count}; k++) socks[k % ${flows}].send('dp-io ' + k, ${port}, '${addr}'); setTimeout(() => process.exit(0), 200); };
    for (let f = 0; f < ${flows}; f++) { const s = dgram.createSocket('udp4'); socks.push(s); s.bind(0, ready); }`;
  return new Promise((res, rej) => {
    const child = nsSpawn(ns, process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`udp sender exited ${code}: ${err}`))));
  });
}

/** Sends raw frames out of `ifname` inside `ns` (an AF_PACKET socket of the addon, in a child process). */
export function sendRawFrom(ns: string, ifname: string, frames: readonly Uint8Array[]): Promise<void> {
  const hex = frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.length).toString('hex'));
  const script = `
    const io = require(${JSON.stringify(addonPath())});
    const frames = ${JSON.stringify(hex)}.map((h) => Buffer.from(h, 'hex'));
    const arena = new Uint8Array(frames.length * 2048);
    const off = new Uint32Array(frames.length), len = new Uint32Array(frames.length);
    frames.forEach((f, i) => { off[i] = i * 2048; len[i] = f.length; arena.set(f, off[i]); });
    const h = io.packetOpen(${JSON.stringify(ifname)}, { blockCount: 2, blockSize: 4096 });
    if (io.packetTxBurst(h, arena, off, len, frames.length) !== frames.length) process.exit(3);
    io.packetClose(h);`;
  return new Promise((res, rej) => {
    const child = nsSpawn(ns, process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`raw sender exited ${code}: ${err}`))));
  });
}

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
