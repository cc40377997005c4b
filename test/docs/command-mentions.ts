// Where a doc names a `dataplane` command line, and whether the command and
// its options exist (cli-help.ts's tree). A mention is code, never prose:
//   - an inline code span or a code line (fenced, or indented four spaces
//     after a blank or another code line) where a command starts with
//     `dataplane WORDS` (at its start, after `$`, `sudo`, `npx`, `(`, a
//     backtick or a shell `|`, `&&`, `;`; also `node dist/src/cli/main.js
//     WORDS`), up to a shell `|`, `&&`, `;`, a `#` or a backtick; words
//     ending in ":" (`dataplane route lookup: warning: ...`) are the
//     command's output, not a command line;
//   - an inline code span that starts with a command and holds an option,
//     relative to the program or to `dataplane ctl` (`run --busy-poll`,
//     `route show [PREFIX] [--limit N]`, a ctl verb in CLI.md's ctl table).
// Synopsis notation is read as such: [optional], a|b alternatives, -w|--workers,
// UPPERCASE and <angle> placeholders, `...`; quoted words are arguments.
import type { CommandHelp } from './cli-help.js';

export interface Mention {
  /** 1-based line where the mention starts. */
  line: number;
  /** The words after `dataplane`, as written (quoted strings blanked). */
  text: string;
  /** Relative to the program or to `dataplane ctl`, rather than a `dataplane ...` line. */
  relative: boolean;
}

const INVOCATION = /(?:^\s*|[;&|(`$]\s*|\b(?:sudo|npx)\s+)dataplane\s+(?=\S)|\bdist\/src\/cli\/main\.js\s+(?=\S)/g;

/** Quoted strings become one placeholder word: their content is an argument, whatever it holds. */
function blankQuotes(code: string): string {
  return code.replace(/'[^']*'|"[^"]*"/g, 'QUOTED');
}

/** The command line up to where the shell or a comment ends it. */
function untilShellEnd(code: string): string {
  return code.split(/\s\|\s|&&|;|\s#|`/)[0].trim();
}

function mentionsIn(code: string, line: number, out: Mention[]): void {
  // In a table cell, `a\|b` is a|b.
  const text = blankQuotes(code.replace(/\\\|/g, '|'));
  for (const m of text.matchAll(INVOCATION)) {
    const rest = untilShellEnd(text.slice(m.index + m[0].length));
    // Output ("dataplane route lookup: warning: ...") and diagrams ("lan | dataplane | wan") are not command lines.
    if (!/^[a-z -]*?[a-z]:(\s|$)/.test(rest) && /^[\w<[-]/.test(rest)) out.push({ line, text: rest, relative: false });
  }
}

/** Every command mention of a markdown text. `topWords` are the words a relative span may start with. */
export function commandMentions(markdown: string, topWords: ReadonlySet<string>): Mention[] {
  const lines = markdown.split('\n');
  const out: Mention[] = [];
  const prose: string[] = [];
  let fenced = false;
  let prevCode = false;
  lines.forEach((line, i) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      prose.push('');
      prevCode = false;
      return;
    }
    const indented = /^ {4,}\S/.test(line) && (prevCode || i === 0 || lines[i - 1].trim() === '');
    if (fenced || indented) {
      prose.push('');
      prevCode = !fenced;
      // A code line continued with a backslash reads as one line, with the next.
      if (/\\$/.test(line) && i + 1 < lines.length) lines[i + 1] = `${line.replace(/\\$/, '')} ${lines[i + 1].trim()}`;
      else mentionsIn(line, i + 1, out);
      return;
    }
    prevCode = false;
    prose.push(line);
  });
  // Inline code spans may wrap across lines of a paragraph: read each span with its lines joined.
  const text = prose.join('\n');
  for (const m of text.matchAll(/`([^`]+)`/g)) {
    const line = text.slice(0, m.index).split('\n').length;
    const span = m[1].replace(/\s+/g, ' ').replace(/\\\|/g, '|').trim();
    const before = out.length;
    mentionsIn(span, line, out);
    if (out.length > before) continue;
    const first = span.split(' ')[0];
    if (topWords.has(first) && /(^|\s|\[)-/.test(span)) out.push({ line, text: untilShellEnd(blankQuotes(span)), relative: true });
  }
  return out.sort((a, b) => a.line - b.line);
}

/** Synopsis brackets around a word: [--json], (a|b), {x}. */
function bare(word: string): string {
  return word.replace(/^[[({]+/, '').replace(/[\])},.:]+$/, '');
}

const isPlaceholder = (w: string): boolean => w === '' || w === '...' || /^[A-Z<]/.test(w) || w === 'QUOTED';

/**
 * What is wrong with a mention under `root` (an unknown command or option),
 * or undefined when it holds. Options of a command's ancestors count, as
 * commander takes them after a subcommand too; a group with a default
 * subcommand (`ctl flows`) passes on what it does not know itself, options
 * and arguments, to that subcommand, as commander does.
 */
export function mentionProblem(words: string[], root: CommandHelp): string | undefined {
  const chain: CommandHelp[] = [root];
  const last = () => chain[chain.length - 1];
  const named = (c: CommandHelp) => `\`dataplane ${c.path.join(' ')}\``.replace(' `', '`');
  /** Into the group's default subcommand, if it has one. */
  const intoDefault = (): boolean => {
    const node = last();
    const child = node.defaultSubcommand === undefined ? undefined : node.children.get(node.defaultSubcommand);
    if (child !== undefined) chain.push(child);
    return child !== undefined;
  };
  let descending = true;
  for (let i = 0; i < words.length; i++) {
    const w = bare(words[i]);
    if (w.startsWith('-') && w.length > 1) {
      for (const alt of w.split('|')) {
        const flag = alt.split('=')[0];
        if (!/^--?[A-Za-z][\w-]*$/.test(flag)) continue;
        const ownerOf = () => [...chain].reverse().find((c) => c.options.has(flag));
        let owner = ownerOf();
        if (owner === undefined && descending && last().subcommands.size > 0 && intoDefault()) owner = ownerOf();
        const known = owner !== undefined || flag === '-h' || flag === '--help' || (chain.length === 1 && (flag === '-V' || flag === '--version'));
        if (!known) return `${named(last())} has no option ${flag}`;
        if (owner?.options.get(flag) === true && !alt.includes('=')) i++;
      }
      continue;
    }
    const node = last();
    if (!descending || node.subcommands.size === 0) continue;
    if (isPlaceholder(w)) {
      descending = false;
      continue;
    }
    const alts = w.split('|');
    if (!alts.every((a) => node.subcommands.has(a))) {
      // An argument of the default subcommand (`ctl route 198.18.0.0/15`), else an unknown command.
      if (intoDefault() && last().takesArguments) {
        descending = false;
        continue;
      }
      return `\`dataplane ${[...node.path, w].join(' ')}\`: ${node.path.length === 0 ? 'no such command' : `${named(node)} has no subcommand ${w}`}`;
    }
    const child = node.children.get(node.subcommands.get(alts[0])!);
    if (child === undefined) descending = false; // `help`
    else chain.push(child);
  }
  return undefined;
}

/** The words of a mention. */
export function mentionWords(m: Mention): string[] {
  return m.text.split(/\s+/).filter((w) => w !== '');
}
