// `dataplane run --cpus LIST`: each packet worker thread runs only on its CPU
// of the list (the kernel's own word for it, /proc/PID/task/TID/status
// Cpus_allowed_list), the start line and `ctl status` say where, the other
// threads keep the process's CPUs, and packets still flow. Lists that cannot
// pin the workers stop `run` at once with exit status 2 and the reason.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labUp, type LabState } from '../../src/lab/lab.js';
import { LAB } from '../../src/lab/topology.js';
import { loadNative, nativeAvailable } from '../../src/io/native.js';
import { skipIf } from '../skip.js';
import { dataplane } from '../cli-run.js';
import { e2eSkipReason, nsExec, uniquePrefix } from './suite.js';

const skip = e2eSkipReason();
const allowed = nativeAvailable() ? loadNative().threadGetAffinity() : [];

/** Cpus_allowed_list of every thread of `pid`. */
function threadCpuLists(pid: number): string[] {
  const out: string[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.push(/^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1]);
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return out;
}

describe('run --cpus pins the workers', skipIf(skip ?? (allowed.length < 2 ? `needs 2 CPUs this process may use (it may use ${allowed.join(',')})` : undefined)), () => {
  let lab: LabState | undefined;
  let prefix = '';
  // The last two allowed CPUs, backwards: worker 0 on the higher one shows the list's order is kept.
  const cpus = allowed.slice(-2).reverse();
  const processList = () => threadCpuLists(process.pid)[0];

  beforeAll(async () => {
    prefix = await uniquePrefix('cpus-e2e');
    lab = await labUp({ prefix, ports: 'tap', engine: 'dataplane', workers: 2, cpus: cpus.join(','), readyTimeoutMs: 10_000 });
  }, 30_000);

  afterAll(async () => {
    if (prefix !== '') await labDown(prefix);
  }, 30_000);

  it('runs one thread on each listed CPU, the others where the process may run, and forwards', () => {
    const lists = threadCpuLists(lab!.pid);
    for (const c of cpus) expect(lists.filter((l) => l === String(c)), lists.join(' | ')).toHaveLength(1);
    // The main thread and Node's own threads are not pinned.
    expect(lists.filter((l) => !cpus.map(String).includes(l)).every((l) => l === processList()), lists.join(' | ')).toBe(true);
    const r = nsExec(lab!.names.client, ['ping', '-n', '-c3', '-i0.2', '-W2', LAB.server.addr]);
    expect(r.status, r.out).toBe(0);
  });

  it('says where each worker runs: the start line and ctl status', () => {
    const log = readFileSync(lab!.logPath, 'utf8');
    expect(log).toContain(`dataplane running: 2 workers on CPUs ${cpus.join(',')} (worker i on the i-th)`);
    const st = dataplane(['ctl', '--socket', lab!.controlSocket!, 'status', '--json']);
    expect(st.status, st.stderr).toBe(0);
    expect(JSON.parse(st.stdout)).toMatchObject({ workers: 2, worker_cpus: cpus });
  });
});

describe('run --cpus refuses a list that cannot pin the workers', skipIf(nativeAvailable() ? undefined : 'the native addon is not built'), () => {
  // Refused before any port is set up: the TAP this config names is never made.
  const config = `/tmp/dp-cpus-test-${process.pid}.yaml`;
  beforeAll(() => writeFileSync(config, 'ports:\n  - name: lan\n    address: 192.0.2.1/24\n    io: { type: tap, ifname: dpcpustest0 }\n'));
  afterAll(() => rmSync(config, { force: true }));

  it('with exit status 2 and the reason', () => {
    let absent = 0;
    while (allowed.includes(absent)) absent++;
    const cases: [string[], string][] = [
      [['--cpus', '0,0'], "--cpus: CPU 0 is listed twice in '0,0'"],
      [['--cpus', '1-x'], "--cpus: '1-x' is not a CPU number or a range N-M"],
      [['--cpus', String(allowed[0]), '--workers', '2'], `--cpus: 1 CPU (${allowed[0]}) for 2 workers: each worker needs a CPU of its own`],
      [['--cpus', String(absent)], `--cpus: CPU ${absent} is not one this process may run on`],
    ];
    for (const [args, message] of cases) {
      const r = dataplane(['run', '--config', config, ...args]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });
});
