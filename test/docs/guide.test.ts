// docs/GUIDE.md stays true: every YAML snippet in it loads with the real
// config loader, and the output it shows for the offline commands is what
// those commands print today. A snippet or an example that drifts from the
// code fails here, naming the guide's line. How the guide marks its code
// blocks, and what each mark checks, is in doc-blocks.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { blocksOf, checkDoc, FRAGMENT_BASE, readDoc } from './doc-blocks.js';

const dirs: string[] = [];
function scratch(): string {
  const d = mkdtempSync(join(os.tmpdir(), 'dp-guide-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('docs/GUIDE.md', () => {
  const markdown = readDoc('docs/GUIDE.md');

  it('every config snippet loads and every offline example prints what the guide shows', () => {
    const r = checkDoc(markdown, 'GUIDE.md', scratch());
    expect(r.problems).toEqual([]);
    // What the guide holds today, so a change in how blocks are marked cannot turn the check into nothing.
    expect(r.wholeConfigs).toBeGreaterThanOrEqual(9);
    expect(r.fragments).toBeGreaterThanOrEqual(4);
    expect(r.commandsChecked).toBeGreaterThanOrEqual(15);
  });

  it('names the line of a snippet that no longer loads, and of an example whose output changed', () => {
    // The same guide with one port address broken in its first config, and one shown output line changed.
    const firstConfig = blocksOf(markdown).find((b) => b.info[0] === 'yaml' && /^ports:/m.test(b.text));
    expect(firstConfig).toBeDefined();
    const lines = markdown.split('\n');
    const portLine = lines.findIndex((l, i) => i >= firstConfig!.line && /address: [\d.]+\/\d+/.test(l));
    lines[portLine] = lines[portLine].replace(/address: ([\d.]+)\/\d+/, 'address: $1/33');
    const judged = lines.findIndex((l) => / tcp: (allow|deny|reject)$/.test(l));
    lines[judged] = lines[judged].replace(/: (allow|deny|reject)$/, ': maybe');
    const r = checkDoc(lines.join('\n'), 'GUIDE.md', scratch());
    expect(r.problems.some((p) => p.startsWith(`GUIDE.md:${firstConfig!.line}`) && p.includes('address'))).toBe(true);
    expect(r.problems.some((p) => p.includes('--judge') && p.includes(': maybe'))).toBe(true);
  });

  it('fragments are merged over a base that loads on its own', () => {
    expect(() => parseConfig(FRAGMENT_BASE, 'base', '.')).not.toThrow();
  });
});
