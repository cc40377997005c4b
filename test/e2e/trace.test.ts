// `dataplane run --trace` live: a lab with two workers, pings from the client
// to the server, and the trace file read back by tshark once the dataplane
// stopped: each echo request in on lan and out on wan, each reply the other
// way, with the node verdicts as comments.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, logTail, type LabState } from '../../src/lab/lab.js';
import { LAB } from '../../src/lab/topology.js';
import { skipIf } from '../skip.js';
import { e2eSkipReason, nsExec, uniquePrefix } from './suite.js';

const skip = e2eSkipReason(['tshark']);

describe('dataplane run --trace (2 workers)', skipIf(skip), () => {
  let lab: LabState | undefined;
  let prefix = '';
  const dir = mkdtempSync(join(os.tmpdir(), 'dp-e2e-trace-'));
  const file = join(dir, 'trace.pcapng');

  beforeAll(async () => {
    prefix = await uniquePrefix('dpe2e-tr');
    // Only pings between client and server: the lab's own readiness pings (to the router) are not picked.
    lab = await labUp({ prefix, ports: 'tap', engine: 'dataplane', workers: 2, trace: { file, filter: `icmp and host ${LAB.client.addr} and host ${LAB.server.addr}`, count: 4 }, readyTimeoutMs: 10_000 });
  }, 30_000);

  afterAll(async () => {
    if (prefix !== '') await labDown(prefix);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('writes each traced packet in and out with its path, complete when the dataplane stops', async () => {
    const r = nsExec(lab!.names.client, ['ping', '-n', '-c3', '-i0.2', '-W2', LAB.server.addr]);
    expect(r.status, r.out).toBe(0);
    const log = logTail(lab!, 40);
    const down = await labDown(prefix);
    prefix = '';
    expect(down.stopped?.how).toBe('SIGTERM');
    expect(existsSync(file), log).toBe(true);
    const t = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=\t', '-E', 'aggregator=^', '-e', 'frame.interface_name', '-e', 'icmp.type', '-e', 'frame.comment'], { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    const rows = t.stdout.trim().split('\n').map((l) => l.split('\t'));
    const why = `trace file (interface, ICMP type, comments):\n${t.stdout}\nlog:\n${log}`;
    // The budget is 4: three requests and the first reply (or two of each, depending on which worker's batch came first): 8 frames.
    expect(rows, why).toHaveLength(8);
    const ins = rows.filter((row) => row[2].split('^')[0].includes(': in '));
    const outs = rows.filter((row) => row[2].split('^')[0].includes(': out '));
    expect(ins, why).toHaveLength(4);
    expect(outs, why).toHaveLength(4);
    // Which datagram an out record is comes from its path (ip4-input's line), not from the frame: where the
    // worker had no neighbor entry yet, the frame sent is the ARP request, and the datagram waits for the reply.
    for (const [iface, type, comments] of outs) {
      const path = comments.split('^');
      const request = path.some((l) => l.startsWith('ip4-input -> ip4-lookup: ') && l.includes(' icmp type 8 '));
      const [port, echoType] = request ? ['wan', '8'] : ['lan', '0'];
      expect(iface, why).toBe(port);
      expect(path, why).toContain('ip4-rewrite -> ip4-output: ttl 64 -> 63');
      if (path.at(-1) === `arp-resolve -> out ${port}: sent an ARP request; the datagram waits for the reply`) expect(type, why).toBe('');
      else {
        expect(type, why).toBe(echoType);
        expect(path.at(-1), why).toBe(`ip4-output -> out ${port}`);
      }
      expect(path.some((l) => l.startsWith('ip4-lookup -> ip4-rewrite: route ')), why).toBe(true);
    }
  });
});
