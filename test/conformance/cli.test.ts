// `dataplane conformance` as a user runs it (the built command, dist/): the
// table, --json, --rfc, and the exit status; and the report of a failing row.
import { describe, expect, it } from 'vitest';
import { conformanceReport, parseRfcs } from '../../src/cli/conformance-command.js';
import { CATALOGUE } from '../../src/conformance/catalogue.js';
import { runRequirement, type Row } from '../../src/conformance/requirement.js';
import { RFC4787 } from '../../src/conformance/rfc4787.js';
import { dataplane } from '../cli-run.js';

describe('dataplane conformance', () => {
  it('--json: one row per requirement of the catalogue, all passing, exit 0', () => {
    const r = dataplane(['conformance', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.map((x) => `${x.requirement}: ${x.text}`)).toEqual(CATALOGUE.map((c) => `RFC ${c.rfc} ${/^\d/.test(c.id) ? `section ${c.id}` : c.id}: ${c.text}`));
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['rfc', 'id', 'requirement', 'text', 'pass', 'evidence']);
      expect(row.pass).toBe(true);
      expect(row.evidence.length).toBeGreaterThan(0);
    }
  });

  it('the table: a header, each requirement with its text under it, pass, its evidence lines, and a count per RFC; --rfc selects', () => {
    const r = dataplane(['conformance', '--rfc', '4787']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^REQUIREMENT +RESULT {2}EVIDENCE$/);
    const evidenceAt = lines[0].indexOf('EVIDENCE');
    expect(lines[1]).toMatch(/^RFC 4787 REQ-1 +pass {4}in lan: 192\.0\.2\.10:5000>198\.51\.100\.10:53 udp; out wan: 198\.51\.100\.1:\d+>198\.51\.100\.10:53 udp ttl 63$/);
    expect(lines[1].indexOf('in lan:')).toBe(evidenceAt);
    expect(lines[2]).toMatch(/^endpoint-independent mapping: one internal +t=0\.010s in lan: 192\.0\.2\.10:5000>198\.51\.100\.11:53 udp; out wan: /);
    expect(lines.filter((l) => l.startsWith('RFC 4787 ')).length).toBe(16);
    expect(lines.filter((l) => /^RFC (1812|5382|5508) /.test(l))).toEqual([]);
    expect(lines.at(-1)).toBe('RFC 4787: 16/16 pass  all 16 pass');
  });

  it('--rfc takes several RFCs (repeated or with commas, "rfc" prefix allowed); an RFC it does not check is a usage error, exit 2', () => {
    expect(parseRfcs(['5508', 'RFC1812,4787', '5508'])).toEqual([5508, 1812, 4787]);
    const r = dataplane(['conformance', '--rfc', '793']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('dataplane conformance: --rfc 793: not one of the RFCs it checks (1812, 4787, 5382, 5508)\n');
  });

  it('a failing row: FAIL, the reason (one line each), its evidence, the count, and exit status 1', () => {
    const broken = runRequirement(RFC4787.find((x) => x.id === 'REQ-3')!, { config: (yaml) => yaml.replace('40000-40001', '40000-40000') });
    const good = runRequirement(RFC4787.find((x) => x.id === 'REQ-10')!);
    expect(broken.pass).toBe(false);
    const { output, status } = conformanceReport([broken, good], false);
    expect(status).toBe(1);
    const lines = output.trimEnd().split('\n');
    expect(lines[1]).toMatch(/^RFC 4787 REQ-3 +FAIL {4}FAILED: ports the step sent by: expected \["wan"\], got \[\]$/);
    expect(lines[2]).toMatch(/^no port overloading: .* in lan: 192\.0\.2\.10:5000>198\.51\.100\.10:53 udp; out wan: /);
    expect(lines.at(-1)).toBe('RFC 4787: 1/2 pass  1 of 2 FAIL');
    const json = conformanceReport([broken, good], true);
    expect(json.status).toBe(1);
    expect((JSON.parse(json.output) as Row[]).map((x) => [x.requirement, x.pass, x.failure])).toEqual([
      ['RFC 4787 REQ-3', false, broken.failure],
      ['RFC 4787 REQ-10', true, undefined],
    ]);
  });

  it('is listed in --help', () => {
    const r = dataplane(['--help']);
    expect(r.stdout).toMatch(/^ {2}conformance \[options\] +Run the RFC 1812, 4787, 5382 and 5508 requirement$/m);
  });
});
