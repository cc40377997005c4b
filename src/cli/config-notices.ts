// What loading a config decided on its own (shadowed and duplicate routes),
// shown the same way by every command that loads one: a warning line each on
// stderr, and the counts beside the packet counters of `replay` and `run`.
import type { ConfigNotices } from '../config/load.js';

export function printConfigWarnings(command: string, notices: ConfigNotices): void {
  if (notices.warnings.length === 0) return;
  process.stderr.write(notices.warnings.map((w) => `dataplane ${command}: warning: ${w}\n`).join(''));
}

/** Text lines for a summary ("counters (routes, at load):" then one per counter), or none. */
export function configCounterLines(notices: ConfigNotices): string[] {
  const names = Object.keys(notices.counters).sort();
  if (names.length === 0) return [];
  const width = Math.max(...names.map((n) => n.length));
  return ['counters (routes, at load):', ...names.map((n) => `  ${n.padEnd(width)}  ${notices.counters[n]}`)];
}
