// The firewall truth table through replay: per case, a capture of one TCP
// SYN per (from, to, port) probe, each arriving on the sending pod's port,
// run through replayCapture with the case's config; a SYN that leaves by the
// destination pod's port is reachable. The observed matrices must be the
// hand-written expected ones (test/firewall/truth/cases.ts); on a mismatch
// both are printed as upstream's netpol tests print them.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { LINKTYPE_ETHERNET } from '../../src/pcap/link-type.js';
import { readCapture } from '../../src/pcap/reader.js';
import { MemorySink, PcapngWriter } from '../../src/pcap/writer.js';
import { replayCapture } from '../../src/replay/replay.js';
import { tcpSynFrame } from '../pipeline/build.js';
import { tupleOf, type Tuple } from '../nat/packets.js';
import { CASES, compareMatrices, PODS, probes, Reachability, type Port, type TruthCase } from './truth/cases.js';
import { podMac, portName, routerMac, truthConfigYaml } from './truth/config.js';

const TCP_SYN = 0x02;

/** The case's probes as a pcapng capture: interface i is port i (pod i), one SYN per probe, 1 ms apart, each with its own source port. */
function probeCapture(): { bytes: Uint8Array; count: number; sportOf: Map<number, { from: number; to: number; port: Port }> } {
  const sink = new MemorySink();
  const w = new PcapngWriter(sink, { interfaces: PODS.map((p) => ({ name: portName(p), linkType: LINKTYPE_ETHERNET })), nanosecond: true });
  const sportOf = new Map<number, { from: number; to: number; port: Port }>();
  let n = 0;
  for (const { from, to, port } of probes()) {
    const sport = 20000 + n;
    sportOf.set(sport, { from: from.index, to: to.index, port });
    w.write(from.index, tcpSynFrame({ src: from.address, dst: to.address, srcMac: podMac(from), dstMac: routerMac(from) }, sport, port), 1000, n * 1_000_000);
    n++;
  }
  w.close();
  return { bytes: sink.bytes(), count: n, sportOf };
}

function runCase(c: TruthCase) {
  const config = parseConfig(truthConfigYaml(c), `truth: ${c.name}`, '.');
  expect(config.firewall, 'the config compiles to a firewall').toBeDefined();
  const capture = probeCapture();
  const out = new MemorySink();
  const summary = replayCapture(config, capture.bytes, out);
  const observed: Record<Port, Reachability> = { 80: new Reachability(false), 81: new Reachability(false) };
  const strays: string[] = [];
  let rejects = 0;
  const isProbe = (t: Tuple, p: { from: number; to: number; port: Port }) => t.proto === 6 && t.src === PODS[p.from].address && t.dst === PODS[p.to].address && t.dport === p.port;
  for (const r of readCapture(out.bytes())) {
    const t = tupleOf(r.data);
    const probe = t.proto === 6 ? capture.sportOf.get(t.sport) : undefined;
    const quoted = t.quoted && capture.sportOf.get(t.quoted.sport);
    // Reachable: the probe's own SYN, unchanged, leaving by the destination pod's port.
    if (probe !== undefined && r.interfaceId === probe.to && isProbe(t, probe) && r.data[14 + 20 + 13] === TCP_SYN) {
      observed[probe.port].expect(PODS[probe.from].id, PODS[probe.to].id, true);
    } else if (t.type === 3 && t.code === 13 && quoted !== undefined && isProbe(t.quoted!, quoted) && r.interfaceId === quoted.from && t.dst === PODS[quoted.from].address && t.checksumsOk) {
      // Rejected: ICMP administratively prohibited, back to the sender by its own port, quoting its SYN.
      rejects++;
    } else strays.push(`${portName(PODS[r.interfaceId])}: ${t.src}:${t.sport} > ${t.dst}:${t.dport}/${t.proto} type ${t.type} code ${t.code}`);
  }
  return { summary, observed, strays, rejects, count: capture.count };
}

/** How many of a case's probes it expects to be reachable. */
function expectedAllowed(c: TruthCase): number {
  let n = 0;
  for (const { from, to, port } of probes()) if (c.expected[port].get(from.index, to.index)) n++;
  return n;
}

describe('firewall truth table (replay): 9 pods in namespaces x, y, z; every pod to every other on TCP 80 and 81', () => {
  it('has at least 15 cases, all named differently', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(15);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  for (const c of CASES) {
    it(c.name, () => {
      const { summary, observed, strays, rejects, count } = runCase(c);
      expect(summary.framesRead).toBe(count);
      const { ok, report } = compareMatrices(c, observed);
      expect(ok, report).toBe(true);
      // Every probe was judged once: allowed ones counted as allowed, the rest denied or rejected (each reject answered with ICMP 3/13).
      const counter = (name: string) => summary.counters[`firewall/${name}`]?.packets ?? 0;
      const allowed = expectedAllowed(c);
      expect(counter('allowed'), report).toBe(allowed);
      expect(counter('denied') + counter('rejected'), report).toBe(count - allowed);
      expect(counter('rejected'), report).toBe(c.rejects ?? 0);
      expect(rejects, 'rejects answered with ICMP 3/13 to the sender, quoting its SYN').toBe(c.rejects ?? 0);
      expect(strays, "frames that are neither a probe's SYN at its destination nor a reject of one").toEqual([]);
    });
  }
});
