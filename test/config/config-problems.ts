// What a config's loader says is wrong with it: the ConfigError's problems,
// one per field, as the tests of each config section compare them. A config
// that loads fails the test that expected problems.
import { ConfigError, parseConfig } from '../../src/config/load.js';

/** The problems parseConfig finds in `yaml` (read as `file`, relative paths from `dir`). */
export function configProblems(yaml: string, dir = '.', file = 'c.yaml'): string[] {
  try {
    parseConfig(yaml, file, dir);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  throw new Error('the config loaded without problems');
}
