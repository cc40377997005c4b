// Runs beside vitest's default reporter (vitest.config.ts) and prints, after
// its summary, every skipped suite and test grouped by why: the reason given
// with skipIf() (test/skip.ts) or ctx.skip(note). The default reporter shows
// only "1 skipped" for a skipped suite (a skip note only in verbose mode), so
// an end-to-end suite skipped for a missing tool looked like a pass.
import { relative } from 'node:path';
import type { Reporter, TestCase, TestCollection, TestModule, TestSuite, Vitest } from 'vitest/node';

interface Skipped {
  name: string;
  reason: string | undefined;
}

const NO_REASON = '(no reason given)';

/** A skipped test's reason: the skipIf() meta, else its ctx.skip() note. */
function testReason(t: TestCase): string | undefined {
  const r = t.result();
  return t.meta().skipReason ?? (r.state === 'skipped' ? r.note : undefined);
}

/**
 * The skipped entities under `children`, outermost first: a suite skipped
 * with a reason stands for everything in it; one skipped without a reason
 * stands for its tests when none of them has one either (describe.skipIf).
 */
function collect(children: TestCollection, prefix: string): Skipped[] {
  const out: Skipped[] = [];
  for (const child of children) {
    if (child.type === 'test') {
      if (child.result().state === 'skipped' && child.options.mode !== 'todo') out.push({ name: `${prefix} > ${child.name}`, reason: testReason(child) });
      continue;
    }
    out.push(...collectSuite(child, `${prefix} > ${child.name}`));
  }
  return out;
}

function collectSuite(suite: TestSuite, name: string): Skipped[] {
  const own = suite.meta().skipReason;
  if (suite.state() === 'skipped' && own !== undefined) return [{ name, reason: own }];
  const inner = collect(suite.children, name);
  if (suite.state() === 'skipped' && inner.length > 0 && inner.every((s) => s.reason === undefined)) return [{ name, reason: undefined }];
  return inner;
}

export default class SkipReasonsReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const v = this.vitest;
    if (v === undefined) return;
    let skipped: Skipped[] = [];
    for (const m of testModules) skipped.push(...collect(m.children, relative(v.config.root, m.moduleId)));
    // With -t, every test that does not match is "skipped" without a reason: not news.
    const filtered = v.config.testNamePattern !== undefined ? skipped.filter((s) => s.reason === undefined).length : 0;
    if (filtered > 0) skipped = skipped.filter((s) => s.reason !== undefined);
    if (skipped.length === 0) return;
    const byReason = new Map<string, string[]>();
    for (const s of skipped) {
      const key = s.reason ?? NO_REASON;
      byReason.set(key, [...(byReason.get(key) ?? []), s.name]);
    }
    const lines = ['', ` Skipped, and why (${skipped.length}):`];
    for (const [reason, names] of byReason) lines.push(`   ${reason}`, ...names.map((n) => `     - ${n}`));
    if (filtered > 0) lines.push(`   (and ${filtered} left out by the test name filter)`);
    v.logger.log(lines.join('\n'));
  }
}
