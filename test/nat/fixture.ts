// Replay fixtures for the NAT requirement tests: a script of frames, each
// with the virtual-clock time it arrives at (ms from the fixture's start) and
// the port it arrives on, run through the real pipeline two ways:
//
//   live     NatFixture.send(at, packet): the clock is set to `at`, the frame
//            runs through the Harness (the real run loop and Router, one
//            batch per step, the NAT sweep and the timers first), and the
//            test sees what came out and which counters moved. Each step is
//            recorded, so the test can build its next frame from what it saw
//            (the external port a binding got). idle(at) is a batch with
//            nothing for the router: the sweep runs at that time.
//   replay   the recorded script written as a capture (writeCapture: pcapng,
//            one interface per port, named after it; or classic pcap when
//            every frame comes in on one port) and run through replayCapture
//            (replay()) or the `dataplane replay` command (replayCommand()),
//            whose clock follows the capture's timestamps.
//            expectSameOnReplay() expects the frames out (times, ports,
//            bytes) and the counters of the live run.
//
// Replay makes its own NAT state, so it gives the same answers only when the
// external ports are not random: replayed fixtures configure one port per
// protocol (`ports: 40000-40000`), which makes every binding's port known.
//
// Replay cuts batches by capture time (frames 1 ms or more apart run in
// separate batches, src/replay/capture-input.ts); the live harness runs one
// batch per step. To make the two agree frame for frame even for steps less
// than a millisecond apart, each step is followed by BATCH_FILLERS frames to
// another MAC address (dropped by ethernet-input as not-for-us, before
// anything else reads them) that close its batch, so each step runs alone at
// its own time, as live. fixture.test.ts checks replay without them.
import { readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { join } from 'node:path';
import { ManualClock } from '../../src/pipeline/clock.js';
import { MAX_BATCH } from '../../src/pipeline/batch.js';
import { FlowTable, type WorkerFlowStats } from '../../src/flow/flow-table.js';
import { FlowState } from '../../src/conntrack/timeouts.js';
import { parseIpv4Address } from '../../src/wire/address.js';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { readCapture } from '../../src/pcap/reader.js';
import { MemorySink, PcapngWriter, PcapWriter } from '../../src/pcap/writer.js';
import { replayCapture, type ReplaySummary } from '../../src/replay/replay.js';
import { emitEthernet, ETHERTYPE_IPV4 } from '../../src/wire/ethernet.js';
import { Harness, type Sent } from '../pipeline/harness.js';
import { dataplane } from '../cli-run.js';

/** Capture time of the fixture's start (ms): 2023-11-14, so capture seconds are ordinary. */
export const START_MS = 1_700_000_000_000;
/** Frames that close a step's batch in a replayed capture (MAX_BATCH - 1). */
export const BATCH_FILLERS = MAX_BATCH - 1;

export interface Step {
  /** Virtual time, ms from the fixture's start. */
  at: number;
  port: string;
  frame: Uint8Array;
}

export interface Emitted {
  at: number;
  port: string;
  bytes: Uint8Array;
}

export interface StepResult {
  out: Sent[];
  counters: Record<string, number>;
}

export interface ReplayResult {
  out: Emitted[];
  summary: ReplaySummary;
  /** Counters that moved, as packets (without ethernet-input's: the fillers move them). */
  counters: Record<string, number>;
}

/** A frame that enters a batch and is dropped first thing: unicast to a MAC no port has. */
function filler(): Uint8Array {
  const b = new Uint8Array(60);
  emitEthernet({ dst: '02:ff:ff:ff:ff:01', src: '02:ff:ff:ff:ff:02', vlans: [], ethertype: ETHERTYPE_IPV4 }, b, 0);
  return b;
}
const FILLER = filler();

function split(ms: number): { sec: number; nsec: number } {
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
}

/**
 * The script as a capture: pcapng with one interface per port (named after
 * it, in config order), or classic pcap (every step must come in on the same
 * port: replay needs --in-port for it). Timestamps are START_MS + at.
 */
export function writeCapture(script: readonly Step[], ports: readonly string[], format: 'pcapng' | 'pcap' = 'pcapng', fillers = true): Uint8Array {
  const sink = new MemorySink();
  const n = fillers ? BATCH_FILLERS : 0;
  if (format === 'pcap') {
    const only = new Set(script.map((s) => s.port));
    if (only.size > 1) throw new Error(`a classic pcap has one interface; this script uses ${[...only].join(', ')}`);
    const w = new PcapWriter(sink, { linkType: LINKTYPE_ETHERNET, nanosecond: true });
    for (const s of script) {
      const { sec, nsec } = split(START_MS + s.at);
      w.write(s.frame, sec, nsec);
      for (let i = 0; i < n; i++) w.write(FILLER, sec, nsec);
    }
    w.close();
    return sink.bytes();
  }
  const w = new PcapngWriter(sink, { interfaces: ports.map((name) => ({ name, linkType: LINKTYPE_ETHERNET })), nanosecond: true });
  for (const s of script) {
    const port = ports.indexOf(s.port);
    if (port < 0) throw new Error(`no port ${s.port}`);
    const { sec, nsec } = split(START_MS + s.at);
    w.write(port, s.frame, sec, nsec);
    for (let i = 0; i < n; i++) w.write(port, FILLER, sec, nsec);
  }
  w.close();
  return sink.bytes();
}

/** Frames of a replay's output capture, with their time (ms from the start) and port. */
export function readOutput(bytes: Uint8Array): Emitted[] {
  const out: Emitted[] = [];
  for (const r of readCapture(bytes)) {
    out.push({ at: r.tsSec * 1000 + r.tsNsec / 1e6 - START_MS, port: String(r.interfaceId), bytes: r.data });
  }
  return out;
}

export class NatFixture {
  readonly h: Harness;
  readonly script: Step[] = [];
  /** Every frame the live run sent, with the step's time. */
  readonly emitted: Emitted[] = [];
  /** Every counter the live run moved (packets), summed over its steps. */
  readonly totals: Record<string, number> = {};
  private last = 0;

  constructor(readonly yaml: string) {
    this.h = new Harness(yaml, {}, { clock: new ManualClock(START_MS) });
  }

  get ports(): string[] {
    return this.h.config.ports.map((p) => p.name);
  }

  /** The packet arrives at `at` ms (its port): one batch through the real run loop, timers and the NAT sweep first. */
  send(at: number, packet: { port: string; frame: Uint8Array }): StepResult {
    if (at < this.last) throw new Error(`step at ${at} ms comes before the previous one (${this.last} ms)`);
    this.last = at;
    this.h.clock.set(START_MS + at);
    this.script.push({ at, port: packet.port, frame: packet.frame.slice() });
    const r = this.h.one(packet.port, packet.frame);
    for (const o of r.out) this.emitted.push({ at, port: o.port, bytes: o.bytes });
    for (const [name, n] of Object.entries(r.counters)) this.totals[name] = (this.totals[name] ?? 0) + n;
    return r;
  }

  /**
   * A batch at `at` ms with nothing for the router in it: timers and the NAT
   * sweep run, as they do live when a poll finds nothing. It carries one
   * frame to another MAC (dropped first thing), so the step is in the script
   * and a replay runs a batch at that time too.
   */
  idle(at: number): StepResult {
    return this.send(at, { port: this.ports[0], frame: FILLER });
  }

  /** The flow table's counters, summed over its workers: live entries (flows, bindings, permits, fragment entries), inserted, evicted, expired... */
  flowStats(): WorkerFlowStats {
    const all = FlowTable.stats(this.h.router.natTables!.buffers.flows);
    const sum = { ...all[0] };
    for (const w of all.slice(1)) for (const k of Object.keys(sum) as (keyof WorkerFlowStats)[]) sum[k] += w[k];
    return sum;
  }

  /** Entries live in the shared table (all workers): flows, bindings, permits, fragment entries. */
  live(): number {
    return this.flowStats().live;
  }

  /**
   * The conntrack state (FlowState name: TCP_ESTABLISHED, UDP_REPLIED, ...)
   * of the flow whose packets arrive as src:sport -> dst:dport, either
   * direction, or undefined when there is none.
   */
  state(src: string, sport: number, dst: string, dport: number, proto = 6): string | undefined {
    const flows = this.h.router.nat!.flows;
    const v = flows.lookup(parseIpv4Address(src) | 0, parseIpv4Address(dst) | 0, ((sport << 16) | dport) | 0, proto);
    if (v < 0) return undefined;
    const st = flows.state(v >> 1) & 63;
    return Object.entries(FlowState).find(([name, n]) => n === st && name !== 'COUNT')?.[0] ?? `state ${st}`;
  }

  /** The recorded script through replayCapture (what `dataplane replay` runs), in a fresh router. */
  replay(format: 'pcapng' | 'pcap' = 'pcapng', fillers = true): ReplayResult {
    const capture = writeCapture(this.script, this.ports, format, fillers);
    const sink = new MemorySink();
    const inPort = format === 'pcap' ? this.script[0]?.port : undefined;
    const summary = replayCapture(this.h.config, capture, sink, { inPort });
    return { out: this.named(readOutput(sink.bytes())), summary, counters: packets(summary.counters) };
  }

  /** The recorded script through the `dataplane replay` command (dist/), as a pcapng file in `dir`. */
  replayCommand(dir: string): ReplayResult {
    const input = join(dir, 'in.pcapng');
    const output = join(dir, 'out.pcapng');
    const config = join(dir, 'router.yaml');
    writeFileSync(input, writeCapture(this.script, this.ports));
    writeFileSync(config, this.yaml);
    const r = dataplane(['replay', input, '--config', config, '--out', output, '--json']);
    if (r.status !== 0) throw new Error(`dataplane replay exited ${r.status}: ${r.stderr}`);
    const summary = JSON.parse(r.stdout) as ReplaySummary;
    return { out: this.named(readOutput(readFileSync(output))), summary, counters: packets(summary.counters) };
  }

  /** Counters the live run moved, as a replay reports them (without the fillers' ethernet-input and ip4-fast counts). */
  liveCounters(): Record<string, number> {
    return withoutFillers(this.totals);
  }

  private named(frames: Emitted[]): Emitted[] {
    const names = this.ports;
    return frames.map((e) => ({ ...e, port: names[Number(e.port)] }));
  }
}

function withoutFillers(c: Record<string, number>): Record<string, number> {
  // ip4-fast (the fast path, in front of ethernet-input) looks at every frame of a batch too.
  return Object.fromEntries(Object.entries(c).filter(([name]) => !name.startsWith('ethernet-input/') && !name.startsWith('ip4-fast/')));
}

function packets(c: Record<string, { packets: number }>): Record<string, number> {
  return withoutFillers(Object.fromEntries(Object.entries(c).map(([name, v]) => [name, v.packets])));
}

/** Frames as comparable lines: "at port hex", sorted (the graph's order within a batch is by node, not arrival). */
export function lines(frames: readonly Emitted[]): string[] {
  return frames.map((f) => `${f.at} ${f.port} ${Buffer.from(f.bytes).toString('hex')}`).sort();
}

/**
 * Replays the fixture's script with the `dataplane replay` command (a pcapng
 * in `dir`) and expects what the live run did: the same frames out, at the
 * same times, by the same ports, and the same counters.
 */
export function expectSameOnReplay(fx: NatFixture, dir: string): ReplayResult {
  const r = fx.replayCommand(dir);
  expect(lines(r.out)).toEqual(lines(fx.emitted));
  expect(r.counters).toEqual(fx.liveCounters());
  return r;
}
