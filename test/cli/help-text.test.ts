// Help text that matches what the options do: replay's --config is the whole
// router config, and --rfc shows no "(default: [])".
import { describe, expect, it } from 'vitest';
import { dataplane } from '../cli-run.js';

describe('help text', () => {
  it('replay --help names the config as the file run reads', () => {
    const r = dataplane(['replay', '--help']);
    expect(r.stdout).not.toContain('ports, routes, neighbors, ICMP rate limit');
    expect(r.stdout).toMatch(/--config <file>\s+router config \(YAML\), the file `dataplane run` reads/);
  });

  it('conformance --help shows no empty default for --rfc, and --rfc still collects', () => {
    expect(dataplane(['conformance', '--help']).stdout).not.toContain('(default: [])');
    expect(dataplane(['conformance', '--rfc', '9999']).status).toBe(2);
  });
});
