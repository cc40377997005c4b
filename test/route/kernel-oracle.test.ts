// The Linux kernel's FIB as the oracle: the same routes (a slice of the real
// RouteViews table, every route kind) go into our LPM and into a throwaway
// network namespace, then `ip route get` answers for a few hundred addresses
// are compared with ours, before and after deleting a tenth of the routes.
// Only the namespace this test creates is touched; it is deleted in afterAll.
import { tryRun, type CommandResult } from '../../src/host/commands.js';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTEVIEWS_FILE, prng, readRouteViews } from '../../bench/route/table.js';
import { NO_ROUTE } from '../../src/route/lpm.js';
import { formatIpv4, formatPrefix, prefixMask } from '../../src/route/prefix.js';
import { parseConfig } from '../../src/config/load.js';
import { parseRoutesText, type RouteSpec } from '../../src/config/routes.js';
import { compileFib } from '../../src/route/fib.js';
import { NexthopKind, type NexthopTable } from '../../src/route/nexthops.js';

const NS = `dp-lpm-test-${process.pid}`;

function ip(args: string[], input?: string): CommandResult {
  return tryRun('ip', args, { input, timeoutMs: 20_000 });
}

function whyNotRunnable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  if (ip(['-V']).status !== 0) return 'needs iproute2 (`ip`)';
  if (!existsSync(ROUTEVIEWS_FILE)) return `needs the shared routing table ${ROUTEVIEWS_FILE}`;
  return undefined;
}

let skipReason = whyNotRunnable();

function setup(): void {
  const steps = [
    ['netns', 'add', NS],
    ['-n', NS, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'],
    ['-n', NS, 'link', 'add', 'v2', 'type', 'veth', 'peer', 'name', 'v3'],
    ['-n', NS, 'link', 'set', 'v0', 'up'],
    ['-n', NS, 'link', 'set', 'v1', 'up'],
    ['-n', NS, 'link', 'set', 'v2', 'up'],
    ['-n', NS, 'link', 'set', 'v3', 'up'],
    ['-n', NS, 'addr', 'add', '198.18.0.1/24', 'dev', 'v0'],
    ['-n', NS, 'addr', 'add', '198.18.1.1/24', 'dev', 'v2'],
  ];
  for (const s of steps) {
    const r = ip(s);
    if (r.status !== 0) throw new Error(`ip ${s.join(' ')}: ${r.stderr.trim()}`);
  }
}

/** The route kinds spread over origin ASes; gateways sit on the namespace's two subnets. */
function targetText(asn: number): string {
  const k = asn % 16;
  if (k < 8) return `via 198.18.0.${10 + (k % 4)}`;
  if (k < 11) return `via 198.18.1.${10 + (k % 2)} dev v2`;
  if (k === 11) return 'dev v2';
  if (k === 12) return 'dev v0';
  return ['blackhole', 'unreachable', 'prohibit'][k - 13];
}

function ipCommand(verb: 'add' | 'del', r: RouteSpec): string {
  const p = formatPrefix(r.prefix, r.len);
  if (r.type !== 'unicast') return `route ${verb} ${r.type} ${p}`;
  const n = r.nexthops[0];
  if (n.gateway === 0) return `route ${verb} ${p} dev ${n.port}`;
  return `route ${verb} ${p} via ${formatIpv4(n.gateway)}${n.port !== undefined ? ` dev ${n.port}` : ''}`;
}

const PORT_NAMES = ['v0', 'v2'];

/** What `ip route get` says, in the kernel's words, for a next hop of ours. */
function expected(t: NexthopTable, nh: number): string {
  if (nh === NO_ROUTE) return 'Network is unreachable';
  switch (t.kind[nh]) {
    case NexthopKind.GATEWAY:
      return `via ${formatIpv4(t.gateway[nh])}`;
    case NexthopKind.ATTACHED:
      return `dev ${PORT_NAMES[t.port[nh]]}`;
    case NexthopKind.BLACKHOLE:
      return 'Invalid argument';
    case NexthopKind.UNREACHABLE:
      return 'No route to host';
    case NexthopKind.PROHIBIT:
      return 'Permission denied';
    default:
      return `next hop kind ${t.kind[nh]}`;
  }
}

/** Runs `route get` for every address in one batch; returns the kernel's answer per address. */
function kernelAnswers(addrs: readonly number[]): string[] {
  const r = ip(['-n', NS, '-j', '-force', '-batch', '-'], addrs.map((a) => `route get ${formatIpv4(a)}\n`).join(''));
  const answers: string[] = new Array<string>(addrs.length).fill('');
  const byDst = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    if (line.trim() === '') continue;
    const [o] = JSON.parse(line) as { dst: string; gateway?: string; dev: string }[];
    byDst.set(o.dst, o.gateway ? `via ${o.gateway}` : `dev ${o.dev}`);
  }
  const errLines = r.stderr.split('\n');
  for (let i = 0; i + 1 < errLines.length; i++) {
    const m = /^RTNETLINK answers: (.*)$/.exec(errLines[i]);
    const n = /^Command failed -:(\d+)$/.exec(errLines[i + 1]);
    if (m && n) answers[Number(n[1]) - 1] = m[1];
  }
  addrs.forEach((a, i) => {
    if (answers[i] === '') answers[i] = byDst.get(formatIpv4(a)) ?? `no answer (stderr: ${r.stderr.slice(0, 200)})`;
  });
  return answers;
}

describe('LPM against the Linux kernel FIB (ip route get in a private namespace)', () => {
  beforeAll(() => {
    if (skipReason !== undefined) return;
    try {
      setup();
    } catch (err) {
      skipReason = `cannot build the test namespace here: ${(err as Error).message}`;
    }
  });

  afterAll(() => {
    if (whyNotRunnable() === undefined) ip(['netns', 'del', NS]);
  });

  it('agrees on a few hundred addresses over ~4000 real routes, before and after deletes', (ctx) => {
    if (skipReason !== undefined) ctx.skip(skipReason);
    const table = readRouteViews(ROUTEVIEWS_FILE);
    // Three /8s in full keep the real nesting; 198.18.0.0/15 is the test's own.
    const blocks = new Set([41, 80, 193]);
    const lines: string[] = [];
    for (let i = 0; i < table.count && lines.length < 4000; i++) {
      const p = table.prefix[i];
      if (!blocks.has(p >>> 24)) continue;
      lines.push(`${formatPrefix(p, table.len[i])} ${targetText(table.asn[i])}`);
    }
    const parsed = parseRoutesText(lines.join('\n'), 'routes');
    expect(parsed.errors).toEqual([]);
    const routes = parsed.routes;
    // The same router the dataplane builds: ports on the namespace's two subnets, then the routes.
    const config = parseConfig('ports:\n  - { name: v0, address: 198.18.0.1/24 }\n  - { name: v2, address: 198.18.1.1/24 }\n', 'oracle', '.');
    const { lpm, nexthops } = compileFib({ ...config, routes });
    const add = ip(['-n', NS, '-batch', '-'], routes.map((r) => ipCommand('add', r) + '\n').join(''));
    expect(add.stderr).toBe('');

    const rnd = prng(2024);
    const addrs: number[] = [];
    while (addrs.length < 400) {
      const pick = rnd() % 4;
      let a: number;
      if (pick < 2) {
        const r = routes[rnd() % routes.length];
        a = (r.prefix | (rnd() & ~prefixMask(r.len))) >>> 0;
      } else if (pick === 2) {
        a = ((([41, 80, 193][rnd() % 3]) << 24) | (rnd() & 0xffffff)) >>> 0;
      } else {
        a = rnd();
      }
      const top = a >>> 24;
      if (top === 0 || top === 127 || top >= 224 || a >>> 17 === 0xc612 >>> 1) continue; // not routable, or the test's 198.18.0.0/15
      addrs.push(a);
    }
    const compare = () => {
      const kernel = kernelAnswers(addrs);
      const ours = addrs.map((a) => {
        return expected(nexthops, lpm.lookup(a));
      });
      const diffs = addrs.map((a, i) => [formatIpv4(a), ours[i], kernel[i]]).filter(([, o, k]) => o !== k);
      expect(diffs.slice(0, 10)).toEqual([]);
      return kernel;
    };
    const before = compare();
    expect(new Set(before).size).toBeGreaterThan(5);

    const doomed = routes.filter(() => rnd() % 10 === 0);
    const del = ip(['-n', NS, '-batch', '-'], doomed.map((r) => ipCommand('del', r) + '\n').join(''));
    expect(del.stderr).toBe('');
    for (const r of doomed) expect(lpm.delete(r.prefix, r.len)).toBe(true);
    compare();
  });
});
