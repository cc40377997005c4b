// ctl's column layout (table in ctl-command.ts): what `ctl flows`, `ctl route
// show` and the other listings print.
import { describe, expect, it } from 'vitest';
import { table } from '../../src/cli/ctl-command.js';

describe('ctl table', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(table([['a', 'bb', 'c'], ['ccc', 'd', 'eeee']])).toBe('a    bb  c\nccc  d   eeee');
  });

  it('lays out more rows than a call can take arguments (a 1M-flow dump) without RangeError', () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => [`192.0.2.${i % 256}`, String(i), 'udp']);
    const out = table(rows);
    const lines = out.split('\n');
    expect(lines).toHaveLength(300_000);
    // The first column is as wide as its widest cell (192.0.2.255, 11 characters) plus the two-space gap.
    expect(lines[0]).toBe('192.0.2.0    0       udp');
    expect(lines[299_999]).toBe(`192.0.2.${299_999 % 256}  299999  udp`);
  });
});
