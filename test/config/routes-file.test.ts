// A routes file's lines: parseRoutesText reads the usual "PREFIX via GW"
// line in place (its fast path) and every other line with parseRouteLine.
// Whichever reads a line, the route or the error must be parseRouteLine's:
// each line below is parsed both ways and compared, near misses of the
// usual form included (they must fall through, not be misread).
import { describe, expect, it } from 'vitest';
import { parseRouteLine, parseRoutesText } from '../../src/config/routes.js';

const LINES = [
  '198.51.100.0/24 via 192.0.2.1',
  '10.0.0.0/8 via 192.0.2.254',
  '0.0.0.0/0 via 192.0.2.1',
  '203.0.113.7 via 192.0.2.1', // no length: a /32
  '203.0.113.0/08 via 192.0.2.1', // a leading zero in the length is accepted
  '\t 198.51.100.0/24 \t via\t192.0.2.1  \r',
  '198.51.100.0/24 via 192.0.2.1 # to the lab',
  '198.51.100.0/24 via 192.0.2.1#to the lab',
  '198.51.100.0/24 via 192.0.2.1 dev lan',
  '198.51.100.0/24 via 192.0.2.1 weight 3',
  '198.51.100.0/24 dev lan',
  'default via 192.0.2.1',
  'blackhole 198.18.0.0/15',
  '198.18.0.0/15 unreachable',
  '198.51.100.0/24 nexthop via 192.0.2.1 nexthop via 192.0.2.2',
  // Near misses of the usual form: each an error, and the same error.
  '198.51.100.0/33 via 192.0.2.1',
  '198.51.100.0/124 via 192.0.2.1',
  '198.51.100.0/ via 192.0.2.1',
  '198.51.100.0/2x via 192.0.2.1',
  '198.51.100.256/24 via 192.0.2.1',
  '198.51.100.00/24 via 192.0.2.1',
  '198.51.100/24 via 192.0.2.1',
  '198.51.100.0.1/24 via 192.0.2.1',
  '198.51.100.0/24 via 0.0.0.0',
  '198.51.100.0/24 via 192.0.2',
  '198.51.100.0/24 via 192.0.2.1.',
  '198.51.100.0/24 via',
  '198.51.100.0/24 via ',
  '198.51.100.0/24 VIA 192.0.2.1',
  '198.51.100.0/24 vias 192.0.2.1',
  '198.51.100.0/24via 192.0.2.1',
  '198.51.100.0/24 via192.0.2.1',
  '198.51.100.0/24#x via 192.0.2.1',
  '198.51.100.0/24 via#x 192.0.2.1',
  '198.51.100.0/24 via 192.0.2.1 192.0.2.2',
  '198.51.100.0/24 via 192.0.2.1 via 192.0.2.2',
  '198.51.100.0/24 via -1.0.2.1',
  '198.51.100.0/24',
  'via 192.0.2.1',
];

describe('routes file lines', () => {
  it('each line gives what parseRouteLine gives, read in place or not', () => {
    const text = LINES.join('\n');
    const { routes, errors } = parseRoutesText(text, 'r.txt');
    const want: { line: number; route?: unknown; error?: string }[] = [];
    LINES.forEach((raw, k) => {
      const hash = raw.indexOf('#');
      const r = parseRouteLine(hash >= 0 ? raw.slice(0, hash) : raw);
      want.push(typeof r === 'string' ? { line: k + 1, error: `r.txt:${k + 1}: ${r}` } : { line: k + 1, route: { ...r, origin: 'r.txt', line: k + 1 } });
    });
    expect(routes).toEqual(want.filter((w) => w.route !== undefined).map((w) => w.route));
    // At most 20 shown, then a count: every error line here is among the first 20 or counted.
    const wantErrors = want.filter((w) => w.error !== undefined).map((w) => w.error as string);
    expect(wantErrors.length).toBeGreaterThan(20);
    expect(errors.slice(0, 20)).toEqual(wantErrors.slice(0, 20));
    expect(errors[20]).toBe(`r.txt: and ${wantErrors.length - 20} more errors like these`);
    // The usual form and its blanks and comments were read; the /32 without a length too.
    expect(routes.filter((r) => r.nexthops.length === 1 && r.nexthops[0].port === undefined && r.nexthops[0].weight === 1).length).toBeGreaterThanOrEqual(9);
  });

  it('a large file of the usual form: every route, in order, with its line', () => {
    const lines: string[] = ['# a table'];
    for (let k = 0; k < 5000; k++) lines.push(`${10 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}.0/24 via 192.0.2.${1 + (k % 7)}`);
    const { routes, errors } = parseRoutesText(lines.join('\n') + '\n', 'big.txt');
    expect(errors).toEqual([]);
    expect(routes.length).toBe(5000);
    expect(routes[4999]).toEqual({ prefix: ((10 << 24) | (19 << 16) | (135 << 8)) >>> 0, len: 24, type: 'unicast', nexthops: [{ gateway: 0xc0000200 + 1 + (4999 % 7), port: undefined, weight: 1 }], origin: 'big.txt', line: 5001 });
  });
});
