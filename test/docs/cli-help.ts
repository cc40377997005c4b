// The `dataplane` command tree as its --help tells it: every command's
// options (and whether each takes a value) and subcommands (aliases too),
// read from the built CLI (dist/src/cli/main.js) the way a user reads them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI } from '../cli-run.js';

export interface CommandHelp {
  /** Words after `dataplane`: [] for the program, ['ctl', 'route', 'show'] for a leaf. */
  path: string[];
  /** Option spelling (-w, --workers) -> whether it takes a value. */
  options: Map<string, boolean>;
  /** Subcommand name or alias -> the canonical name (its key in `children`). */
  subcommands: Map<string, string>;
  /** The subcommand that runs when none is named (its help line says "The default: ..."). */
  defaultSubcommand?: string;
  /** Whether its usage line takes arguments (`<file>`, `[prefix]`). */
  takesArguments: boolean;
  children: Map<string, CommandHelp>;
}

const run = promisify(execFile);

/** The sections of one --help text ("Options:", "Commands:") as their entry lines. */
function sections(help: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of help.split('\n')) {
    const head = /^([A-Z][A-Za-z ]*):$/.exec(line);
    if (head !== null) {
      current = [];
      out.set(head[1], current);
    } else if (line === '' || !line.startsWith(' ')) current = undefined;
    else current?.push(line);
  }
  return out;
}

/** Parses one command's --help text. */
export function parseHelp(path: string[], help: string): CommandHelp {
  const s = sections(help);
  const options = new Map<string, boolean>();
  for (const line of s.get('Options') ?? []) {
    // "  -w, --workers <n>   text" | "  --busy-poll   text"; wrapped text is indented further.
    const m = /^ {2}(?:(-\w), )?(--[\w-]+)(?: [<[])?/.exec(line);
    if (m === null) continue;
    const takesValue = / [<[]/.test(line.slice(0, m[0].length));
    options.set(m[2], takesValue);
    if (m[1] !== undefined) options.set(m[1], takesValue);
  }
  const subcommands = new Map<string, string>();
  const entries: { name: string; text: string }[] = [];
  for (const line of s.get('Commands') ?? []) {
    // "  show|list [options] [prefix]   text": the name first, then its aliases; wrapped text is indented further.
    const m = /^ {2}([a-z][\w-]*(?:\|[a-z][\w-]*)*)(?= |$)/.exec(line);
    if (m !== null) {
      const [name, ...aliases] = m[1].split('|');
      for (const n of [name, ...aliases]) subcommands.set(n, name);
      entries.push({ name, text: line });
    } else if (entries.length > 0) entries[entries.length - 1].text += line;
  }
  const defaultSubcommand = entries.find((e) => /\bThe default: /.test(e.text.replace(/\s+/g, ' ')))?.name;
  // "Usage: dataplane ctl route show|list [options] [prefix]": what follows the path and [options].
  const usage = /^Usage: (.*)$/m.exec(help)?.[1].split(' ').slice(1 + path.length) ?? [];
  const takesArguments = usage.some((w) => w !== '[options]' && w !== '[command]');
  return { path, options, subcommands, defaultSubcommand, takesArguments, children: new Map() };
}

/** The whole tree: --help of every command, each level's calls at once. */
export async function commandTree(): Promise<CommandHelp> {
  const help = async (path: string[]) => parseHelp(path, (await run(process.execPath, [CLI, ...path, '--help'], { encoding: 'utf8', timeout: 60_000 })).stdout);
  const root = await help([]);
  let level = [root];
  while (level.length > 0) {
    const next: CommandHelp[] = [];
    await Promise.all(
      level.flatMap((parent) =>
        [...new Set(parent.subcommands.values())]
          .filter((name) => name !== 'help')
          .map(async (name) => {
            const child = await help([...parent.path, name]);
            parent.children.set(name, child);
            next.push(child);
          }),
      ),
    );
    level = next;
  }
  return root;
}
