// What the load balancer's e2e tests run in the lab's namespaces: the
// backends' HTTP servers (fixtures/whoami-server.mjs), the clients
// (fixtures/lb-client.mjs), and an nftables counter on each backend of the
// new connections it received from the clients, which counts whether or not
// a server answers (a backend whose server is stopped still sees the SYNs
// the balancer sends it).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { nsRun, sleep } from '../../src/host/commands.js';
import { LB_LAB } from '../../src/lab/lb-topology.js';
import type { LbLabNames } from '../../src/lab/lb-topology.js';
import { background, nsExec } from './suite.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
export const HTTP_PORT = 80;
const COUNTER_TABLE = 'lb_e2e';

export interface Backend {
  name: string;
  ns: string;
  child: ChildProcess;
}

/** Starts the HTTP server of each backend and waits until all listen. */
export async function startBackends(names: LbLabNames): Promise<Backend[]> {
  const started = LB_LAB.backends.map((b, i) => {
    const bg = background(names.backends[i], [process.execPath, join(FIXTURES, 'whoami-server.mjs'), b.name, String(HTTP_PORT)]);
    return { name: b.name, ns: names.backends[i], child: bg.child, text: bg.text };
  });
  for (const b of started) {
    for (let i = 0; !b.text().includes('listening'); i++) {
      if (b.child.exitCode !== null || i > 100) throw new Error(`the server of ${b.name} did not start: ${b.text()}`);
      await sleep(50);
    }
  }
  return started.map(({ name, ns, child }) => ({ name, ns, child }));
}

/** Stops a backend's server at once (SIGKILL by pid: `ip netns exec` execs node in place). */
export async function killBackend(b: Backend): Promise<void> {
  b.child.kill('SIGKILL');
  for (let i = 0; i < 100 && b.child.exitCode === null && b.child.signalCode === null; i++) await sleep(10);
}

/** A counter, in each backend's input hook, of SYNs from the clients' network: new connections that reached it. */
export function installFlowCounters(names: LbLabNames): void {
  for (const ns of names.backends) {
    nsRun(ns, 'nft', ['-f', '-'], {
      input: `table inet ${COUNTER_TABLE} {
  counter syns { }
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr ${LB_LAB.clientNet} tcp dport ${HTTP_PORT} tcp flags & (syn | ack) == syn counter name "syns"
  }
}
`,
    });
  }
}

/** SYNs each backend has received from the clients so far (LB_LAB.backends order). */
export function flowCounts(names: LbLabNames): number[] {
  return names.backends.map((ns) => {
    const j = JSON.parse(nsRun(ns, 'nft', ['-j', 'list', 'counter', 'inet', COUNTER_TABLE, 'syns'])) as { nftables: { counter?: { packets: number } }[] };
    const c = j.nftables.find((x) => x.counter !== undefined)?.counter;
    if (c === undefined) throw new Error(`no counter in ${ns}`);
    return c.packets;
  });
}

export interface RequestResult {
  i: number;
  /** Wall clock (ms) when the request started. */
  t: number;
  ms: number;
  localPort?: number;
  backend?: string;
  client?: string;
  clientPort?: number;
  error?: string;
}

export interface BurstOptions {
  count: number;
  /** Stop after this long (count is then the most). */
  durationMs?: number;
  /** Local port of request i: firstLocalPort + i. */
  firstLocalPort?: number;
  timeoutMs?: number;
}

function parseLines<T>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as T);
}

/** Requests from the client in `ns`, each on a new connection, one after another. */
export async function burst(ns: string, o: BurstOptions): Promise<RequestResult[]> {
  const bg = background(ns, [process.execPath, join(FIXTURES, 'lb-client.mjs'), 'burst', JSON.stringify({ vip: LB_LAB.vip, port: HTTP_PORT, timeoutMs: 2000, ...o })]);
  return parseLines<RequestResult>(await bg.output);
}

export interface HoldEcho {
  t: number;
  backend: string;
  seq: number;
}

export interface Hold {
  /** The echoes so far. */
  echoes(): HoldEcho[];
  /** Resolves when the client is done: what it sent and got back, and the error that ended it, if any. */
  done: Promise<{ sent: number; received: number; error?: string; echoes: HoldEcho[]; output: string }>;
}

/** One long-lived connection from `ns` to the VIP sending a line every `gapMs` for `durationMs`, each echoed by the backend. */
export function hold(ns: string, durationMs: number, gapMs: number): Hold {
  const bg = background(ns, [process.execPath, join(FIXTURES, 'lb-client.mjs'), 'hold', JSON.stringify({ vip: LB_LAB.vip, port: HTTP_PORT, durationMs, gapMs })]);
  const echoes = () => parseLines<HoldEcho & { done?: boolean; connected?: boolean }>(bg.text()).filter((x) => x.backend !== undefined);
  const done = bg.output.then((text) => {
    const last = parseLines<{ done?: boolean; sent: number; received: number; error?: string }>(text).find((x) => x.done === true);
    return { sent: last?.sent ?? 0, received: last?.received ?? 0, error: last === undefined ? `no result: ${text.slice(-300)}` : last.error, echoes: echoes(), output: text };
  });
  return { echoes, done };
}

/** `ss` of the lab's client, for failure messages. */
export function sockets(ns: string): string {
  return nsExec(ns, ['ss', '-tn']).out;
}
