// The tool -> Debian package table (src/host/tools.ts) and the lookups the
// lab, the demo and the tests make with it: against PATHs built for the test
// (no mocks), the shell's own `command -v`, and dpkg's idea of which package
// ships each installed tool.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labTools } from '../../src/lab/lab.js';
import { haveCommand, missingToolsMessage, TOOL_PACKAGES, type Tool } from '../../src/host/tools.js';
import { pathWithout, type PathWithout } from '../path-without.js';
import { skipIf } from '../skip.js';

const TOOLS = Object.keys(TOOL_PACKAGES) as Tool[];

describe('missing tools, by PATH', () => {
  let dir = '';
  let noPing: PathWithout;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dp-tools-'));
    noPing = pathWithout(['ping']);
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    noPing?.remove();
  });

  it('names the missing tool and its package, and nothing when all are there', () => {
    const ping = haveCommand('ping') ? undefined : 'ping is not installed: apt-get install -y iputils-ping';
    expect(missingToolsMessage(['ping'])).toBe(ping);
    expect(missingToolsMessage(['ip', 'ping'], noPing.path)).toBe('ping is not installed: apt-get install -y iputils-ping');
    expect(haveCommand('ip', noPing.path)).toBe(haveCommand('ip'));
  });

  it('lists several once each, a package once even for two of its tools', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect(missingToolsMessage(['ping', 'ethtool', 'ping'], empty)).toBe('ping and ethtool are not installed: apt-get install -y iputils-ping ethtool');
    expect(missingToolsMessage(['tshark', 'capinfos', 'mergecap'], empty)).toBe('tshark, capinfos and mergecap are not installed: apt-get install -y tshark wireshark-common');
  });

  it('counts only executable files: not a directory, not a file without x, and finds one in any PATH entry', () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    mkdirSync(join(a, 'ping'), { recursive: true });
    mkdirSync(b);
    writeFileSync(join(b, 'ping'), '#!/bin/sh\n');
    chmodSync(join(b, 'ping'), 0o644);
    expect(haveCommand('ping', `${a}:${b}`)).toBe(false);
    chmodSync(join(b, 'ping'), 0o755);
    expect(haveCommand('ping', `${a}::${b}`)).toBe(true);
    expect(missingToolsMessage(['ping'], `${a}:${b}`)).toBeUndefined();
  });

  it('agrees with the shell`s command -v for every tool in the table', () => {
    for (const t of TOOLS) {
      const sh = spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status === 0;
      expect(haveCommand(t), t).toBe(sh);
    }
  });

  it('asks for what each lab needs: ethtool only where the lab turns veth offloads off, ping only where it waits for a router', () => {
    const base = { prefix: 'x', workers: 1 } as const;
    expect(labTools({ ...base, ports: 'tap', engine: 'dataplane' })).toEqual(['ip', 'sysctl', 'ping']);
    expect(labTools({ ...base, ports: 'afpacket', engine: 'dataplane' })).toEqual(['ip', 'sysctl', 'ethtool', 'ping']);
    expect(labTools({ ...base, ports: 'afpacket', engine: 'dataplane', offload: true })).toEqual(['ip', 'sysctl', 'ping']);
    expect(labTools({ ...base, ports: 'afpacket', engine: 'kernel' })).toEqual(['ip', 'sysctl', 'ping']);
    expect(labTools({ ...base, ports: 'afpacket', engine: 'none' })).toEqual(['ip', 'sysctl', 'ethtool']);
  });
});

/** Which package dpkg says owns each of `files` (trying /usr-merged twins too): one dpkg-query for all. */
function owners(files: readonly string[]): Map<string, string> {
  const twins = (f: string) => [f, ...['/bin', '/usr/bin', '/sbin', '/usr/sbin'].map((d) => join(d, basename(f)))];
  const r = spawnSync('dpkg-query', ['-S', ...new Set(files.flatMap(twins))], { encoding: 'utf8' });
  const byPath = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const at = line.indexOf(': ');
    if (at > 0) byPath.set(line.slice(at + 2), line.slice(0, at).split(',')[0].split(':')[0]);
  }
  const out = new Map<string, string>();
  for (const f of files) {
    const pkg = twins(f).map((t) => byPath.get(t)).find((p) => p !== undefined);
    if (pkg !== undefined) out.set(f, pkg);
  }
  return out;
}

/** The packages installing `pkg` brings along directly (Depends and Pre-Depends), names only. */
function directDependencies(pkg: string): string[] {
  const r = spawnSync('apt-cache', ['show', '--no-all-versions', pkg], { encoding: 'utf8' });
  const fields = r.stdout.split('\n').filter((l) => /^(Pre-)?Depends:/.test(l));
  return fields.flatMap((l) => l.replace(/^[^:]+:/, '').split(/[,|]/).map((d) => d.trim().split(/[\s:(]/)[0]));
}

const noDpkg = spawnSync('dpkg-query', ['--version'], { stdio: 'ignore' }).status === 0 ? undefined : 'not a Debian system (no dpkg-query)';

describe('the table against dpkg', () => {
  it('names, for each installed tool, the package that ships it (or one that depends on it)', skipIf(noDpkg), () => {
    const installed = new Map<Tool, string>();
    for (const t of TOOLS) {
      const found = spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).stdout.trim();
      if (found !== '') installed.set(t, realpathSync(found));
    }
    const byFile = owners([...installed.values()]);
    let checked = 0;
    for (const [t, file] of installed) {
      const pkg = byFile.get(file);
      if (pkg === undefined) continue; // not from a package (pyenv, a static docker binary)
      checked++;
      const named = TOOL_PACKAGES[t];
      if (pkg !== named) expect(directDependencies(named), `${t} is in ${pkg}, the table says ${named}`).toContain(pkg);
    }
    // This machine has the lab's tools, so the check checked something.
    expect(checked).toBeGreaterThan(3);
  });
});
