// `dataplane ctl` verbs as a user types them, against a control server in
// this process whose plane records what each call asked for: which words
// reach which request field (commander's parsing of nested commands).
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../src/control/control-plane.js';
import { ControlServer } from '../../src/control/server.js';
import { CLI } from '../cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'dp-ctl-verbs-'));
const socket = join(dir, 'control.sock');
const calls: [string, unknown][] = [];
const plane = {
  listFlows: (filter: string, limit: number) => (calls.push(['listFlows', { filter, limit }]), { flows: [], matched: 0 }),
  deleteFlows: (filter: string) => (calls.push(['deleteFlows', filter]), { deleted: 2, skipped: 0 }),
  deleteMappings: (filter: string) => (calls.push(['deleteMappings', filter]), { deleted: 1 }),
  traceStart: (filter: string, count: number) => (calls.push(['traceStart', { filter, count }]), { active: true, traced: 0, unread: 0 }),
  explain: (packet: string) => (calls.push(['explain', packet]), { lines: ['routed'], json: '{}' }),
  listMappings: (filter: string, limit: number) => ({ mappings: [{ json: '{}', text: 'tcp 198.51.100.1:20000 -> 192.0.2.10:40000' }].slice(0, limit || 1), matched: 5 }),
  // More than a pipe holds, so a reader that stops early makes the writer's next write fail.
  listRoutes: (prefix: string, limit: number) => {
    calls.push(['listRoutes', { prefix, limit }]);
    const routes = Array.from({ length: 20000 }, (_, i) => ({ prefix: `198.18.${i >> 8}.${i & 255}/32`, type: 'unicast', via: '198.51.100.2', dev: 'wan', nexthops: [], source: 'api' }));
    return { routes, total: routes.length };
  },
};
let server: ControlServer;
beforeAll(async () => {
  server = await ControlServer.start(plane as unknown as ControlPlane, { socket });
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI in a child process (asynchronously: the server answers from this one). */
function ctl(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'ctl', '--socket', socket, ...args], { encoding: 'utf8', timeout: 60_000 }, (e, stdout, stderr) =>
      resolve({ status: e === null ? 0 : typeof e.code === 'number' ? e.code : -1, stdout, stderr }),
    );
  });
}

describe('ctl flows', () => {
  it('delete --filter, flush --filter=, reach Flows.Delete with the filter (was refused: flows took --filter itself)', async () => {
    calls.length = 0;
    for (const args of [['flows', 'delete', '--filter', 'src 192.0.2.10'], ['flows', 'flush', '--filter=src 192.0.2.10'], ['flows', 'delete', '--filter', '']]) {
      const r = await ctl(...args);
      expect([r.status, r.stdout.trim(), r.stderr], args.join(' ')).toEqual([0, 'deleted 2 flows', '']);
    }
    expect(calls).toEqual([['deleteFlows', 'src 192.0.2.10'], ['deleteFlows', 'src 192.0.2.10'], ['deleteFlows', '']]);
  });

  it('bare flows still lists, with --filter and --limit (as `flows show`)', async () => {
    calls.length = 0;
    for (const args of [['flows', '--filter', 'tcp', '--limit', '5'], ['flows', 'show', '--filter', 'tcp', '--limit', '5'], ['flows']]) {
      const r = await ctl(...args);
      expect([r.status, r.stdout.trim()], args.join(' ')).toEqual([0, 'no flow matches']);
    }
    expect(calls).toEqual([['listFlows', { filter: 'tcp', limit: 5 }], ['listFlows', { filter: 'tcp', limit: 5 }], ['listFlows', { filter: '', limit: 0 }]]);
  });

  it('delete without --filter is a usage error, as nat delete is', async () => {
    for (const verb of ['flows', 'nat']) {
      const r = await ctl(verb, 'delete');
      expect([r.status, r.stderr.split('\n')[0]]).toEqual([2, "error: required option '--filter <expr>' not specified"]);
    }
  });
});

describe('ctl nat and trace', () => {
  it('nat show --limit says how many more matched, as flows and route show do (was silent)', async () => {
    const r = await ctl('nat', 'show', '--limit', '1');
    expect([r.status, r.stdout]).toEqual([0, 'tcp 198.51.100.1:20000 -> 192.0.2.10:40000\n(4 more match; --limit)\n']);
  });

  it('trace start --help gives the default once', async () => {
    const r = await ctl('trace', 'start', '--help');
    expect(r.stdout).toMatch(/packets to trace at most \(default: 100\)\n/);
  });
});

describe('ctl route WORD', () => {
  it('a prefix or an address is `route show` of it; a word that is none is refused before any call (flush asked for the prefix "flush")', async () => {
    calls.length = 0;
    for (const args of [['route', '198.18.0.0/24', '--limit', '1'], ['route', '198.18.0.1', '--limit', '1'], ['route', 'show', '198.18.0.0/16', '--limit', '1']]) {
      const r = await ctl(...args);
      expect([r.status, r.stdout.split('\n')[0], r.stderr], args.join(' ')).toEqual([0, '198.18.0.0/32 via 198.51.100.2 dev wan proto api', '']);
    }
    const r = await ctl('route', 'flush');
    expect([r.status, r.stdout, r.stderr]).toEqual([2, '', 'error: unknown subcommand "flush" of ctl route (show, add, replace, del, load)\n(run with --help for usage)\n']);
    expect(calls).toEqual([
      ['listRoutes', { prefix: '198.18.0.0/24', limit: 1 }],
      ['listRoutes', { prefix: '198.18.0.1', limit: 1 }],
      ['listRoutes', { prefix: '198.18.0.0/16', limit: 1 }],
    ]);
  });
});

describe('route lines are checked before anything is sent', () => {
  it('route add/replace with a bad line, and route load of a file with bad lines: exit 2 naming each, no call (a typo was "cannot reach" without a dataplane)', async () => {
    calls.length = 0;
    const add = await ctl('route', 'add', '198.18.5.0/24', 'via');
    expect([add.status, add.stdout, add.stderr]).toEqual([2, '', 'dataplane ctl: route "198.18.5.0/24 via": "via" needs a value\n']);
    const replace = await ctl('route', 'replace', '198.18.5.0/33', 'dev', 'wan');
    expect([replace.status, replace.stderr]).toEqual([2, 'dataplane ctl: route "198.18.5.0/33 dev wan": "198.18.5.0/33" has a bad prefix length (0-32)\n']);
    const file = join(dir, 'routes.txt');
    writeFileSync(file, '198.18.5.0/24 via 198.51.100.2\n# a comment\n198.18.6.0/24 vai 198.51.100.2\n\n198.18.7.0/33 dev wan  # two\n');
    const load = await ctl('route', 'load', file);
    expect([load.status, load.stderr]).toEqual([2, `dataplane ctl: 2 bad route lines, nothing sent:\n  ${file}:3: unknown keyword "vai" (expected via, dev, nexthop, weight, blackhole, unreachable or prohibit)\n  ${file}:5: "198.18.7.0/33" has a bad prefix length (0-32)\n`]);
    expect(calls).toEqual([]);
  });
});

describe('filters and addresses are checked before anything is sent', () => {
  it('a bad --filter of flows, nat or trace, an explain packet, a neighbor or backend address that is none, a MAC that is none: exit 2 naming it, no call (a running dataplane refused them with exit 1)', async () => {
    calls.length = 0;
    const cases: [string[], string][] = [
      [['flows', '--filter', 'dst 1.2.3'], "dataplane ctl: flow filter \"dst 1.2.3\": at '1.2.3' (word 2): expected host, net, port, portrange or an address after 'dst'"],
      [['flows', 'delete', '--filter', 'port 99999'], "dataplane ctl: flow filter \"port 99999\": at '99999' (word 2): expected a port number 0-65535"],
      [['nat', 'show', '--filter', 'port 99999'], "dataplane ctl: NAT mapping filter \"port 99999\": at '99999' (word 2): expected a port number 0-65535"],
      [['nat', 'delete', '--filter', 'dst 1.2.3'], "dataplane ctl: NAT mapping filter \"dst 1.2.3\": at 'dst' (word 1): 'dst' applies to flows, not NAT mappings (use internal, external, host, port)"],
      [['neigh', 'add', '192.0.2.300', 'lladdr', '02:00:00:00:00:01'], 'dataplane ctl: neighbor "192.0.2.300" is not an IPv4 address such as 198.51.100.20'],
      [['neigh', 'add', '192.0.2.3', 'lladdr', '02:00:00:00:00', 'dev', 'lan'], 'dataplane ctl: lladdr "02:00:00:00:00" is not a MAC address such as 02:00:00:00:00:02'],
      [['neigh', 'del', '192.0.2.3', 'x'], 'dataplane ctl: neighbor "x" is not an IPv4 address such as 198.51.100.20'],
      [['lb', 'backend', 'drain', 'web', '198.51.100.300'], 'dataplane ctl: backend "198.51.100.300" is not an IPv4 address such as 198.51.100.20'],
    ];
    for (const [args, message] of cases) {
      const r = await ctl(...args);
      expect([r.status, r.stdout, r.stderr], args.join(' ')).toEqual([2, '', `${message}\n`]);
    }
    expect(calls).toEqual([]);
    // What only the running dataplane knows (its port names) it checks; the syntax is checked here.
    const traced: [string[], string][] = [
      [['trace', 'start', '--filter', 'in lan and icmpp'], "dataplane ctl: trace filter \"in lan and icmpp\": at 'icmpp' (word 4): expected a filter term (in PORT, host, net, port, tcp, udp, icmp, ...)"],
      [['trace', 'start', '--filter', 'host 1.2.3'], "dataplane ctl: trace filter \"host 1.2.3\": at '1.2.3' (word 2): expected an IPv4 address"],
      [['trace', 'start', '--filter', 'in'], "dataplane ctl: trace filter \"in\": at the end: expected a port name"],
      [['explain', 'tcp 192.0.2.10:40000 > 203.0.113.10 in lan'], 'dataplane ctl: explain: "203.0.113.10": tcp needs a destination port (DST:PORT)'],
      [['explain', 'tcp 192.0.2.10:40000 > 203.0.113.10:80'], 'dataplane ctl: explain: say which port the packet arrives on: "in PORT"'],
      [['explain', 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan ttl 300'], 'dataplane ctl: explain: "300": ttl must be a whole number from 0 to 255'],
    ];
    for (const [args, message] of traced) {
      const r = await ctl(...args);
      expect([r.status, r.stdout, r.stderr], args.join(' ')).toEqual([2, '', `${message}\n`]);
    }
    expect(calls).toEqual([]);
    expect((await ctl('trace', 'start', '--filter', 'in wan and icmp', '--count', '5')).status).toBe(0);
    expect((await ctl('explain', 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan')).status).toBe(0);
    expect(calls.splice(0)).toEqual([['traceStart', { filter: 'in wan and icmp', count: 5 }], ['explain', 'tcp 192.0.2.10:40000 > 203.0.113.10:80 in lan']]);
    // A good filter still reaches the dataplane as written.
    expect((await ctl('flows', '--filter', 'dst 203.0.113.10')).status).toBe(0);
    expect(calls).toEqual([['listFlows', { filter: 'dst 203.0.113.10', limit: 0 }]]);
  });
});

describe('a reader that goes away', () => {
  it.each([[[]], [['--json']]])('ctl %j route show | head -1 ends quietly, exit 0 (was an unhandled EPIPE stack trace, exit 1)', async (json: string[]) => {
    // bash: PIPESTATUS[0] is the status of ctl, not of head.
    const shell = `"${process.execPath}" "${CLI}" ctl --socket "${socket}" ${json.join(' ')} route show | head -1 >/dev/null; echo "status \${PIPESTATUS[0]}"`;
    const r = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      const child = spawn('bash', ['-c', shell]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', () => resolve({ stdout, stderr }));
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('status 0');
  });
});
