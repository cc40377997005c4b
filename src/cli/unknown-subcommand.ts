// A word in the place of a subcommand that names none is a usage error
// (exit 2), also where commander lets it through:
//
// - A ctl table whose default subcommand is `show` hands show any word that
//   names no subcommand, as show's argument: `ctl route flush` asked the
//   dataplane for the routes inside the prefix "flush" and failed on the
//   prefix, `ctl neigh flush` said show takes no arguments. A word that the
//   table's show does not take (route show takes a prefix; the others take
//   none) is refused before anything runs, with the table's subcommands.
// - With --help after it, commander printed the help of the command above
//   the word and exited 0 (`dataplane capture --help`), as if it existed.
//   The word is refused as it is without --help, did-you-mean included.
import type { Command } from 'commander';
import { quoted } from '../config/quoted.js';

/** Tables with a default subcommand: whether a word is an argument of it. */
const defaultTakes = new WeakMap<Command, (word: string) => boolean>();

function names(cmd: Command, word: string): boolean {
  return cmd.commands.some((c) => c.name() === word || c.aliases().includes(word));
}

/** "ctl route" for the route table (the program's own name left out, as the ctl help writes commands). */
function commandPath(cmd: Command): string {
  const parts: string[] = [];
  for (let c: Command | null = cmd; c !== null && c.parent !== null; c = c.parent) parts.unshift(c.name());
  return parts.join(' ');
}

/** The word of `cmd`'s arguments in a subcommand's place that names none and its default does not take; undefined when there is none. */
function unknownWord(cmd: Command): string | undefined {
  if (cmd.commands.length === 0) return undefined;
  const [first, second] = cmd.args;
  // `help WORD` (commander's help command) asks for WORD's help.
  const word = first === 'help' && !names(cmd, 'help') ? second : first;
  if (word === undefined || word.startsWith('-') || names(cmd, word)) return undefined;
  if (defaultTakes.get(cmd)?.(word) === true) return undefined;
  return word;
}

function refuse(cmd: Command, word: string): never {
  if (defaultTakes.has(cmd)) {
    cmd.error(`error: unknown subcommand ${quoted(word)} of ${commandPath(cmd)} (${cmd.commands.map((c) => c.name()).join(', ')})`, { code: 'commander.unknownCommand', exitCode: 2 });
  }
  // Commander's own refusal, with its did-you-mean (an undeclared method of commander 14; it names the first argument).
  const commander = cmd as unknown as { unknownCommand?: () => void };
  cmd.args = [word];
  if (typeof commander.unknownCommand === 'function') commander.unknownCommand();
  cmd.error(`error: unknown command '${word}'`, { code: 'commander.unknownCommand', exitCode: 2 });
}

/**
 * Marks `table`'s default subcommand: `takes` says which words are its
 * argument (none by default); any other word in the subcommand's place is
 * refused before the default runs.
 */
export function refuseUnknownBeforeDefault(table: Command, takes: (word: string) => boolean = () => false): void {
  defaultTakes.set(table, takes);
  table.hook('preSubcommand', (cmd) => {
    const word = unknownWord(cmd);
    if (word !== undefined) refuse(cmd, word);
  });
}

/** Refuses an unknown word before any help is printed for the command above it (every command under `program`). */
export function refuseUnknownBeforeHelp(program: Command): void {
  program.on('beforeAllHelp', (context: { command: Command }) => {
    const word = unknownWord(context.command);
    if (word !== undefined) refuse(context.command, word);
  });
}
