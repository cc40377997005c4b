// One port with the given `io:` through the whole config loader (the proto
// check and zod together, as load.ts reports them): what it loads to, or the
// problems it is refused with.
import { ConfigError, parseConfig } from '../../src/config/load.js';

export function loadPortIo(io: string): ReturnType<typeof parseConfig> {
  return parseConfig(`ports:\n  - { name: lan, address: 192.0.2.1/24, io: ${io} }\n`, 'c.yaml', '.');
}

export function portIoProblems(io: string): readonly string[] {
  try {
    loadPortIo(io);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('the config loaded');
}
