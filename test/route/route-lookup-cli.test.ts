// `dataplane route lookup` against the Linux kernel's FIB: a few thousand
// routes of the real RouteViews table (every route type) go into a router
// config and into a throwaway network namespace; then the command and `ip
// route get` answer for the same addresses, most inside those routes, and
// must agree. Only the namespace made here is touched; afterAll deletes it.
// And with the whole table loaded, a connected subnet keeps its addresses
// (the table carries 192.0.2.0/24).
import { tryRun, type CommandResult } from '../../src/host/commands.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { prng, readRouteViews, ROUTEVIEWS_FILE } from '../../bench/route/table.js';
import { ipv4ToString } from '../../src/wire/address.js';
import { dataplane } from '../cli-run.js';
import { skipIf } from '../skip.js';
import { existsSync } from 'node:fs';

const NS = `dp-rl-test-${process.pid}`;
const dir = mkdtempSync(join(os.tmpdir(), 'dp-route-lookup-'));

function ip(args: string[], input?: string): CommandResult {
  return tryRun('ip', args, { input, timeoutMs: 30_000 });
}

const skip = process.getuid?.() !== 0 ? 'needs root to create a network namespace' : !existsSync(ROUTEVIEWS_FILE) ? `needs ${ROUTEVIEWS_FILE}` : undefined;

afterAll(() => {
  if (!skip) ip(['netns', 'del', NS]);
  rmSync(dir, { recursive: true, force: true });
});

/** The kernel's answer in our words: "via G dev P", "dev P", "local", "blackhole", "unreachable", "prohibit" or "none". */
function kernelVerdict(addr: string): string {
  const r = ip(['-n', NS, 'route', 'get', addr]);
  if (r.status !== 0) {
    if (r.stderr.includes('Invalid argument')) return 'blackhole';
    if (r.stderr.includes('No route to host')) return 'unreachable';
    if (r.stderr.includes('Permission denied')) return 'prohibit';
    if (r.stderr.includes('Network is unreachable')) return 'none';
    return `error: ${r.stderr.trim()}`;
  }
  const line = r.stdout.split('\n')[0];
  if (line.startsWith('local ')) return 'local';
  const via = / via (\S+) dev (\S+)/.exec(line);
  if (via) return `via ${via[1]} dev ${via[2]}`;
  const dev = / dev (\S+)/.exec(line);
  return dev ? `dev ${dev[1]}` : `unparsed: ${line}`;
}

/** Our answer (a `route lookup` line) in the same words. */
function ourVerdict(line: string): string {
  const parts = line.split(' ');
  if (parts[1] === 'unreachable') return 'none';
  const rest = parts.slice(2).join(' ');
  if (rest.startsWith('local ')) return 'local';
  return rest;
}

describe('dataplane route lookup vs the kernel FIB', skipIf(skip), () => {
  it('answers like `ip route get` for addresses in and around 3000 real routes', () => {
    const table = readRouteViews();
    const next = prng(1234);
    const rnd = () => next() / 2 ** 32;
    const step = Math.floor(table.count / 3000);
    const routes: string[] = [];
    const kernel: string[] = [];
    const chosen: { prefix: number; len: number }[] = [];
    for (let i = 0; i < table.count && routes.length < 3000; i += step) {
      const prefix = table.prefix[i] >>> 0;
      const len = table.len[i];
      const p = `${ipv4ToString(prefix)}/${len}`;
      const kind = i % 7;
      if (kind <= 2) {
        routes.push(`${p} via 198.51.100.2`);
        kernel.push(`route add ${p} via 198.51.100.2`);
      } else if (kind <= 4) {
        routes.push(`${p} via 203.0.113.2 dev east`);
        kernel.push(`route add ${p} via 203.0.113.2 dev east`);
      } else if (kind === 5) {
        const t = ['blackhole', 'unreachable', 'prohibit'][(i >> 3) % 3];
        routes.push(`${t} ${p}`);
        kernel.push(`route add ${t} ${p}`);
      } else {
        routes.push(`${p} dev west`);
        kernel.push(`route add ${p} dev west`);
      }
      chosen.push({ prefix, len });
    }
    writeFileSync(join(dir, 'routes.txt'), routes.join('\n') + '\n');
    writeFileSync(join(dir, 'router.yaml'), 'ports:\n  - { name: west, address: 198.51.100.1/24 }\n  - { name: east, address: 203.0.113.1/24 }\nroutesFile: routes.txt\n');

    expect(ip(['netns', 'add', NS]).status).toBe(0);
    const setup = [
      'link add west type veth peer name west-peer',
      'link add east type veth peer name east-peer',
      'link set west up',
      'link set west-peer up',
      'link set east up',
      'link set east-peer up',
      'addr add 198.51.100.1/24 dev west',
      'addr add 203.0.113.1/24 dev east',
    ];
    const s = ip(['-n', NS, '-batch', '-'], [...setup, ...kernel].join('\n') + '\n');
    expect(s.stderr).toBe('');

    const addrs: string[] = [];
    for (let k = 0; k < 300; k++) {
      const c = chosen[Math.floor(rnd() * chosen.length)];
      const host = c.len === 32 ? 0 : Math.floor(rnd() * 2 ** (32 - c.len));
      addrs.push(ipv4ToString((c.prefix + host) >>> 0));
    }
    while (addrs.length < 400) {
      const a = Math.floor(rnd() * 2 ** 32) >>> 0;
      const top = a >>> 24;
      if (top === 0 || top === 127 || top >= 224) continue;
      addrs.push(ipv4ToString(a));
    }
    addrs.push('198.51.100.1', '198.51.100.77', '203.0.113.9');

    const ours = dataplane(['route', 'lookup', '--config', join(dir, 'router.yaml')], addrs.join('\n') + '\n');
    expect(ours.stderr).toBe('');
    expect(ours.status).toBe(0);
    const lines = ours.stdout.trim().split('\n');
    expect(lines).toHaveLength(addrs.length);
    const mismatches: string[] = [];
    addrs.forEach((a, i) => {
      const k = kernelVerdict(a);
      const o = ourVerdict(lines[i]);
      if (k !== o) mismatches.push(`${a}: kernel "${k}", dataplane "${lines[i]}"`);
    });
    expect(mismatches).toEqual([]);
  });
});

describe('dataplane route lookup with the whole RouteViews table', skipIf(existsSync(ROUTEVIEWS_FILE) ? undefined : `needs ${ROUTEVIEWS_FILE}`), () => {
  it('answers with the connected subnet for 192.0.2.0/24, which the table also routes, and names that line', () => {
    const table = readRouteViews();
    const lines: string[] = [];
    let docLine = 0;
    for (let i = 0; i < table.count; i++) {
      const p = `${ipv4ToString(table.prefix[i] >>> 0)}/${table.len[i]}`;
      if (p === '192.0.2.0/24') docLine = i + 1;
      lines.push(`${p} via ${i % 2 === 0 ? '198.51.100.2' : '198.51.100.3'}`);
    }
    expect(docLine).toBeGreaterThan(0);
    expect(lines[0]).toBe('1.0.4.0/24 via 198.51.100.2');
    const routes = join(dir, 'full-table.txt');
    writeFileSync(routes, lines.join('\n') + '\n');
    const config = join(dir, 'full-table.yaml');
    writeFileSync(config, 'ports:\n  - { name: lan, address: 192.0.2.1/24 }\n  - { name: wan, address: 198.51.100.1/24 }\nroutesFile: full-table.txt\n');
    const r = dataplane(['route', 'lookup', '--config', config, '192.0.2.77', '192.0.2.1', '1.0.4.9']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      '192.0.2.77 192.0.2.0/24 dev lan',
      '192.0.2.1 192.0.2.1/32 local dev lan',
      '1.0.4.9 1.0.4.0/24 via 198.51.100.2 dev wan',
      '',
    ]);
    // The one warning: the table's route for the LAN, by file and line.
    expect(r.stderr).toBe(
      `dataplane route lookup: warning: ${routes}:${docLine}: ${lines[docLine - 1]} is shadowed by the connected subnet of port "lan" (192.0.2.1/24): ` +
        'connected routes win (administrative distance 0, static 1); not installed\n',
    );
  }, 60_000);
});
