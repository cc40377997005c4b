// native/src/checksum.h is header-only C++ that the addon inlines into its
// receive loops, where no JavaScript can call it alone: this builds
// checksum-check.cc against it with the C++ compiler node-gyp uses and runs
// it. SumWords (words at a time) must equal the byte-pair sum it replaced,
// and CompleteUnmarkedPartialChecksum (AF_XDP's receive) must complete every
// partial checksum, leave every correct one valid, and leave alone what is
// neither (UDP without a checksum, fragments, cut frames, damage).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipIf } from '../skip.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CXX = process.env.CXX ?? 'g++';
const hasCompiler = spawnSync(CXX, ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'dp-checksum-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('native/src/checksum.h', skipIf(hasCompiler ? undefined : `no C++ compiler (${CXX}; Debian package build-essential)`), () => {
  it('sums words as the byte-pair sum does; completes partial checksums that AF_XDP hands over, and only those', () => {
    const exe = join(dir, 'checksum-check');
    const build = spawnSync(CXX, ['-std=c++17', '-O2', '-Wall', '-Wextra', '-Werror', '-I', join(ROOT, 'native', 'src'), join(import.meta.dirname, 'checksum-check.cc'), '-o', exe], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const run = spawnSync(exe, [], { encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toEqual(['sum-words ok', 'partial-completed ok (20000)', 'left-alone ok']);
  }, 60_000);
});
