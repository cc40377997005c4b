// Every `dataplane COMMAND --option` the docs name exists: the command in
// the CLI's tree, the option in that command's --help (or a parent's, as
// commander takes it), read from the built CLI as a user reads them
// (cli-help.ts). A renamed or removed option or command fails here, naming
// the doc's line. What counts as a mention is in command-mentions.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { commandTree, parseHelp, type CommandHelp } from './cli-help.js';
import { commandMentions, mentionProblem, mentionWords } from './command-mentions.js';
import { projectDocs, readDoc } from './doc-blocks.js';

const DOCS = projectDocs(['native/README.md', 'docker/README.md']);

let tree: CommandHelp;
beforeAll(async () => {
  tree = await commandTree();
}, 120_000);

/** The problems of a doc's mentions, each `DOC:LINE: what`. */
function problemsOf(doc: string, markdown: string): { problems: string[]; mentions: number } {
  const ctl = tree.children.get('ctl')!;
  const top = new Set([...tree.subcommands.keys(), ...ctl.subcommands.keys()].filter((w) => w !== 'help'));
  const mentions = commandMentions(markdown, top);
  const problems: string[] = [];
  for (const m of mentions) {
    const words = mentionWords(m);
    const problem = mentionProblem(words, tree);
    // A relative span may be a ctl verb (CLI.md's ctl table, `flows delete --filter`).
    if (problem !== undefined && !(m.relative && mentionProblem(words, ctl) === undefined)) problems.push(`${doc}:${m.line}: ${m.relative ? '' : 'dataplane '}${m.text}: ${problem}`);
  }
  return { problems, mentions: mentions.length };
}

describe('the commands and options the docs name', () => {
  it('the tree read from --help has every command, its subcommands and their options', () => {
    expect([...tree.subcommands.keys()]).toEqual(expect.arrayContaining(['decode', 'replay', 'route', 'firewall', 'explain', 'lb', 'run', 'ctl', 'lab', 'conformance', 'demo']));
    expect(tree.children.get('run')!.options.get('--workers')).toBe(true);
    expect(tree.children.get('run')!.options.get('-w')).toBe(true);
    expect(tree.children.get('run')!.options.get('--busy-poll')).toBe(false);
    const route = tree.children.get('ctl')!.children.get('route')!;
    expect(route.subcommands.get('list')).toBe('show');
    expect(route.children.get('show')!.options.has('--limit')).toBe(true);
    expect(tree.children.get('ctl')!.children.get('lb')!.children.get('backend')!.subcommands.has('undrain')).toBe(true);
  });

  it('exist, in every doc', () => {
    const all = DOCS.map((d) => ({ doc: d, ...problemsOf(d, readDoc(d)) }));
    expect(all.flatMap((r) => r.problems)).toEqual([]);
    // So that a change in how mentions are found cannot turn the check into nothing.
    const count = (d: string) => all.find((r) => r.doc === d)!.mentions;
    expect(count('docs/CLI.md')).toBeGreaterThan(60);
    expect(count('README.md')).toBeGreaterThan(10);
    expect(count('docs/OPERATIONS.md')).toBeGreaterThan(15);
  });

  it('a misspelt option, an unknown subcommand or command, in code lines and spans, is named with its line', () => {
    const doc = [
      'Run it:', // 1
      '', // 2
      '    sudo dataplane run --config r.yaml --worker 2', // 3
      '', // 4
      'or `dataplane ctl lb backend undrian web` and `dataplane captur --x`, then `replay --promisk`.', // 5
      '```console', // 6
      "$ dataplane replay in.pcap --config r.yaml --out o.pcapng --trace-filter 'in lan' --json && dataplane lab up --prefix dp-x", // 7
      '$ dataplane ctl --json counters --prefix ip4-lookup/ --all', // 8
      'dataplane ctl: cannot reach a dataplane at /run/x.sock: there is no socket', // 9
      '```', // 10
      'Words such as the dataplane in prose, `flows delete --filter EXPR` (a ctl verb), `dataplane ctl flows --filter QUOTED` and', // 11
      '`dataplane ctl route 198.18.0.0/15` (a default subcommand, its options and argument) are fine.', // 12
    ].join('\n');
    expect(problemsOf('X.md', doc).problems).toEqual([
      'X.md:3: dataplane run --config r.yaml --worker 2: `dataplane run` has no option --worker',
      'X.md:5: dataplane ctl lb backend undrian web: `dataplane ctl lb backend undrian`: `dataplane ctl lb backend` has no subcommand undrian',
      'X.md:5: dataplane captur --x: `dataplane captur`: no such command',
      'X.md:5: replay --promisk: `dataplane replay` has no option --promisk',
    ]);
  });

  it('reads the option and command sections of a help text, aliases and values included', () => {
    const h = parseHelp(['x'], ['Usage: dataplane x [options] [command]', '', 'Options:', '  -c, --count <n>  stop after N', '                   frames (wrapped)', '  --json           JSON', '  --limit [n]      at most', '', 'Commands:', '  show|list [options] [prefix]  List.', '  help [command]  help'].join('\n'));
    expect([...h.options]).toEqual([['--count', true], ['-c', true], ['--json', false], ['--limit', true]]);
    expect([...h.subcommands]).toEqual([['show', 'show'], ['list', 'show'], ['help', 'help']]);
  });
});
