// Skipping with a reason the run's summary prints. `describe(title,
// skipIf(reason), fn)` (or `it(...)`) skips when `reason` is defined and
// records it in the task's meta; test/skip-reasons-reporter.ts lists every
// skipped suite and test with it at the end of `npx vitest run`. (The default
// reporter shows only a count for skipped suites, and a title cannot carry
// the reason without changing with the machine.)
import type { TestOptions } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    /** Why this suite or test was skipped (missing tool and its package, not root...). */
    skipReason?: string;
  }
}

export function skipIf(reason: string | undefined): TestOptions {
  return reason === undefined ? {} : { skip: true, meta: { skipReason: reason } };
}
