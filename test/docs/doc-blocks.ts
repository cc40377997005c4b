// The code blocks of a doc held to the code: every YAML config in it loads
// with the real config loader (or, marked invalid, fails with the problems
// the doc shows), and the output it shows for the offline commands is what
// those commands print today. A snippet or an example that drifts from the
// code is a problem naming the doc's line. test/docs/guide.test.ts and
// test/docs/docs.test.ts run it over the docs.
//
// How a doc marks its fenced code blocks (the info string after ```):
//   yaml                whole config: has top-level `ports:`; loaded as is
//   yaml fragment       part of a config: merged over FRAGMENT_BASE (two
//                       ports, lan and wan), then loaded
//   LANG file=NAME      written to the working directory first (a routes
//                       file, a NetworkPolicy file, a config the console
//                       examples name); loaded too when it is a config
//   yaml invalid        (with fragment or file=NAME as above) a config shown
//                       for its error: it must fail to load, and the next
//                       block, a `text` block, shows the problems the loader
//                       reports, one a line, all of them, in its order
//                       (indentation aside); its first line may be the
//                       command's header, `dataplane CMD: NAME: invalid
//                       config:`, NAME being the block's file=NAME
//   console             `$ dataplane route lookup|firewall|explain|lb preview
//                       ...` lines (also `$ echo WORDS | dataplane ...`) are
//                       run there, and their stdout must be the lines that
//                       follow; other commands are shown only
// Any other yaml block is a problem: nothing in a doc escapes the check.
// Blocks of one doc share the directory, and docs checked in one directory
// share their files (docs/CLI.md's examples read docs/CONFIG.md's).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { YAML_PARSE_TO_JS_OPTIONS } from '../../src/config/yaml-options.js';
import { CLI } from '../cli-run.js';

/** What a fragment is merged into: the two ports the docs' fragments name. */
export const FRAGMENT_BASE = `
ports:
  - { name: lan, address: 192.0.2.1/24 }
  - { name: wan, address: 198.51.100.1/24 }
`;

/**
 * Subcommands that are offline and deterministic: their shown output is
 * compared. (An explain of a flow that NAT translates is not: its port is
 * chosen at random, so a doc shows it in a `text` block.)
 */
const CHECKED_COMMANDS = [['route', 'lookup'], ['firewall'], ['explain'], ['lb', 'preview']];

export interface Block {
  /** The info string's words: language first. */
  info: string[];
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export function blocksOf(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]);
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    out.push({ info: open[1].trim().split(/\s+/).filter((w) => w !== ''), text: body.join('\n') + '\n', line: start + 1 });
  }
  return out;
}

/** Splits a shell command line: words, with "double" and 'single' quotes. */
export function words(command: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(command); m !== null; m = re.exec(command)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function loadProblem(load: () => unknown, where: string): string[] {
  try {
    load();
    return [];
  } catch (e) {
    return [e instanceof ConfigError ? `${where}: ${e.problems.join('; ')}` : `${where}: ${String(e)}`];
  }
}

/** A fragment merged over FRAGMENT_BASE, read as the loader reads YAML (merge keys, anchors). */
function mergedFragment(text: string): string {
  const fragment = parse(text, YAML_PARSE_TO_JS_OPTIONS) as Record<string, unknown>;
  return stringify({ ...(parse(FRAGMENT_BASE) as Record<string, unknown>), ...fragment });
}

/** The problems a `yaml invalid` block's config has, or what is wrong with the block when it loads. */
function invalidProblems(text: string, source: string, dir: string): { problems: readonly string[] } | { wrong: string } {
  try {
    parseConfig(text, source, dir);
    return { wrong: 'marked "yaml invalid" but loads' };
  } catch (e) {
    if (e instanceof ConfigError) return { problems: e.problems };
    return { wrong: `not a config error: ${String(e)}` };
  }
}

/** The problem lines a `text` block shows for a `yaml invalid` block; the header's NAME, if it has one. */
function shownProblems(text: string): { header?: string; problems: string[] } {
  const lines = text.replace(/\n+$/, '').split('\n');
  const header = /^dataplane [a-z ]+: (\S+): invalid config:$/.exec(lines[0]);
  return { header: header?.[1], problems: lines.slice(header ? 1 : 0).map((l) => l.trim()) };
}

export interface DocCheck {
  problems: string[];
  wholeConfigs: number;
  fragments: number;
  invalid: number;
  files: number;
  commandsChecked: number;
}

/** Every problem of a doc's snippets and examples, each naming `name:LINE`; `dir` is the scratch directory. */
export function checkDoc(markdown: string, name: string, dir: string): DocCheck {
  const r: DocCheck = { problems: [], wholeConfigs: 0, fragments: 0, invalid: 0, files: 0, commandsChecked: 0 };
  const blocks = blocksOf(markdown);
  const isConfig = (text: string): boolean => /^ports:/m.test(text);
  const fileOf = (b: Block): string | undefined => b.info.find((w) => w.startsWith('file='))?.slice(5);
  // Files first: configs and examples may name any of them.
  const configFiles: { file: string; line: number }[] = [];
  for (const b of blocks) {
    const file = fileOf(b);
    if (file === undefined) continue;
    writeFileSync(join(dir, file), b.text);
    r.files++;
    if (b.info[0] === 'yaml' && !b.info.includes('invalid') && isConfig(b.text)) configFiles.push({ file, line: b.line });
  }
  for (const { file, line } of configFiles) {
    r.wholeConfigs++;
    r.problems.push(...loadProblem(() => loadConfig(join(dir, file)), `${name}:${line} (${file})`));
  }
  blocks.forEach((b, index) => {
    const where = `${name}:${b.line}`;
    const file = fileOf(b);
    if (b.info[0] === 'yaml' && b.info.includes('invalid')) {
      r.invalid++;
      let text = b.text;
      if (b.info.includes('fragment')) {
        try {
          text = mergedFragment(b.text);
        } catch (e) {
          r.problems.push(`${where}: the fragment is not YAML: ${String(e)}`);
          return;
        }
      }
      const next = blocks[index + 1];
      if (next === undefined || next.info[0] !== 'text') {
        r.problems.push(`${where}: a "yaml invalid" block must be followed by a \`text\` block with the problems it shows`);
        return;
      }
      const got = invalidProblems(text, file ?? where, dir);
      if ('wrong' in got) {
        r.problems.push(`${where}: ${got.wrong}`);
        return;
      }
      const shown = shownProblems(next.text);
      if (shown.header !== undefined && shown.header !== file) {
        r.problems.push(`${name}:${next.line}: the header names ${shown.header}, but the block's file is ${file ?? '(none: add file=NAME)'}`);
      }
      if (shown.problems.join('\n') !== got.problems.join('\n')) {
        r.problems.push(`${name}:${next.line}: the loader reports\n${got.problems.join('\n')}\n  but the doc shows\n${shown.problems.join('\n')}`);
      }
    } else if (b.info[0] === 'yaml' && file === undefined) {
      if (b.info.includes('fragment')) {
        r.fragments++;
        let merged: string;
        try {
          merged = mergedFragment(b.text);
        } catch (e) {
          r.problems.push(`${where}: the fragment is not YAML: ${String(e)}`);
          return;
        }
        r.problems.push(...loadProblem(() => parseConfig(merged, where, dir), where));
      } else if (isConfig(b.text)) {
        r.wholeConfigs++;
        r.problems.push(...loadProblem(() => parseConfig(b.text, where, dir), where));
      } else r.problems.push(`${where}: a yaml block that is neither a whole config (ports:) nor marked "yaml fragment", "yaml invalid" or file=NAME`);
    }
    if (b.info[0] === 'console') r.commandsChecked += checkConsole(b, name, dir, r.problems);
  });
  return r;
}

/** Runs a console block's checked commands; returns how many ran. */
function checkConsole(b: Block, name: string, dir: string, problems: string[]): number {
  let ran = 0;
  const lines = b.text.replace(/\n$/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const command = /^\$ (?:echo (.*?) \| )?dataplane (.*)$/.exec(lines[i]);
    if (command === null) continue;
    const input = command[1] === undefined ? undefined : `${words(command[1]).join(' ')}\n`;
    const args = words(command[2]);
    const expected: string[] = [];
    for (let j = i + 1; j < lines.length && !lines[j].startsWith('$ '); j++) expected.push(lines[j]);
    if (!CHECKED_COMMANDS.some((c) => c.every((w, k) => args[k] === w))) continue;
    ran++;
    const run = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, input, encoding: 'utf8', timeout: 60_000 });
    const got = run.stdout.replace(/\n$/, '').split('\n').map((l) => l.trimEnd());
    const want = expected.map((l) => l.trimEnd());
    const shown = `\`${command[1] === undefined ? '' : `echo ${command[1]} | `}dataplane ${args.join(' ')}\``;
    if (run.status !== 0) problems.push(`${name}:${b.line + 1 + i}: ${shown} exited ${run.status}: ${run.stderr.trim()}`);
    else if (got.join('\n') !== want.join('\n')) {
      problems.push(`${name}:${b.line + 1 + i}: ${shown} printed\n${got.join('\n')}\n  but the doc shows\n${want.join('\n')}`);
    }
  }
  return ran;
}

/** A doc of the repository, by its path from the root. */
export function readDoc(path: string): string {
  return readFileSync(join(import.meta.dirname, '..', '..', path), 'utf8');
}

/**
 * The project's docs, by path from the root: README.md, every docs/*.md and
 * every src/<folder>/README.md (the checks over names, links and paths read
 * them all), and `extra` after them.
 */
export function projectDocs(extra: readonly string[] = []): string[] {
  const root = join(import.meta.dirname, '..', '..');
  return [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
    ...readdirSync(join(root, 'src'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && readdirSync(join(root, 'src', d.name)).includes('README.md'))
      .map((d) => `src/${d.name}/README.md`),
    ...extra,
  ];
}
