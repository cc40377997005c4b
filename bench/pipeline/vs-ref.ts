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
import { cpuModel, FORWARD_CONFIG } from './forward.js';
import { PROJECT_ROOT } from '../lib/paths.js';

/**
 * The child that measures: it loads the forwarding pipeline of both trees
 * into one process (the same setup as forward.ts, from each tree's own
 * modules) and times them in alternating chunks of CPU time. On a shared VM
 * the speed of a process drifts by 2x with the host's load and with JIT
 * luck; chunks of A and B side by side in one process see the same drift,
 * so their pairwise ratio holds where separate runs do not.
 */
const CHILD = `
const [dirA, dirB, rounds] = JSON.parse(process.argv[1]);
async function setup(dir) {
  const m = (p) => import(dir + p);
  const { parseConfig } = await m('/src/config/load.js');
  const { Batch, MAX_BATCH } = await m('/src/pipeline/batch.js');
  const { ManualClock } = await m('/src/pipeline/clock.js');
  const { Router } = await m('/src/pipeline/router.js');
  const { compileFib } = await m('/src/route/fib.js');
  const { RunLoop } = await m('/src/runtime/run-loop.js');
  const ports = await m('/bench/pipeline/bench-ports.js');
  const { loadNative } = await m('/src/io/native.js');
  const { synthetic64 } = await m('/bench/decode/frames.js');
  const config = parseConfig(${JSON.stringify(FORWARD_CONFIG)}, 'bench', '.');
  const { fib, nexthops } = compileFib(config);
  const batch = new Batch();
  const router = new Router(config, fib, nexthops, { clock: new ManualClock(1), batchCapacity: batch.capacity, maxFrame: batch.maxFrame });
  const frames = synthetic64(MAX_BATCH);
  // The headline feed (forward.ts): the native burst copy, where both trees have it; else a copy per frame in JavaScript.
  let copy;
  try { copy = loadNative().copyFrames; } catch { copy = undefined; }
  const input = ports.NativeRepeatInput !== undefined && copy !== undefined
    ? new ports.NativeRepeatInput(0, frames.arena, frames.offsets, frames.lengths, copy)
    : new ports.RepeatInput(0, Array.from({ length: MAX_BATCH }, (_, i) => frames.arena.subarray(frames.offsets[i], frames.offsets[i] + frames.lengths[i])));
  const out = new ports.CountingOutput();
  const loop = new RunLoop({ router, batch, inputs: [input], outputs: [out, out] });
  return { loop, n: MAX_BATCH, feed: input.constructor.name };
}
const A = await setup(dirA);
const B = await setup(dirB);
for (let i = 0; i < 20000; i++) { A.loop.step(); B.loop.step(); }
const CHUNK = 1000;
const time = (x) => { const t0 = process.cpuUsage(); for (let i = 0; i < CHUNK; i++) x.loop.step(); const t = process.cpuUsage(t0); return ((t.user + t.system) * 1000) / (CHUNK * x.n); };
const out = [];
for (let r = 0; r < rounds; r++) {
  // Alternate which goes first, so neither always follows the other.
  if (r % 2 === 0) { const a = time(A); out.push([a, time(B)]); } else { const b = time(B); out.push([time(A), b]); }
}
process.stdout.write(JSON.stringify({ pairs: out, feeds: [A.feed, B.feed] }));`;

/** [ns/packet of A, ns/packet of B] per round, measured in one child process, and each tree's feed. */
function interleaved(distA: string, distB: string, rounds: number): { pairs: [number, number][]; feeds: [string, string] } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify([distA, distB, rounds])], { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) throw new Error(`pipeline A/B failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout) as { pairs: [number, number][]; feeds: [string, string] };
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
    // This tree's addon, so both trees get the same feed (copyFrames, stable since it was added); building REF's costs minutes.
    if (existsSync(join(PROJECT_ROOT, 'native', 'build')) && existsSync(join(dir, 'native'))) symlinkSync(join(PROJECT_ROOT, 'native', 'build'), join(dir, 'native', 'build'), 'dir');
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
    const { pairs, feeds } = interleaved(here, other.dist, rounds);
    const a = pairs.map((p) => 1e3 / p[0]);
    const b = pairs.map((p) => 1e3 / p[1]);
    // How fast this tree is relative to REF: REF's time over ours.
    const ratios = pairs.map((p) => p[1] / p[0]);
    const ratio = median(ratios);
    if (feeds[0] !== feeds[1]) throw new Error(`pipeline A/B: the trees were fed differently (${feeds[0]} vs ${feeds[1]}): not a like-for-like comparison`);
    const notes = (xs: number[], feed: string) =>
      `median of ${rounds} chunks of 256k packets, CPU time (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)}); chunks alternate with the other row in one process; feed ${feed}; ${cpuModel()}`;
    const rows: BenchRow[] = [
      { name: 'pipeline/forward-64B', subject: `this tree (${label})`, value: median(a), unit: 'Mpps', nsPerOp: 1e3 / median(a), notes: notes(a, feeds[0]) },
      { name: 'pipeline/forward-64B', subject: `${ref} (${other.sha.slice(0, 8)})`, value: median(b), unit: 'Mpps', nsPerOp: 1e3 / median(b), notes: notes(b, feeds[1]) },
      { name: 'pipeline/forward-64B ratio', subject: `${label} / ${ref}`, value: ratio, unit: 'x', notes: `median of the ${rounds} pairwise ratios (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)})` },
    ];
    return { rows, targets: [{ description: `no slower than ${ref} by more than 2% (pairwise median ratio >= 0.98)`, met: ratio >= 0.98, measured: `${ratio.toFixed(3)}x` }] };
  } finally {
    other.cleanup();
  }
}
