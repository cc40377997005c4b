// One conformance case's dataplane: a Router built from the case's YAML,
// driven by the real run loop over memory ports (one per config port) with
// a virtual clock, as `replay` drives it from a capture. send(at, packet)
// sets the clock, runs one batch with that frame (timers and the NAT sweep
// first) and returns what each port sent and which counters moved; every
// step is written down as evidence ("in lan: ...; out wan: ...").
import { parseConfig, type RouterConfig } from '../config/load.js';
import { FlowState } from '../conntrack/timeouts.js';
import { FlowTable } from '../flow/flow-table.js';
import { MemoryPort } from '../io/memory-port.js';
import { Batch } from '../pipeline/batch.js';
import { ManualClock } from '../pipeline/clock.js';
import { Router } from '../pipeline/router.js';
import { compileFib } from '../route/fib.js';
import { RunLoop } from '../runtime/run-loop.js';
import { parseIpv4Address } from '../wire/address.js';
import { describeFrame, describeTuple, tupleOf, type Tuple } from './packet.js';

/** Virtual time of a session's start (ms since the epoch): 2023-11-14 22:13:20 UT, an ordinary wall-clock time. */
export const START_MS = 1_700_000_000_000;

/** A frame and the port it arrives on. */
export interface Packet {
  port: string;
  frame: Uint8Array;
}

export interface Sent {
  port: string;
  bytes: Uint8Array;
}

export interface StepResult {
  out: Sent[];
  /** Counters that moved in this step, as packets. */
  counters: Record<string, number>;
}

/** A requirement's check failed: the message says what was expected and what came. */
export class ConformanceFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceFailure';
  }
}

export function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new ConformanceFailure(message);
}

/** Compares as JSON, so arrays of tuples' fields read well in the failure. */
export function checkEqual(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new ConformanceFailure(`${what}: expected ${e}, got ${a}`);
}

/** Changes a case's frames on their way in (a test proving a check can fail). */
export type Tamper = (frame: Uint8Array, port: string) => Uint8Array;

function timeLabel(ms: number): string {
  if (ms === 0) return '';
  const s = ms / 1000;
  return `t=${Number.isInteger(s) ? s : s.toFixed(3)}s `;
}

/** Counters worth naming when nothing came out: the drop or the local handling, not the per-node packet counts. */
function reasons(counters: Record<string, number>): string {
  const names = Object.keys(counters).filter((n) => !n.endsWith('/packets') && !n.startsWith('interface-output/'));
  return names.length === 0 ? '' : ` (${names.slice(0, 2).join(', ')})`;
}

/** Runs of the same line as one: "in lan: ... (x4)". */
function collapse(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    let j = i + 1;
    while (j < lines.length && lines[j] === lines[i]) j++;
    out.push(j - i > 1 ? `${lines[i]} (x${j - i})` : lines[i]);
    i = j;
  }
  return out;
}

export class Session {
  readonly config: RouterConfig;
  readonly router: Router;
  private readonly clock = new ManualClock(START_MS);
  private readonly ports: MemoryPort[];
  private readonly loop: RunLoop;
  private last = 0;

  constructor(yaml: string, private readonly evidence: string[], private readonly tamper?: Tamper) {
    this.config = parseConfig(yaml, 'conformance.yaml', '.');
    const batch = new Batch();
    const { fib, nexthops } = compileFib(this.config);
    this.router = new Router(this.config, fib, nexthops, { clock: this.clock, batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
    this.ports = this.config.ports.map((p, index) => new MemoryPort(p.name, { index }));
    this.loop = new RunLoop({ router: this.router, batch, inputs: this.ports, outputs: this.ports });
  }

  /**
   * The packets arrive at `at` ms from the session's start, in one batch: the
   * run loop's round (timers, sweep, the graph, transmit). `quiet` leaves the
   * step out of the evidence (set-up traffic the requirement is not about).
   */
  send(at: number, packets: Packet | Packet[], quiet = false): StepResult {
    const list = Array.isArray(packets) ? packets : [packets];
    if (at < this.last) throw new Error(`step at ${at} ms comes before the previous one (${this.last} ms)`);
    this.last = at;
    this.clock.set(START_MS + at);
    const before = this.router.counters.nonZero();
    const ins: string[] = [];
    for (const p of list) {
      const port = this.ports.find((x) => x.name === p.port);
      if (port === undefined) throw new Error(`no port ${p.port}`);
      const frame = this.tamper ? this.tamper(p.frame.slice(), p.port) : p.frame;
      port.inject(frame);
      ins.push(`in ${p.port}: ${describeFrame(frame)}`);
    }
    this.loop.step();
    const out: Sent[] = [];
    for (const port of this.ports) for (const bytes of port.takeSent()) out.push({ port: port.name, bytes });
    const counters: Record<string, number> = {};
    for (const [name, v] of Object.entries(this.router.counters.nonZero())) {
      const d = v.packets - (before[name]?.packets ?? 0);
      if (d !== 0) counters[name] = d;
    }
    if (!quiet) {
      const outs = out.length === 0 ? [`out: none${reasons(counters)}`] : out.map((o) => `out ${o.port}: ${describeFrame(o.bytes)}`);
      this.evidence.push(`${timeLabel(at)}${[...collapse(ins), ...collapse(outs)].join('; ')}`);
    }
    return { out, counters };
  }

  /** A batch with no frame at `at`: timers and the NAT sweep run, as live when a poll finds nothing. */
  idle(at: number): StepResult {
    return this.send(at, [], true);
  }

  /** A line of evidence that is not a packet (what the flow table holds). */
  note(text: string): void {
    this.evidence.push(text);
  }

  /** Entries live in the flow table (flows, bindings, permits, fragment entries). */
  live(): number {
    const tables = this.router.natTables;
    if (tables === undefined) return 0;
    return FlowTable.stats(tables.buffers.flows).reduce((n, w) => n + w.live, 0);
  }

  /** Entries evicted from the flow table so far. */
  evicted(): number {
    const tables = this.router.natTables;
    if (tables === undefined) return 0;
    return FlowTable.stats(tables.buffers.flows).reduce((n, w) => n + w.evicted, 0);
  }

  /** The conntrack state name (TCP_ESTABLISHED, UDP_REPLIED...) of the flow src:sport -> dst:dport, either direction; undefined when none. */
  state(src: string, sport: number, dst: string, dport: number, proto = 6): string | undefined {
    const nat = this.router.nat;
    if (nat === undefined) return undefined;
    const v = nat.flows.lookup(parseIpv4Address(src) | 0, parseIpv4Address(dst) | 0, ((sport << 16) | dport) | 0, proto);
    if (v < 0) return undefined;
    const st = nat.flows.state(v >> 1) & 63;
    return Object.entries(FlowState).find(([name, n]) => n === st && name !== 'COUNT')?.[0] ?? `state ${st}`;
  }
}

/** The one frame a step sent: it must leave by `port`, every checksum sound. Its tuple. */
export function only(r: StepResult, port: string): Tuple {
  checkEqual(r.out.map((o) => o.port), [port], 'ports the step sent by');
  const t = tupleOf(r.out[0].bytes);
  check(t !== undefined, `the frame out is not IPv4: ${describeFrame(r.out[0].bytes)}`);
  check(t.checksumsOk, `a checksum of ${describeTuple(t)} is wrong`);
  return t;
}

/** Nothing left: the step's packet was dropped, and `counter` (a drop reason) counted it once. */
export function dropped(r: StepResult, counter: string): void {
  checkEqual(r.out.map((o) => `${o.port}: ${describeFrame(o.bytes)}`), [], 'frames out');
  checkEqual(r.counters[counter] ?? 0, 1, counter);
}
