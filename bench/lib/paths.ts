// Where things are, whether a bench runs from its TypeScript source (tsx,
// vitest) or from dist/ after `npm run build`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findProjectRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'dataplane') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the dataplane project root above ${start}`);
    dir = parent;
  }
}

export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));
export const RESULTS_DIR = join(PROJECT_ROOT, 'bench', 'results');
/** Real captures and routing tables that nobody on this project wrote (read in place). */
export const SHARED_DATA = join(PROJECT_ROOT, '..', 'shared', 'data');
export const SHARED_PCAPS = join(SHARED_DATA, 'pcaps');
