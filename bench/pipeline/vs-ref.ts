// The pipeline benchmark against the code of another git revision, in the
// same run: `npm run bench -- pipeline --vs REF`. REF is checked out into a
// temporary worktree and built there; then the forwarding benchmark of this
// tree and of REF run in turn, A B A B ..., each in a fresh process, and the
// ratio is taken pair by pair (so a machine whose speed drifts during the run
// still compares like with like). This is how a change that must cost
// nothing measurable (the packet trace when off: <= 2%) is held to it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { BenchRow, BenchTarget } from '../lib/report.js';
import { PROJECT_ROOT } from '../lib/paths.js';

const ONE_RUN = (dist: string) => `
const { runForwardBench } = await import(${JSON.stringify(join(dist, 'bench', 'pipeline', 'forward.js'))});
const { rows } = await runForwardBench();
process.stdout.write(String(rows[0].value));`;

function forwardMpps(dist: string): number {
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', ONE_RUN(dist)], { encoding: 'utf8', timeout: 300_000 });
  const v = Number(r.stdout.trim().split('\n').at(-1));
  if (r.status !== 0 || !Number.isFinite(v)) throw new Error(`forward bench in ${dist} failed: ${r.stderr.slice(-2000)}`);
  return v;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Checks out and builds `ref` in a temporary worktree; returns its dist/ and a cleanup function. */
function buildRef(ref: string): { dist: string; sha: string; cleanup: () => void } {
  const git = (...args: string[]) => execFileSync('git', ['-C', PROJECT_ROOT, ...args], { encoding: 'utf8' }).trim();
  const sha = git('rev-parse', '--verify', `${ref}^{commit}`);
  const dir = mkdtempSync(join(os.tmpdir(), `dp-bench-${sha.slice(0, 8)}-`));
  rmSync(dir, { recursive: true, force: true });
  git('worktree', 'add', '--detach', dir, sha);
  const cleanup = () => {
    spawnSync('git', ['-C', PROJECT_ROOT, 'worktree', 'remove', '--force', dir]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    symlinkSync(join(PROJECT_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    execFileSync(process.execPath, [join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { stdio: 'inherit' });
    if (!existsSync(join(dir, 'dist', 'bench', 'pipeline', 'forward.js'))) throw new Error(`${ref} has no bench/pipeline/forward.ts`);
  } catch (e) {
    cleanup();
    throw e;
  }
  return { dist: join(dir, 'dist'), sha, cleanup };
}

export async function runPipelineVsRef(ref: string, rounds: number): Promise<{ rows: BenchRow[]; targets: BenchTarget[] }> {
  const here = join(PROJECT_ROOT, 'dist');
  const head = execFileSync('git', ['-C', PROJECT_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['-C', PROJECT_ROOT, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
  const label = `${head}${dirty ? '+changes' : ''}`;
  const other = buildRef(ref);
  try {
    const a: number[] = [];
    const b: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < rounds; i++) {
      a.push(forwardMpps(here));
      b.push(forwardMpps(other.dist));
      ratios.push(a[i] / b[i]);
      console.error(`bench: round ${i + 1}/${rounds}: ${label} ${a[i].toFixed(2)} Mpps, ${ref} ${b[i].toFixed(2)} Mpps, ratio ${ratios[i].toFixed(3)}`);
    }
    const ratio = median(ratios);
    const notes = (xs: number[]) => `median of ${rounds} runs (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)}); runs alternate with the other row`;
    const rows: BenchRow[] = [
      { name: 'pipeline/forward-64B', subject: `this tree (${label})`, value: median(a), unit: 'Mpps', nsPerOp: 1e3 / median(a), notes: notes(a) },
      { name: 'pipeline/forward-64B', subject: `${ref} (${other.sha.slice(0, 8)})`, value: median(b), unit: 'Mpps', nsPerOp: 1e3 / median(b), notes: notes(b) },
      { name: 'pipeline/forward-64B ratio', subject: `${label} / ${ref}`, value: ratio, unit: 'x', notes: `median of the ${rounds} pairwise ratios (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)})` },
    ];
    return { rows, targets: [{ description: `no slower than ${ref} by more than 2% (pairwise median ratio >= 0.98)`, met: ratio >= 0.98, measured: `${ratio.toFixed(3)}x` }] };
  } finally {
    other.cleanup();
  }
}
