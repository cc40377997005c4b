// README.md, docs/CONFIG.md, docs/CLI.md, docs/OPERATIONS.md and
// docs/METRICS.md stay true as docs/GUIDE.md does (guide.test.ts): every
// YAML block loads with the real config loader, a block shown for its error
// fails with exactly the problems the doc shows, and the output shown for
// the offline commands is what they print. The marks are doc-blocks.ts's.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blocksOf, checkDoc, readDoc } from './doc-blocks.js';

const dirs: string[] = [];
function scratch(): string {
  const d = mkdtempSync(join(os.tmpdir(), 'dp-docs-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** CONFIG.md before CLI.md, in one directory: CLI.md's examples run CONFIG.md's router.yaml and firewall.yaml. */
const DOCS = ['README.md', 'docs/CONFIG.md', 'docs/CLI.md', 'docs/OPERATIONS.md', 'docs/METRICS.md'];

describe('the config snippets and offline examples of the docs', () => {
  it('every yaml block loads (or fails as the doc shows) and every offline example prints what the doc shows', () => {
    const dir = scratch();
    const results = Object.fromEntries(DOCS.map((d) => [d, checkDoc(readDoc(d), d, dir)]));
    expect(Object.values(results).flatMap((r) => r.problems)).toEqual([]);
    // What the docs hold today, so a change in how blocks are marked cannot turn the check into nothing.
    const config = results['docs/CONFIG.md'];
    expect(config.wholeConfigs).toBeGreaterThanOrEqual(3);
    expect(config.fragments).toBeGreaterThanOrEqual(7);
    expect(config.invalid).toBeGreaterThanOrEqual(5);
    expect(results['docs/CLI.md'].commandsChecked).toBeGreaterThanOrEqual(6);
    for (const d of ['docs/CLI.md', 'docs/OPERATIONS.md', 'docs/METRICS.md']) expect(results[d].fragments).toBeGreaterThanOrEqual(1);
  });

  it('names a "yaml invalid" block that loads, one whose problems differ from what the doc shows, and one with no problems shown', () => {
    const markdown = readDoc('docs/CONFIG.md');
    const invalid = blocksOf(markdown).filter((b) => b.info[0] === 'yaml' && b.info.includes('invalid'));
    const [mtu, metrics] = [invalid.find((b) => b.text.includes('mtu: 60')), invalid.find((b) => b.text.includes('0.0.0.0:9469'))];
    expect(mtu).toBeDefined();
    expect(metrics).toBeDefined();
    const lines = markdown.split('\n');
    // The bad MTU made good: the block now shows a problem the loader no longer reports.
    const mtuLine = lines.findIndex((l, i) => i >= mtu!.line && l.includes('mtu: 60'));
    lines[mtuLine] = lines[mtuLine].replace('mtu: 60', 'mtu: 1500');
    // A shown problem reworded.
    const shown = lines.findIndex((l) => l.startsWith('metrics.listen: 0.0.0.0 would listen'));
    lines[shown] = 'metrics.listen: must not be 0.0.0.0';
    const r = checkDoc(lines.join('\n'), 'CONFIG.md', scratch());
    expect(r.problems.find((p) => p.includes('ports[1].mtu'))).toMatch(/^CONFIG\.md:\d+: the loader reports\nports\[0\]\.address: .*\n {2}but the doc shows\nports\[0\]\.address: .*\nports\[1\]\.mtu: must be 68-9216 /);
    expect(r.problems.some((p) => p.includes('the loader reports\nmetrics.listen: 0.0.0.0 would listen') && p.includes('but the doc shows\nmetrics.listen: must not be 0.0.0.0'))).toBe(true);

    const valid = checkDoc('```yaml invalid fragment\nmetrics: { listen: 127.0.0.1:9469 }\n```\n\n```text\nmetrics.listen: anything\n```\n', 'X.md', scratch());
    expect(valid.problems).toEqual(['X.md:1: marked "yaml invalid" but loads']);
    const unshown = checkDoc('```yaml invalid fragment\nmetrics: { listen: 0.0.0.0:9469 }\n```\n\nno block with the problems\n', 'X.md', scratch());
    expect(unshown.problems).toEqual(['X.md:1: a "yaml invalid" block must be followed by a `text` block with the problems it shows']);
  });

  it('an unmarked yaml block that is not a whole config is a problem, not skipped', () => {
    const r = checkDoc('```yaml\nmetrics: { listen: 127.0.0.1:9469 }\n```\n', 'X.md', scratch());
    expect(r.problems).toEqual(['X.md:1: a yaml block that is neither a whole config (ports:) nor marked "yaml fragment", "yaml invalid" or file=NAME']);
  });
});
