// NAT with real hosts (issue 9): a client behind the NAT in the lab's
// client namespace, servers outside in the server namespace (which has no
// route back to the client: it only ever sees the NAT address), and the
// tools a person would check a NAT with. The router is the dataplane, or,
// with DATAPLANE_NAT_ENGINE=kernel, Linux doing the same NAT with nftables
// and conntrack in the router namespace: the reference these checks were
// proven against.
//
//   DATAPLANE_NAT_ENGINE=kernel npx vitest run test/e2e/nat.test.ts
//   DATAPLANE_NAT_PORTS=afpacket ...   (the dataplane's ports; default tap)
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, logTail, stateDir, type LabState } from '../../src/lab/lab.js';
import { listNetns, sleep } from '../../src/host/commands.js';
import type { Tool } from '../../src/host/tools.js';
import { KERNEL_CAPACITY_NOTE, LAB_NAT, NAT_FILTERINGS, type NatFiltering } from '../../src/lab/lab-nat.js';
import { LAB, type LabEngine, type LabPorts } from '../../src/lab/topology.js';
import { skipIf } from '../skip.js';
import { BEHAVIOUR_OF_FILTERING, ECONNREFUSED_PY, FILL_TABLE_PY, NATDISCOVERY_ARGV, parseNatDiscovery, STUN_PORT, turnserverArgv, UDP_ASK_PY, UDP_ECHO_PY } from './nat-probes.js';
import { background, e2eSkipReason, killChildren, nsExec, processesMentioning, uniquePrefix, waitListening } from './suite.js';

// The drop counted when the flow table is full (RFC 5508 REQ-8, ICMP code
// 13): nat-output's `tableFull` reason (src/nat/nat-output.ts).
const TABLE_FULL_COUNTER = 'nat-output/table-full';

/** The smallest table the config allows: small enough to fill from one client in a few seconds. */
const SMALL_CAPACITY = 1024;

const ENGINE_ENV = process.env.DATAPLANE_NAT_ENGINE ?? 'dataplane';
const engineError = ENGINE_ENV === 'dataplane' || ENGINE_ENV === 'kernel' ? undefined : `DATAPLANE_NAT_ENGINE must be dataplane or kernel, got '${ENGINE_ENV}'`;
const ENGINE: LabEngine = ENGINE_ENV === 'kernel' ? 'kernel' : 'dataplane';
// The kernel routes between veth pairs; the dataplane takes TAPs unless told otherwise.
const PORTS: LabPorts = ENGINE === 'kernel' ? 'afpacket' : process.env.DATAPLANE_NAT_PORTS === 'afpacket' ? 'afpacket' : 'tap';
const WORKERS = 2;

const EXTRA_TOOLS: Tool[] = ['turnserver', 'turnutils_natdiscovery', 'iperf3', ...(ENGINE === 'kernel' ? (['nft'] as Tool[]) : [])];
const skip = engineError ?? e2eSkipReason(EXTRA_TOOLS);

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A lab in NAT mode for one describe block, and everything it started gone afterwards. */
function natLab(base: string, filtering: NatFiltering, capacity?: number): { lab: () => LabState; tmp: () => string } {
  let lab: LabState | undefined;
  let prefix = '';
  let tmp = '';
  beforeAll(async () => {
    prefix = await uniquePrefix(base);
    tmp = join(os.tmpdir(), `${prefix}-nat-e2e`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    lab = await labUp({ prefix, ports: PORTS, engine: ENGINE, workers: WORKERS, nat: { filtering, capacity }, readyTimeoutMs: 15_000 });
  }, 40_000);
  afterAll(async () => {
    killChildren();
    const log = lab?.engine === 'dataplane' ? logTail(lab, 40) : '';
    const r = prefix === '' ? undefined : await labDown(prefix);
    // Killed servers (turnserver names its files in tmp) are gone once reaped.
    for (let i = 0; i < 40 && tmp !== '' && processesMentioning(tmp).length > 0; i++) await sleep(50);
    const left = tmp === '' ? [] : processesMentioning(tmp);
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
    if (prefix === '') return;
    expect(left).toEqual([]);
    expect(listNetns().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    expect(existsSync(stateDir(prefix))).toBe(false);
    if (lab !== undefined) {
      expect(processesMentioning(lab.configPath)).toEqual([]);
      if (lab.engine === 'dataplane') expect(r?.stopped?.how, `the dataplane should stop on SIGTERM; log:\n${log}`).toBe('SIGTERM');
    }
  }, 30_000);
  return {
    lab: () => {
      if (lab === undefined) throw new Error('the lab did not come up');
      return lab;
    },
    tmp: () => tmp,
  };
}

/** A tool's JSON output, or { error } with what it printed instead (a timeout, a crash). */
function jsonOf<T extends object>(text: string): T & { error?: string } {
  try {
    return JSON.parse(text) as T;
  } catch {
    return { error: `not JSON: ${text.trim().slice(-500) || '(nothing)'}` } as T & { error?: string };
  }
}

/** The router's log (the dataplane's), for assertion messages. */
function routerLog(lab: LabState): string {
  return lab.engine === 'dataplane' ? `\ndataplane log:\n${logTail(lab, 15)}` : '';
}

/** Starts turnserver in the server namespace (both outside addresses, primary and alternate port) and waits until it listens. */
async function startTurnserver(lab: LabState, tmp: string): Promise<void> {
  const dir = join(tmp, 'turn');
  mkdirSync(dir, { recursive: true });
  background(lab.names.server, turnserverArgv(dir));
  for (let i = 0; i < 100; i++) {
    const socks = nsExec(lab.names.server, ['ss', '-ulnH']).out;
    const want = [LAB.server.addr, LAB_NAT.serverAlt.addr].flatMap((a) => [`${a}:${STUN_PORT}`, `${a}:${STUN_PORT + 1}`]);
    if (want.every((w) => socks.includes(w))) return;
    await sleep(50);
  }
  throw new Error(`turnserver did not listen on both addresses, ports ${STUN_PORT} and ${STUN_PORT + 1}`);
}

/** Runs natdiscovery in the client namespace; its verdicts must be endpoint-independent mapping and `filtering`. */
function expectNatDiscovery(lab: LabState, filtering: NatFiltering): void {
  const r = nsExec(lab.names.client, NATDISCOVERY_ARGV, 60_000);
  const d = parseNatDiscovery(r.out);
  const why = `${NATDISCOVERY_ARGV.join(' ')} (exit ${r.status}) printed:\n${r.out}${routerLog(lab)}`;
  expect(d.noNat, why).toBe(false);
  expect(d.reflexive.length, why).toBeGreaterThan(0);
  for (const a of d.reflexive) expect(a, why).toMatch(new RegExp(`^${esc(LAB.wan.addr)}:\\d+$`));
  expect(d.mapping, why).toBe('Endpoint Independent');
  expect(d.filtering, why).toBe(BEHAVIOUR_OF_FILTERING[filtering]);
}

/** The counters the dataplane prints on SIGUSR1 (as status.test.ts reads them): name -> packets. */
async function dataplaneCounters(lab: LabState): Promise<Map<string, number>> {
  const before = readFileSync(lab.logPath, 'utf8').length;
  process.kill(lab.pid, 'SIGUSR1');
  let printed = '';
  for (let i = 0; i < 40 && !printed.includes('counters (packets):'); i++) {
    await sleep(50);
    printed = readFileSync(lab.logPath, 'utf8').slice(before);
  }
  const section = printed.slice(printed.indexOf('counters (packets):'));
  return new Map([...section.matchAll(/^ {2}(\S+)\s+(\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

describe(`NAT through the ${ENGINE === 'kernel' ? 'Linux kernel (nftables)' : 'dataplane'}, ${PORTS} ports, ${WORKERS} workers`, skipIf(skip), () => {
  describe(`endpoint-independent filtering, conntrack capacity ${SMALL_CAPACITY}`, () => {
    const { lab, tmp } = natLab('dpe-nat', 'endpoint-independent', SMALL_CAPACITY);

    it('turnutils_natdiscovery reports endpoint-independent mapping and filtering (RFC 4787 REQ-1, REQ-8)', async () => {
      await startTurnserver(lab(), tmp());
      expectNatDiscovery(lab(), 'endpoint-independent');
    }, 90_000);

    it('curl downloads from an HTTP server outside, which sees only the NAT address', async () => {
      const www = join(tmp(), 'www');
      mkdirSync(www, { recursive: true });
      const data = randomBytes(4 * 1024 * 1024);
      writeFileSync(join(www, 'blob.bin'), data);
      const server = background(lab().names.server, ['python3', '-u', '-m', 'http.server', '8000', '--bind', LAB.server.addr, '--directory', www]);
      await waitListening(lab().names.server, 't', 8000);
      const out = join(tmp(), 'blob.down');
      const c = nsExec(lab().names.client, ['curl', '-sS', '--connect-timeout', '5', '--max-time', '20', '-o', out, `http://${LAB.server.addr}:8000/blob.bin`], 25_000);
      expect(c.status, `curl: ${c.out}${routerLog(lab())}`).toBe(0);
      expect(createHash('sha256').update(readFileSync(out)).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      // http.server logs "ADDR - - [date] "GET /blob.bin HTTP/1.1" 200 -" once it has answered.
      let log = '';
      for (let i = 0; i < 40 && !log.includes('GET /blob.bin'); i++) {
        await sleep(50);
        log = server.text();
      }
      expect(log).toMatch(new RegExp(`^${esc(LAB.wan.addr)} - - \\[.*"GET /blob\\.bin HTTP/1\\.1" 200`, 'm'));
      expect(log).not.toContain(LAB.client.addr);
    }, 40_000);

    it('iperf3 carries TCP for 3 s through the NAT, and its server sees the NAT address', async () => {
      const server = background(lab().names.server, ['iperf3', '-s', '-1', '-J', '-B', LAB.server.addr, '-p', '5201']);
      await waitListening(lab().names.server, 't', 5201);
      const c = nsExec(lab().names.client, ['iperf3', '-c', LAB.server.addr, '-p', '5201', '-t', '3', '--connect-timeout', '5000', '-J'], 30_000);
      const why = `iperf3: ${c.out.slice(-1500)}${routerLog(lab())}`;
      const j = jsonOf<{ error?: string; end?: { sum_received?: { bytes: number } } }>(c.out);
      expect(j.error, why).toBeUndefined();
      expect(j.end?.sum_received?.bytes ?? 0, why).toBeGreaterThan(0);
      // The server (-1) exits after its one test; one that never got a client is stopped after 5 s.
      const served = await Promise.race([server.output, sleep(5000).then(() => undefined)]);
      if (served === undefined) server.child.kill('SIGKILL');
      const s = jsonOf<{ start?: { connected?: { remote_host: string }[] } }>(served ?? '');
      expect(s.start?.connected?.[0]?.remote_host, why).toBe(LAB.wan.addr);
    }, 40_000);

    it("a connected UDP socket gets ECONNREFUSED from the server's port unreachable, translated back (RFC 5508 REQ-3)", () => {
      const r = nsExec(lab().names.client, ['python3', '-c', ECONNREFUSED_PY, LAB.server.addr, '33999'], 15_000);
      expect(r.out.trim(), `${r.out}${routerLog(lab())}`).toBe('ECONNREFUSED');
    });

    it('traceroute (UDP) from the client shows the router and then the server', () => {
      const r = nsExec(lab().names.client, ['traceroute', '-n', '-q1', '-w2', '-m5', LAB.server.addr], 30_000);
      expect(r.status, r.out + routerLog(lab())).toBe(0);
      expect(r.out).toMatch(/^\s*1\s+192\.0\.2\.1\s/m);
      expect(r.out, r.out + routerLog(lab())).toMatch(/^\s*2\s+198\.51\.100\.10\s/m);
    }, 35_000);

    it(`forwards ports from outside: ${LAB.wan.addr}:${LAB_NAT.tcpForward.dport}/tcp and :${LAB_NAT.udpForward.dport}/udp reach the client`, async () => {
      const www = join(tmp(), 'inside');
      mkdirSync(www, { recursive: true });
      const token = randomBytes(16).toString('hex');
      writeFileSync(join(www, 'token.txt'), token);
      const t = LAB_NAT.tcpForward;
      const u = LAB_NAT.udpForward;
      const inside = background(lab().names.client, ['python3', '-u', '-m', 'http.server', String(t.toPort), '--bind', t.to, '--directory', www]);
      background(lab().names.client, ['python3', '-u', '-c', UDP_ECHO_PY, u.to, String(u.toPort)]);
      await waitListening(lab().names.client, 't', t.toPort);
      await waitListening(lab().names.client, 'u', u.toPort);
      const c = nsExec(lab().names.server, ['curl', '-sS', '--connect-timeout', '5', '--max-time', '10', `http://${LAB.wan.addr}:${t.dport}/token.txt`], 15_000);
      expect(c.status, `curl: ${c.out}${routerLog(lab())}`).toBe(0);
      expect(c.out).toBe(token);
      // DNAT keeps the source: the client sees the server itself.
      for (let i = 0; i < 40 && !inside.text().includes('GET /token.txt'); i++) await sleep(50);
      expect(inside.text()).toMatch(new RegExp(`^${esc(LAB.server.addr)} - - \\[.*"GET /token\\.txt HTTP/1\\.1" 200`, 'm'));
      const a = nsExec(lab().names.server, ['python3', '-c', UDP_ASK_PY, LAB.wan.addr, String(u.dport), token], 10_000);
      const answer = jsonOf<{ reply?: string | null; from?: string }>(a.out);
      expect(answer, `${a.out}${routerLog(lab())}`).toEqual({ reply: token, from: `${LAB.wan.addr}:${u.dport}` });
    }, 40_000);

    // Last: it fills the table.
    it(
      'a full table answers ICMP unreachable code 13 (RFC 5508 REQ-8) and counts the drop',
      { ...skipIf(ENGINE === 'kernel' ? KERNEL_CAPACITY_NOTE : undefined), timeout: 90_000 },
      async () => {
        const echoPort = 7777;
        background(lab().names.server, ['python3', '-u', '-c', UDP_ECHO_PY, LAB.server.addr, String(echoPort)]);
        await waitListening(lab().names.server, 'u', echoPort);
        const flows = SMALL_CAPACITY + 512;
        const r = nsExec(lab().names.client, ['python3', '-c', FILL_TABLE_PY, LAB.client.addr, LAB.server.addr, String(echoPort), String(flows)], 60_000);
        const why = `${r.out}${routerLog(lab())}`;
        const got = jsonOf<{ sent?: number; echoed?: number; unreachable?: Record<string, number> }>(r.out);
        expect(got.sent, why).toBe(flows);
        // Answered flows fill the table (none of them may be evicted); the rest find it full.
        expect(got.echoed ?? 0, why).toBeGreaterThan(0);
        expect(got.echoed ?? 0, why).toBeLessThanOrEqual(SMALL_CAPACITY);
        expect(got.unreachable?.['13'] ?? 0, why).toBeGreaterThan(0);
        const counters = await dataplaneCounters(lab());
        const full = [...counters].filter(([name]) => name.includes(TABLE_FULL_COUNTER));
        expect(full.reduce((n, [, v]) => n + v, 0), `counters: ${JSON.stringify(Object.fromEntries(counters))}`).toBeGreaterThan(0);
      },
    );
  });

  for (const filtering of NAT_FILTERINGS.filter((f) => f !== 'endpoint-independent')) {
    describe(`${filtering} filtering`, () => {
      const { lab, tmp } = natLab(filtering === 'address-dependent' ? 'dpe-nad' : 'dpe-nap', filtering);
      it(`turnutils_natdiscovery reports endpoint-independent mapping and ${filtering} filtering (RFC 4787 REQ-1, REQ-8)`, async () => {
        await startTurnserver(lab(), tmp());
        expectNatDiscovery(lab(), filtering);
      }, 90_000);
    });
  }
});
