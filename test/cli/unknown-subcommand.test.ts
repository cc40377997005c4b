// A word where a subcommand goes that names none is a usage error (exit 2),
// where commander let it through:
// - under a ctl table whose default subcommand is show, the word became
//   show's argument: `ctl route flush` asked the dataplane for the routes in
//   the prefix "flush" and failed on it (exit 1), `ctl neigh flush` said
//   show takes no arguments;
// - followed by --help, commander printed the help of the command above and
//   exited 0: `dataplane capture --help` showed the main help.
// A prefix given to `ctl route` still goes to show (ctl-verbs.test.ts has
// it reach the dataplane).
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCtl } from '../../src/cli/ctl-program.js';
import { dataplane } from '../cli-run.js';

/** A socket no dataplane listens on: a word that got past the parser would end at "cannot reach" (exit 1). */
const NO_SOCKET = '/nonexistent/dataplane.sock';
const HINT = '(run with --help for usage)\n';

/** Every ctl table with a default show, and its subcommands as the message lists them. */
const TABLES: Record<string, string> = {
  route: 'show, add, replace, del, load',
  neigh: 'show, add, del',
  flows: 'show, delete',
  nat: 'show, delete',
  firewall: 'show, set',
  lb: 'show, backend',
};

describe('ctl TABLE WORD: an unknown subcommand, not an argument of show', () => {
  it('the tables above are every ctl command with a show subcommand', () => {
    const program = new Command();
    registerCtl(program);
    const ctl = program.commands.find((c) => c.name() === 'ctl')!;
    const tables = ctl.commands.filter((c) => c.commands.some((s) => s.name() === 'show'));
    expect(Object.fromEntries(tables.map((t) => [t.name(), t.commands.map((s) => s.name()).join(', ')]))).toEqual(TABLES);
  });

  it.each(Object.entries(TABLES))('ctl %s clear, and the same with --help: exit 2 naming the word and the subcommands, before any call', (table, subcommands) => {
    const refusal = `error: unknown subcommand "clear" of ctl ${table} (${subcommands})\n${HINT}`;
    for (const args of [['clear'], ['clear', '--help'], ['help', 'clear']]) {
      const r = dataplane(['ctl', '--socket', NO_SOCKET, table, ...args]);
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }, args.join(' ')).toEqual({ status: 2, stdout: '', stderr: refusal });
    }
  });

  it('options after the word, and a word with terminal controls, are refused the same way', () => {
    const r = dataplane(['ctl', '--socket', NO_SOCKET, 'flows', 'bogus', '--filter', 'tcp']);
    expect([r.status, r.stderr]).toEqual([2, `error: unknown subcommand "bogus" of ctl flows (show, delete)\n${HINT}`]);
    const e = dataplane(['ctl', '--socket', NO_SOCKET, 'route', '\u001b[2Jx']);
    expect([e.status, e.stderr]).toEqual([2, `error: unknown subcommand "\\u001b[2Jx" of ctl route (show, add, replace, del, load)\n${HINT}`]);
  });

  it('what show takes still goes to show: a prefix or address for route (and "default"), options for flows and nat; subcommands and aliases as before', () => {
    for (const args of [['route', '198.18.0.0/24'], ['route', '198.18.0.1'], ['route', 'default'], ['route'], ['route', 'list', '198.18.0.0/24'], ['flows', '--filter', 'tcp'], ['nat', '--limit', '5'], ['neigh'], ['neighbor', 'show'], ['lb']]) {
      const r = dataplane(['ctl', '--socket', NO_SOCKET, ...args]);
      expect({ status: r.status, stderr: r.stderr.split('\n')[0] }, args.join(' ')).toEqual({ status: 1, stderr: expect.stringContaining(`cannot reach a dataplane at ${NO_SOCKET}`) });
    }
    // Help for a prefix given to the default show is the table's help, as before.
    const h = dataplane(['ctl', 'route', '198.18.0.0/24', '--help']);
    expect([h.status, h.stdout.split('\n')[0]]).toEqual([0, 'Usage: dataplane ctl route [options] [command]']);
  });
});

describe('an unknown command with --help', () => {
  it('dataplane capture --help: exit 2, unknown command (was the main help, exit 0)', () => {
    for (const args of [['capture', '--help'], ['capture', '-h'], ['help', 'capture'], ['capture']]) {
      const r = dataplane(args);
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }, args.join(' ')).toEqual({ status: 2, stdout: '', stderr: `error: unknown command 'capture'\n${HINT}` });
    }
  });

  it("with commander's did-you-mean where it has one", () => {
    const r = dataplane(['replya', '--help']);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 2, stdout: '', stderr: `error: unknown command 'replya'\n(Did you mean replay?)\n${HINT}` });
  });

  it('under commands with subcommands and no default too: route, lb, ctl, ctl trace, ctl lb backend', () => {
    for (const [args, word] of [[['route', 'lookupp', '--help'], 'lookupp'], [['lb', 'bogus', '--help'], 'bogus'], [['ctl', 'routes', '--help'], 'routes'], [['ctl', 'trace', 'bogus', '--help'], 'bogus'], [['ctl', 'lb', 'backend', 'bogus', '--help'], 'bogus']] as const) {
      const r = dataplane([...args]);
      expect({ status: r.status, stdout: r.stdout, stderr: r.stderr.split('\n')[0] }, args.join(' ')).toEqual({ status: 2, stdout: '', stderr: `error: unknown command '${word}'` });
    }
  });

  it('dataplane --help run (the flag first, as git --help commit): that command\'s help, an unknown word refused', () => {
    for (const [args, usage] of [[['--help', 'run'], 'Usage: dataplane run [options]'], [['-h', 'ctl', 'route'], 'Usage: dataplane ctl route [options] [command]'], [['--help', 'lab', 'up'], 'Usage: dataplane lab [options] <action>']] as const) {
      const r = dataplane([...args]);
      expect({ status: r.status, stderr: r.stderr, usage: r.stdout.split('\n')[0] }, args.join(' ')).toEqual({ status: 0, stderr: '', usage });
    }
    const r = dataplane(['--help', 'capture']);
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 2, stdout: '', stderr: `error: unknown command 'capture'\n${HINT}` });
  });

  it('help of what exists is as before: exit 0 on stdout', () => {
    for (const args of [['--help'], ['help'], ['help', 'ctl'], ['replay', '--help'], ['ctl', 'help', 'route'], ['ctl', 'route', '--help'], ['ctl', 'route', 'show', '--help'], ['ctl', 'lb', 'backend', '--help'], ['lab', 'up', '--help']]) {
      const r = dataplane(args);
      expect({ status: r.status, stderr: r.stderr, usage: r.stdout.startsWith('Usage: dataplane') }, args.join(' ')).toEqual({ status: 0, stderr: '', usage: true });
    }
  });
});
