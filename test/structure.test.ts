// The shape of src/: no import cycle between files, and none between folders,
// so that each folder can be read (and changed) on top of the ones it uses.
// Imports are read as text (static, type-only and dynamic, relative paths).
//
// One file is allowed to import down into folders that import its own folder
// back: the composition root, src/pipeline/router.ts, which assembles the
// graph from the nodes (src/pipeline/nodes/, src/arp/) built on the pipeline's
// core (node.ts, batch.ts, graph.ts, context.ts). Nothing imports it from
// below (that would be a file cycle, checked first). Moving it to a folder of
// its own would drop the exception.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');
const COMPOSITION_ROOTS = new Set(['src/pipeline/router.ts']);

type Graph = Map<string, Set<string>>;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;

/** file -> the files it imports (paths relative to the repository, .ts). */
function importGraph(): Graph {
  const g: Graph = new Map();
  for (const file of sourceFiles(SRC)) {
    const from = relative(ROOT, file);
    const to = new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      to.add(relative(ROOT, normalize(join(dirname(file), spec))).replace(/\.js$/, '.ts'));
    }
    g.set(from, to);
  }
  return g;
}

/** Folder -> folders, from every file's imports except those of `skip`. */
function folderGraph(files: Graph, skip: ReadonlySet<string>): Map<string, Map<string, string>> {
  const g = new Map<string, Map<string, string>>();
  for (const [from, tos] of files) {
    const a = dirname(from);
    if (!g.has(a)) g.set(a, new Map());
    if (skip.has(from)) continue;
    for (const to of tos) {
      const b = dirname(to);
      if (b !== a && !g.get(a)!.has(b)) g.get(a)!.set(b, `${from} -> ${to}`);
    }
  }
  return g;
}

/** Strongly connected components with more than one member (Tarjan): each is a cycle. */
export function cycles(nodes: Iterable<string>, next: (n: string) => Iterable<string>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of next(v)) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const n of nodes) if (!idx.has(n)) visit(n);
  return out;
}

describe('structure of src/', () => {
  const files = importGraph();

  it('the cycle finder finds a cycle through three nodes and none in a chain (so the checks below can fail)', () => {
    const g: Record<string, string[]> = { a: ['b'], b: ['c'], c: ['a', 'd'], d: [] };
    expect(cycles(Object.keys(g), (n) => g[n])).toEqual([['a', 'b', 'c']]);
    const chain: Record<string, string[]> = { a: ['b'], b: ['c'], c: [] };
    expect(cycles(Object.keys(chain), (n) => chain[n])).toEqual([]);
  });

  it('reads the imports: router.ts imports the ARP resolver and ip4-input; every import names a file that exists', () => {
    expect(files.get('src/pipeline/router.ts')).toContain('src/arp/resolver.ts');
    expect(files.get('src/pipeline/router.ts')).toContain('src/pipeline/nodes/ip4-input.ts');
    const missing = [...files].flatMap(([from, tos]) => [...tos].filter((t) => !files.has(t)).map((t) => `${from} -> ${t}`));
    expect(missing).toEqual([]);
  });

  it('no import cycle between files', () => {
    expect(cycles(files.keys(), (f) => files.get(f) ?? [])).toEqual([]);
  });

  it('no import cycle between folders (the composition root src/pipeline/router.ts aside)', () => {
    for (const r of COMPOSITION_ROOTS) expect(files.has(r), r).toBe(true);
    const folders = folderGraph(files, COMPOSITION_ROOTS);
    const found = cycles(folders.keys(), (f) => folders.get(f)?.keys() ?? []);
    // Name one import per edge of each cycle, so the message says where to cut.
    const explain = found.map((scc) => scc.flatMap((a) => scc.filter((b) => folders.get(a)?.has(b)).map((b) => folders.get(a)!.get(b)!)));
    expect(explain).toEqual([]);
  });

  it('nodes (src/pipeline/nodes/, src/arp/) do not import the graph: they name its sink by node.ts\'s OUTPUT and send through Dispatch', () => {
    const nodeFiles = [...files.keys()].filter((f) => f.startsWith('src/pipeline/nodes/') || f.startsWith('src/arp/'));
    expect(nodeFiles).toContain('src/pipeline/nodes/ip4-output.ts');
    expect(nodeFiles.filter((f) => files.get(f)!.has('src/pipeline/graph.ts'))).toEqual([]);
  });

  it('NO_ROUTE and FibLookup are defined once (src/route/fib-view.ts)', () => {
    const defining = [...files.keys()].filter((f) => /export (const NO_ROUTE\b|interface FibLookup\b)/.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(defining).toEqual(['src/route/fib-view.ts']);
  });
});
