// `dataplane demo` as root: the live lab demo, end to end, and nothing left
// behind. (Not root, it is the offline replay, tested elsewhere.)
import { afterAll, describe, expect, it } from 'vitest';
import { listNetns } from '../../src/host/commands.js';
import { dataplane } from '../cli-run.js';
import { skipIf } from '../skip.js';
import { e2eSkipReason, processesMentioning } from './suite.js';

const skip = e2eSkipReason();

describe('dataplane demo, live', skipIf(skip), () => {
  let prefix = '';
  afterAll(() => {
    if (prefix !== '') expect(listNetns().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
  });

  it('sends real traffic through dataplane run and tears the lab down', () => {
    const t0 = Date.now();
    const r = dataplane(['demo']);
    prefix = /namespaces (dp-demo-[0-9a-z]+)-\*/.exec(r.stdout)?.[1] ?? '';
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dataplane demo: live/);
    expect(r.stdout).toMatch(/ttl=63/);
    expect(r.stdout).toMatch(/Destination Net Unreachable/);
    expect(r.stdout).toMatch(/^ {3}1 {2}192\.0\.2\.1 /m);
    expect(r.stdout).not.toMatch(/NOT as expected/);
    // The commands it shows run as shown: curl's -w format is one quoted word.
    expect(r.stdout).toMatch(/^\$ curl .* -w '%\{http_code\} %\{size_download\} bytes in %\{time_total\} s \(%\{speed_download\} B\/s\)\\n' http:\/\/198\.51\.100\.10:8080\/file\.bin$/m);
    expect(r.stdout).toMatch(/stopped\. ports:/);
    expect(prefix).not.toBe('');
    expect(processesMentioning(`/run/dataplane-lab/${prefix}/`)).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(60_000);
  }, 70_000);
});
