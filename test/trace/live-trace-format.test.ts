// The live trace (`ctl trace read`) as it really runs: a worker's router
// judges and records the packets, the main thread's router (built from the
// same config, judging nothing) formats the records. The firewall's outcome
// ids are interned per router as traffic meets them, so a record must not
// need the worker's table to be read: the trace named rule 0 ("denied by
// allow-web") for every verdict, allowed ones too, while `explain` and
// `replay --trace` (one thread) named the rule that decided.
import { describe, expect, it } from 'vitest';
import { Router } from '../../src/pipeline/router.js';
import { compileFib } from '../../src/route/fib.js';
import { parseTraceFilter } from '../../src/trace/filter.js';
import { TraceFormatter } from '../../src/trace/format.js';
import { describeContext } from '../../src/trace/session.js';
import { PacketTracer, TraceBudget } from '../../src/trace/tracer.js';
import type { TracedPacket } from '../../src/trace/traced-packet.js';
import { HOST_MAC, ROUTER_MAC, tcpSynFrame } from '../pipeline/build.js';
import { BASE_CONFIG, Harness } from '../pipeline/harness.js';

const CONFIG = `${BASE_CONFIG}endpoints:
  - { address: 198.51.100.10, labels: { app: web } }
  - { address: 192.0.2.10, labels: { app: client } }
firewall:
  rules:
    - { name: allow-web, direction: ingress, priority: 1000, action: allow, protocols: [{ protocol: tcp, ports: [80, 5201] }], targets: { labels: { app: web } } }
    - { name: deny-ssh, direction: ingress, priority: 500, action: deny, protocols: [{ protocol: tcp, ports: [22] }] }
    - { name: reject-9999, direction: ingress, priority: 500, action: reject, protocols: [{ protocol: udp, ports: [9999] }] }
`;
const FROM_CLIENT = { src: '192.0.2.10', dst: '198.51.100.10', srcMac: HOST_MAC, dstMac: ROUTER_MAC };

/** The worker's side: traces every packet sent; returns the traced packets. */
function traceOnWorker(worker: Harness, frames: Uint8Array[]): TracedPacket[] {
  const traced: TracedPacket[] = [];
  const filter = parseTraceFilter('', worker.config.ports.map((p) => p.name));
  worker.loop.setTracer(new PacketTracer(worker.router.graph, filter, new TraceBudget(100), (p) => traced.push(p), 0));
  for (const f of frames) worker.one('lan', f);
  return traced;
}

describe('live trace: records from a worker, formatted on the main thread', () => {
  it('names the rule that decided, denied or allowed, whatever order each thread met the outcomes in', () => {
    const worker = new Harness(CONFIG);
    // Outcomes the worker met before the trace started: the traced ones get ids the main thread never gave.
    worker.one('lan', tcpSynFrame(FROM_CLIENT, 40000, 80));
    const [ssh, iperf] = traceOnWorker(worker, [tcpSynFrame(FROM_CLIENT, 40001, 22), tcpSynFrame(FROM_CLIENT, 40002, 5201)]);
    const compiled = compileFib(worker.config);
    const main = new Router(worker.config, compiled.fib, compiled.nexthops, { batchCapacity: worker.batch.capacity, maxFrame: worker.batch.maxFrame });
    const formatter = new TraceFormatter(main.graph.nodes, describeContext(worker.config, compiled));
    const sshLines = formatter.lines(ssh.records).join('\n');
    expect(sshLines).toContain('firewall/denied: dropped: denied by deny-ssh (vpc ingress priority 500 deny)');
    expect(sshLines).not.toContain('allow-web');
    const iperfLines = formatter.lines(iperf.records).join('\n');
    expect(iperfLines).toContain('firewall -> nat-output: allowed by implied-allow-egress (implied egress priority 65535 allow), allowed by allow-web (vpc ingress priority 1000 allow)');
    expect(iperfLines).not.toContain('denied');
  });

  it('says so, rather than naming a rule of the new plan by the old index, when the rule set was replaced since', () => {
    const worker = new Harness(CONFIG);
    const [ssh] = traceOnWorker(worker, [tcpSynFrame(FROM_CLIENT, 40001, 22)]);
    const compiled = compileFib(worker.config);
    const main = new Router(worker.config, compiled.fib, compiled.nexthops, { batchCapacity: worker.batch.capacity, maxFrame: worker.batch.maxFrame });
    main.firewall!.publish(main.firewall!.judge);
    const formatter = new TraceFormatter(main.graph.nodes, describeContext(worker.config, compiled));
    expect(formatter.lines(ssh.records).join('\n')).toContain('firewall/denied: dropped: judged by firewall generation 1, replaced since (now 2)');
  });
});
