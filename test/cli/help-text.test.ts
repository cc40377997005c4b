// Help text that matches what the options do: replay's --config is the whole
// router config, --rfc shows no "(default: [])", and a ctl table says which
// subcommand runs when none is given.
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

describe('ctl tables name their default subcommand', () => {
  // `ctl route` alone, and `ctl flows --filter X`, run `show`: the help says so, as commander's does not.
  it.each(['route', 'neigh', 'flows', 'nat', 'firewall', 'lb'])('ctl %s --help marks show as the default, which the bare table runs', (table) => {
    const help = dataplane(['ctl', table, '--help']).stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(new RegExp(`show(\\|\\w+)? .*The default: \`ctl ${table}\` with no subcommand runs it\\.`));
    // What runs is show, options and all: it gets as far as the socket (exit 1), not a usage error (exit 2).
    const options = table === 'flows' || table === 'nat' ? ['--filter', 'tcp', '--limit', '5'] : [];
    const r = dataplane(['ctl', '--socket', '/nonexistent/dataplane.sock', table, ...options]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: expect.stringContaining('cannot reach a dataplane at /nonexistent/dataplane.sock') });
  });
});
