// The YAML reader's own failures in the loader's words: no library API names,
// no dangling "column N:", no Node warning, a missing anchor not called a bomb.
import { describe, expect, it } from 'vitest';
import { configProblems } from './config-problems.js';

const PORTS = 'ports:\n  - { name: lan, address: 192.0.2.1/24 }\n';

describe('YAML problems', () => {
  it('a syntax error ends at its position, not a colon', () => {
    const [p] = configProblems(PORTS + 'ports: []\n');
    expect(p).toMatch(/^YAML: .* at line 3, column 1$/);
  });

  it('several documents: says the config is one document and how many there are', () => {
    expect(configProblems(PORTS + '---\n' + PORTS + '---\n' + PORTS)).toEqual([
      expect.stringMatching(/^YAML: the config must be one YAML document, found 3 \(a "---" line starts another\) at line 3, column 1$/),
    ]);
  });

  it('nesting too deep for the reader, in flow and block style', () => {
    const flow = `${PORTS}x-deep: ${'{a: '.repeat(6000)}1${'}'.repeat(6000)}\n`;
    expect(configProblems(flow)).toEqual([expect.stringMatching(/^YAML: nested too deeply to read( at line \d+, column \d+)?$/)]);
    let block = `${PORTS}x-deep:\n`;
    for (let i = 1; i < 3000; i++) block += `${' '.repeat(i)}a:\n`;
    expect(configProblems(block)).toEqual([expect.stringMatching(/^YAML: nested too deeply to read( at line \d+, column \d+)?$/)]);
  });

  it('a list used as a key is a problem naming it, not a Node warning', () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect(configProblems(PORTS + '? [complex, key]\n: 1\n')).toEqual(['YAML: key "[\\"complex\\",\\"key\\"]" at line 3 is a list; a key must be a plain name']);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('an alias with no anchor is its own mistake; a bomb is still refused', () => {
    expect(configProblems('ports:\n  - *undefined\n')).toEqual(['YAML: alias "*undefined" names no anchor set before it (an anchor is written &NAME on an earlier value)']);
    let bomb = 'x-a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n';
    for (let i = 1; i < 9; i++) bomb += `x-${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]\n`;
    expect(configProblems(bomb)).toEqual(['YAML: too many alias expansions (more than 1000; an alias bomb is refused)']);
  });
});
