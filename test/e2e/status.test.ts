// What `dataplane run` tells an operator while it runs: the status lines name
// the drop reasons that grew since the last line, and SIGUSR1 prints every
// counter without stopping the dataplane.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { LAB } from '../../src/lab/topology.js';
import { skipIf } from '../skip.js';
import { e2eSkipReason, nsExec, uniquePrefix } from './suite.js';

const skip = e2eSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('dataplane run status and SIGUSR1', skipIf(skip), () => {
  let lab: LabState | undefined;
  let prefix = '';

  beforeAll(async () => {
    prefix = await uniquePrefix('dpe2e-st');
    lab = await labUp({ prefix, ports: 'tap', engine: 'dataplane', workers: 2, readyTimeoutMs: 10_000 });
  }, 30_000);

  afterAll(async () => {
    if (prefix !== '') await labDown(prefix);
  }, 30_000);

  const log = () => readFileSync(lab!.logPath, 'utf8');

  it('status lines name the drop reasons of the last interval', async () => {
    // Pings to a network no route covers: ip4-lookup/no-route, for longer than a status interval (2 s).
    nsExec(lab!.names.client, ['ping', '-n', '-c12', '-i0.25', '-W1', LAB.unrouted], 10_000);
    await sleep(2200);
    const status = log()
      .split('\n')
      .filter((l) => l.includes(' pps'));
    expect(status.some((l) => /drops since last: ip4-lookup\/no-route [1-9]\d*/.test(l)), status.join('\n')).toBe(true);
  });

  it('SIGUSR1 prints every counter and the dataplane goes on', async () => {
    const before = log().length;
    process.kill(lab!.pid, 'SIGUSR1');
    await sleep(500);
    const printed = log().slice(before);
    expect(printed).toContain('counters (SIGUSR1) ports:');
    expect(printed).toMatch(/lan +rx \d+ \(\d+ B\): forwarded \d+, dropped \d+, to the router \d+, queued for ARP \d+/);
    expect(printed).toMatch(/ip4-lookup\/no-route +\d+/);
    // Still forwarding.
    const r = nsExec(lab!.names.client, ['ping', '-n', '-c2', '-i0.2', '-W2', LAB.server.addr]);
    expect(r.status, r.out).toBe(0);
  });
});
