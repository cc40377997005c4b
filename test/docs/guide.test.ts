// docs/GUIDE.md stays true: every YAML snippet in it loads with the real
// config loader, and the output it shows for the offline commands is what
// those commands print today. A snippet or an example that drifts from the
// code fails here, naming the guide's line.
//
// How the guide marks its code blocks (the info string after ```):
//   yaml                whole config: has top-level `ports:`; loaded as is
//   yaml fragment       part of a config: merged over FRAGMENT_BASE (two
//                       ports, lan and wan), then loaded
//   LANG file=NAME      written to the working directory first (a routes
//                       file, a NetworkPolicy file, a config the console
//                       examples name); loaded too when it is a config
//   console             `$ dataplane route lookup|firewall|lb preview ...`
//                       lines are run there, and their stdout must be the
//                       lines that follow; other commands are shown only
// Any other yaml block is a problem: nothing in the guide escapes the check.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { CLI } from '../cli-run.js';

const GUIDE = join(import.meta.dirname, '..', '..', 'docs', 'GUIDE.md');

/** What a fragment is merged into: the two ports the guide's fragments name. */
export const FRAGMENT_BASE = `
ports:
  - { name: lan, address: 192.0.2.1/24 }
  - { name: wan, address: 198.51.100.1/24 }
`;

/** Subcommands that are offline and deterministic: their shown output is compared. */
const CHECKED_COMMANDS = [['route', 'lookup'], ['firewall'], ['lb', 'preview']];

interface Block {
  /** The info string's words: language first. */
  info: string[];
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
}

function blocksOf(markdown: string): Block[] {
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
function words(command: string): string[] {
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

export interface GuideCheck {
  problems: string[];
  wholeConfigs: number;
  fragments: number;
  files: number;
  commandsChecked: number;
}

/** Every problem of a guide's snippets and examples, each naming the guide's line; `dir` is the scratch directory. */
export function checkGuide(markdown: string, dir: string): GuideCheck {
  const r: GuideCheck = { problems: [], wholeConfigs: 0, fragments: 0, files: 0, commandsChecked: 0 };
  const blocks = blocksOf(markdown);
  const isConfig = (text: string): boolean => /^ports:/m.test(text);
  // Files first: configs and examples may name any of them.
  const configFiles: { name: string; line: number }[] = [];
  for (const b of blocks) {
    const file = b.info.find((w) => w.startsWith('file='))?.slice(5);
    if (file === undefined) continue;
    writeFileSync(join(dir, file), b.text);
    r.files++;
    if (b.info[0] === 'yaml' && isConfig(b.text)) configFiles.push({ name: file, line: b.line });
  }
  for (const { name, line } of configFiles) {
    r.wholeConfigs++;
    r.problems.push(...loadProblem(() => loadConfig(join(dir, name)), `GUIDE.md:${line} (${name})`));
  }
  for (const b of blocks) {
    const where = `GUIDE.md:${b.line}`;
    if (b.info[0] === 'yaml' && !b.info.some((w) => w.startsWith('file='))) {
      if (b.info.includes('fragment')) {
        r.fragments++;
        let merged: string;
        try {
          const fragment = parse(b.text) as Record<string, unknown>;
          merged = stringify({ ...(parse(FRAGMENT_BASE) as Record<string, unknown>), ...fragment });
        } catch (e) {
          r.problems.push(`${where}: the fragment is not YAML: ${String(e)}`);
          continue;
        }
        r.problems.push(...loadProblem(() => parseConfig(merged, where, dir), where));
      } else if (isConfig(b.text)) {
        r.wholeConfigs++;
        r.problems.push(...loadProblem(() => parseConfig(b.text, where, dir), where));
      } else r.problems.push(`${where}: a yaml block that is neither a whole config (ports:) nor marked "yaml fragment" nor a file=NAME`);
    }
    if (b.info[0] === 'console') {
      const lines = b.text.replace(/\n$/, '').split('\n');
      for (let i = 0; i < lines.length; i++) {
        if (!lines[i].startsWith('$ dataplane ')) continue;
        const args = words(lines[i].slice('$ dataplane '.length));
        const expected: string[] = [];
        for (let j = i + 1; j < lines.length && !lines[j].startsWith('$ '); j++) expected.push(lines[j]);
        if (!CHECKED_COMMANDS.some((c) => c.every((w, k) => args[k] === w))) continue;
        r.commandsChecked++;
        const run = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
        const got = run.stdout.replace(/\n$/, '').split('\n').map((l) => l.trimEnd());
        const want = expected.map((l) => l.trimEnd());
        if (run.status !== 0) r.problems.push(`GUIDE.md:${b.line + 1 + i}: \`dataplane ${args.join(' ')}\` exited ${run.status}: ${run.stderr.trim()}`);
        else if (got.join('\n') !== want.join('\n')) {
          r.problems.push(`GUIDE.md:${b.line + 1 + i}: \`dataplane ${args.join(' ')}\` printed\n${got.join('\n')}\n  but the guide shows\n${want.join('\n')}`);
        }
      }
    }
  }
  return r;
}

const dirs: string[] = [];
function scratch(): string {
  const d = mkdtempSync(join(os.tmpdir(), 'dp-guide-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('docs/GUIDE.md', () => {
  const markdown = readFileSync(GUIDE, 'utf8');

  it('every config snippet loads and every offline example prints what the guide shows', () => {
    const r = checkGuide(markdown, scratch());
    expect(r.problems).toEqual([]);
    // What the guide holds today, so a change in how blocks are marked cannot turn the check into nothing.
    expect(r.wholeConfigs).toBeGreaterThanOrEqual(9);
    expect(r.fragments).toBeGreaterThanOrEqual(4);
    expect(r.commandsChecked).toBeGreaterThanOrEqual(15);
  });

  it('names the line of a snippet that no longer loads, and of an example whose output changed', () => {
    // The same guide with one port address broken in its first config, and one shown output line changed.
    const firstConfig = blocksOf(markdown).find((b) => b.info[0] === 'yaml' && /^ports:/m.test(b.text));
    expect(firstConfig).toBeDefined();
    const lines = markdown.split('\n');
    const portLine = lines.findIndex((l, i) => i >= firstConfig!.line && /address: [\d.]+\/\d+/.test(l));
    lines[portLine] = lines[portLine].replace(/address: ([\d.]+)\/\d+/, 'address: $1/33');
    const judged = lines.findIndex((l) => / tcp: (allow|deny|reject)$/.test(l));
    lines[judged] = lines[judged].replace(/: (allow|deny|reject)$/, ': maybe');
    const r = checkGuide(lines.join('\n'), scratch());
    expect(r.problems.some((p) => p.startsWith(`GUIDE.md:${firstConfig!.line}`) && p.includes('address'))).toBe(true);
    expect(r.problems.some((p) => p.includes('--judge') && p.includes(': maybe'))).toBe(true);
  });

  it('fragments are merged over a base that loads on its own', () => {
    expect(() => parseConfig(FRAGMENT_BASE, 'base', '.')).not.toThrow();
  });
});
