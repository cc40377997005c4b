// The files and sections the docs point at exist: every relative link (and
// its #anchor, as GitHub makes anchors from headings) and every repository
// path they name in code (`src/lb/maglev.ts`, `bench/live/pacer.c`,
// `test/e2e/`, `io/<port>/...` aside: a <placeholder> or * matches any name).
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectDocs, readDoc } from './doc-blocks.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DOCS = projectDocs();

/** GitHub's anchors of a markdown file's headings (code blocks aside): lower case, punctuation dropped, spaces to "-", repeats numbered. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const h = fenced ? null : /^#+\s+(.*)$/.exec(line);
    if (h === null) continue;
    const slug = h[1].trim().toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

/** Whether a repository path exists; `<name>` and `*` stand for any one path segment's part. */
function exists(path: string): boolean {
  if (!/[<*]/.test(path)) return existsSync(join(ROOT, path));
  const parts = path.split('/').filter((p) => p !== '');
  const walk = (dir: string, i: number): boolean => {
    if (i === parts.length) return true;
    const re = new RegExp(`^${parts[i].split(/(<[^>]*>|\*)/).map((t, k) => (k % 2 === 1 ? '.+' : t.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))).join('')}$`);
    if (!existsSync(join(ROOT, dir)) || !/[<*]/.test(parts[i])) return existsSync(join(ROOT, dir, parts[i])) && walk(join(dir, parts[i]), i + 1);
    return readdirSync(join(ROOT, dir)).some((e) => re.test(e) && walk(join(dir, e), i + 1));
  };
  return walk('.', 0);
}

describe('the paths and links of the docs', () => {
  it('every relative link, and its anchor, resolves', () => {
    const broken: string[] = [];
    let links = 0;
    for (const doc of DOCS) {
      const text = readDoc(doc);
      for (const m of text.matchAll(/\]\(([^)\s#]*)(?:#([^)\s]+))?\)/g)) {
        const [, target, anchor] = m;
        if (/^[a-z]+:/.test(target)) continue;
        links++;
        const file = target === '' ? doc : normalize(join(dirname(doc), target));
        const where = `${doc}:${text.slice(0, m.index).split('\n').length}`;
        if (!existsSync(join(ROOT, file))) broken.push(`${where}: ${target} does not exist`);
        else if (anchor !== undefined && file.endsWith('.md') && !anchors(readDoc(file)).has(anchor)) broken.push(`${where}: ${file} has no heading #${anchor}`);
      }
    }
    expect(broken).toEqual([]);
    expect(links).toBeGreaterThan(50);
  });

  it('every repository path named in them exists', () => {
    const missing: string[] = [];
    let paths = 0;
    for (const doc of DOCS) {
      const text = readDoc(doc);
      for (const m of text.matchAll(/(?<![\w./-])((?:src|test|bench|native|docs|proto|docker|\.ci)\/[\w./<>*-]*[\w/>*])/g)) {
        paths++;
        // A path relative to the doc's own folder (src/lb/README.md's `health/README.md`) is not this pattern; these are from the root.
        if (!exists(m[1])) missing.push(`${doc}:${text.slice(0, m.index).split('\n').length}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
    expect(paths).toBeGreaterThan(200);
  });

  it('anchors are made as GitHub makes them', () => {
    expect([...anchors('# One route per prefix (precedence)\n## `io: { type: afpacket }`\n## Ports\n## Ports\n```\n# not a heading\n```\n')]).toEqual(['one-route-per-prefix-precedence', 'io--type-afpacket-', 'ports', 'ports-1']);
  });
});
