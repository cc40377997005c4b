// A machine without ping (and without ethtool): run with a PATH that lacks
// them (test/path-without.ts), `dataplane lab up`, `dataplane demo` and the
// tests say which tool is missing and which Debian package has it, before
// building anything, instead of blaming the router ("did not answer a ping")
// or failing with `expected 1 to be +0`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNetns } from '../../src/host/commands.js';
import { stateDir } from '../../src/lab/lab.js';
import { labUnavailable } from '../../src/lab/lab-error.js';
import { CLI } from '../cli-run.js';
import { pathWithout, type PathWithout } from '../path-without.js';
import { skipIf } from '../skip.js';
import { uniquePrefix } from './suite.js';

const ROOT = join(import.meta.dirname, '..', '..');
const NO_PING = 'ping is not installed: apt-get install -y iputils-ping';
const skip = labUnavailable() ?? (existsSync('/dev/net/tun') ? undefined : 'no /dev/net/tun (load the tun module)');

function run(env: NodeJS.ProcessEnv, args: string[], timeout = 60_000): { status: number; pid: number; out: string; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { env, cwd: ROOT, encoding: 'utf8', timeout });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, pid: r.pid, out: r.stdout + r.stderr, stdout: r.stdout, stderr: r.stderr };
}

const namespacesOf = (prefix: string): string[] => listNetns().filter((n) => n.startsWith(`${prefix}-`));

describe('without ping or ethtool on PATH', skipIf(skip), () => {
  let noPing: PathWithout;
  let noPingEthtool: PathWithout;
  let prefix = '';
  let tmp = '';

  beforeAll(async () => {
    noPing = pathWithout(['ping']);
    noPingEthtool = pathWithout(['ping', 'ethtool']);
    prefix = await uniquePrefix('dpe-nop');
    tmp = mkdtempSync(join(tmpdir(), 'dp-missing-tools-'));
  });

  afterAll(() => {
    noPing?.remove();
    noPingEthtool?.remove();
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('lab up names the missing tool and its package, and builds nothing', () => {
    const r = run(noPing.env, [CLI, 'lab', 'up', '--prefix', prefix]);
    expect(r.status, r.out).toBe(1);
    expect(r.stderr.trim()).toBe(`dataplane lab up: ${NO_PING}`);
    expect(namespacesOf(prefix)).toEqual([]);
    expect(existsSync(stateDir(prefix))).toBe(false);
  });

  it('lab up asks for ethtool only where it turns veth offloads off (afpacket ports without --offload)', () => {
    const afp = run(noPingEthtool.env, [CLI, 'lab', 'up', '--prefix', prefix, '--ports', 'afpacket']);
    expect(afp.stderr.trim()).toBe('dataplane lab up: ethtool and ping are not installed: apt-get install -y ethtool iputils-ping');
    const offload = run(noPingEthtool.env, [CLI, 'lab', 'up', '--prefix', prefix, '--ports', 'afpacket', '--offload']);
    expect(offload.stderr.trim()).toBe(`dataplane lab up: ${NO_PING}`);
    expect(namespacesOf(prefix)).toEqual([]);
  });

  it('demo says ping is missing and replays offline, without building a lab or blaming the router', () => {
    const r = run(noPing.env, [CLI, 'demo']);
    expect(r.status, r.out).toBe(0);
    expect(r.stdout).toContain(`The live lab could not be built: ${NO_PING}`);
    expect(r.stdout).toContain('dataplane demo: offline replay');
    expect(r.out).not.toMatch(/did not answer/);
    expect(namespacesOf(`dp-demo-${r.pid.toString(36)}`)).toEqual([]);
  });

  it('vitest (default reporter): the e2e demo suite and the io ping tests skip, and the summary says why', () => {
    // The project's config as it is, minus the global setup (this run built dist/ already; a
    // second tsc rewriting it could be read half-written by tests running meanwhile) and typecheck.
    const config = join(tmp, 'vitest.config.mjs');
    writeFileSync(
      config,
      `import base from ${JSON.stringify(join(ROOT, 'vitest.config.ts'))};
export default { ...base, root: ${JSON.stringify(ROOT)}, test: { ...base.test, globalSetup: [], typecheck: { ...base.test.typecheck, enabled: false } } };\n`,
    );
    const env = Object.fromEntries(Object.entries(noPing.env).filter(([k]) => !k.startsWith('VITEST')));
    const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
    const r = run({ ...env, NO_COLOR: '1' }, [vitest, 'run', '--config', config, 'test/e2e/demo.test.ts', 'test/io/tap.test.ts'], 90_000);
    expect(r.status, r.out).toBe(0);
    const summary = r.stdout.slice(r.stdout.indexOf('Skipped, and why'));
    expect(summary, r.out).toMatch(/^Skipped, and why \(3\):/);
    const lines = summary.split('\n').map((l) => l.trim());
    expect(lines[1]).toBe(NO_PING);
    expect(lines.slice(2, 5).sort()).toEqual([
      '- test/e2e/demo.test.ts > dataplane demo, live',
      '- test/io/tap.test.ts > TapPort (IFF_VNET_HDR) with the kernel side in a namespace > receives the ARP request and echo request of a ping, and the kernel takes our replies (ping succeeds)',
      '- test/io/tap.test.ts > TapPort with the kernel side in a namespace > receives the ARP request and echo request of a ping, and the kernel takes our replies (ping succeeds)',
    ]);
  }, 100_000);
});
