// The issues' "exactly as written" contracts, run as a user runs them: issue
// 9's nat:/conntrack: and issue 11's loadBalancer: YAML verbatim in one config
// (with the ports and the control socket a user adds), a live `dataplane run`
// in a network namespace of its own, and every `ctl` verb issue 12 lists,
// word for word, checked for what it must do, not only its exit status.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ip, nsSpawn, tryRun } from '../../src/host/commands.js';
import { labUnavailable } from '../../src/lab/lab-error.js';
import { CLI, dataplane } from '../cli-run.js';
import { skipIf } from '../skip.js';

/** Issue 9, section 3, as written. */
const ISSUE_9 = `nat:
  masquerade:
    - { outPort: wan }                       # all traffic leaving wan gets wan's address
  snat:
    - { match: { src: 192.0.2.0/24 }, outPort: wan, to: 198.51.100.100-198.51.100.101, ports: 20000-29999 }
  dnat:
    - { inPort: wan, proto: tcp, dport: 8080, to: "192.0.2.10:80" }
  filtering: endpoint-independent           # | address-dependent | address-and-port-dependent
  profile: rfc                              # | cloud-nat
conntrack: { capacity: 1048576 }
`;

/** Issue 11, section 1, as written. */
const ISSUE_11 = `loadBalancer:
  vips:
    - name: web
      address: 203.0.113.10
      protocol: tcp              # tcp | udp
      port: 80                   # omit: all ports
      mode: dsr-l2               # dsr-l2 | dsr-ipip | dsr-gue | nat
      tableSize: 65537           # prime
      affinity: { type: clientIP, timeoutSeconds: 10800 }   # optional
      healthCheck: { type: tcp, port: 80, intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 }
      backends:
        - { address: 198.51.100.11, weight: 100 }
        - { address: 198.51.100.12, weight: 100 }
`;

const skip = labUnavailable() ?? (existsSync('/dev/net/tun') ? undefined : 'no /dev/net/tun (load the tun module)');

describe('issues 9, 11 and 12 exactly as written, against a live dataplane', skipIf(skip), () => {
  const ns = `dp-verbatim-${process.pid.toString(36)}`;
  const dir = mkdtempSync(join(os.tmpdir(), 'dp-verbatim-'));
  const cfg = join(dir, 'router.yaml');
  const socket = join(dir, 'control.sock');
  let run: ChildProcess | undefined;
  let log = '';
  const ctl = (...args: string[]) => dataplane(['ctl', '--socket', socket, ...args]);

  beforeAll(async () => {
    writeFileSync(
      cfg,
      `ports:
  - { name: lan, address: 192.0.2.1/24, io: { type: tap, ifname: vb-lan } }
  - { name: wan, address: 198.51.100.1/24, io: { type: tap, ifname: vb-wan } }
control: { socket: ${socket} }
${ISSUE_9}${ISSUE_11}`,
    );
    ip('netns', 'add', ns);
    run = nsSpawn(ns, process.execPath, [CLI, 'run', '--config', cfg, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    run.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    run.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const until = Date.now() + 30_000;
    while (!log.includes('control API on') && Date.now() < until && run.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    if (!log.includes('control API on')) throw new Error(`dataplane run did not start:\n${log}`);
  }, 60_000);

  afterAll(async () => {
    if (run !== undefined && run.exitCode === null) {
      run.kill('SIGTERM');
      await new Promise((r) => run!.once('close', r));
    }
    tryRun('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('ctl route add 198.18.5.0/24 via 198.51.100.2, then ctl route show lists it', () => {
    const add = ctl('route', 'add', '198.18.5.0/24', 'via', '198.51.100.2');
    expect(add.status, add.stderr).toBe(0);
    const show = ctl('route', 'show');
    expect(show.stdout).toContain('198.18.5.0/24 via 198.51.100.2 dev wan proto api');
  });

  it("ctl flows --filter 'dst 203.0.113.10' and ctl counters", () => {
    const flows = ctl('flows', '--filter', 'dst 203.0.113.10');
    expect([flows.status, flows.stdout.trim()]).toEqual([0, 'no flow matches']);
    const counters = ctl('counters');
    expect(counters.status).toBe(0);
    expect(counters.stdout).toMatch(/^lan: rx \d+/m);
    expect(counters.stdout).toMatch(/^wan: rx \d+/m);
  });

  it('ctl lb backend drain web 198.51.100.11 sets its weight to 0', () => {
    const drain = ctl('lb', 'backend', 'drain', 'web', '198.51.100.11');
    expect(drain.status, drain.stderr).toBe(0);
    expect(drain.stdout).toContain('web: backend 198.51.100.11 weight 100 -> 0 (draining)');
    const show = JSON.parse(ctl('--json', 'lb', 'show').stdout) as { vips: { name: string; backends: { address: string; weight: number }[] }[] };
    expect(show.vips.find((v) => v.name === 'web')!.backends.map((b) => [b.address, b.weight])).toEqual([
      ['198.51.100.11', 0],
      ['198.51.100.12', 100],
    ]);
  });

  it("ctl trace start --filter 'dst 203.0.113.10' --count 100, and ctl explain of the issue's packet", () => {
    const trace = ctl('trace', 'start', '--filter', 'dst 203.0.113.10', '--count', '100');
    expect(trace.status, trace.stderr).toBe(0);
    expect(trace.stdout).toContain("tracing 100 packets matching 'dst 203.0.113.10'");
    const explain = ctl('explain', 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan');
    expect(explain.status, explain.stderr).toBe(0);
    expect(explain.stdout).toMatch(/^lb: +VIP web 203\.0\.113\.10 \(dsr-l2\)/m);
  });

  it('ctl reload CFG of the same file applies without a restart, and --json output is JSON', () => {
    const reload = ctl('reload', cfg);
    expect(reload.status, reload.stderr).toBe(0);
    const counters = JSON.parse(ctl('--json', 'counters').stdout) as { ports: { name: string }[] };
    expect(counters.ports.map((p) => p.name)).toEqual(['lan', 'wan']);
  });
});
