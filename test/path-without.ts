// A PATH like this process's, minus some programs: a temporary directory of
// symlinks to every executable the real PATH finds (the first of each name,
// as a lookup would), except the ones left out. Child processes started with
// it see a machine where those tools are not installed; nothing is mocked.
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { haveCommand } from '../src/host/tools.js';

export interface PathWithout {
  /** The value for PATH. */
  path: string;
  /** process.env with that PATH. */
  env: NodeJS.ProcessEnv;
  remove(): void;
}

export function pathWithout(left: readonly string[]): PathWithout {
  const dir = mkdtempSync(join(tmpdir(), 'dp-path-without-'));
  const seen = new Set<string>(left);
  for (const from of (process.env.PATH ?? '').split(delimiter)) {
    let names: string[];
    try {
      names = readdirSync(from);
    } catch {
      continue;
    }
    for (const name of names) {
      if (seen.has(name) || !haveCommand(join(from, name))) continue;
      seen.add(name);
      symlinkSync(join(from, name), join(dir, name));
    }
  }
  return { path: dir, env: { ...process.env, PATH: dir }, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
